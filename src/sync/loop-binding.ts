/**
 * Which loop a primitive belongs to (CPython's `_LoopBoundMixin`): the loop its first wait ran on.
 *
 * @module
 */
import { defaultLoop, type EventLoop, loopRegistry, runningLoopOrNull, RuntimeError } from "../core/index.js";

/**
 * The loop a primitive's waiters are made on (CPython's `_LoopBoundMixin._get_loop`): the running loop,
 * bound on first use. Outside tasks and callbacks (code resumed by a plain promise): the bound loop, else
 * the only running loop, else `getEventLoop()`.
 * @internal
 */
export function bindLoop(owner: { _loop: EventLoop | null }, what?: string): EventLoop {
  const running = runningLoopOrNull();
  const bound = owner._loop;
  if (bound === null || bound.isClosed()) {
    owner._loop = running ?? soleRunningLoop() ?? defaultLoop();
    return owner._loop;
  }
  if (running !== null && running !== bound) {
    // (the class name is looked up only here: `constructor.name` is not free on a hot path)
    throw new RuntimeError(`${what ?? owner.constructor.name} is bound to a different event loop`);
  }
  return bound;
}

/**
 * The loop that is running, if exactly one is. Code resumed by a plain promise (outside any task or
 * callback) does not know its loop; while one loop runs, that is the one it means.
 */
function soleRunningLoop(): EventLoop | null {
  if (loopRegistry.running.size !== 1) return null;
  for (const loop of loopRegistry.running) return loop;
  return null;
}
