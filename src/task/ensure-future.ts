/**
 * Turning what users pass (tasks, futures, functions, foreign promises) into our futures.
 *
 * @module
 */
import { RuntimeError, describe } from "../errors.js";
import type { EventLoop } from "../loop/event-loop.js";
import { getEventLoop } from "../loop/running.js";
import { Future } from "./future.js";
import { Task, type TaskFunction } from "./task.js";

/** Anything that can be awaited by the combinators: our futures and tasks, foreign promises, or a
 * function to run as a task. */
export type AwaitableLike<T> = Future<T> | PromiseLike<T> | TaskFunction<T>;

/** The value an {@link AwaitableLike} produces. */
export type Awaited2<A> = A extends Future<infer T>
  ? T
  : A extends PromiseLike<infer T>
    ? T
    : A extends () => infer R
      ? Awaited<R>
      : never;

/**
 * A future for `aw`: a future or task as is, a function as a new task, a foreign promise wrapped
 * (`fromPromise`).
 *
 * @example
 * ```ts
 * import { run, ensureFuture } from "asyncio-ts";
 * await run(async () => {
 *   const t = ensureFuture(async () => 7);
 *   console.log(await t); // 7
 * });
 * ```
 */
export function ensureFuture<T>(aw: AwaitableLike<T>, loop?: EventLoop): Future<T> {
  const isFuture = aw instanceof Future;
  if (isFuture && loop !== undefined && aw._loop !== loop) {
    throw new RuntimeError("The future belongs to a different loop than the one specified as the loop argument");
  }
  // An awaitable of ours that only the awaiting code may `then` (it acts on the task that awaits):
  // `sleep(0)`, a contended `lock.acquire()`. Await it in a task of its own, as CPython runs the
  // coroutine in one.
  if (isAwaitOnly(aw)) return new Task<T>(() => aw as PromiseLike<T>, undefined, isFuture ? aw._loop : (loop ?? getEventLoop()));
  if (isFuture) return aw;
  const l = loop ?? getEventLoop();
  if (typeof aw === "function") return new Task<T>(aw as TaskFunction<T>, undefined, l);
  if (aw !== null && typeof aw === "object" && typeof (aw as PromiseLike<T>).then === "function") {
    return fromPromise(aw as PromiseLike<T>, l);
  }
  throw new TypeError(`An asyncio-ts Future, a promise or a function is required, got ${describe(aw)}`);
}

/**
 * Wrap a foreign promise in a future of ours, so that awaiting it is cancellable: cancelling the
 * awaiting task rejects the await at once with `CancelledError` (the foreign work itself goes on; hand
 * `currentTask().signal` to it to stop it too). On a virtual-time loop the clock does not jump while
 * the promise is pending, so timeouts stay honest around real I/O.
 *
 * @example
 * ```ts
 * import { run, fromPromise, timeout } from "asyncio-ts";
 * import { readFile } from "node:fs/promises";
 * await run(async () => {
 *   const text = await timeout(5000, () => fromPromise(readFile("package.json", "utf8")));
 *   console.log(text.length > 0); // true
 * });
 * ```
 */
export function fromPromise<T>(promise: PromiseLike<T>, loop?: EventLoop): Future<T> {
  if (promise === null || typeof promise !== "object" || typeof (promise as PromiseLike<T>).then !== "function") {
    throw new TypeError(`Expected promise to be a promise, got ${describe(promise)}`);
  }
  if (promise instanceof Future || isAwaitOnly(promise)) return ensureFuture(promise, loop);
  const l = loop ?? getEventLoop();
  const fut = new Future<T>({ loop: l });
  let held = true;
  l._hold();
  const release = (): void => {
    if (held) {
      held = false;
      l._release();
    }
  };
  fut._pushCallback(release);
  promise.then(
    (v) => {
      release();
      if (!fut.done() && !l.isClosed()) fut.setResult(v);
    },
    (e) => {
      release();
      if (!fut.done() && !l.isClosed()) fut.setException(e);
    },
  );
  return fut;
}

/** True for `sleep(0)`'s awaitable and a contended acquire's waiter (their `_awaitOnly` flag). */
function isAwaitOnly(aw: unknown): boolean {
  return aw !== null && typeof aw === "object" && (aw as { _awaitOnly?: boolean })._awaitOnly === true;
}
