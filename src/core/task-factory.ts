/**
 * Eager task factories (CPython 3.12's `eager_task_factory` and `create_eager_task_factory`): tasks whose
 * first step runs inside `createTask`, up to their first suspension, instead of on the next iteration; a
 * task that finishes there is never scheduled. Set one with `loop.setTaskFactory(...)`; a single task can
 * also ask for it with `createTask(fn, { eagerStart: true })` (3.14).
 *
 * @module
 */
import { describe } from "./check.js";
import type { EventLoop, TaskFactory } from "./event-loop.js";
import { Task, type TaskFunction, type TaskOptions } from "./task.js";

/** A `Task` class (or subclass) to make tasks with: `new C(fn, options, loop)`. */
export type TaskConstructor = new <T>(fn: TaskFunction<T>, options: TaskOptions, loop: EventLoop) => Task<T>;

/**
 * A task factory whose tasks are made by `ctor` and start eagerly (CPython's `create_eager_task_factory`).
 *
 * @example
 * ```ts
 * import { run, getRunningLoop, createTask, createEagerTaskFactory, Task } from "asyncio-ts";
 * class Traced<T> extends Task<T> {}
 * await run(async () => {
 *   getRunningLoop().setTaskFactory(createEagerTaskFactory(Traced));
 *   const t = createTask(async () => 1);
 *   console.log(t instanceof Traced, await t); // true 1
 * });
 * ```
 */
export function createEagerTaskFactory(ctor: TaskConstructor): TaskFactory {
  if (typeof ctor !== "function" || !(ctor === Task || ctor.prototype instanceof Task)) {
    throw new TypeError(`Expected ctor to be Task or a subclass of it, got ${describe(ctor)}`);
  }
  return <T>(loop: EventLoop, fn: TaskFunction<T>, options: TaskOptions): Task<T> => new ctor<T>(fn, { ...options, eagerStart: true }, loop);
}

/**
 * The task factory that starts every task eagerly (CPython's `eager_task_factory`).
 *
 * @example
 * ```ts
 * import { run, getRunningLoop, createTask, eagerTaskFactory } from "asyncio-ts";
 * await run(async () => {
 *   getRunningLoop().setTaskFactory(eagerTaskFactory);
 *   const order: string[] = [];
 *   const t = createTask(async () => { order.push("task"); });
 *   order.push("after createTask");
 *   await t;
 *   console.log(order); // ["task", "after createTask"]
 * });
 * ```
 */
export const eagerTaskFactory: TaskFactory = createEagerTaskFactory(Task as unknown as TaskConstructor);
