/**
 * `wait(aws, { timeout, returnWhen })`: wait until some or all awaitables are done, without raising
 * their errors.
 *
 * @module
 */
import { type AwaitableLike, checkMs, checkOptions, describe, Future, getRunningLoop, kindOf, type Task, type TimerHandle, toFutures } from "../core/index.js";

/** The options of `wait()`. */
const WAIT_OPTIONS = ["timeout", "returnWhen"] as const;

/** Return as soon as any awaitable is done. */
export const FIRST_COMPLETED = "FIRST_COMPLETED";
/** Return as soon as any awaitable fails (or all are done). */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION";
/** Return when all are done (the default). */
export const ALL_COMPLETED = "ALL_COMPLETED";
/** When `wait` returns. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/**
 * The future that `wait` and `asCompleted` hand back for an element of type `A` of their iterable: a
 * future or task as it is (the same object: `done.has(work)`, `t === a`), a function as the task it runs
 * in, a promise as a future of its result. `T` is the caller's explicit type argument: when `A` is left
 * at its default (`wait<unknown>(aws)`), the future is a `Future<T>`, as before the element type was
 * inferred.
 *
 * (Rejected: one result type `T` inferred from every element, the old signature: TypeScript does not
 * infer a union from several candidates, so `wait([work, sleep(100)])` did not typecheck.)
 */
export type FutureOf<A, T = unknown> = AwaitableLike<T> extends A
  ? Future<T>
  : // (each member of a union on its own: the conditionals below distribute over A)
    A extends Future<unknown>
    ? A
    : A extends PromiseLike<infer R>
      ? Future<R>
      : A extends () => infer R
        ? Task<Awaited<R>>
        : never;

/** Options of `wait`. */
export interface WaitOptions {
  /** Milliseconds; on expiry `wait` returns what is done so far (it does not throw). */
  timeout?: number | null;
  returnWhen?: ReturnWhen;
}

/**
 * Wait for the futures (tasks, or functions started as tasks) and return `[done, pending]` as two sets.
 * Errors are not raised: read them from the done futures. The sets hold the given tasks and futures
 * themselves, typed as given (`wait([work, sleep(100)])` gives `Set<Task<number> | Future<void>>`).
 *
 * @example
 * ```ts
 * import { run, wait, createTask, sleep, FIRST_COMPLETED } from "asyncio-ts";
 * await run(async () => {
 *   const fast = createTask(() => sleep(10, "fast"));
 *   const slow = createTask(() => sleep(1000, "slow"));
 *   const [done, pending] = await wait([fast, slow], { returnWhen: FIRST_COMPLETED });
 *   console.log(done.has(fast), pending.has(slow)); // true true
 *   slow.cancel();
 * }, { virtualTime: true });
 * ```
 */
export function wait<T = unknown, A extends AwaitableLike<T> = AwaitableLike<T>>(
  aws: Iterable<A>,
  options?: WaitOptions,
): Promise<[Set<FutureOf<A, T>>, Set<FutureOf<A, T>>]>;
export function wait<T>(aws: Iterable<AwaitableLike<T>>, options: WaitOptions = {}): Promise<[Set<Future<T>>, Set<Future<T>>]> {
  // (not an async function: the promises in `aws` are taken over before any promise of ours is made,
  // see core/adopt.ts)
  try {
    if (kindOf(aws, Future) !== "other" || typeof aws !== "object" || aws === null || !(Symbol.iterator in aws)) {
      throw new TypeError(`Expected aws to be an iterable of futures or tasks, got ${describe(aws)}${oneIterableHint(aws, "wait", "asyncio.wait")}`);
    }
    if (typeof options === "number") {
      throw new TypeError(`Expected options to be an object, got ${describe(options)}: write wait(aws, { timeout: ${options} })`);
    }
    const { timeout = null, returnWhen = ALL_COMPLETED } = checkOptions(options, WAIT_OPTIONS, "wait()");
    if (timeout !== null) checkMs(timeout, "timeout");
    if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
      throw new RangeError(`Expected returnWhen to be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${describe(returnWhen)}`);
    }
    const loop = getRunningLoop();
    const fs = new Set<Future<T>>(toFutures([...aws], loop));
    if (fs.size === 0) throw new RangeError("Expected aws to hold at least one awaitable, got an empty iterable");
    return waitFor_(fs, loop, timeout, returnWhen);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * When `wait`/`asCompleted` is given an awaitable where the iterable goes (`wait(a, b)`: the awaitables as
 * arguments, as `gather` takes them): `: wait() takes them in one iterable, as CPython's asyncio.wait
 * does: write wait([a, b])`; else `""`.
 * @internal
 */
export function oneIterableHint(aws: unknown, name: string, cpython: string | null): string {
  const kind = kindOf(aws, Future);
  if (kind !== "future" && kind !== "thenable" && kind !== "function") return "";
  const as = cpython === null ? "" : `, as CPython's ${cpython} does`;
  return `: ${name}() takes the awaitables in one iterable${as}: write ${name}([a, b]), not ${name}(a, b)`;
}

async function waitFor_<T>(
  fs: Set<Future<T>>,
  loop: ReturnType<typeof getRunningLoop>,
  timeout: number | null,
  returnWhen: ReturnWhen,
): Promise<[Set<Future<T>>, Set<Future<T>>]> {
  const waiter = loop.createFuture<void>();
  let timeoutHandle: TimerHandle | null = null;
  if (timeout !== null) {
    timeoutHandle = loop._at(loop.time() + timeout, () => {
      if (!waiter.done()) waiter.setResult();
    });
  }
  let counter = fs.size;
  const onCompletion = (f: Future<T>): void => {
    counter--;
    if (
      counter <= 0 ||
      returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && failed(f))
    ) {
      timeoutHandle?.cancel();
      if (!waiter.done()) waiter.setResult();
    }
  };
  for (const f of fs) f.addDoneCallback(onCompletion);
  try {
    await waiter;
  } finally {
    timeoutHandle?.cancel();
    for (const f of fs) f.removeDoneCallback(onCompletion);
  }
  const done = new Set<Future<T>>();
  const pending = new Set<Future<T>>();
  for (const f of fs) (f.done() ? done : pending).add(f);
  return [done, pending];
}

/**
 * CPython's `not f.cancelled() and f.exception() is not None` (tasks.py `_wait`): reading the exception
 * marks it retrieved, as there; whether it failed is the future's own state, not `exception() !==
 * undefined` (a task whose function threw undefined failed too).
 */
function failed(f: Future<unknown>): boolean {
  if (f.cancelled()) return false;
  f.exception();
  return f._hasException;
}
