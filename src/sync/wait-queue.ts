/**
 * The one fair waiter queue that every primitive and queue parks its waiters on (in the spirit of Trio's
 * parking lot).
 *
 * ## Approach
 * A waiter is a `Future` (made on the primitive's loop) that is also the node of an intrusive doubly
 * linked list. Parking appends at the tail; waking completes futures from the head, so wake-ups are
 * FIFO; any waiter unlinks itself in O(1). The queue holds no policy. Whether a woken waiter stays
 * linked until its task runs (CPython's `Lock`, `Semaphore`, `Condition`, `Event`: the waiter removes
 * itself in a `finally`) or is unlinked by the waker (CPython's `Queue`: `popleft`) is the primitive's
 * choice (`wakeFirst`, `wakeNext`, `wake(n)` versus `popNext`). So each primitive can keep CPython's
 * code shape, and with it CPython's exact fairness and cancellation behaviour: a future that is done but
 * not cancelled marks a waiter that was woken but has not run yet, and a cancelled one marks a waiter
 * that left; the primitives inspect exactly these two states to pass wake-ups on.
 *
 * ## Rejected alternatives
 * - An array with `indexOf` + `splice` (CPython's `deque.remove`): O(n) per cancellation, O(n^2) when
 *   a crowd of waiters is cancelled at once (a task group failing).
 * - A separate node object pointing at the future: one more allocation per wait, for nothing.
 * - Trio's hand-off, where `unpark` reschedules the parked task directly: an asyncio task that was woken
 *   can still be cancelled before it runs, so the primitives must see "woken, not yet running"; a done
 *   future is exactly that state and costs nothing extra.
 *
 *
 * ## Labels
 * A queue is made with the label of the wait it serves (`"Lock.acquire"`, `"Queue.get"`): every waiter
 * parked on it carries it, and says it when asked what it is (`Future._describe()`), so task dumps and
 * timelines name the primitive and method a task waits in.
 *
 * ## Two ways to wait (see also `docs/design.md`, "Building on the core")
 * - `park(loop)` returns the waiter; the primitive awaits it inside an `async` method and runs CPython's
 *   code after `await fut` there (Event, Condition, Queue, CapacityLimiter): simple, and right for any
 *   wait whose after-code may itself await.
 * - `waitSettling(owner, signal)` returns the waiter itself (or an abortable wait on it) to the caller,
 *   and runs the owner's `_afterWait` when the outcome reaches the awaiting code: no async function per
 *   wait (Lock and Semaphore `acquire`, the hot ones). The after-code must be synchronous.
 *
 * Loop binding is `loop-binding.ts`; `AbortSignal` plumbing is `abort-signal.ts`.
 *
 * @module
 */
import { Chain, type EventLoop, fulfilled, Future } from "../core/index.js";
import { bindLoop } from "./loop-binding.js";
import { waitWithSignal } from "./abort-signal.js";

/**
 * A parked waiter: a future that is also a node of one `WaiterQueue`.
 * @internal
 */
export class Waiter<T = unknown> extends Future<T> {
  /** @internal the queue this waiter is linked into; null once unlinked (then `_prev`/`_next` are null) */
  _queue: WaiterQueue<T> | null = null;
  /** @internal */ _prev: Waiter<T> | null = null;
  /** @internal */ _next: Waiter<T> | null = null;
  /** @internal what the waiter waits on behalf of (a CapacityLimiter borrower); undefined elsewhere */
  _payload: unknown = undefined;
  /** @internal the signal that cancelled this waiter, if one did (then `cancelled()` is true) */
  _abortedBy: AbortSignal | null = null;
  /** @internal the label of the queue it was parked on (see the module comment) */
  override _label: string | undefined = undefined;

  /**
   * @internal its loop closed while code outside tasks awaited it (`Future._abandon`): it leaves its
   * queue too, so that the primitive's next wake-up, on the loop it binds to next, is not spent on it
   */
  override _abandon(error: unknown): void {
    super._abandon(error);
    this._queue?.remove(this);
  }
}

