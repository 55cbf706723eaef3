/**
 * Task: a function running on the event loop, which can be named, awaited and cancelled.
 *
 * A task's life is a series of *steps*, as in CPython's `Task.__step`: the first step calls the
 * function; each later step resumes it after a future it awaited is done. The loop runs one step at a
 * time; a step ends when the task's code awaits a pending asyncio-ts awaitable (our `then` is called:
 * `_suspendOn`) or its function settles. A task's code may be blocked on several awaits at once (promise
 * chains it started and did not await at once, see `strand.ts`); the task is the root strand of them all.
 * Cancellation is delivered at every await the task is blocked on (not inside shielding scopes): the
 * awaited futures are cancelled (which wakes the code with `CancelledError`), or, if none is pending, a
 * flag makes the next await throw `CancelledError` instead of resuming normally (CPython's `_must_cancel`).
 *
 * @module
 */
import { CancelledError, RuntimeError } from "./errors.js";
import { checkBoolean, checkOptions, checkString, describe, kindOf } from "./check.js";
import { Context, captureContext, contextState, recordEagerEntries, runInContext, undoEagerEntries } from "./context.js";
import type { AsyncResource } from "node:async_hooks";
import type { EventLoop } from "./event-loop.js";
import { callbackContext, callerStrand, contextTask, runInStrand, runInTask, type AwaitSite, type StrandLike } from "./current.js";
import { formatTaskStack, taskStack, type GetStackOptions, type PrintStackOptions, type StackFrame } from "./stack.js";
import { Future, ST_CANCELLED, ST_FINISHED, ST_MASK, ST_PENDING, type Awaiter, type Runnable } from "./future.js";
import { reprValue } from "./exception-handler.js";
import type { Chain } from "./chain.js";
import { F_AWAITED, F_CANCEL_AFTER, F_FIRST_STEP, F_HOLDING } from "./task-flags.js";
import {
  CANCEL_SCOPE_MESSAGE,
  NO_CANCEL,
  REG_ELEM,
  REG_LIVE,
  REG_NONE,
  REG_YIELD,
  REG_YIELD_CANCEL,
  settleIfNoOrphanCode,
  takeYield,
  REG_WAKE_CANCEL,
  REG_WAKE_CANCEL_ELEM,
  takeGivenUp,
  isStaleElement,
  cancelOnSuspend,
  cancelTask,
  levelCancelled,
  linkAwait,
  openStrand,
  pendingAwaits,
  takeCancel,
  takeRootCancel,
  uncancelTask,
  unlinkAwait,
  type LevelScope,
  type Strand,
} from "./cancellation.js";

let taskCounter = 0;

/**
 * @internal count `n` task numbers as used, for tasks CPython makes that asyncio-ts does not (the two of
 * `asyncio.run`'s shutdown: the next run's main is "Task-4" in both)
 */
export function skipTaskNumbers(n: number): void {
  taskCounter += n;
}

// (a ContextVar's set finds the Context the current task was given through this: context.ts, writeBack)
contextState.writeTarget = (): Context | null => {
  const t = contextTask();
  return t === undefined || t._x === null ? null : t._x.ctxTarget;
};

/** What `createTask` accepts: a function that returns a promise (or a value). */
export type TaskFunction<T> = () => PromiseLike<T> | T;

/** The keys of `TaskOptions`. */
const TASK_OPTIONS = ["name", "context", "eagerStart"];

