/**
 * `asCompleted(aws, { timeout })`: iterate over awaitables in the order they finish (Python 3.13).
 *
 * CPython 3.13's `_AsCompletedIterator` (tasks.py:570): each future's done callback puts it into a queue,
 * a timeout puts one `None` per future left; `__anext__` takes the next one from the queue. The queue is
 * kept here as an array of done futures and a FIFO of waiting `next()` calls, each woken by one done
 * future (CPython's `Queue.get`, queues.py:172), so several consumers of one iterator (`gather(it.next(),
 * it.next())`, two workers in `for await`) each get their own futures, in the order they asked.
 * A waiting `next()` that is cancelled passes its wake-up on (queues.py:196) and gives its step of the
 * iteration back (CPython's `__anext__` counts it, tasks.py:602, and ends the iteration one future early,
 * leaving that future in its queue): nothing is lost.
 *
 * Rejected: one shared "something is done" future for all waiting calls: the second `next()` replaced
 * the first one's, which then waited for ever and its future was never yielded.
 *
 * Typing: `for await (const t of asCompleted(...))` types `t` as the awaited *result*, not the future it
 * is: TypeScript applies `Awaited<>` to the elements of every `for await`, so no return type can make
 * it the future. `it.next()` is typed exactly (`r.value` is the input task): see docs/rosetta.md.
 *
 * @module
 */
import { type AwaitableLike, checkDelay, checkOptions, currentLoop, describe, Future, TimeoutError, type TimerHandle, toFutures } from "../core/index.js";
import { timedOutMessage } from "../core/errors.js";
import { type FutureOf, oneIterableHint } from "./wait.js";

/**
 * An async iterable over the given awaitables, yielding each one (the original task or future) as it
 * finishes. With `timeout`, the iteration throws `TimeoutError` once the time is up. Several consumers
 * may share one iterator: each waiting `next()` gets its own future, in the order they asked.
 *
 * TypeScript types a `for await` element as the awaited *result* (it is the task at run time: `await t`
 * gives the result); for the task typed as such, iterate with `next()`:
 * `for (let r = await it.next(); !r.done; r = await it.next()) r.value.getName()`.
 *
 * @example
 * ```ts
 * import { run, asCompleted, createTask, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const slow = createTask(() => sleep(30, "slow"));
 *   const fast = createTask(() => sleep(10, "fast"));
 *   for await (const t of asCompleted([slow, fast])) console.log(await t); // "fast", then "slow"
 * }, { virtualTime: true });
 * ```
 */
export function asCompleted<T = unknown, A extends AwaitableLike<T> = AwaitableLike<T>>(
  aws: Iterable<A>,
  options?: { timeout?: number | null },
): AsyncIterableIterator<FutureOf<A, T>>;
export function asCompleted<T>(aws: Iterable<AwaitableLike<T>>, options: { timeout?: number | null } = {}): AsyncIterableIterator<Future<T>> {
  if (aws instanceof Future || aws === null || typeof aws !== "object" || !(Symbol.iterator in aws)) {
    throw new TypeError(`Expected aws to be an iterable of awaitables, got ${describe(aws)}${oneIterableHint(aws, "asCompleted", "asyncio.as_completed")}`);
  }
  if (typeof options === "number") {
    throw new TypeError(`Expected options to be an object, got ${describe(options)}: write asCompleted(aws, { timeout: ${options} })`);
  }
  const timeout = checkOptions(options, ["timeout"], "asCompleted()").timeout ?? null;
  if (timeout !== null) checkDelay(timeout, "timeout");
  const loop = currentLoop("asCompleted()");
  const todo = new Set<Future<T>>();
  for (const f of toFutures([...new Set(aws)], loop)) todo.add(f);
  /** Invariant: the futures done (or, after the timeout, one `null` per future left) that no `next()` took yet, oldest first. */
  const done: Array<Future<T> | null> = [];
  /**
   * Invariant: the `next()` calls waiting for `done` to fill, oldest first; a woken one (done) is removed
   * at once, and a cancelled one when its call resumes.
   */
  const getters: Array<Future<void>> = [];
  let timeoutHandle: TimerHandle | null = null;
  /** Invariant: how many futures (or timeout errors) no `next()` call has claimed yet; a waiting call has claimed one, and gives it back if it fails. */
  let left = todo.size;

  // CPython's Queue._wakeup_next (queues.py:71): wake the oldest getter that is still waiting
  const wakeupNext = (): void => {
    while (getters.length > 0) {
      const g = getters.shift()!;
      if (!g.done()) {
        g.setResult();
        return;
      }
    }
  };
  const push = (f: Future<T> | null): void => {
    done.push(f);
    wakeupNext();
  };
  const onCompletion = (f: Future<T>): void => {
    if (todo.size === 0) return; // the timeout was here first
    todo.delete(f);
    push(f);
    if (todo.size === 0) timeoutHandle?.cancel();
  };
  for (const f of todo) f.addDoneCallback(onCompletion);
  if (todo.size > 0 && timeout !== null) {
    timeoutHandle = loop._at(loop.time() + timeout, () => {
      for (const f of todo) {
        f.removeDoneCallback(onCompletion);
        push(null);
      }
      todo.clear();
    });
  }

  const iterator: AsyncIterableIterator<Future<T>> = {
    async next(): Promise<IteratorResult<Future<T>>> {
      if (left === 0) return { done: true, value: undefined };
      left--;
      while (done.length === 0) {
        // CPython's Queue.get (queues.py:180)
        const getter = loop.createFuture<void>();
        getters.push(getter);
        try {
          await getter;
        } catch (e) {
          getter.cancel();
          const i = getters.indexOf(getter);
          if (i >= 0) getters.splice(i, 1);
          // woken, but cannot take it: wake up the next in line (queues.py:196)
          if (done.length > 0 && !getter.cancelled()) wakeupNext();
          left++; // this call yields nothing: a later one yields the future it would have
          throw e;
        }
      }
      const f = done.shift()!;
      if (f === null) throw new TimeoutError(timedOutMessage(timeout!, (ms) => `asCompleted(aws, { timeout: ${ms} })`));
      return { done: false, value: f };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
