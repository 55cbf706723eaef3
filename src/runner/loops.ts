/**
 * Making loops for programs (CPython's `new_event_loop`, `get_event_loop`, `set_event_loop`): a loop made
 * or handed out here is *equipped* with what lives above the kernel, the task dump for deadlock reports
 * and debug mode, the answer to `aio ps PID` (`src/tracing`), and a default `ThreadPoolExecutor` for `runInExecutor(null, ...)`
 * (`src/executors`). The kernel's own loops (`new EventLoop()`, `defaultLoop()`) are bare: they report a
 * deadlock with a line per task, and have no default executor until one is set.
 *
 * @module
 */
import { defaultLoop, describe, EventLoop, type EventLoopOptions, loopRegistry } from "../core/index.js";
import { ThreadPoolExecutor } from "../executors/executors.js";
import { taskDiagnostics } from "../tracing/diagnostics.js";
import { serveTaskTable } from "../tracing/task-table.js";

const makeDefaultExecutor = (): ThreadPoolExecutor => new ThreadPoolExecutor();

/** Give `loop` what the kernel leaves out (see the module comment), unless it has it. @internal */
export function equipLoop(loop: EventLoop): EventLoop {
  loop._diagnostics ??= taskDiagnostics;
  loop._defaultExecutorFactory ??= makeDefaultExecutor;
  serveTaskTable(); // (once per process: `aio ps PID`)
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
  return equipLoop(defaultLoop());
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
  if (loop !== null && !(loop instanceof EventLoop)) {
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
  return equipLoop(new EventLoop(options));
}
