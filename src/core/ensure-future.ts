/**
 * Turning what users pass (tasks, futures, functions, promises) into our futures.
 *
 * A promise of an async function that the calling task's code just called (`gather(a(), b())`) becomes a
 * task that owns that function's work (`adopt.ts`); other promises are wrapped (`fromPromise`).
 *
 * @module
 */
import { CancelledError, RuntimeError } from "./errors.js";
import { describe, kindOf } from "./check.js";
import type { EventLoop } from "./event-loop.js";
import { currentLoop } from "./running.js";
import { Future } from "./future.js";
import { Task, type TaskFunction } from "./task.js";
import { adoptChainIntoTask, adoptIntoTask, markArguments, unmarkArguments } from "./adopt.js";
import { Chain } from "./chain.js";
import { callerStrand, NO_LIMIT, strandCarrier, strandOf, workLimits } from "./current.js";
import { settledValue } from "./settled.js";
import { hasLinked } from "./cancellation.js";

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
 * A future for `aw`: a future or task as is, a function as a new task, the promise of an async function
 * that the calling task's code just called as a task that owns its work (CPython's `ensure_future` of a
 * coroutine), another promise wrapped (`fromPromise`).
 *
 * @example
 * ```ts
 * import { run, ensureFuture, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const t = ensureFuture(async () => 7);
 *   console.log(await t); // 7
 *   const work = async () => { await sleep(10); return "done"; };
 *   const u = ensureFuture(work()); // a task that owns work()'s awaits: u.cancel() reaches them
 *   console.log(await u); // "done"
 * });
 * ```
 */
export function ensureFuture<T>(aw: AwaitableLike<T>, loop?: EventLoop): Future<T> {
  return toFuture(aw, loop, NO_LIMIT, -1);
}

/**
 * `ensureFuture` for the combinators: `limit` is where a promise's work surely ends (`workLimits`: the
 * next promise handed to the same call begins there; `NO_LIMIT`: none); `index` names the argument in
 * errors (`aws[index]`; -1: `aw`).
 * @internal
 */
export function toFuture<T>(aw: AwaitableLike<T>, loop: EventLoop | undefined, limit: number, index: number): Future<T> {
  const kind = kindOf(aw, Future);
  if (kind === "unreadable" || kind === "other") {
    const what = index < 0 ? "aw" : `aws[${index}]`;
    throw new TypeError(`Expected ${what} to be an asyncio-ts Future, a promise or a function, got ${describe(aw)}`);
  }
  const isFuture = kind === "future";
  if (isFuture && loop !== undefined && (aw as Future<T>)._loop !== loop) {
    throw new RuntimeError("The future belongs to a different loop than the one specified as the loop argument");
  }
  // An awaitable of ours that only the awaiting code may `then` (it acts on the task that awaits):
  // `sleep(0)`, a contended `lock.acquire()`. Await it in a task of its own, as CPython runs the
  // coroutine in one.
  // A contended acquire()'s waiter is already parked: the task starts at once (an eager task), so that
  // cancelling it reaches the waiter, whose owner then passes its wake-up on (a task that never ran would
  // leave the waiter parked for ever). `sleep(0)` has started nothing: a task of its own, started on the
  // next iteration, as CPython's coroutine.
  if (isAwaitOnly(aw)) {
    const fn = (): PromiseLike<T> => aw as PromiseLike<T>;
    return isFuture ? Task._eager<T>(fn, (aw as Future<T>)._loop) : new Task<T>(fn, undefined, loop ?? currentLoop("ensureFuture()"));
  }
  if (isFuture) return aw as Future<T>;
  // (through the loop's task factory, as CPython's ensure_future calls loop.create_task)
  if (kind === "function") return (loop ?? currentLoop("ensureFuture()")).createTask(aw as TaskFunction<T>);
  return thenableToFuture(aw as PromiseLike<T>, loop ?? currentLoop("ensureFuture()"), limit);
}

