/**
 * A trace recorder: an instrument that keeps what happened to each task (created, steps, waits with
 * what was awaited, done), to each executor worker (jobs), and marks (printed lines), on the loop's
 * clock (virtual or real). `trace()` returns plain data that the renderers draw: `renderTerminalTimeline`,
 * `renderHtmlTimeline` and `toChromeTrace` (Perfetto, chrome://tracing).
 *
 * ## Approach
 * The hooks write numbers, not objects or strings: a row per task, per step and per wait in compact
 * tables (`trace-columns.ts`: a task row is 40 bytes, a step 24), found through `TaskIndex`
 * (`task-index.ts`: which row a task is, mostly without hashing). `trace()` makes the rich data from the
 * rows when it is asked for: the `TaskTrace` objects, the names (`Task-<n>` from the task's number),
 * the labels of waits on tasks (`fetchData (Task-2)`, from the awaited task's row) and on sleeps
 * (`sleep until 2000 ms`, from the deadline). The exported trace and every renderer's output are
 * exactly what the previous recorder made (test/tracing/recorder-columns.test.ts runs both on the same
 * loops and compares them). What a future says of itself otherwise (`Future._describe()`: a gather's
 * first children, a job queue's state) depends on the moment, so that string is still made when the
 * wait begins, as before; it is one per wait, not per task.
 *
 * Several loops may feed one recorder (a script that calls `run()` twice under `aio run`): virtual
 * clocks all start at 0, so each new virtual loop is shifted to start where the trace so far ends. A
 * task cap (`maxTasks`) bounds memory on programs that spawn millions of tasks; tasks past it are
 * counted, not recorded. Nothing recorded is dropped or overwritten when the tables grow, and a trace
 * can be taken at any time (mid-run, after the program crashed, after its loop closed). The recorder
 * holds no task object but the index's (pending tasks, which their loop holds anyway; done ones for two
 * iterations; none of a closed loop).
 *
 * ## Rejected alternatives, and what they cost
 * Measured with `bench/suites/tracing.mjs` (spawn + await of 100,000 trivial tasks; ns per task,
 * median of 9 interleaved rounds; the machine's 2 cores were shared with other work, so figures move
 * by a third from run to run, and each step below was judged on several runs):
 * - the first recorder (an object per task with arrays of steps and waits, kept in a `WeakMap`, names
 *   and labels made while recording): 3.24x the untraced spawn on Node 20 (bench/README.md); 4.59x and
 *   5.10x on Node 24 (3,644 and 5,355 ns against 794 and 1,049). `WeakMap.set` alone was a quarter of
 *   the traced run's CPU profile, the collector a quarter more;
 * - the same with a `Map`: about 2,500 ns per task (Node 24);
 * - these tables, with a `Map` from every task to its row: 1.65x and 2.58x (Node 24); a `Map` `set`,
 *   `get` and `delete` per task were a quarter of the rest, hence `TaskIndex`: 1.49x to 1.97x;
 * - tables of one typed array per column, doubled when full, and float64 fields only: the fresh memory
 *   of each doubling cost more than the hooks' own code (see `trace-columns.ts`); chunks and int32
 *   fields: 1.24x to 1.94x;
 * - the floor (what no recorder can beat): an instrument that writes three numbers per event into one
 *   `Float64Array` it reuses, knowing no task, read no name, allocates nothing, measured in the same
 *   runs: 0.84x to 1.41x. Called directly on 100,000 tasks (no loop), the recorder's hooks cost about
 *   150 ns per task, of which about 40 ns are the fresh memory of its rows and 15 ns the function's name
 *   (`fn.name` is a native getter).
 *
 * @module
 */
const { format } = process.getBuiltinModule("node:util");
import { currentTask, describe, type EventLoop, type Future, realTimers, runningLoopOrNull, Task } from "../core/index.js";
import { describeAwaited, fmtTime } from "./describe.js";
import type { ExecutorJob, ExecutorJobOutcome, Instrument } from "./hooks.js";
import { TaskIndex } from "./task-index.js";
import { CANCELLED, FAILED, FINISHED, type LabelRef, STATE_NAMES, StepColumns, TaskColumns, WaitColumns } from "./trace-columns.js";

export { describeAwaited } from "./describe.js";

