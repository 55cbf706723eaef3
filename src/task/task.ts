/**
 * Task: a function running on the event loop, which can be named, awaited and cancelled.
 *
 * A task's life is a series of *steps*, as in CPython's `Task.__step`: the first step calls the
 * function; each later step resumes it after the future it awaited is done. The loop runs one step at
 * a time; a step ends when the function awaits a pending asyncio-ts awaitable (our `then` is called:
 * `_suspendOn`) or settles. Cancellation is delivered at the task's current await: the awaited future is
 * cancelled (which wakes the task with `CancelledError`), or, if the task is between awaits, a flag makes
 * its next step throw `CancelledError` instead of resuming normally.
 *
 * @module
 */
import { CancelledError, RuntimeError, describe } from "../errors.js";
import type { EventLoop } from "../loop/event-loop.js";
import { callbackContext, taskStorage } from "./current.js";
import { Future, type Awaiter, type Runnable } from "./future.js";
import { CancelScope } from "../time/cancel-scope.js";

let taskCounter = 0;

/** What `createTask` accepts: a function that returns a promise (or a value). */
export type TaskFunction<T> = () => PromiseLike<T> | T;

/** Options of `createTask`. */
export interface TaskOptions {
  /** The task's name; `Task-<n>` by default. */
  name?: string;
}

/**
 * A task: a function scheduled to run on the loop. Awaitable; cancellable.
 *
 * @example
 * ```ts
 * import { run, createTask, sleep, CancelledError } from "asyncio-ts";
 * await run(async () => {
 *   const t = createTask(async () => { await sleep(1000); return "done"; }, { name: "worker" });
 *   await sleep(10);
 *   t.cancel("enough");
 *   try { await t; } catch (e) { console.log(e instanceof CancelledError, t.cancelled()); } // true true
 * }, { virtualTime: true });
 * ```
 */
export class Task<T = unknown> extends Future<T> implements Runnable {
  /** @internal the function; null once started */
  _fn: TaskFunction<T> | null;
  /** @internal the name given, or null for the default `Task-<id>` (made when first asked for) */
  _name: string | null;
  /** @internal membership in the loop's pending-task list (task-set.ts) */
  _pendOwner: object | null = null;
  /** @internal */ _pendPrev: Task<unknown> | null = null;
  /** @internal */ _pendNext: Task<unknown> | null = null;
  /** @internal a number unique in the process (`Task-<id>` is the default name) */
  readonly _id: number;
  /** @internal a cancel was requested while the task had no future to cancel: throw at the next step */
  _mustCancel = false;
  /** @internal the cancel message for `_mustCancel` */
  _pendingCancelMessage: string | undefined = undefined;
  /** @internal how many cancel() calls are outstanding (CPython's `_num_cancels_requested`) */
  _numCancelsRequested = 0;
  /** @internal the futures this task is suspended on (CPython's `_fut_waiter`; several under Promise.all) */
  _waiters: Future<unknown>[] = [];
  /** @internal how many steps have begun (a step is a resumption driven by the loop) */
  _stepNo = 0;
  /** @internal the step in which `_waiters` were registered */
  _waitersStep = 0;
  /** @internal created on first access of `signal` */
  _abort: AbortController | null = null;
  /** @internal active cancel scopes, innermost last (see time/cancel-scope.ts) */
  _scopes: CancelScope[] | null = null;
  /** @internal cancel requests held back by a shielding scope */
  _deferredCancels: Array<string | undefined> | null = null;
  /** @internal true once a step was left waiting on something foreign (diagnostics) */
  _foreignAwaits = 0;
  /** @internal where the task was created (debug mode only) */
  _createdAt: string | undefined;
  /** @internal the task whose code created this one, if any */
  _parent: Task<unknown> | null;

