/**
 * Future: a result that will be set later, with CPython's states (pending, cancelled, finished).
 *
 * A Future is awaitable (`PromiseLike`). Awaiting it is how a task suspends: when JavaScript's `await`
 * calls our `then`, we learn which task awaits (see `current.ts`), record the future as that task's
 * waiter (so cancelling the task cancels the future) and tell the loop that the task's step has
 * suspended. When the future completes, the task's wake-up is scheduled with `callSoon`, exactly as
 * CPython's `Future.__schedule_callbacks` schedules `Task.__wakeup`: the task resumes one loop iteration
 * later, behind what was already ready.
 *
 * Anything can be thrown in JavaScript, `undefined` included, so whether a future failed is its own state
 * (`ST_HAS_EXCEPTION`, `_hasException`), never `exception() !== undefined`: a task whose function throws
 * `undefined` has failed. `setException` (what user code settles by hand, on any future class) refuses
 * `undefined` and `null` (CPython's "invalid exception object": a value that says nothing is almost
 * always a mistake) and instantiates an Error class (as CPython instantiates an exception class); the
 * library's relays of a thrown value (a task's end, gather, shield, a promise's rejection, an executor's
 * or a job's failure, a stream reader's error) take any value, as it was thrown: a task calls
 * `_finishException`, the others `_relayException`. Rejected: checking on plain futures only (a gather's
 * or an executor's future would take `setException(undefined)` from user code); relaying through
 * `setException` with a flag to skip the check (a subclass that refuses `setException`, a job's future,
 * could not relay at all).
 * Reprs show values through `reprValue` (readable, bounded, never throws: see exception-handler.ts).
 *
 * @module
 */
import { CancelledError, InvalidStateError, RuntimeError } from "./errors.js";
import { checkOptions, describe } from "./check.js";
import { reprValue } from "./exception-handler.js";
import type { EventLoop } from "./event-loop.js";
import { currentLoop, endIdleWait, noteWaitOnIdleLoop } from "./running.js";
import { awaitSiteNow, callerStrand, inElementJob, recordingSites, type StrandLike } from "./current.js";
import { F_FIRST_STEP } from "./task-flags.js";
import { soon } from "./microtask.js";
import { Chain, setFutureClass } from "./chain.js";
import { callReporting, reportIfSlow } from "./handles.js";
import { performance } from "./real-timers.js";
import type { Task } from "./task.js";
import { Context, captureContext, contextState, runInContext } from "./context.js";

/** On a done callback run in a context: the function the program gave (`removeDoneCallback` finds it). */
const USER_FN: unique symbol = Symbol("asyncio-ts.userFn");

function inContext<F>(fn: DoneCallback<F>, run: DoneCallback<F>): DoneCallback<F> {
  Object.defineProperty(run, "name", { value: fn.name }); // (reports name the program's callback)
  (run as { [USER_FN]?: unknown })[USER_FN] = fn;
  return run;
}

const NO_OPTIONS: { loop?: EventLoop } = Object.freeze({});
const FUTURE_OPTIONS = ["loop"] as const;
const NO_FUTURES: readonly Future<unknown>[] = Object.freeze([]);

/** `Future._st`: the state in the low two bits, then flags. @internal */
export const ST_PENDING = 0;
/** @internal */ export const ST_FINISHED = 1;
/** @internal */ export const ST_CANCELLED = 2;
/** @internal */ export const ST_MASK = 3;
/** @internal `_value` is an exception */ export const ST_HAS_EXCEPTION = 4;
/** @internal an exception that nobody has retrieved yet */ export const ST_LOG_TRACEBACK = 8;
const STATE_NAMES: readonly FutureState[] = ["PENDING", "FINISHED", "CANCELLED"];

/** A future's state, named as in CPython. */
export type FutureState = "PENDING" | "CANCELLED" | "FINISHED";

/** A callback run (through the loop) once the future is done. */
export type DoneCallback<F> = (future: F) => void;

