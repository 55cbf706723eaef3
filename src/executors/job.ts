/**
 * A task submitted to a thread or process pool (`Job`): the pool's unit of work, from `submit` until the
 * pool is finished with it. Its future (`executor-future.ts`) is what the caller awaits; cancelling the
 * future tells the pool (`WorkerPool._cancelJob`), which reads the job's state to decide what to do.
 *
 * A job moves through three states ({@link JobState}): queued in the pool, sent to a worker, done. A
 * job sent to a worker that died before starting it goes back to the queue; nothing else moves it back.
 *
 * @module
 */
import type { AsyncResource } from "node:async_hooks";
import type { ExecutorJob, IoHold, LongTimer } from "../core/index.js";
import type { ExecutorFuture } from "./executor-future.js";
import type { FnSpec } from "./protocol.js";
import type { WorkerSlot } from "./worker-slot.js";

/**
 * Where a job is. @internal
 * - `"queued"`: in the pool's queue (`WorkerPool._queue`), counted by `_queued`; not sent to any worker.
 * - `"sent"`: sent to `worker`, in its `inflight` list, until the worker reports it (done, failed or
 *   skipped) or dies. It may have started (`startedOn`) or still wait in the worker's pipeline.
 * - `"done"`: the pool is finished with it (reported, removed while queued, failed with the pool, or its
 *   worker died while running it); a done job is skipped wherever it is still listed.
 */
export type JobState = "queued" | "sent" | "done";

/** A submitted task. @internal */
export class Job {
  /** Invariant: see {@link JobState}. */
  state: JobState = "queued";
  /** Invariant: the worker the job was sent to while `"sent"` (and after, once done there); null until sent, and again when requeued. */
  worker: WorkerSlot<Job> | null = null;
  /**
   * Invariant: the worker that reported starting the job (its `"start"` message, sent only for jobs
   * with `JobFlags.ReportStart`: a timeout or a tracer); null before that, and for a job requeued
   * after its worker died (such a job never started).
   */
  startedOn: WorkerSlot<Job> | null = null;
  /** Invariant: the job's number on `worker` (per-worker sequence), set when sent; 0 before. */
  seq = 0;
  /** Invariant: `performance.now()` when the job was sent (times the worker's pace); 0 before. */
  sentAt = 0;
  /** Invariant: the job's timeout, armed from its start report until it settles or times out; else null. */
  timer: LongTimer | null = null;
  /**
   * Invariant: true while the job holds its loop's virtual clock: from submission until the future
   * settles, except while the hold is lent to its portal calls (`lent`).
   */
  held = true;
  /** Invariant: the job's portal calls (`callLoop`) being served on its loop: made and not yet answered (`portal.ts`). */
  calls = 0;
  /**
   * Invariant: true while the job's clock hold is lent to its portal calls: `calls > 0`, `held` is false,
   * and the hold is taken back when the last call is answered, unless the job's future settled meanwhile
   * (which clears this). The job then waits on the loop, whose own timers must be free to advance.
   */
  lent = false;
  /**
   * Invariant: while `lent` and the job's timeout is armed, the I/O mark that keeps its loop from reporting
   * a deadlock (the timeout will still fire); null otherwise.
   */
  lentIo: IoHold | null = null;
  /**
   * Invariant: the `AbortCode` the job was aborted with while running on its worker (cancelled or timed
   * out: `WorkerPool._abortRunning`, or cancelled by a shutdown's timeout); 0 otherwise. Its portal calls
   * are refused with that reason from then on.
   */
  aborted = 0;
  /**
   * Invariant: the async context of the code that submitted the job, captured when the pool has portal
   * functions and contexts are in use (its portal calls' tasks start in it); null otherwise.
   */
  ctx: AsyncResource | null = null;
  /** Invariant: the job's future, set right after construction (the future names the job as its `_job`). */
  future!: ExecutorFuture<unknown>;
  /** The tracer's view of the job, when the loop had a tracer at submission; null once reported finished. */
  trace: ExecutorJob | null = null;
  constructor(
    /** The pool's id of the function (the workers cache its definition under it). */
    readonly fnId: number,
    readonly spec: FnSpec,
    /** The arguments (or, for a chunk of `map`, the list of argument lists). */
    readonly payload: unknown,
    /** `JobFlags` sent with the job. */
    readonly flags: number,
    /** Ms from the job's start before it times out; `Infinity`: never. */
    readonly timeout: number,
  ) {}
}