  constructor(fn: TaskFunction<T>, options: TaskOptions & { loop: EventLoop }) {
    super({ loop: options.loop });
    if (typeof fn !== "function") {
      if (fn !== null && typeof fn === "object" && typeof (fn as { then?: unknown }).then === "function") {
        throw new TypeError(
          "createTask() takes a function returning a promise, not a promise (a promise is already running " +
            "and cannot be scheduled or cancelled): write createTask(() => work()) instead of createTask(work())",
        );
      }
      throw new TypeError(`Expected fn to be a function returning a promise, got ${describe(fn)}`);
    }
    const name = options.name;
    if (name !== undefined && typeof name !== "string") {
      throw new TypeError(`Expected name to be a string, got ${describe(name)}`);
    }
    this._fn = fn;
    this._id = ++taskCounter;
    this._name = name ?? null;
    const parent = taskStorage.getStore();
    this._parent = parent !== undefined && !parent.done() ? parent : null;
    this._createdAt = options.loop._debug ? new Error().stack?.split("\n").slice(2, 6).join("\n") : undefined;
    options.loop._taskCreated(this);
    options.loop._pushRunnable(this); // the task is its own ready-queue entry for its first step
  }

  /** The task's name. */
  getName(): string {
    return this._name ?? (this._name = `Task-${this._id}`);
  }

  /** Rename the task. */
  setName(name: string): void {
    if (typeof name !== "string") throw new TypeError(`Expected name to be a string, got ${describe(name)}`);
    this._name = name;
  }

  /**
   * Request cancellation: `CancelledError` is thrown into the task at its current await (or, if it has
   * not started, it never runs). Returns false if the task is already done.
   * @param msg carried by the `CancelledError`
   */
  override cancel(msg?: string): boolean {
    this._markRetrieved(); // as Future.cancel: the caller has dealt with this task's outcome
    if (this._state !== "PENDING") return false;
    if (msg !== undefined && typeof msg !== "string") {
      throw new TypeError(`Expected msg to be a string, got ${describe(msg)}`);
    }
    if (this._scopes !== null && this._scopes.some((s) => s.shield)) {
      // A shielding cancel scope holds the request back until it exits.
      (this._deferredCancels ??= []).push(msg);
      return true;
    }
    return this._requestCancel(msg);
  }

  /** Cancel without looking at shields (used by cancel scopes inside the shield). @internal */
  _requestCancel(msg: string | undefined): boolean {
    if (this._state !== "PENDING") return false;
    this._numCancelsRequested++;
    this._abort?.abort(new CancelledError(msg ?? ""));
    this._loop._tracer?.onTaskCancelRequested(this, msg);
    if (this._waiters.length > 0) {
      if (this._waitersStep === this._stepNo) {
        let any = false;
        for (const w of this._waiters.slice()) if (w.cancel(msg)) any = true;
        if (any) return true;
      } else {
        // Registered before the task last resumed (e.g. the losers of a Promise.race, or the rest of a
        // partly settled Promise.all): the task may have moved on, so cancelling them could be lost.
        // Deliver at the task's next await of ours instead.
        this._waiters.length = 0;
      }
    }
    this._mustCancel = true;
    this._pendingCancelMessage = msg;
    return true;
  }

  /** How many cancellation requests are outstanding (CPython's `cancelling()`). */
  cancelling(): number {
    return this._numCancelsRequested;
  }

  /**
   * Decrement the count of cancellation requests; returns the new count. Used by code that handled a
   * cancellation it caused itself (timeouts, task groups). When it reaches 0, a pending request that
   * was not yet delivered is dropped (Python 3.13).
   */
  uncancel(): number {
    if (this._numCancelsRequested > 0) {
      this._numCancelsRequested--;
      if (this._numCancelsRequested === 0) this._mustCancel = false;
    }
    return this._numCancelsRequested;
  }

  /**
   * An `AbortSignal` aborted when the task is cancelled, to hand to `fetch` and other APIs that take one.
   *
   * @example
   * ```ts
   * import { run, currentTask } from "asyncio-ts";
   * await run(async () => {
   *   const signal = currentTask()!.signal;
   *   console.log(signal.aborted); // false
   * });
   * ```
   */
  get signal(): AbortSignal {
    if (this._abort === null) {
      this._abort = new AbortController();
      if (this._numCancelsRequested > 0 || this._state === "CANCELLED") {
        this._abort.abort(new CancelledError(this._pendingCancelMessage ?? this._cancelMessage ?? ""));
      }
    }
    return this._abort.signal;
  }