/**
 * A value that will be available later; awaitable. Usually made with `loop.createFuture()`.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop } from "asyncio-ts";
 * await run(async () => {
 *   const loop = getRunningLoop();
 *   const fut = loop.createFuture<string>();
 *   loop.callLater(10, () => fut.setResult("ready"));
 *   console.log(await fut); // "ready"
 * }, { virtualTime: true });
 * ```
 */
export class Future<T = unknown> implements PromiseLike<T> {
  /**
   * @internal the state (`ST_PENDING`, `ST_FINISHED` or `ST_CANCELLED` in the low bits) and the flags
   * `ST_HAS_EXCEPTION` (`_value` is an exception) and `ST_LOG_TRACEBACK` (an exception nobody has
   * retrieved yet). One small integer instead of four fields: 100,000 pending futures are common.
   */
  _st = ST_PENDING;
  /**
   * @internal the outcome: the result; or, with `ST_HAS_EXCEPTION`, the exception; or, when cancelled,
   * the cancel message (a string or undefined) or the `CancelledError` a task ended with (CPython's
   * `_cancelled_exc`: the first reader of the outcome gets this very error, later ones a fresh one
   * without a message).
   */
  _value: unknown = undefined;
  /** @internal the loop that runs this future's callbacks */
  readonly _loop: EventLoop;
  /**
   * @internal the callbacks to schedule on completion: null when none, the callback itself when one (a
   * done callback, or a ready-queue entry such as a task's wake-up), an array (in order) when several.
   * Once scheduled: null, or the one function callback that `_run` will call.
   */
  _cb: DoneCallback<any> | Runnable | Array<DoneCallback<any> | Runnable> | null = null;
  /**
   * @internal the next entry of the loop's ready list: a done future is the ready-queue entry that runs
   * its first callback when that is a function (no Handle for it); see `_run`.
   */
  _rnext: Runnable | null = null;
  /** @internal always false: see the prototype property below this class */
  declare readonly _cancelled: boolean;
  /**
   * @internal what this future is, for `_describe()`, set where it is made (`"Lock.acquire"`, `"executor
   * job 3 on ThreadPoolExecutor-1_0"`); undefined on the prototype (no field per future)
   */
  declare _label: string | undefined;
  /**
   * @internal true for a future whose outcome must reach its reader through `then` (a primitive's
   * waiter that finishes the acquisition when the waiting code resumes); `ensureFuture` wraps such a
   * future in a task instead of handing it to combinators that read it directly. False on the prototype.
   */
  declare readonly _awaitOnly: boolean;

  /**
   * @param options `loop`: the loop to bind to (default: the running loop, else the current one). Options
   *   that are not an object, an unknown option, or a `loop` that is not an `EventLoop` are a `TypeError`
   *   (as `createTask`'s).
   * @param loop (internal) the loop, passed directly by subclasses to save an options object
   */
  constructor(options: { loop?: EventLoop } = NO_OPTIONS, loop?: EventLoop) {
    this._loop = loop ?? (options === NO_OPTIONS ? currentLoop("new Future()") : loopOption(options));
  }

  /** @internal the state, named as in CPython */
  get _state(): FutureState {
    return STATE_NAMES[this._st & ST_MASK]!;
  }

  /** @internal true when the future finished with an exception */
  get _hasException(): boolean {
    return (this._st & ST_HAS_EXCEPTION) !== 0;
  }

  /** @internal the result (undefined unless finished with one) */
  get _result(): T | undefined {
    return (this._st & (ST_MASK | ST_HAS_EXCEPTION)) === ST_FINISHED ? (this._value as T) : undefined;
  }

  /** @internal the exception (undefined unless finished with one) */
  get _exception(): unknown {
    return (this._st & ST_HAS_EXCEPTION) !== 0 ? this._value : undefined;
  }

  /** @internal the cancel message (undefined unless cancelled with one) */
  get _cancelMessage(): string | undefined {
    return (this._st & ST_MASK) === ST_CANCELLED && typeof this._value === "string" ? this._value : undefined;
  }

