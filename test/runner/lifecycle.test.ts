/**
 * A loop's life around `run()`: the loop is the current one while `run()` runs (CPython's Runner sets it),
 * work a task took over that settles after its loop closed crashes nothing, and a program that waits on
 * something of ours outside any running loop, where nothing can ever complete it, says so before Node
 * exits. The last two in child processes (a crash, an exit code).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Future, getEventLoop, getRunningLoop, run, sleep } from "../../src/index.js";

const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

function child(program: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the loop of run()", () => {
  it("is the current loop while run() runs: getEventLoop() and new Future() in a plain Node callback mean it", async () => {
    let same = false;
    let futureLoopSame = false;
    let ran = false;
    await run(async () => {
      const loop = getRunningLoop();
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          const l = getEventLoop();
          same = l === loop;
          futureLoopSame = new Future().getLoop() === loop;
          l.callSoon(() => {
            ran = true;
          });
          resolve();
        }, 1),
      );
      await sleep(1);
    });
    expect(same).toBe(true);
    expect(futureLoopSame).toBe(true);
    expect(ran).toBe(true);
  });

  it("work taken over that settles after its loop closed crashes nothing (child process)", () => {
    expect(existsSync(dist), "build first (npm test does)").toBe(true);
    const r = child(`
      import { run, waitFor } from ${JSON.stringify(dist)};
      await run(async () => {
        try { await waitFor(new Promise((r) => setTimeout(() => r(9), 30)), 0); } catch (e) { console.log("waitFor", e.constructor.name); }
        try { await waitFor(new Promise((_, j) => setTimeout(() => j(new RangeError("late")), 30)), 0); } catch (e) { console.log("waitFor", e.constructor.name); }
      });
      console.log("run returned");
      await new Promise((r) => setTimeout(r, 80));
      console.log("still alive");
    `);
    expect(r.stdout).toBe("waitFor TimeoutError\nwaitFor TimeoutError\nrun returned\nstill alive\n");
    expect(r.status).toBe(0);
    // (the late failure has nowhere to go but stderr: it is not lost)
    expect(r.stderr).toMatch(/RangeError: late/);
  });

  it("a wait outside any running loop that nothing can complete is reported before Node exits (child process)", () => {
    const r = child(`
      import { Lock } from ${JSON.stringify(dist)};
      const l = new Lock();
      await l.acquire();
      await l.acquire();
    `);
    expect(r.status).toBe(13);
    expect(r.stderr).toMatch(/asyncio-ts: the program waits on Lock\.acquire outside any running event loop, and nothing will run that loop/);
  });
});
