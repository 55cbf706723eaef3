/**
 * `JobQueue`: p-queue's promise queue as asyncio tasks. Jobs wait in line by priority (higher first,
 * FIFO within a priority), at most `concurrency` run at once, at most `intervalCap` start per `interval`
 * ms, each may have a time limit; every job runs as a named `Task` (cancellable, listed by `allTasks()`,
 * drawn on the tracing timeline), and `add()` returns a future of its result (`JobFuture`).
 *
 * ## Approach
 * - **The line** is `job-queue-list.ts` (a list per priority, the job future its own node), **the rate
 *   limit** `job-queue-rate.ts` (fixed or sliding windows on the loop's clock, one timer while limited),
 *   **the job future** `job-queue-future.ts`, **the events** `job-queue-events.ts`, **the options and
 *   their checks** `job-queue-options.ts`.
 * - **Starting** is synchronous, as in p-queue: `add()` with a free slot makes the job's task at once
 *   (`pending` counts it), and the task runs from the loop's next iteration (CPython's `create_task`;
 *   with `eagerTaskFactory`, inside `add()`). When a task ends, the job future (registered as the task's
 *   done callback: no closure per job) settles from the task's outcome and the next jobs start. `pending` counts tasks that have not ended: a
 *   cancelled or timed-out job holds its slot until its task has really finished (its `finally` blocks
 *   ran), so the limit holds for the work itself, not for the promises.
 * - **Time limits** are asyncio's: the job's function runs inside `timeout(ms)` in its task, sees
 *   `CancelledError` at its current await, and the future rejects with `TimeoutError` (the job's name,
 *   the limit and the queue's state in its message; the scope's own error as its `cause`).
 * - **Cancellation**: cancelling a job's future cancels the job (`job-queue-future.ts`), and so does
 *   cancelling a task that awaits it (CPython's semantics of awaiting a task); `shield(queue.add(fn))`
 *   detaches it. An `AbortSignal` removes a waiting job (the future rejects with `signal.reason`) or
 *   cancels a running one's task (the future rejects with `signal.reason` once the task ended). The
 *   tasks sharing a signal share one `abort` listener (Node's signals search their listeners linearly;
 *   `job-queue-signals.ts`).
 * - **A job's context** is that of its `add()` call (its `ContextVar` and `AsyncLocalStorage` values),
 *   also when it starts later from another job's end, as p-queue binds its jobs to the caller's async
 *   context: `add()` copies the context (`copyContext()`, only once some code has used a context; the
 *   task then runs in it).
 * - **Work that ignores cancellation** keeps its slot: a job awaiting a foreign promise that never
 *   settles cannot be interrupted (asyncio-ts cannot stop foreign work), so its time limit or abort takes
 *   effect at its next await of ours, and its future settles when its task ends. This is CPython's
 *   `wait_for`, which waits for the cancelled task to finish. Await foreign promises through
 *   `fromPromise(p)` (cancellable) or hand them the job's `signal`.
 * - **Nothing is left pending**: `clear()` cancels the futures of the waiting jobs (`cancelled()` is
 *   true, `CancelledError` for their awaiters, never reported as unhandled), as CPython's
 *   `Executor.shutdown(cancel_futures=True)` does; p-queue 9 left them pending forever, p-queue 10 rejects
 *   them with an `AbortError`.
 * - **The queue's own task**: while the queue has jobs, a task named after it (`JobQueue-1`) waits for
 *   the queue to go idle. It is how the queue learns that `run()` is ending: `run()` cancels every task,
 *   this one included, and its cancellation cancels the waiting jobs' futures and the running jobs'
 *   tasks; no job is started after that. (Without it, each job task cancelled at shutdown would start
 *   the next job in its done callback, a task that the loop's close then reports as destroyed.)
 *   Cancelling it yourself stops the queue's work the same way. Its wait says `JobQueue-1: 3 running, 5
 *   waiting` in task dumps (and deadlock reports: `..., 1 waiting, paused`).
 * - **A running loop** is needed by everything that starts jobs (`add`, `addAll`) or waits: jobs are
 *   tasks of that loop. Outside one, `add()` throws a `RuntimeError` saying where to call it. The queue is
 *   bound to the loop of its first job, and moves to another loop only while idle. If the loop closes
 *   under it (a loop closed by hand, without `run()`'s shutdown), the code awaiting its jobs outside tasks
 *   is rejected with a `RuntimeError`, as the loop does for its tasks.
 * - **Waits** (`onIdle`, `onEmpty`, `onSizeLessThan`, `onPendingZero`, `onRateLimit`,
 *   `onRateLimitCleared`, `onError`) are waiters on the sync layer's `WaiterQueue`, so they are
 *   cancellable, take `{ signal }`, and name themselves in task dumps (`JobQueue.onIdle`)
 *   (`job-queue-waits.ts`).
 *
 * ## Rejected alternatives
 * - **A worker-pool of `concurrency` long-lived tasks pulling from a `Queue`** (the usual asyncio
 *   pattern). A job would not be a task of its own: it could not be named, cancelled alone or seen on the
 *   timeline as itself, and changing `concurrency` would mean starting and stopping workers.
 * - **A `Semaphore` around `createTask`**: every job would be a task from the start, so 100,000 waiting
 *   jobs would be 100,000 pending tasks (memory, task dumps, `allTasks()`), and neither priorities nor
 *   rate limits fit a semaphore's FIFO.
 * - **Returning a native `Promise` from `add()`** (p-queue): a task awaiting it would wait on foreign
 *   work (the loop's watchdog, `holdTimeout` on virtual time), and its cancellation would not reach the
 *   job. A future is awaited like one of ours, and is cancellable.
 * - **Settling the future of a job cancelled while it runs at once** (p-queue frees the slot on abort
 *   and lets the work run on): see `job-queue-future.ts`.
 *
 * Speed: `bench/suites/jobqueue.mjs` measures the whole life of a job against p-queue and p-limit
 * (100,000 trivial async jobs added at once, every result awaited, at concurrency 1, 4 and 100). On 2
 * cores, Node 20, load 1.1: a job cost 1.3-1.8 us here, 4.4-5.1 us with p-queue, 1.9-3.0 us with
 * p-limit (under a load of 5, one run of four had p-limit ahead at concurrency 4: 2.0 against 2.3 us).
 * What a job allocates is what costs: the garbage collector was half of the profile; per job about
 * 1,130 bytes here, 2,100 for p-limit, 3,300 for p-queue (`node --trace-gc-nvp`, the sum of
 * `allocated=` over one round).
 *
 * @module
 */
