/**
 * Test fixture: the TraceRecorder as it was before issue 18 (objects per task, in a WeakMap; strings
 * made while recording), kept verbatim as the reference that the columnar recorder's traces must equal
 * (test/tracing/recorder-columns.test.ts). Not part of the library.
 */
import { format } from "node:util";
import { currentTask, describe, type EventLoop, type Future, realTimers, runningLoopOrNull, type Task } from "../../src/core/index.js";
import { describeAwaited, fmtTime } from "../../src/tracing/describe.js";
import type { ExecutorJob, Instrument } from "../../src/tracing/hooks.js";
import type { JobTrace, Mark, TaskTrace, Trace, TraceRecorderOptions, WorkerTrace } from "../../src/tracing/recorder.js";

/** The recorder before issue 18 (per-task objects in a WeakMap), verbatim but for its name. */
export class LegacyTraceRecorder {
  /** Invariant: holds exactly the recorded tasks (at most `maxTasks`). */
  private readonly tasks = new WeakMap<Task<unknown>, TaskTrace>();
  private readonly order: TaskTrace[] = [];
  private readonly marks: Mark[] = [];
  private readonly workers = new Map<string, WorkerTrace>();
  private readonly jobs = new WeakMap<ExecutorJob, JobTrace>();
  /** Shift of each loop's clock into the trace's time line (see the module comment). */
  private readonly offsets = new WeakMap<EventLoop, number>();
  private clockKind: "virtual" | "real" = "real";
  private lastLoop: EventLoop | null = null;
  private lastOffset = 0;
  private first = Infinity;
  private last = -Infinity;
  private nextId = 1;
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

  /** The time of `loop` on the trace's time line. */
  private at(loop: EventLoop): number {
    if (this.realTime) {
      const now = realTimers.performance.now();
      this.lastLoop = loop;
      if (now < this.first) this.first = now;
      if (now > this.last) this.last = now;
      return now;
    }
    let off: number;
    if (loop === this.lastLoop) off = this.lastOffset;
    else {
      let o = this.offsets.get(loop);
      if (o === undefined) {
        o = loop.clock.virtual && this.last !== -Infinity ? Math.max(0, this.last - loop.time()) : 0;
        this.offsets.set(loop, o);
        this.clockKind = loop.clock.virtual ? "virtual" : "real";
      }
      off = o;
      this.lastLoop = loop;
      this.lastOffset = o;
    }
    const v = loop.time() + off;
    if (v < this.first) this.first = v;
    if (v > this.last) this.last = v;
    return v;
  }

  /** What a task awaits; a recorded task by its function's name too: `fetchData (Task-2)`. */
  private label(f: Future<unknown> | null): string {
    const tr = f !== null ? this.tasks.get(f as Task<unknown>) : undefined;
    if (tr === undefined || typeof (f as { _label?: unknown })._label === "string") return describeAwaited(f);
    return tr.fn && tr.fn !== tr.name ? `${tr.fn} (${tr.name})` : tr.name;
  }