  /** Task cannot be completed from outside. */
  override setResult(_result: T): never {
    throw new RuntimeError("Task does not support setResult()");
  }

  /** Task cannot be completed from outside. */
  override setException(_exception: unknown): never {
    throw new RuntimeError("Task does not support setException()");
  }

  /** @internal the task is its own ready-queue entry for its first step (saves a Handle per task) */
  readonly _cancelled = false;
  /** @internal run as a ready callback: the first step */
  _run(): void {
    this._step0();
  }

  /** @internal the first step: run the function (or, if cancelled before it started, never run it). */
  _step0(this: Task<T>): void {
    const fn = this._fn;
    this._fn = null;
    if (fn === null || this._state !== "PENDING") return;
    if (this._mustCancel) {
      // CPython throws CancelledError(msg) into the coroutine, which raises it at once: the task ends
      // as if its function had raised it (see _fail).
      this._mustCancel = false;
      this._cancelledExc = new CancelledError(this._pendingCancelMessage ?? "");
      this._finishCancelled(undefined);
      return;
    }
    const loop = this._loop;
    loop._beginStep(this);
    const saved = callbackContext.loop;
    callbackContext.loop = null;
    let r: PromiseLike<T> | T;
    try {
      r = taskStorage.run(this as Task<unknown>, fn) as PromiseLike<T> | T;
    } catch (e) {
      callbackContext.loop = saved;
      this._fail(e);
      return;
    }
    callbackContext.loop = saved;
    if (r !== null && (typeof r === "object" || typeof r === "function") && typeof (r as PromiseLike<T>).then === "function") {
      // Subscribed inside the task's context: when `fn` returns one of our awaitables directly
      // (`createTask(() => sleep(1000))`), the task suspends on it as if it had awaited it, so a
      // cancel() reaches it at once instead of waiting for it to finish.
      // A native promise (what an async function returns) does not care about the context: skip the
      // second AsyncLocalStorage.run on the hot path.
      if (r instanceof Promise) {
        r.then(
          (v: T) => this._succeed(v),
          (e: unknown) => this._fail(e),
        );
      } else {
        taskStorage.run(this as Task<unknown>, () =>
          (r as PromiseLike<T>).then(
            (v) => this._succeed(v),
            (e) => this._fail(e),
          ),
        );
      }
    } else {
      this._succeed(r as T);
    }
  }

  /** The function returned. @internal */
  _succeed(value: T): void {
    if (this._state === "PENDING") {
      if (this._mustCancel) {
        // Cancelled during its last step: CPython ends such a task cancelled.
        this._mustCancel = false;
        this._finishCancelled(this._pendingCancelMessage);
      } else {
        this._result = value;
        this._state = "FINISHED";
        this._scheduleCallbacks();
      }
    }
    this._loop._endStep(this);
  }

  /** The function threw. @internal */
  _fail(error: unknown): void {
    if (this._state === "PENDING") {
      if (error instanceof CancelledError) {
        // As CPython: the error itself goes to the first reader of the outcome; the task's own cancel
        // message is unset (so later readers, and gather's results, see a CancelledError without one).
        this._cancelledExc = error;
        this._finishCancelled(undefined);
      } else {
        this._exception = error;
        this._hasException = true;
        this._state = "FINISHED";
        this._logTraceback = true;
        this._scheduleCallbacks();
        this._loop._noteUnretrieved(this);
      }
    }
    this._loop._endStep(this);
  }

  /** @internal */
  _finishCancelled(msg: string | undefined): void {
    this._state = "CANCELLED";
    this._cancelMessage = msg;
    this._scheduleCallbacks();
  }

  /** @internal */
  override _scheduleCallbacks(): void {
    this._loop._taskDone(this);
    super._scheduleCallbacks();
  }

  /** The task awaits a pending future: remember it, wake up when it is done. @internal */
  _suspendOn(fut: Future<unknown>, awaiter: Awaiter): void {
    if (this._waiters.length > 0 && this._waitersStep !== this._stepNo) {
      // Left over from an earlier suspension that resumed without them (Promise.race): the task has
      // moved on, so they are no longer what it waits for; their wake-ups will be ignored.
      this._waiters.length = 0;
    }
    this._waitersStep = this._stepNo;
    this._waiters.push(fut);
    fut._pushCallback(new Wakeup(this, fut, awaiter));
    this._loop._tracer?.onTaskSuspended(this, fut);
    if (this._mustCancel && fut.cancel(this._pendingCancelMessage)) this._mustCancel = false;
    else if (this._scopes !== null && this._scopes.length > 0) CancelScope._checkAwait(this, fut);
    this._loop._stepSuspended(this);
  }