/** One task's life in a trace. Times are loop times in ms. */
export interface TaskTrace {
  /** 1, 2, 3... in creation order, unique within the trace. */
  id: number;
  name: string;
  /** The function's name, if it has one. */
  fn: string;
  created: number;
  /** When it finished, failed or was cancelled; null while pending. */
  done: number | null;
  state: "pending" | "finished" | "cancelled" | "failed";
  /** The steps, as [start, end]. */
  steps: Array<[number, number]>;
  /**
   * What the task waited on between steps; `woken`: when what it awaited completed; `until`: a sleep's
   * deadline (its label then reads "sleep until <until - trace start>").
   */
  waits: Array<{ start: number; end: number | null; label: string; woken?: number | null; until?: number }>;
  /** The id of the task whose code created it. */
  parent: number | null;
}

/** One executor job in a trace. */
export interface JobTrace {
  /** The job's number within its executor. */
  id: number;
  executor: string;
  fn: string;
  queued: number;
  start: number | null;
  end: number | null;
  outcome: ExecutorJobOutcome | null;
  /** The id of the task that submitted it. */
  task: number | null;
}

/** One worker (thread or process) of an executor: the jobs it ran. */
export interface WorkerTrace {
  /** The worker's name, e.g. `ThreadPoolExecutor-1_0`. */
  name: string;
  executor: string;
  jobs: JobTrace[];
}

/** A printed line or other mark. */
export interface Mark {
  t: number;
  text: string;
  /** The id of the task that printed it; null outside tasks. */
  task: number | null;
}

/** A recorded trace: plain data (JSON-safe). */
export interface Trace {
  clock: "virtual" | "real";
  /** Loop time of the first event (ms). */
  start: number;
  /** Loop time of the last event (ms). */
  end: number;
  tasks: TaskTrace[];
  marks: Mark[];
  /** Executor workers, one lane each. */
  workers?: WorkerTrace[];
  /** Tasks not recorded because of `maxTasks`. */
  dropped?: number;
}

/** Options of `TraceRecorder`. */
export interface TraceRecorderOptions {
  /** Record at most this many tasks (later ones are only counted). Default 10 000. */
  maxTasks?: number;
  /**
   * "loop" (the default): the loops' clocks, virtual or real. "real": the real clock even on virtual
   * time, to see how long executor jobs and steps really took while virtual time stood still.
   */
  time?: "loop" | "real";
}

/**
 * Records a trace through the tracing hooks.
 *
 * @example
 * ```ts
 * import { newEventLoop, sleep, createTask } from "asyncio-ts";
 * import { TraceRecorder, installTracer, renderTerminalTimeline } from "asyncio-ts/tracing";
 * const loop = newEventLoop({ virtualTime: true });
 * const rec = new TraceRecorder();
 * installTracer(loop, rec.instrument());
 * await loop.runUntilComplete(async () => { await createTask(() => sleep(100)); });
 * console.log(rec.trace().tasks.length); // 2
 * console.log(renderTerminalTimeline(rec.trace()));
 * ```
 */
export class TraceRecorder {
  /** Invariant: rows 0..n-1 are exactly the recorded tasks (at most `maxTasks`), in creation order. */
  private readonly tasks = new TaskColumns();
  private readonly steps = new StepColumns();
  private readonly waits = new WaitColumns();
  /** Which row each task is (task-index.ts). */
  private readonly index = new TaskIndex(this.tasks);
  private readonly marks: Mark[] = [];
  private readonly workers = new Map<string, WorkerTrace>();
  private readonly jobs = new WeakMap<ExecutorJob, JobTrace>();
  /** Shift of each loop's clock into the trace's time line (see the module comment); a loop seen here has its close watched. */
  private readonly offsets = new WeakMap<EventLoop, number>();
  private clockKind: "virtual" | "real" = "real";
  /** Invariant: `lastOffset` is `offsets.get(lastLoop)`. */
  private lastLoop: EventLoop | null = null;
  private lastOffset = 0;
  private first = Infinity;
  private last = -Infinity;
  private dropped = 0;
  private readonly maxTasks: number;
  private readonly realTime: boolean;

