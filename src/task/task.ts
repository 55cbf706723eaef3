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
import { callbackContext, callerTask, contextTask, runInTask } from "./current.js";
import { Future, ST_CANCELLED, ST_FINISHED, ST_PENDING, type Awaiter, type Runnable } from "./future.js";
import type { Chain } from "./chain.js";
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
  /**
   * @internal the name; until one is given or asked for, the task's number (the default name
   * `Task-<n>` is made when first asked for: most tasks are never asked)
   */
  _name: string | number;
  /** @internal the previous task in the loop's pending-task list (task-set.ts) */
  _pendPrev: Task<unknown> | null = null;
  /** @internal the next task in the loop's pending-task list (task-set.ts) */
  _pendNext: Task<unknown> | null = null;
  /** @internal a cancel was requested while the task had no future to cancel: throw at the next step */
  _mustCancel = false;
  /** @internal how many cancel() calls are outstanding (CPython's `_num_cancels_requested`) */
  _numCancelsRequested = 0;
  /**
   * @internal what this task is suspended on (CPython's `_fut_waiter`): null, the future itself, or an
   * array of two or more (Promise.all / Promise.race over our futures). No array for the usual one.
   */
  _waiter: Future<unknown> | Future<unknown>[] | null = null;
  /** @internal how many steps have begun (a step is a resumption driven by the loop) */
  _stepNo = 0;
  /** @internal the step in which `_waiter` was registered */
  _waitersStep = 0;
  /** @internal the task whose code created this one, if any */
  _parent: Task<unknown> | null;
  /**
   * @internal what few tasks need (cancellation details, scopes, a signal, diagnostics), made on first
   * use: a task stays small while it needs none of it (100,000 tasks in flight are common).
   */
  _x: TaskExtras | null = null;

  /** @internal the cancel message for `_mustCancel` */
  get _pendingCancelMessage(): string | undefined {
    return this._x === null ? undefined : this._x.pendingCancelMessage;
  }
  set _pendingCancelMessage(v: string | undefined) {
    if (v !== undefined || this._x !== null) this._extras().pendingCancelMessage = v;
  }
  /** @internal created on first access of `signal` */
  get _abort(): AbortController | null {
    return this._x === null ? null : this._x.abort;
  }
  set _abort(v: AbortController | null) {
    if (v !== null || this._x !== null) this._extras().abort = v;
  }
  /** @internal active cancel scopes, innermost last (see time/cancel-scope.ts) */
  get _scopes(): CancelScope[] | null {
    return this._x === null ? null : this._x.scopes;
  }
  set _scopes(v: CancelScope[] | null) {
    if (v !== null || this._x !== null) this._extras().scopes = v;
  }
  /** @internal cancel requests held back by a shielding scope */
  get _deferredCancels(): Array<string | undefined> | null {
    return this._x === null ? null : this._x.deferredCancels;
  }
  set _deferredCancels(v: Array<string | undefined> | null) {
    if (v !== null || this._x !== null) this._extras().deferredCancels = v;
  }
  /** @internal how many steps were left waiting on something foreign (diagnostics) */
  get _foreignAwaits(): number {
    return this._x === null ? 0 : this._x.foreignAwaits;
  }
  set _foreignAwaits(v: number) {
    if (v !== 0 || this._x !== null) this._extras().foreignAwaits = v;
  }
  /** @internal where the task was created (debug mode only) */
  get _createdAt(): string | undefined {
    return this._x === null ? undefined : this._x.createdAt;
  }
  set _createdAt(v: string | undefined) {
    if (v !== undefined || this._x !== null) this._extras().createdAt = v;
  }

  private _extras(): TaskExtras {
    return (this._x ??= new TaskExtras());
  }

  /**
   * @internal use `createTask()` or `loop.createTask()`
   * @param options the task's options (`name`)
   * @param loop the loop it runs on
   */
  constructor(fn: TaskFunction<T>, options: TaskOptions | undefined, loop: EventLoop) {
    super(undefined, loop);
    if (typeof fn !== "function") {
      if (fn !== null && typeof fn === "object" && typeof (fn as { then?: unknown }).then === "function") {
        throw new TypeError(
          "createTask() takes a function returning a promise, not a promise (a promise is already running " +
            "and cannot be scheduled or cancelled): write createTask(() => work()) instead of createTask(work())",
        );
      }
      throw new TypeError(`Expected fn to be a function returning a promise, got ${describe(fn)}`);
    }
    const name = options === undefined ? undefined : options.name;
    if (name !== undefined && typeof name !== "string") {
      throw new TypeError(`Expected name to be a string, got ${describe(name)}`);
    }
    this._fn = fn;
    this._name = name ?? ++taskCounter;
    const parent = callerTask();
    this._parent = parent !== undefined && !parent.done() ? parent : null;
    if (loop._debug) this._createdAt = new Error().stack?.split("\n").slice(2, 6).join("\n");
    loop._taskCreated(this);
    loop._pushRunnable(this); // the task is its own ready-queue entry for its first step
  }

  /** The task's name. */
  getName(): string {
    const n = this._name;
    return typeof n === "string" ? n : (this._name = `Task-${n}`);
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
    const waiter = this._waiter;
    if (waiter !== null) {
      if (this._waitersStep === this._stepNo) {
        let any = false;
        if (Array.isArray(waiter)) {
          for (const w of waiter.slice()) if (w.cancel(msg)) any = true;
        } else any = waiter.cancel(msg);
        if (any) return true;
      } else {
        // Registered before the task last resumed (e.g. the losers of a Promise.race, or the rest of a
        // partly settled Promise.all): the task may have moved on, so cancelling them could be lost.
        // Deliver at the task's next await of ours instead.
        this._waiter = null;
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

  /**
   * @internal run as a ready-queue entry: the task is its own entry for its first step (no Handle per
   * task), and, once done, the entry that runs its single done callback (see `Future._run`).
   */
  override _run(): void {
    if (this._fn !== null) this._step0();
    else super._run();
  }

  /** @internal the first step: run the function (or, if cancelled before it started, never run it). */
  _step0(this: Task<T>): void {
    if (this._st !== ST_PENDING) {
      this._fn = null;
      return;
    }
    if (this._mustCancel) {
      // CPython throws CancelledError(msg) into the coroutine, which raises it at once: the task ends
      // as if its function had raised it (see _fail).
      this._fn = null;
      this._mustCancel = false;
      this._finishCancelled(new CancelledError(this._pendingCancelMessage ?? ""));
      return;
    }
    this._loop._beginStep(this);
    const saved = callbackContext.loop;
    callbackContext.loop = null;
    try {
      runInTask(this._loop._scope, this as Task<unknown>, startTask);
    } finally {
      callbackContext.loop = saved;
    }
  }

  /** The function returned. @internal */
  _succeed(value: T): void {
    if (this._st === ST_PENDING) {
      if (this._mustCancel) {
        // Cancelled during its last step: CPython ends such a task cancelled.
        this._mustCancel = false;
        this._finishCancelled(this._pendingCancelMessage);
      } else {
        this._value = value;
        this._st = ST_FINISHED;
        this._scheduleCallbacks();
      }
    }
    this._loop._endStep(this);
  }

  /** The function threw. @internal */
  _fail(error: unknown): void {
    if (this._st === ST_PENDING) {
      if (error instanceof CancelledError) {
        // As CPython: the error itself goes to the first reader of the outcome; the task's own cancel
        // message is unset (so later readers, and gather's results, see a CancelledError without one).
        this._finishCancelled(error);
      } else {
        this._finishException(error);
      }
    }
    this._loop._endStep(this);
  }

  /**
   * @internal end cancelled, with a cancel message, or with the `CancelledError` that ended the task (see
   * `Future._value`)
   */
  _finishCancelled(outcome: string | CancelledError | undefined): void {
    this._st = ST_CANCELLED;
    this._value = outcome;
    this._scheduleCallbacks();
  }

  /** @internal */
  override _scheduleCallbacks(): void {
    this._loop._taskDone(this);
    super._scheduleCallbacks();
  }

  /** The task awaits a pending future: remember it, wake up when it is done. @internal */
  _suspendOn(fut: Future<unknown>, awaiter: Chain<unknown>): void {
    let waiter = this._waiter;
    if (waiter !== null && this._waitersStep !== this._stepNo) {
      // Left over from an earlier suspension that resumed without them (Promise.race): the task has
      // moved on, so they are no longer what it waits for; their wake-ups will be ignored.
      waiter = null;
    }
    this._waitersStep = this._stepNo;
    this._waiter = waiter === null ? fut : Array.isArray(waiter) ? (waiter.push(fut), waiter) : [waiter, fut];
    fut._pushCallback(awaiter._wakeOn(this, fut));
    this._loop._tracer?.onTaskSuspended(this, fut);
    if (this._mustCancel && fut.cancel(this._pendingCancelMessage)) this._mustCancel = false;
    else if (this._scopes !== null && this._scopes.length > 0) CancelScope._checkAwait(this, fut);
    this._loop._stepSuspended(this);
  }

  /** The task yields for one iteration (`sleep(0)`): CPython's bare `yield`. @internal */
  _yieldOnce(awaiter: Chain<unknown>, value: unknown): void {
    this._loop._tracer?.onTaskSuspended(this, null);
    if (!this._mustCancel && this._scopes !== null && this._scopes.length > 0 && CancelScope._checkAwait(this, null)) {
      this._mustCancel = true;
      this._pendingCancelMessage = "cancel scope";
    }
    this._loop._pushRunnable(awaiter._resumeWith(this, value));
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
    const w = this._waiter;
    let found = false;
    if (w === fut) {
      this._waiter = null;
      found = true;
    } else if (Array.isArray(w)) {
      // Promise.all over many futures settles them mostly in order: the front is the cheap case.
      const i = w[0] === fut ? 0 : w.indexOf(fut);
      if (i >= 0) {
        found = true;
        if (i === 0) w.shift();
        else w.splice(i, 1);
        if (w.length === 1) this._waiter = w[0]!;
      }
    }
    if (!found || this._st !== ST_PENDING) {
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
    if (this._waiter !== null) this._loop._endStepIfIdle(this);
  }

  /** @internal the futures this task is suspended on, as an array (diagnostics) */
  get _waiters(): readonly Future<unknown>[] {
    const w = this._waiter;
    return w === null ? [] : Array.isArray(w) ? w : [w];
  }

  /** @internal */
  override _repr(): string {
    // As CPython: a pending task with outstanding cancel requests shows as "cancelling".
    const state = this._state === "PENDING" && this._numCancelsRequested > 0 ? "cancelling" : this._state.toLowerCase();
    return `<Task ${state} name='${this.getName()}'>`;
  }
}

/** The rarely used state of a task (see `Task._x`). @internal */
class TaskExtras {
  pendingCancelMessage: string | undefined = undefined;
  abort: AbortController | null = null;
  scopes: CancelScope[] | null = null;
  deferredCancels: Array<string | undefined> | null = null;
  foreignAwaits = 0;
  createdAt: string | undefined = undefined;
}

/**
 * A task's first call, inside the task's context (`runInTask`). The function's promise is subscribed
 * here, in that context, so the shared settle handlers below find their task as the current one: no
 * closure per task.
 */
function startTask(task: Task<unknown>): void {
  const fn = task._fn!;
  task._fn = null;
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    task._fail(e);
    return;
  }
  if (r instanceof Promise) {
    r.then(taskFulfilled, taskRejected);
  } else if (r !== null && (typeof r === "object" || typeof r === "function") && typeof (r as PromiseLike<unknown>).then === "function") {
    // One of our awaitables returned directly (`createTask(() => sleep(1000))`): subscribing inside the
    // task's context makes the task suspend on it as if it had awaited it, so a cancel() reaches it at
    // once. A foreign thenable is subscribed the same way.
    (r as PromiseLike<unknown>).then(
      (v) => task._succeed(v),
      (e) => task._fail(e),
    );
  } else {
    task._succeed(r);
  }
}

/** The task's function settled: the reaction runs in the task's context, which names the task. */
function taskFulfilled(value: unknown): void {
  contextTask()!._succeed(value);
}

function taskRejected(error: unknown): void {
  contextTask()!._fail(error);
}
