/**
 * Handles: a callback scheduled on the loop, which can be cancelled before it runs.
 *
 * @module
 */
import type { AsyncResource } from "node:async_hooks";
import type { EventLoop } from "./event-loop.js";
import type { Runnable } from "./future.js";
import { Context, runInContext } from "./context.js";

/**
 * Call the handle's callback; its error goes to the loop's exception handler, from inside the callback's
 * context (so the handler sees what the callback set, as CPython's runs in the handle's context). An
 * async function's rejection goes there too: nobody else can read it (CPython refuses coroutine
 * functions in `call_soon` in debug mode, and never runs them otherwise).
 */
function callHandle(h: Handle): void {
  const cb = h._callback!;
  let r: unknown;
  try {
    r = h._args === null ? cb(h._arg) : cb(...h._args);
  } catch (exception) {
    reportCallbackError(h, cb, exception);
    return;
  }
  if (r instanceof Promise) r.then(undefined, (exception: unknown) => reportCallbackError(h, cb, exception));
}

function reportCallbackError(h: Handle, cb: (...args: any[]) => unknown, exception: unknown): void {
  h._loop.callExceptionHandler({ message: `Exception in callback ${cb.name || "anonymous"}`, exception, handle: h });
}

/**
 * A callback scheduled with `callSoon`. Cancelling it before it runs means it never runs.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const h = getRunningLoop().callSoon(() => console.log("never"));
 *   h.cancel();
 *   await sleep(0);
 *   console.log(h.cancelled()); // true
 * });
 * ```
 */
export class Handle implements Runnable {
  /** @internal */ _callback: ((...args: any[]) => void) | null;
  /** @internal the arguments; null when there is exactly one, in `_arg` (no array for done callbacks) */
  _args: readonly unknown[] | null;
  /** @internal */ _arg: unknown;
  /** @internal */ _cancelled = false;
  /** @internal */ readonly _loop: EventLoop;
  /** @internal the next entry of the loop's ready list (see `EventLoop`) */
  _rnext: Runnable | null = null;
  /** @internal the context the callback runs in (context.ts): captured, or given (entered as `Context.run` does) */
  _ctx: AsyncResource | Context | null = null;
  constructor(callback: (...args: any[]) => void, args: readonly unknown[] | null, loop: EventLoop, arg?: unknown) {
    this._callback = callback;
    this._args = args;
    this._arg = arg;
    this._loop = loop;
  }
  /** Prevent the callback from running. Does nothing if it already ran. */
  cancel(): void {
    if (!this._cancelled) {
      this._cancelled = true;
      this._callback = null;
      this._args = null;
      this._arg = undefined;
    }
  }
  /** True once `cancel()` was called. */
  cancelled(): boolean {
    return this._cancelled;
  }
  /** Run the callback; its errors go to the loop's exception handler. @internal */
  _run(): void {
    const cb = this._callback;
    if (cb === null) return;
    const ctx = this._ctx;
    if (ctx === null) callHandle(this);
    else if (!(ctx instanceof Context)) runInContext(ctx, callHandle, this);
    else {
      try {
        ctx.run(callHandle, this);
      } catch (exception) {
        reportCallbackError(this, cb, exception); // (the context was entered already: CPython's RuntimeError)
      }
    }
  }
}

/**
 * A callback scheduled with `callLater` or `callAt`, due at {@link TimerHandle.when}.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop } from "asyncio-ts";
 * await run(async () => {
 *   const loop = getRunningLoop();
 *   const h = loop.callLater(100, () => console.log("late"));
 *   console.log(h.when() - loop.time()); // 100
 *   h.cancel();
 * }, { virtualTime: true });
 * ```
 */
export class TimerHandle extends Handle {
  /** @internal */ readonly _when: number;
  /** Scheduling order (diagnostics; ties between equal deadlines follow the heap, as in CPython). @internal */
  readonly _seq: number;
  /** @internal true while the handle is in the loop's timer heap (CPython's `_scheduled`) */
  _scheduled = false;
  constructor(when: number, seq: number, callback: (...args: any[]) => void, args: readonly unknown[], loop: EventLoop) {
    super(callback, args, loop);
    this._when = when;
    this._seq = seq;
  }
  /** The loop time (ms) at which the callback is due. */
  when(): number {
    return this._when;
  }
  override cancel(): void {
    if (!this._cancelled) {
      super.cancel();
      this._loop._timerCancelled(this);
    }
  }
}
