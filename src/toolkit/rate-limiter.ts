/**
 * `RateLimiter`: at most so much weight per unit of time, as a token bucket (`{ rate, perMs, burst }`)
 * or a sliding window (`{ limit, windowMs }`), fair (FIFO), cancellation safe, on the loop's clock.
 *
 * ## Approach
 * The accounting is a policy (`rate-policies.ts`: GCRA for the bucket, a log for the window) that
 * answers "when may this weight be granted?" from the loop's time. Waiters park on the project's
 * `WaiterQueue` (`sync/wait-queue.ts`) in arrival order, with their weight. Only the head of the queue
 * is ever considered: the limiter arms **one** loop timer (`loop._at`) for the moment the head may be
 * granted, and when it fires grants the head, and every next head the limit then allows, at that
 * moment. So a heavy waiter at the head is never overtaken by lighter ones behind it (nor by
 * `tryAcquire` or a newcomer's `acquire`, which succeed at once only when nobody live waits), and on
 * virtual time the grant times are exact: five per 1000 ms with burst 5 grants the sixth at 200 ms.
 *
 * Grants are handed off (Trio's and `CapacityLimiter`'s shape): the timer records the grant and
 * completes the waiter's future, unlinking it. A waiter cancelled before its grant consumed nothing and
 * just leaves; the timer is re-armed for the next head, which is then granted exactly when the limit
 * allows without the cancelled one (at once, if that moment has passed). A waiter granted but cancelled
 * before its task resumed (a `timeout` expiring in the same iteration) gives the grant back: the policy
 * refunds it as if it had never been made, and the next waiters are granted from that. A grant whose
 * waiter resumed is spent: a rate limit counts starts, and there is nothing to release.
 *
 * Cancellation reaches the one wait there is (the waiter future): a task's `cancel()`, `timeout()`, a
 * `CancelScope`, a `TaskGroup` failing, and `{ signal }` (which rejects with `signal.reason`).
 *
 * Rejected alternatives:
 * - Polling with `sleep` (each waiter sleeps for its own estimate and retries, p-throttle's and most
 *   limiters' shape): one timer per waiter instead of one per limiter, waiters that wake only to find
 *   that someone else took the tokens (no FIFO, heavy waiters starve behind a stream of light ones),
 *   and a cancelled waiter's place is not given back until the others' guesses expire.
 * - One timer per waiter, computed at arrival from the weights ahead (a reservation schedule, as in
 *   Guava's `RateLimiter`): exact while nobody leaves, but a cancellation would have to recompute
 *   and re-arm every timer behind it; the single head timer does that by construction.
 * - Consuming at resumption rather than at the grant (CPython's `Queue` shape: wake, then re-check):
 *   the grant time would be the resumption's, a loop iteration later on the real clock, and other
 *   waiters' times would depend on when the woken tasks run.
 *
 * Names: p-throttle's `limit`/`interval` (here `limit`/`windowMs`, since its window is not sliding
 * unless `strict`), Guava's `acquire`/`tryAcquire`, Effect's `withLimiter` (here `withLimit`).
 *
 * @module
 */
import { checkCount, checkFn, checkMs, checkOptions, describe, type EventLoop, type TimerHandle } from "../core/index.js";
import { abortReason, readSignal, waitOn, type AbortOptions } from "../sync/abort-signal.js";
import { bindLoop } from "../sync/loop-binding.js";
import { RESOLVED_VOID, type Waiter, WaiterQueue } from "../sync/wait-queue.js";
import { SlidingWindow, TokenBucket, type Grant, type RateAlgorithm, type RatePolicy } from "./rate-policies.js";

export type { RateAlgorithm } from "./rate-policies.js";

/**
 * A token bucket: `rate` tokens come back every `perMs` milliseconds, up to `burst` (default `rate`);
 * the bucket starts full. An acquisition of weight `w` takes `w` tokens.
 * @example `new RateLimiter({ rate: 10, perMs: 1000, burst: 20 }) // 10/s on average, bursts of 20`
 */
