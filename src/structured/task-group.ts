/**
 * Task groups (Python 3.13's `asyncio.TaskGroup`): structured concurrency.
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
 * Only the callback form exists: an `await using` form could not see the body's error (a disposer
 * cannot replace the error that is leaving the block), so it could neither cancel the children when the
 * body fails nor put the body's error into the group.
 *
 * @module
 */
import { addAwaitSource, callerStrand, CancelledError, currentTask, describe, type EventLoop, ExceptionGroup, type Future, getRunningLoop, removeAwaitSource, runBodyIn, RuntimeError, ScopeBody, type Task, type TaskFunction, type TaskOptions } from "../core/index.js";

let groupCounter = 0;

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
export class TaskGroup {
  private _entered = false;
  private _exiting = false;
  private _aborting = false;
  private _loop: EventLoop | null = null;
  private _parentTask: Task<unknown> | null = null;
  /** Invariant: the body's cancellation state (the strand the body and the exit wait run in), from entry until the exit ends. */
  private _body: ScopeBody | null = null;
  private _parentCancelRequested = false;
  /** Invariant: the group's children that are not done yet. */
  private readonly _tasks = new Set<Task<unknown>>();
  private _errors: unknown[] = [];
  private _onCompletedFut: Future<boolean> | null = null;
  private readonly _id = ++groupCounter;

  /**
   * Start `fn` as a task of the group. Throws `RuntimeError` if the group is not running, is finished,
   * or is shutting down after a failure.
   */
  createTask<T>(fn: TaskFunction<T>, options: TaskOptions = {}): Task<T> {
    if (!this._entered) throw new RuntimeError(`${this} has not been entered`);
    if (this._exiting && this._tasks.size === 0) throw new RuntimeError(`${this} is finished`);
    if (this._aborting) throw new RuntimeError(`${this} is shutting down`);
    const task = this._loop!.createTask(fn, options);
    this._tasks.add(task as Task<unknown>);
    task.addDoneCallback((t) => this._onTaskDone(t as Task<unknown>));
    return task;
  }

  /** Run `body(group)` in the current task and wait for every task of the group. */
  async run<R>(body: (tg: TaskGroup) => PromiseLike<R> | R): Promise<R> {
    if (typeof body !== "function") throw new TypeError(`Expected body to be a function, got ${describe(body)}`);
    const b = this._enter();
    const s = b.strand;
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
    try {
      await runBodyIn(s, exitGroup, [this, failed, error] as const);
    } finally {
      b.close();
      removeAwaitSource(b.task, this);
    }
    return result as R;
  }

  private _enter(): ScopeBody {
    if (this._entered) throw new RuntimeError(`${this} has already been entered`);
    this._loop = getRunningLoop();
    this._parentTask = currentTask();
    if (this._parentTask === null) throw new RuntimeError(`${this} cannot determine the parent task`);
    this._entered = true;
    // (for call graphs: the children are awaited by the parent task, as in CPython, from now until exit)
    addAwaitSource(this._parentTask, this);
    return (this._body = new ScopeBody(callerStrand()!));
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
    while (this._tasks.size > 0) {
      this._onCompletedFut ??= this._loop!.createFuture<boolean>();
      try {
        await this._onCompletedFut;
      } catch (e) {
        if (e instanceof CancelledError) {
          if (!this._aborting) {
            propagateCancellation = e;
            this._abort();
          }
        } else throw e;
      }
      this._onCompletedFut = null;
    }
    const body = this._body!;
    const parent = body.task;
    if (this._parentCancelRequested) {
      // We cancelled the parent ourselves: take that request back.
      if (body.takeBack() === 0) propagateCancellation = undefined;
    }
    if (propagateCancellation !== undefined && this._errors.length === 0) {
      this._parentTask = null;
      throw propagateCancellation;
    }
    if (failed && !(exc instanceof CancelledError)) this._errors.push(exc);
    if (this._errors.length > 0) {
      if (parent.cancelling() > 0) {
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

  private _abort(): void {
    this._aborting = true;
    for (const t of this._tasks) if (!t.done()) t.cancel();
  }

  private _onTaskDone(task: Task<unknown>): void {
    this._tasks.delete(task);
    if (this._onCompletedFut !== null && this._tasks.size === 0 && !this._onCompletedFut.done()) {
      this._onCompletedFut.setResult(true);
    }
    if (task.cancelled()) return;
    const exc = task.exception();
    if (!task._hasException) return;
    this._errors.push(exc);
    const parent = this._body === null ? null : this._body.task;
    if (parent === null || parent.done() || this._parentTask === null) {
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
