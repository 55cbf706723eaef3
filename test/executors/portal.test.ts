/**
 * The portal (`callLoop` / `callLoopSync`): tasks in a pool's workers calling back into the loop. One
 * suite, run against both backends (worker threads and child processes), with real workers, on virtual
 * time wherever the loop waits. No test asserts timings: real-time waits happen only in workers (a
 * task working on after a call) and order events, never the outcome.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import * as aio from "../../src/index.js";
import {
  Barrier,
  CancelledError,
  ContextVar,
  DeadlockError,
  Event,
  ProcessPoolExecutor,
  Queue,
  RuntimeError,
  ThreadPoolExecutor,
  TimeoutError,
  createTask,
  currentTask,
  gather,
  getRunningLoop,
  moduleFunction,
  newEventLoop,
  run,
  sleep,
  waitFor,
  type PoolOptions,
} from "../../src/index.js";
import * as P from "./fixtures/portal-tasks.js";

const fixtures = new URL("./fixtures/portal-tasks.ts", import.meta.url);
const reportProgress = moduleFunction(fixtures, P.reportProgress);
const reportProgressSync = moduleFunction(fixtures, P.reportProgressSync);
const reportAndForget = moduleFunction(fixtures, P.reportAndForget);
const call = moduleFunction(fixtures, P.call);
const callSync = moduleFunction(fixtures, P.callSync);
const callSyncThenWork = moduleFunction(fixtures, P.callSyncThenWork);
const tryCall = moduleFunction(fixtures, P.tryCall);
const tryCallAndRecord = moduleFunction(fixtures, P.tryCallAndRecord);
const callTwiceAndRecord = moduleFunction(fixtures, P.callTwiceAndRecord);
const tryEchoUncloneable = moduleFunction(fixtures, P.tryEchoUncloneable);
const waitForFileThenCall = moduleFunction(fixtures, P.waitForFileThenCall);
const initTriesACall = moduleFunction(fixtures, P.initTriesACall);
const whoAmI = moduleFunction(fixtures, P.whoAmI);

// (inline task functions have these in scope in the worker: declared, not imported, so that the test
// runner does not rewrite them into imports the worker cannot see)
declare function callLoop<R = unknown>(name: string, ...args: unknown[]): Promise<R>;
declare function callLoopSync<R = unknown>(name: string, ...args: unknown[]): R;

const VT = { virtualTime: true };
const tmp = mkdtempSync(join(tmpdir(), "aio-portal-"));
let markers = 0;
const marker = (): string => join(tmp, `m${markers++}`);
const read = (path: string): string => readFileSync(path, "utf8");

class PortalError extends Error {
  code = "E_PORTAL";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PortalError";
  }
}

type Make = (o?: PoolOptions) => ThreadPoolExecutor | ProcessPoolExecutor;
const backends: Array<[string, Make]> = [
  ["threads", (o) => new ThreadPoolExecutor(o)],
  ["processes", (o) => new ProcessPoolExecutor(o)],
];

describe.each(backends)("portal on %s", (kind, make) => {
  const threads = kind === "threads";
  /** The ways a task can call: `callLoop`, and on threads also `callLoopSync`. */
  const modes = threads ? [false, true] : [false];

  it("a CPU-bound task reports ten steps to a Queue on the loop: all arrive in order, then its result", async () => {
    await run(async () => {
      const q = new Queue<number | string>();
      await using pool = make({ maxWorkers: 1, portal: { progress: (i: number) => q.putNowait(i) } });
      const tasks: Array<typeof reportProgressSync> = threads ? [reportProgress as never, reportProgressSync] : [reportProgress as never];
      for (const fn of tasks) {
        const consumer = createTask(async () => {
          const got: Array<number | string> = [];
          for (let k = 0; k < 11; k++) got.push(await q.get());
          return got;
        });
        const job = pool.submit(fn, 10);
        job.addDoneCallback(() => q.putNowait(job.result()));
        const got = await consumer;
        expect(got.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(got[10]).toMatch(/^10 steps, checksum \d+$/);
      }
    }, VT);
  });

  it("an async portal function runs as a task of the submitting loop: it sleeps on virtual time and sees the submitter's context", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const user = new ContextVar<string>("user", { default: "nobody" });
      await using pool = make({
        maxWorkers: 1,
        portal: {
          nap: async (ms: number) => {
            await sleep(ms);
            return loop.time();
          },
          who: () => `${user.get()} in ${currentTask()?.getName()}, same loop: ${getRunningLoop() === loop}`,
        },
      });
      const t0 = loop.time();
      expect(await pool.submit(call, "nap", 100)).toBe(t0 + 100);
      expect(loop.time()).toBe(t0 + 100);
      user.set("ann");
      expect(await pool.submit(call, "who")).toMatch(/^ann in callLoop\("who"\) from [\w-]+_0, same loop: true$/);
      // an inline task function has callLoop in scope
      expect(await pool.submit(async (ms: number) => (await callLoop<number>("nap", ms)) + 1, 50)).toBe(t0 + 151);
    }, VT);
  });

  it("callLoopSync blocks the worker thread while the loop sleeps on virtual time; the task holds the clock again after (processes: a TypeError)", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      await using pool = make({
        maxWorkers: 1,
        portal: {
          nap: async (ms: number) => {
            await sleep(ms);
            return loop.time();
          },
        },
      });
      const t0 = loop.time();
      if (threads) {
        let fired = false;
        loop.callLater(10_000, () => (fired = true));
        // the call lets the clock run to the nap's end; the 30 ms of work after it hold it there
        expect(await pool.submit(callSyncThenWork, "nap", 100, 30)).toBe(t0 + 100);
        expect(loop.time()).toBe(t0 + 100);
        expect(fired).toBe(false);
        expect(await pool.submit(() => callLoopSync<number>("nap", 5) - 5)).toBe(t0 + 100);
      } else {
        expect(await pool.submit(tryCall, true, "nap", 100)).toMatch(
          /^TypeError: callLoopSync\(\) blocks a worker thread until the loop answers, which a child process cannot do .*use `await callLoop\(\.\.\.\)`.*ThreadPoolExecutor/,
        );
        expect(loop.time()).toBe(t0);
      }
    }, VT);
  });

  it("virtual time passes while a task waits on its call: waitFor around it times out on the loop's clock", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      let napCancelled = new Event();
      await using pool = make({
        maxWorkers: 1,
        portal: {
          nap: async (ms: number) => {
            try {
              await sleep(ms);
            } catch (e) {
              if (e instanceof CancelledError) napCancelled.set();
              throw e;
            }
          },
        },
      });
      await pool.submit(whoAmI); // (the worker is ready)
      const t0 = loop.time();
      for (const sync of modes) {
        await expect(waitFor(pool.submit(sync ? callSync : call, "nap", 1000), 100)).rejects.toBeInstanceOf(TimeoutError);
        await napCancelled.wait(); // the job was cancelled, and its call with it
        napCancelled = new Event();
      }
      expect(loop.time()).toBe(t0 + 100 * modes.length);
      expect(await pool.submit(whoAmI)).toMatch(/_0$/); // the worker was answered and went on
    }, VT);
  });

  it("a portal function's error comes back with its class, message, cause and data", async () => {
    await run(async () => {
      await using pool = make({
        maxWorkers: 1,
        portal: {
          fail: () => {
            throw new PortalError("no such thing", { cause: new RangeError("root cause") });
          },
          failLater: async () => {
            await sleep(10);
            throw new TypeError("late");
          },
        },
      });
      for (const sync of modes) {
        const err = (await pool.submit(sync ? callSync : call, "fail").then(() => null, (e: unknown) => e)) as PortalError;
        expect(err).toBeInstanceOf(Error);
        expect(err.constructor.name).toBe("PortalError");
        expect(err.name).toBe("PortalError");
        expect(err.message).toBe("no such thing");
        expect(err.code).toBe("E_PORTAL");
        expect(err.cause).toBeInstanceOf(RangeError);
        expect((err.cause as Error).message).toBe("root cause");
        const late = await pool.submit(sync ? callSync : call, "failLater").then(() => null, (e: unknown) => e);
        expect(late).toBeInstanceOf(TypeError);
        expect((late as Error).message).toBe("late");
      }
    }, VT);
  });

  it("an unknown name is refused with the known names; a pool without portal functions says how to give them", async () => {
    await run(async () => {
      await using pool = make({ maxWorkers: 1, portal: { echo: (x: unknown) => x, progress: () => {} } });
      for (const sync of modes) {
        const what = sync ? "callLoopSync" : "callLoop";
        expect(await pool.submit(tryCall, sync, "nope")).toBe(`TypeError: ${what}("nope"): the executor has no portal function named "nope" (known: echo, progress)`);
        expect(await pool.submit(tryCall, sync, 42)).toBe("TypeError: Expected name to be a string, got 42 (number)");
        expect(await pool.submit(tryCall, sync, "echo", "back")).toBe("ok: back");
      }
      await using bare = make({ maxWorkers: 1 });
      expect(await bare.submit(tryCall, false, "echo")).toMatch(/^TypeError: callLoop\("echo"\): the executor has no portal functions; .*portal: \{ echo: /);
    }, VT);
  });

  it("checks the portal option when the pool is made: an object whose values are functions", () => {
    expect(() => make({ portal: 1 as never })).toThrow(new TypeError("Expected portal to be an object of functions ({ name: fn }), got 1 (number)"));
    expect(() => make({ portal: [() => 1] as never })).toThrow(TypeError);
    expect(() => make({ portal: { ok: () => 1, bad: "x" } as never })).toThrow(new TypeError('Expected portal.bad to be a function, got "x" (string)'));
    expect(() => make({ portal: null })).not.toThrow(); // (null: none; the pool starts no worker until a submit)
  });

  it("arguments and results that cannot be cloned are TypeErrors naming them", async () => {
    await run(async () => {
      await using pool = make({ maxWorkers: 1, portal: { echo: (x: unknown) => x, makeFn: () => () => 1 } });
      for (const sync of modes) {
        const what = sync ? "callLoopSync" : "callLoop";
        expect(await pool.submit(tryEchoUncloneable, sync)).toMatch(
          new RegExp(`^TypeError: Cannot send argument 2 of ${what}\\("echo"\\) to the loop: a function \\(anonymous\\) cannot be cloned`),
        );
        expect(await pool.submit(tryCall, sync, "makeFn")).toMatch(/^TypeError: The result of portal function makeFn cannot be sent to the worker: /);
      }
      expect(await pool.submit(whoAmI)).toMatch(/_0$/);
    }, VT);
  });

  it("calls from several workers at once are served concurrently", async () => {
    await run(async () => {
      const barrier = new Barrier(3);
      await using pool = make({
        maxWorkers: 3,
        portal: {
          // (returns only once three calls wait here together: one from each worker)
          meet: async (i: number) => {
            await barrier.wait();
            return i * 10;
          },
        },
      });
      expect(await gather(...[1, 2, 3].map((i) => pool.submit(call, "meet", i)))).toEqual([10, 20, 30]);
      if (threads) expect(await gather(...[4, 5, 6].map((i) => pool.submit(callSync, "meet", i)))).toEqual([40, 50, 60]);
    }, VT);
  });

  it("cancelling a task cancels its call in flight on the loop; the worker gets the CancelledError and goes on", async () => {
    await run(async () => {
      let entered = new Event();
      let sawCancel = false;
      await using pool = make({
        maxWorkers: 1,
        cancelGrace: 20_000,
        portal: {
          hang: async () => {
            entered.set();
            try {
              await new Event().wait();
            } catch (e) {
              sawCancel = e instanceof CancelledError;
              throw e;
            }
          },
        },
      });
      for (const sync of modes) {
        const m = marker();
        const job = pool.submit(tryCallAndRecord, m, sync, "hang");
        await entered.wait();
        entered = new Event();
        expect(job.cancel()).toBe(true);
        await expect(job).rejects.toBeInstanceOf(CancelledError);
        expect(await pool.submit(whoAmI)).toMatch(/_0$/); // the same worker: answered, not terminated
        expect(read(m)).toBe("CancelledError: the task was cancelled");
        expect(sawCancel).toBe(true);
        sawCancel = false;
      }
      expect(pool.statistics().crashedWorkers).toBe(0);
    }, VT);
  });

  it("a call in flight when its task times out settles with the task's TimeoutError (no deadlock reported meanwhile)", async () => {
    // (the loop idles, every task blocked, for longer than deadlockTimeout: the task's timeout will end
    // that, so it is no deadlock)
    await run(async () => {
      await using pool = make({
        maxWorkers: 1,
        cancelGrace: 20_000,
        portal: { hang: () => new Event().wait() },
      });
      for (const sync of modes) {
        const m = marker();
        const job = pool.submitWith({ timeout: 200 }, tryCallAndRecord, m, sync, "hang");
        const e = (await job.then(() => null, (x: unknown) => x)) as Error;
        expect(e).toBeInstanceOf(TimeoutError);
        expect(e.message).toMatch(/timed out after 200 ms/);
        expect(await pool.submit(whoAmI)).toMatch(/_0$/);
        expect(read(m)).toBe("TimeoutError: the task timed out");
      }
    }, { virtualTime: true, deadlockTimeout: 20 });
  });

  it("a task blocked on a call that can never finish is a deadlock on virtual time: reported, and the worker answered", async () => {
    await using pool = make({ maxWorkers: 1, cancelGrace: 20_000, portal: { hang: () => new Event().wait() } });
    const quiet = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      for (const sync of modes) {
        const m = marker();
        await expect(run(() => pool.submit(tryCallAndRecord, m, sync, "hang"), { virtualTime: true, deadlockTimeout: 50 })).rejects.toBeInstanceOf(DeadlockError);
        expect(await pool.submit(whoAmI)).toMatch(/_0$/);
        expect(read(m)).toMatch(/^CancelledError/);
      }
    } finally {
      quiet.mockRestore();
    }
  });

  it("once its task is cancelled, the task's calls are refused with its CancelledError", async () => {
    await run(async () => {
      let job: ReturnType<ThreadPoolExecutor["submit"]> | null = null;
      await using pool = make({
        maxWorkers: 1,
        cancelGrace: 20_000,
        portal: {
          // cancels the task that calls it, then yields: the call is cancelled with its task
          cancelMe: async () => {
            job!.cancel();
            await sleep(0);
            return "not reached";
          },
          echo: (x: unknown) => x,
        },
      });
      for (const sync of modes) {
        const m = marker();
        job = pool.submit(callTwiceAndRecord, m, sync, "cancelMe", "echo");
        await expect(job).rejects.toBeInstanceOf(CancelledError);
        expect(await pool.submit(whoAmI)).toMatch(/_0$/);
        expect(read(m)).toBe("CancelledError: the task was cancelled | CancelledError: the task was cancelled");
      }
    }, VT);
  });

  it("a call is refused with a RuntimeError when the submitting loop is not running, or closed", async () => {
    const pool = make({ maxWorkers: 1, portal: { echo: (x: unknown) => x } });
    try {
      // submitted from plain code: its loop (the current one) is not running
      for (const sync of modes) {
        const what = sync ? "callLoopSync" : "callLoop";
        expect(await pool.submit(tryCall, sync, "echo", 1)).toMatch(
          new RegExp(`^RuntimeError: ${what}\\("echo"\\): the event loop that submitted the task is not running \\(submit the task from code running on the loop, inside run\\(\\)\\)$`),
        );
      }
      // run() ends while its task still runs; the task calls once the loop is closed
      const go = marker();
      const m = marker();
      await run(async () => {
        pool.submit(waitForFileThenCall, go, m, "echo");
      }, VT);
      writeFileSync(go, "");
      expect(await pool.submit(whoAmI)).toMatch(/_0$/); // (after that task: one worker)
      expect(read(m)).toBe('RuntimeError: callLoop("echo"): the event loop that submitted the task is closed');
    } finally {
      await pool.shutdown();
    }
  });

  it("a loop that ends with a call in flight answers it: run() cancels it, a bare loop's close() refuses it", async () => {
    let entered: Event | null = null;
    const pool = make({
      maxWorkers: 1,
      cancelGrace: 20_000,
      portal: {
        hang: async () => {
          entered!.set();
          await new Event().wait();
        },
      },
    });
    try {
      for (const sync of modes) {
        const what = sync ? "callLoopSync" : "callLoop";
        const m1 = marker();
        await run(async () => {
          entered = new Event();
          pool.submit(tryCallAndRecord, m1, sync, "hang");
          await entered.wait();
        }, VT);
        expect(await pool.submit(whoAmI)).toMatch(/_0$/);
        expect(read(m1)).toMatch(/^CancelledError/);

        const m2 = marker();
        const loop = newEventLoop(VT);
        const reports: string[] = [];
        loop.setExceptionHandler((_l, ctx) => void reports.push(ctx.message));
        await loop.runUntilComplete(async () => {
          entered = new Event();
          pool.submit(tryCallAndRecord, m2, sync, "hang");
          await entered.wait();
        });
        loop.close();
        expect(await pool.submit(whoAmI)).toMatch(/_0$/);
        expect(read(m2)).toBe(`RuntimeError: ${what}("hang"): the event loop was closed before the call finished`);
        expect(reports).toContain("Task was destroyed but it is pending!");
      }
    } finally {
      await pool.shutdown();
    }
  });

  it("shutdown waits for a running task and serves its calls; a shutdown timeout cancels the calls in flight", async () => {
    await run(async () => {
      const q = new Queue<number>();
      const gate = new Event();
      const cancelledOnLoop = new Event();
      const portal = {
        progress: async (i: number) => {
          q.putNowait(i);
          if (i === 1) await gate.wait();
        },
        hang: async () => {
          q.putNowait(0);
          try {
            await new Event().wait();
          } catch (e) {
            if (e instanceof CancelledError) cancelledOnLoop.set();
            throw e;
          }
        },
      };
      const pool = make({ maxWorkers: 1, portal });
      const job = pool.submit(reportProgress, 3);
      expect(await q.get()).toBe(1);
      const down = pool.shutdown();
      gate.set();
      expect(await job).toMatch(/^3 steps/);
      await down;
      expect([await q.get(), await q.get()]).toEqual([2, 3]);

      const pool2 = make({ maxWorkers: 1, portal });
      const stuck = pool2.submit(tryCall, false, "hang");
      expect(await q.get()).toBe(0);
      await pool2.shutdown({ timeout: 50 });
      expect(stuck.cancelled()).toBe(true);
      await cancelledOnLoop.wait();
      expect(pool2.statistics().workers).toBe(0);
    }, VT);
  });

  it("a call the task does not await is still served, and its error does not kill the worker", async () => {
    await run(async () => {
      const q = new Queue<number>();
      await using pool = make({
        maxWorkers: 1,
        portal: {
          progress: (i: number) => q.putNowait(i),
          boom: () => {
            throw new Error("nobody reads this");
          },
        },
      });
      expect(await pool.submit(reportAndForget, 3, "boom")).toBe("forgot");
      expect([await q.get(), await q.get(), await q.get()]).toEqual([1, 2, 3]);
      expect(await pool.submit(whoAmI)).toMatch(/_0$/);
      expect(pool.statistics().crashedWorkers).toBe(0);
    }, VT);
  });

  it("an initializer's call is refused: no task is running", async () => {
    const m = marker();
    await using pool = make({ maxWorkers: 1, initializer: initTriesACall, initargs: [m], portal: { echo: (x: unknown) => x } });
    expect(await pool.submit(whoAmI)).toMatch(/_0$/);
    expect(read(m)).toMatch(/^RuntimeError: callLoop\("echo"\) is for the code of a task while it runs; it was called between tasks/);
  });
});