/** A promise or another thenable, as a future (see `toFuture`). */
function thenableToFuture<T>(aw: PromiseLike<T>, l: EventLoop, limit: number): Future<T> {
  const settled = settledValue(aw);
  if (settled !== undefined) {
    // One of our own already-fulfilled promises (an uncontended acquire(), a put() that did not wait):
    // done now, so a combinator sees at once that nothing is pending.
    const f = new Future<T>(undefined, l);
    f.setResult(settled.value as T);
    return f;
  }
  if (aw instanceof Promise) {
    const t = adoptIntoTask(aw as Promise<T>, l, limit);
    if (t !== null) return t;
  } else if (aw instanceof Chain) {
    const t = adoptChainIntoTask(aw as Chain<T>, l);
    if (t !== null) return t;
  }
  return wrapPromise(aw, l, holdsClock(aw, l));
}

/**
 * Wrap a promise in a future of ours, so that awaiting it is cancellable: cancelling the awaiting task
 * rejects the await at once with `CancelledError` (the work itself goes on; hand `currentTask().signal`
 * to it to stop it too). On a virtual-time loop the clock does not jump while a promise made outside
 * every task is pending (for at most `holdTimeout`, see `EventLoopOptions`), so timeouts stay honest
 * around real I/O.
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
  const kind = kindOf(promise, Future);
  if (kind !== "future" && kind !== "thenable") throw new TypeError(`Expected promise to be a promise, got ${describe(promise)}`);
  if (promise instanceof Future || isAwaitOnly(promise)) return ensureFuture(promise, loop);
  return wrapPromise(promise, loop ?? currentLoop("fromPromise()"), true);
}

/**
 * The future of a promise whose work cannot be taken over: it holds virtual time while pending (for at
 * most `holdTimeout`), since the loop cannot see what it waits for. @internal
 */
function wrapPromise<T>(promise: PromiseLike<T>, l: EventLoop, hold: boolean): Future<T> {
  const fut = new PromiseFuture<T>(l);
  const s = strandOf(promise);
  if (strandCarrier() === "als" && !hold) fut._workOf = callerStrand()!._task;
  fut._site = {};
  Error.captureStackTrace(fut._site, wrapPromise);
  if (hold) {
    const hold = l._holdForeign();
    fut._pushCallback(() => hold._release());
    fut._hold = hold;
  }
  promise.then(
    (v) => {
      fut._hold?._release();
      if (!fut.done() && !l.isClosed()) fut.setResult(v);
    },
    (e) => {
      fut._hold?._release();
      if (!fut.done() && !l.isClosed()) {
        // work of ours that was cancelled: the future is cancelled (not failed with a CancelledError
        // that nobody would retrieve), as CPython's future of a cancelled coroutine
        fut._workOf = null;
        if (e instanceof CancelledError) fut.cancel(e.message === "" ? undefined : e.message);
        else fut._relayException(e); // (whatever the promise rejected with, undefined too)
      } else if (s !== undefined && fut.cancelled() && !(e instanceof CancelledError) && !l.isClosed()) {
        l.callExceptionHandler({ message: "A promise given up when its future was cancelled failed later", exception: e });
      }
    },
  );
  return fut;
}

/**
 * Whether waiting for a promise that could not be taken over holds virtual time. A promise that a live
 * task of this loop made (in an earlier step: `const p = a(); await x; await gather(p)`) while that task
 * has awaits of ours pending is that task's work, blocked on them: virtual time is driven by them, as by
 * the task's other code. Anything else may be foreign I/O: the clock waits for it (for at most
 * `holdTimeout`). `fromPromise` always holds: it says the promise is foreign.
 */
function holdsClock(promise: object, l: EventLoop): boolean {
  // Without promise hooks (the fallback, current.ts) promises carry no strand: one that task code of this
  // loop hands over is taken for its work (`gather(a(), b())`), whose awaits are registered in the
  // caller's strand by this step's microtasks and drive virtual time (a foreign one needs `fromPromise`).
  if (strandCarrier() === "als") {
    const c = callerStrand();
    return c === null || c._task._loop !== l || c._task.done();
  }
  // (a `fut.then(cb)` chain is ours, its callback the code of the task that made it, which is the caller
  // once the chain has woken: `const p = ev.wait().then(async cb); await sleep(3); await shield(p)`)
  const s = promise instanceof Chain ? (promise._strand ?? callerStrand() ?? undefined) : strandOf(promise);
  if (s === undefined || s._task._loop !== l) return true;
  // (a done task's code still running, a chain it did not wait for, is driven by its awaits of ours too)
  return s._task.done() ? !hasLinked(s._task) : s._task._nreg === 0;
}