import {
  CancelledError,
  checkBoolean,
  checkCount,
  checkMs,
  checkOptions,
  checkString,
  contextState,
  copyContext,
  describe,
  type EventLoop,
  Future,
  loopRegistry,
  runningLoopOrNull,
  RuntimeError,
  type Task,
  type TimerHandle,
  TimeoutError,
} from "../core/index.js";
import { fmtMs } from "../core/errors.js";
import { limited, type Timeout } from "../time/timeout.js";
import { type AbortOptions } from "../sync/abort-signal.js";
import { gatherAll } from "../combinators/gather.js";
import { PriorityList } from "./job-queue-list.js";
import { RateWindow } from "./job-queue-rate.js";
import { DONE, type JobFunction, JobFuture, type JobOwner, RUNNING, WAITING } from "./job-queue-future.js";
import { Emitter, type JobQueueListenerOptions } from "./job-queue-events.js";
import { EMPTY, ERROR, IDLE, PENDING_ZERO, QueueWaits, RATE_CLEARED, RATE_LIMIT, SIZE_BELOW } from "./job-queue-waits.js";
import { SignalJobs } from "./job-queue-signals.js";
import { type JobOptions, badJob, checkPriority, checkTimeout, type JobQueueOptions, QUEUE_OPTIONS, readAddOptions } from "./job-queue-options.js";

export { JobFuture, type JobContext, type JobFunction, type JobState } from "./job-queue-future.js";
export type { JobOptions, JobQueueOptions } from "./job-queue-options.js";
export type { JobQueueListenerOptions } from "./job-queue-events.js";

/**
 * The events of a `JobQueue` and their listeners' arguments (`queue.on(event, listener)`).
 * @example `queue.on("completed", (result, job) => console.log(job.name, result));`
 */
export interface JobQueueEvents {
  /** A job was added (it is in line: `size` counts it). */
  add: [job: JobFuture<unknown>];
  /** A job started: its task was made. */
  active: [job: JobFuture<unknown>];
  /** A job's task ended with a result. */
  completed: [result: unknown, job: JobFuture<unknown>];
  /** A job's task failed: it threw, timed out, or its signal aborted while it ran. */
  error: [error: unknown, job: JobFuture<unknown>];
  /** A job is done with, whatever happened: it finished, or left the line (aborted, cancelled, cleared). */
  next: [job: JobFuture<unknown>];
  /** The line became empty: its last job started or left it (jobs may still run). */
  empty: [];
  /** Nothing waits and nothing runs any more. */
  idle: [];
  /** No job runs any more (jobs may wait: a paused or rate-limited queue). */
  pendingZero: [];
  /** The queue became rate-limited: jobs wait for the `intervalCap` of the current window. */
  rateLimit: [];
  /** The queue is no longer rate-limited (a new window opened, or nothing waits any more). */
  rateLimitCleared: [];
}

const EVENT_NAMES: (keyof JobQueueEvents)[] = ["add", "active", "completed", "error", "next", "empty", "idle", "pendingZero", "rateLimit", "rateLimitCleared"];

/**
 * A running job, as `statistics().running` lists it.
 * @example `queue.statistics().running.filter((j) => j.timeoutRemaining !== null && j.timeoutRemaining < 100)`
 */
export interface RunningJobInfo {
  id: string;
  name: string;
  priority: number;
  /** The loop time it started at (ms). */
  startedAt: number;
  /** Its time limit (ms), or null. */
  timeout: number | null;
  /** Ms left until its time limit, or null. */
  timeoutRemaining: number | null;
  /** Its task. */
  task: Task<unknown>;
}

/**
 * What `JobQueue.statistics()` reports. Jobs added = `size + pending + succeeded + failed + cancelled`.
 * @example `const { size, pending, succeeded, failed } = queue.statistics();`
 */
