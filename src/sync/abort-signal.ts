/**
 * `AbortSignal` for every wait of the primitives and queues (`{ signal }`).
 *
 * Every wait takes `{ signal }`. An already aborted signal rejects at once with `signal.reason`
 * (`signal.throwIfAborted()`, as `fetch` does). A signal that aborts during the wait cancels the waiter
 * future, so the primitive runs exactly its cancellation path (passing a wake-up on, giving a permit
 * back); the wait then rejects with `signal.reason` rather than `CancelledError`. This is the same inside
 * and outside tasks: the task is not marked as cancelled (`cancelling()` stays 0), and outside code gets
 * the error it expects from an `AbortSignal`. An abort that comes after the waiter was woken is too late
 * and is ignored: the wait succeeds, as a late cancellation does in CPython. A task cancelled during the
 * wait as well (in the same step as the abort, or while a `Condition` re-acquires its lock after it) gets
 * `CancelledError`, not the signal's reason: a cancellation is never turned into an error that code
 * catching `AbortError` would swallow (the task's request count as the waiting code sees it tells, `abortedIn`).
 *
 * @module
 */
import { CancelledError, checkOptions, contextStrand, describe, type StrandLike, visibleCancelling } from "../core/index.js";

/**
 * Options of every wait (`acquire`, `wait`, `get`, `put`, `join`...).
 * @example `await lock.acquire({ signal: AbortSignal.timeout(500) });`
 */
export interface AbortOptions {
  /** Abandon the wait when this signal aborts: the wait rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/**
 * The signal of an options object, validated; throws `signal.reason` if it has already aborted.
 * @internal
 */
export function readSignal(options: AbortOptions | undefined): AbortSignal | undefined {
  if (options === undefined) return undefined;
  // (only `signal`: a misspelt option would silently disable the cancellation it is for)
  return checkSignal(checkOptions(options, ["signal"], "a wait").signal, "options.signal");
}

/**
 * A `signal` option, validated (undefined stays undefined); throws `signal.reason` if it has already
 * aborted (`throwIfAborted`, as `fetch` does).
 * @internal
 */
export function checkSignal(signal: unknown, name = "signal"): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new TypeError(`Expected ${name} to be an AbortSignal, got ${describe(signal)}`);
  signal.throwIfAborted();
  return signal;
}

/**
 * `readSignal` for a method that returns a promise: the signal, or the rejection to return instead of
 * throwing (as an async function would).
 * @internal
 */
export function signalOrRejection(options: AbortOptions | undefined): AbortSignal | undefined | Promise<never> {
  if (options === undefined) return undefined;
  try {
    return readSignal(options);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * What these helpers need of a waiter (`wait-queue.ts`'s `Waiter` is one): said here, not imported, so
 * that the wait queue, which uses them, and this module do not import each other.
 * @internal
 */
export interface AbortableWait<T> extends PromiseLike<T> {
  cancel(): boolean;
  /** The signal that cancelled the wait, or null. */
  _abortedBy: AbortSignal | null;
}

/**
 * Await `w`, cancelling it if `signal` aborts first. The caller runs its cancellation path on the
 * resulting `CancelledError` and then throws `abortReason(w, err)`.
 * @internal
 */
export async function waitWithSignal<T>(w: AbortableWait<T>, signal: AbortSignal): Promise<T> {
  const strand = contextStrand();
  const before = strand === null ? 0 : visibleCancelling(strand);
  const onAbort = (): void => {
    if (w.cancel()) {
      w._abortedBy = signal;
      if (strand !== null) abortedIn.set(w, { strand, cancelling: before });
    }
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await w;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** Await a waiter, with or without a signal. @internal */
export function waitOn<T>(w: AbortableWait<T>, signal: AbortSignal | undefined): PromiseLike<T> {
  return signal === undefined ? w : waitWithSignal(w, signal);
}

/**
 * Where a waiter its signal cancelled was waited on (the task's code: a strand), and the task's
 * `cancelling()` as that code saw it when the wait began (`visibleCancelling`: a scope in another chain of
 * the task is no cancellation of this one). A weak map: written only on an abort, so no waiter carries a
 * field for it.
 */
const abortedIn = new WeakMap<AbortableWait<unknown>, { strand: StrandLike; cancelling: number }>();

/**
 * What a wait that failed with `err` should throw: the signal's reason if the signal ended it, unless the
 * waiting task was cancelled during the wait too (a request still outstanding): then the
 * `CancelledError`, which the task must see. @internal
 */
export function abortReason(w: AbortableWait<unknown>, err: unknown): unknown {
  if (w._abortedBy === null) return err;
  const at = abortedIn.get(w);
  if (at !== undefined && err instanceof CancelledError && visibleCancelling(at.strand) > at.cancelling) return err;
  return w._abortedBy.reason;
}
