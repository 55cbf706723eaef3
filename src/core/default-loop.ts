/**
 * The loop that code outside every running loop uses when it needs one and was given none: an executor's
 * future awaited at top level, a lock used before any loop ran (CPython 3.12's `get_event_loop()`, which
 * makes the current loop on first use).
 *
 * The loop made here is the kernel's bare loop; the runner's `getEventLoop()` (`src/runner/loops.ts`) hands
 * out the same loop, equipped with the task dump and the default executor. Below the event loop in the
 * kernel (`Future`, `ensureFuture`), nothing makes a loop: `currentLoop()` in `running.ts` is used there.
 *
 * @module
 */
import { EventLoop } from "./event-loop.js";
import { loopRegistry, runningLoopOrNull } from "./running.js";

/** The running loop, else the current loop, else a new loop made current. @internal */
export function defaultLoop(): EventLoop {
  const running = runningLoopOrNull();
  if (running !== null) return running;
  const cur = loopRegistry.current;
  if (cur !== null && !cur.isClosed()) return cur;
  return (loopRegistry.current = new EventLoop());
}
