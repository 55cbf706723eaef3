/**
 * The columnar TraceRecorder (issue 18) against the recorder it replaced (legacy-recorder.ts, kept
 * verbatim): on the same loops, both installed, the traces and every exporter's output must be equal,
 * on a program with cancellation, timeouts, task groups, foreign awaits, Promise.all, executor jobs and
 * marks; past the columns' growth; mid-run; on a loop that crashes or closes with tasks pending; and on
 * random programs (fast-check).
 */
import fc from "fast-check";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import {
  type EventLoop,
  Lock,
  Queue,
  createTask,
  currentTask,
  eagerTaskFactory,
  gather,
  getRunningLoop,
  newEventLoop,
  run,
  sleep,
  taskGroup,
  timeout,
  type Task,
} from "../../src/index.js";
import {
  TraceRecorder,
  installTracer,
  instrumentNewLoops,
  renderHtmlTimeline,
  renderTerminalTimeline,
  toChromeTrace,
  type ExecutorJob,
  type Trace,
} from "../../src/tracing/index.js";
import { LegacyTraceRecorder } from "./legacy-recorder.js";

interface Pair {
  rec: TraceRecorder;
  old: LegacyTraceRecorder;
}

/** Both recorders on every loop made until `stop()` (the new one first: it sees each task's raw name). */
function recordBoth(options: { maxTasks?: number } = {}): Pair & { stop: () => void } {
  const rec = new TraceRecorder(options);
  const old = new LegacyTraceRecorder(options);
  const stop = instrumentNewLoops(() => [rec.instrument(), old.instrument()]);
  return { rec, old, stop };
}

/** The trace and what every exporter makes of it, as one string. */
function exported(trace: Trace): string {
  return [
    JSON.stringify(trace),
    renderTerminalTimeline(trace, { width: 120 }),
    JSON.stringify(toChromeTrace(trace)),
    renderHtmlTimeline(trace, { title: "t" }),
  ].join("\n----\n");
}

function expectSame({ rec, old }: Pair): Trace {
  const trace = rec.trace();
  expect(JSON.stringify(trace)).toBe(JSON.stringify(old.trace()));
  expect(exported(trace)).toBe(exported(old.trace()));
  return trace;
}

/** A fake executor job reported through the hooks (as recorder.test.ts does). */
function submitJob(loop: EventLoop, id: number, ms: number, worker: string, task: Task<unknown> | null): Promise<unknown> {
  const job: ExecutorJob = { loop, executor: "ThreadPoolExecutor-9", id, fn: "blocking", task };
  loop._tracer?.onExecutorJobQueued(job);
  const fut = loop.createFuture<void>();
  (fut as { _label?: string })._label = `executor job ${id} on ${worker}`;
  loop.callLater(5, () => loop._tracer?.onExecutorJobStarted(job, worker));
  loop.callLater(5 + ms, () => {
    loop._tracer?.onExecutorJobFinished(job, worker, "ok");
    fut.setResult();
  });
  return fut as unknown as Promise<unknown>;
}

/** Every kind of wait and ending the recorder knows; `mark` records a mark in both recorders. */
async function everything(mark: (text: string) => void): Promise<void> {
  const loop = getRunningLoop();
  const lock = new Lock();
  const q = new Queue<number>();
  await lock.acquire();
  const sleeperTask = createTask(async function sleeper() {
    await sleep(1000);
  });
  const early = createTask(async () => {}, { name: "cancelled-before-start" });
  early.cancel("not now");
  const lockerTask = createTask(async function locker() {
    await lock.acquire();
    lock.release();
    return await q.get();
  });
  const renamedTask = createTask(async function renamedLater() {
    await sleep(5);
  });
  renamedTask.setName("renamed");
  const failingTask = createTask(async function failing() {
    await sleep(3);
    throw new Error("boom");
  });
  const eagerTask = createTask(async function eagerOne() {
    mark("eager step");
    await sleep(2);
  }, { eagerStart: true });
  await sleep(0);
  mark("after sleep(0)");
  const foreignTask = createTask(async function foreignAwait() {
    // a plain promise, settled by a loop callback: never before the loop has seen the step let go (a real
    // timer could fire first on a loaded machine, and the task would never be seen awaiting it)
    await new Promise<void>((r) => loop.callLater(1, () => r()));
    await sleep(1);
  });
  // Promise.all over a task and a sleep: one wait, two labels
  const allTask = createTask(async function both() {
    const quickTask = createTask(async function quick() {
      await sleep(10);
    });
    await Promise.all([quickTask, sleep(20)]);
  });
  await timeout(7, async () => {
    await sleep(100);
  }).catch(() => mark("timed out"));
  await taskGroup(async (tg) => {
    tg.createTask(async function member() {
      await sleep(4);
    });
    tg.createTask(async function brokenMember() {
      await sleep(2);
      throw new Error("member failed");
    });
  }).catch(() => mark("group failed"));
  lock.release();
  loop.callLater(3, () => q.putNowait(1));
  const job = submitJob(loop, 1, 30, "ThreadPoolExecutor-9_0", null);
  const fromTask = createTask(async function submitter() {
    await submitJob(loop, 2, 10, "ThreadPoolExecutor-9_1", currentTask());
  });
  sleeperTask.cancel();
  await gather(sleeperTask, early, lockerTask, renamedTask, failingTask, eagerTask, foreignTask, allTask, job, fromTask, { returnExceptions: true });
  await createTask(async () => {
    await sleep(1);
  });
}