export interface TokenBucketOptions {
  /** Tokens added per `perMs`: a positive integer. */
  rate: number;
  /** The period of `rate`, in ms: a positive finite number. */
  perMs: number;
  /** The bucket's capacity (the largest burst, and the largest weight): a positive integer; default `rate`. */
  burst?: number;
}

/**
 * A sliding window: in every interval of `windowMs` milliseconds, at most `limit` weight is granted.
 * @example `new RateLimiter({ limit: 100, windowMs: 60_000 }) // 100 per rolling minute`
 */
export interface SlidingWindowOptions {
  /** The weight allowed per window (and the largest weight): a positive integer. */
  limit: number;
  /** The window's length in ms: a positive finite number. */
  windowMs: number;
}

/**
 * The options of `new RateLimiter()`: a token bucket or a sliding window.
 * @example `const opts: RateLimiterOptions = { limit: 5, windowMs: 1000 };`
 */
export type RateLimiterOptions = TokenBucketOptions | SlidingWindowOptions;

/**
 * Options of `withLimit`.
 * @example `await limiter.withLimit(() => fetch(url), { weight: 2, signal });`
 */
export interface WithLimitOptions extends AbortOptions {
  /** The weight of the call (default 1). */
  weight?: number | undefined;
}

/**
 * What `statistics()` reports (in-process and Redis limiters alike).
 * @example `const { available, tasksWaiting } = limiter.statistics();`
 */
export interface RateLimiterStatistics {
  algorithm: RateAlgorithm;
  /** The largest weight that can be granted at once (`burst`, `limit`). */
  capacity: number;
  /**
   * The weight that could be granted now if nobody waited (fractional in a token bucket). A Redis
   * limiter reports what Redis said at its last attempt.
   */
  available: number;
  /** Waiters in `acquire()` (not counting those granted and about to resume). */
  tasksWaiting: number;
  /** Acquisitions granted (a refunded one is not counted). */
  granted: number;
  /** Their total weight. */
  grantedWeight: number;
  /** The clock time of the latest grant (the loop's; Redis's `TIME` for a Redis limiter), or null. */
  lastGrantAt: number | null;
  /** When the head waiter will be granted if nothing changes (null: nobody waits, or unknown). */
  nextGrantAt: number | null;
}

/**
 * What `RateLimiter` and the Redis limiter (`asyncio-ts/redis`) have in common: code that takes a
 * `RateLimiterLike` works with a limit of this process or one shared through Redis.
 * @example `async function fetchAll(urls: string[], limiter: RateLimiterLike) { for (const u of urls) await limiter.withLimit(() => fetch(u)); }`
 */
export interface RateLimiterLike {
  /** Wait (FIFO) until `weight` may be taken, and take it. */
  acquire(weight?: number, options?: AbortOptions): Promise<void>;
  /** Take `weight` if that is allowed now and nobody waits; never waits for the limit. */
  tryAcquire(weight?: number): boolean | Promise<boolean>;
  /** `acquire`, then call `fn` and return what it returns. */
  withLimit<R>(fn: () => R | PromiseLike<R>, options?: WithLimitOptions): Promise<Awaited<R>>;
  /** Counters and state, for debugging and metrics. */
  statistics(): RateLimiterStatistics;
}

/** Every option of `new RateLimiter()`. @internal */
export const RATE_LIMITER_OPTIONS = ["rate", "perMs", "burst", "limit", "windowMs"] as const;

/**
 * Check a limiter's options (shared with the Redis limiter, which adds its own: `extra`): a token
 * bucket or a sliding window, never a mix. Throws `TypeError`/`RangeError`. @internal
 */
