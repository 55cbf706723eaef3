/**
 * Task groups (Python 3.13's `asyncio.TaskGroup`): structured concurrency, with Trio's nursery extras.
 *
 * `taskGroup(body)` runs `body(tg)` in the current task; tasks started with `tg.createTask` belong to the
 * group, and the group does not return until all of them are done. The first child failure cancels the
 * siblings and the body; all errors (the body's too) come out together in an `ExceptionGroup` with
 * CPython's message. A cancellation of the parent from outside propagates as `CancelledError` once the
 * children have finished.
 *
 * The body and the wait for the children run in a strand of their own (`core/cancellation.ts`): where CPython
 * cancels the parent task when a child fails, the group cancels that strand, which is every chain the
 * body started and nothing else of the parent task; the request is counted on the parent task.
 *
 * ## Trio's extras
 * - `tg.cancelScope` (Trio's `nursery.cancel_scope`) is a kernel `CancelScope` whose body *is* the group's
 *   strand: one `ScopeBody`, level-triggered, holding both the scope's requests and those of CPython's
 *   child-failure cancel, so the cancel state keeps one owner (`core/cancellation.ts`). `cancel()` (or its
 *   deadline) cancels the body (level-triggered) and the children (`task.cancel()`, once: they are
 *   asyncio tasks, cancelled as this group cancels them when a sibling fails; a task created later is
 *   cancelled at birth), and the `CancelledError` it caused is swallowed at the group's edge
 *   (`cancelledCaught`), as Trio's nursery does. Rejected: level-triggered children (a `CancelScope` per
 *   child): a child's cleanup awaits would fail where asyncio's TaskGroup lets them run, and each child
 *   would pay a strand.
 * - Once the children are cancelled, the group waits for them in a strand that the level-triggered
 *   cancellation of the scopes around it does not enter (`runSheltered`): in the cancelled scope itself,
 *   each await of the wait would fail at once and the wait would spin (on virtual time, for ever: a child
 *   cleaning up with `await sleep(..)` never saw its clock move). A later `task.cancel()` still reaches
 *   the wait, and is ignored there as in CPython.
 * - `tg.start(fn)` (Trio's `nursery.start`): `fn(status)` runs as a task of the group at once, and
 *   `start()` waits until it calls `status.started(value)`. Until then the task is the caller's, as in
 *   Trio (where it lives in a nursery of `start()`'s own): its failure, or its return without
 *   `started()`, is `start()`'s error and does not break the group; the caller's cancellation cancels it
 *   (`start()` then waits until it ends, as Trio's does); the group's cancellation does not (it reaches the
 *   task when it calls `started()`). From `started()` on, it is an ordinary child. Unlike Trio, `started()`
 *   in a task whose `start()` was cancelled still hands the task to the group (Trio keeps it in the
 *   cancelled caller and so `started()` can deadlock, its issue 2895; an asyncio task ending cancelled in a
 *   group is harmless). The task is in the group from the start, so the group waits for it (Trio's
 *   pending starts keep a nursery open too). AnyIO's asyncio backend instead cancels a task that is not
 *   started yet with the group: `start()` then throws a `CancelledError` into a caller nobody cancelled.
 *
 * Only the callback form exists: an `await using` form could not see the body's error (a disposer
 * cannot replace the error that is leaving the block), so it could neither cancel the children when the
 * body fails nor put the body's error into the group.
 *
 * @module
 */
import {
  addAwaitSource,
  addTaskHost,
  callerStrand,
  liveCallerStrand,
  CancelledError,
  CancelScope,
  checkFn,
  describe,
  type EventLoop,
  ExceptionGroup,
  type Future,
  getRunningLoop,
  removeAwaitSource,
  removeTaskHost,
  runBodyIn,
  runSheltered,
  RuntimeError,
  type ScopeBody,
  type ScopeCancelListener,
  type StrandLike,
  type Task,
  type TaskFunction,
  type TaskHost,
  type TaskOptions,
} from "../core/index.js";
import { TaskStatus } from "./task-status.js";

let groupCounter = 0;

/** One `tg.start()` in progress, until it returns or throws. */
interface Start<T> {
  readonly status: TaskStatus<T>;
  /** the strand of `start()`'s caller, whose scopes bind the task until `started()` */
  readonly caller: StrandLike;
  /** what `start()` awaits: the value given to `started()`, or the task's failure */
  readonly ready: Future<T>;
  /** Invariant: the task, once `createTask` has returned it (an eager first step runs before). */
  task: Task<unknown> | null;
  /** Invariant: true once the task failed before `started()` (with `error`, which may be any value, undefined too). */
  failed: boolean;
  /** the task's own error, if it failed before `started()` (meaningful only when `failed`) */
  error: unknown;
  /** while `start()`, cancelled, waits for the task: completed when it calls `started()` or ends */
  changed: Future<void> | null;
}