export interface JobQueueStatistics {
  /** Jobs waiting in line. */
  size: number;
  /** Jobs running (tasks that have not ended). */
  pending: number;
  concurrency: number;
  paused: boolean;
  rateLimited: boolean;
  /** Starts counted in the current rate-limit window (0 without a rate limit). */
  intervalCount: number;
  /** Jobs added (not counting those whose signal had already aborted). */
  added: number;
  /** Jobs whose task was made. */
  started: number;
  /** Jobs whose future has a result. */
  succeeded: number;
  /** Jobs whose future rejected: the job threw or timed out, or its signal aborted. */
  failed: number;
  /** Jobs whose future was cancelled: `cancel()`, the caller's cancellation, `clear()`. */
  cancelled: number;
  /** The running jobs, oldest start first. */
  running: RunningJobInfo[];
}

/** The message of the `CancelledError` of a job removed by `clear()`. */
const CLEARED = "JobQueue.clear() removed the job before it started";

let queueCounter = 0;

/**
 * A priority job queue with a concurrency limit, a rate limit and time limits, whose jobs are tasks
 * (p-queue's API on asyncio-ts). `add(fn)` returns a `JobFuture` of the job's result: await it, or
 * cancel it to cancel the job.
 *
 * @example
 * ```ts
 * import { run, JobQueue, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const queue = new JobQueue({ concurrency: 2 });
 *   const order: string[] = [];
 *   const job = (name: string, ms: number) => async () => { await sleep(ms); order.push(name); return name; };
 *   const a = queue.add(job("a", 30));
 *   queue.add(job("b", 10));
 *   queue.add(job("c", 10)); // waits for a slot
 *   queue.add(job("urgent", 10), { priority: 5 }); // goes before c
 *   console.log(queue.size, queue.pending); // 2 2
 *   console.log(await a); // "a"
 *   await queue.onIdle();
 *   console.log(order.join(" ")); // "b urgent a c"
 * }, { virtualTime: true });
 * ```
 */
export class JobQueue implements JobOwner {
  /** The queue's name: its task's name and its jobs' name prefix. */
  readonly name: string;
  /** @internal the loop the jobs run on; bound at the first `add`, changed only while idle */
  _loop: EventLoop | null = null;
  /** @internal a positive integer or Infinity */
  _concurrency: number;
  /** @internal the default time limit, ms; null: none */
  _timeout: number | null;
  /** @internal */ _paused: boolean;
  /** @internal the rate limit; null without one (`intervalCap` Infinity or `interval` 0) */
  readonly _rate: RateWindow | null;
  /** @internal the timer that retries when the rate limit blocks; non-null only while rate-limited */
  _rateTimer: TimerHandle | null = null;
  /** @internal what the last `rateLimit`/`rateLimitCleared` event said */
  _rateLimited = false;
  /** @internal the waiting jobs. Invariant: exactly the jobs in phase WAITING */
  readonly _waiting = new PriorityList<JobFuture<unknown>>();
  /** @internal the running jobs, oldest start first, linked through `_lprev`/`_lnext`; exactly the jobs in phase RUNNING */
  _runHead: JobFuture<unknown> | null = null;
  /** @internal see `_runHead` */
  _runTail: JobFuture<unknown> | null = null;
  /** @internal the number of running jobs. Invariant: <= concurrency, except just after `concurrency` was lowered */
  _running = 0;
  /** @internal jobs added so far (the next job's number is `_seq + 1`) */
  _seq = 0;
  /**
   * @internal false from the first job after an idle period until nothing waits or runs any more (then
   * `idle` is reported). Invariant: true implies `_running === 0 && _waiting.size === 0`
   */
  _idle = true;
  /** @internal true while `_dispatch` starts jobs (a nested call, from a listener, leaves it to the outer one) */
  _dispatching = false;
  /** @internal the queue's task; non-null from the first job after an idle period until idle again (or cancelled) */
  _guard: Task<void> | null = null;
  /** @internal what `_guard` waits on: set when the queue goes idle */
  _busy: Future<void> | null = null;
  /** @internal unregisters the loop-close callback; non-null while `_busy` is */
  _unhookClose: (() => void) | null = null;
  /** @internal listeners; null until the first `on()` */
  _events: Emitter<JobQueueEvents> | null = null;
  /** @internal the waits (`onIdle` ... `onError`) */
  readonly _waits = new QueueWaits(this);
  /** @internal the jobs (waiting or running) of each signal, with the one `abort` listener they share */
  readonly _signals = new SignalJobs<JobFuture<unknown>>((signal, jobs) => this._onAbort(signal, jobs));
  /** @internal counters (see `JobQueueStatistics`) */
  _added = 0;
  /** @internal */ _started = 0;
  /** @internal */ _succeeded = 0;
  /** @internal */ _failed = 0;
  /** @internal */ _cancelled = 0;

  /** @param options see `JobQueueOptions`; all optional */
  constructor(options?: JobQueueOptions) {
    const o = checkOptions(options, QUEUE_OPTIONS, "new JobQueue()");
    this.name = checkString(o.name, "name") ?? `JobQueue-${++queueCounter}`;
    this._concurrency = checkCount(o.concurrency ?? Infinity, "concurrency", { min: 1, infinity: true });
    const cap = checkCount(o.intervalCap ?? Infinity, "intervalCap", { min: 1, infinity: true });
    const interval = checkMs(o.interval ?? 0, "interval", { finite: true });
    const carryover = checkBoolean(o.carryoverIntervalCount, "carryoverIntervalCount") ?? false;
    const strict = checkBoolean(o.strict, "strict") ?? false;
    if (strict && (interval === 0 || cap === Infinity)) {
      throw new TypeError(`strict needs a rate limit: give an interval above 0 and a finite intervalCap, got interval ${fmtMs(interval)} and intervalCap ${cap}`);
    }
    this._rate = cap === Infinity || interval === 0 ? null : new RateWindow(cap, interval, strict, carryover);
    this._timeout = checkTimeout(o.timeout, "timeout");
    this._paused = !(checkBoolean(o.autoStart, "autoStart") ?? true);
  }

