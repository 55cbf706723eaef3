/**
 * `asCompleted(aws, { timeout })`: iterate over awaitables in the order they finish (Python 3.13).
 *
 * @module
 */
import { type AwaitableLike, checkDelay, checkOptions, defaultLoop, describe, Future, TimeoutError, type TimerHandle, toFutures } from "../core/index.js";
import { timedOutMessage } from "../core/errors.js";
import { oneIterableHint } from "./wait.js";

/**
 * An async iterable over the given awaitables, yielding each one (the original task or future) as it
 * finishes. With `timeout`, the iteration throws `TimeoutError` once the time is up.
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
export function asCompleted<T>(aws: Iterable<AwaitableLike<T>>, options: { timeout?: number | null } = {}): AsyncIterableIterator<Future<T>> {
  if (aws instanceof Future || aws === null || typeof aws !== "object" || !(Symbol.iterator in aws)) {
    throw new TypeError(`Expected aws to be an iterable of awaitables, got ${describe(aws)}${oneIterableHint(aws, "asCompleted", "asyncio.as_completed")}`);
  }
  if (typeof options === "number") {
    throw new TypeError(`Expected options to be an object, got ${describe(options)}: write asCompleted(aws, { timeout: ${options} })`);
  }
  const timeout = checkOptions(options, ["timeout"], "asCompleted()").timeout ?? null;
  if (timeout !== null) checkDelay(timeout, "timeout");
  const loop = defaultLoop();
  const todo = new Set<Future<T>>();
  for (const f of toFutures([...new Set(aws)], loop)) todo.add(f);
  const done: Array<Future<T> | null> = [];
  let getter: Future<void> | null = null;
  let timeoutHandle: TimerHandle | null = null;
  let left = todo.size;

  const push = (f: Future<T> | null): void => {
    done.push(f);
    if (getter !== null && !getter.done()) getter.setResult();
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
        getter = loop.createFuture<void>();
        await getter;
        getter = null;
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
