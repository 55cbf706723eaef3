/**
 * A failed task that nobody awaits is reported when it is garbage-collected, while the loop runs (a
 * long-running server never closes its loop). In a child process with `--expose-gc`.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

const program = `
  import { run, createTask, sleep } from ${JSON.stringify(dist)};
  await run(async () => {
    (() => { createTask(async () => { throw new Error("dropped failure"); }, { name: "forgotten" }); })();
    for (let i = 0; i < 20; i++) { await sleep(20); globalThis.gc(); }
    console.error("--- still running");
  });
`;

describe("unretrieved task errors", () => {
  it("are reported at garbage collection, before the loop closes", () => {
    const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(0);
    const report = r.stderr.indexOf("Task exception was never retrieved");
    expect(report).toBeGreaterThanOrEqual(0);
    expect(r.stderr).toContain("Error: dropped failure");
    expect(report).toBeLessThan(r.stderr.indexOf("--- still running"));
  });
});
