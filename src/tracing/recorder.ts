/**
 * A trace recorder: an instrument that keeps what happened to each task (created, steps, waits, done)
 * and marks (printed lines), on the loop's clock (virtual or real).
 *
 * @module
 */
import type { Future } from "../task/future.js";
import type { Task } from "../task/task.js";
import type { Instrument } from "./hooks.js";

/** One task's life in a trace. */
export interface TaskTrace {
  id: number;
  name: string;
  /** the function's name, if it has one */
  fn: string;
  created: number;
  done: number | null;
  state: "pending" | "finished" | "cancelled" | "failed";
  /** the steps, as [start, end] loop times */
  steps: Array<[number, number]>;
  /** what the task waited on between steps */
  waits: Array<{ start: number; end: number | null; label: string }>;
  parent: number | null;
}

/** A printed line or other mark. */
export interface Mark {
  t: number;
  text: string;
  task: number | null;
}

/** A recorded trace. */
export interface Trace {
  clock: "virtual" | "real";
  start: number;
  end: number;
  tasks: TaskTrace[];
  marks: Mark[];
}

/** Describe what a task awaits, for labels: "sleep", "Task-3", "Future". @internal */
export function describeAwaited(f: Future<unknown> | null): string {
  if (f === null) return "sleep(0)";
  const name = f.constructor.name;
  if (name === "SleepFuture") return "sleep";
  if ("getName" in f && typeof (f as Task<unknown>).getName === "function") return (f as Task<unknown>).getName();
  const label = (f as { _label?: string })._label;
  return label ?? name;
}

/**
 * Records a trace through the tracing hooks.
 *
 * @example
 * ```ts
 * import { newEventLoop, sleep, createTask } from "asyncio-ts";
 * import { TraceRecorder, installTracer } from "asyncio-ts/tracing";
 * const loop = newEventLoop({ virtualTime: true });
 * const rec = new TraceRecorder();
 * installTracer(loop, rec.instrument());
 * await loop.runUntilComplete(async () => { await createTask(() => sleep(100)); });
 * console.log(rec.trace().tasks.length); // 2
 * ```
 */
export class TraceRecorder {
  private readonly tasks = new Map<Task<unknown>, TaskTrace>();
  private readonly order: TaskTrace[] = [];
  private readonly marks: Mark[] = [];
  private clockKind: "virtual" | "real" = "real";
  private now: () => number = () => performance.now();
  private first = Infinity;
  private last = -Infinity;
  private current: Task<unknown> | null = null;
  private nextId = 1;

  /** The hooks to install with `installTracer(loop, recorder.instrument())`. */
  instrument(): Instrument {
    const at = (t: Task<unknown>): number => {
      this.now = () => t._loop.time();
      this.clockKind = t._loop.clock.virtual ? "virtual" : "real";
      const v = t._loop.time();
      if (v < this.first) this.first = v;
      if (v > this.last) this.last = v;
      return v;
    };
    return {
      onTaskCreated: (t) => {
        const parent = t._parent ? (this.tasks.get(t._parent)?.id ?? null) : null;
        const tr: TaskTrace = {
          id: this.nextId++,
          name: t.getName(),
          fn: t._fn?.name ?? "",
          created: at(t),
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
        const v = at(t);
        const w = tr.waits[tr.waits.length - 1];
        if (w && w.end === null) w.end = v;
        tr.steps.push([v, v]);
        this.current = t;
      },
      onStepEnd: (t) => {
        const tr = this.tasks.get(t);
        const s = tr?.steps[tr.steps.length - 1];
        if (s) s[1] = at(t);
        if (this.current === t) this.current = null;
      },
      onTaskSuspended: (t, f) => {
        const tr = this.tasks.get(t);
        if (tr) tr.waits.push({ start: at(t), end: null, label: describeAwaited(f) });
      },
      onTaskDone: (t) => {
        const tr = this.tasks.get(t);
        if (!tr) return;
        tr.done = at(t);
        tr.state = t.cancelled() ? "cancelled" : t._hasException ? "failed" : "finished";
        const w = tr.waits[tr.waits.length - 1];
        if (w && w.end === null) w.end = tr.done;
      },
    };
  }

  /** Record a mark (a printed line) at loop time `t` (default: now). */
  mark(t: number | undefined, text: string): void {
    const v = t ?? this.now();
    if (v > this.last) this.last = v;
    if (v < this.first) this.first = v;
    this.marks.push({ t: v, text, task: this.current ? (this.tasks.get(this.current)?.id ?? null) : null });
  }

  /** The trace so far. */
  trace(): Trace {
    const end = this.last === -Infinity ? 0 : this.last;
    return {
      clock: this.clockKind,
      start: this.first === Infinity ? 0 : this.first,
      end,
      tasks: this.order.map((t) => ({ ...t, steps: t.steps.map((s) => [s[0], s[1]] as [number, number]), waits: t.waits.map((w) => ({ ...w })) })),
      marks: [...this.marks],
    };
  }
}
