/**
 * Test helpers: record printed lines with the loop's (virtual) time.
 */
import { getRunningLoop } from "../../src/index.js";

/** A log whose `p(line)` records `"<ms> <line>"` at the running loop's time. */
export function recorder(): { lines: string[]; p: (line: unknown) => void; plain: () => string[] } {
  const lines: string[] = [];
  return {
    lines,
    p(line: unknown) {
      lines.push(`${getRunningLoop().time()} ${String(line)}`);
    },
    plain: () => lines.map((l) => l.slice(l.indexOf(" ") + 1)),
  };
}
