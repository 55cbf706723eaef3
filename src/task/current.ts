/**
 * Which task is running: the one place that answers it.
 *
 * Approach: every task's function runs inside `AsyncLocalStorage.run(task, fn)`, so code resumed by any
 * promise (ours or foreign: `fetch`, `fs.promises`) still knows its task. The loop additionally tracks
 * the task whose step it is driving (`EventLoop._stepping`) to know when that step has suspended.
 *
 * Rejected alternative: a plain variable set by the loop around each step. It costs nothing, but it is
 * wrong in code resumed by a foreign promise: that code runs in a microtask outside any step (possibly
 * while the loop is driving another task's step), so it would be attributed to the wrong task and could
 * no longer be cancelled. AsyncLocalStorage costs about 2.5x on raw promise spawn on Node 20 and ~1.2x on
 * Node 24 (`../shared/design-notes.md`); the benchmark in `bench/` reports what it costs us.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { EventLoop } from "../loop/event-loop.js";
import type { Task } from "./task.js";

/** @internal the task whose code is running, across every await. */
export const taskStorage = new AsyncLocalStorage<Task<unknown>>();

/** @internal the loop that is running a plain callback right now (synchronously), if any. */
export const callbackContext: { loop: EventLoop | null } = { loop: null };

/**
 * The task whose code is running now, or `null` outside any task (CPython's `asyncio.current_task()`).
 *
 * @example
 * ```ts
 * import { run, currentTask } from "asyncio-ts";
 * await run(async () => {
 *   console.log(currentTask()?.getName()); // "Task-1" (or the next number)
 * });
 * console.log(currentTask()); // null
 * ```
 */
export function currentTask(loop?: EventLoop): Task<unknown> | null {
  if (callbackContext.loop !== null) return null;
  const t = taskStorage.getStore();
  if (t === undefined || t.done()) return null;
  if (loop !== undefined && t._loop !== loop) return null;
  return t;
}