/** Options of `createTask`. */
export interface TaskOptions {
  /** The task's name; `Task-<n>` by default. */
  name?: string;
  /**
   * The context the task runs in (`copyContext()`); by default a copy of the context current where the
   * task is created (CPython's `context=`).
   */
  context?: Context;
  /**
   * Run the task's first step now, inside `createTask`, up to its first suspension (CPython 3.14's
   * `eager_start=True`; what `eagerTaskFactory` does for every task). A task that finishes there is never
   * scheduled. Only while the loop runs; otherwise the task starts on the next iteration as usual.
   */
  eagerStart?: boolean;
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
  /**
   * @internal a cancel was requested while nothing of the task's root strand was pending: the next await
   * made there raises (CPython's `_must_cancel`)
   */
  _mustCancel = false;
  /** @internal how many cancel() calls are outstanding (CPython's `_num_cancels_requested`) */
  _numCancelsRequested = 0;
  /**
   * @internal the awaits registered in the task's root strand that have not woken (strand.ts): the chains
   * of CPython's `_fut_waiter`, several when the task's code runs several promise chains at once
   */
  _w: Chain<unknown> | null = null;
  /** @internal awaits registered in any strand of this task that have not woken */
  _nreg = 0;
  /** @internal how many steps have begun (a step is a resumption driven by the loop) */
  _stepNo = 0;
  /**
   * @internal `F_*` flags of a task made from running work or started eagerly (adopt.ts): in its first
   * step, to be cancelled when it ends, holding virtual time, has awaited something of ours, counted by
   * the loop as an eager step in progress. 0 for every other task.
   */
  _flags = 0;
  /** @internal the task whose code created this one, if any */
  _parent: Task<unknown> | null;
  /**
   * @internal what few tasks need (cancellation details, scopes, a signal, diagnostics), made on first
   * use: a task stays small while it needs none of it (100,000 tasks in flight are common).
   */
  _x: TaskExtras | null = null;
  /** @internal a task is its own root strand (strand.ts); these are the root's constant fields */
  declare readonly _sparent: null;
  /** @internal */ declare readonly _shield: boolean;
  /** @internal */ declare readonly _level: LevelScope | null;
  /** @internal */ declare readonly _closed: boolean;
  /** @internal (a task's root is never given up: always null) */ declare readonly _givenUp: { pending: boolean } | null;
  /**
   * @internal the step in which a pending cancellation (`_mustCancel`) was taken, and its message: every
   * other await this strand makes in that step is cancelled too (cancellation.ts); -1 on the prototype
   */
  declare _cancelStep: number;
  /** @internal */ declare _cancelStepMsg: string | undefined;

  /** @internal the root strand's task: the task itself */
  get _task(): Task<unknown> {
    return this as Task<unknown>;
  }
  /** @internal open child strands of the root (scopes entered in the task's code) */
  get _kids(): Strand[] | null {
    return this._x === null ? null : this._x.kids;
  }
  set _kids(v: Strand[] | null) {
    if (v !== null || this._x !== null) this._extras().kids = v;
  }
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

  /** @internal CPython's `_cancel_message`: the message of the last request that found no await to cancel */
  get _lastCancelMessage(): string | undefined {
    return this._x === null ? undefined : this._x.lastCancelMessage;
  }
  set _lastCancelMessage(v: string | undefined) {
    if (v !== undefined || this._x !== null) this._extras().lastCancelMessage = v;
  }

  /** @internal where the task last awaited (debug mode only) */
  get _awaitSite(): AwaitSite | null {
    return this._x === null ? null : this._x.awaitSite;
  }

  /** @internal */
  _extras(): TaskExtras {
    return (this._x ??= new TaskExtras());
  }