  /** The task yields for one iteration (`sleep(0)`): CPython's bare `yield`. @internal */
  _yieldOnce(awaiter: Awaiter, value: unknown): void {
    this._loop._tracer?.onTaskSuspended(this, null);
    if (!this._mustCancel && this._scopes !== null && this._scopes.length > 0 && CancelScope._checkAwait(this, null)) {
      this._mustCancel = true;
      this._pendingCancelMessage = "cancel scope";
    }
    this._loop._pushRunnable(new YieldResume(this, awaiter, value));
    this._loop._stepSuspended(this);
  }

  /** The step after `sleep(0)`. @internal */
  _resumeAfterYield(awaiter: Awaiter, value: unknown): void {
    if (this._state !== "PENDING") {
      awaiter._deliver(true, value);
      return;
    }
    this._loop._beginStep(this);
    if (this._mustCancel) {
      this._mustCancel = false;
      awaiter._deliver(false, new CancelledError(this._pendingCancelMessage ?? ""));
    } else awaiter._deliver(true, value);
  }

  /** A future this task awaited is done: run the next step (CPython's `__wakeup`). @internal */
  _wakeup(fut: Future<unknown>, awaiter: Awaiter): void {
    const w = this._waiters;
    // Promise.all over many futures settles them mostly in order: the front is the cheap case.
    const i = w[0] === fut ? 0 : w.indexOf(fut);
    if (i === 0) w.shift();
    else if (i > 0) w.splice(i, 1);
    if (i < 0 || this._state !== "PENDING") {
      // A stale waiter (see _suspendOn) or a finished task: hand over the outcome, start no step.
      fut._deliverTo(awaiter);
      return;
    }
    this._loop._beginStep(this);
    if (this._mustCancel && !fut.cancelled() && !(fut._hasException && fut._exception instanceof CancelledError)) {
      // A cancel() came after the awaited future was done: throw a new CancelledError instead of the
      // outcome. (When the outcome already is a cancellation, CPython delivers that one, message and all.)
      this._mustCancel = false;
      fut._markRetrieved();
      awaiter._deliver(false, new CancelledError(this._pendingCancelMessage ?? ""));
    } else {
      this._mustCancel = false;
      fut._deliverTo(awaiter);
    }
    // Other futures of the same suspension are still pending (Promise.all / Promise.race): this delivery
    // may not resume the task at all. If it has not resumed within a few microtask hops, end the step,
    // rather than leave the loop waiting for its macrotask watchdog once per settled future.
    if (w.length > 0) this._loop._endStepIfIdle(this);
  }

  /** @internal */
  override _repr(): string {
    // As CPython: a pending task with outstanding cancel requests shows as "cancelling".
    const state = this._state === "PENDING" && this._numCancelsRequested > 0 ? "cancelling" : this._state.toLowerCase();
    return `<Task ${state} name='${this.getName()}'>`;
  }
}

/**
 * A task's wake-up after the future it awaited is done: a ready-queue entry of its own, so a wake-up
 * costs one small object (no closure, no Handle, no argument array). @internal
 */
class Wakeup implements Runnable {
  readonly _cancelled = false;
  constructor(
    private readonly task: Task<unknown>,
    private readonly fut: Future<unknown>,
    private readonly awaiter: Awaiter,
  ) {}
  _run(): void {
    this.task._wakeup(this.fut, this.awaiter);
  }
}

/** The step after `sleep(0)`, as a ready-queue entry. @internal */
class YieldResume implements Runnable {
  readonly _cancelled = false;
  constructor(
    private readonly task: Task<unknown>,
    private readonly awaiter: Awaiter,
    private readonly value: unknown,
  ) {}
  _run(): void {
    this.task._resumeAfterYield(this.awaiter, this.value);
  }
}
