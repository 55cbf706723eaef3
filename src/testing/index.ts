/**
 * `asyncio-ts/testing`: helpers for users' own tests on virtual time.
 *
 * @module
 */
import { type Clock, describe, type EventLoop, getRunningLoop, RealClock, VirtualClock } from "../core/index.js";
import { sleep } from "../time/sleep.js";

export { RealClock, VirtualClock, type Clock };

/**
 * Resolve once every other task of the running loop is blocked (waiting on a timer, a future, a lock...)
 * and nothing else is ready to run (Trio's `wait_all_tasks_blocked`).
 *
 * @example
 * ```ts
 * import { run, createTask, Event } from "asyncio-ts";
 * import { waitAllTasksBlocked } from "asyncio-ts/testing";
 * await run(async () => {
 *   const ev = new Event();
 *   const waiter = createTask(() => ev.wait());
 *   await waitAllTasksBlocked();
 *   console.log(waiter.done()); // false: it is blocked on the event
 *   ev.set();
 *   await waiter;
 * }, { virtualTime: true });
 * ```
 */
export async function waitAllTasksBlocked(): Promise<void> {
  const loop = getRunningLoop();
  let w = waiting.get(loop);
  if (w === undefined) waiting.set(loop, (w = { yielding: 0 }));
  for (;;) {
    w.yielding++;
    try {
      await sleep(0);
    } finally {
      w.yielding--;
    }
    // (the other callers' resumptions are queued too: they wait, as Trio counts its waiters as blocked)
    if (loop._readyCount() <= w.yielding) return;
  }
}

/**
 * Invariant: per loop, how many `waitAllTasksBlocked()` callers have a `sleep(0)` resumption queued now.
 * Two callers at once each saw the other's resumption ready and yielded again, for ever.
 */
const waiting = new WeakMap<EventLoop, { yielding: number }>();

/**
 * Move a hand-driven virtual clock forward by `ms` and let the loop fire what became due. The loop must
 * use a `VirtualClock` (with `autojump: false` the clock moves only this way).
 *
 * @example
 * ```ts
 * import { newEventLoop, createTask, sleep } from "asyncio-ts";
 * import { VirtualClock, advanceClock, waitAllTasksBlocked } from "asyncio-ts/testing";
 * const loop = newEventLoop({ clock: new VirtualClock({ autojump: false }) });
 * await loop.runUntilComplete(async () => {
 *   const t = createTask(() => sleep(1000, "woke"));
 *   await waitAllTasksBlocked();
 *   advanceClock(1000);
 *   console.log(await t); // "woke"
 * });
 * ```
 */
export function advanceClock(ms: number, loop?: EventLoop): void {
  const l = loop ?? getRunningLoop();
  const clock = l.clock;
  if (!(clock instanceof VirtualClock)) {
    throw new TypeError(`advanceClock() needs a loop with a VirtualClock, got ${describe(clock)}`);
  }
  clock.advance(ms);
  l._wake();
}
