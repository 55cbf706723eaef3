/**
 * Handles: a callback scheduled on the loop, which can be cancelled before it runs.
 *
 * A handle's repr is CPython's without the source position JavaScript cannot give (`<Handle cb() at
 * file:line>` there): `<Handle tick()>`, `<Handle cancelled>`, `<TimerHandle when=12.5 tick()>` (when in
 * the loop's ms), `<TimerHandle cancelled when=12.5>`.
 *
 * In debug mode a callback that runs longer than the loop's `slowCallbackDuration` is reported as a slow
 * task step is (`EventLoop._finishStepBookkeeping`): `Executing <Handle tick()> took 0.150 seconds`,
 * through the exception handler (CPython's `_run_once` logs `Executing %s took %.3f seconds` for every
 * handle, Lib/asyncio/base_events.py:2022 in 3.13; its reprs: events.py:51 and :120, `_repr_info`).
 * Measured here, in `_run`, behind one test of `loop._debug`: no cost outside debug mode. A future's
 * first done callback, run by the future itself (`Future._run`), is timed the same way. Rejected: timing
 * around every entry in the loop's driver (it runs task steps too, timed by the step, which outlives
 * `_run`: they would be reported twice, or as handles; and the driver's file is the kernel's busiest).
 *
 * @module
 */
import type { AsyncResource } from "node:async_hooks";
import type { EventLoop } from "./event-loop.js";
import type { Future, Runnable } from "./future.js";
import { Context, runInContext } from "./context.js";
import { performance } from "./real-timers.js";

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

/**
 * Call `fn(a, b)`, a callback nobody else reads the outcome of (a done callback, a listener): what it
 * throws, and the rejection of the promise it returns (an async callback), goes to `report`. @internal
 */
export function callReporting<A, B>(fn: (a: A, b: B) => unknown, a: A, b: B, report: (exception: unknown) => void): void {
  let r: unknown;
  try {
    r = fn(a, b);
  } catch (exception) {
    report(exception);
    return;
  }
  if (r instanceof Promise) r.then(undefined, report);
}

function reportCallbackError(h: Handle, cb: (...args: any[]) => unknown, exception: unknown): void {
  h._loop.callExceptionHandler({ message: `Exception in callback ${cb.name || "anonymous"}`, exception, handle: h });
}

/** Run `h` (its callback is set) in its context. */
function runHandle(h: Handle, cb: (...args: any[]) => void): void {
  const ctx = h._ctx;
  if (ctx === null) callHandle(h);
  else if (!(ctx instanceof Context)) runInContext(ctx, callHandle, h);
  else {
    try {
      ctx.run(callHandle, h);
    } catch (exception) {
      reportCallbackError(h, cb, exception); // (the context was entered already: CPython's RuntimeError)
    }
  }
}

/** Debug mode: run `h` and report it if it took `slowCallbackDuration` or longer (see the module's comment). */
function runTimed(h: Handle, cb: (...args: any[]) => void): void {
  const t0 = performance.now();
  runHandle(h, cb);
  reportIfSlow(h._loop, t0, h._repr(), { handle: h });
}

/**
 * Debug mode: report a callback started at `t0` (`performance.now()`) that ran `slowCallbackDuration` or
 * longer, as `Executing <repr> took 0.150 seconds` (CPython's `_run_once`). @internal
 */
export function reportIfSlow(loop: EventLoop, t0: number, repr: string, keys: { handle?: Handle; future?: Future<unknown> }): void {
  const dt = performance.now() - t0;
  if (dt >= loop._slowCallbackDuration) {
    loop.callExceptionHandler({ message: `Executing ${repr} took ${(dt / 1000).toFixed(3)} seconds`, ...keys });
  }
}

/** A callback's name for a repr (`anonymous` for none); never throws (a `name` getter may). @internal */
export function callbackName(fn: unknown): string {
  try {
    const name = (fn as { name?: unknown }).name;
    return typeof name === "string" && name !== "" ? name : "anonymous";
  } catch {
    return "anonymous";
  }
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
    if (this._loop._debug) runTimed(this, cb);
    else runHandle(this, cb);
  }
  /** @internal CPython's repr, without the source position: `<Handle tick()>`, `<Handle cancelled>` */
  _repr(): string {
    return this._cancelled ? "<Handle cancelled>" : `<Handle ${callbackName(this._callback)}()>`;
  }
  /** @internal */
  toString(): string {
    return this._repr();
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
  /** @internal `<TimerHandle when=12.5 tick()>`, `<TimerHandle cancelled when=12.5>` (as CPython's) */
  override _repr(): string {
    return this._cancelled ? `<TimerHandle cancelled when=${this._when}>` : `<TimerHandle when=${this._when} ${callbackName(this._callback)}()>`;
  }
  override cancel(): void {
    if (!this._cancelled) {
      super.cancel();
      this._loop._timerCancelled(this);
    }
  }
}
