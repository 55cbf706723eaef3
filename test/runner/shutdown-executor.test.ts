/**
 * `run()`'s end and the jobs of its default executor: the await of a job is cancelled with the task or
 * chain that made it, but the job itself runs to its end and `run()` waits for it, as `asyncio.run` does
 * (a thread job cannot be stopped, and `shutdown_default_executor` waits for it). A job queued behind
 * busy workers is still dropped, as CPython's cancel drops a work item no thread has taken.
 *
 * Twin (Python 3.12/3.13), each form printing, then `run -> main`, the file written:
 *   def job(): time.sleep(0.5); open(OUT, "w").write("done")
 *   async def main():
 *       held = asyncio.get_running_loop().run_in_executor(None, job)           # form "then"
 *       held.add_done_callback(...)                       # held: job done (never cancelled)
 *     or
 *       t = asyncio.create_task(to_thread_in_a_task()); await asyncio.sleep(0) # form "task"
 *       return "main"                                     # the task: CancelledError, the job finishes
 */
import { describe, expect, it } from "vitest";
import { CancelledError, ThreadPoolExecutor, createTask, getRunningLoop, run, sleep, toThread } from "../../src/index.js";

declare function throwIfCancelled(): void;

/**
 * Words of the shared gate: `STARTED` set by the job when it starts; `GO` set by the test to let it go
 * on; `DONE` set by the job at its end, unless it was told to stop (`throwIfCancelled`).
 */
const STARTED = 0;
const GO = 1;
const DONE = 2;

/**
 * A thread job that waits for the gate (at most 15 s: a failed test must not hang its pool), then stops
 * if it was cancelled, else marks its end: the side effect run()'s end must not lose.
 */
const gatedJob = (sab: SharedArrayBuffer, id: number): string => {
  const w = new Int32Array(sab);
  Atomics.store(w, 0, 1);
  Atomics.notify(w, 0);
  const end = Date.now() + 15_000;
  while (Atomics.load(w, 1) === 0 && Date.now() < end) Atomics.wait(w, 1, 0, 100);
  throwIfCancelled();
  Atomics.store(w, 2 + id, 1);
  return "job done";
};

function newGate(jobs = 1): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (DONE + jobs)));
}

function open(gate: Int32Array): void {
  Atomics.store(gate, GO, 1);
  Atomics.notify(gate, GO);
}

/** `Atomics.waitAsync` (Node 16+; TypeScript types it only from lib es2024). */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

/** Resolves once a job has set `STARTED` (a foreign wait: no timer, no clock). */
async function started(gate: Int32Array): Promise<void> {
  const r = waitAsync(gate, STARTED, 0);
  if (r.async) await r.value;
}

const settled = (p: PromiseLike<unknown>, into: string[]): void =>
  void p.then(
    (v) => into.push(`resolved ${String(v)}`),
    (e: unknown) => into.push(e instanceof CancelledError ? "cancelled" : `rejected ${String(e)}`),
  );

describe("run()'s end lets the default executor's jobs finish (CPython's asyncio.run waits for them)", () => {
  for (const clock of ["virtual", "real"] as const) {
    for (const form of ["then", "task"] as const) {
      for (const when of ["as main returns", "once it runs"] as const) {
        it(`${clock} time, a job whose ${form === "then" ? ".then chain" : "task"} nobody awaits, left ${when}: its await is cancelled, the job finishes`, async () => {
          const gate = newGate();
          const log: string[] = [];
          const v = await run(
            async () => {
              // (the gate opens once the await of the job is cancelled: the job then checks whether it
              // was told to stop, and marks its end)
              if (form === "then") {
                const held = getRunningLoop().runInExecutor(null, gatedJob, gate.buffer as SharedArrayBuffer, 0);
                held.then(undefined, () => open(gate));
                settled(held, log);
              } else {
                const t = createTask(async () => {
                  try {
                    return await toThread(gatedJob, gate.buffer as SharedArrayBuffer, 0);
                  } finally {
                    open(gate);
                  }
                });
                settled(t, log);
                await sleep(0); // (the task submits its job)
              }
              if (when === "once it runs") await started(gate);
              return "main";
            },
            { virtualTime: clock === "virtual" },
          );
          expect(v).toBe("main");
          expect(log).toEqual(["cancelled"]);
          expect(Atomics.load(gate, DONE)).toBe(1);
        }, 20_000);
      }
    }
  }

  it("a job queued behind busy workers is still dropped, as CPython's cancel drops a work item no thread took", async () => {
    const gate = newGate(2);
    const log: string[] = [];
    await run(
      async () => {
        getRunningLoop().setDefaultExecutor(new ThreadPoolExecutor({ maxWorkers: 1 }));
        for (const id of [0, 1]) {
          const t = createTask(async () => {
            try {
              return await toThread(gatedJob, gate.buffer as SharedArrayBuffer, id);
            } finally {
              open(gate);
            }
          });
          settled(t, log);
        }
        await sleep(0);
        await started(gate); // (the first job runs on the one worker; the second waits in the queue)
        return "main";
      },
      { virtualTime: true },
    );
    expect(log).toEqual(["cancelled", "cancelled"]);
    expect([Atomics.load(gate, DONE), Atomics.load(gate, DONE + 1)]).toEqual([1, 0]);
  }, 20_000);

  it("a job cancelled during the run is still told to stop", async () => {
    const gate = newGate();
    const v = await run(
      async () => {
        const fut = toThread(gatedJob, gate.buffer as SharedArrayBuffer, 0);
        await started(gate);
        fut.cancel();
        open(gate);
        return "main";
      },
      { virtualTime: true },
    );
    expect(v).toBe("main");
    expect(Atomics.load(gate, DONE)).toBe(0);
  }, 20_000);
});

describe("run()'s end waits for the default executor's jobs, but not for ever (CPython's THREAD_JOIN_TIMEOUT)", () => {
  it("a job that does not end within the limit: reported, its worker stopped, run() returns", async () => {
    const { runnerLimits } = await import("../../src/runner/runner.js");
    const saved = runnerLimits.threadJoinTimeout;
    runnerLimits.threadJoinTimeout = 200; // (300 s in use, as CPython's)
    const gate = newGate();
    const reports: string[] = [];
    try {
      const v = await run(async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx.message));
        // (the gate never opens: the job would wait its 15 s)
        const held = getRunningLoop().runInExecutor(null, gatedJob, gate.buffer as SharedArrayBuffer, 0);
        held.then(undefined, () => {});
        await started(gate);
        return "main";
      });
      expect(v).toBe("main");
    } finally {
      runnerLimits.threadJoinTimeout = saved;
    }
    expect(reports).toEqual([expect.stringMatching(/^The default executor did not finish its jobs within 200 ms of run\(\)'s end/)]);
    expect(Atomics.load(gate, DONE)).toBe(0);
  }, 20_000);
});
