/**
 * The instrument interface: what the loop and its tasks report, and the services a loop may be given
 * from above the kernel.
 *
 * The kernel calls instruments; it does not implement any. Three kinds:
 * - a `Tracer` (`loop._tracer`): every hook site is `loop._tracer?.onX(...)`, one field load and a null
 *   test when none is installed. `src/tracing/hooks.ts` composes partial instruments into one tracer.
 * - `Diagnostics` (`loop._diagnostics`): the task dump of a deadlock report, debug mode's monitor and
 *   the task table that other processes may ask for (`aio ps`). Installed by the runner
 *   (`src/runner/loops.ts`) from `src/tracing`; a loop without them still reports a deadlock, with one
 *   line per task.
 * - new-loop hooks (`newLoopHooks`): functions run by every `EventLoop` constructor (what
 *   `instrumentNewLoops` registers when a program asks for it; nothing registers one at import time).
 *
 * @module
 */
import type { EventLoop } from "./event-loop.js";
import type { Future } from "./future.js";
import type { Task } from "./task.js";

/** An executor job as tracers see it; executors pass the same object to every hook of one job. */
export interface ExecutorJob {
  /** The loop whose future the job completes (its clock times the job). */
  loop: EventLoop;
  /** The executor's name, e.g. `ThreadPoolExecutor-1`. */
  executor: string;
  /** A number unique within the executor. */
  id: number;
  /** The function's name ("" when anonymous). */
  fn: string;
  /** The task that submitted the job, if one did. */
  task: Task<unknown> | null;
}

/** How an executor job ended. */
export type ExecutorJobOutcome = "ok" | "error" | "cancelled";

/** Callbacks a tracer implements; an `Instrument` implements any subset. */
export interface Tracer {
  /** A task was created; its first step is scheduled. */
  onTaskCreated(task: Task<unknown>): void;
  /** The task finished, failed or was cancelled. */
  onTaskDone(task: Task<unknown>): void;
  onTaskCancelRequested(task: Task<unknown>, msg: string | undefined): void;
  /** The task's next step was put on the ready queue (derived by `installTracer`; the core never calls it). */
  onTaskScheduled(task: Task<unknown>): void;
  onStepStart(task: Task<unknown>): void;
  onStepEnd(task: Task<unknown>): void;
  /** The task suspended on `awaited` (null: `sleep(0)`, one iteration). */
  onTaskSuspended(task: Task<unknown>, awaited: Future<unknown> | null): void;
  /** A future is done: the tasks suspended on it are scheduled. */
  onFutureDone(future: Future<unknown>): void;
  /** A step was left waiting on a foreign promise. */
  onForeignAwait(task: Task<unknown>): void;
  onIterationStart(loop: EventLoop): void;
  onIterationEnd(loop: EventLoop): void;
  /** An executor job was queued (see the module comment for the executors' calls). */
  onExecutorJobQueued(job: ExecutorJob): void;
  /** A worker started the job. */
  onExecutorJobStarted(job: ExecutorJob, worker: string): void;
  /** The job ended; `worker` is null when it was cancelled before it started. */
  onExecutorJobFinished(job: ExecutorJob, worker: string | null, outcome: ExecutorJobOutcome): void;
}

/** A tracer with any subset of the hooks. */
export type Instrument = Partial<Tracer>;

/** What a loop asks of the diagnostics installed on it (see the module comment). @internal */
export interface Diagnostics {
  /** The text of a deadlock report: the reason, then every task and what it waits on. */
  deadlockReport(loop: EventLoop, reason: string): string;
  /** Debug mode: start watching a loop that starts running; `stop()` when it stops. */
  startMonitor(loop: EventLoop): { stop(): void };
}

/**
 * @internal functions run by every new `EventLoop` (see the module comment); null when there are none.
 * Invariant: never an empty array.
 */
export const newLoopHooks: { list: Array<(loop: EventLoop) => void> | null } = { list: null };
