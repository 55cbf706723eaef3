/**
 * Module-level task functions: `createTask`, `allTasks`.
 *
 * @module
 */
import type { EventLoop } from "./event-loop.js";
import { getRunningLoop } from "./running.js";
import { describe } from "./check.js";

/** `loop`, when given, is an event loop (its tasks are read): else a `TypeError` naming it. @internal */
export function checkLoopArg(loop: unknown): void {
  if (loop !== undefined && (loop === null || typeof loop !== "object" || !("_tasks" in loop))) {
    throw new TypeError(`Expected loop to be an EventLoop, got ${describe(loop)}`);
  }
}
import type { Task, TaskFunction, TaskOptions } from "./task.js";

/**
 * Start `fn` as a task on the running loop. It starts on the next loop iteration, not synchronously
 * (so the caller runs on until its next await first).
 *
 * @example
 * ```ts
 * import { run, createTask, sleep } from "asyncio-ts";
 * await run(async () => {
 *   console.log("hello");
 *   const task = createTask(async () => { console.log("text"); await sleep(1000); });
 *   console.log("finished"); // printed before "text"
 *   await task;
 * }, { virtualTime: true });
 * ```
 */
export function createTask<T>(fn: TaskFunction<T>, options?: TaskOptions): Task<T> {
  return getRunningLoop().createTask(fn, options);
}

/**
 * The tasks of `loop` (default: the running loop) that are not done yet.
 *
 * @example
 * ```ts
 * import { run, allTasks } from "asyncio-ts";
 * await run(async () => console.log(allTasks().size)); // 1 (the main task)
 * ```
 */
export function allTasks(loop?: EventLoop): Set<Task<unknown>> {
  checkLoopArg(loop);
  const l = loop ?? getRunningLoop();
  const out = new Set<Task<unknown>>();
  for (const t of l._tasks) if (!t.done()) out.add(t);
  return out;
}