  /** @internal true while an exception is stored that nobody has retrieved */
  get _logTraceback(): boolean {
    return (this._st & ST_LOG_TRACEBACK) !== 0;
  }
  set _logTraceback(v: boolean) {
    this._st = v ? this._st | ST_LOG_TRACEBACK : this._st & ~ST_LOG_TRACEBACK;
  }

  /** The loop this future is bound to. */
  getLoop(): EventLoop {
    return this._loop;
  }

  /** True once the future has a result, an exception, or was cancelled. */
  done(): boolean {
    return this._st !== ST_PENDING;
  }

  /** True if the future was cancelled. */
  cancelled(): boolean {
    return (this._st & ST_MASK) === ST_CANCELLED;
  }

  /**
   * Cancel the future and schedule its callbacks. Returns false if it was already done.
   * @param msg a message carried by the `CancelledError` that awaiters receive
   */
  cancel(msg?: string): boolean {
    // As CPython: asking to cancel counts as having looked at the outcome (no "never retrieved" report).
    this._markRetrieved();
    if (this._st !== ST_PENDING) return false;
    // (checked as Task.cancel checks it; CPython takes any msg, but a CancelledError's message is a string)
    if (msg !== undefined && typeof msg !== "string") throw new TypeError(`Expected msg to be a string, got ${describe(msg)}`);
    this._st = ST_CANCELLED;
    this._value = msg;
    this._scheduleCallbacks();
    return true;
  }

  /** Mark the future done with a result. Throws `InvalidStateError` if it is already done. */
  setResult(result: T): void {
    if (this._st !== ST_PENDING) {
      throw new InvalidStateError(`invalid state: ${this._state}: ${this._repr()}`);
    }
    this._value = result;
    this._st = ST_FINISHED;
    this._scheduleCallbacks();
  }

  /**
   * Mark the future done with an exception. Throws `InvalidStateError` if it is already done.
   * `undefined` or `null` is a `TypeError` (CPython's "invalid exception object"), and an Error class is
   * instantiated (as CPython instantiates an exception class): `setException(TimeoutError)` stores
   * `new TimeoutError()`. Any other value may be thrown in JavaScript and is kept as it is.
   */
  setException(exception: unknown): void {
    if (this._st !== ST_PENDING) {
      throw new InvalidStateError(`invalid state: ${this._state}: ${this._repr()}`);
    }
    // (CPython's futures.py `set_exception`: `if isinstance(exception, type): exception = exception()`,
    // then `TypeError("invalid exception object")` for what is not an exception.) On every future class:
    // the library's relays of a thrown value call `_relayException`, which takes anything.
    if (exception === undefined || exception === null) {
      throw new TypeError(`Expected exception to be an error or a thrown value other than undefined, got ${describe(exception)}`);
    }
    if (isErrorClass(exception)) exception = new exception();
    this._finishException(exception);
  }

  /**
   * Mark the future done with a value that was thrown, whatever it is (`undefined` too: a relay of another
   * future's exception, or of a promise's rejection). Throws `InvalidStateError` if already done. @internal
   */
  _relayException(exception: unknown): void {
    if (this._st !== ST_PENDING) {
      throw new InvalidStateError(`invalid state: ${this._state}: ${this._repr()}`);
    }
    this._finishException(exception);
  }

  /** Finish with an exception (the future is pending). @internal */
  _finishException(exception: unknown): void {
    this._value = exception;
    this._st = ST_FINISHED | ST_HAS_EXCEPTION | ST_LOG_TRACEBACK;
    // (noted before the callbacks are scheduled: a done-path callback may retrieve it at once)
    this._loop._failures.note(this);
    this._scheduleCallbacks();
  }

  /**
   * The result; throws the exception if one was set, `CancelledError` if cancelled, and
   * `InvalidStateError` if the future is not done yet.
   */
  result(): T {
    const st = this._st & ST_MASK;
    if (st === ST_CANCELLED) throw this._makeCancelledError();
    if (st !== ST_FINISHED) throw new InvalidStateError("Result is not ready.");
    this._markRetrieved();
    if ((this._st & ST_HAS_EXCEPTION) !== 0) throw this._value;
    return this._value as T;
  }

