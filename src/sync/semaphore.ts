/**
 * `Semaphore` and `BoundedSemaphore`: CPython's, fair and cancellation safe.
 *
 * ## Approach
 * CPython 3.12+'s code shape. `_value` counts free permits *not yet promised*: `release()` increments
 * it and, if someone waits, immediately promises a permit to the oldest pending waiter (decrementing it
 * again and completing that waiter's future). A woken waiter stays linked until it runs, so `locked()`
 * (value 0, or any live waiter in line) keeps newcomers behind it: FIFO, no barging. A waiter that was
 * promised a permit but is cancelled before it runs gives the permit back (`_value++`). Every waiter
 * leaving `acquire()`, successful or not, then wakes as many further waiters as free permits allow, so a
 * permit given back is passed on and none is lost.
 *
 * Rejected alternative: re-checking `_value` when the woken waiter runs (pre-3.12 CPython). Between
 * the wake-up and the run, a newcomer could take the permit (barging) and the woken waiter would queue
 * again at the back.
 *
 * @module
 */
import type { EventLoop } from "../core/index.js";
import { Hold, acquireHold, runHolding } from "./hold.js";
import { RESOLVED_TRUE, WaiterQueue, type SettlingWaiter } from "./wait-queue.js";
import { abortReason, signalOrRejection, type AbortOptions } from "./abort-signal.js";
import { checkCount } from "../core/index.js";

/**
 * What `Semaphore.statistics()` reports.
 * @example `const { value, waiters } = sem.statistics();`
 */
export interface SemaphoreStatistics {
  /** Free permits not promised to a woken waiter. */
  value: number;
  /** Waiters in `acquire()`, including woken ones that have not run yet. */
  waiters: number;
  /** `BoundedSemaphore` only: the initial value (the bound) */
  bound?: number;
  /** `BoundedSemaphore` only: permits held or promised (`bound - value`) */
  held?: number;
}

/**
 * A semaphore (CPython's `asyncio.Semaphore`): `value` permits; `acquire()` waits while none is free.
 * Waiters get permits in FIFO order.
 *
 * @example
 * ```ts
 * import { run, createTask, gather, sleep, Semaphore } from "asyncio-ts";
 * await run(async () => {
 *   const sem = new Semaphore(2);
 *   let running = 0, peak = 0;
 *   const job = () => sem.withPermit(async () => {
 *     peak = Math.max(peak, ++running);
 *     await sleep(10);
 *     running--;
 *   });
 *   await gather(...[1, 2, 3, 4, 5].map(() => createTask(job)));
 *   console.log(peak); // 2
 * }, { virtualTime: true });
 * ```
 */
export class Semaphore {
  /** @internal free permits not promised to a woken waiter; >= 0 */
  _value: number;
  /** @internal tasks in `acquire()`; a woken waiter (promised a permit) stays linked until it runs */
  readonly _waiters = new WaiterQueue<true>(`${this.constructor.name}.acquire`);
  /** @internal the loop waiters are made on; bound on first wait */
  _loop: EventLoop | null = null;

  /** @param value the initial number of permits, a non-negative integer (default 1) */
  constructor(value = 1) {
    this._value = checkCount(value, "value");
  }

  /**
   * True if `acquire()` would wait: no free permit, or others are in line (FIFO).
   * @example `if (!sem.locked()) await sem.acquire();`
   */
  locked(): boolean {
    return this._value === 0 || (this._waiters._size > 0 && this._waiters.hasLive());
  }

  /**
   * Take a permit, waiting in line if none is free; resolves to `true`.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`)
   * @example `await sem.acquire(); try { ... } finally { sem.release(); }`
   */
  acquire(options?: AbortOptions): PromiseLike<true> {
    const signal = signalOrRejection(options);
    if (signal instanceof Promise) return signal;
    if (!this.locked()) {
      this._value--;
      return RESOLVED_TRUE;
    }
    return this._waiters.waitSettling(this, signal);
  }

  /**
   * @internal the end of a contended `acquire()`, when the waiting code resumes: CPython's `finally` and
   * `except` blocks after `await fut`
   */
  _afterWait(w: SettlingWaiter, ok: boolean, value: unknown): unknown {
    this._waiters.remove(w);
    let out: unknown = true;
    if (!ok) {
      // Promised a permit by release(), but cancelled before running: give it back.
      if (w.done() && !w.cancelled()) this._value++;
      out = abortReason(w, value);
    }
    // Newcomers may have queued behind us while permits were free (FIFO): wake as many as allowed.
    while (this._value > 0 && this._wakeNext()) {
      /* keep waking */
    }
    return out;
  }

  /**
   * Return a permit; the oldest waiter, if any, is promised it.
   * @example `sem.release();`
   */
  release(): void {
    this._value++;
    this._wakeNext();
  }

  /** @internal promise a permit to the oldest pending waiter */
  _wakeNext(): boolean {
    if (this._waiters._size === 0) return false;
    const w = this._waiters.wakeNext(true);
    if (w === null) return false;
    this._value--;
    return true;
  }

  /**
   * Take a permit and return a `Hold` that returns it when its `using` scope ends.
   * @example `{ await using _permit = await sem.hold(); await work(); }`
   */
  async hold(options?: AbortOptions): Promise<Hold> {
    return acquireHold(() => this.acquire(options), () => this.release());
  }

  /**
   * Run `fn` holding a permit (Python's `async with sem:`).
   * @example `const body = await sem.withPermit(() => fetchPage(url));`
   */
  async withPermit<R>(fn: () => R | PromiseLike<R>, options?: AbortOptions): Promise<R> {
    return runHolding(fn, () => this.acquire(options), () => this.release());
  }

  /**
   * For debugging: free permits and waiters.
   * @example `console.log(sem.statistics()); // { value: 0, waiters: 3 }`
   */
  statistics(): SemaphoreStatistics {
    return { value: this._value, waiters: this._waiters._size };
  }

  /** @internal */
  toString(): string {
    const extra = this.locked() ? "locked" : `unlocked, value:${this._value}`;
    const name = this.constructor.name;
    return `<${name} [${this._waiters._size > 0 ? `${extra}, waiters:${this._waiters._size}` : extra}]>`;
  }
}

/**
 * A semaphore whose `release()` throws `RangeError` if it would raise the value above the initial one
 * (CPython's `asyncio.BoundedSemaphore`; Python raises `ValueError`).
 *
 * @example
 * ```ts
 * import { BoundedSemaphore } from "asyncio-ts";
 * const sem = new BoundedSemaphore(1);
 * try { sem.release(); } catch (e) { console.log((e as Error).message); } // "BoundedSemaphore released too many times"
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /** @internal the initial value; invariant `_value <= _bound` */
  readonly _bound: number;

  /** @param value the initial and maximal number of permits (default 1) */
  constructor(value = 1) {
    super(value);
    this._bound = this._value;
  }

  /**
   * Return a permit; throws `RangeError` if that would exceed the initial value.
   * @example `sem.release();`
   */
  override release(): void {
    if (this._value >= this._bound) throw new RangeError("BoundedSemaphore released too many times");
    super.release();
  }

  /**
   * For debugging: free permits, waiters, the bound and the permits held.
   * @example `console.log(sem.statistics()); // { value: 1, waiters: 0, bound: 3, held: 2 }`
   */
  override statistics(): SemaphoreStatistics {
    return { value: this._value, waiters: this._waiters._size, bound: this._bound, held: this._bound - this._value };
  }
}