describe("outside a worker", () => {
  it("callLoop rejects and callLoopSync throws a RuntimeError", async () => {
    const expected = /^callLoop(Sync)?\(\) is for code running in an executor's worker \(a ThreadPoolExecutor or ProcessPoolExecutor task\); on the loop's own thread, call the function directly$/;
    const p = aio.callLoop("echo", 1);
    await expect(p).rejects.toBeInstanceOf(RuntimeError);
    await expect(p).rejects.toThrow(expected);
    expect(() => aio.callLoopSync("echo", 1)).toThrow(RuntimeError);
    expect(() => aio.callLoopSync("echo", 1)).toThrow(expected);
    await run(async () => {
      await expect(aio.callLoop("echo")).rejects.toThrow(expected);
    });
  });
});

describe("the pool side of the portal", () => {
  it("refuses what the worker side checks first, and a call of a task that has ended or was aborted", async () => {
    const { Portal, checkPortal } = await import("../../src/executors/portal.js");
    const { Job } = await import("../../src/executors/job.js");
    const { WorkerSlot } = await import("../../src/executors/worker-slot.js");
    const { deserializeError } = await import("../../src/executors/protocol.js");
    const sent: Array<{ id: number; ok: boolean; v: unknown }> = [];
    const w = new WorkerSlot<InstanceType<typeof Job>>("fake_0");
    w.bw = { control: null, post: (m: never) => void sent.push(m), postSyncReply: (m: never) => void sent.push(m), terminate() {}, ref() {}, unref() {} };
    const portal = new Portal(checkPortal({ echo: (x: unknown) => x }));
    const job = new Job(1, { kind: "source", source: "() => 1", name: "f" }, [], 0, Infinity);
    job.state = "sent";
    job.future = { _loop: { isClosed: () => false, isRunning: () => true } } as never;
    const msg = (id: number, name: string) => ({ t: "call" as const, seq: 1, id, name, args: [], sync: false });
    const error = (i: number): string => {
      const e = deserializeError(sent[i]!.v as never) as Error;
      return `${e.constructor.name}: ${e.message}`;
    };
    portal.serve(w, job, msg(1, "nope"));
    portal.serve(w, null, msg(2, "echo"));
    job.aborted = 2; // (AbortCode.Timeout)
    portal.serve(w, job, msg(3, "echo"));
    expect(sent.map((r) => [r.id, r.ok])).toEqual([
      [1, false],
      [2, false],
      [3, false],
    ]);
    expect(error(0)).toBe('TypeError: callLoop("nope"): the executor has no portal function named "nope" (known: echo)');
    expect(error(1)).toBe('RuntimeError: callLoop("echo"): the task that made the call has ended');
    expect(error(2)).toBe("TimeoutError: the task timed out");
    expect(job.calls).toBe(0);
  });
});