/**
 * A group of tasks that finish together. Get one from `taskGroup(body)` (or `new TaskGroup().run(body)`).
 *
 * @example
 * ```ts
 * import { run, taskGroup, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const results = await taskGroup(async (tg) => {
 *     const a = tg.createTask(() => sleep(20, "a"));
 *     const b = tg.createTask(() => sleep(10, "b"));
 *     return [a, b];
 *   });
 *   console.log(results.map((t) => t.result())); // ["a", "b"]
 * }, { virtualTime: true });
 * ```
 */
export class TaskGroup implements ScopeCancelListener, TaskHost {
  /**
   * The group's cancel scope (Trio's `nursery.cancel_scope`): it covers the body, the wait for the
   * children, and the children. `cancel()` (or its `deadline`) cancels them all, and the group then
   * returns normally (the body's result, or `undefined` if the body was cancelled; `cancelledCaught`
   * tells). Set `deadline` or `shield` before `run()` or while the group runs.
   *
   * @example
   * ```ts
   * import { run, taskGroup, sleep, getRunningLoop } from "asyncio-ts";
   * await run(async () => {
   *   const loop = getRunningLoop();
   *   await taskGroup(async (tg) => {
   *     tg.cancelScope.deadline = loop.time() + 50;
   *     tg.createTask(() => sleep(1000));
   *     await sleep(1000);
   *   });
   *   console.log(loop.time()); // 50: the deadline cancelled the body and the task
   * }, { virtualTime: true });
   * ```
   */
  readonly cancelScope = new CancelScope();
  private _entered = false;
  private _exiting = false;
  private _aborting = false;
  private _loop: EventLoop | null = null;
  private _parentTask: Task<unknown> | null = null;
  /** Invariant: the body's cancellation state (the strand the body and the exit wait run in: `cancelScope`'s), from entry on. */
  private _body: ScopeBody | null = null;
  private _parentCancelRequested = false;
  /** Set when a child ended cancelled after `cancelScope.cancel()`: the scope cut it short (`cancelledCaught`). */
  private _cutShort = false;
  /** Invariant: the group's children that are not done yet (those of a `start()` in progress included). */
  private readonly _tasks = new Set<Task<unknown>>();
  /** Invariant: the children of a `start()` that have not called `started()` nor ended (the caller's, not cancelled with the group); null until the first `start()`. */
  private _starting: Map<Task<unknown>, Start<any>> | null = null;
  private _errors: unknown[] = [];
  private _onCompletedFut: Future<boolean> | null = null;
  private readonly _id = ++groupCounter;

  /**
   * Start `fn` as a task of the group. Throws `RuntimeError` if the group is not running, is finished,
   * or is shutting down after a failure. In a group whose `cancelScope` is cancelled, the task is
   * cancelled at once.
   */
  createTask<T>(fn: TaskFunction<T>, options: TaskOptions = {}): Task<T> {
    this._checkOpen();
    const task = this._spawn(fn, options);
    if (this.cancelScope.cancelCalled) task.cancel();
    return task;
  }

