/**
 * Instrumentation hooks: what the loop reports to an installed tracer.
 *
 * ## Approach
 * The loop holds at most one tracer in `loop._tracer`; every hook site is `loop._tracer?.onX(...)`, one
 * field load and a null test when no tracer is installed (`bench/suites/tracing.mjs` measures it).
 * `installTracer` composes any number of partial instruments into that one object, and derives the
 * hooks that the core does not call itself (`onTaskScheduled`, from `onFutureDone` and friends), so the
 * hot paths carry no extra call sites.
 *
 * The hook interface itself (`Tracer`, `ExecutorJob`) is the kernel's (`src/core/instruments.ts`); this
 * module composes instruments into one tracer. `instrumentNewLoops(factory)` instruments every loop
 * created afterwards (what `aio run --trace` uses), through the kernel's list of new-loop hooks (the
 * `EventLoop` constructor tests one field).
 *
 * ## Where the hooks are called (for code outside `src/tracing`)
 * - Tasks and the loop (`src/core/event-loop.ts`, `src/core/task.ts`, `src/core/future.ts`): created,
 *   step start/end, suspended on a future, future done (which schedules the waiting tasks), done,
 *   cancel requested, iteration start/end, a step left on a foreign promise.
 * - Executors (`src/executors`) report each job on the loop of the future they return:
 *   ```ts no-run
 *   const job: ExecutorJob = { loop, executor: this._name, id: seq, fn: fn.name, task: currentTask() };
 *   loop._tracer?.onExecutorJobQueued(job);             // submit()/runInExecutor(): job is queued
 *   loop._tracer?.onExecutorJobStarted(job, workerName); // the worker reported the start ("ThreadPoolExecutor-1_0")
 *   loop._tracer?.onExecutorJobFinished(job, workerName, "ok" | "error" | "cancelled");
 *   // a job cancelled before it started: onExecutorJobFinished(job, null, "cancelled")
 *   ```
 *   and label the future the submitting task awaits: `fut._label = \`executor job ${seq} on ${workerName}\``
 *   (or `... on ${executorName}` while queued) so that `dumpTasks()` and the timeline say what it waits on.
 *   Keep the same `job` object for the three calls (tracers key on it). Started/finished may be called
 *   from a worker's message handler, outside any task: that is expected.
 *
 * @module
 */
import { describe, type EventLoop, type Future, type Instrument, newLoopHooks, type Task, type Tracer } from "../core/index.js";

export type { ExecutorJob, ExecutorJobOutcome, Instrument, Tracer } from "../core/index.js";


const HOOKS: Array<keyof Tracer> = [
  "onTaskCreated",
  "onTaskDone",
  "onTaskCancelRequested",
  "onTaskScheduled",
  "onStepStart",
  "onStepEnd",
  "onTaskSuspended",
  "onFutureDone",
  "onForeignAwait",
  "onIterationStart",
  "onIterationEnd",
  "onExecutorJobQueued",
  "onExecutorJobStarted",
  "onExecutorJobFinished",
];

type Loose = Record<keyof Tracer, (...a: any[]) => void>;

function compose(list: Instrument[]): Tracer {
  const t = {} as Loose;
  for (const hook of HOOKS) {
    const fns = list.map((i) => i[hook]).filter((f): f is NonNullable<typeof f> => typeof f === "function") as Array<
      (...a: unknown[]) => void
    >;
    t[hook] =
      fns.length === 0
        ? () => {}
        : fns.length === 1
          ? fns[0]!
          : (...a: unknown[]) => {
              for (const f of fns) f(...a);
            };
  }
  if (list.some((i) => typeof i.onTaskScheduled === "function")) {
    // Derive onTaskScheduled: a task is scheduled when created, after sleep(0), and when a future it
    // is suspended on is done (CPython's Future.__schedule_callbacks queues Task.__wakeup).
    const scheduled = t.onTaskScheduled;
    const waiting = new WeakMap<Future<unknown>, Task<unknown>[]>();
    const created = t.onTaskCreated;
    const suspended = t.onTaskSuspended;
    const futureDone = t.onFutureDone;
    t.onTaskCreated = (task: Task<unknown>) => {
      created(task);
      scheduled(task);
    };
    t.onTaskSuspended = (task: Task<unknown>, f: Future<unknown> | null) => {
      suspended(task, f);
      if (f === null) scheduled(task);
      else {
        const ts = waiting.get(f);
        if (ts === undefined) waiting.set(f, [task]);
        else ts.push(task);
      }
    };
    t.onFutureDone = (f: Future<unknown>) => {
      futureDone(f);
      const ts = waiting.get(f);
      if (ts === undefined) return;
      waiting.delete(f);
      for (const task of ts) if (task._waiters.includes(f) && !task.done()) scheduled(task);
    };
  }
  return t as unknown as Tracer;
}

