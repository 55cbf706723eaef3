/**
 * `waitFor(aw, ms)`: await with a timeout (Python 3.12 semantics: it runs in the caller's task on top
 * of `timeout()`, and on expiry waits for the inner cancellation to finish before raising).
 *
 * @module
 */
import { describe } from "../errors.js";
import { CancelledError, TimeoutError } from "../errors.js";
import { checkDelay } from "../loop/event-loop.js";
import { ensureFuture, type AwaitableLike } from "../task/ensure-future.js";
import type { Future } from "../task/future.js";
import { timeout as timeoutScope } from "../time/timeout.js";

/**
 * Await `aw`, but give up after `ms` milliseconds: `aw` is cancelled, and `TimeoutError` is thrown once
 * its cancellation has finished. `null` means no limit.
 *
 * @example
 * ```ts
 * import { run, waitFor, sleep, TimeoutError } from "asyncio-ts";
 * await run(async () => {
 *   console.log(await waitFor(sleep(10, "quick"), 100)); // "quick"
 *   try { await waitFor(sleep(1000), 100); } catch (e) { console.log(e instanceof TimeoutError); } // true
 * }, { virtualTime: true });
 * ```
 */
export async function waitFor<T>(aw: AwaitableLike<T>, ms: number | null): Promise<T> {
  if (ms !== null) {
    if (typeof ms !== "number") throw new TypeError(`Expected ms to be a number or null, got ${describe(ms)}`);
    checkDelay(ms, "ms");
  }
  if (ms !== null && ms <= 0) {
    const fut = ensureFuture(aw);
    if (fut.done()) return fut.result();
    await cancelAndWait(fut);
    try {
      return fut.result();
    } catch (exc) {
      if (exc instanceof CancelledError) throw new TimeoutError("", { cause: exc });
      throw exc;
    }
  }
  // A function runs inline in the caller's task, as a coroutine does in CPython's wait_for.
  if (typeof aw === "function") return await timeoutScope(ms, aw as () => PromiseLike<T> | T);
  const fut = ensureFuture(aw);
  return await timeoutScope(ms, () => fut);
}

async function cancelAndWait(fut: Future<unknown>): Promise<void> {
  const waiter = fut._loop.createFuture<void>();
  const cb = (): void => {
    if (!waiter.done()) waiter.setResult();
  };
  fut.addDoneCallback(cb);
  try {
    fut.cancel();
    await waiter;
  } finally {
    fut.removeDoneCallback(cb);
  }
}