  /**
   * Start `fn(status)` as a task of the group and wait until it calls `status.started(value)`; return
   * `value` (Trio's `nursery.start`). If the task fails, or returns, before `started()`, `start()` throws
   * its error (or a `RuntimeError` saying it returned without calling `started()`) and the group goes on
   * unharmed. If the caller is cancelled meanwhile, the task is cancelled, `start()` waits until it ends
   * (or calls `started()`: it then stays in the group), and throws the `CancelledError` (or the task's own
   * error). Rejects with `RuntimeError` where `createTask` throws; must be awaited inside a task.
   *
   * @example
   * ```ts
   * import { run, taskGroup, startServer, openConnection, type TaskStatus } from "asyncio-ts";
   * await run(async () => {
   *   await taskGroup(async (tg) => {
   *     const port = await tg.start(async (status: TaskStatus<number>) => {
   *       const server = await startServer(async (_r, w) => { w.write("hi\n"); w.close(); }, "127.0.0.1", 0);
   *       status.started(server.sockets[0]!.port); // listening: start() returns the port
   *       await server.serveForever();
   *     });
   *     const [reader, writer] = await openConnection("127.0.0.1", port);
   *     console.log(String(await reader.readline())); // "hi\n"
   *     writer.close();
   *     tg.cancelScope.cancel(); // stop the server; the group returns normally
   *   });
   * });
   * ```
   */
  async start<T = void>(fn: (status: TaskStatus<T>) => PromiseLike<unknown> | unknown, options: TaskOptions = {}): Promise<T> {
    checkFn(fn, "fn");
    this._checkOpen();
    const caller = callerStrand();
    if (caller === null) throw new RuntimeError(`${this}: start() must be awaited inside a task`);
    const ready = this._loop!.createFuture<T>();
    ready._label = "TaskGroup.start";
    const status: TaskStatus<T> = new TaskStatus<T>((value) => this._childStarted(st, value));
    const st: Start<T> = { status, caller, ready, task: null, failed: false, error: undefined, changed: null };
    const task = this._spawn(() => fn(status), options);
    st.task = task;
    if (status._isStarted) this._admit(task);
    else (this._starting ??= new Map()).set(task, st);
    try {
      return await ready;
    } catch (e) {
      if (!(e instanceof CancelledError) || status._isStarted) throw e;
      // Cancelled while the task was ours: it must not outlive start() unobserved (Trio's start waits too).
      if (status._waiting) {
        task.cancel();
        await runSheltered(caller, waitStartSettled, st);
      }
      if (st.failed) throw st.error;
      throw e;
    }
  }

  /**
   * Run `body(group)` in the current task and wait for every task of the group. Resolves to the body's
   * result; if the group's own `cancelScope` cut the body short, to `undefined` (the type says `R` so that
   * the usual case reads well: a program that cancels the scope checks `cancelScope.cancelledCaught`).
   */
  async run<R>(body: (tg: TaskGroup) => PromiseLike<R> | R): Promise<R> {
    if (typeof body !== "function") throw new TypeError(`Expected body to be a function, got ${describe(body)}`);
    const b = this._enter();
    const entryCancelling = b.visibleCancelling();
    let failed = false;
    let error: unknown;
    let result: R | undefined;
    try {
      // (a body blocked on something nothing can interrupt is given up when the group cancels it)
      result = await b.runBody(body, this, "a task group");
    } catch (e) {
      failed = true;
      error = e;
    }
    let exitFailed = false;
    let exitError: unknown;
    try {
      await runBodyIn(b.strand, exitGroup, [this, failed, error] as const);
    } catch (e) {
      exitFailed = true;
      exitError = e;
    }
    removeAwaitSource(b.task, this);
    removeTaskHost(this._loop!, this);
    // (the scope swallows the CancelledError it caused: the group returns normally, as a Trio nursery)
    const caught = this.cancelScope._close(exitFailed, exitError, entryCancelling);
    if (exitFailed && !caught) throw exitError;
    // Trio's rule for a nursery: its scope caught a cancellation if it cut the body short, or a task (whose
    // Cancelled reaches the nursery there); the wait for the tasks is no checkpoint, and does not count.
    this.cancelScope.cancelledCaught = (caught && failed) || this._cutShort;
    return result as R;
  }

  private _enter(): ScopeBody {
    if (this._entered) throw new RuntimeError(`${this} has already been entered`);
    this._loop = getRunningLoop();
    const caller = liveCallerStrand(); // (a done task's code still running too)
    if (caller === null) throw new RuntimeError(`${this} cannot determine the parent task`);
    this._parentTask = caller._task;
    const b = this.cancelScope._open(caller, this);
    this._entered = true;
    // (for call graphs: the children are awaited by the parent task, as in CPython, from now until exit)
    addAwaitSource(this._parentTask, this);
    addTaskHost(this._loop, this);
    return (this._body = b);
  }

  private _checkOpen(): void {
    if (!this._entered) throw new RuntimeError(`${this} has not been entered`);
    if (this._exiting && this._tasks.size === 0) throw new RuntimeError(`${this} is finished`);
    if (this._aborting) throw new RuntimeError(`${this} is shutting down`);
  }

  private _spawn<T>(fn: TaskFunction<T>, options: TaskOptions): Task<T> {
    const task = this._loop!.createTask(fn, options);
    this._tasks.add(task as Task<unknown>);
    task.addDoneCallback((t) => this._onTaskDone(t as Task<unknown>));
    return task;
  }

