/**
 * `Lock`: CPython's `asyncio.Lock`, fair and cancellation safe.
 *
 * ## Approach
 * CPython's code shape on our `WaiterQueue`. `release()` wakes only the head waiter and leaves it linked;
 * the waiter unlinks itself when it runs. While a woken waiter is linked, `acquire()` by anyone else
 * queues behind it (no barging: a task that releases and re-acquires at once goes to the back). A woken
 * waiter that is cancelled before it runs never takes the lock; its cancellation path wakes the new head,
 * so the wake-up is passed on, never lost. A cancelled head that has not yet unlinked itself keeps
 * `release()` from waking anyone else; its own cancellation path does it (CPython's behaviour, ported).
 *
 * Rejected alternative: handing the lock straight to the woken waiter (`_locked` stays true through the
 * hand-off). It is fair too, but a cancelled receiver must then release on its way out, and the order in
 * which a woken-then-cancelled waiter's successor runs differs from CPython's by one iteration.
 *
 * @module
 */
import { type EventLoop, RuntimeError } from "../core/index.js";
import { Hold, acquireHold, runHolding } from "./hold.js";
import { RESOLVED_TRUE, WaiterQueue, type SettlingWaiter } from "./wait-queue.js";
import { abortReason, signalOrRejection, type AbortOptions } from "./abort-signal.js";

/**
 * What `Lock.statistics()` reports.
 * @example `const { locked, waiters } = lock.statistics();`
 */
export interface LockStatistics {
  /** Whether the lock is held. */
  locked: boolean;
  /** Waiters in `acquire()`, including a woken one that has not run yet. */
  waiters: number;
}

/**
 * A mutual-exclusion lock for tasks (CPython's `asyncio.Lock`). Not owned: any code may release it.
 * Waiters acquire in FIFO order; a releasing task that re-acquires at once queues behind them.
 *
 * @example
 * ```ts
 * import { run, createTask, gather, sleep, Lock } from "asyncio-ts";
 * await run(async () => {
 *   const lock = new Lock();
 *   const order: string[] = [];
 *   const worker = (name: string) => async () => {
 *     for (let i = 0; i < 2; i++) {
 *       await lock.withLock(async () => { order.push(name); await sleep(1); });
 *     }
 *   };
 *   await gather(createTask(worker("A")), createTask(worker("B")));
 *   console.log(order.join("")); // "ABAB"
 * }, { virtualTime: true });
 * ```
 */
export class Lock {
  /** @internal true from a successful acquire until the matching release */
  _locked = false;
  /** @internal tasks in `acquire()`; a woken waiter stays linked until it runs and unlinks itself */
  readonly _waiters = new WaiterQueue<true>(`${this.constructor.name}.acquire`);
  /** @internal the loop waiters are made on; bound on first wait */
  _loop: EventLoop | null = null;

  /**
   * True if the lock is held.
   * @example `if (!lock.locked()) await lock.acquire();`
   */
  locked(): boolean {
    return this._locked;
  }

  /**
   * Wait until the lock is free, then take it; resolves to `true`. Does not yield when the lock is free
   * and nobody waits.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`)
   * @example `await lock.acquire(); try { ... } finally { lock.release(); }`
   */
  acquire(options?: AbortOptions): PromiseLike<true> {
    const signal = signalOrRejection(options);
    if (signal instanceof Promise) return signal;
    // Fair: take the lock only if nobody (not even a woken waiter that has not run yet) is in line.
    if (!this._locked && (this._waiters._size === 0 || !this._waiters.hasLive())) {
      this._locked = true;
      return RESOLVED_TRUE;
    }
    return this._waiters.waitSettling(this, signal, "Lock");
  }

  /**
   * @internal the end of a contended `acquire()`, when the waiting code resumes: CPython's `finally` and
   * `except` blocks after `await fut`
   */
  _afterWait(w: SettlingWaiter, ok: boolean, value: unknown): unknown {
    this._waiters.remove(w);
    if (!ok) {
      // Cancelled (or aborted), possibly after release() woke us: the lock is free and someone else
      // must get the wake-up we may have consumed.
      if (!this._locked) this._waiters.wakeFirst(true);
      return abortReason(w, value);
    }
    this._locked = true;
    return true;
  }

  /**
   * Release the lock and wake the oldest waiter. Throws `RuntimeError` if the lock is not held.
   * @example `lock.release();`
   */
  release(): void {
    if (!this._locked) throw new RuntimeError("Lock is not acquired.");
    this._locked = false;
    this._waiters.wakeFirst(true);
  }

  /**
   * Acquire, and return a `Hold` that releases the lock when its `using` scope ends.
   * @example
   * ```ts
   * import { run, Lock } from "asyncio-ts";
   * await run(async () => {
   *   const lock = new Lock();
   *   await using _held = await lock.hold();
   *   console.log(lock.locked()); // true
   * });
   * ```
   */
  async hold(options?: AbortOptions): Promise<Hold> {
    return acquireHold(() => this.acquire(options), () => this.release());
  }

  /**
   * Run `fn` holding the lock (Python's `async with lock:`); the lock is released however `fn` ends.
   * @example
   * ```ts
   * import { run, Lock } from "asyncio-ts";
   * await run(async () => {
   *   const lock = new Lock();
   *   console.log(await lock.withLock(async () => lock.locked())); // true
   * });
   * ```
   */
  async withLock<R>(fn: () => R | PromiseLike<R>, options?: AbortOptions): Promise<R> {
    return runHolding(fn, () => this.acquire(options), () => this.release());
  }

  /**
   * For debugging: whether the lock is held and how many wait.
   * @example `console.log(lock.statistics()); // { locked: true, waiters: 2 }`
   */
  statistics(): LockStatistics {
    return { locked: this._locked, waiters: this._waiters._size };
  }

  /** @internal */
  toString(): string {
    const extra = this._locked ? "locked" : "unlocked";
    return `<Lock [${this._waiters._size > 0 ? `${extra}, waiters:${this._waiters._size}` : extra}]>`;
  }
}