  /**
   * @internal use `createTask()` or `loop.createTask()`
   * @param options the task's options (`name`)
   * @param loop the loop it runs on
   * @param adopted (internal) no function: the task takes over work already running (adopt.ts)
   */
  constructor(fn: TaskFunction<T> | null, options: TaskOptions | undefined, loop: EventLoop, adopted = false) {
    if (loop === null || typeof loop !== "object") {
      // (the twin of asyncio.Task(coro): the constructor is the kernel's, its loop given by createTask)
      throw new TypeError(`new Task() is not called directly: use createTask(fn) or loop.createTask(fn) (got loop ${describe(loop)})`);
    }
    super(undefined, loop);
    if (typeof fn !== "function" && !adopted) {
      if (kindOf(fn) === "thenable") {
        throw new TypeError(
          "createTask() takes a function returning a promise, not a promise (a promise is already running " +
            "and cannot be scheduled): write createTask(() => work()) instead of createTask(work()), or " +
            "hand the promise to ensureFuture(), gather() or shield(), which take its work over",
        );
      }
      throw new TypeError(`Expected fn to be a function returning a promise, got ${describe(fn)}`);
    }
    let name: string | undefined;
    let eager = false;
    let context: Context | undefined;
    if (options !== undefined) {
      const o = checkOptions(options, TASK_OPTIONS, "createTask()");
      name = checkString(o.name, "name");
      eager = checkBoolean(o.eagerStart, "eagerStart") ?? false;
      context = o.context;
      if (context !== undefined && !(context instanceof Context)) {
        throw new TypeError(`Expected context to be a Context (copyContext()), got ${describe(context)}`);
      }
    }
    this._fn = fn;
    this._name = name ?? ++taskCounter;
    const parent = callerStrand();
    this._parent = parent !== null && !parent._task.done() ? parent._task : null;
    if (loop._debug) this._createdAt = new Error().stack?.split("\n").slice(2, 6).join("\n");
    // The context the task runs in: a copy of its creator's (context.ts), once any context exists.
    const ctx = context !== undefined ? context._copy() : contextState.inUse && !adopted ? captureContext() : null;
    if (ctx !== null) this._extras().ctx = ctx;
    // (its ContextVar sets go to `context` too: CPython runs the task in that very object)
    if (context !== undefined) this._x!.ctxTarget = context;
    loop._taskCreated(this);
    if (adopted) return;
    if (eager && loop.isRunning()) this._startEagerly();
    else loop._pushRunnable(this); // the task is its own ready-queue entry for its first step
  }

  /**
   * Run the first step now, in the caller's step (CPython's `Task.__eager_start`): the driver waits for
   * it as for the caller's; a task that finishes in it is never scheduled.
   */
  private _startEagerly(): void {
    this._flags = F_FIRST_STEP;
    this._loop._beginAdoptedStep(this as Task<unknown>);
    const saved = callbackContext.loop;
    callbackContext.loop = null;
    // (a step of its own: the `Context.run` it may be called in holds the caller's sets, not this task's)
    const depth = contextState.runDepth;
    contextState.runDepth = 0;
    try {
      const ctx = this._x === null ? null : this._x.ctx;
      if (ctx !== null) runInContext(ctx, startEagerInStrand, this as Task<unknown>);
      else if (contextState.inUse) runInStrand(this as Task<unknown>, startTask, this as Task<unknown>);
      else {
        const outer = recordEagerEntries();
        try {
          runInStrand(this as Task<unknown>, startTask, this as Task<unknown>);
        } finally {
          undoEagerEntries(outer); // (a first use of a context made there was made in the caller's context)
        }
      }
    } finally {
      callbackContext.loop = saved;
      contextState.runDepth = depth;
    }
  }

  /**
   * @internal a task whose first step runs now, inside the caller's step (CPython's eager task): for
   * work that is already under way when the task is made (adopt.ts, a parked waiter)
   */
  static _eager<T>(fn: TaskFunction<T>, loop: EventLoop): Task<T> {
    const t = new Task<T>(fn, undefined, loop, true);
    t._flags = F_FIRST_STEP;
    loop._beginAdoptedStep(t);
    const saved = callbackContext.loop;
    callbackContext.loop = null;
    try {
      runInStrand(t as Task<unknown>, startTask, t as Task<unknown>);
    } finally {
      callbackContext.loop = saved;
    }
    return t;
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
   * Request cancellation: `CancelledError` is thrown into the task at every await it is blocked on (or,
   * if it has not started, it never runs). Returns false if the task is already done.
   * @param msg carried by the `CancelledError`
   */
  override cancel(msg?: string): boolean {
    this._markRetrieved(); // as Future.cancel: the caller has dealt with this task's outcome
    if (this._st !== ST_PENDING) return false;
    if (msg !== undefined && typeof msg !== "string") {
      throw new TypeError(`Expected msg to be a string, got ${describe(msg)}`);
    }
    cancelTask(this as Task<unknown>, msg);
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
    return uncancelTask(this as Task<unknown>);
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
      if (this._numCancelsRequested > 0 || (this._st & ST_MASK) === ST_CANCELLED) {
        this._abort.abort(new CancelledError(this._pendingCancelMessage ?? this._cancelMessage ?? ""));
      }
    }
    return this._abort.signal;
  }

