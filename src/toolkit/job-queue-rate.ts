/**
 * The rate limit of a `JobQueue` (`intervalCap` jobs started per `interval` ms), on the loop's clock.
 *
 * ## Approach
 * Two policies, p-queue's:
 * - **Fixed windows** (the default). A window of `interval` ms opens when a job starts and no window is
 *   open (or when the queue, blocked by the cap, reaches the end of the current one); at most
 *   `intervalCap` jobs start in it. While jobs wait for the cap, the windows follow each other without a
 *   gap (the queue retries at the end of each); once nothing waits, the next window opens at the next
 *   start. With `carryoverIntervalCount`, the jobs still running when a window opens count against it.
 * - **A sliding window** (`strict`): no more than `intervalCap` starts in any span of `interval` ms. The
 *   start times of the last `intervalCap` starts are kept, oldest first; a job may start when fewer than
 *   `intervalCap` of them are younger than `interval`.
 *
 * Both are pure functions of the loop time they are given: the queue arms one loop timer (`retryAt`)
 * while jobs wait for the cap, so on virtual time every start happens at an exact, predictable time.
 *
 * Rejected: p-queue's recurring `setInterval` while the queue is busy, plus a one-shot `setTimeout` to
 * resume after an idle period, plus a count rolled back when a started job turns out to be aborted: three
 * timers' states to keep in step (p-queue's issues #126, #182 and #251 were about them drifting apart).
 * Here a window is opened exactly when it is needed, a job is counted only once it really starts, and at
 * most one timer exists, only while the queue is rate-limited.
 *
 * @module
 */

/** Start times, oldest first: a growable ring buffer of numbers. */
class Ticks {
  /** Invariant: capacity is a power of two; the ticks are `_buf[(_head + i) & _mask]` for i < length. */
  private _buf: number[] = new Array<number>(16).fill(0);
  private _mask = 15;
  private _head = 0;
  length = 0;

  push(t: number): void {
    if (this.length === this._buf.length) this._grow();
    this._buf[(this._head + this.length) & this._mask] = t;
    this.length++;
  }

  /** The oldest tick (the ring is not empty). */
  first(): number {
    return this._buf[this._head]!;
  }

  shift(): void {
    this._head = (this._head + 1) & this._mask;
    this.length--;
  }

  private _grow(): void {
    const old = this._buf;
    const cap = old.length * 2;
    const buf = new Array<number>(cap).fill(0);
    for (let i = 0; i < this.length; i++) buf[i] = old[(this._head + i) & this._mask]!;
    this._buf = buf;
    this._mask = cap - 1;
    this._head = 0;
  }
}

/**
 * The rate limit's state and its rules. `running` is the number of jobs running, for
 * `carryoverIntervalCount`.
 * @internal
 */
export class RateWindow {
  /** @internal fixed windows: when the open window ends (loop time); -Infinity before the first */
  _end = -Infinity;
  /** @internal fixed windows: jobs counted in the open window */
  _count = 0;
  /** @internal sliding window: the start times still inside it, oldest first; at most `cap` */
  private readonly _ticks: Ticks | null;

  /**
   * @param cap at most this many starts per window (a positive integer)
   * @param interval the window's length, ms (> 0)
   * @param strict a sliding window rather than fixed ones
   * @param carryover fixed windows: jobs running when a window opens count against it
   */
  constructor(
    readonly cap: number,
    readonly interval: number,
    readonly strict: boolean,
    readonly carryover: boolean,
  ) {
    this._ticks = strict ? new Ticks() : null;
  }

  /** May a job start at `now`? */
  allows(now: number, running: number): boolean {
    const ticks = this._ticks;
    if (ticks !== null) {
      this._prune(now);
      return ticks.length < this.cap;
    }
    if (now >= this._end) return (this.carryover ? running : 0) < this.cap;
    return this._count < this.cap;
  }

  /** A job starts at `now` (`allows(now, running)` was true). */
  take(now: number, running: number): void {
    const ticks = this._ticks;
    if (ticks !== null) {
      ticks.push(now);
      return;
    }
    if (now >= this._end) this._open(now, running);
    this._count++;
  }

  /**
   * The queue is blocked by the cap at `now`: when to try again. For fixed windows, a window that is
   * over is replaced by a new one first (it opens now, counting the running jobs with `carryover`).
   */
  retryAt(now: number, running: number): number {
    const ticks = this._ticks;
    if (ticks !== null) return ticks.first() + this.interval;
    if (now >= this._end) this._open(now, running);
    return this._end;
  }

  /** Jobs counted in the current window at `now` (for statistics). */
  countAt(now: number, running: number): number {
    const ticks = this._ticks;
    if (ticks !== null) {
      this._prune(now);
      return ticks.length;
    }
    return now >= this._end ? (this.carryover ? running : 0) : this._count;
  }

  /** Forget every window (the queue moved to another loop, whose clock is another). */
  reset(): void {
    this._end = -Infinity;
    this._count = 0;
    const ticks = this._ticks;
    while (ticks !== null && ticks.length > 0) ticks.shift();
  }

  private _open(now: number, running: number): void {
    this._end = now + this.interval;
    this._count = this.carryover ? running : 0;
  }

  /** Drop the ticks that are `interval` or more behind `now`. */
  private _prune(now: number): void {
    const ticks = this._ticks!;
    while (ticks.length > 0 && now - ticks.first() >= this.interval) ticks.shift();
  }
}