describe("the columnar recorder exports what the previous recorder did", () => {
  it("on a program with cancellation, timeouts, a task group, foreign awaits, Promise.all, jobs and marks", async () => {
    const both = recordBoth();
    try {
      const mark = (text: string): void => {
        both.rec.mark(undefined, text);
        both.old.mark(undefined, text);
      };
      await run(() => everything(mark), { virtualTime: true });
    } finally {
      both.stop();
    }
    const trace = expectSame(both);
    const byFn = (fn: string) => trace.tasks.find((t) => t.fn === fn)!;
    expect(trace.tasks.find((t) => t.name === "cancelled-before-start")!.state).toBe("cancelled");
    expect(byFn("sleeper").state).toBe("cancelled");
    expect(byFn("failing").state).toBe("failed");
    expect(byFn("renamedLater").name).toMatch(/^Task-\d+$/); // the name it had when created
    expect(byFn("locker").waits.map((w) => w.label)).toEqual(["Lock.acquire", "Queue.get"]);
    expect(byFn("foreignAwait").waits[0]!.label).toMatch(/^a foreign promise/);
    expect(byFn("both").waits[0]!.label).toMatch(/^quick \(Task-\d+\) and sleep until \d+ ms$/);
    expect(byFn("eagerOne").steps[0]![0]).toBe(0);
    expect(trace.workers!.map((w) => w.name)).toEqual(["ThreadPoolExecutor-9_0", "ThreadPoolExecutor-9_1"]);
    expect(trace.marks.map((m) => m.text)).toEqual(["eager step", "after sleep(0)", "timed out", "group failed"]);
  });

  it("past the columns' growth (thousands of tasks, steps and waits), with a task cap", async () => {
    for (const maxTasks of [Infinity, 700]) {
      const both = recordBoth({ maxTasks });
      try {
        await run(async () => {
          const tasks = Array.from({ length: 1500 }, (_, i) =>
            createTask(async function worker() {
              for (let k = 0; k < 3; k++) await sleep((i % 7) + k);
            }),
          );
          await gather(...tasks);
        }, { virtualTime: true });
      } finally {
        both.stop();
      }
      const trace = expectSame(both);
      expect(trace.tasks.length).toBe(maxTasks === Infinity ? 1501 : 700);
      expect(trace.dropped).toBe(maxTasks === Infinity ? 0 : 801);
      const steps = trace.tasks.reduce((n, t) => n + t.steps.length, 0);
      expect(steps).toBeGreaterThan(1000); // far past the columns' first 256 rows
      for (const t of trace.tasks.slice(1)) expect(t.steps.length).toBe(t.waits.length + 1);
    }
  });

  it("mid-run, and again after more was recorded: nothing is lost", async () => {
    const both = recordBoth();
    const seen: number[] = [];
    try {
      await run(async () => {
        for (let round = 0; round < 3; round++) {
          await gather(...Array.from({ length: 200 }, () => createTask(() => sleep(1))));
          expectSame(both);
          seen.push(both.rec.trace().tasks.length);
        }
      }, { virtualTime: true });
    } finally {
      both.stop();
    }
    expect(seen).toEqual([201, 401, 601]);
    expect(expectSame(both).tasks.every((t) => t.state === "finished")).toBe(true);
  });

  it("on a loop whose program crashes, and on a bare loop closed with tasks pending", async () => {
    const both = recordBoth();
    try {
      await expect(
        run(async () => {
          createTask(() => sleep(10_000), { name: "orphan" });
          await sleep(5);
          throw new Error("crash");
        }, { virtualTime: true }),
      ).rejects.toThrow("crash");
      const loop = newEventLoop({ virtualTime: true });
      await loop.runUntilComplete(async () => {
        createTask(() => sleep(10_000), { name: "left pending" });
        await sleep(1);
      });
      loop.close();
    } finally {
      both.stop();
    }
    const trace = expectSame(both);
    expect(trace.tasks.find((t) => t.name === "orphan")!.state).toBe("cancelled");
    const pending = trace.tasks.find((t) => t.name === "left pending")!;
    expect([pending.state, pending.done, pending.waits[0]!.end]).toEqual(["pending", null, null]);
  });

  it("with tasks started out of creation order (eager tasks) and awaited before they start", async () => {
    const both = recordBoth();
    try {
      await run(async () => {
        getRunningLoop().setTaskFactory(eagerTaskFactory);
        const first = createTask(async function a() {
          await sleep(1);
        });
        const later = Array.from({ length: 300 }, (_, i) => createTask(async function eagerWorker() {
          if (i % 2 === 0) await sleep(i % 5);
        }));
        getRunningLoop().setTaskFactory(null);
        const pendingStart = createTask(async function notStarted() {
          await sleep(2);
        });
        await pendingStart; // a wait labelled with a task that had not started
        await gather(first, ...later);
        // not started, and neither the first nor the last task created: found by a spill
        const p = createTask(async function p1() {
          await sleep(1);
        });
        const q = createTask(async function q1() {
          await sleep(1);
        });
        const r = createTask(async function r1() {
          await sleep(1);
        });
        createTask(async function s1() {
          await sleep(1);
        });
        q.cancel();
        await Promise.all([r, p]);
      }, { virtualTime: true });
    } finally {
      both.stop();
    }
    const trace = expectSame(both);
    expect(trace.tasks[0]!.waits[0]!.label).toMatch(/^notStarted \(Task-\d+\)$/);
    expect(trace.tasks[0]!.waits.at(-1)!.label).toMatch(/^r1 \(Task-\d+\) and p1 \(Task-\d+\)$/);
    expect(trace.tasks.find((t) => t.fn === "q1")!.state).toBe("cancelled");
  });

  it("with Promise.all over tasks and futures that complete in one iteration, also a task already done", async () => {
    const both = recordBoth();
    try {
      await run(async () => {
        const loop = getRunningLoop();
        const fut = loop.createFuture<void>();
        const first = createTask(async function finishesFirst() {
          await sleep(10);
        });
        loop.callLater(10, () => fut.setResult());
        await Promise.all([fut, first]);
        const f2 = loop.createFuture<void>();
        const second = createTask(async function finishesSecond() {
          await sleep(10);
          f2.setResult();
        });
        await Promise.all([second, f2]);
        // two chains of the task, each awaiting a task; both tasks finish in one iteration: when the
        // first chain's wake-up runs, the second still waits on a task that is done (woken next)
        const ta = createTask(async function fa() {
          await sleep(10);
        });
        const tb = createTask(async function fb() {
          await sleep(10);
        });
        await Promise.all([(async () => void (await ta))(), (async () => void (await tb))()]);
      }, { virtualTime: true });
    } finally {
      both.stop();
    }
    const main = expectSame(both).tasks[0]!;
    expect(main.waits.map((w) => w.label.replace(/\d+/g, "N"))).toEqual([
      "Future and finishesFirst (Task-N)",
      "finishesSecond (Task-N) and Future",
      "fa (Task-N) and fb (Task-N)",
      "fb (Task-N)",
    ]);
  });

  it("with several loops, one after the other", async () => {
    const both = recordBoth();
    try {
      await run(async () => void (await sleep(100)), { virtualTime: true });
      await run(async () => void (await gather(createTask(() => sleep(50)), createTask(() => sleep(20)))), { virtualTime: true });
    } finally {
      both.stop();
    }
    const trace = expectSame(both);
    expect(trace.tasks.map((t) => t.created)).toEqual([0, 100, 100, 100]);
  });

  it("on the real clock and with time: \"real\" (the same structure; times differ by a hair)", async () => {
    for (const time of ["loop", "real"] as const) {
      const rec = new TraceRecorder({ time });
      const loop = newEventLoop();
      installTracer(loop, rec.instrument());
      await loop.runUntilComplete(async () => {
        await gather(createTask(() => sleep(1), { name: "a" }), createTask(() => sleep(0), { name: "b" }));
      });
      loop.close();
      const trace = rec.trace();
      expect(trace.clock).toBe("real");
      expect(trace.tasks.map((t) => [t.name, t.state, t.steps.length, t.waits.length])).toEqual([
        [trace.tasks[0]!.name, "finished", 2, 1],
        ["a", "finished", 2, 1],
        ["b", "finished", 2, 1],
      ]);
      for (const t of trace.tasks) {
        expect(t.done!).toBeGreaterThanOrEqual(t.created);
        for (const [s, e] of t.steps) expect(e).toBeGreaterThanOrEqual(s);
      }
    }
  });
});

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Collect garbage after the current macrotask (what the engine still holds for it then is gone). */
async function collect(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  gc();
  gc();
}

