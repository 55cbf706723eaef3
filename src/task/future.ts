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
 * @module
 */
import { CancelledError, InvalidStateError, RuntimeError, describe } from "../errors.js";
import type { EventLoop } from "../loop/event-loop.js";
import { getEventLoop } from "../loop/running.js";
import { taskStorage } from "./current.js";
import { soon } from "./microtask.js";
import { Chain } from "./chain.js";

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
  /** @internal */ _state: FutureState = "PENDING";
  /** @internal */ _result: T | undefined = undefined;
  /** @internal */ _exception: unknown = undefined;
  /** @internal set when an exception is stored; cleared when anyone looks at it */
  _hasException = false;
  /** @internal */ _cancelMessage: string | undefined = undefined;
  /**
   * @internal the `CancelledError` a task ended with (CPython's `_cancelled_exc`): the first awaiter or
   * reader of the outcome gets this very error (its message included); later ones get a fresh
   * `CancelledError` made from `_cancelMessage`.
   */
  _cancelledExc: CancelledError | null = null;
  /** @internal the loop that runs this future's callbacks */
  readonly _loop: EventLoop;
  /** @internal callbacks to schedule on completion: undefined while none (allocated on first use), null once scheduled */
  _callbacks: Array<DoneCallback<any> | Runnable> | null | undefined = undefined;
  /** @internal the last gather() call that saw this future (dedupes repeated arguments) */
  _gatherStamp = 0;
  /** @internal true while an exception is stored that nobody has retrieved */
  _logTraceback = false;

  constructor(options: { loop?: EventLoop } = {}) {
    this._loop = options.loop ?? getEventLoop();
  }

  /** The loop this future is bound to. */
  getLoop(): EventLoop {
    return this._loop;
  }

  /** True once the future has a result, an exception, or was cancelled. */
  done(): boolean {
    return this._state !== "PENDING";
  }

  /** True if the future was cancelled. */
  cancelled(): boolean {
    return this._state === "CANCELLED";
  }

  /**
   * Cancel the future and schedule its callbacks. Returns false if it was already done.
   * @param msg a message carried by the `CancelledError` that awaiters receive
   */
  cancel(msg?: string): boolean {
    // As CPython: asking to cancel counts as having looked at the outcome (no "never retrieved" report).
    this._markRetrieved();
    if (this._state !== "PENDING") return false;
    this._state = "CANCELLED";
    this._cancelMessage = msg;
    this._scheduleCallbacks();
    return true;
  }

  /** Mark the future done with a result. Throws `InvalidStateError` if it is already done. */
  setResult(result: T): void {
    if (this._state !== "PENDING") {
      throw new InvalidStateError(`invalid state: ${this._state}: ${this._repr()}`);
    }
    this._result = result;
    this._state = "FINISHED";
    this._scheduleCallbacks();
  }

  /** Mark the future done with an exception. Throws `InvalidStateError` if it is already done. */
  setException(exception: unknown): void {
    if (this._state !== "PENDING") {
      throw new InvalidStateError(`invalid state: ${this._state}: ${this._repr()}`);
    }
    this._exception = exception;
    this._hasException = true;
    this._state = "FINISHED";
    this._logTraceback = true;
    this._scheduleCallbacks();
    this._loop._noteUnretrieved(this);
  }

  /**
   * The result; throws the exception if one was set, `CancelledError` if cancelled, and
   * `InvalidStateError` if the future is not done yet.
   */
  result(): T {
    if (this._state === "CANCELLED") throw this._makeCancelledError();
    if (this._state !== "FINISHED") throw new InvalidStateError("Result is not ready.");
    this._markRetrieved();
    if (this._hasException) throw this._exception;
    return this._result as T;
  }

  /**
   * The exception set on the future, or `undefined` if it finished with a result. Throws
   * `CancelledError` if cancelled and `InvalidStateError` if not done.
   */
  exception(): unknown {
    if (this._state === "CANCELLED") throw this._makeCancelledError();
    if (this._state !== "FINISHED") throw new InvalidStateError("Exception is not set.");
    this._markRetrieved();
    return this._hasException ? this._exception : undefined;
  }

  /**
   * Run `fn(future)` through the loop once the future is done (immediately scheduled if it already is).
   */
  addDoneCallback(fn: DoneCallback<this>): void {
    if (typeof fn !== "function") {
      throw new TypeError(`Expected fn to be a function, got ${describe(fn)}`);
    }
    if (this._callbacks === null) this._loop._callSoon1(fn, this);
    else (this._callbacks ??= []).push(fn);
  }

  /** Remove every registration of `fn`; returns how many were removed. */
  removeDoneCallback(fn: DoneCallback<this>): number {
    if (!this._callbacks) return 0;
    const before = this._callbacks.length;
    this._callbacks = this._callbacks.filter((cb) => cb !== (fn as unknown));
    return before - this._callbacks.length;
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
  _await(awaiter: Awaiter): void {
    const task = taskStorage.getStore();
    if (this._state !== "PENDING") {
      // A done future does not suspend the awaiting task (as in CPython); continue in a microtask.
      this._markRetrieved();
      if (this._state === "CANCELLED") {
        const err = this._makeCancelledError();
        soon(() => awaiter._deliver(false, err));
      } else if (this._hasException) {
        const err = this._exception;
        soon(() => awaiter._deliver(false, err));
      } else {
        const v = this._result;
        soon(() => awaiter._deliver(true, v));
      }
      return;
    }
    if (task !== undefined && !task.done()) {
      if ((task as unknown) === this) {
        soon(() => awaiter._deliver(false, new RuntimeError("Task cannot await on itself")));
        return;
      }
      if (task._loop !== this._loop) {
        soon(() =>
          awaiter._deliver(false, new RuntimeError(`Task ${task.getName()} got Future attached to a different loop`)),
        );
        return;
      }
      task._suspendOn(this, awaiter);
      return;
    }
    if (this._loop.isClosed()) {
      soon(() => awaiter._deliver(false, new RuntimeError(`Cannot await ${this._repr()}: its event loop is closed`)));
      return;
    }
    // Not awaited by a task of ours: deliver through the loop.
    const cb = (f: Future<T>): void => f._deliverTo(awaiter);
    (cb as OutsideAwaiter)._outside = awaiter;
    this._pushCallback(cb);
  }

  /** Reject every awaiter that is not a task (the loop closed under them). @internal */
  _rejectOutsideAwaiters(error: unknown): void {
    const cbs = this._callbacks;
    if (!cbs) return;
    this._callbacks = cbs.filter((cb) => {
      const d = (cb as OutsideAwaiter)._outside;
      if (d === undefined) return true;
      soon(() => d._deliver(false, error));
      return false;
    });
  }

  /** @internal */
  _pushCallback(cb: DoneCallback<any> | Runnable): void {
    if (this._callbacks !== null) (this._callbacks ??= []).push(cb);
    else if (typeof cb === "function") this._loop._callSoon1(cb, this);
    else this._loop._pushRunnable(cb);
  }

  /** Give this (done) future's outcome to an awaiter. @internal */
  _deliverTo(awaiter: Awaiter): void {
    this._markRetrieved();
    if (this._state === "CANCELLED") awaiter._deliver(false, this._makeCancelledError());
    else if (this._hasException) awaiter._deliver(false, this._exception);
    else awaiter._deliver(true, this._result);
  }

  /** Nobody needs to be told about this future's exception any more. @internal */
  _markRetrieved(): void {
    if (this._logTraceback) {
      this._logTraceback = false;
      this._loop._retrieved(this);
    }
  }

  /** @internal */
  _makeCancelledError(): CancelledError {
    const exc = this._cancelledExc;
    if (exc !== null) {
      this._cancelledExc = null;
      return exc;
    }
    return new CancelledError(this._cancelMessage ?? "");
  }

  /** @internal */
  _scheduleCallbacks(): void {
    this._loop._tracer?.onFutureDone(this);
    const cbs = this._callbacks;
    this._callbacks = null;
    if (!cbs) return;
    for (let i = 0; i < cbs.length; i++) {
      const cb = cbs[i]!;
      // A task's wake-up is its own ready-queue entry (no Handle, no argument array).
      if (typeof cb === "function") this._loop._callSoon1(cb, this);
      else this._loop._pushRunnable(cb);
    }
  }

  /** @internal */
  _repr(): string {
    const state = this._state.toLowerCase();
    if (this._state === "FINISHED") {
      return this._hasException ? `<Future finished exception=${String(this._exception)}>` : `<Future finished result=${String(this._result)}>`;
    }
    return `<Future ${state}>`;
  }

  /** @internal */
  toString(): string {
    return this._repr();
  }
}

type OutsideAwaiter = { _outside?: Awaiter };

/** How an outcome reaches an awaiter: `(true, value)` or `(false, error)`. @internal */
export interface Awaiter {
  _deliver(ok: boolean, value: unknown): void;
}

/** An entry of the loop's ready queue other than a `Handle` (a task's first step, a wake-up). @internal */
export interface Runnable {
  readonly _cancelled: boolean;
  _run(): void;
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
