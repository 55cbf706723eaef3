/**
 * A submitted task (`Job`) and its future (`ExecutorFuture`): the pool's unit of work, and what the
 * caller awaits. Cancelling the future cancels the job through its pool.
 *
 * @module
 */
import { type Awaiter, type Chain, contextTask, type EventLoop, Future, type LongTimer } from "../core/index.js";
import type { ExecutorJob } from "../core/index.js";
import type { FnSpec } from "./protocol.js";
import type { WorkerPool, WorkerSlot } from "./pool.js";

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
  /** @internal the job; null once the pool is done with it (or for shutdown futures) */
  _job: Job | null;
  /** @internal awaiters outside a running loop, delivered directly on completion */
  _direct: Awaiter[] | null = null;
  /** @internal what the future waits on, for `dumpTasks()` and traces */
  override _label: string | undefined = undefined;

  /** @internal */
  constructor(loop: EventLoop, job: Job | null) {
    super({ loop });
    this._job = job;
  }

  override cancel(msg?: string): boolean {
    if (!super.cancel(msg)) return false;
    const job = this._job;
    if (job !== null) job.pool._onCancel(job);
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

  private _flushDirect(): void {
    const d = this._direct;
    if (d === null) return;
    this._direct = null;
    for (const awaiter of d) queueMicrotask(() => this._deliverTo(awaiter));
  }
}

/** Job states. @internal */
export const QUEUED = 0;
/** @internal */
export const SENT = 1;
/** @internal */
export const DONE = 2;

/** A submitted task. @internal */
export class Job {
  /** QUEUED (in the pool's queue), SENT (owned by `worker`), DONE (the pool is finished with it). */
  state = QUEUED;
  worker: WorkerSlot | null = null;
  /** Per-worker sequence number, set when sent. */
  seq = 0;
  sentAt = 0;
  timer: LongTimer | null = null;
  /** Invariant: true while the job holds its loop's virtual clock (until the future settles). */
  held = true;
  future!: ExecutorFuture<unknown>;
  /** The tracer's view of the job, when the loop had a tracer at submission; null once reported finished. */
  trace: ExecutorJob | null = null;
  constructor(
    readonly pool: WorkerPool,
    readonly fnId: number,
    readonly spec: FnSpec,
    readonly payload: unknown,
    readonly flags: number,
    readonly timeout: number,
  ) {}
}