describe("what the columnar recorder holds", () => {
  it("lets finished tasks go two iterations after they are done, and a closed loop's tasks at once", async () => {
    const rec = new TraceRecorder({ maxTasks: Infinity });
    const stop = instrumentNewLoops(() => rec.instrument());
    const results: Array<WeakRef<object>> = [];
    const pending: Array<WeakRef<object>> = [];
    let aliveMidRun = -1;
    try {
      await run(async () => {
        for (let i = 0; i < 50; i++) {
          await createTask(async function big() {
            await sleep(1);
            const r = { payload: new Array(1000).fill(i) };
            results.push(new WeakRef(r));
            return r;
          });
        }
        const never = getRunningLoop().createFuture<void>();
        for (let i = 0; i < 20; i++) pending.push(new WeakRef(createTask(() => never, { name: `stuck-${i}` })));
        await sleep(1);
        await sleep(1);
        await sleep(1);
        await collect(); // (virtual time: the loop waits for the macrotask, nothing else runs)
        aliveMidRun = results.filter((r) => r.deref() !== undefined).length;
      }, { virtualTime: true });
    } finally {
      stop();
    }
    expect(aliveMidRun).toBe(0);
    await collect();
    expect(pending.filter((r) => r.deref() !== undefined)).toHaveLength(0); // cancelled by run()'s end, loop closed
    expect(rec.trace().tasks.filter((t) => t.fn === "big")).toHaveLength(50);

    // a bare loop closed with its tasks still pending
    const loop = newEventLoop({ virtualTime: true });
    installTracer(loop, rec.instrument());
    const stuck: Array<WeakRef<object>> = [];
    await loop.runUntilComplete(async () => {
      const never = getRunningLoop().createFuture<void>();
      for (let i = 0; i < 20; i++) stuck.push(new WeakRef(createTask(() => never)));
      await sleep(1);
    });
    loop.close();
    await collect();
    expect(stuck.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(rec.trace().tasks.filter((t) => t.state === "pending")).toHaveLength(20);
  });
});

/** A random program: each task sleeps, yields, awaits a later task, cancels one, or takes a lock. */
type Op = { kind: "sleep"; ms: number } | { kind: "yield" } | { kind: "await"; ahead: number } | { kind: "cancel"; ahead: number } | { kind: "lock" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("sleep" as const), ms: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ kind: fc.constant("yield" as const) }),
  fc.record({ kind: fc.constant("await" as const), ahead: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("cancel" as const), ahead: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("lock" as const) }),
);