  // ------------------------------------------------------------------ adding

  /**
   * Add a job: `fn` runs as a task when a slot is free (and the rate limit allows), after the waiting
   * jobs of a higher or equal priority. Returns the job's future: its result, or its error. Throws
   * (synchronously, as `createTask` does) on bad input, and a `RuntimeError` outside a running loop.
   * @example `const user = await queue.add(({ signal }) => fetchUser(3, signal), { priority: 1 });`
   */
  add<T>(fn: JobFunction<T>, options?: JobOptions): JobFuture<T> {
    if (typeof fn !== "function") throw badJob(fn, "fn");
    const loop = this._bind("add");
    const job = new JobFuture<T>(fn, this, ++this._seq, loop);
    job._timeout = this._timeout;
    // The job runs in the context of this call, whenever it starts (as p-queue binds its function to
    // the caller's AsyncLocalStorage context); nothing to copy until some code used a context.
    if (contextState.inUse) job._ctx = copyContext();
    if (options !== undefined) readAddOptions(job as JobFuture<unknown>, options);
    const signal = job._signal;
    if (signal !== null && signal.aborted) {
      // Never added (as p-queue: no event): the future rejects with the reason at once.
      job._phase = DONE;
      job._reject(signal.reason);
      return job;
    }
    this._enqueue(job as JobFuture<unknown>, loop);
    return job;
  }