  /**
   * The frames of what the task is doing, oldest first (CPython's `get_stack()`): while it runs, its
   * async functions' frames down to the caller; while it waits, where it awaits (recorded in debug mode
   * only: `run(main, { debug: true })`); once it failed, its exception's frames; otherwise none. `limit`
   * keeps the newest frames of a stack, the oldest of a failure's.
   *
   * @example
   * ```ts
   * import { run, createTask, sleep } from "asyncio-ts";
   * await run(async () => {
   *   const t = createTask(async function worker() { await sleep(1000); });
   *   await sleep(10);
   *   console.log(t.getStack()[0]?.functionName); // "worker"
   *   t.cancel();
   * }, { debug: true, virtualTime: true });
   * ```
   */
  getStack(options?: GetStackOptions): StackFrame[] {
    return taskStack(this as Task<unknown>, stackLimit(options, GET_STACK_OPTIONS));
  }

  /**
   * Print `getStack()` as CPython's `print_stack()` does (`Stack for <Task ...> (most recent call
   * last):`, then each frame with its source line), to `options.file` (default `process.stderr`).
   *
   * @example
   * ```ts
   * import { run, currentTask } from "asyncio-ts";
   * await run(async function main() {
   *   currentTask()!.printStack({ file: process.stdout });
   *   // Stack for <Task pending name='Task-1'> (most recent call last):
   *   //   File "/path/to/example.ts", line 3, in main
   * });
   * ```
   */
  printStack(options?: PrintStackOptions): void {
    const limit = stackLimit(options, PRINT_STACK_OPTIONS);
    const file = options?.file ?? process.stderr;
    if (file === null || typeof file !== "object" || typeof (file as { write?: unknown }).write !== "function") {
      throw new TypeError(`Expected options.file to have a write(text) method (process.stdout), got ${describe(file)}`);
    }
    file.write(formatTaskStack(this as Task<unknown>, limit));
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
      this._finishCancelled(new CancelledError((takeRootCancel(this as Task<unknown>) as string | undefined) ?? ""));
      return;
    }
    this._loop._beginStep(this);
    const saved = callbackContext.loop;
    callbackContext.loop = null;
    try {
      const ctx = this._x === null ? null : this._x.ctx;
      if (ctx === null) runInTask(this as Task<unknown>, startTask);
      else runInContext(ctx, startInTask, this as Task<unknown>);
    } finally {
      callbackContext.loop = saved;
    }
  }

  /** The function returned. @internal */
  _succeed(value: T): void {
    if (this._st === ST_PENDING) {
      if (this._mustCancel) {
        // Cancelled during its last step: CPython ends such a task cancelled.
        this._finishCancelled(takeRootCancel(this as Task<unknown>) as string | undefined);
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
    const f = this._flags;
    if (f !== 0) {
      if ((f & F_HOLDING) !== 0) this._releaseHold();
      if ((f & F_FIRST_STEP) !== 0) {
        // Done within its first (eager) step: CPython's eager task was done when the combinator saw
        // it, and gather, shield and wait_for then take their done-path at once, not an iteration later.
        this._flags &= ~F_FIRST_STEP;
        this._runDonePathCallbacks();
      }
    }
    super._scheduleCallbacks();
  }

  /** Run (now) the callbacks marked as a combinator's done-path (`markDonePath`); keep the others. */
  private _runDonePathCallbacks(): void {
    const cb = this._cb;
    if (cb === null) return;
    if (!Array.isArray(cb)) {
      if (!isDonePath(cb)) return;
      this._cb = null;
      this._callDonePath(cb as (f: Future<unknown>) => void);
      return;
    }
    const all = this._callbackList();
    if (!all.some(isDonePath)) return;
    this._setCallbackList(all.filter((cb) => !isDonePath(cb)));
    for (const c of all) if (isDonePath(c)) this._callDonePath(c as (f: Future<unknown>) => void);
  }

  private _callDonePath(cb: (f: Future<unknown>, eager?: boolean) => void): void {
    try {
      cb(this as Task<unknown>, true); // (true: done within its first step, run at once)
    } catch (exception) {
      this._loop.callExceptionHandler({ message: "Exception in callback", exception, future: this });
    }
  }

  /**
   * The task's code, in strand `s`, awaits a pending future: remember it, wake up when it is done.
   * @internal
   */
  _suspendOn(s: StrandLike, fut: Future<unknown>, awaiter: Chain<unknown>, elem: boolean): void {
    const dead = takeGivenUp(s);
    if (s._closed) s = openStrand(s);
    awaiter._strand = s;
    awaiter._fut = fut;
    if (elem) {
      awaiter._reg = REG_ELEM;
      awaiter._value = this._stepNo;
    } else awaiter._reg = REG_LIVE;
    linkAwait(s, awaiter);
    this._nreg++;
    fut._pushCallback(awaiter);
    this._loop._tracer?.onTaskSuspended(this, fut);
    const f = this._flags;
    if (f !== 0) {
      this._flags = f | F_AWAITED;
      if ((f & F_HOLDING) !== 0) this._releaseHold();
      if ((f & F_FIRST_STEP) !== 0 && !this._loop._registeringDeferred) this._endFirstStep();
    }
    if (dead) fut.cancel();
    else if (s !== this || this._mustCancel || this._cancelStep === this._stepNo) cancelOnSuspend(this as Task<unknown>, s, fut);
    this._loop._stepSuspended(this);
  }

  /**
   * Code of this task, which is done, awaits a pending future (an orphan chain: one it started and did
   * not wait for): registered as its awaits were, without steps (nobody waits for its steps); the loop
   * knows the task has such chains (`_orphans`). @internal
   */
  _suspendOrphan(s: StrandLike, fut: Future<unknown>, awaiter: Chain<unknown>, endsStep = true): void {
    const dead = takeGivenUp(s);
    if (s._closed) s = openStrand(s);
    awaiter._strand = s;
    awaiter._fut = fut;
    awaiter._reg = REG_LIVE;
    linkAwait(s, awaiter);
    if (this._nreg++ === 0) this._loop._noteOrphan(this as Task<unknown>);
    fut._pushCallback(awaiter);
    if (dead) fut.cancel();
    else cancelOnSuspend(this as Task<unknown>, s, fut);
    if (endsStep) this._loop._stepSuspended(this as Task<unknown>);
  }

  /** @internal hold virtual time until this task's work awaits something of ours (adopt.ts) */
  _holdClock(): void {
    this._flags |= F_HOLDING;
    this._loop._foreignHolds++;
  }

  /** @internal */
  _releaseHold(): void {
    if ((this._flags & F_HOLDING) === 0) return;
    this._flags &= ~F_HOLDING;
    this._loop._releaseForeign();
  }

  /**
   * @internal the first step of a task made from running work ended (it suspended, or was let go
   * waiting on something foreign): a cancellation asked for "after the eager step" is made now
   */
  _endFirstStep(): void {
    const f = this._flags;
    if ((f & F_FIRST_STEP) === 0) return;
    this._flags = f & ~(F_FIRST_STEP | F_CANCEL_AFTER);
    if ((f & F_CANCEL_AFTER) !== 0) {
      this.cancel();
    }
  }

  /**
   * @internal cancel now, or, while this task is in its first step (its work runs eagerly), as soon as
   * that step ends: as CPython cancels an eager task once its first step returned
   */
  _cancelAfterFirstStep(): void {
    if ((this._flags & F_FIRST_STEP) !== 0) {
      this._flags |= F_CANCEL_AFTER;
      // (by the next iteration the step is over, however it ended)
      this._loop._soon(() => this._endFirstStep());
    } else {
      this.cancel();
    }
  }

  /** The task's code, in strand `s`, yields for one iteration (`sleep(0)`): CPython's bare `yield`. @internal */
  _yieldOnce(s: StrandLike, awaiter: Chain<unknown>, value: unknown): void {
    this._loop._tracer?.onTaskSuspended(this, null);
    const dead = takeGivenUp(s);
    if (s._closed) s = openStrand(s);
    if (dead || (s !== this && levelCancelled(s))) awaiter._reg = REG_YIELD_CANCEL;
    else {
      awaiter._reg = REG_YIELD; // (linked until it resumes: cancelling the strand reaches it)
      awaiter._strand = s;
      linkAwait(s, awaiter);
    }
    this._loop._pushRunnable(awaiter._resumeWith(s, value));
    const f = this._flags;
    if (f !== 0) {
      // (a yield is an await of ours: work taken over that yields is not foreign, and is never given up)
      this._flags = f | F_AWAITED;
      if ((f & F_HOLDING) !== 0) this._releaseHold();
      if ((f & F_FIRST_STEP) !== 0) this._endFirstStep();
    }
    this._loop._stepSuspended(this);
  }

  /**
   * Code of this task, which is done, resumes: the loop waits for it to suspend again (or, if it does not
   * within a few microtask hops, for those: it ended) before it goes on, as for a step, so that code woken
   * in the iteration that ends `run()`'s main awaits again while the loop still runs (it would find none).
   */
  private _beginOrphanStep(): void {
    this._loop._beginStep(this as Task<unknown>);
    this._loop._endStepIfIdle(this as Task<unknown>);
  }

  /**
   * `sleep(0)` in code of this task, which is done (an orphan chain): queued as a yield of its own, and
   * the loop knows the task has such code (`_orphans`), so that run()'s shutdown cancels and waits for it.
   * @internal
   */
  _yieldOrphan(s: StrandLike, awaiter: Chain<unknown>, value: unknown): void {
    if (s._closed) s = openStrand(s);
    awaiter._reg = REG_YIELD;
    awaiter._strand = s;
    linkAwait(s, awaiter);
    this._loop._noteOrphan(this as Task<unknown>);
    this._loop._pushRunnable(awaiter._resumeWith(s, value));
    this._loop._stepSuspended(this as Task<unknown>);
  }

  /** The step after `sleep(0)`. @internal */
  _resumeAfterYield(awaiter: Chain<unknown>, value: unknown): void {
    const reg = awaiter._reg;
    let m: string | undefined | typeof NO_CANCEL = NO_CANCEL;
    if (reg === REG_YIELD_CANCEL) {
      awaiter._reg = REG_NONE;
      m = CANCEL_SCOPE_MESSAGE;
    } else if (reg !== REG_NONE) m = takeYield(awaiter);
    if (this._st !== ST_PENDING) {
      // (code of a task that has finished: cancelled by run()'s shutdown, or going on as it likes)
      if (reg !== REG_YIELD_CANCEL && m === NO_CANCEL) m = takeCancel(this as Task<unknown>, awaiter._strand!);
      settleIfNoOrphanCode(this as Task<unknown>);
      this._beginOrphanStep();
      if (m !== NO_CANCEL && reg !== REG_YIELD_CANCEL) awaiter._deliver(false, new CancelledError(m ?? ""));
      else awaiter._deliver(true, value);
      return;
    }
    this._loop._beginStep(this);
    if (m === NO_CANCEL) m = takeCancel(this as Task<unknown>, awaiter._strand!);
    if (m !== NO_CANCEL) awaiter._deliver(false, new CancelledError(m ?? ""));
    else awaiter._deliver(true, value);
  }

  /** A future this task's code awaited is done: run the next step (CPython's `__wakeup`). @internal */
  _wakeup(fut: Future<unknown>, awaiter: Awaiter): void {
    const c = awaiter as Chain<unknown>;
    const reg = c._reg;
    if (reg === REG_NONE) {
      fut._deliverTo(awaiter);
      return;
    }
    const s = c._strand!;
    // An element of an earlier step (a losing Promise.race entry, strand.ts): the task's code may have
    // moved on, so its outcome starts no step.
    const stale = isStaleElement(c, this._stepNo);
    // Cancelled after its future was done (cancellation.ts, `cancelAwait`): the message.
    const marked = reg === REG_WAKE_CANCEL || reg === REG_WAKE_CANCEL_ELEM;
    const markMsg = marked ? (c._value as string | undefined) : undefined;
    if (marked) c._value = undefined;
    unlinkAwait(c);
    c._reg = REG_NONE;
    this._nreg--;
    if (stale || this._st !== ST_PENDING) {
      if (this._st !== ST_PENDING) {
        settleIfNoOrphanCode(this as Task<unknown>);
        this._beginOrphanStep();
      }
      // (code of a task that has finished, cancelled all the same: what woke it passes on)
      deliverOrCancel(fut, awaiter, marked ? markMsg : NO_CANCEL);
      return;
    }
    this._loop._beginStep(this);
    deliverOrCancel(fut, awaiter, marked ? markMsg : takeCancel(this as Task<unknown>, s));
    // Other awaits of the task are still pending (Promise.all, other chains): this delivery may not
    // resume code that suspends again. If the step has not ended within a few microtask hops, end it,
    // rather than leave the loop waiting for its macrotask watchdog.
    if (this._nreg > 0) this._loop._endStepIfIdle(this);
  }

  /** @internal the futures this task is suspended on (diagnostics) */
  get _waiters(): readonly Future<unknown>[] {
    return this._nreg === 0 ? [] : pendingAwaits(this as Task<unknown>);
  }

  /**
   * @internal a task that finished all the same after a cancellation request that found no await to
   * cancel gives that request's message (CPython's `_make_cancelled_error` from `_cancel_message`: what a
   * cancelled gather raises when its last child ended so)
   */
  override _makeCancelledError(): CancelledError {
    if ((this._st & ST_MASK) === ST_CANCELLED) return super._makeCancelledError();
    return new CancelledError(this._lastCancelMessage ?? "");
  }

  /** @internal */
  override _awaits(): readonly Future<unknown>[] {
    return this._waiters;
  }

  /** @internal a task waiting on this one waits on its name */
  override _describe(): string {
    return this.getName();
  }

  /** @internal */
  override _repr(): string {
    // As CPython: a pending task with outstanding cancel requests shows as "cancelling".
    const state = this._st === ST_PENDING && this._numCancelsRequested > 0 ? "cancelling" : this._state.toLowerCase();
    // (a finished one shows its outcome, as CPython's `_task_repr_info`; reading it retrieves nothing)
    const outcome = (this._st & ST_MASK) !== ST_FINISHED ? "" : this._hasException ? ` exception=${reprValue(this._exception)}` : ` result=${reprValue(this._result)}`;
    return `<Task ${state} name='${this.getName()}'${outcome}>`;
  }
}

/**
 * Give `awaiter` the outcome of `fut`, or, when a cancellation `m` came after `fut` was done, a new
 * `CancelledError` instead. (When the outcome already is a cancellation, CPython delivers that one,
 * message and all.)
 */
function deliverOrCancel(fut: Future<unknown>, awaiter: Awaiter, m: string | undefined | typeof NO_CANCEL): void {
  if (m !== NO_CANCEL && !fut.cancelled() && !(fut._hasException && fut._exception instanceof CancelledError)) {
    fut._markRetrieved();
    awaiter._deliver(false, new CancelledError(m ?? ""));
  } else {
    fut._deliverTo(awaiter);
  }
}

Object.defineProperty(Task.prototype, "_sparent", { value: null, writable: false });
Object.defineProperty(Task.prototype, "_shield", { value: false, writable: false });
Object.defineProperty(Task.prototype, "_level", { value: null, writable: false });
Object.defineProperty(Task.prototype, "_closed", { value: false, writable: false });
Object.defineProperty(Task.prototype, "_givenUp", { value: null, writable: false });
Object.defineProperty(Task.prototype, "_cancelStep", { value: -1, writable: true });
Object.defineProperty(Task.prototype, "_cancelStepMsg", { value: undefined, writable: true });

const GET_STACK_OPTIONS = ["limit"] as const;
const PRINT_STACK_OPTIONS = ["limit", "file"] as const;

function stackLimit(options: PrintStackOptions | undefined, known: readonly string[]): number | undefined {
  if (options === undefined) return undefined;
  const o = checkOptions(options, known, known.length === 1 ? "getStack()" : "printStack()");
  const limit = o.limit;
  if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit))) {
    throw new TypeError(`Expected limit to be an integer, got ${describe(limit)}`);
  }
  return limit;
}

