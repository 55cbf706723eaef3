/**
 * `CapacityLimiter`: Trio's capacity limiter on asyncio's loop: at most `totalTokens` borrowers at once,
 * each borrower (a task by default) holding at most one token.
 *
 * ## Approach
 * Trio's hand-off. `release()` does not free a token for anyone to grab: it unlinks the oldest waiter,
 * records its borrower as holding a token, and completes its future. Tokens therefore go to waiters in
 * FIFO order, and a newcomer can never take one while a woken waiter has not run (no barging). A waiter
 * handed a token but cancelled (or aborted) before it runs releases the token on its way out, which
 * hands it on to the next waiter: no token is lost. Raising `totalTokens` hands out the new tokens.
 *
 * Rejected alternative: building on `Semaphore`. A semaphore does not know who holds a permit, so it
 * cannot reject a borrower acquiring twice, a release by a non-holder, or list the borrowers.
 *
 * Unlike Trio, an uncontended `acquire()` does not yield (asyncio's convention, as `Lock.acquire()`).
 *
 * @module
 */
import { checkCount, currentTask, type EventLoop, RuntimeError, WouldBlock } from "../core/index.js";
import { Hold, acquireHold, runHolding } from "./hold.js";
import { RESOLVED_VOID, WaiterQueue } from "./wait-queue.js";
import { abortReason, readSignal, waitOn, type AbortOptions } from "./abort-signal.js";
import { bindLoop } from "./loop-binding.js";

/**
 * What `CapacityLimiter.statistics()` reports (Trio's fields, in camelCase).
 * @example `const { borrowers, tasksWaiting } = limiter.statistics();`
 */
export interface CapacityLimiterStatistics {
  /** Tokens held. */
  borrowedTokens: number;
  /** The capacity (may be below `borrowedTokens` just after it was lowered). */
  totalTokens: number;
  /** Who holds the tokens (tasks, or the objects given to `acquireOnBehalfOf`). */
  borrowers: unknown[];
  /** Waiters in `acquire()`. */
  tasksWaiting: number;
}

/**
 * Limit how many tasks do something at once (Trio's `CapacityLimiter`). Each borrower holds at most one
 * token: acquiring twice throws, and only a holder can release.
 *
 * @example
 * ```ts
 * import { run, createTask, gather, sleep, CapacityLimiter } from "asyncio-ts";
 * await run(async () => {
 *   const limiter = new CapacityLimiter(2);
 *   const job = (n: number) => limiter.withPermit(async () => {
 *     console.log(n, limiter.statistics().borrowedTokens);
 *     await sleep(10);
 *   });
 *   await gather(...[1, 2, 3].map((n) => createTask(() => job(n))));
 *   // 1 1, then 2 2, then (at 10 ms, after both released) 3 1
 * }, { virtualTime: true });
 * ```
 */
export class CapacityLimiter {
  /** @internal holders; invariant: size <= _total unless `totalTokens` was lowered since */
  readonly _borrowers = new Set<unknown>();
  /** @internal waiters (payload: borrower); one is unlinked when it is handed a token */
  readonly _waiters = new WaiterQueue<true>(`${this.constructor.name}.acquire`);
  /** @internal capacity; an integer >= 1 or Infinity */
  _total = 1;
  /** @internal the loop waiters are made on; bound on first wait */
  _loop: EventLoop | null = null;

  /** @param totalTokens the capacity: a positive integer or `Infinity` */
  constructor(totalTokens: number) {
    this.totalTokens = totalTokens;
  }

  /**
   * The capacity. Raising it hands the new tokens to waiters; lowering it lets holders finish.
   * @example `limiter.totalTokens = 10; // two more waiters get a token at once, if 8 were held`
   */
  get totalTokens(): number {
    return this._total;
  }

  set totalTokens(value: number) {
    this._total = checkCount(value, "totalTokens", { min: 1, infinity: true });
    this._handOut();
  }

  /**
   * Tokens held now.
   * @example `console.log(limiter.borrowedTokens);`
   */
  get borrowedTokens(): number {
    return this._borrowers.size;
  }

  /**
   * Tokens free now (`totalTokens - borrowedTokens`; negative just after lowering the capacity).
   * @example `if (limiter.availableTokens > 0) limiter.acquireNowait();`
   */
  get availableTokens(): number {
    return this._total - this._borrowers.size;
  }

  /**
   * Take a token for the current task without waiting; throws `WouldBlock` if none is free.
   * @example `limiter.acquireNowait();`
   */
  acquireNowait(): void {
    this.acquireOnBehalfOfNowait(this._currentBorrower("acquireNowait"));
  }

  /**
   * Take a token for `borrower` without waiting; throws `WouldBlock` if none is free, `RuntimeError` if
   * `borrower` already holds one.
   * @example `limiter.acquireOnBehalfOfNowait(job);`
   */
  acquireOnBehalfOfNowait(borrower: unknown): void {
    this._checkNotHolding(borrower);
    if (!this._canTake()) throw new WouldBlock("no CapacityLimiter token is available");
    this._borrowers.add(borrower);
  }