  /**
   * The exception set on the future, or `undefined` if it finished with a result. Throws
   * `CancelledError` if cancelled and `InvalidStateError` if not done. (A task whose function threw
   * `undefined` failed, yet this returns `undefined`: `result()` throws it. Library code tests
   * `_hasException`.)
   */
  exception(): unknown {
    const st = this._st & ST_MASK;
    if (st === ST_CANCELLED) throw this._makeCancelledError();
    if (st !== ST_FINISHED) throw new InvalidStateError("Exception is not set.");
    this._markRetrieved();
    return (this._st & ST_HAS_EXCEPTION) !== 0 ? this._value : undefined;
  }

  /**
   * Run `fn(future)` through the loop once the future is done (immediately scheduled if it already is),
   * in a copy of the context current now, or as `context.run(fn, future)` when `{ context }` is given
   * (CPython's `add_done_callback(fn, *, context=None)`).
   */
  addDoneCallback(fn: DoneCallback<this>, options?: { context?: Context }): void {
    if (typeof fn !== "function") {
      throw new TypeError(`Expected fn to be a function, got ${describe(fn)}`);
    }
    let context: Context | undefined;
    if (options !== undefined) {
      checkOptions(options, ["context"], "addDoneCallback()");
      context = options.context;
      if (context !== undefined && !(context instanceof Context)) {
        throw new TypeError(`Expected context to be a Context (copyContext()), got ${describe(context)}`);
      }
    }
    if (context !== undefined) this._pushCallback(inContext(fn, (f) => context.run(fn, f)));
    else if (contextState.inUse) {
      // (the context now, not the one of whoever completes the future: CPython's copy_context() at add)
      const ctx = captureContext()!;
      this._pushCallback(inContext(fn, (f) => runInContext(ctx, fn, f)));
    } else this._pushCallback(fn);
  }

  /** Remove every registration of `fn`; returns how many were removed. */
  removeDoneCallback(fn: DoneCallback<this>): number {
    if (this._st !== ST_PENDING) return 0; // already scheduled (as CPython: nothing left to remove)
    const all = this._callbackList();
    const kept = all.filter((cb) => cb !== (fn as unknown) && (cb as { [USER_FN]?: unknown })[USER_FN] !== fn);
    this._setCallbackList(kept);
    return all.length - kept.length;
  }

  /** The registered callbacks of a pending future, in order (a fresh array). @internal */
  _callbackList(): Array<DoneCallback<any> | Runnable> {
    const cb = this._cb;
    return cb === null ? [] : Array.isArray(cb) ? cb.slice() : [cb];
  }

  /** Replace the registered callbacks of a pending future. @internal */
  _setCallbackList(cbs: Array<DoneCallback<any> | Runnable>): void {
    this._cb = cbs.length === 0 ? null : cbs.length === 1 ? cbs[0]! : cbs;
  }

  /** True if `cb` is the callback registered last (gather's duplicate check). @internal */
  _lastCallbackIs(cb: DoneCallback<any>): boolean {
    const c = this._cb;
    return c === cb || (Array.isArray(c) && c[c.length - 1] === cb);
  }

  /**
   * Await support. Called by JavaScript's `await` (and by `.then()` chains).
   *
   * If a task awaits, the task registers this future as what it waits for; the continuation runs in
   * the task's next step. Otherwise the continuation is delivered through the loop like any callback.
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Chain<R1 | R2> {
    // A Chain, not a Promise: `await` throws the returned value away, so the promise is made only if
    // someone observes it (see chain.ts).
    const chain = new Chain<R1 | R2>(onFulfilled, onRejected);
    this._await(chain);
    return chain;
  }

  /** `catch` for convenience, as on a Promise. */
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Chain<T | R> {
    return this.then(undefined, onRejected);
  }

  /** `finally` for convenience, as on a Promise. */
  finally(onFinally?: (() => void) | null): Chain<T> {
    return this.then(
      (v) => {
        onFinally?.();
        return v;
      },
      (e) => {
        onFinally?.();
        throw e;
      },
    );
  }