/**
 * What a primitive does when its waiter's outcome reaches the waiting code: CPython's code after
 * `await fut` in `acquire()` (unlink the waiter, give back a permit that a cancelled waiter was promised,
 * pass wake-ups on, take the lock). Returns what the wait delivers: the result when `ok`, else the error
 * to throw.
 * @internal
 */
export interface WaitOwner {
  _afterWait(w: SettlingWaiter, ok: boolean, value: unknown): unknown;
}

/**
 * A waiter that is itself what `acquire()` returns, instead of an `async` function around it: one object
 * and one await per contended acquisition rather than a promise, a generator and two awaits. Its owner's
 * `_afterWait` runs once, when the outcome reaches the code that awaits it (`then`), which is where
 * CPython runs it (the waiting task resumes); later readers get the same outcome. Combinators that read
 * futures directly wrap it in a task first (`_awaitOnly`, see `ensureFuture`).
 *
 * Rejected: running `_afterWait` when the waiter is woken. A woken waiter can still be cancelled before
 * its task runs, and CPython then passes the wake-up on; only the resumption knows.
 * @internal
 */
export class SettlingWaiter extends Waiter<true> {
  /** @internal */ _owner: WaitOwner | null = null;
  /** @internal set once `_afterWait` ran: then `_afterOk` and `_afterValue` are the wait's outcome */
  _afterDone = false;
  /** @internal */ _afterOk = false;
  /** @internal */ _afterValue: unknown = undefined;

