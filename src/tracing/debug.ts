/**
 * Debug mode's monitor (`run(main, { debug: true })`, `ASYNCIO_TS_DEBUG=1`): prints `dumpTasks()` when
 * the loop was blocked, when it stalled, or on SIGUSR2. Slow steps are reported by the loop itself
 * (`slowCallbackDuration`, CPython's `slow_callback_duration`).
 *
 * ## Approach
 * A JavaScript thread cannot be inspected while it runs, so the monitor watches from the same thread
 * with an unref'd interval timer that must not keep the process alive:
 * - blocked: the timer fired at least `blockedThreshold` ms late, so a step held the thread that long
 *   (reported as soon as the thread is free again, with the tasks as they are then);
 * - stalled: for `blockedThreshold` ms no step began, no callback is ready, no timer is pending and no
 *   executor job is in flight: nothing the loop knows of can wake its tasks (a deadlock, or awaits of
 *   foreign promises);
 * - exit: Node is about to exit (`beforeExit`: nothing keeps it alive) while the loop still runs, the
 *   virtual-time form of a stall;
 * - SIGUSR2: on request (`kill -USR2 <pid>`), Python 3.14's `asyncio ps` for a live process.
 * Each stall is reported once, until a step runs again.
 *
 * Rejected alternative: a watchdog worker thread, which could notice a blocked loop while it is blocked
 * but cannot read the loop's tasks (another isolate); it would add a thread to every debug run.
 *
 * @module
 */
import { type EventLoop, realTimers } from "../core/index.js";
import { dumpTasks } from "./dump.js";
import { fmtTime } from "./describe.js";

/** A running monitor. @internal */
export interface DebugMonitor {
  stop(): void;
}

/** Where the monitor prints; tests replace it. @internal */
export const debugOutput = { write: (text: string): void => void process.stderr.write(text) };

/** Start watching `loop` (called by `runForever` in debug mode). @internal */
export function startDebugMonitor(loop: EventLoop): DebugMonitor {
  const threshold = loop._blockedThreshold;
  const period = Math.max(5, Math.min(250, threshold / 4));
  let last = realTimers.performance.now();
  let steps = loop._stepCount;
  let stalledSince: number | null = null;
  let stallReported = false;
  const report = (reason: string): void => {
    dumpTasks({ loop, reason, print: (text) => debugOutput.write(text) });
  };
  const check = (): void => {
    const now = realTimers.performance.now();
    const late = now - last - period;
    last = now;
    if (late >= threshold) {
      report(`asyncio-ts debug: the event loop was blocked for ${fmtTime(late)} (a step ran without awaiting)`);
    }
    const stalled =
      loop._stepCount === steps &&
      loop._isIdle() &&
      loop._nextTimerWhen() === undefined &&
      loop._holds === 0 &&
      loop._tasks.size > 0;
    steps = loop._stepCount;
    if (!stalled) {
      stalledSince = null;
      stallReported = false;
    } else if (stalledSince === null) stalledSince = now;
    else if (!stallReported && now - stalledSince >= threshold) {
      stallReported = true;
      report(
        `asyncio-ts debug: no task has run for ${fmtTime(now - stalledSince)} and nothing the loop knows of can wake ` +
          "them (no ready callback, no timer, no executor job)",
      );
    }
  };
  const timer = realTimers.setInterval(check, period);
  timer.unref();
  const onSignal = (): void => report("asyncio-ts: SIGUSR2 received");
  const onBeforeExit = (): void => {
    if (loop.isRunning() && loop._tasks.size > 0) {
      report("asyncio-ts debug: the process is exiting while the event loop still waits: nothing can wake these tasks");
    }
  };
  process.on("SIGUSR2", onSignal);
  process.on("beforeExit", onBeforeExit);
  return {
    stop(): void {
      clearInterval(timer);
      process.off("SIGUSR2", onSignal);
      process.off("beforeExit", onBeforeExit);
    },
  };
}