  /** Register an awaiter. @internal */
  _await(awaiter: Chain<unknown>): void {
    // (small, so that the engine inlines it: the usual case is a pending future awaited by a task)
    if (this._st !== ST_PENDING) {
      this._awaitDone(awaiter);
      return;
    }
    // A plain callback run by the loop is not a task's code, whatever async context it runs in.
    const strand = callerStrand();
    if (strand !== null) {
      const task = strand._task;
      if (task._st === ST_PENDING) {
        if (recordingSites()) task._extras().awaitSite = awaitSiteNow();
        if (task._loop === this._loop && task._flags === 0 && this._loop._nEager === 0 && (task as unknown) !== this) {
          task._suspendOn(strand, this, awaiter, inElementJob(this));
        } else this._awaitByTask(strand, task, awaiter);
        return;
      }
      if (task._loop === this._loop && this._loop.isRunning()) {
        // code of a done task still running (a chain it started and did not wait for): registered, so
        // that run()'s shutdown can cancel it and wait for it, as CPython's eager task would be
        task._suspendOrphan(strand, this, awaiter);
        return;
      }
    }
    this._awaitOutside(awaiter);
  }

  /** A done future does not suspend the awaiting task (as in CPython); continue in a microtask. */
  private _awaitDone(awaiter: Chain<unknown>): void {
    this._markRetrieved();
    if ((this._st & ST_MASK) === ST_CANCELLED) {
      const err = this._makeCancelledError();
      soon(() => awaiter._deliver(false, err));
    } else if ((this._st & ST_HAS_EXCEPTION) !== 0) {
      const err = this._value;
      soon(() => awaiter._deliver(false, err));
    } else {
      const v = this._value;
      soon(() => awaiter._deliver(true, v));
    }
  }

  /** The rarer cases of an await by a task: itself, another loop, eager first steps in progress. */
  private _awaitByTask(strand: StrandLike, task: Task<unknown>, awaiter: Chain<unknown>): void {
    if ((task as unknown) === this) {
      soon(() => awaiter._deliver(false, new RuntimeError("Task cannot await on itself")));
      return;
    }
    if (task._loop !== this._loop) {
      soon(() => awaiter._deliver(false, new RuntimeError(`Task ${task.getName()} got Future attached to a different loop`)));
      return;
    }
    if ((task._flags & F_FIRST_STEP) !== 0 || this._loop._nEager > 0) {
      // Eager first steps of tasks made from running work are in progress: that work may finish this
      // future within the microtasks still queued (CPython runs it all synchronously, and would find
      // the future done). The loop decides once they have run (`EventLoop._deferAwait`).
      this._loop._deferAwait(this, strand, awaiter, inElementJob(this));
      return;
    }
    task._suspendOn(strand, this, awaiter, inElementJob(this));
  }

  /** Not awaited by a task of ours: deliver through the loop. */
  private _awaitOutside(awaiter: Chain<unknown>): void {
    if (this._loop.isClosed()) {
      soon(() => awaiter._deliver(false, new RuntimeError(`Cannot await ${this._repr()}: its event loop is closed`)));
      return;
    }
    const loop = this._loop;
    const idle = loop.isRunning() ? null : noteWaitOnIdleLoop(this, (e) => soon(() => awaiter._deliver(false, e)));
    // (while pending, the loop knows it: if it closes first, this code fails instead of waiting for ever)
    loop._outsideWaits.add(this as Future<unknown>);
    const cb = (f: Future<T>): void => {
      loop._outsideWaits.delete(f as Future<unknown>);
      if (idle !== null && !endIdleWait(idle)) return; // (failed already: the process was about to exit)
      f._deliverTo(awaiter);
    };
    (cb as OutsideAwaiter)._outside = awaiter;
    this._pushCallback(cb);
  }