  override then<R1 = true, R2 = never>(
    onFulfilled?: ((value: true) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Chain<R1 | R2> {
    const chain = new SettleChain<R1 | R2>(onFulfilled, onRejected, this);
    this._await(chain);
    return chain;
  }
}
Object.defineProperty(SettlingWaiter.prototype, "_awaitOnly", { value: true, writable: false });

/** The chain of an await of a `SettlingWaiter`: runs the owner's `_afterWait` before delivering. */
class SettleChain<T> extends Chain<T> {
  constructor(
    onFulfilled: ((value: any) => unknown) | null | undefined,
    onRejected: ((reason: unknown) => unknown) | null | undefined,
    private readonly _w: SettlingWaiter,
  ) {
    super(onFulfilled, onRejected);
  }

  override _deliver(ok: boolean, value: unknown): void {
    const w = this._w;
    if (!w._afterDone) {
      w._afterDone = true;
      w._afterOk = ok;
      w._afterValue = w._owner!._afterWait(w, ok, value);
    }
    super._deliver(w._afterOk, w._afterValue);
  }
}

/**
 * A FIFO queue of waiters with O(1) park and unlink.
 * @internal
 */
export class WaiterQueue<T = unknown> {
  /** @internal what the waits on this queue are (`"Lock.acquire"`): every waiter parked here says it */
  _label: string;
  /** @internal oldest linked waiter; null iff `_size === 0` */
  _head: Waiter<T> | null = null;
  /** @internal newest linked waiter; null iff `_size === 0` */
  _tail: Waiter<T> | null = null;
  /** @internal number of linked waiters (done or not) */
  _size = 0;
  /**
   * @internal where the search for a pending waiter starts. Invariant: every linked waiter before it
   * is done (woken or cancelled); null when every linked waiter is done. Woken waiters stay linked until
   * their task runs, so without it each wake-up would step over all of them again (with 25 permits and
   * 100 tasks, 25 per release).
   */
  _cursor: Waiter<T> | null = null;

  /** @param label the primitive and method whose waits this queue holds, e.g. `"Lock.acquire"` */
  constructor(label: string) {
    this._label = label;
  }

  /** Number of linked waiters, including woken ones that have not run yet. */
  get size(): number {
    return this._size;
  }

  /** Append a new waiter future made on `loop`. */
  park(loop: EventLoop, payload?: unknown): Waiter<T> {
    const w = new Waiter<T>(undefined, loop);
    w._payload = payload;
    this._link(w);
    return w;
  }

  /**
   * The contended end of an `acquire()`: park a waiter that `owner` finishes when it is awaited (see
   * `SettlingWaiter`) and return what the caller awaits: the waiter itself, or, with a signal, a wait on
   * it that the signal can abandon. A loop mismatch is a rejection, as from an async function.
   */
  waitSettling(
    this: WaiterQueue<true>,
    owner: WaitOwner & { _loop: EventLoop | null },
    signal: AbortSignal | undefined,
    what?: string,
  ): PromiseLike<true> {
    let loop: EventLoop;
    try {
      loop = bindLoop(owner, what);
    } catch (e) {
      return Promise.reject(e);
    }
    const w = new SettlingWaiter(undefined, loop);
    w._owner = owner;
    this._link(w as Waiter<true>);
    return signal === undefined ? w : waitWithSignal(w, signal);
  }

  private _link(w: Waiter<T>): void {
    w._label = this._label;
    if (this._cursor === null) this._cursor = w;
    w._queue = this;
    const tail = this._tail;
    if (tail === null) this._head = w;
    else {
      tail._next = w;
      w._prev = tail;
    }
    this._tail = w;
    this._size++;
  }

  /** Unlink `w` if it is linked here; returns whether it was. */
  remove(w: Waiter<T>): boolean {
    if (w._queue !== this) return false;
    if (this._cursor === w) this._cursor = w._next;
    const prev = w._prev;
    const next = w._next;
    if (prev === null) this._head = next;
    else prev._next = next;
    if (next === null) this._tail = prev;
    else next._prev = prev;
    w._prev = w._next = null;
    w._queue = null;
    this._size--;
    return true;
  }

  /** The oldest linked waiter, or null. */
  first(): Waiter<T> | null {
    return this._head;
  }

  /** True if some linked waiter was not cancelled (it waits, or was woken and has not run yet). */
  hasLive(): boolean {
    for (let w = this._head; w !== null; w = w._next) if (!w.cancelled()) return true;
    return false;
  }

  /** Number of linked waiters still waiting (not done). */
  pendingCount(): number {
    let n = 0;
    for (let w = this._cursor; w !== null; w = w._next) if (!w.done()) n++;
    return n;
  }

  /** Wake the head waiter if it is still pending (CPython's `Lock._wake_up_first`). */
  wakeFirst(value: T): boolean {
    const w = this._head;
    if (w === null || w.done()) return false;
    w.setResult(value);
    return true;
  }

  /** Wake the oldest pending waiter, leaving it linked; returns it, or null if none is pending. */
  wakeNext(value: T): Waiter<T> | null {
    for (let w = this._cursor; w !== null; w = w._next) {
      if (!w.done()) {
        w.setResult(value);
        this._cursor = w._next;
        return w;
      }
    }
    this._cursor = null;
    return null;
  }

  /** Wake up to `n` of the oldest pending waiters, leaving them linked; returns how many. */
  wake(n: number, value: T): number {
    let woken = 0;
    let w = this._cursor;
    for (; w !== null && woken < n; w = w._next) {
      if (!w.done()) {
        w.setResult(value);
        woken++;
      }
    }
    this._cursor = w;
    return woken;
  }

  /** Unlink waiters from the head until a pending one is found; wake and return it (CPython's Queue). */
  popNext(value: T): Waiter<T> | null {
    for (let w = this._head; w !== null; w = this._head) {
      this.remove(w);
      if (!w.done()) {
        w.setResult(value);
        return w;
      }
    }
    return null;
  }

  /** Unlink every waiter, waking the pending ones. */
  popAll(value: T): void {
    while (this.popNext(value) !== null) {
      /* keep popping */
    }
  }

  /** The linked waiters, oldest first. */
  *[Symbol.iterator](): IterableIterator<Waiter<T>> {
    for (let w = this._head; w !== null; w = w._next) yield w;
  }
}

/**
 * A promise already fulfilled with `true`: what an uncontended `acquire()` returns (marked, so that
 * `waitFor(lock.acquire(), 0)` sees the lock taken, see `core/settled.ts`). @internal
 */
export const RESOLVED_TRUE: Promise<true> = fulfilled(true as const);

/** A promise already fulfilled with `undefined` (marked likewise). @internal */
export const RESOLVED_VOID: Promise<void> = fulfilled(undefined);