  /** @internal the strand whose scopes bind `task`, if it is ours (TaskHost: `currentEffectiveDeadline`) */
  _hostOf(task: Task<unknown>): StrandLike | undefined {
    if (!this._tasks.has(task) || this._body === null) return undefined;
    return this._starting?.get(task)?.caller ?? this._body.strand;
  }

  /** @internal the children, awaited by the parent task (call graphs: `core/awaited-by.ts`) */
  _awaitedFutures(): Iterable<Future<unknown>> {
    return this._tasks;
  }

  /** What CPython's `self._parent_task.cancel()` does here: cancel the group's strand. */
  private _cancelParent(): void {
    this._body!.cancel(undefined);
  }

  /** @internal */
  _exitGroup(failed: boolean, exc: unknown): Promise<void> {
    return this._exit(failed, exc);
  }

  private async _exit(failed: boolean, exc: unknown): Promise<void> {
    this._exiting = true;
    let propagateCancellation: unknown = failed && exc instanceof CancelledError ? exc : undefined;
    if (failed && !this._aborting) this._abort();
    const body = this._body!;
    // Until the children are cancelled, the wait is a cancellation point of every scope around it; then
    // it is sheltered from their level-triggered cancellation (see the module comment).
    while (this._tasks.size > 0 && !this._childrenCancelled()) {
      this._onCompletedFut ??= this._loop!.createFuture<boolean>();
      try {
        await this._onCompletedFut;
      } catch (e) {
        const c = this._waitCancelled(e);
        propagateCancellation ??= c;
      }
      this._onCompletedFut = null;
    }
    if (this._tasks.size > 0) {
      const c = await runSheltered(body.strand, awaitChildrenSheltered, this);
      propagateCancellation ??= c;
    }
    // Take back the requests the group made (CPython's uncancel() for its own cancel; the scope's too).
    const after = body.takeBack();
    if (this._parentCancelRequested && after === 0) propagateCancellation = undefined;
    if (propagateCancellation !== undefined && this._errors.length === 0) {
      this._parentTask = null;
      throw propagateCancellation;
    }
    if (failed && !(exc instanceof CancelledError)) this._errors.push(exc);
    if (this._errors.length > 0) {
      if (body.visibleCancelling() > 0) {
        // Cancelled from outside too: keep the request count stable for the code above us (CPython's
        // uncancel() then cancel(): the next await after the group raises).
        body.recancelAfter();
      }
      const errors = this._errors;
      this._errors = [];
      this._parentTask = null;
      throw new ExceptionGroup("unhandled errors in a TaskGroup", errors);
    }
    this._parentTask = null;
  }

  /** @internal the rest of the wait for the children, sheltered; returns a cancellation that made the group shut down */
  async _awaitChildrenSheltered(): Promise<CancelledError | undefined> {
    let cancellation: CancelledError | undefined;
    while (this._tasks.size > 0) {
      this._onCompletedFut ??= this._loop!.createFuture<boolean>();
      try {
        await this._onCompletedFut;
      } catch (e) {
        const c = this._waitCancelled(e);
        cancellation ??= c;
      }
      this._onCompletedFut = null;
    }
    return cancellation;
  }

  /**
   * The wait for the children failed with `e`: a cancellation before the group shut down shuts it down
   * (CPython's `__aexit__`) and is returned, to be propagated; a later one is ignored.
   */
  private _waitCancelled(e: unknown): CancelledError | undefined {
    if (!(e instanceof CancelledError)) throw e;
    if (this._aborting) return undefined;
    this._abort();
    return e;
  }

  /** True once the group cancelled its children: after a failure, or by its cancel scope. */
  private _childrenCancelled(): boolean {
    return this._aborting || this.cancelScope.cancelCalled;
  }

  /** Shut down after a failure or a cancellation: no new task; the children are cancelled, once (not again if the scope did). */
  private _abort(): void {
    this._aborting = true;
    if (!this.cancelScope.cancelCalled) this._cancelChildren();
  }

  /** @internal the group's cancel scope was cancelled: cancel the children, unless the group did already (ScopeCancelListener) */
  _scopeCancelled(): void {
    if (!this._aborting) this._cancelChildren();
  }

  /** Cancel the children, except those of a `start()` in progress (they are its caller's until `started()`). */
  private _cancelChildren(): void {
    const starting = this._starting;
    for (const t of this._tasks) if (!t.done() && (starting === null || !starting.has(t))) t.cancel();
  }

