/**
 * `TaskStatus`: the readiness handshake of `TaskGroup.start()` (Trio's `task_status`, AnyIO's
 * `TaskStatus`). `tg.start(fn)` runs `fn(status)` as a task of the group and waits until the task calls
 * `status.started(value)`: "the server is listening, here is its port". The group owns the rest (what
 * `start()` returns or throws, when the task becomes the group's): `task-group.ts`.
 *
 * Trio passes it as the keyword argument `task_status=`; here it is the task function's one argument, as
 * `createTask`'s function takes none (`tg.start(async (status) => { ...; status.started(port); ... })`).
 * A function written for `start()` can be called directly with `TASK_STATUS_IGNORED` (Trio's and AnyIO's
 * name), whose `started()` does nothing.
 *
 * Rejected: a promise-returning `started()` (a task that announces readiness has nothing to wait for), and
 * letting a second `started()` pass silently (Trio raises: it is a bug in the task, and its value would be
 * dropped).
 *
 * @module
 */
import { RuntimeError } from "../core/index.js";

/**
 * What a task started by `tg.start(fn)` is given: call `started(value)` once, when it is ready; `start()`
 * then returns `value`.
 *
 * @example
 * ```ts
 * import { run, taskGroup, sleep, type TaskStatus } from "asyncio-ts";
 * async function worker(status: TaskStatus<string>) {
 *   await sleep(10); // getting ready
 *   status.started("ready");
 *   await sleep(100); // the work
 * }
 * await run(async () => {
 *   await taskGroup(async (tg) => {
 *     console.log(await tg.start(worker)); // "ready", at 10 ms; the group then waits for worker
 *   });
 * }, { virtualTime: true });
 * ```
 */
export class TaskStatus<T = void> {
  /** Invariant: "waiting" until the task calls `started()` or ends first; then "started" or "ended". */
  private _state: "waiting" | "started" | "ended" = "waiting";
  /** Invariant: what `started(value)` does for the group; null for `TASK_STATUS_IGNORED`. */
  private readonly _onStarted: ((value: T) => void) | null;

  /** @internal made by `TaskGroup.start()` (or `TASK_STATUS_IGNORED`) */
  constructor(onStarted: ((value: T) => void) | null) {
    this._onStarted = onStarted;
  }

  /**
   * Announce that the task is ready: `tg.start()` returns `value`, and from now on the task is the
   * group's. Calling it twice, or after the task ended, is a `RuntimeError`. The value may be left out
   * where `T` allows `undefined` (`TaskStatus<void>`, the default: `status.started()`).
   */
  started(...value: undefined extends T ? [value?: T] : [value: T]): void {
    if (this._onStarted === null) return;
    if (this._state === "started") throw new RuntimeError("called started() twice on the same TaskStatus");
    if (this._state === "ended") throw new RuntimeError("called started() after its task ended");
    this._state = "started";
    this._onStarted(value[0] as T);
  }

  /** @internal true until `started()` or the task's end */
  get _waiting(): boolean {
    return this._state === "waiting";
  }

  /** @internal true once `started()` was called */
  get _isStarted(): boolean {
    return this._state === "started";
  }

  /** @internal the task ended before it called `started()` */
  _end(): void {
    this._state = "ended";
  }

  /** @internal */
  toString(): string {
    return this._onStarted === null ? "TASK_STATUS_IGNORED" : `<TaskStatus ${this._state}>`;
  }
}

/**
 * A `TaskStatus` whose `started()` does nothing, for calling a function written for `tg.start()` directly
 * (Trio's `TASK_STATUS_IGNORED`).
 *
 * @example
 * ```ts
 * import { run, sleep, TASK_STATUS_IGNORED, type TaskStatus } from "asyncio-ts";
 * async function serve(status: TaskStatus<number>) {
 *   status.started(8080);
 *   await sleep(10);
 *   return "served";
 * }
 * await run(async () => console.log(await serve(TASK_STATUS_IGNORED)), { virtualTime: true }); // "served"
 * ```
 */
export const TASK_STATUS_IGNORED: TaskStatus<any> = new TaskStatus<any>(null);