/** @internal true for the future of a wrapped promise (`fromPromise`, or a promise nothing could take over) */
export function isWrappedPromise(f: Future<unknown>): boolean {
  return f instanceof PromiseFuture;
}

/** The future of `fromPromise`: knows where a foreign promise was wrapped (for `dumpTasks`). @internal */
class PromiseFuture<T> extends Future<T> {
  /** @internal the stack where a foreign promise was wrapped */
  _site: { stack?: string } | null = null;
  /** @internal the hold on virtual time while a foreign promise is pending */
  _hold: { _release(): void } | null = null;
  /**
   * @internal without promise hooks (the fallback, current.ts): the task whose code made the promise and
   * handed it over (`gather(a(), b())`), whose strand its work's awaits are registered in; null once the
   * promise settled, and with hooks (work is taken over there, `adopt.ts`)
   */
  _workOf: Task<unknown> | null = null;
  constructor(loop: EventLoop) {
    super(undefined, loop);
  }

  /**
   * Without promise hooks, the work behind a promise the task handed over stays the task's code. When the
   * task is being cancelled (a timeout, a scope, `task.cancel()`), its awaits, the work's among them,
   * receive the cancellation: the future then waits for the work to end (its cleanup runs first, as a
   * cancelled child task's does in CPython) and takes its outcome. Otherwise (the combinator alone is
   * cancelled, `gather(...).cancel()`, or nothing of ours is pending to deliver it to) it stops waiting
   * at once: the work goes on (README, "Runtimes").
   */
  override cancel(msg?: string): boolean {
    const t = this._workOf;
    if (t !== null && !this.done() && !t.done() && t.cancelling() > 0 && t._nreg > 0) {
      this._markRetrieved();
      return true;
    }
    return super.cancel(msg);
  }
  /** @internal the promise may settle in the microtasks already queued */
  override _mayFinishSoon(): boolean {
    return !this.done();
  }

  /** @internal what dumpTasks() prints for a task waiting on it */
  override _describe(): string {
    const at = this._site?.stack?.split("\n").slice(1).find((l) => !l.includes("asyncio-ts") && !l.includes("/src/") && !l.includes("node:"));
    return at === undefined ? "a promise that is not asyncio-ts's" : `a foreign promise created ${at.trim()}`;
  }
}

/** `x instanceof Promise`, false for a Proxy whose prototype cannot be read (toFuture then names it). */
function isPromise(x: unknown): boolean {
  try {
    return x instanceof Promise;
  } catch {
    return false;
  }
}

/** True for `sleep(0)`'s awaitable and a contended acquire's waiter (their `_awaitOnly` flag). */
function isAwaitOnly(aw: unknown): boolean {
  return aw !== null && typeof aw === "object" && (aw as { _awaitOnly?: boolean })._awaitOnly === true;
}

/**
 * `toFuture` of each awaitable, in order, each promise's work ending where the next promise's begins
 * (adopt.ts). Errors name the argument `aws[i]`.
 * @internal
 */
export function toFutures<T>(aws: readonly AwaitableLike<T>[], loop: EventLoop | undefined): Future<T>[] {
  const n = aws.length;
  const out = new Array<Future<T>>(n);
  let promises = 0;
  for (let i = 0; i < n; i++) if (isPromise(aws[i])) promises++;
  if (promises < 2) {
    for (let i = 0; i < n; i++) out[i] = toFuture(aws[i]!, loop, NO_LIMIT, i);
    return out;
  }
  markArguments(aws);
  try {
    const limits = workLimits(aws, isPromise);
    for (let i = 0; i < n; i++) out[i] = toFuture(aws[i]!, loop, limits[i]!, i);
  } finally {
    unmarkArguments(aws);
  }
  return out;
}
