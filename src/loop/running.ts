/**
 * Which loop is running, and the process's current loop (CPython's `get_running_loop`,
 * `get_event_loop`, `set_event_loop`, `new_event_loop`).
 *
 * @module
 */
import { RuntimeError, describe } from "../errors.js";
import { callbackContext, contextTask } from "../task/current.js";
import type { EventLoop, EventLoopOptions } from "./event-loop.js";

/** @internal */
export const loopRegistry = {
  running: new Set<EventLoop>(),
  current: null as EventLoop | null,
  factory: null as ((options?: EventLoopOptions) => EventLoop) | null,
  closed(loop: EventLoop): void {
    if (this.current === loop) this.current = null;
  },
};

/**
 * The loop running the current task or callback, or `null` (CPython's `_get_running_loop`).
 * @internal
 */
export function runningLoopOrNull(): EventLoop | null {
  if (callbackContext.loop !== null) return callbackContext.loop;
  const t = contextTask();
  if (t !== undefined && t._loop.isRunning()) return t._loop;
  return null;
}

/**
 * The loop running the current task or callback. Throws `RuntimeError` outside of one.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop } from "asyncio-ts";
 * await run(async () => {
 *   const loop = getRunningLoop();
 *   console.log(loop.isRunning()); // true
 * });
 * ```
 */
export function getRunningLoop(): EventLoop {
  const loop = runningLoopOrNull();
  if (loop === null) throw new RuntimeError("no running event loop");
  return loop;
}

/**
 * The running loop if there is one; otherwise the process's current loop, created on first use (what a
 * notebook kernel's code gets in CPython). Use it for `loop.runUntilComplete(main)` at top level.
 *
 * @example
 * ```ts
 * import { getEventLoop } from "asyncio-ts";
 * const loop = getEventLoop();
 * console.log(await loop.runUntilComplete(async () => "done")); // "done"
 * ```
 */
export function getEventLoop(): EventLoop {
  const running = runningLoopOrNull();
  if (running !== null) return running;
  if (loopRegistry.current === null || loopRegistry.current.isClosed()) {
    loopRegistry.current = newEventLoop();
  }
  return loopRegistry.current;
}

/**
 * Make `loop` the process's current loop (what `getEventLoop()` returns outside a running loop).
 *
 * @example
 * ```ts
 * import { newEventLoop, setEventLoop, getEventLoop } from "asyncio-ts";
 * const loop = newEventLoop({ virtualTime: true });
 * setEventLoop(loop);
 * console.log(getEventLoop() === loop); // true
 * ```
 */
export function setEventLoop(loop: EventLoop | null): void {
  if (loop !== null && (typeof loop !== "object" || typeof (loop as EventLoop).runForever !== "function")) {
    throw new TypeError(`Expected loop to be an EventLoop or null, got ${describe(loop)}`);
  }
  loopRegistry.current = loop;
}

/**
 * A new event loop (real clock, or virtual with `{ virtualTime: true }`).
 *
 * @example
 * ```ts
 * import { newEventLoop } from "asyncio-ts";
 * const loop = newEventLoop({ virtualTime: true });
 * console.log(loop.time()); // 0
 * loop.close();
 * ```
 */
export function newEventLoop(options?: EventLoopOptions): EventLoop {
  if (loopRegistry.factory === null) throw new RuntimeError("asyncio-ts was not initialised (import it from its entry point)");
  return loopRegistry.factory(options);
}
