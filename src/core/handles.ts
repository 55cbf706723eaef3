/**
 * Handles: a callback scheduled on the loop, which can be cancelled before it runs.
 *
 * @module
 */
import type { AsyncResource } from "node:async_hooks";
import type { EventLoop } from "./event-loop.js";
import type { Runnable } from "./future.js";
import { runInContext } from "./context.js";

function callHandle(h: Handle): void {
  const cb = h._callback!;
  if (h._args === null) cb(h._arg);
  else cb(...h._args);
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
  /** @internal the context the callback runs in (context.ts), when one was captured or given */
  _ctx: AsyncResource | null = null;
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
    try {
      if (this._ctx !== null) runInContext(this._ctx, callHandle, this);
      else if (this._args === null) cb(this._arg);
      else cb(...this._args);
    } catch (exception) {
      this._loop.callExceptionHandler({
        message: `Exception in callback ${cb.name || "anonymous"}`,
        exception,
        handle: this,
      });
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