  /**
   * The loop closed with this future pending: the code awaiting it outside tasks fails with `error` (a
   * later await fails too: `_awaitOutside`), as a pending task's does. A primitive's waiter also leaves
   * its queue (`Waiter`). @internal
   */
  _abandon(error: unknown): void {
    this._rejectOutsideAwaiters(error);
  }

  /** Reject every awaiter that is not a task (the loop closed under them). @internal */
  _rejectOutsideAwaiters(error: unknown): void {
    if (this._st !== ST_PENDING) return;
    const kept = this._callbackList().filter((cb) => {
      const d = (cb as OutsideAwaiter)._outside;
      if (d === undefined) return true;
      soon(() => d._deliver(false, error));
      return false;
    });
    this._setCallbackList(kept);
  }

  /** Register a callback, or schedule it at once if the future is done. @internal */
  _pushCallback(cb: DoneCallback<any> | Runnable): void {
    if (this._st !== ST_PENDING) {
      if (typeof cb === "function") this._loop._callSoon1(cb, this);
      else this._loop._pushRunnable(cb);
      return;
    }
    const c = this._cb;
    if (c === null) this._cb = cb;
    else if (Array.isArray(c)) c.push(cb);
    else this._cb = [c, cb];
  }

  /** Give this (done) future's outcome to an awaiter. @internal */
  _deliverTo(awaiter: Awaiter): void {
    this._markRetrieved();
    const st = this._st;
    if ((st & ST_MASK) === ST_CANCELLED) awaiter._deliver(false, this._makeCancelledError());
    else awaiter._deliver((st & ST_HAS_EXCEPTION) === 0, this._value);
  }

  /** Nobody needs to be told about this future's exception any more. @internal */
  _markRetrieved(): void {
    if ((this._st & ST_LOG_TRACEBACK) !== 0) {
      this._st &= ~ST_LOG_TRACEBACK;
      this._loop._failures.retrieved(this);
    }
  }

  /** @internal the CancelledError for a reader of a cancelled future's outcome */
  _makeCancelledError(): CancelledError {
    if ((this._st & ST_MASK) !== ST_CANCELLED) return new CancelledError(""); // (finished: no message)
    const v = this._value;
    if (v instanceof CancelledError) {
      this._value = undefined; // the next reader gets a fresh one, without a message (as CPython)
      return v;
    }
    return new CancelledError(typeof v === "string" ? v : "");
  }

  /** @internal */
  _scheduleCallbacks(): void {
    this._loop._tracer?.onFutureDone(this);
    const cbs = this._cb;
    if (cbs === null) return;
    // A task's wake-up is its own ready-queue entry; for a first callback that is a function, the
    // future itself is the entry (`_run` calls it, from `_cb`): no Handle, no argument array.
    const several = Array.isArray(cbs);
    const first = several ? cbs[0]! : cbs;
    if (typeof first === "function") {
      this._cb = first;
      this._loop._pushRunnable(this);
    } else {
      this._cb = null;
      this._loop._pushRunnable(first);
    }
    if (!several) return;
    for (let i = 1; i < cbs.length; i++) {
      const cb = cbs[i]!;
      if (typeof cb === "function") this._loop._callSoon1(cb, this);
      else this._loop._pushRunnable(cb);
    }
  }

  /**
   * Run as a ready-queue entry: call the first done callback (queued by `_scheduleCallbacks`). Its errors
   * go to the loop's exception handler, as a Handle's do. @internal
   */
  _run(): void {
    const cb = this._cb as DoneCallback<this> | null;
    this._cb = null;
    if (typeof cb !== "function") return;
    // (debug mode: timed as a Handle is, handles.ts; one test of a boolean otherwise)
    const t0 = this._loop._debug ? performance.now() : -1;
    callReporting(cb, this, undefined, (exception) => this._loop.callExceptionHandler({ message: `Exception in callback ${fnName(cb)}`, exception, future: this }));
    if (t0 >= 0) reportIfSlow(this._loop, t0, `<Handle ${fnName(cb)}()>`, { future: this as Future<unknown> });
  }

