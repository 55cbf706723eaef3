/**
 * Real-time timers of any length. Node's `setTimeout` holds at most 2**31-1 ms (24.8 days); a longer
 * delay fires after 1 ms, with a warning. `longTimeout` re-arms until the whole delay has passed, so a
 * `taskTimeout` of 30 days means 30 days. The time is Node's monotonic clock, and the timers Node's own
 * (`real-timers.ts`): test runners' fake timers, which replace the globals and `Date`, do not stop them.
 *
 * @module
 */
import { clearTimeout, performance, setTimeout } from "./real-timers.js";

/** The longest delay a Node timer holds. @internal */
export const MAX_NODE_TIMER = 2 ** 31 - 1;

/** A timer made by {@link longTimeout}. @internal */
export interface LongTimer {
  clear(): void;
}

/**
 * Call `fn` once `ms` milliseconds (real time) have passed; `Infinity` never. `unref`: do not keep the
 * process alive for it.
 * @internal
 */
export function longTimeout(fn: () => void, ms: number, unref = false): LongTimer {
  let handle: ReturnType<typeof setTimeout> | null = null;
  if (ms === Infinity) return { clear() {} };
  const deadline = performance.now() + ms;
  const arm = (left: number): void => {
    handle = setTimeout(
      () => {
        const rest = deadline - performance.now();
        if (left > MAX_NODE_TIMER && rest > 0) arm(rest);
        else {
          handle = null;
          fn();
        }
      },
      Math.max(1, Math.min(left, MAX_NODE_TIMER)),
    );
    if (unref) handle.unref();
  };
  arm(ms);
  return {
    clear(): void {
      if (handle !== null) clearTimeout(handle);
      handle = null;
    },
  };
}
