/**
 * Which loop is running, and the process's current loop (CPython's `get_running_loop`, and the state
 * behind `get_event_loop`/`set_event_loop`). This module only reads and records; loops are made above it
 * (`default-loop.ts` in the kernel, `src/runner/loops.ts` for programs).
 *
 * @module
 */
import { RuntimeError } from "./errors.js";
import { callbackContext, contextTask } from "./current.js";
import type { EventLoop } from "./event-loop.js";

/** @internal */
export const loopRegistry = {
  /** Invariant: the loops between the start of `runForever()` and the end of their last iteration. */
  running: new Set<EventLoop>(),
  /** Invariant: the process's current loop (`setEventLoop`, or made by `getEventLoop`), never a closed one. */
  current: null as EventLoop | null,
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
 * CPython's words, then where to call (a Python habit: `asyncio.create_task(...)` at module level, before
 * `asyncio.run`).
 */
const NO_RUNNING_LOOP =
  "no running event loop: call this inside await run(async () => { ... }) (the program's main function, and what it " +
  "awaits or starts), or in a task or callback of a loop that runs loop.runUntilComplete(...)";

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
  if (loop === null) throw new RuntimeError(NO_RUNNING_LOOP);
  return loop;
}

/**
 * The running loop, else the process's current loop, else a `RuntimeError` (what `new Future()` and
 * `ensureFuture()` use when given no loop: CPython 3.14's `get_event_loop()`, which no longer makes one).
 * @internal
 */
export function currentLoop(what: string): EventLoop {
  const loop = runningLoopOrNull() ?? loopRegistry.current;
  if (loop === null) {
    throw new RuntimeError(
      `There is no current event loop for ${what}: call it inside await run(async () => { ... }) or a loop's ` +
        "runUntilComplete(...), or pass the loop ({ loop }), or make one current first (getEventLoop(), setEventLoop(loop))",
    );
  }
  return loop;
}

/** Futures awaited by plain code while their loop was not running (see `noteWaitOnIdleLoop`). */
const idleWaits = new Set<{ done(): boolean; _describe(): string; readonly _loop: EventLoop }>();
let idleWatch = false;

/**
 * Plain code awaits `fut` while its loop is not running (`await lock.acquire()` at top level, no loop
 * ever run): if the process is about to exit with it still pending, nothing could ever complete it. Say
 * so, rather than let Node exit with its bare "unsettled top-level await".
 * @internal
 */
export function noteWaitOnIdleLoop(fut: { done(): boolean; _describe(): string; readonly _loop: EventLoop }): void {
  idleWaits.add(fut);
  if (idleWatch) return;
  idleWatch = true;
  process.on("beforeExit", () => {
    for (const f of idleWaits) {
      if (f.done() || f._loop.isRunning()) continue;
      console.error(
        `asyncio-ts: the program waits on ${f._describe()} outside any running event loop, and nothing will run that ` +
          "loop: nothing can complete it. Await it in the function given to await run(async () => { ... }) (or to a loop's runUntilComplete(...)).",
      );
    }
    idleWaits.clear();
  });
}

/** @internal the wait of `fut` ended (or its loop runs it now) */
export function forgetWaitOnIdleLoop(fut: object): void {
  idleWaits.delete(fut as never);
}