export function readRateOptions(options: unknown, what: string, extra: readonly string[] = []): RatePolicy {
  if (options === undefined) {
    throw new TypeError(`${what} needs { rate, perMs } (a token bucket) or { limit, windowMs } (a sliding window), got undefined`);
  }
  const o = checkOptions(options as Record<string, unknown>, [...RATE_LIMITER_OPTIONS, ...extra], what);
  const bucket = ["rate", "perMs", "burst"].filter((k) => o[k] !== undefined);
  const window = ["limit", "windowMs"].filter((k) => o[k] !== undefined);
  if (bucket.length > 0 && window.length > 0) {
    throw new TypeError(
      `${what} takes { rate, perMs, burst? } (a token bucket) or { limit, windowMs } (a sliding window), not both: got ${[...bucket, ...window].join(", ")}`,
    );
  }
  if (window.length > 0) {
    const limit = checkCount(o.limit, "limit", { min: 1 });
    return new SlidingWindow(limit, checkMs(o.windowMs, "windowMs", { positive: true, finite: true }));
  }
  if (bucket.length === 0) {
    throw new TypeError(`${what} needs { rate, perMs } (a token bucket) or { limit, windowMs } (a sliding window), got an object without either`);
  }
  const rate = checkCount(o.rate, "rate", { min: 1 });
  const perMs = checkMs(o.perMs, "perMs", { positive: true, finite: true });
  const burst = o.burst === undefined ? rate : checkCount(o.burst, "burst", { min: 1 });
  return new TokenBucket(rate, perMs, burst);
}

/**
 * Check a weight: a positive integer no larger than the capacity (a larger one could never be
 * granted). Throws. @internal
 */
export function checkWeight(weight: unknown, policy: RatePolicy): number {
  const w = checkCount(weight, "weight", { min: 1 });
  if (w > policy.capacity) {
    const what = policy.algorithm === "token-bucket" ? "the bucket's burst" : "the window's limit";
    throw new RangeError(`Expected weight to be at most ${policy.capacity} (${what}), got ${describe(w)}: it could never be granted`);
  }
  return w;
}

/** A parked waiter's request, and its grant once granted. @internal */
interface Request {
  weight: number;
  grant: Grant | null;
}

/**
 * A rate limiter on the loop's clock: a token bucket (`{ rate, perMs, burst }`) or a sliding window
 * (`{ limit, windowMs }`). `acquire(weight)` waits in line (FIFO: a heavy waiter at the head is not
 * overtaken by light ones) until the limit allows `weight`; `tryAcquire` takes it only if allowed now;
 * `withLimit(fn)` acquires, then calls `fn`. A cancelled waiter consumes nothing and gives its place
 * back. On virtual time, grant times are exact.
 *
 * A limiter belongs to the loop it is first used on (as a `Lock`); used on a new loop after that one
 * closed, it starts afresh (times of two loops' clocks cannot be compared).
 *
 * @example
 * ```ts
 * import { run, gather, getRunningLoop, RateLimiter } from "asyncio-ts";
 * await run(async () => {
 *   const limiter = new RateLimiter({ rate: 5, perMs: 1000 }); // 5 per second, bursts of 5
 *   const loop = getRunningLoop();
 *   const times = await gather(...Array.from({ length: 7 }, () => limiter.withLimit(() => loop.time())));
 *   console.log(times); // [0, 0, 0, 0, 0, 200, 400]
 * }, { virtualTime: true });
 * ```
 */
export class RateLimiter implements RateLimiterLike {
  /** @internal the accounting */
  readonly _policy: RatePolicy;
  /** @internal waiters in arrival order (payload: their `Request`); a grant unlinks its waiter */
  _waiters = new WaiterQueue<true>("RateLimiter.acquire");
  /** @internal the loop waiters are made on, and whose clock the policy's times are in */
  _loop: EventLoop | null = null;
  /** @internal the loop the policy's times belong to (see `_bind`) */
  _clockLoop: EventLoop | null = null;
  /**
   * @internal Invariant: armed (to fire at `_timerAt`, when the head may be granted) whenever a pending
   * waiter heads the line and may not be granted yet; null when nobody waits. (A head cancelled since
   * it was armed is skipped when the timer fires, or re-armed for when it leaves.)
   */
  _timer: TimerHandle | null = null;
  /** @internal */ _timerAt = 0;
  /** @internal counters for `statistics()` */
  _granted = 0;
  /** @internal */ _grantedWeight = 0;
  /** @internal */ _lastGrantAt: number | null = null;

