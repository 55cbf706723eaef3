/**
 * The one fair waiter queue that every primitive and queue parks its waiters on (in the spirit of Trio's
 * parking lot), plus the small helpers they share: loop binding and `AbortSignal` plumbing.
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
 * ## AbortSignal
 * Every wait takes `{ signal }`. An already aborted signal rejects at once with `signal.reason`
 * (`signal.throwIfAborted()`, as `fetch` does). A signal that aborts during the wait cancels the waiter
 * future, so the primitive runs exactly its cancellation path (passing a wake-up on, giving a permit
 * back); the wait then rejects with `signal.reason` rather than `CancelledError`. This is the same inside
 * and outside tasks: the task is not marked as cancelled (`cancelling()` stays 0), and outside code gets
 * the error it expects from an `AbortSignal`. An abort that comes after the waiter was woken is too late
 * and is ignored: the wait succeeds, as a late cancellation does in CPython.
 *
 * @module
 */
import { RuntimeError, describe } from "../errors.js";
import type { EventLoop } from "../loop/event-loop.js";
import { getEventLoop, loopRegistry, runningLoopOrNull } from "../loop/running.js";
import { Future } from "../task/future.js";
import { Chain } from "../task/chain.js";
import { fulfilled } from "../task/settled.js";

/**
 * Options of every wait (`acquire`, `wait`, `get`, `put`, `join`...).
 * @example `await lock.acquire({ signal: AbortSignal.timeout(500) });`
 */
export interface AbortOptions {
  /** Abandon the wait when this signal aborts: the wait rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

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
 * The loop a primitive's waiters are made on (CPython's `_LoopBoundMixin._get_loop`): the running loop,
 * bound on first use. Outside tasks and callbacks (code resumed by a plain promise): the bound loop, else
 * the only running loop, else `getEventLoop()`.
 * @internal
 */
export function bindLoop(owner: { _loop: EventLoop | null }, what?: string): EventLoop {
  const running = runningLoopOrNull();
  const bound = owner._loop;
  if (bound === null || bound.isClosed()) {
    owner._loop = running ?? soleRunningLoop() ?? getEventLoop();
    return owner._loop;
  }
  if (running !== null && running !== bound) {
    // (the class name is looked up only here: `constructor.name` is not free on a hot path)
    throw new RuntimeError(`${what ?? owner.constructor.name} is bound to a different event loop`);
  }
  return bound;
}

/**
 * The loop that is running, if exactly one is. Code resumed by a plain promise (outside any task or
 * callback) does not know its loop; while one loop runs, that is the one it means.
 */
function soleRunningLoop(): EventLoop | null {
  if (loopRegistry.running.size !== 1) return null;
  for (const loop of loopRegistry.running) return loop;
  return null;
}

/**
 * The signal of an options object, validated; throws `signal.reason` if it has already aborted.
 * @internal
 */
export function readSignal(options: AbortOptions | undefined): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
  }
  const signal = options.signal;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected options.signal to be an AbortSignal, got ${describe(signal)}`);
  }
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
 * Await `w`, cancelling it if `signal` aborts first. The caller runs its cancellation path on the
 * resulting `CancelledError` and then throws `abortReason(w, err)`.
 * @internal
 */
export async function waitWithSignal<T>(w: Waiter<T>, signal: AbortSignal): Promise<T> {
  const onAbort = (): void => {
    if (w.cancel()) w._abortedBy = signal;
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await w;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** Await a waiter, with or without a signal. @internal */
export function waitOn<T>(w: Waiter<T>, signal: AbortSignal | undefined): PromiseLike<T> {
  return signal === undefined ? w : waitWithSignal(w, signal);
}

/** What a wait that failed with `err` should throw: the signal's reason if the signal ended it. @internal */
export function abortReason(w: Waiter<unknown>, err: unknown): unknown {
  return w._abortedBy !== null ? w._abortedBy.reason : err;
}

/**
 * Check a count argument: a non-negative integer (TypeError if not a number, RangeError otherwise).
 * @internal
 */
export function checkCount(name: string, value: unknown, { min = 0, infinity = false } = {}): number {
  if (typeof value !== "number") {
    throw new TypeError(`Expected ${name} to be ${countWords(min, infinity)}, got ${describe(value)}`);
  }
  if (!(Number.isInteger(value) || (infinity && value === Infinity)) || value < min) {
    throw new RangeError(`Expected ${name} to be ${countWords(min, infinity)}, got ${describe(value)}`);
  }
  return value;
}

function countWords(min: number, infinity: boolean): string {
  const base = min === 0 ? "a non-negative integer" : min === 1 ? "a positive integer" : `an integer >= ${min}`;
  return infinity ? `${base} or Infinity` : base;
}

/**
 * A promise already fulfilled with `true`: what an uncontended `acquire()` returns (marked, so that
 * `waitFor(lock.acquire(), 0)` sees the lock taken, see `task/settled.ts`). @internal
 */
export const RESOLVED_TRUE: Promise<true> = fulfilled(true as const);

/** A promise already fulfilled with `undefined` (marked likewise). @internal */
export const RESOLVED_VOID: Promise<void> = fulfilled(undefined);

/** Check a callback argument. @internal */
export function checkFn(name: string, fn: unknown): void {
  if (typeof fn !== "function") throw new TypeError(`Expected ${name} to be a function, got ${describe(fn)}`);
}