/** The rarely used state of a task (see `Task._x`). @internal */
class TaskExtras {
  /** the context the task's first step runs in (context.ts), when one was captured or given */
  ctx: AsyncResource | null = null;
  /** the `Context` the task was given (`{ context }`): its `ContextVar` sets are written back to it */
  ctxTarget: Context | null = null;
  pendingCancelMessage: string | undefined = undefined;
  abort: AbortController | null = null;
  kids: Strand[] | null = null;
  deferredCancels: Array<string | undefined> | null = null;
  foreignAwaits = 0;
  createdAt: string | undefined = undefined;
  /** see `Task._lastCancelMessage` */
  lastCancelMessage: string | undefined = undefined;
  /** where the task last registered an await (debug mode: current.ts, "await sites") */
  awaitSite: AwaitSite | null = null;
}



/**
 * A task's first call, inside the task's context (`runInTask`). The function's promise is subscribed
 * here, in that context, so the shared settle handlers below find their task as the current one: no
 * closure per task.
 */
function startInTask(task: Task<unknown>): void {
  runInTask(task, startTask);
}

function startEagerInStrand(task: Task<unknown>): void {
  runInStrand(task, startTask, task);
}

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

const DONE_PATH: unique symbol = Symbol("asyncio-ts.donePath");

/**
 * Mark `cb` as a combinator's handling of a future that is done when the combinator sees it (gather's
 * `_done_callback` for done children, shield's and wait_for's checks): run at once when a task made from
 * running work finishes within its first step (see `Task._scheduleCallbacks`). @internal
 */
export function markDonePath<F extends (f: any) => void>(cb: F): F {
  (cb as { [DONE_PATH]?: true })[DONE_PATH] = true;
  return cb;
}

function isDonePath(cb: unknown): boolean {
  return typeof cb === "function" && (cb as { [DONE_PATH]?: true })[DONE_PATH] === true;
}

/** @internal subscribe a task to the promise of its work (its function's, or one taken over: adopt.ts) */
export function settleTaskWith(promise: Promise<unknown>): void {
  promise.then(taskFulfilled, taskRejected);
}

/** The task's function settled: the reaction runs in the task's context, which names the task. */
// (the reaction runs in its task's context while the loop holds the hooks, which it does while any of its
// tasks is pending; a task's work that settles after its loop closed has no task to settle any more)
function taskFulfilled(value: unknown): void {
  contextTask()?._succeed(value);
}

function taskRejected(error: unknown): void {
  const t = contextTask();
  if (t !== undefined) t._fail(error);
  else if (!(error instanceof CancelledError)) {
    // (no loop to report it through: it closed; the error must not vanish)
    console.error("asyncio-ts: the work of a task failed after its event loop closed:", error);
  }
}