  /**
   * @internal true if this future may be finished by microtasks already queued (the work of a promise
   * that nothing could take over: `PromiseFuture`, and combinators of it), which `waitFor(x, 0)` lets run
   * before it decides, as CPython's eager task would have finished synchronously
   */
  _mayFinishSoon(): boolean {
    return false;
  }

  /**
   * @internal what a task waiting on this future waits on, in words, for task dumps, deadlock reports and
   * timelines: `Lock.acquire`, `sleep until 2000 ms`, `Task-3`. Subclasses say what they are; a plain
   * future says its class name.
   */
  _describe(): string {
    return this._label ?? (this.constructor.name || "Future");
  }

  /**
   * @internal the futures this one waits on itself, for call graphs (`awaited-by.ts`): none for a plain
   * future; a task's pending awaits, a gather's children, a shield's inner future
   */
  _awaits(): readonly Future<unknown>[] {
    return NO_FUTURES;
  }

  /** @internal */
  _repr(): string {
    const state = this._state.toLowerCase();
    if ((this._st & ST_MASK) === ST_FINISHED) {
      return this._hasException ? `<Future finished exception=${reprValue(this._exception)}>` : `<Future finished result=${reprValue(this._result)}>`;
    }
    return `<Future ${state}>`;
  }

  /** @internal */
  toString(): string {
    return this._repr();
  }
}

setFutureClass(Future); // (chain.ts tells a callback that returned a future of ours)

// A future queued as a ready-queue entry is never cancelled there (on the prototype: no field per future).
Object.defineProperty(Future.prototype, "_cancelled", { value: false, writable: false });
Object.defineProperty(Future.prototype, "_awaitOnly", { value: false, writable: false });
Object.defineProperty(Future.prototype, "_label", { value: undefined, writable: true });

type OutsideAwaiter = { _outside?: Awaiter };

/** The loop of `new Future(options)`: the `loop` option checked, else the running or current loop. */
function loopOption(options: { loop?: EventLoop }): EventLoop {
  const l = checkOptions(options, FUTURE_OPTIONS, "new Future()").loop;
  if (l === undefined) return currentLoop("new Future()");
  // (duck-typed: event-loop.ts imports this module, not the other way round)
  if (l === null || typeof l !== "object" || typeof (l as { _pushRunnable?: unknown })._pushRunnable !== "function") {
    throw new TypeError(`Expected loop to be an EventLoop, got ${describe(l)}`);
  }
  return l;
}

/** True for `Error` and its subclasses (a class given where an error is expected: CPython instantiates it). */
function isErrorClass(value: unknown): value is new () => Error {
  try {
    return typeof value === "function" && (value === Error || value.prototype instanceof Error);
  } catch {
    return false;
  }
}

/** A callback's name for a report; never throws (a `name` getter may). */
function fnName(fn: (...args: never[]) => unknown): string {
  try {
    return typeof fn.name === "string" && fn.name !== "" ? fn.name : "anonymous";
  } catch {
    return "anonymous";
  }
}

/** True for a done callback that gives a future's outcome to code outside tasks (`_awaitOutside`). @internal */
export function isOutsideDelivery(cb: unknown): cb is (f: Future<unknown>) => void {
  return typeof cb === "function" && (cb as OutsideAwaiter)._outside !== undefined;
}


/** How an outcome reaches an awaiter: `(true, value)` or `(false, error)`. @internal */
export interface Awaiter {
  _deliver(ok: boolean, value: unknown): void;
}

/** An entry of the loop's ready queue other than a `Handle` (a task's first step, a wake-up). @internal */
export interface Runnable {
  readonly _cancelled: boolean;
  _run(): void;
  /** the next entry of the loop's ready list; null when last or not queued */
  _rnext: Runnable | null;
}

/**
 * True for asyncio-ts futures and tasks.
 *
 * @example
 * ```ts
 * import { isFuture, run, getRunningLoop } from "asyncio-ts";
 * await run(async () => console.log(isFuture(getRunningLoop().createFuture()))); // true
 * ```
 */
export function isFuture(value: unknown): value is Future<unknown> {
  return value instanceof Future;
}
