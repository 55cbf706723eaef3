/**
 * Instrumentation hooks: what the loop reports to an installed tracer.
 *
 * The loop holds at most one tracer in `loop._tracer`; every hook site is `loop._tracer?.onX(...)`, one
 * field load and a null test when no tracer is installed. Use `installTracer` to add several.
 *
 * @module
 */
import type { EventLoop } from "../loop/event-loop.js";
import type { Future } from "../task/future.js";
import type { Task } from "../task/task.js";

/** Callbacks a tracer may implement; all are optional in `Instrument`. */
export interface Tracer {
  onTaskCreated(task: Task<unknown>): void;
  onTaskDone(task: Task<unknown>): void;
  onTaskCancelRequested(task: Task<unknown>, msg: string | undefined): void;
  onStepStart(task: Task<unknown>): void;
  onStepEnd(task: Task<unknown>): void;
  /** The task suspended on `awaited` (null: `sleep(0)`). */
  onTaskSuspended(task: Task<unknown>, awaited: Future<unknown> | null): void;
  /** A step was left waiting on a foreign promise. */
  onForeignAwait(task: Task<unknown>): void;
  onIterationStart(loop: EventLoop): void;
  onIterationEnd(loop: EventLoop): void;
}

/** A tracer with any subset of the hooks. */
export type Instrument = Partial<Tracer>;

const HOOKS: Array<keyof Tracer> = [
  "onTaskCreated",
  "onTaskDone",
  "onTaskCancelRequested",
  "onStepStart",
  "onStepEnd",
  "onTaskSuspended",
  "onForeignAwait",
  "onIterationStart",
  "onIterationEnd",
];

/**
 * Install instruments on a loop; returns a function that removes them.
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
  const all = [...((loop as { _instruments?: Instrument[] })._instruments ?? []), ...instruments];
  const rebuild = (list: Instrument[]): void => {
    (loop as { _instruments?: Instrument[] })._instruments = list;
    if (list.length === 0) {
      loop._tracer = null;
      return;
    }
    const t = {} as Record<keyof Tracer, (...a: unknown[]) => void>;
    for (const hook of HOOKS) {
      const fns = list.map((i) => i[hook]).filter((f): f is NonNullable<typeof f> => typeof f === "function");
      t[hook] = (...a: unknown[]) => {
        for (const f of fns) (f as (...x: unknown[]) => void)(...a);
      };
    }
    loop._tracer = t as unknown as Tracer;
  };
  rebuild(all);
  return () => {
    const cur = (loop as { _instruments?: Instrument[] })._instruments ?? [];
    rebuild(cur.filter((i) => !instruments.includes(i)));
  };
}
