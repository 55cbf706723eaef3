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

  it("collected but not yet finalized when the loop closes: reported by close(), once, not after it", () => {
    // Node runs a FinalizationRegistry's callbacks in a later macrotask: a task collected just before the
    // loop closes would have been reported after close() returned, past the program's own checks.
    const late = `
      import { newEventLoop, createTask, sleep } from ${JSON.stringify(dist)};
      const loop = newEventLoop();
      const reports = [];
      let ref;
      loop.setExceptionHandler((_l, ctx) => reports.push(ctx.message + " (" + ctx.exception.message + ")"));
      await loop.runUntilComplete(async () => {
        (() => { ref = new WeakRef(createTask(async () => { throw new Error("dropped failure"); }, { name: "forgotten" })); })();
        await sleep(0);
        await sleep(0);
      });
      await new Promise((r) => setImmediate(r));
      globalThis.gc();
      globalThis.gc();
      console.log("collected: " + (ref.deref() === undefined));
      loop.close();
      console.log("at close: " + JSON.stringify(reports));
      await new Promise((r) => setTimeout(r, 50));
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 50));
      console.log("later: " + JSON.stringify(reports));
    `;
    const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", late], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    const one = JSON.stringify(["Task exception was never retrieved (dropped failure)"]);
    expect(r.stdout).toBe(`collected: true\nat close: ${one}\nlater: ${one}\n`);
  });
});
