/**
 * `waitFor(aw, ms)`: await with a timeout (Python 3.12 semantics: it runs in the caller's task on top
 * of `timeout()`, and on expiry waits for the inner cancellation to finish before raising).
 *
 * What CPython awaits inline (a coroutine) runs inline here: a function is called under the timeout; the
 * promise of an async function that the caller just called (`waitFor(fetchIt(), 500)`) has its work moved
 * into the timeout's strand (`core/adopt.ts`), so the timeout cancels the awaits inside it and waits for
 * its cleanup; our own awaitables (`q.get()`, a contended `lock.acquire()`, a blocked `ev.wait()`) are
 * awaited in that strand directly, so the caller wakes in the iteration a plain await would, and a
 * wake-up that races the deadline is passed on by the primitive (CPython's code shape), never lost.
 * Futures and tasks are cancelled on expiry and awaited, as in CPython. With `ms <= 0` the awaitable is
 * made a future (a task for a function or a primitive's waiter) and cancelled at once, as CPython does.
 *
 * Rejected: a task around a primitive's waiter (what `ensureFuture` does for `gather`, which reads
 * futures without awaiting them): the caller then woke one iteration after a plain await.
 *
 * @module
 */
import { adoptChainIntoStrand, adoptIntoStrand, type AwaitableLike, liveCallerStrand, CancelledError, cannotTakeOver, Chain, checkMsOrNull, ensureFuture, type EventLoop, F_CANCEL_AFTER, Future, getRunningLoop, kindOf, markDonePath, NO_LIMIT, ScopeBody, settledValue, takeOverError, Task, TimeoutError, toFuture } from "../core/index.js";
import { timedOutMessage } from "../core/errors.js";
import { Timeout, limited, runIn } from "../time/timeout.js";

/** `waitFor(..., ms)`, for the messages of its `TimeoutError` (see `timedOutMessage`). */
const WAIT_FOR_CALL = (ms: string): string => `waitFor(..., ${ms})`;

/** `timeout(ms, body)` whose `TimeoutError` names `waitFor`. */
const timeoutScope = <T>(ms: number | null, body: () => PromiseLike<T> | T): Promise<T> => limited(ms, body, WAIT_FOR_CALL);