  /** A child of `start()` called `started(value)`. */
  private _childStarted<T>(st: Start<T>, value: T): void {
    if (!st.ready.done()) st.ready.setResult(value);
    if (st.changed !== null && !st.changed.done()) st.changed.setResult(undefined);
    if (st.task !== null) this._admit(st.task);
  }

  /** A child of `start()` becomes an ordinary child: the group's cancellation reaches it from now on. */
  private _admit(task: Task<unknown>): void {
    this._starting?.delete(task);
    if (this._childrenCancelled() && !task.done()) task.cancel();
  }

  /** A child of `start()` ended before `started()`: its outcome is `start()`'s, not the group's. */
  private _startEnded(st: Start<unknown>, task: Task<unknown>): void {
    st.status._end();
    if (!task.cancelled() && task._hasException) {
      // (a flag, not `error !== undefined`: the function may have thrown undefined)
      st.failed = true;
      st.error = task.exception();
    }
    if (!st.ready.done()) {
      if (task.cancelled()) st.ready.cancel();
      else if (st.failed) st.ready._relayException(st.error); // (whatever it threw, undefined too)
      else st.ready.setException(new RuntimeError(`${task.getName()} returned without calling status.started() (TaskGroup.start)`));
    }
    if (st.changed !== null && !st.changed.done()) st.changed.setResult(undefined);
  }

  private _onTaskDone(task: Task<unknown>): void {
    this._tasks.delete(task);
    if (this._onCompletedFut !== null && this._tasks.size === 0 && !this._onCompletedFut.done()) {
      this._onCompletedFut.setResult(true);
    }
    const st = this._starting?.get(task);
    if (st !== undefined) {
      this._starting!.delete(task);
      this._startEnded(st, task);
      return;
    }
    if (task.cancelled()) {
      if (this.cancelScope.cancelCalled) this._cutShort = true;
      return;
    }
    const exc = task.exception();
    if (!task._hasException) return;
    this._errors.push(exc);
    // (a group whose body still runs aborts, even when its task is done: the body is that task's code
    // still running, a chain it did not wait for; once the group has exited, nobody reads the error)
    const parent = this._body === null ? null : this._body.task;
    if (parent === null || this._parentTask === null) {
      this._loop!.callExceptionHandler({
        message: `Task ${task._repr()} has errored out but its parent task is already completed`,
        exception: exc,
        task,
      });
      return;
    }
    if (!this._aborting && !this._parentCancelRequested) {
      this._abort();
      this._parentCancelRequested = true;
      this._cancelParent();
    }
  }

  /** @internal */
  toString(): string {
    const state = this._exiting ? (this._tasks.size ? "exiting" : "finished") : this._entered ? "entered" : "created";
    return `<TaskGroup ${this._id} ${state}${this._tasks.size ? ` tasks=${this._tasks.size}` : ""}${this._errors.length ? ` errors=${this._errors.length}` : ""}${this._aborting ? " cancelling" : ""}>`;
  }
}

function awaitChildrenSheltered(tg: TaskGroup): Promise<CancelledError | undefined> {
  return tg._awaitChildrenSheltered();
}

/** `start()`, cancelled, waits until its task calls `started()` or ends (edge cancellations are ignored). */
async function waitStartSettled<T>(st: Start<T>): Promise<void> {
  const loop = st.ready._loop;
  while (st.status._waiting) {
    st.changed = loop.createFuture<void>();
    try {
      await st.changed;
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
    }
  }
  st.changed = null;
}

function exitGroup(x: readonly [TaskGroup, boolean, unknown]): Promise<void> {
  return x[0]._exitGroup(x[1], x[2]);
}

/**
 * Run `body(tg)` with a new task group in the current task; resolve to the body's result once every
 * task of the group is done.
 *
 * @example
 * ```ts
 * import { run, taskGroup, sleep, ExceptionGroup } from "asyncio-ts";
 * await run(async () => {
 *   try {
 *     await taskGroup(async (tg) => {
 *       tg.createTask(async () => { await sleep(10); throw new Error("boom"); });
 *       tg.createTask(() => sleep(1000)); // cancelled when the sibling fails
 *     });
 *   } catch (e) {
 *     console.log((e as ExceptionGroup).message);
 *     // unhandled errors in a TaskGroup (1 sub-exception)
 *     //   [1] Error: boom
 *   }
 * }, { virtualTime: true });
 * ```
 */
export function taskGroup<R>(body: (tg: TaskGroup) => PromiseLike<R> | R): Promise<R> {
  return new TaskGroup().run(body);
}
