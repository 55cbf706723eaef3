/**
 * The accounting behind `RateLimiter` (`rate-limiter.ts`): a token bucket and a sliding window, pure
 * arithmetic on times in ms that the caller reads from its loop's clock. No waiting happens here: the
 * limiter asks a policy when a weight may be granted (`readyAt`), records grants (`consume`) and takes
 * back a grant whose waiter was cancelled before it ran (`refund`).
 *
 * ## Token bucket: GCRA
 * The bucket is kept as one number, the *theoretical arrival time* `tat` of the Generic Cell Rate
 * Algorithm (ATM Forum TM 4.0; the algorithm of redis-cell and of Effect's token bucket): the bucket is
 * full at every time `>= tat`, and holds `burst - (tat - now) / interval` tokens before that, where
 * `interval = perMs / rate` is the time one token takes to come back. A grant of `w` moves `tat` to
 * `max(tat, now) + w * interval`; `w` may be granted at `max(tat, now) + (w - burst) * interval`.
 * So "5 per 1000 ms, burst 5" grants five at 0 ms and the sixth at exactly 200 ms
 * (`1000 + (1 - 5) * 200`), on virtual time, with no drift.
 *
 * Rejected: a token count refilled on every call (`tokens += elapsed * rate / perMs`, p-throttle's
 * and most token buckets' shape). Each refill rounds, the rounding accumulates, and a grant due at
 * 200 ms comes at 199.99999999999997 or 200.00000000000003: the exact grant times that virtual time
 * promises would be lost. GCRA adds one multiple of the interval per grant and compares.
 *
 * ## Sliding window: a log
 * Every grant is logged as (time, weight); a grant at `t` counts until `t + windowMs`. A weight may be
 * granted when the logged weight still in the window plus it is at most `limit`, and the moment it may
 * is the expiry of the oldest entries that must leave. The log holds at most `limit` entries (weights are
 * integers >= 1, and grants at the same time share an entry). Exact: in every interval of `windowMs`,
 * at most `limit` is granted.
 *
 * Rejected: the sliding-window *counter* (two fixed windows, the previous one weighted by overlap:
 * Cloudflare's and many Redis recipes). Constant memory, but an approximation that can exceed the limit
 * by up to the previous window's count; and fixed windows (p-throttle's default) allow twice the limit
 * across a window boundary. The limiter promises never to exceed the limit in any window.
 *
 * ## Refunds
 * A waiter that was granted but cancelled before its task resumed consumes nothing: the limiter takes
 * its grant back. In the log that is exact and simple (the entry loses the weight). In the bucket the
 * grants made after it were computed from a `tat` that included it, so subtracting its weight can be too
 * generous (a later grant may have found the bucket full anyway). Instead the bucket journals every
 * grant while some grant is outstanding (granted, its waiter not resumed yet), and a refund replays the
 * grants after the refunded one from the `tat` before it: the state is exactly that of a history
 * without it. The journal is empty whenever no waiter is between its grant and its resumption, which on
 * one loop is at most one iteration.
 *
 * @module
 */

/** A recorded grant: what a refund needs to take it back. @internal */
export interface Grant {
  /** The loop time of the grant. */
  at: number;
  weight: number;
  /** Token bucket: `tat` before this grant (updated when an earlier grant is refunded). */
  tatBefore: number;
  /** Still outstanding: granted to a waiter that has not resumed (a refund may come). */
  open: boolean;
}

/**
 * The two algorithms' names, as `statistics()` and `algorithm` report them.
 * @example `const a: RateAlgorithm = limiter.algorithm; // "token-bucket" or "sliding-window"`
 */
export type RateAlgorithm = "token-bucket" | "sliding-window";

/** What the limiter needs of an algorithm. @internal */
export interface RatePolicy {
  readonly algorithm: RateAlgorithm;
  /** The largest weight that can ever be granted (burst, limit). */
  readonly capacity: number;
  /** The earliest time `>= now` at which `weight` may be granted (`now` if it may be at once). */
  readyAt(weight: number, now: number): number;
  /** Record a grant at `now`; `open` if its waiter has yet to resume (see `settle`, `refund`). */
  consume(weight: number, now: number, open: boolean): Grant;
  /** The waiter of an open grant resumed: the grant is final. */
  settle(g: Grant): void;
  /** Take back an open grant, as if it had never been made. */
  refund(g: Grant, now: number): void;
  /** The weight that could be granted at `now` (fractional in a bucket). */
  available(now: number): number;
  /** Forget every grant (the limiter moved to another loop, whose clock is another). */
  reset(): void;
  /** `5 per 1000 ms, burst 5`, for messages. */
  toString(): string;
}

/** GCRA token bucket (see the module comment). @internal */
export class TokenBucket implements RatePolicy {
  readonly algorithm = "token-bucket" as const;
  readonly capacity: number;
  /** ms for one token to come back: `perMs / rate`; > 0 */
  readonly _interval: number;
  /** Invariant: the bucket is full at every time >= `_tat`; before, it lacks `(_tat - now) / _interval` tokens. */
  _tat = -Infinity;
  /**
   * Invariant: empty, or starts with an open grant and holds every grant made since, in order (open or
   * final); a refund replays from it.
   */
  _journal: Grant[] = [];