  /**
   * Add several jobs with the same options; returns a future of all their results, in order (a
   * `gatherAll`: the first error rejects it; cancelling it cancels every job). Every function is checked
   * before any job is added.
   * @example `const pages = await queue.addAll(urls.map((u) => () => fetchPage(u)));`
   */
  addAll<T>(fns: Iterable<JobFunction<T>>, options?: JobOptions): Future<T[]> {
    if (fns === null || typeof fns !== "object" || typeof (fns as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError(`Expected fns to be an iterable of functions, got ${describe(fns)}`);
    }
    const list = [...fns];
    list.forEach((fn, i) => {
      if (typeof fn !== "function") throw badJob(fn, `fns[${i}]`);
    });
    this._bind("addAll");
    const jobs = list.map((fn) => this.add(fn, options));
    return gatherAll(jobs);
  }

  /** @internal put a new job in line (or start it at once) */
  _enqueue(job: JobFuture<unknown>, loop: EventLoop): void {
    this._added++;
    this._idle = false;
    if (this._guard === null) this._watch(loop);
    if (job._signal !== null) this._signals.add(job, job._signal);
    const waiting = this._waiting;
    if (this._events === null && waiting.size === 0 && this._running < this._concurrency && !this._paused && this._rate === null && !this._dispatching) {
      this._start(job, loop); // (the usual case, without a detour through the line)
      return;
    }
    const before = waiting.size;
    waiting.push(job);
    this._emit("add", job);
    this._dispatch(before);
  }

  // ------------------------------------------------------------------ starting and finishing jobs

  /**
   * @internal start the waiting jobs that the limits allow; then report what changed (the line shrank
   * below `before` entries: `empty`, `onSizeLessThan`; the rate limit)
   */
  _dispatch(before: number): void {
    if (this._dispatching) return;
    const waiting = this._waiting;
    const guard = this._guard;
    // (the queue's task is being cancelled: run() is ending, or its work is being stopped)
    if (waiting.size > 0 && !this._paused && (guard === null || guard.cancelling() === 0)) {
      const loop = this._loop!;
      const rate = this._rate;
      this._dispatching = true;
      try {
        while (waiting.size > 0 && !this._paused && this._running < this._concurrency) {
          if (rate !== null && !rate.allows(loop.time(), this._running)) break;
          const job = waiting.shift()!;
          this._start(job, loop);
          this._emit("active", job);
        }
      } finally {
        this._dispatching = false;
      }
    }
    this._shrank(before);
    if (this._rate !== null) this._updateRate();
  }

  /** @internal make the job's task */
  _start(job: JobFuture<unknown>, loop: EventLoop): void {
    job._phase = RUNNING;
    const now = loop.time();
    job._startedAt = now;
    this._rate?.take(now, this._running);
    this._running++;
    this._started++;
    const tail = this._runTail;
    job._lprev = tail;
    if (tail === null) this._runHead = job;
    else tail._lnext = job;
    this._runTail = job;
    const ms = job._timeout;
    const body = ms === null ? callOf(job) : () => runTimed(job, ms, this);
    let task: Task<unknown>;
    const context = job._ctx;
    if (context === null && loop._tracer === null && loop.getTaskFactory() === null) {
      // (named after it is made: no options object to make and check per job, about 90 of the 1,200 bytes
      // a job allocated with `{ name }`, measured with --trace-gc-nvp; nothing reads the name before the
      // task's first step but a tracer's onTaskCreated or a task factory)
      task = loop.createTask(body);
      task.setName(job.name);
    } else {
      task = loop.createTask(body, context === null ? { name: job.name } : { name: job.name, context });
      job._ctx = null;
    }
    job._task ??= task;
    task._pushCallback(job); // (the job future is a Runnable: its `_run` calls `_finish`)
  }

  /** @internal the job's task ended: settle its future from the task's outcome, start the next jobs */
  _finish(job: JobFuture<unknown>): void {
    if (job._phase !== RUNNING) return; // (the loop closed under it)
    const task = job._task!;
    job._phase = DONE;
    this._unlinkRunning(job);
    this._running--;
    if (job._signal !== null) this._signals.delete(job, job._signal);
    let ok = false;
    let value: unknown;
    try {
      value = task.result();
      ok = true;
    } catch (e) {
      value = e;
    }
    if (ok) {
      this._succeeded++;
      job._resolve(value);
      this._emit("completed", value, job);
    } else if (task.cancelled() && job._abortedBy === null) {
      this._cancelled++;
      job._cancelFuture(value instanceof CancelledError ? value.message || undefined : undefined);
    } else {
      const error = task.cancelled() ? job._abortedBy!.reason : value;
      this._failed++;
      job._reject(error);
      this._emit("error", error, job);
      this._waits.failed(error);
    }
    this._emit("next", job);
    this._dispatch(this._waiting.size);
    this._checkIdle(true);
  }

  /** @internal */
  _unlinkRunning(job: JobFuture<unknown>): void {
    const prev = job._lprev as JobFuture<unknown> | null;
    const next = job._lnext as JobFuture<unknown> | null;
    if (prev === null) this._runHead = next;
    else prev._lnext = next;
    if (next === null) this._runTail = prev;
    else next._lprev = prev;
    job._lprev = job._lnext = null;
  }

  // ------------------------------------------------------------------ removing waiting jobs

  /** @internal `JobFuture.cancel()` of a waiting job */
  _cancelWaiting(job: JobFuture<unknown>, msg: string | undefined): void {
    const before = this._waiting.size;
    this._waiting.remove(job);
    job._phase = DONE;
    if (job._signal !== null) this._signals.delete(job, job._signal);
    this._cancelled++;
    job._cancelFuture(msg);
    this._emit("next", job);
    this._afterRemoval(before);
  }

  /**
   * Remove every waiting job: their futures are cancelled (`CancelledError` for whoever awaits them;
   * never reported as unhandled). Running jobs go on. Returns the number of jobs removed.
   * @example `queue.clear(); await queue.onIdle(); // only the running jobs were waited for`
   */
  clear(): number {
    return this._clear(CLEARED);
  }

  /** @internal */
  _clear(msg: string): number {
    const before = this._waiting.size;
    if (before === 0) return 0;
    const jobs = this._waiting.drain();
    for (const job of jobs) {
      job._phase = DONE;
      if (job._signal !== null) this._signals.delete(job, job._signal);
      this._cancelled++;
      job._cancelFuture(msg);
    }
    for (const job of jobs) this._emit("next", job);
    this._afterRemoval(before);
    return jobs.length;
  }

  /** @internal the line lost jobs without starting them */
  _afterRemoval(before: number): void {
    this._dispatch(before); // (with a rate limit, a job freed by a removal may start now)
    this._checkIdle(false);
  }

  // ------------------------------------------------------------------ signals

  /** @internal `signal` aborted: its waiting jobs leave the line, its running jobs' tasks are cancelled */
  _onAbort(signal: AbortSignal, jobs: Set<JobFuture<unknown>>): void {
    const before = this._waiting.size;
    const removed: JobFuture<unknown>[] = [];
    for (const job of jobs) {
      if (job._phase === WAITING) {
        this._waiting.remove(job);
        job._phase = DONE;
        this._failed++;
        job._reject(signal.reason);
        removed.push(job);
      } else if (job._phase === RUNNING && job._abortedBy === null) {
        job._abortedBy = signal;
        job._task!.cancel();
      }
    }
    for (const job of removed) this._emit("next", job);
    if (removed.length > 0) this._afterRemoval(before);
  }

  // ------------------------------------------------------------------ the queue's task and its loop

  /**
   * @internal bind to the running loop (see the module comment); `what` names the method for the
   * `RuntimeError` outside a loop
   */
  _bind(what: string): EventLoop {
    let running = runningLoopOrNull();
    const bound = this._loop;
    if (running === null) {
      // Code resumed by a plain promise (no task, no callback) while a loop runs.
      if (bound !== null && bound.isRunning()) running = bound;
      else if (loopRegistry.running.size === 1) for (const l of loopRegistry.running) running = l;
      if (running === null) {
        throw new RuntimeError(
          `JobQueue.${what}() needs a running event loop, since jobs run as tasks: call it inside run(async () => { ... }) ` +
            "or in a task (the queue itself can be made anywhere)",
        );
      }
    }
    if (bound === running) return running;
    if (bound !== null && !bound.isClosed() && (this._running > 0 || this._waiting.size > 0)) {
      throw new RuntimeError(`${this.name} is bound to a different event loop, where it has jobs: add jobs from that loop`);
    }
    this._loop = running;
    this._rate?.reset();
    this._rateTimer = null;
    this._rateLimited = false;
    return running;
  }

  /** @internal the queue has work: make its task, which waits until the queue is idle */
  _watch(loop: EventLoop): void {
    const busy = new BusyFuture(this, loop);
    this._busy = busy;
    this._unhookClose ??= loop._onClose(() => this._loopClosed());
    this._guard = loop.createTask(() => guardBody(this, busy), { name: this.name });
  }

  /** @internal the queue is idle: its task ends */
  _unwatch(): void {
    const busy = this._busy;
    this._guard = null;
    this._busy = null;
    if (busy !== null && !busy.done()) busy.setResult(undefined);
    const unhook = this._unhookClose;
    this._unhookClose = null;
    unhook?.();
  }

  /** @internal the queue's task was cancelled (`run()` is ending, or someone stopped the queue) */
  _guardCancelled(busy: Future<void>): void {
    if (this._busy !== busy) return;
    this._guard = null;
    this._busy = null;
    this._clear(`${this.name}'s task was cancelled before the job started`);
    for (let j = this._runHead; j !== null; j = j._lnext as JobFuture<unknown> | null) j._task!.cancel();
  }

  /** @internal the loop closed (without `run()`'s shutdown): nobody outside a task may wait forever */
  _loopClosed(): void {
    this._unhookClose = null;
    const error = (job: JobFuture<unknown>): RuntimeError => new RuntimeError(`Event loop is closed: ${job.name} will never finish`);
    const jobs = [...this._waiting.drain(), ...this._runningJobs()];
    for (const job of jobs) {
      job._phase = DONE;
      job._rejectOutsideAwaiters(error(job));
    }
    this._waits.loopClosed();
    this._runHead = this._runTail = null;
    this._running = 0;
    this._idle = true;
    this._guard = null;
    this._busy = null;
    this._rateTimer = null;
    this._rateLimited = false;
    this._signals.clear();
    this._loop = null;
  }

  /** @internal */
  _runningJobs(): JobFuture<unknown>[] {
    const out: JobFuture<unknown>[] = [];
    for (let j = this._runHead; j !== null; j = j._lnext as JobFuture<unknown> | null) out.push(j);
    return out;
  }

  // ------------------------------------------------------------------ state changes and their reports

  /** @internal the line is below `before` entries now: wake the size waiters; `empty` if it emptied */
  _shrank(before: number): void {
    const size = this._waiting.size;
    if (size >= before) return;
    if (size === 0) this._emit("empty");
    this._waits.shrank(size);
  }

  /**
   * @internal after a job finished (`finished`: a running job ended) or left the line: `pendingZero`
   * when the last running job ended, `idle` (and the queue's task ends) when the queue's work is over
   */
  _checkIdle(finished: boolean): void {
    if (this._running !== 0) return;
    if (finished) {
      this._emit("pendingZero");
      this._waits.wake(PENDING_ZERO);
    }
    if (this._idle || this._running !== 0 || this._waiting.size !== 0) return; // (a listener may have added a job)
    this._idle = true;
    this._unwatch();
    if (this._rateTimer !== null) {
      this._rateTimer.cancel();
      this._rateTimer = null;
    }
    this._emit("idle");
    this._waits.wake(IDLE);
  }

  /** @internal re-evaluate the rate limit: arm the retry timer while limited, report transitions */
  _updateRate(): void {
    const rate = this._rate!;
    const loop = this._loop;
    if (loop === null) return;
    const now = loop.time();
    const limited = this._waiting.size > 0 && !rate.allows(now, this._running);
    if (limited) this._armRateTimer(loop, rate.retryAt(now, this._running));
    else if (this._rateTimer !== null) {
      this._rateTimer.cancel();
      this._rateTimer = null;
    }
    if (limited === this._rateLimited) return;
    this._rateLimited = limited;
    this._emit(limited ? "rateLimit" : "rateLimitCleared");
    this._waits.wake(limited ? RATE_LIMIT : RATE_CLEARED);
  }

  /** @internal one timer at a time, at the time the rate limit may allow a start again */
  _armRateTimer(loop: EventLoop, when: number): void {
    const t = this._rateTimer;
    if (t !== null) {
      if (t.when() === when) return;
      t.cancel();
    }
    this._rateTimer = loop.callAt(when, () => {
      this._rateTimer = null;
      this._dispatch(this._waiting.size);
    });
  }

  /** @internal (two fixed arguments rather than a rest parameter: no array per call when nobody listens) */
  _emit(event: keyof JobQueueEvents, a?: unknown, b?: unknown): void {
    if (this._events !== null) this._events.emit(event, a, b);
  }

  // ------------------------------------------------------------------ controls

  /**
   * Stop starting jobs (running jobs go on).
   * @example `queue.pause(); await queue.onPendingZero(); // nothing runs now; jobs may wait`
   */
  pause(): void {
    this._paused = true;
  }

  /**
   * Start (or resume) starting jobs. Returns the queue.
   * @example `await queue.start().onIdle();`
   */
  start(): this {
    if (!this._paused) return this;
    this._paused = false;
    if (this._waiting.size > 0) this._dispatch(this._waiting.size);
    return this;
  }

  /**
   * Whether the queue is paused (`pause()`, or `autoStart: false` before `start()`).
   * @example `if (queue.isPaused) queue.start();`
   */
  get isPaused(): boolean {
    return this._paused;
  }

  /**
   * The most jobs that run at once. Raising it starts waiting jobs at once; lowering it lets running
   * jobs finish.
   * @example `queue.concurrency = 10;`
   */
  get concurrency(): number {
    return this._concurrency;
  }

  set concurrency(value: number) {
    this._concurrency = checkCount(value, "concurrency", { min: 1, infinity: true });
    if (this._waiting.size > 0) this._dispatch(this._waiting.size);
  }

  /**
   * The default time limit of a job's run (ms, or null): applies to jobs added after it is set.
   * @example `queue.timeout = 10_000;`
   */
  get timeout(): number | null {
    return this._timeout;
  }

  set timeout(value: number | null) {
    this._timeout = checkTimeout(value, "timeout");
  }

  /**
   * Move a waiting job (by its id, or its future) to the end of the line of `priority`. Throws a
   * `RangeError` if no waiting job has that id (it may have started already).
   * @example `queue.setPriority("report-7", 10);`
   */
  setPriority(job: string | JobFuture<unknown>, priority: number): void {
    checkPriority(priority, "priority");
    let found: JobFuture<unknown> | null = null;
    if (job instanceof JobFuture) {
      if (job._owner === this && job._phase === WAITING) found = job;
    } else if (typeof job === "string") {
      for (const j of this._waiting) {
        if (j.id === job) {
          found = j;
          break;
        }
      }
    } else {
      throw new TypeError(`Expected job to be a job id (a string) or a JobFuture, got ${describe(job)}`);
    }
    if (found === null) {
      const what = typeof job === "string" ? `with the id ${JSON.stringify(job)}` : `${job.name}`;
      throw new RangeError(`No job ${what} waits in ${this.name} (it may have started or left already)`);
    }
    if (found._prio === priority) return;
    this._waiting.remove(found);
    found._prio = priority;
    this._waiting.push(found);
  }

  // ------------------------------------------------------------------ state

  /**
   * The number of jobs waiting in line.
   * @example `if (queue.size > 1000) await queue.onSizeLessThan(100);`
   */
  get size(): number {
    return this._waiting.size;
  }

  /**
   * The number of jobs waiting with priority `priority`.
   * @example `queue.sizeBy({ priority: 1 })`
   */
  sizeBy(options: { priority: number }): number {
    const o = checkOptions(options, ["priority"], "sizeBy()");
    checkPriority(o.priority, "priority");
    return this._waiting.sizeOf(o.priority);
  }

  /**
   * The number of running jobs (tasks that have not ended).
   * @example `console.log(queue.pending);`
   */
  get pending(): number {
    return this._running;
  }

  /**
   * Whether jobs wait for the rate limit (the current window's `intervalCap` is used up).
   * @example `if (queue.isRateLimited) console.log("throttled");`
   */
  get isRateLimited(): boolean {
    const rate = this._rate;
    const loop = this._loop;
    return rate !== null && loop !== null && this._waiting.size > 0 && !rate.allows(loop.time(), this._running);
  }

  /**
   * Whether jobs wait because every slot is taken or the rate limit is reached.
   * @example `if (queue.isSaturated) await queue.onSizeLessThan(queue.concurrency);`
   */
  get isSaturated(): boolean {
    return this._waiting.size > 0 && (this._running >= this._concurrency || this.isRateLimited);
  }

  /**
   * Counts, limits and the running jobs (a fresh object).
   * @example `console.log(queue.statistics()); // { size: 3, pending: 2, concurrency: 2, ... }`
   */
  statistics(): JobQueueStatistics {
    const loop = this._loop;
    const now = loop?.time() ?? 0;
    return {
      size: this._waiting.size,
      pending: this._running,
      concurrency: this._concurrency,
      paused: this._paused,
      rateLimited: this.isRateLimited,
      intervalCount: this._rate !== null && loop !== null ? this._rate.countAt(now, this._running) : 0,
      added: this._added,
      started: this._started,
      succeeded: this._succeeded,
      failed: this._failed,
      cancelled: this._cancelled,
      running: this._runningJobs().map((j) => ({
        id: j.id,
        name: j.name,
        priority: j._prio,
        startedAt: j._startedAt,
        timeout: j._timeout,
        timeoutRemaining: j._timeout === null ? null : Math.max(0, j._startedAt + j._timeout - now),
        task: j._task as Task<unknown>,
      })),
    };
  }

  // ------------------------------------------------------------------ events

  /**
   * Call `listener` on every `event` (see `JobQueueEvents`); returns the function that removes it.
   * Options: `once`, `signal` (remove it when the signal aborts). A listener's error goes to the loop's
   * exception handler.
   * @example `const off = queue.on("error", (error, job) => console.error(job.name, error)); ... off();`
   */
  on<K extends keyof JobQueueEvents>(event: K, listener: (...args: JobQueueEvents[K]) => void, options?: JobQueueListenerOptions): () => void {
    const events = (this._events ??= new Emitter<JobQueueEvents>(EVENT_NAMES, (error, name) => this._listenerFailed(error, name)));
    return events.on(event, listener, options);
  }

  /**
   * The number of listeners of `event`.
   * @example `queue.listenerCount("idle")`
   */
  listenerCount(event: keyof JobQueueEvents): number {
    return this._events?.count(event) ?? 0;
  }

  /** @internal */
  _listenerFailed(exception: unknown, event: string): void {
    const loop = this._loop ?? runningLoopOrNull();
    const message = `Exception in a ${this.name} listener of "${event}"`;
    if (loop !== null) loop.callExceptionHandler({ message, exception });
    else console.error(message, exception);
  }

  // ------------------------------------------------------------------ waits

  /**
   * Wait until nothing waits and nothing runs (`size === 0 && pending === 0`); at once if so.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`)
   * @example `await queue.onIdle();`
   */
  onIdle(options?: AbortOptions): Promise<void> {
    return this._waits.wait(IDLE, this._waiting.size === 0 && this._running === 0, options);
  }

  /**
   * Wait until no job waits in line (jobs may still run); at once if so.
   * @example `await queue.onEmpty(); // every job has started`
   */
  onEmpty(options?: AbortOptions): Promise<void> {
    return this._waits.wait(EMPTY, this._waiting.size === 0, options);
  }

  /**
   * Wait until no job runs (jobs may wait); at once if so.
   * @example `queue.pause(); await queue.onPendingZero();`
   */
  onPendingZero(options?: AbortOptions): Promise<void> {
    return this._waits.wait(PENDING_ZERO, this._running === 0, options);
  }

  /**
   * Wait until fewer than `limit` jobs wait in line (backpressure); at once if so.
   * @example `for (const item of items) { await queue.onSizeLessThan(100); queue.add(() => handle(item)); }`
   */
  onSizeLessThan(limit: number, options?: AbortOptions): Promise<void> {
    if (typeof limit !== "number" || Number.isNaN(limit)) {
      return Promise.reject(new TypeError(`Expected limit to be a number, got ${describe(limit)}`));
    }
    return this._waits.wait(SIZE_BELOW, this._waiting.size < limit, options, limit);
  }

  /**
   * Wait until the queue is rate-limited (jobs wait for the `intervalCap`); at once if it is.
   * @example `await queue.onRateLimit(); console.log("throttled");`
   */
  onRateLimit(options?: AbortOptions): Promise<void> {
    if (this._rate !== null && this._loop !== null) this._updateRate();
    return this._waits.wait(RATE_LIMIT, this._rateLimited, options);
  }

  /**
   * Wait until the queue is no longer rate-limited; at once if it is not.
   * @example `await queue.onRateLimitCleared();`
   */
  onRateLimitCleared(options?: AbortOptions): Promise<void> {
    if (this._rate !== null && this._loop !== null) this._updateRate();
    return this._waits.wait(RATE_CLEARED, !this._rateLimited, options);
  }

  /**
   * Wait for the next job that fails (throws, times out, or is aborted while it runs): rejects with its
   * error. Never resolves. The job's own future rejects too: handle it as well.
   * @example `await Promise.race([queue.onError(), queue.onIdle()]); // throws the first error, if any`
   */
  onError(options?: AbortOptions): Promise<never> {
    return this._waits.wait(ERROR, false, options) as Promise<never>;
  }

  /** @internal */
  toString(): string {
    const flags = `${this._paused ? " paused" : ""}${this._rateLimited ? " rate-limited" : ""}`;
    return `<JobQueue ${this.name} size=${this._waiting.size} pending=${this._running}/${this._concurrency}${flags}>`;
  }
}

// -------------------------------------------------------------------- helpers

/** The future the queue's task waits on; it says what the queue is doing. */
class BusyFuture extends Future<void> {
  constructor(
    private readonly _queue: JobQueue,
    loop: EventLoop,
  ) {
    super(undefined, loop);
  }

