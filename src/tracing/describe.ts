/**
 * What a task awaits, in words: the labels of the timeline's gaps and of `dumpTasks()`.
 *
 * A future says what it is through an optional `_label` string set where it is made (the convention in
 * `docs/design.md`: "Lock.acquire", "Queue.get", "executor job 3 on ThreadPoolExecutor-1_0"). Sleeps,
 * tasks and `gather` are recognised by their shape, so the hot paths set nothing.
 *
 * @module
 */
import type { Future } from "../task/future.js";
import type { Task } from "../task/task.js";

/** A loop time for people: `2000 ms`, `1.5 ms`. @internal */
export function fmtTime(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  return `${+ms.toFixed(Math.abs(ms) >= 100 ? 0 : 1)} ms`;
}

function isTask(f: unknown): f is Task<unknown> {
  return typeof (f as Task<unknown>).getName === "function";
}

/**
 * Describe what a task awaits: `sleep until 2000 ms`, `sleep(0)`, `Task-3`, `gather(Task-2, Task-3)`,
 * or the future's `_label` (`Lock.acquire`), else its class name.
 * @internal
 */
export function describeAwaited(f: Future<unknown> | null): string {
  if (f === null) return "sleep(0)";
  const label = (f as { _label?: unknown })._label;
  if (typeof label === "string") return label;
  if (isTask(f)) return f.getName();
  const handle = (f as { _handle?: { _when?: number } | null })._handle;
  if (handle !== undefined) {
    // a sleep's future (time/sleep.ts): its timer knows the deadline; no timer: sleep(Infinity)
    return handle === null ? (f.done() ? "sleep" : "sleep forever") : `sleep until ${fmtTime(handle._when ?? NaN)}`;
  }
  const children = (f as { _children?: unknown })._children;
  if (Array.isArray(children)) {
    const names = children.slice(0, 3).map((c) => (c !== null && typeof c === "object" ? describeAwaited(c as Future<unknown>) : "?"));
    return `gather(${names.join(", ")}${children.length > 3 ? `, … ${children.length} in all` : ""})`;
  }
  return f.constructor.name || "Future";
}