/** @internal the instruments installed on a loop, in order */
const installed = new WeakMap<EventLoop, Instrument[]>();

/**
 * Install instruments on a loop; returns a function that removes them. Hooks run synchronously inside
 * the loop: keep them short, and never throw from one.
 *
 * @example
 * ```ts
 * import { newEventLoop } from "asyncio-ts";
 * import { installTracer } from "asyncio-ts/tracing";
 * const loop = newEventLoop({ virtualTime: true });
 * const names: string[] = [];
 * const remove = installTracer(loop, { onTaskCreated: (t) => names.push(t.getName()) });
 * await loop.runUntilComplete(async () => {});
 * remove();
 * console.log(names.length); // 1
 * ```
 */
export function installTracer(loop: EventLoop, ...instruments: Instrument[]): () => void {
  if (loop === null || typeof loop !== "object" || !("_tracer" in loop)) {
    throw new TypeError(`Expected loop to be an EventLoop, got ${describe(loop)}`);
  }
  instruments.forEach((i, n) => {
    if (i === null || typeof i !== "object") {
      throw new TypeError(`Expected instruments[${n}] to be an object of hook functions, got ${describe(i)}`);
    }
  });
  const rebuild = (list: Instrument[]): void => {
    installed.set(loop, list);
    loop._tracer = list.length === 0 ? null : compose(list);
  };
  rebuild([...(installed.get(loop) ?? []), ...instruments]);
  return () => {
    const cur = installed.get(loop) ?? [];
    rebuild(cur.filter((i) => !instruments.includes(i)));
  };
}

/** Makes the instrument(s) for a new loop; null or undefined: leave this loop alone. */
export type InstrumentFactory = (loop: EventLoop) => Instrument | Instrument[] | null | undefined;

/**
 * Instrument every event loop created from now on (by `run()`, `newEventLoop()`, `new EventLoop()`),
 * e.g. to trace a program you did not write. Returns a function that stops instrumenting new loops
 * (loops already instrumented keep their instruments).
 *
 * @example
 * ```ts
 * import { run, sleep } from "asyncio-ts";
 * import { instrumentNewLoops, TraceRecorder } from "asyncio-ts/tracing";
 * const rec = new TraceRecorder();
 * const stop = instrumentNewLoops(() => rec.instrument());
 * await run(async () => { await sleep(100); }, { virtualTime: true });
 * stop();
 * console.log(rec.trace().tasks.length); // 1
 * ```
 */
export function instrumentNewLoops(factory: InstrumentFactory): () => void {
  if (typeof factory !== "function") {
    throw new TypeError(`Expected factory to be a function returning an instrument, got ${describe(factory)}`);
  }
  const hook = (loop: EventLoop): void => {
    const made = factory(loop);
    if (made === null || made === undefined) return;
    installTracer(loop, ...(Array.isArray(made) ? made : [made]));
  };
  newLoopHooks.list = [...(newLoopHooks.list ?? []), hook];
  return () => {
    const rest = (newLoopHooks.list ?? []).filter((f) => f !== hook);
    newLoopHooks.list = rest.length === 0 ? null : rest;
  };
}