  /**
   * @param options `{ rate, perMs, burst? }` for a token bucket, `{ limit, windowMs }` for a sliding window
   */
  constructor(options: RateLimiterOptions) {
    this._policy = readRateOptions(options, "RateLimiter");
  }

  /**
   * The algorithm: `"token-bucket"` or `"sliding-window"`.
   * @example `new RateLimiter({ limit: 5, windowMs: 1000 }).algorithm // "sliding-window"`
   */
  get algorithm(): RateAlgorithm {
    return this._policy.algorithm;
  }

  /**
   * The largest weight that can be granted (`burst`, or `limit`).
   * @example `new RateLimiter({ rate: 5, perMs: 1000, burst: 8 }).capacity // 8`
   */
  get capacity(): number {
    return this._policy.capacity;
  }

  /**
   * Wait until `weight` may be taken, then take it. Waiters are served in arrival order. An acquisition
   * allowed at once, with nobody waiting, does not yield (as `Lock.acquire()`).
   * @param weight a positive integer, at most `capacity` (default 1)
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`, nothing taken)
   * @example `await limiter.acquire(); await callApi();`
   */
  acquire(weight = 1, options?: AbortOptions): Promise<void> {
    if (options === undefined && this._takeNow(weight)) return RESOLVED_VOID;
    return this._acquireSlow(weight, options);
  }

  /** @internal the fast path: a valid weight, allowed now, nobody waiting; false sends to the slow path */
  _takeNow(weight: number): boolean {
    const loop = this._loop;
    if (loop === null || loop.isClosed() || !Number.isInteger(weight) || weight < 1 || weight > this._policy.capacity) return false;
    let now: number;
    try {
      now = this._bind().time();
    } catch {
      return false; // (the slow path reports it)
    }
    if (this._waiters._size > 0 && this._waiters.hasLive()) return false;
    if (this._policy.readyAt(weight, now) > now) return false;
    this._record(weight, now, false);
    return true;
  }

  /** @internal */
  async _acquireSlow(weight: number, options: AbortOptions | undefined): Promise<void> {
    const signal = readSignal(options);
    const w = checkWeight(weight, this._policy);
    const loop = this._bind();
    if (this.tryAcquire(w)) return;
    const req: Request = { weight: w, grant: null };
    const waiter = this._waiters.park(loop, req);
    if (this._timer === null) this._service();
    try {
      await waitOn(waiter, signal);
    } catch (e) {
      this._leave(waiter, req);
      throw abortReason(waiter, e);
    }
    // Resumed: the grant is final.
    if (req.grant !== null) this._policy.settle(req.grant);
  }

  /** @internal a waiter leaves without its grant: unlink it, or refund the grant it got; serve the next */
  _leave(waiter: Waiter<true>, req: Request): void {
    this._waiters.remove(waiter);
    const g = req.grant;
    if (g !== null && !waiter.cancelled()) {
      req.grant = null;
      this._policy.refund(g, this._loop!.time());
      this._granted--;
      this._grantedWeight -= g.weight;
    }
    this._service();
  }

  /**
   * Take `weight` if the limit allows it now and nobody is waiting (FIFO: a waiter is never overtaken);
   * never waits. Throws on a bad weight.
   * @example `if (limiter.tryAcquire()) send(); else dropped++;`
   */
  tryAcquire(weight = 1): boolean {
    const w = checkWeight(weight, this._policy);
    const now = this._bind().time();
    if (this._waiters._size > 0 && this._waiters.hasLive()) return false;
    if (this._policy.readyAt(w, now) > now) return false;
    this._record(w, now, false);
    return true;
  }

