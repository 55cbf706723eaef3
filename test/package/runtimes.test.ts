/**
 * Deno and Bun: asyncio-ts needs V8's promise hooks, which neither has (docs/design.md "Runtimes"). The
 * package imports there, and making a loop throws a `RuntimeError` that names the runtime and says what
 * is supported, instead of running tasks it cannot tell apart. The npm packages `bun` and `deno` ship
 * the binaries; `.ci/run` installs them into `bench/.runtimes` (in CI a missing one fails the test,
 * elsewhere it is skipped).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name: string): string => join(ROOT, "bench", ".runtimes", "node_modules", ".bin", name);
const runtimes: [string, string, string[]][] = [
  ["Bun", bin("bun"), []],
  ["Deno", bin("deno"), ["run", "-A"]],
];
if (process.env["CI"]) for (const [name, path] of runtimes) if (!existsSync(path)) throw new Error(`the runtimes test needs ${name} in bench/.runtimes (.ci/run installs it)`);

const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-runtimes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const INDEX = pathToFileURL(join(ROOT, "dist", "src", "index.js")).href;

function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import * as aio from ${JSON.stringify(INDEX)};\n${body}\n`);
  return file;
}

describe.each(runtimes)("%s", (name, path, args) => {
  it.skipIf(!existsSync(path))("imports the package", () => {
    const r = spawnSync(path, [...args, script(`import-${name}.mjs`, 'console.log(typeof aio.run, typeof aio.sleep);')], { encoding: "utf8", timeout: 60_000 });
    expect(r.stdout.trim()).toBe("function function");
    expect(r.status).toBe(0);
  }, 60_000);

  it.skipIf(!existsSync(path))("refuses to make a loop, with an error that names the runtime and what is supported", () => {
    const r = spawnSync(
      path,
      [...args, script(`run-${name}.mjs`, 'try { await aio.run(async () => { await aio.sleep(1); }); console.log("ran"); } catch (e) { console.log(e.name + ": " + e.message); }')],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.stdout).not.toContain("ran\n");
    expect(r.stdout).toContain("RuntimeError: asyncio-ts needs V8's promise hooks to know which task runs");
    expect(r.stdout).toContain(`on ${name})`);
    expect(r.stdout).toContain("It runs on Node.js 20 or later");
  }, 60_000);
});