/** A `Timeout` expiring `ms` after now, its `TimeoutError` naming `waitFor`. */
function waitForTimeout(loop: EventLoop, ms: number | null): Timeout {
  const t = new Timeout(ms === null ? null : loop.time() + ms);
  if (ms !== null) t._limit = { ms, call: WAIT_FOR_CALL };
  return t;
}

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
 *   const slow = async () => { try { await sleep(1000); } finally { await sleep(50); console.log("cleaned up"); } };
 *   try { await waitFor(slow(), 100); } catch (e) { console.log("timed out after the cleanup"); }
 * }, { virtualTime: true });
 * ```
 */
export function waitFor<T>(aw: AwaitableLike<T>, ms: number | null): Promise<T> {
  try {
    checkMsOrNull(ms, "ms");
    if (cannotTakeOver(aw)) throw takeOverError("waitFor could not cancel it", "waitFor(() => work(), ms)");
    const kind = kindOf(aw, Future);
    if (kind === "unreadable" || kind === "other" || (ms !== null && ms <= 0)) return waitForNow(toFuture(aw, undefined, NO_LIMIT, -1), ms ?? 0);
    // A function runs inline in the caller's task, as a coroutine does in CPython's wait_for.
    if (kind === "function") return timeoutScope(ms, aw as () => PromiseLike<T> | T);
    // Our awaitable that only the awaiting code may `then` (a blocked `ev.wait()`, a contended
    // `lock.acquire()`: a waiter future; `sleep(0)`): awaited in the timeout's strand, as CPython 3.12+
    // awaits the coroutine inline (3.13 tasks.py:506, 3.12 :519 `async with timeouts.timeout(timeout): return await fut`),
    // so the caller wakes in the iteration a plain await would; on expiry the strand's cancellation
    // reaches the waiter and the primitive passes a wake-up on. (A task around it, as ensureFuture makes
    // for the other combinators, woke the caller one iteration later.)
    if ((aw as { _awaitOnly?: boolean })._awaitOnly === true) return timeoutScope(ms, () => aw as PromiseLike<T>);
    if (kind === "thenable") {
      const settled = settledValue(aw);
      if (settled !== undefined) return Promise.resolve(settled.value as T);
      if (aw instanceof Promise) {
        const inline = inlineUnderTimeout(aw as Promise<T>, ms);
        if (inline !== null) return inline;
      } else if (aw instanceof Chain) {
        const inline = inlineChainUnderTimeout(aw as Chain<T>, ms);
        if (inline !== null) return inline;
      }
    }
    const fut = ensureFuture(aw);
    return timeoutScope(ms, () => fut);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * The promise of work the caller just started: move the work into the timeout's strand and await it
 * there, as CPython awaits a coroutine inline (no iteration is spent when it ends); null if it cannot be
 * taken over.
 */
function inlineUnderTimeout<T>(promise: Promise<T>, ms: number | null): Promise<T> | null {
  const cur = liveCallerStrand();
  if (cur === null) return null;
  const loop = cur._task._loop;
  const t = waitForTimeout(loop, ms);
  const body = new ScopeBody(cur);
  const s = body.strand;
  if (!adoptIntoStrand(promise, s, NO_LIMIT)) {
    body.close();
    return null;
  }
  // Until the work awaits something of ours it may be foreign I/O: virtual time waits for it (unless an
  // await of ours moved in with it: a `fut.then(cb)` chain). On expiry the strand's cancellation reaches
  // the work's awaits; work awaiting nothing of ours (foreign) is given up one iteration later (as CPython
  // gives up a plain future) and runs on unobserved (ScopeBody).
  if (s._regs === 0) s._holdLoop = loop._holdForeign();
  return runIn(t, () => promise, body);
}

/**
 * The chain of `fut.then(cb)` that the caller's code made (`waitFor(lock.acquire().then(f), ms)`): its
 * await moves into the timeout's strand, so the deadline cancels the future it waits on (the primitive
 * passes a wake-up on, nothing is taken), as CPython's `wait_for` of a coroutine `f(await fut)`; null if
 * it is not such a chain.
 */
function inlineChainUnderTimeout<T>(chain: Chain<T>, ms: number | null): Promise<T> | null {
  const cur = liveCallerStrand();
  if (cur === null) return null;
  const t = waitForTimeout(cur._task._loop, ms);
  const body = new ScopeBody(cur);
  if (!adoptChainIntoStrand(chain as Chain<unknown>, body.strand)) {
    body.close();
    return null;
  }
  return runIn(t, () => chain.then(), body);
}

/** waitFor with `ms <= 0`: cancel at once, wait for the cancellation, then raise (CPython's path). */
async function waitForNow<T>(fut: Future<T>, ms: number): Promise<T> {
  if (fut.done()) return fut.result();
  const loop = getRunningLoop();
  // A promise nothing could take over (`lock.acquire().then(f)` on a free lock, in a step that has made
  // no async function's promise yet) may settle within the microtasks of this step, where CPython's eager
  // task would have finished synchronously: it gets them before the deadline of 0 decides.
  if (fut._mayFinishSoon()) {
    await microtasksDrained(loop);
    if (fut.done()) return fut.result();
  }
  await cancelAndWait(fut, loop);
  // A task made from running work that finished within its first step was done, in CPython, when
  // wait_for looked: its outcome is returned as it is, not taken for this timeout's cancellation.
  if (fut instanceof Task && (fut._flags & F_CANCEL_AFTER) !== 0) return fut.result();
  try {
    return fut.result();
  } catch (exc) {
    if (exc instanceof CancelledError) throw new TimeoutError(timedOutMessage(ms, WAIT_FOR_CALL), { cause: exc });
    throw exc;
  }
}

/** A future done once the microtasks queued now have run (a macrotask later); virtual time waits for it. */
function microtasksDrained(loop: EventLoop): Future<void> {
  const f = loop.createFuture<void>();
  loop._afterMicrotasks(() => {
    if (!f.done()) f.setResult(undefined);
  });
  return f;
}

async function cancelAndWait(fut: Future<unknown>, loop: EventLoop): Promise<void> {
  const waiter = loop.createFuture<void>();
  const cb = markDonePath((): void => {
    if (!waiter.done()) waiter.setResult();
  });
  fut.addDoneCallback(cb);
  try {
    // A task made from running work is cancelled once its first (eager) step ends: CPython's eager
    // task has run up to its first suspension before wait_for cancels it.
    if (fut instanceof Task) fut._cancelAfterFirstStep();
    // (a gather or shield of work taken over: cancelled once that work's first step is over, when
    // CPython's eager tasks would have run theirs)
    else loop._whenEagerStepsEnd(() => void fut.cancel());
    await waiter;
  } finally {
    fut.removeDoneCallback(cb);
  }
}
