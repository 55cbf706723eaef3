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

/** A future awaited by plain code while its loop was not running (see `noteWaitOnIdleLoop`). */
export interface IdleWait {
  readonly fut: { _describe(): string; readonly _loop: EventLoop };
  /** Fail the awaiting code (it never got the outcome). */
  readonly fail: (error: RuntimeError) => void;
}

/** Invariant: the idle waits whose awaiting code has not been given an outcome yet. */
const idleWaits = new Set<IdleWait>();
let idleWatch = false;

/**
 * Plain code awaits `fut` while its loop is not running (`await lock.acquire()` at top level, no loop
 * ever run). If the process is about to exit with that code still not given the outcome (the future
 * pending, or done with its callbacks queued on a loop that nothing runs: `setTimeout(() => ev.set())`
 * then `await ev.wait()`), nothing could ever give it. The awaiting code then fails with a
 * `RuntimeError` that says so, rather than let Node exit with its bare "unsettled top-level await".
 * @internal
 */
export function noteWaitOnIdleLoop(fut: IdleWait["fut"], fail: IdleWait["fail"]): IdleWait {
  const w: IdleWait = { fut, fail };
  idleWaits.add(w);
  if (!idleWatch) {
    idleWatch = true;
    process.on("beforeExit", failIdleWaits);
  }
  return w;
}

function failIdleWaits(): void {
  for (const w of [...idleWaits]) {
    if (w.fut._loop.isRunning()) continue;
    idleWaits.delete(w);
    w.fail(
      new RuntimeError(
        `asyncio-ts: the program waits on ${w.fut._describe()} outside any running event loop, and nothing will run that ` +
          "loop: nothing can give it its outcome. Await it in the function given to await run(async () => { ... }) (or to a loop's runUntilComplete(...)).",
      ),
    );
  }
}

/** The awaiting code of `w` is given the outcome now: false if it was failed already (then it must not be). @internal */
export function endIdleWait(w: IdleWait): boolean {
  return idleWaits.delete(w);
}

