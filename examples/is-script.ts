/**
 * True when the module at `moduleUrl` is the program node was started with (Python's
 * `if __name__ == "__main__"`), so each example runs as a script and can also be imported by the tour.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function isScript(moduleUrl: string): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(argv1);
  } catch {
    return false;
  }
}