  /** The hooks to install with `installTracer(loop, recorder.instrument())`. */
  instrument(): Instrument {
    return {
      onTaskCreated: (t) => {
        if (this.order.length >= this.maxTasks) {
          this.dropped++;
          return;
        }
        const parent = t._parent ? (this.tasks.get(t._parent)?.id ?? null) : null;
        const tr: TaskTrace = {
          id: this.nextId++,
          name: t.getName(),
          fn: t._fn?.name ?? "",
          created: this.at(t._loop),
          done: null,
          state: "pending",
          steps: [],
          waits: [],
          parent,
        };
        this.tasks.set(t, tr);
        this.order.push(tr);
      },
      onStepStart: (t) => {
        const tr = this.tasks.get(t);
        if (!tr) return;
        const v = this.at(t._loop);
        const w = tr.waits[tr.waits.length - 1];
        if (w && w.end === null) w.end = v;
        tr.steps.push([v, v]);
      },
      onStepEnd: (t) => {
        const tr = this.tasks.get(t);
        const s = tr?.steps[tr.steps.length - 1];
        if (!s) return;
        s[1] = this.at(t._loop);
        // woken by one of several futures (Promise.all): it still waits on the others
        const w = tr!.waits[tr!.waits.length - 1];
        if (t._waiters.length > 0 && (w === undefined || w.end !== null) && !t.done()) {
          tr!.waits.push({ start: s[1], end: null, label: t._waiters.map((f) => this.label(f)).join(" and "), woken: null });
        }
      },
      onForeignAwait: (t) => {
        // the loop let go of a step that awaits a promise that is not ours
        const tr = this.tasks.get(t);
        const s = tr?.steps[tr.steps.length - 1];
        if (!s) return;
        s[1] = this.at(t._loop);
        // (Promise.all over our futures, woken by one of them, still waits on the others)
        const label = t._waiters.length > 0 ? t._waiters.map((f) => this.label(f)).join(" and ") : "a foreign promise";
        tr!.waits.push({ start: s[1], end: null, label, woken: null });
      },
      onTaskSuspended: (t, f) => {
        const tr = this.tasks.get(t);
        if (!tr) return;
        const w = tr.waits[tr.waits.length - 1];
        // Promise.all over several futures: one wait, several labels
        if (w && w.end === null && f !== null) w.label += ` and ${this.label(f)}`;
        else {
          const start = this.at(t._loop);
          const when = sleepDeadline(f);
          if (when === undefined) tr.waits.push({ start, end: null, label: this.label(f), woken: null });
          else tr.waits.push({ start, end: null, label: "sleep", woken: null, until: when + (start - t._loop.time()) });
        }
      },
      onTaskScheduled: (t) => {
        const tr = this.tasks.get(t);
        const w = tr?.waits[tr.waits.length - 1];
        if (w && w.end === null && w.woken === null) w.woken = this.at(t._loop);
      },
      onTaskDone: (t) => {
        const tr = this.tasks.get(t);
        if (!tr) return;
        tr.done = this.at(t._loop);
        tr.state = t.cancelled() ? "cancelled" : t._hasException ? "failed" : "finished";
        const w = tr.waits[tr.waits.length - 1];
        if (w && w.end === null) w.end = tr.done;
      },
      onExecutorJobQueued: (job) => {
        this.jobs.set(job, {
          id: job.id,
          executor: job.executor,
          fn: job.fn,
          queued: this.at(job.loop),
          start: null,
          end: null,
          outcome: null,
          task: job.task ? (this.tasks.get(job.task)?.id ?? null) : null,
        });
      },
      onExecutorJobStarted: (job, worker) => {
        const j = this.jobs.get(job);
        if (!j) return;
        j.start = this.at(job.loop);
        let w = this.workers.get(worker);
        if (w === undefined) this.workers.set(worker, (w = { name: worker, executor: job.executor, jobs: [] }));
        w.jobs.push(j);
      },
      onExecutorJobFinished: (job, _worker, outcome) => {
        const j = this.jobs.get(job);
        if (!j) return;
        j.end = this.at(job.loop);
        j.outcome = outcome;
      },
    };
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
    this.marks.push({ t: v, text: String(text), task: task !== null ? (this.tasks.get(task)?.id ?? null) : null });
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

  /** The trace so far (a copy). */
  trace(): Trace {
    const start = this.first === Infinity ? 0 : this.first;
    const workers = [...this.workers.values()].sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
    return {
      clock: this.realTime ? "real" : this.clockKind,
      start,
      end: this.last === -Infinity ? 0 : this.last,
      tasks: this.order.map((t) => ({
        ...t,
        steps: t.steps.map((s) => [s[0], s[1]] as [number, number]),
        waits: t.waits.map((w) => (w.until === undefined ? { ...w } : { ...w, label: `sleep until ${fmtTime(w.until - start)}` })),
      })),
      marks: this.marks.map((m) => ({ ...m })),
      workers: workers.map((w) => ({ ...w, jobs: w.jobs.map((j) => ({ ...j })) })),
      dropped: this.dropped,
    };
  }
}

/** A pending sleep's deadline (loop time), if `f` is one (see time/sleep.ts). */
function sleepDeadline(f: Future<unknown> | null): number | undefined {
  if (f === null || typeof (f as { _label?: unknown })._label === "string") return undefined;
  const when = (f as { _handle?: { _when?: unknown } | null })._handle?._when;
  return typeof when === "number" ? when : undefined;
}