const programArb = fc.array(fc.record({ named: fc.boolean(), ops: fc.array(opArb, { maxLength: 5 }) }), { minLength: 1, maxLength: 12 });

async function randomProgram(spec: Array<{ named: boolean; ops: Op[] }>): Promise<void> {
  const lock = new Lock();
  const tasks: Task<unknown>[] = [];
  const body = (i: number) => async (): Promise<void> => {
    for (const op of spec[i]!.ops) {
      const other = "ahead" in op ? tasks[i + op.ahead] : undefined;
      if (op.kind === "sleep") await sleep(op.ms);
      else if (op.kind === "yield") await sleep(0);
      else if (op.kind === "await" && other) await other.then(() => undefined, () => undefined);
      else if (op.kind === "cancel" && other) other.cancel();
      else if (op.kind === "lock") {
        await lock.acquire();
        try {
          await sleep(1);
        } finally {
          lock.release();
        }
      }
    }
  };
  spec.forEach((s, i) => tasks.push(createTask(body(i), s.named ? { name: `t${i}` } : undefined)));
  await gather(...tasks, { returnExceptions: true });
}

describe("the columnar recorder on random programs", () => {
  it("exports what the previous recorder did (sleeps, yields, awaits, cancels, a lock; a small task cap)", async () => {
    await fc.assert(
      fc.asyncProperty(programArb, fc.constantFrom(Infinity, 5), async (spec, maxTasks) => {
        const both = recordBoth({ maxTasks });
        try {
          await run(() => randomProgram(spec), { virtualTime: true });
        } finally {
          both.stop();
        }
        expectSame(both);
      }),
      { numRuns: 60 },
    );
  });
});