  constructor(options: TraceRecorderOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
    }
    const max = options.maxTasks ?? 10_000;
    if (typeof max !== "number" || !(max >= 0)) {
      throw new RangeError(`Expected maxTasks to be a non-negative number, got ${describe(max)}`);
    }
    this.maxTasks = max;
    const time = options.time ?? "loop";
    if (time !== "loop" && time !== "real") throw new TypeError(`Expected time to be "loop" or "real", got ${describe(time)}`);
    this.realTime = time === "real";
  }

  /**
   * The time of `loop` on the trace's time line. Invariant: `first` and `last` are the earliest and the
   * latest time returned so far. A loop's clock never goes back and its offset is fixed, so while the
   * same loop reports, only `last` can move (`atOther` sees each switch of loop, and the real clock).
   */
  private at(loop: EventLoop): number {
    if (loop !== this.lastLoop || this.realTime) return this.atOther(loop);
    const v = loop.time() + this.lastOffset;
    if (v > this.last) this.last = v;
    return v;
  }

  private atOther(loop: EventLoop): number {
    if (loop !== this.lastLoop) this.enter(loop);
    const v = this.realTime ? realTimers.performance.now() : loop.time() + this.lastOffset;
    if (v < this.first) this.first = v;
    if (v > this.last) this.last = v;
    return v;
  }

  /** A hook reports on `loop`: its offset (a virtual loop seen first starts where the trace ends). */
  private enter(loop: EventLoop): void {
    let o = this.offsets.get(loop);
    if (o === undefined) {
      o = !this.realTime && loop.clock.virtual && this.last !== -Infinity ? Math.max(0, this.last - loop.time()) : 0;
      this.offsets.set(loop, o);
      this.clockKind = loop.clock.virtual ? "virtual" : "real";
      loop._onClose(() => this.index.forget(loop));
    }
    this.lastLoop = loop;
    this.lastOffset = o;
  }

  /** What a task awaits; a recorded task by its row (made `fetchData (Task-2)` at export). */
  private labelOf(f: Future<unknown> | null): string | number {
    if (!(f instanceof Task) || typeof (f as { _label?: unknown })._label === "string") return describeAwaited(f);
    const k = this.index.find(f);
    if (k < 0) return describeAwaited(f);
    this.index.keep(f, k); // (a later label may name it again, also once it is done)
    return k;
  }

  /** What a task that awaits several futures at once awaits. */
  private labelsOf(fs: readonly Future<unknown>[]): LabelRef {
    return fs.length === 1 ? this.labelOf(fs[0]!) : fs.map((f) => this.labelOf(f));
  }

  /** Open a wait of task row `k`. */
  private addWait(k: number, start: number, label: LabelRef, until: number): void {
    this.tasks.setLastWait(k, this.waits.add(k, start, label, until));
  }

  /** The hooks to install with `installTracer(loop, recorder.instrument())`. */
  instrument(): Instrument {
    return {
      onTaskCreated: (t) => this.onTaskCreated(t),
      onStepStart: (t) => this.onStepStart(t),
      onStepEnd: (t) => this.onStepEnd(t),
      onForeignAwait: (t) => this.onForeignAwait(t),
      onTaskSuspended: (t, f) => this.onTaskSuspended(t, f),
      onTaskScheduled: (t) => this.onTaskScheduled(t),
      onTaskDone: (t) => this.onTaskDone(t),
      onIterationEnd: () => this.index.iterationEnd(),
      onExecutorJobQueued: (job) => this.onJobQueued(job),
      onExecutorJobStarted: (job, worker) => this.onJobStarted(job, worker),
      onExecutorJobFinished: (job, _worker, outcome) => this.onJobFinished(job, outcome),
    };
  }

  private onTaskCreated(t: Task<unknown>): void {
    if (this.tasks.n >= this.maxTasks) {
      this.dropped++;
      return;
    }
    const p = t._parent;
    const fn = t._fn;
    const k = this.tasks.add(t._name, fn?.name ?? "", this.at(t._loop), p ? this.index.find(p) : -1);
    this.index.added(t, k);
  }

  private onStepStart(t: Task<unknown>): void {
    const k = this.index.find(t);
    if (k < 0) return;
    this.index.running(t, k);
    const v = this.at(t._loop);
    const w = this.tasks.lastWait(k);
    if (w >= 0 && this.waits.open(w)) this.waits.setEnd(w, v);
    this.tasks.setLastStep(k, this.steps.add(k, v));
  }

  private onStepEnd(t: Task<unknown>): void {
    const k = this.index.find(t);
    const s = k < 0 ? -1 : this.tasks.lastStep(k);
    if (s < 0) return;
    const v = this.at(t._loop);
    this.steps.setEnd(s, v);
    // woken by one of several futures (Promise.all): it still waits on the others
    const w = this.tasks.lastWait(k);
    if ((w < 0 || !this.waits.open(w)) && !t.done()) {
      const fs = t._waiters;
      if (fs.length > 0) this.addWait(k, v, this.labelsOf(fs), NaN);
    }
  }

  private onForeignAwait(t: Task<unknown>): void {
    // the loop let go of a step that awaits a promise that is not ours
    const k = this.index.find(t);
    const s = k < 0 ? -1 : this.tasks.lastStep(k);
    if (s < 0) return;
    const v = this.at(t._loop);
    this.steps.setEnd(s, v);
    // (Promise.all over our futures, woken by one of them, still waits on the others)
    const fs = t._waiters;
    this.addWait(k, v, fs.length > 0 ? this.labelsOf(fs) : "a foreign promise", NaN);
  }

  private onTaskSuspended(t: Task<unknown>, f: Future<unknown> | null): void {
    const k = this.index.find(t);
    if (k < 0) return;
    const w = this.tasks.lastWait(k);
    // Promise.all over several futures: one wait, several labels
    if (w >= 0 && this.waits.open(w) && f !== null) this.waits.addLabel(w, this.labelOf(f));
    else {
      const start = this.at(t._loop);
      const when = sleepDeadline(f);
      if (when === undefined) this.addWait(k, start, this.labelOf(f), NaN);
      else this.addWait(k, start, "sleep", when + (start - t._loop.time()));
    }
  }

  private onTaskScheduled(t: Task<unknown>): void {
    const k = this.index.find(t);
    const w = k < 0 ? -1 : this.tasks.lastWait(k);
    if (w >= 0 && this.waits.open(w) && this.waits.woken(w) === null) this.waits.setWoken(w, this.at(t._loop));
  }

  private onTaskDone(t: Task<unknown>): void {
    const k = this.index.find(t);
    if (k < 0) return;
    const v = this.at(t._loop);
    this.tasks.setDone(k, v, t.cancelled() ? CANCELLED : t._hasException ? FAILED : FINISHED);
    const w = this.tasks.lastWait(k);
    if (w >= 0 && this.waits.open(w)) this.waits.setEnd(w, v);
    this.index.done(t, k);
  }

  private onJobQueued(job: ExecutorJob): void {
    const k = job.task ? this.index.find(job.task) : -1;
    this.jobs.set(job, {
      id: job.id,
      executor: job.executor,
      fn: job.fn,
      queued: this.at(job.loop),
      start: null,
      end: null,
      outcome: null,
      task: k >= 0 ? k + 1 : null,
    });
  }

  private onJobStarted(job: ExecutorJob, worker: string): void {
    const j = this.jobs.get(job);
    if (!j) return;
    j.start = this.at(job.loop);
    let w = this.workers.get(worker);
    if (w === undefined) this.workers.set(worker, (w = { name: worker, executor: job.executor, jobs: [] }));
    w.jobs.push(j);
  }

  private onJobFinished(job: ExecutorJob, outcome: ExecutorJobOutcome): void {
    const j = this.jobs.get(job);
    if (!j) return;
    j.end = this.at(job.loop);
    j.outcome = outcome;
  }

  /**
   * Record a mark (a printed line) at loop time `t` (default: the running loop's time; with
   * `time: "real"`, always now), attributed to the current task.
   */
  mark(t: number | undefined, text: string): void {
    if (t !== undefined && typeof t !== "number") throw new TypeError(`Expected t to be a number or undefined, got ${describe(t)}`);
    const loop = runningLoopOrNull() ?? this.lastLoop;
    let v: number;
    if (this.realTime) v = loop !== null ? this.at(loop) : realTimers.performance.now();
    else if (t !== undefined) {
      v = t + (loop !== null ? (this.offsets.get(loop) ?? 0) : 0);
      if (v < this.first) this.first = v;
      if (v > this.last) this.last = v;
    } else v = loop !== null ? this.at(loop) : this.last === -Infinity ? 0 : this.last;
    // (a plain callback, or the code of a task that is already done, counts as outside tasks)
    const task = currentTask();
    const k = task !== null ? this.index.find(task) : -1;
    this.marks.push({ t: v, text: String(text), task: k >= 0 ? k + 1 : null });
  }

  /**
   * Record every line printed with `console.log/info/warn/error/debug` as a mark (they are still
   * printed). Returns a function that restores the console.
   *
   * @example
   * ```ts
   * import { run } from "asyncio-ts";
   * import { TraceRecorder, instrumentNewLoops } from "asyncio-ts/tracing";
   * const rec = new TraceRecorder();
   * const stop = instrumentNewLoops(() => rec.instrument());
   * const restore = rec.captureConsole();
   * await run(async () => console.log("hello"), { virtualTime: true });
   * restore(); stop();
   * console.log(rec.trace().marks[0]!.text); // "hello"
   * ```
   */
  captureConsole(): () => void {
    const names = ["log", "info", "warn", "error", "debug"] as const;
    const saved = names.map((n) => console[n]);
    names.forEach((n, i) => {
      const orig = saved[i]!;
      console[n] = (...args: unknown[]) => {
        for (const line of format(...args).split("\n")) this.mark(undefined, line);
        orig.apply(console, args);
      };
    });
    return () => {
      names.forEach((n, i) => {
        console[n] = saved[i]!;
      });
    };
  }

  /** The trace so far (a copy): the rows made into objects and the labels into strings, now. */
  trace(): Trace {
    const start = this.first === Infinity ? 0 : this.first;
    const workers = [...this.workers.values()].sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
    return {
      clock: this.realTime ? "real" : this.clockKind,
      start,
      end: this.last === -Infinity ? 0 : this.last,
      tasks: this.exportTasks(start),
      marks: this.marks.map((m) => ({ ...m })),
      workers: workers.map((w) => ({ ...w, jobs: w.jobs.map((j) => ({ ...j })) })),
      dropped: this.dropped,
    };
  }

  /** The recorded tasks as `TaskTrace`s, with their steps and waits in the order they began. */
  private exportTasks(start: number): TaskTrace[] {
    const T = this.tasks;
    const out: TaskTrace[] = [];
    for (let k = 0; k < T.n; k++) {
      const parent = T.parent(k);
      out.push({
        id: k + 1,
        name: T.nameOf(k),
        fn: T.fnOf(k),
        created: T.created(k),
        done: T.done(k),
        state: STATE_NAMES[T.state(k)]!,
        steps: [],
        waits: [],
        parent: parent < 0 ? null : parent + 1,
      });
    }
    const S = this.steps;
    for (let i = 0; i < S.n; i++) out[S.task(i)]!.steps.push([S.start(i), S.end(i)]);
    const W = this.waits;
    for (let i = 0; i < W.n; i++) out[W.task(i)]!.waits.push(this.exportWait(i, start));
    return out;
  }

  /** Wait row `i` as the trace shows it. */
  private exportWait(i: number, start: number): TaskTrace["waits"][number] {
    const W = this.waits;
    const until = W.until(i);
    const common = { start: W.start(i), end: W.end(i) };
    if (until === null) return { ...common, label: this.labelText(W.label(i)), woken: W.woken(i) };
    return { ...common, label: `sleep until ${fmtTime(until - start)}`, woken: W.woken(i), until };
  }

  private labelText(l: LabelRef): string {
    if (typeof l === "string") return l;
    if (typeof l === "number") return this.tasks.titleOf(l);
    return l.map((p) => (typeof p === "string" ? p : this.tasks.titleOf(p))).join(" and ");
  }
}

/** A pending sleep's deadline (loop time), if `f` is one (see time/sleep.ts). */
function sleepDeadline(f: Future<unknown> | null): number | undefined {
  if (f === null || typeof (f as { _label?: unknown })._label === "string") return undefined;
  const when = (f as { _handle?: { _when?: unknown } | null })._handle?._when;
  return typeof when === "number" ? when : undefined;
}