  /**
   * Take a token for the current task, waiting in line if none is free.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`)
   * @example `await limiter.acquire(); try { ... } finally { limiter.release(); }`
   */
  acquire(options?: AbortOptions): Promise<void> {
    let borrower: unknown;
    try {
      borrower = this._currentBorrower("acquire");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.acquireOnBehalfOf(borrower, options);
  }

  /**
   * Take a token for `borrower` (any object: a job, a worker), waiting in line if none is free.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`)
   * @example `await limiter.acquireOnBehalfOf(job); ... limiter.releaseOnBehalfOf(job);`
   */
  acquireOnBehalfOf(borrower: unknown, options?: AbortOptions): Promise<void> {
    if (options === undefined && !this._borrowers.has(borrower) && this._canTake()) {
      this._borrowers.add(borrower);
      return RESOLVED_VOID;
    }
    return this._acquire(borrower, options);
  }

  /** @internal */
  async _acquire(borrower: unknown, options: AbortOptions | undefined): Promise<void> {
    const signal = readSignal(options);
    this._checkNotHolding(borrower);
    if (this._canTake()) {
      this._borrowers.add(borrower);
      return;
    }
    const w = this._waiters.park(bindLoop(this, "CapacityLimiter"), borrower);
    try {
      await waitOn(w, signal);
    } catch (e) {
      this._waiters.remove(w);
      // Handed a token, but cancelled before running: hand it on.
      if (w.done() && !w.cancelled()) this.releaseOnBehalfOf(borrower);
      throw abortReason(w, e);
    }
  }

  /**
   * Return the current task's token.
   * @example `limiter.release();`
   */
  release(): void {
    this.releaseOnBehalfOf(this._currentBorrower("release"));
  }

  /**
   * Return `borrower`'s token (`RuntimeError` if it holds none); the oldest waiter gets it.
   * @example `limiter.releaseOnBehalfOf(job);`
   */
  releaseOnBehalfOf(borrower: unknown): void {
    if (!this._borrowers.delete(borrower)) {
      throw new RuntimeError("this borrower isn't holding any of this CapacityLimiter's tokens");
    }
    this._handOut();
  }

  /**
   * Take a token and return a `Hold` that returns it when its `using` scope ends. Outside a task, the
   * borrower is a fresh object, so any code can use it.
   * @example `{ await using _token = await limiter.hold(); await download(); }`
   */
  async hold(options?: AbortOptions): Promise<Hold> {
    const borrower = currentTask() ?? {};
    return acquireHold(() => this.acquireOnBehalfOf(borrower, options), () => this.releaseOnBehalfOf(borrower));
  }

  /**
   * Run `fn` holding a token (Trio's `async with limiter:`). Outside a task, the borrower is a fresh
   * object.
   * @example `await limiter.withPermit(() => download(url));`
   */
  async withPermit<R>(fn: () => R | PromiseLike<R>, options?: AbortOptions): Promise<R> {
    const borrower = currentTask() ?? {};
    return runHolding(fn, () => this.acquireOnBehalfOf(borrower, options), () => this.releaseOnBehalfOf(borrower));
  }

  /**
   * For debugging: tokens, borrowers, waiters.
   * @example `console.log(limiter.statistics()); // { borrowedTokens: 2, totalTokens: 2, borrowers: [...], tasksWaiting: 1 }`
   */
  statistics(): CapacityLimiterStatistics {
    return {
      borrowedTokens: this._borrowers.size,
      totalTokens: this._total,
      borrowers: [...this._borrowers],
      tasksWaiting: this._waiters.pendingCount(),
    };
  }

  /** @internal a token is free and nobody live is in line */
  _canTake(): boolean {
    return this._borrowers.size < this._total && (this._waiters._size === 0 || !this._waiters.hasLive());
  }

  /** @internal hand free tokens to the oldest waiters */
  _handOut(): void {
    while (this._borrowers.size < this._total && this._waiters._size > 0) {
      const w = this._waiters.popNext(true);
      if (w === null) break;
      this._borrowers.add(w._payload);
    }
  }

  /** @internal */
  _checkNotHolding(borrower: unknown): void {
    if (this._borrowers.has(borrower)) {
      throw new RuntimeError("this borrower is already holding one of this CapacityLimiter's tokens");
    }
  }

  /** @internal */
  _currentBorrower(method: string): unknown {
    const t = currentTask();
    if (t === null) {
      throw new RuntimeError(
        `CapacityLimiter.${method}() outside a task has no borrower: use ${method === "release" ? "releaseOnBehalfOf" : `${method.replace("acquire", "acquireOnBehalfOf")}`}(borrower), hold() or withPermit()`,
      );
    }
    return t;
  }

  /** @internal */
  toString(): string {
    return `<CapacityLimiter ${this._borrowers.size}/${this._total} with ${this._waiters._size} waiting>`;
  }
}
