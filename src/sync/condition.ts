/**
 * `Condition`: CPython's `asyncio.Condition`, a condition variable over a `Lock`.
 *
 * ## Approach
 * CPython's code shape. `wait()` parks a waiter on the condition's own `WaiterQueue`, releases the lock,
 * and after the wake-up (or a cancellation) re-acquires the lock before returning or throwing, retrying
 * the re-acquire through further cancellations so the caller always holds the lock again. If anything
 * is thrown out of `wait()`, it notifies one other waiter, because the failing waiter may already have
 * consumed a `notify()`: a spurious wake-up is allowed by the condition-variable contract, a lost one is
 * not. `notify(n)` completes the `n` oldest pending waiters; they stay linked until they run.
 *
 * Rejected alternative: moving notified waiters straight onto the lock's queue (Trio's `repark`). It
 * saves a wake-up, but changes the order in which notified waiters and other lock waiters get the lock
 * compared with CPython.
 *
 * @module
 */
import { CancelledError, checkCount, checkFn, describe, type EventLoop, RuntimeError } from "../core/index.js";
import { Hold, acquireHold, runHolding } from "./hold.js";
import { Lock } from "./lock.js";
import { WaiterQueue } from "./wait-queue.js";
import { abortReason, readSignal, waitOn, type AbortOptions } from "./abort-signal.js";
import { bindLoop } from "./loop-binding.js";

/**
 * What `Condition.statistics()` reports.
 * @example `const { waiters, lockWaiters } = cond.statistics();`
 */
export interface ConditionStatistics {
  /** Whether the underlying lock is held. */
  locked: boolean;
  /** Tasks in `wait()` not yet notified. */
  waiters: number;
  /** Tasks waiting for the underlying lock (including notified ones re-acquiring it). */
  lockWaiters: number;
}

/**
 * A condition variable (CPython's `asyncio.Condition`): tasks wait, holding the lock, until notified.
 *
 * @example
 * ```ts
 * import { run, createTask, Condition } from "asyncio-ts";
 * await run(async () => {
 *   const cond = new Condition();
 *   const items: number[] = [];
 *   const consumer = createTask(() =>
 *     cond.withLock(async () => {
 *       await cond.waitFor(() => items.length > 0);
 *       return items.shift();
 *     }),
 *   );
 *   await cond.withLock(() => {
 *     items.push(42);
 *     cond.notify();
 *   });
 *   console.log(await consumer); // 42
 * }, { virtualTime: true });
 * ```
 */
export class Condition {
  /** @internal the lock that wait() releases and re-acquires */
  readonly _lock: Lock;
  /** @internal tasks in wait(); notified ones stay linked until they run */
  readonly _waiters = new WaiterQueue<boolean>("Condition.wait");
  /** @internal the loop waiters are made on; bound on first wait */
  _loop: EventLoop | null = null;

  /** @param lock the lock to use; a new `Lock` by default */
  constructor(lock?: Lock) {
    if (lock === undefined) lock = new Lock();
    else if (!(lock instanceof Lock)) throw new TypeError(`Expected lock to be a Lock, got ${describe(lock)}`);
    this._lock = lock;
  }

  /**
   * True if the underlying lock is held.
   * @example `cond.locked()`
   */
  locked(): boolean {
    return this._lock._locked;
  }

  /**
   * Acquire the underlying lock.
   * @example `await cond.acquire(); try { cond.notifyAll(); } finally { cond.release(); }`
   */
  acquire(options?: AbortOptions): PromiseLike<true> {
    return this._lock.acquire(options);
  }

  /**
   * Release the underlying lock.
   * @example `cond.release();`
   */
  release(): void {
    this._lock.release();
  }

  /**
   * Acquire the lock and return a `Hold` that releases it when its `using` scope ends.
   * @example `{ await using _held = await cond.hold(); cond.notify(); }`
   */
  async hold(options?: AbortOptions): Promise<Hold> {
    return acquireHold(() => this._lock.acquire(options), () => this._lock.release());
  }

  /**
   * Run `fn` holding the lock (Python's `async with cond:`).
   * @example `await cond.withLock(() => cond.notifyAll());`
   */
  async withLock<R>(fn: () => R | PromiseLike<R>, options?: AbortOptions): Promise<R> {
    return runHolding(fn, () => this._lock.acquire(options), () => this._lock.release());
  }

  /**
   * Release the lock, wait until notified, re-acquire the lock; resolves to `true`. The lock must be
   * held (else `RuntimeError`). The lock is held again when `wait()` returns or throws, even when it
   * was cancelled or aborted. May wake spuriously: re-check your condition (or use `waitFor`).
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`, lock held)
   * @example `while (!ready) await cond.wait();`
   */
  async wait(options?: AbortOptions): Promise<true> {
    const signal = readSignal(options);
    if (!this.locked()) throw new RuntimeError("cannot wait on un-acquired lock");
    const w = this._waiters.park(bindLoop(this, "Condition"));
    this._lock.release();
    let failed = false;
    let error: unknown;
    try {
      await waitOn(w, signal);
    } catch (e) {
      failed = true;
      error = e;
    }
    this._waiters.remove(w);
    // Re-acquire the lock even if the wait was cancelled; a cancellation during the re-acquire is
    // remembered (it replaces the wait's outcome, as in CPython) and thrown once the lock is held.
    for (;;) {
      try {
        await this._lock.acquire();
        break;
      } catch (e) {
        failed = true;
        error = e;
        if (!(e instanceof CancelledError)) break;
      }
    }
    if (failed) {
      // We may have consumed a notify(): pass it on (a spurious wake-up is allowed, a lost one is not).
      this._notify(1);
      throw abortReason(w, error);
    }
    return true;
  }

  /**
   * Wait until `predicate()` is truthy; resolves to its last value. The lock must be held.
   * @example `const item = await cond.waitFor(() => queue.shift());`
   */
  async waitFor<R>(predicate: () => R, options?: AbortOptions): Promise<R> {
    checkFn(predicate, "predicate");
    let result = predicate();
    while (!result) {
      await this.wait(options);
      result = predicate();
    }
    return result;
  }

  /**
   * Wake up to `n` (default 1) of the oldest waiters. The lock must be held (else `RuntimeError`); the
   * woken tasks run once they re-acquire it.
   * @example `cond.notify(2); // the two oldest waiters`
   */
  notify(n = 1): void {
    checkCount(n, "n", { infinity: true });
    if (!this.locked()) throw new RuntimeError("cannot notify on un-acquired lock");
    this._notify(n);
  }

  /**
   * Wake every waiter. The lock must be held (else `RuntimeError`).
   * @example `cond.notifyAll();`
   */
  notifyAll(): void {
    if (!this.locked()) throw new RuntimeError("cannot notify on un-acquired lock");
    this._notify(Infinity);
  }

  /** @internal */
  _notify(n: number): void {
    this._waiters.wake(n, false);
  }

  /**
   * For debugging: the lock's state, waiters on the condition and on the lock.
   * @example `console.log(cond.statistics()); // { locked: false, waiters: 2, lockWaiters: 0 }`
   */
  statistics(): ConditionStatistics {
    return { locked: this.locked(), waiters: this._waiters.pendingCount(), lockWaiters: this._lock._waiters._size };
  }

  /** @internal */
  toString(): string {
    const extra = this.locked() ? "locked" : "unlocked";
    return `<Condition [${this._waiters._size > 0 ? `${extra}, waiters:${this._waiters._size}` : extra}]>`;
  }
}
