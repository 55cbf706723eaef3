/**
 * `WorkerSlot`: the pool's record of one live worker (`pool.ts`), beside the backend's handle on it
 * (`backend.ts`). The pool alone reads and writes it; it holds the worker's pipeline of jobs, its pace,
 * and where it is in its life: starting, ready, being aborted, asked to exit, dead.
 *
 * It is generic in the job type (the pool's `Job`), so that it does not import the job's module: a job
 * names its worker, a worker lists its jobs, and neither module imports the other's.
 *
 * @module
 */
import type { LongTimer } from "../core/index.js";
import type { BackendWorker } from "./backend.js";

/** A live worker. @internal */
export class WorkerSlot<J> {
  /** Invariant: the backend's worker, set by the pool right after construction. */
  bw!: BackendWorker;
  /** Invariant: true once the worker reported `"ready"` (its initializer ran); jobs are sent only then. */
  ready = false;
  /** Invariant: set once the pool asked it to exit or terminated it: its exit is not a crash, and it gets no more jobs. */
  expectedExit = false;
  /** Invariant: true once its exit was handled (`WorkerPool._onExit`); the slot is then out of the pool's list. */
  dead = false;
  /**
   * Invariant: the jobs sent to it and not yet reported, in the order sent: `inflight[ihead..]`, each
   * `"sent"` with `job.worker === this` (its future may be done already: cancelled, timed out). The
   * entries before `ihead` are spent (cleared).
   */
  inflight: J[] = [];
  ihead = 0;
  /** Invariant: the sequence number of the last job sent to it (the next job gets `seq + 1`); 0 before the first. */
  seq = 0;
  /** Invariant: the function ids whose definition it was sent (a job of another function carries its definition). */
  known = new Set<number>();
  /** Invariant: EWMA of the time per job (ms), updated on each results message; -1 until measured. */
  avg = -1;
  /** Invariant: `performance.now()` of its last results message; 0 before the first. */
  lastResultAt = 0;
  /**
   * Invariant: the running job being aborted (cancelled or timed out, the worker told to stop it), from
   * `WorkerPool._abortRunning` until the job reports; null when none. At most one job runs at a time.
   */
  abortingJob: J | null = null;
  /**
   * Invariant: armed while `abortingJob` has not reported within `cancelGrace`: when it fires, the
   * worker is terminated (a replacement starts on demand); null otherwise.
   */
  abortKillTimer: LongTimer | null = null;
  /**
   * Invariant: armed from when the pool asks the worker to exit (`WorkerPool._askExit`) until it exits:
   * when it fires, the worker is terminated; null otherwise.
   */
  exitKillTimer: LongTimer | null = null;
  /**
   * Invariant: the job the worker said it was running when an uncaught error ended it (the `seq` of its
   * `"fatal"` message; 0: none was running); undefined when it sent no such message. Tells a child
   * process's pool which job died with it.
   */
  fatalSeq: number | undefined = undefined;
  /** Invariant: why the pool terminated the worker while it had jobs (the end of "Worker X ..."); null if it did not. */
  stoppedBecause: string | null = null;
  /** Invariant: the first error the worker reported (an `error` event, or its `"fatal"` message), the cause of a crash; undefined if none. */
  lastError: unknown = undefined;
  /**
   * Invariant: whether the backend worker is ref'd (keeps the process alive): kept equal to what
   * `WorkerPool._updateRef` wants (it has jobs, is exiting, is starting with jobs queued, or a shutdown
   * is awaited). Starts ref'd, as a new worker is.
   */
  refd = true;
  constructor(
    /** `<prefix>_<n>`: what `currentThread().name` says in the worker, and what errors and traces name. */
    readonly name: string,
  ) {}
  /** The number of jobs sent and not yet reported. */
  get load(): number {
    return this.inflight.length - this.ihead;
  }
}