  /**
   * Acquire (`options.weight`, default 1), then call `fn` and return its result (awaited). The grant is
   * spent once `fn` starts, however `fn` ends. Bad arguments are a rejection.
   * @param options `weight`, and `signal` to abandon the wait
   * @example `const user = await limiter.withLimit(() => api.getUser(id));`
   */
  withLimit<R>(fn: () => R | PromiseLike<R>, options?: WithLimitOptions): Promise<Awaited<R>> {
    // (the fast path: granted at once, `fn` called at once; no async function, no await of ours)
    if (options === undefined && typeof fn === "function" && this._takeNow(1)) {
      try {
        return Promise.resolve(fn()) as Promise<Awaited<R>>;
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this._withLimitSlow(fn, options);
  }

  /** @internal */
  async _withLimitSlow<R>(fn: () => R | PromiseLike<R>, options: WithLimitOptions | undefined): Promise<Awaited<R>> {
    checkFn(fn, "fn");
    const o = checkOptions(options, ["weight", "signal"], "withLimit()");
    await this.acquire(o.weight ?? 1, o.signal === undefined ? undefined : { signal: o.signal });
    return await fn();
  }

  /**
   * Counters and state: capacity, what is available now, waiters, grants, the next grant's time.
   * @example `console.log(limiter.statistics()); // { algorithm: "token-bucket", capacity: 5, available: 3, ... }`
   */
  statistics(): RateLimiterStatistics {
    const loop = this._clockLoop;
    const live = loop !== null && !loop.isClosed();
    return {
      algorithm: this._policy.algorithm,
      capacity: this._policy.capacity,
      available: live ? this._policy.available(loop.time()) : this._policy.capacity,
      tasksWaiting: this._waiters.pendingCount(),
      granted: this._granted,
      grantedWeight: this._grantedWeight,
      lastGrantAt: this._lastGrantAt,
      nextGrantAt: this._timer !== null ? this._timerAt : null,
    };
  }

  /** @internal the loop, bound on first use; a new loop (the old one closed) starts the accounting afresh */
  _bind(): EventLoop {
    const loop = bindLoop(this, "RateLimiter");
    if (loop !== this._clockLoop) {
      this._clockLoop = loop;
      this._policy.reset();
      this._timer = null;
      this._waiters = new WaiterQueue<true>("RateLimiter.acquire"); // (the old loop's waiters can never run)
      this._lastGrantAt = null;
    }
    return loop;
  }

  /** @internal record a grant at `now` (`open`: to a waiter that has yet to resume) */
  _record(weight: number, now: number, open: boolean): Grant {
    const g = this._policy.consume(weight, now, open);
    this._granted++;
    this._grantedWeight += weight;
    this._lastGrantAt = now;
    return g;
  }

  /**
   * @internal grant the head waiter, and each next one, while the limit allows; then arm the timer for
   * the head (or disarm it when nobody waits). Cancelled waiters at the head are unlinked on the way.
   */
  _service(): void {
    const loop = this._clockLoop;
    if (loop === null || loop.isClosed()) return;
    const q = this._waiters;
    const now = loop.time();
    for (let w = q.first(); w !== null; w = q.first()) {
      if (w.done()) {
        q.remove(w); // cancelled, its task not resumed yet
        continue;
      }
      const req = w._payload as Request;
      const at = this._policy.readyAt(req.weight, now);
      if (at > now) return this._arm(loop, at);
      q.remove(w);
      req.grant = this._record(req.weight, now, true);
      w.setResult(true);
    }
    this._disarm();
  }

  /** @internal the timer fires at `at`, when the head may be granted */
  _arm(loop: EventLoop, at: number): void {
    if (this._timer !== null) {
      if (this._timerAt === at) return;
      this._timer.cancel();
    }
    this._timerAt = at;
    this._timer = loop._at(at, onTimer, this);
  }

  /** @internal */
  _disarm(): void {
    if (this._timer !== null) {
      this._timer.cancel();
      this._timer = null;
    }
  }

  /** @internal */
  toString(): string {
    return `<RateLimiter ${this._policy.toString()} with ${this._waiters.pendingCount()} waiting>`;
  }
}

function onTimer(limiter: RateLimiter): void {
  limiter._timer = null;
  limiter._service();
}
