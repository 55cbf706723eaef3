/**
 * `ExecutorFuture`: what every executor's `submit` returns (the thread and process pools, and the Redis
 * executor), an asyncio-ts `Future` that also works with no running loop.
 *
 * ## Approach
 * Cancelling the future must reach the job: remove it if it has not gone out, stop it if it runs. Each
 * executor does that its own way, so the future only knows *whom to tell*: its `_owner` (the executor,
 * through the one method of {@link JobOwner}) and its `_job` (whatever the owner keeps per job: a pool's
 * `Job`, a Redis executor's record). Two fields set at construction, and no closure or subclass per
 * executor: a submission allocates nothing more than the future and the owner's own job object (the
 * tiny-task benchmark counts every allocation per job).
 *
 * An executor future can also be awaited by plain code while its loop is not running (a script that
 * submits and awaits without `run()`): such awaiters are delivered directly when the future settles
 * (`_direct`), since no loop iteration would deliver them; and its done callbacks, once its loop has
 * closed, run without it, each in a microtask, as a `concurrent.futures.Future`'s run in the thread that
 * settles it (the loop refused them: the settle threw, and the direct awaiters were never told).
 *
 * Rejected: a subclass per executor overriding `cancel` (the Redis executor had one, with a closure per
 * job); a cancel callback per future (a closure per job).
 *
 * @module
 */
import { type Awaiter, callReporting, type Chain, contextTask, defaultExceptionHandler, type EventLoop, Future, soon } from "../core/index.js";

/**
 * What an executor future tells when it is cancelled: the executor that runs its job. @internal
 * `J` is the executor's own record of a job.
 */
export interface JobOwner<J = unknown> {
  /**
   * The future of `job` was cancelled by its caller (called once, after the future is cancelled): drop
   * the job if it has not started, stop it if it runs.
   */
  _cancelJob(job: J): void;
}

/**
 * The future of a task submitted to an executor: an asyncio-ts `Future` whose cancellation cancels the
 * task (removes it if queued, aborts it if running), and which can also be awaited with no running loop.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor, sleepSync } from "asyncio-ts";
 * await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
 * const fut = pool.submit((ms: number) => { sleepSync(ms); return "late"; }, 10_000);
 * fut.cancel(); // aborts the sleep; the worker is reused
 * console.log(fut.cancelled()); // true
 * ```
 */
export class ExecutorFuture<T = unknown> extends Future<T> {
  /**
   * @internal Invariant: the executor told when this future is cancelled, or null: a future with no
   * job (a shutdown future), or one the executor is about to settle or cancel itself (it clears the
   * field first, so that its own cancel does not come back to it).
   */
  _owner: JobOwner | null;
  /** @internal Invariant: the owner's record of the job, passed to `_owner._cancelJob`; null for a future with no job. */
  _job: unknown;
  /** @internal Invariant: awaiters that awaited while the loop was not running, delivered directly on completion; null when none. */
  _direct: Awaiter[] | null = null;
  /** @internal what the future waits on, for `dumpTasks()` and traces */
  override _label: string | undefined = undefined;

  /** @internal */
  constructor(loop: EventLoop, owner: JobOwner | null, job: unknown) {
    super({ loop });
    this._owner = owner;
    this._job = job;
  }

  override cancel(msg?: string): boolean {
    if (!super.cancel(msg)) return false;
    // (super.cancel succeeds at most once: the owner hears of a job's cancellation once)
    const owner = this._owner;
    if (owner !== null) owner._cancelJob(this._job);
    this._flushDirect();
    return true;
  }

  override setResult(result: T): void {
    super.setResult(result);
    this._flushDirect();
  }

  override setException(exception: unknown): void {
    super.setException(exception);
    this._flushDirect();
  }

  /** @internal the job's failure, whatever it threw (undefined too), told as `setException` tells it */
  override _relayException(exception: unknown): void {
    super._relayException(exception);
    this._flushDirect();
  }

  /** @internal awaited by plain code while the loop is not running: no loop needed to deliver. */
  override _await(awaiter: Chain<unknown>): void {
    if (this._state === "PENDING" && !this._loop.isRunning()) {
      const task = contextTask();
      if (task === undefined || task.done()) {
        (this._direct ??= []).push(awaiter);
        return;
      }
    }
    super._await(awaiter);
  }

  /** @internal done callbacks: through the loop, or, once it has closed, without it (see the module comment) */
  override _scheduleCallbacks(): void {
    if (!this._loop.isClosed()) {
      super._scheduleCallbacks();
      return;
    }
    const cbs = this._callbackList();
    this._setCallbackList([]);
    for (const cb of cbs) {
      if (typeof cb !== "function") continue; // (a task's wake-up: its loop is gone)
      soon(() => callReporting(cb, this, undefined, (exception) => defaultExceptionHandler({ message: `Exception in callback ${cb.name || "anonymous"}`, exception, future: this })));
    }
  }

  private _flushDirect(): void {
    const d = this._direct;
    if (d === null) return;
    this._direct = null;
    for (const awaiter of d) soon(() => this._deliverTo(awaiter)); // (not the global: fake timers replace it)
  }
}
