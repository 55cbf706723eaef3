/**
 * Clocks: where an event loop reads the time, in milliseconds.
 *
 * A {@link RealClock} reads the monotonic clock in ms since the process started, as `performance.now()`
 * counts (`real-timers.ts`). A {@link VirtualClock} only moves when the loop (or a
 * test) advances it; with `autojump` the loop jumps it to the next timer whenever every task is blocked,
 * as Trio's `MockClock(autojump_threshold=0)` does, so a program that sleeps for a day runs in
 * milliseconds and prints in the same order as on the real clock.
 *
 * @module
 */
// (Node's clock, not the global that test runners' fake timers replace: real-timers.ts)
import { performance } from "./real-timers.js";
import { checkBoolean, checkOptions } from "./check.js";

/** A loop time or duration for people: `2000 ms`, `1.5 ms`. @internal */
export function fmtTime(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  return `${+ms.toFixed(Math.abs(ms) >= 100 ? 0 : 1)} ms`;
}

/** What the event loop needs from a clock. */
export interface Clock {
  /** The current time in milliseconds. Never decreases. */
  now(): number;
  /** True for a clock that the loop advances itself when idle. */
  readonly virtual: boolean;
}

/**
 * The machine's monotonic clock.
 *
 * @example
 * ```ts
 * import { RealClock } from "asyncio-ts/testing";
 * const c = new RealClock();
 * console.log(c.now() >= 0); // true
 * ```
 */
export class RealClock implements Clock {
  readonly virtual = false;
  now(): number {
    return performance.now();
  }
}

/**
 * A clock that moves only when told to. The loop that owns it jumps it to the next timer when nothing
 * else can run (autojump); tests can also move it by hand with {@link VirtualClock.advance}.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "asyncio-ts/testing";
 * const c = new VirtualClock();
 * c.advance(250);
 * console.log(c.now()); // 250
 * ```
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  /** Invariant: never decreases; starts at `start`. */
  private t: number;
  /** When false, the owning loop does not jump the clock by itself: only `advance()` moves it. */
  autojump: boolean;
  constructor(options: { start?: number; autojump?: boolean } = {}) {
    // (a misspelt option would leave the clock jumping in a test meant to drive it by hand)
    checkOptions(options, ["start", "autojump"], "VirtualClock");
    checkBoolean(options.autojump, "options.autojump");
    const start = options.start ?? 0;
    if (typeof start !== "number" || !Number.isFinite(start)) {
      throw new TypeError(`Expected start to be a finite number, got ${String(start)} (${typeof start})`);
    }
    this.t = start;
    this.autojump = options.autojump ?? true;
  }
  now(): number {
    return this.t;
  }
  /** Move the clock forward by `ms` (>= 0). Timers that become due fire on the loop's next iteration. */
  advance(ms: number): void {
    if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`Expected ms to be a non-negative finite number, got ${String(ms)} (${typeof ms})`);
    }
    this.t += ms;
  }
  /** Move the clock to `t` if `t` is later than now. @internal used by the loop's autojump */
  jumpTo(t: number): void {
    if (t > this.t) this.t = t;
  }
}