  override _describe(): string {
    const q = this._queue;
    const why = q._paused ? ", paused" : q._rateLimited ? ", rate-limited" : "";
    return `${q.name}: ${q._running} running, ${q._waiting.size} waiting${why}`;
  }
}

/** A job's task function (made here, so that the closure holds the job alone). */
function callOf(job: JobFuture<unknown>): () => unknown {
  return () => job._call();
}

/** The queue's task: wait until the queue is idle; on cancellation, stop the queue's work. */
async function guardBody(queue: JobQueue, busy: Future<void>): Promise<void> {
  try {
    await busy;
  } catch (e) {
    if (e instanceof CancelledError) queue._guardCancelled(busy);
    throw e;
  }
}

/** A job's function inside `timeout(ms)`; its `TimeoutError` names the job and the queue's state. */
async function runTimed<T>(job: JobFuture<T>, ms: number, queue: JobQueue): Promise<T> {
  let scope: Timeout | null = null;
  try {
    return await limited(
      ms,
      (s) => {
        scope = s;
        return job._call();
      },
      TIMEOUT_CALL,
    );
  } catch (e) {
    if (e instanceof TimeoutError && scope !== null && (scope as Timeout).expired()) {
      const state = `${queue.name} had ${queue._running} running and ${queue._waiting.size} waiting`;
      throw new TimeoutError(`${job.name}: ${e.message}; ${state}`, { cause: e });
    }
    throw e;
  }
}

const TIMEOUT_CALL = (ms: string): string => `add(fn, { timeout: ${ms} })`;
