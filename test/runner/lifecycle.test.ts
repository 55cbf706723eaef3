/**
 * A loop's life around `run()`: the loop is the current one while `run()` runs (CPython's Runner sets it),
 * work a task took over that settles after its loop closed crashes nothing, and a program that waits on
 * something of ours outside any running loop, where nothing can ever complete it, says so before Node
 * exits (in child processes: a crash, an exit code). Code outside tasks that still waits when its loop
 * closes fails, and the primitive it waited on serves the next run.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Event, Future, Lock, Queue, RuntimeError, Semaphore, createTask, getEventLoop, getRunningLoop, newEventLoop, run, sleep, timeout } from "../../src/index.js";

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

  it("a wait outside any running loop that nothing can complete fails with a RuntimeError before Node exits (child process)", () => {
    const r = child(`
      import { Lock } from ${JSON.stringify(dist)};
      const l = new Lock();
      await l.acquire();
      try {
        await l.acquire();
      } catch (e) {
        console.log(e.constructor.name);
        throw e;
      }
    `);
    expect(r.stdout).toBe("RuntimeError\n");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/asyncio-ts: the program waits on Lock\.acquire outside any running event loop, and nothing will run that loop/);
  });

  it("so does one woken while no loop runs: its outcome waits for a loop that nothing will run (child process)", () => {
    // (Event.set from a Node timer finishes the waiter, but the awaiting code is resumed by its loop)
    const r = child(`
      import { Event } from ${JSON.stringify(dist)};
      const ev = new Event();
      setTimeout(() => { ev.set(); console.log("set"); }, 10);
      await ev.wait();
      console.log("woke");
    `);
    expect(r.stdout).toBe("set\n");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/asyncio-ts: the program waits on Event\.wait outside any running event loop/);
  });

  describe("code outside tasks still waiting when run() ends", () => {
    const cases: Array<[string, () => { wait(): PromiseLike<unknown>; hold?(): Promise<unknown>; serve(): Promise<unknown> }]> = [
      ["Lock.acquire", () => {
        const lock = new Lock();
        return { hold: () => lock.acquire(), wait: () => lock.acquire(), serve: async () => {
          lock.release(); // (the first run's main left it held)
          await createTask(() => lock.acquire());
          return lock.locked();
        } };
      }],
      ["Semaphore.acquire", () => {
        const sem = new Semaphore(0);
        return { wait: () => sem.acquire(), serve: async () => {
          sem.release();
          await createTask(() => sem.acquire());
          return sem.locked();
        } };
      }],
      ["Event.wait", () => {
        const ev = new Event();
        return { wait: () => ev.wait(), serve: async () => {
          const t = createTask(() => ev.wait());
          await sleep(0);
          ev.set();
          return await t;
        } };
      }],
      ["Queue.get", () => {
        const q = new Queue<number>();
        return { wait: () => q.get(), serve: async () => {
          q.putNowait(7);
          return [await createTask(() => q.get()), q.qsize()];
        } };
      }],
    ];
    for (const [name, make] of cases) {
      it(`${name}: the wait fails with RuntimeError when the loop closes; the next run uses the primitive as new`, async () => {
        const prim = make();
        let outcome: unknown = "pending";
        await run(
          async () => {
            await prim.hold?.();
            // (a Node callback: code outside any task, as a library's event handler would be)
            setTimeout(() => {
              prim.wait().then(
                (v) => (outcome = ["ok", v]),
                (e) => (outcome = e),
              );
            }, 1);
            await sleep(5);
          },
        );
        await sleep0Native();
        expect(outcome).toBeInstanceOf(RuntimeError);
        expect(String((outcome as Error).message)).toMatch(new RegExp(`Event loop is closed: ${name.replace(".", "\\.")}, awaited outside any task, will never complete`));
        const served = await run(() => prim.serve(), { virtualTime: true });
        expect(served).toEqual(name === "Queue.get" ? [7, 0] : true);
      });
    }

    it("a wait woken just before the loop closed still gets its outcome (the lock it was handed)", async () => {
      const lock = new Lock();
      let outcome: unknown = "pending";
      const loop = newEventLoop();
      await loop.runUntilComplete(async () => {
        await lock.acquire();
        setTimeout(() => {
          lock.acquire().then(
            (v) => (outcome = v),
            (e) => (outcome = e),
          );
        }, 1);
        await sleep(5);
        // (in the iteration where the loop stops: the callback's resumption is queued for the next one)
        getRunningLoop().callSoon(() => lock.release());
      });
      expect(outcome).toBe("pending");
      loop.close(); // (before that iteration ran)
      await sleep0Native();
      expect(outcome).toBe(true);
      expect(lock.locked()).toBe(true);
    });
  });
});

/** One turn of Node's own event loop (no asyncio-ts loop is running here). */
function sleep0Native(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

describe("the losers of a Promise.race in a task that has finished", () => {
  // (elements of an earlier step that nothing reads: run()'s end cancels them, as asyncio.run cancels the
  // tasks asyncio.wait(FIRST_COMPLETED) left pending, instead of waiting for them)
  it("an Event.wait() that lost does not keep run() from ending (it reported a deadlock)", async () => {
    for (const virtualTime of [true, false]) {
      const r = await run(
        async () => {
          const ev = new Event();
          const w = await Promise.race([sleep(5, "timer"), ev.wait()]);
          await sleep(1);
          return w;
        },
        { virtualTime },
      );
      expect(r).toBe("timer");
    }
  });

  it("a sleep() that lost is cancelled when main returns, not waited for", async () => {
    let late = false;
    const r = await run(
      async () => {
        const ev = new Event();
        const loop = getRunningLoop();
        loop.callLater(5, () => ev.set());
        loop.callLater(2000, () => (late = true)); // (fires only if run() waits for the losing sleep)
        return await Promise.race([ev.wait(), sleep(3000, "timed out")]);
      },
      { virtualTime: true },
    );
    expect(r).toBe(true);
    expect(late).toBe(false);
  });

  it("a scope whose body waits on a race with a foreign loser and a Promise.all is given up at its deadline", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const ev = new Event();
        let outcome = "";
        try {
          await timeout(10, () => Promise.all([Promise.race([new Promise(() => {}), ev.wait()]), (async () => await sleep(1))()]));
          outcome = "returned";
        } catch (e) {
          outcome = `${(e as Error).constructor.name} at ${loop.time()}`;
        }
        expect(outcome).toBe("TimeoutError at 10");
      },
      { virtualTime: true },
    );
  });
});

