/**
 * The waits of a `JobQueue` (`onIdle`, `onEmpty`, `onPendingZero`, `onSizeLessThan`, `onRateLimit`,
 * `onRateLimitCleared`, `onError`): one waiter queue of the sync layer per kind, made when first waited
 * on, and what the queue's state changes do to them.
 *
 * ## Approach
 * Each kind is a `WaiterQueue` (`sync/wait-queue.ts`), so a wait is cancellable, takes `{ signal }`, and
 * names itself in task dumps (`JobQueue.onIdle`). A wait whose condition already holds returns a resolved
 * promise and parks nothing. The queue tells this object what happened (`shrank`, `pendingZero`, `idle`,
 * `rateChanged`, `failed`, `loopClosed`); this object alone knows which waiters that wakes. `onSizeLessThan`
 * keeps its limit as the waiter's payload, and a shrinking line wakes exactly the waiters whose limit the
 * new size is below (the others keep their place).
 *
 * ## Rejected alternatives
 * - Keeping the seven queues as fields of `JobQueue` (the first version): the class was 1,100 lines, and
 *   every state change named the queues it woke.
 * - One queue of every wait with a predicate per waiter: each change would test every waiter, where a
 *   change wakes whole kinds (`idle` wakes all `onIdle` waiters, and no other).
 *
 * @module
 */
import { type EventLoop, RuntimeError } from "../core/index.js";
import { RESOLVED_VOID, type Waiter, WaiterQueue } from "../sync/wait-queue.js";
import { abortReason, readSignal, waitOn, type AbortOptions } from "../sync/abort-signal.js";

/** The kinds of wait, in the order of `QueueWaits._queues`. @internal */
export const IDLE = 0;
/** @internal */ export const EMPTY = 1;
/** @internal */ export const PENDING_ZERO = 2;
/** @internal payload: the limit */ export const SIZE_BELOW = 3;
/** @internal */ export const RATE_LIMIT = 4;
/** @internal */ export const RATE_CLEARED = 5;
/** @internal */ export const ERROR = 6;
/** @internal */
export type WaitKind = typeof IDLE | typeof EMPTY | typeof PENDING_ZERO | typeof SIZE_BELOW | typeof RATE_LIMIT | typeof RATE_CLEARED | typeof ERROR;

const LABELS = ["JobQueue.onIdle", "JobQueue.onEmpty", "JobQueue.onPendingZero", "JobQueue.onSizeLessThan", "JobQueue.onRateLimit", "JobQueue.onRateLimitCleared", "JobQueue.onError"];
const METHODS = ["onIdle", "onEmpty", "onPendingZero", "onSizeLessThan", "onRateLimit", "onRateLimitCleared", "onError"];

/** What a wait needs of its queue: the loop to park on (`JobQueue._bind`, which names the method when none runs). @internal */
export interface WaitOwner {
  _bind(what: string): EventLoop;
}

/** @internal the waits of one `JobQueue` */
export class QueueWaits {
  /** Invariant: `_queues[k]` is null until a wait of kind `k` was made; its label is `LABELS[k]`. */
  readonly _queues: (WaiterQueue<void> | null)[] = [null, null, null, null, null, null, null];

  constructor(private readonly _owner: WaitOwner) {}

  /** A wait of `kind`, done at once when `ready` (and no signal to check). */
  wait(kind: WaitKind, ready: boolean, options: AbortOptions | undefined, payload?: number): Promise<void> {
    if (ready && options === undefined) return RESOLVED_VOID;
    return this._waitSlow(kind, ready, options, payload);
  }

  private async _waitSlow(kind: WaitKind, ready: boolean, options: AbortOptions | undefined, payload: number | undefined): Promise<void> {
    const signal = readSignal(options);
    if (ready) return;
    const w = (this._queues[kind] ??= new WaiterQueue<void>(LABELS[kind]!));
    const waiter = w.park(this._owner._bind(METHODS[kind]!), payload);
    try {
      await waitOn(waiter, signal);
    } catch (e) {
      w.remove(waiter);
      throw abortReason(waiter, e);
    }
  }

  /** Wake every waiter of `kind`. */
  wake(kind: WaitKind): void {
    this._queues[kind]?.popAll(undefined);
  }

  /** The line has `size` entries now, fewer than before: wake the size waiters whose limit it is below, and `onEmpty` at 0. */
  shrank(size: number): void {
    const w = this._queues[SIZE_BELOW];
    if (w != null) wakeSizeWaiters(w, size);
    if (size === 0) this.wake(EMPTY);
  }

  /** A job failed: every `onError` waiter rejects with its error. */
  failed(error: unknown): void {
    const w = this._queues[ERROR];
    if (w != null) rejectAll(w, error);
  }

  /** The loop closed under the queue: code waiting outside tasks is told that the wait never returns. */
  loopClosed(): void {
    for (const w of this._queues) {
      if (w === null) continue;
      for (const waiter of w) waiter._rejectOutsideAwaiters(new RuntimeError(`Event loop is closed: ${w._label} will never return`));
    }
  }
}

/** Wake the size waiters whose limit `size` is below. */
function wakeSizeWaiters(w: WaiterQueue<void>, size: number): void {
  for (let x: Waiter<void> | null = w._head; x !== null; ) {
    const next = x._next;
    if (size < (x._payload as number)) {
      w.remove(x);
      if (!x.done()) x.setResult(undefined);
    }
    x = next;
  }
}

/** Reject every waiter of `w` with `error`. */
function rejectAll(w: WaiterQueue<void>, error: unknown): void {
  for (let x = w._head; x !== null; x = w._head) {
    w.remove(x);
    if (!x.done()) x._relayException(error); // (whatever the job threw, undefined too)
  }
}