  constructor(
    readonly rate: number,
    readonly perMs: number,
    burst: number,
  ) {
    this.capacity = burst;
    this._interval = perMs / rate;
  }

  readyAt(weight: number, now: number): number {
    const t = this._tat > now ? this._tat : now;
    const at = t + (weight - this.capacity) * this._interval;
    return at > now ? at : now;
  }

  consume(weight: number, now: number, open: boolean): Grant {
    const g: Grant = { at: now, weight, tatBefore: this._tat, open };
    this._tat = (this._tat > now ? this._tat : now) + weight * this._interval;
    if (open || this._journal.length > 0) this._journal.push(g);
    return g;
  }

  settle(g: Grant): void {
    g.open = false;
    this._trim();
  }

  refund(g: Grant, _now: number): void {
    const j = this._journal;
    const i = j.indexOf(g);
    if (i < 0) return;
    j.splice(i, 1);
    let tat = g.tatBefore;
    for (let k = i; k < j.length; k++) {
      const h = j[k]!;
      h.tatBefore = tat;
      tat = (tat > h.at ? tat : h.at) + h.weight * this._interval;
    }
    this._tat = tat;
    this._trim();
  }

  available(now: number): number {
    const lack = this._tat > now ? (this._tat - now) / this._interval : 0;
    return Math.max(0, this.capacity - lack);
  }

  reset(): void {
    this._tat = -Infinity;
    this._journal = [];
  }

  /** Drop the final grants at the journal's head: no refund can reach behind an open one. */
  _trim(): void {
    const j = this._journal;
    let n = 0;
    while (n < j.length && !j[n]!.open) n++;
    if (n === j.length) this._journal = [];
    else if (n > 0) j.splice(0, n);
  }

  toString(): string {
    return `${this.rate} per ${this.perMs} ms, burst ${this.capacity}`;
  }
}

/** Exact sliding window over a log of grants (see the module comment). @internal */
export class SlidingWindow implements RatePolicy {
  readonly algorithm = "sliding-window" as const;
  readonly capacity: number;
  /**
   * The log: entry i (for `_head <= i < _t.length`) is weight `_w[i]` granted at `_t[i]`.
   * Invariant: `_t` is non-decreasing from `_head`, no two entries share a time, and `_used` is the sum
   * of `_w` from `_head` (weights of refunded grants are subtracted: an entry may weigh 0).
   */
  _t: number[] = [];
  _w: number[] = [];
  _head = 0;
  _used = 0;

  constructor(
    limit: number,
    readonly windowMs: number,
  ) {
    this.capacity = limit;
  }

  /** Drop the entries whose window has passed: a grant at `t` counts until `t + windowMs`. */
  _prune(now: number): void {
    const t = this._t;
    let h = this._head;
    while (h < t.length && t[h]! + this.windowMs <= now) this._used -= this._w[h++]!;
    if (h === t.length) {
      this._t = [];
      this._w = [];
      this._head = 0;
      this._used = 0; // (exact: every weight was an integer)
    } else if (h > 1024 && h * 2 > t.length) {
      this._t = t.slice(h);
      this._w = this._w.slice(h);
      this._head = 0;
    } else this._head = h;
  }

  readyAt(weight: number, now: number): number {
    this._prune(now);
    let excess = this._used + weight - this.capacity;
    if (excess <= 0) return now;
    const t = this._t;
    for (let i = this._head; i < t.length; i++) {
      excess -= this._w[i]!;
      if (excess <= 0) return t[i]! + this.windowMs;
    }
    return now; // (unreachable: weight <= capacity, so the whole log leaving is enough)
  }

  consume(weight: number, now: number, open: boolean): Grant {
    this._prune(now);
    const n = this._t.length;
    if (n > this._head && this._t[n - 1] === now) this._w[n - 1]! += weight;
    else {
      this._t.push(now);
      this._w.push(weight);
    }
    this._used += weight;
    return { at: now, weight, tatBefore: 0, open };
  }

  settle(g: Grant): void {
    g.open = false;
  }

  refund(g: Grant, _now: number): void {
    g.open = false;
    const t = this._t;
    for (let i = t.length - 1; i >= this._head && t[i]! >= g.at; i--) {
      if (t[i] === g.at) {
        this._w[i]! -= g.weight;
        this._used -= g.weight;
        return;
      }
    }
    // (already out of the window: it counts for nothing any more)
  }

  available(now: number): number {
    this._prune(now);
    return this.capacity - this._used;
  }

  reset(): void {
    this._t = [];
    this._w = [];
    this._head = 0;
    this._used = 0;
  }

  toString(): string {
    return `${this.capacity} per ${this.windowMs} ms window`;
  }
}
