/**
 * The pool core, shared by `ThreadPoolExecutor` and `ProcessPoolExecutor`: queue, dispatch,
 * cancellation, timeouts, crash recovery, shutdown and statistics. It knows workers only through the
 * small {@link Backend} interface.
 *
 * ## Approach
 * - Submitting creates an {@link ExecutorFuture} (an asyncio-ts future) and queues a job; dispatch runs
 *   in a microtask, so the jobs submitted in one synchronous stretch go out as one message per worker.
 * - Workers start lazily as in CPython (`_adjust_thread_count`): a submit starts a worker when there are
 *   more queued jobs than idle and starting workers, up to `maxWorkers`. Idle workers are used first.
 * - Pipelining (threads): a worker may hold several jobs. The depth adapts to the measured time per job
 *   (about 2 ms of work in flight, at most {@link SLOT_RING}), so tiny tasks stream in batches while
 *   slow ones (the seed's 1 s tasks, 20 ms CPU tasks) go one at a time, as in CPython, and never wait
 *   behind another worker's backlog.
 * - Cancelling a job's future tells the pool (`_cancelJob`, the future's owner hook, see
 *   `executor-future.ts`), which acts on the job's state (`job.ts`). Cancelling a queued job removes it.
 *   Cancelling a job sent to a thread but not started wins a compare-and-swap on its slot (see
 *   `worker-entry.ts`): it never runs. Cancelling a running job cancels the future at once, aborts the
 *   job's signal (and wakes `sleepSync`), and terminates the worker if the job has not returned after
 *   `cancelGrace` ms (the worker's abort state, `worker-slot.ts`); a new worker replaces it on demand.
 *   Except at `run()`'s end, on its default executor: there, as in CPython, cancelling the future of a
 *   job a thread would already run (sent, or queued with a worker starting for it) leaves the job running,
 *   and the shutdown waits for it (`_runEnding`).
 * - Per-task timeouts start when the worker reports the job's start, not at submission.
 * - A worker that dies (uncaught error, `process.exit`, out of memory, killed) fails only the job it
 *   was running, with `BrokenWorkerError` naming the cause; the jobs pipelined behind it go back to the
 *   front of the queue. Only a failing initializer breaks the pool (as in CPython).
 * - Every future settles: each path that drops a job (result, error, cancel, timeout, crash, shutdown)
 *   goes through `_settle` or `_cancelJob`, which also release the loop's virtual-time hold (`_release`).
 * - Idle workers are `unref`'d: a forgotten pool never keeps the process alive; `shutdown` waits for
 *   the workers, and terminates any that does not exit within a second after being asked.
 * - A running job may call back into its loop (`callLoop`): the pool hands such calls to its
 *   {@link Portal} (`portal.ts`), and tells it when a job is aborted or a worker dies.
 *
 * Rejected: a worker pulling jobs from a shared queue (`SharedArrayBuffer` ring): fastest, but then
 * arguments must be serialized by hand and processes cannot share it; one message per job with no
 * pipelining (the 20-40 us round trip of Piscina and friends).
 *
 * @module
 */
const { availableParallelism } = process.getBuiltinModule("node:os");
import type { ResourceLimits } from "node:worker_threads";
import {
  BrokenWorkerError,
  captureContext,
  checkBoolean,
  checkCount,
  checkMs,
  checkOptions,
  currentTask,
  defaultLoop,
  describe,
  type EventLoop,
  longTimeout,
  type LongTimer,
  RuntimeError,
  soon,
  TimeoutError,
} from "../core/index.js";
import type { ExecutorJobOutcome } from "../core/index.js";
import {
  AbortCode,
  CTL_ABORT,
  CTL_SLOTS,
  JobFlags,
  ResultKind,
  SLOT_RING,
  deserializeError,
  type FnSpec,
  type FromWorker,
  type PortalCallMessage,
  type WorkerInit,
} from "./protocol.js";
import {
  fnSpecOf,
  type Executor,
  type ExecutorStatistics,
  type MapOptions,
  type ShutdownOptions,
  type SubmitOptions,
  type WorkerFunction,
} from "./executor.js";
import { workerEntryPath } from "./resolve.js";

import type { Backend, SpawnOptions } from "./backend.js";
import { ExecutorFuture, type JobOwner } from "./executor-future.js";
import { Job } from "./job.js";
import { checkPortal, Portal, type PortalFunctions } from "./portal.js";
import { WorkerSlot } from "./worker-slot.js";

/** A worker of the pool. */
type Slot = WorkerSlot<Job>;

// ------------------------------------------------------------------ the pool

/** The keys of `ShutdownOptions`. @internal */
export const SHUTDOWN_OPTIONS = ["wait", "cancelFutures", "timeout"] as const;

/** The keys of `PoolOptions`. @internal */
export const POOL_OPTIONS = ["maxWorkers", "initializer", "initargs", "resourceLimits", "taskTimeout", "cancelGrace", "execArgv", "env", "portal"] as const;

/** Options shared by `ThreadPoolExecutor` and `ProcessPoolExecutor`. */
export interface PoolOptions {
  /** Most workers at a time; a positive integer. */
  maxWorkers?: number;
  /** Run in each worker before its first task (a module function or a self-contained function). */
  initializer?: WorkerFunction<any[], unknown> | null;
  /** Arguments of `initializer`. */
  initargs?: unknown[];
  /** V8 heap limits of each worker; exceeding them fails the running task with `BrokenWorkerError`. */
  resourceLimits?: ResourceLimits;
  /** Default per-task timeout (ms from the task's start). Default `Infinity`. */
  taskTimeout?: number;
  /** After cancelling or timing out a running task, wait this long (ms) for it to return before terminating its worker. Default 1000. */
  cancelGrace?: number;
  /** Extra Node flags for the workers. */
  execArgv?: string[];
  /** Environment of the workers (threads: `SHARE_ENV` shares the parent's). */
  env?: Record<string, string> | symbol;
  /**
   * The functions the workers' tasks may call on the loop, by name, with `callLoop(name, ...args)` (or
   * `callLoopSync` on threads): each call runs as a task of the loop that submitted the calling task.
   * Checked and copied at construction. See {@link PortalFunctions}.
   */
  portal?: PortalFunctions | null;
}

const EXIT_GRACE_MS = 1000;
const MAX_DEPTH = SLOT_RING;

/** Throw a clear error if `payload` cannot be structured-cloned. Primitive lists pass for free. */
function checkCloneable(args: readonly unknown[], what: string): void {
  let simple = true;
  for (let i = 0; i < args.length; i++) {
    const t = typeof args[i];
    if ((t === "object" && args[i] !== null) || t === "function" || t === "symbol") {
      simple = false;
      break;
    }
  }
  if (simple) return;
  try {
    structuredClone(args);
  } catch (e) {
    for (let i = 0; i < args.length; i++) {
      try {
        structuredClone(args[i]);
      } catch (e2) {
        throw new TypeError(
          `Cannot send argument ${i + 1} of ${what} to a worker: ${describe(args[i])} cannot be cloned (${(e2 as Error).message}). ` +
            "Arguments must be structured-cloneable: no functions, symbols, or class instances with private state",
        );
      }
    }
    throw new TypeError(`Cannot send the arguments of ${what} to a worker: ${(e as Error).message}`);
  }
}

/** Check the worker options, so that a mistake is an error at construction, not a broken pool later. */
function checkSpawnOptions(options: PoolOptions, kind: "thread" | "process"): SpawnOptions {
  const { env, execArgv, resourceLimits } = options;
  if (execArgv !== undefined && (!Array.isArray(execArgv) || !execArgv.every((a) => typeof a === "string"))) {
    throw new TypeError(`Expected execArgv to be an array of strings, got ${describe(execArgv)}`);
  }
  if (env !== undefined && typeof env !== "symbol") {
    if (env === null || typeof env !== "object" || Array.isArray(env)) {
      throw new TypeError(`Expected env to be an object of strings${kind === "thread" ? " or SHARE_ENV" : ""}, got ${describe(env)}`);
    }
    for (const [k, v] of Object.entries(env)) {
      if (typeof v !== "string") throw new TypeError(`Expected env.${k} to be a string, got ${describe(v)}`);
    }
  } else if (typeof env === "symbol" && kind !== "thread") {
    throw new TypeError("Expected env to be an object of strings: SHARE_ENV is for thread pools only");
  }
  if (resourceLimits !== undefined) {
    if (resourceLimits === null || typeof resourceLimits !== "object" || Array.isArray(resourceLimits)) {
      throw new TypeError(`Expected resourceLimits to be an object, got ${describe(resourceLimits)}`);
    }
    const known = ["maxOldGenerationSizeMb", "maxYoungGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"];
    for (const [k, v] of Object.entries(resourceLimits)) {
      if (!known.includes(k)) throw new TypeError(`Unknown resourceLimits option ${JSON.stringify(k)} (known: ${known.join(", ")})`);
      if (typeof v !== "number" || !(v > 0)) throw new RangeError(`Expected resourceLimits.${k} to be a positive number, got ${describe(v)}`);
      // (below about 0.2 MB V8 aborts the whole process, this one included, when the worker starts)
      if (k === "stackSizeMb" && v < 1) {
        throw new RangeError(`Expected resourceLimits.stackSizeMb to be at least 1 (MB; Node's default is 4): a smaller stack cannot run a worker, got ${describe(v)}`);
      }
    }
  }
  return { resourceLimits, env, execArgv };
}

/**
 * The backend-agnostic pool behind `ThreadPoolExecutor` and `ProcessPoolExecutor`.
 * @internal use the two public classes
 */
export class WorkerPool implements Executor, JobOwner<Job> {
  /** @internal */ readonly _backend: Backend;
  /** @internal */ readonly _maxWorkers: number;
  /** @internal */ readonly _prefix: string;
  private readonly _spawnOptions: SpawnOptions;
  private readonly _initializer: FnSpec | null;
  private readonly _initargs: unknown[];
  private readonly _taskTimeout: number;
  private readonly _cancelGrace: number;
  /** Invariant: the portal functions (possibly none) and the calls being served (`portal.ts`). */
  private readonly _portal: Portal;
  /** Queued jobs `_queue[_qhead..]`; cancelled ones are skipped lazily. Invariant: `_queued` counts the QUEUED ones. */
  private _queue: Job[] = [];
  private _qhead = 0;
  private _queued = 0;
  /** Live workers (not yet exited). */
  private _workers: Slot[] = [];
  private _spawned = 0;
  /** Function ids by content (source text, or module URL and export name); ids are never reused. */
  private _fnIds = new Map<string, number>();
  /** The same ids by spec object (the fast path for a function submitted again). */
  private _specIds = new WeakMap<FnSpec, number>();
  private _dispatchScheduled = false;
  private _shutdown = false;
  private _shutdownWaiters: ExecutorFuture<void>[] = [];
  private _forceTimer: LongTimer | null = null;
  /** Set once an initializer failed: every queued job failed, submit throws. */
  private _broken: Error | null = null;
  private _stats = { completed: 0, failed: 0, cancelled: 0, crashedWorkers: 0 };
  /**
   * @internal Invariant: true once `run()`'s end (`Runner._close`) began cancelling what its program left,
   * on the pool that is its loop's default executor; false otherwise. See `_cancelJob`.
   */
  _runEnding = false;
  private _traceIds = 0;
  private readonly _brokenClass: new (message: string, options?: { cause?: unknown }) => Error;

  /** @internal */
  constructor(
    backend: Backend,
    options: PoolOptions,
    prefix: string,
    defaultMax: number,
    brokenClass: new (message: string, options?: { cause?: unknown }) => Error,
  ) {
    this._backend = backend;
    this._brokenClass = brokenClass;
    this._maxWorkers = checkCount(options.maxWorkers ?? defaultMax, "maxWorkers", { min: 1 });
    this._prefix = prefix;
    this._initializer = options.initializer == null ? null : fnSpecOf(options.initializer, "initializer");
    const initargs = options.initargs ?? [];
    if (!Array.isArray(initargs)) throw new TypeError(`Expected initargs to be an array, got ${describe(initargs)}`);
    checkCloneable(initargs, "initargs");
    this._initargs = initargs;
    this._taskTimeout = checkMs(options.taskTimeout ?? Infinity, "taskTimeout");
    this._cancelGrace = checkMs(options.cancelGrace ?? 1000, "cancelGrace", { finite: true });
    this._portal = new Portal(checkPortal(options.portal));
    this._spawnOptions = checkSpawnOptions(options, backend.kind);
    workerEntryPath(); // fail now, clearly, if the build is missing
  }

  // -------------------------------------------------------------- public API

  /**
   * Schedule `fn(...args)` on a worker and return its future (bound to the running loop, or to the
   * current loop outside one). Throws `RuntimeError` after `shutdown()`, `TypeError` for arguments that
   * cannot be sent.
   */
  submit<A extends unknown[], R>(fn: WorkerFunction<A, R>, ...args: A): ExecutorFuture<Awaited<R>> {
    return this._submit(null, fn, args, this._taskTimeout, 0, "submit()") as ExecutorFuture<Awaited<R>>;
  }

  /**
   * `submit` with per-task options: `{ timeout }` fails the task with `TimeoutError` (and stops it) if it
   * runs longer than `timeout` ms after it started.
   *
   * @example
   * ```ts
   * import { ThreadPoolExecutor, TimeoutError, throwIfCancelled } from "asyncio-ts";
   * await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
   * try {
   *   await pool.submitWith({ timeout: 50 }, () => { while (true) throwIfCancelled(); });
   * } catch (e) { console.log(e instanceof TimeoutError); } // true
   * ```
   */
  submitWith<A extends unknown[], R>(options: SubmitOptions, fn: WorkerFunction<A, R>, ...args: A): ExecutorFuture<Awaited<R>> {
    const timeout = checkMs(checkOptions(options, ["timeout"], "submitWith()").timeout ?? this._taskTimeout, "timeout");
    return this._submit(null, fn, args, timeout, 0, "submitWith()") as ExecutorFuture<Awaited<R>>;
  }

  /** `submit` on a given loop (for `loop.runInExecutor`). @internal */
  _submitOn(loop: EventLoop, fn: unknown, args: unknown[]): ExecutorFuture<unknown> {
    return this._submit(loop, fn, args, this._taskTimeout, 0, "runInExecutor()");
  }

  /**
   * Run `fn(item)` for every item and yield the results in input order. Every task is submitted at
   * once (as in CPython); `chunksize` items travel and run as one job. Leaving the loop early cancels
   * what has not finished. A task's error is thrown when its result is reached.
   *
   * @example
   * ```ts
   * import { ThreadPoolExecutor } from "asyncio-ts";
   * await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
   * for await (const sq of pool.map((x: number) => x * x, [1, 2, 3], { chunksize: 2 })) console.log(sq); // 1 4 9
   * ```
   */
  map<T, R>(fn: WorkerFunction<[T], R>, iterable: Iterable<T>, options: MapOptions = {}): AsyncGenerator<Awaited<R>, void, undefined> {
    if (iterable === null || typeof (iterable as Iterable<T>)[Symbol.iterator] !== "function") {
      throw new TypeError(`Expected iterable to be an iterable, got ${describe(iterable)}`);
    }
    const chunksize = checkCount(checkOptions(options, ["chunksize"], "map()").chunksize ?? 1, "chunksize", { min: 1 });
    const items = Array.from(iterable);
    const futs: ExecutorFuture<unknown>[] = [];
    try {
      if (chunksize === 1) {
        for (const item of items) futs.push(this._submit(null, fn, [item], this._taskTimeout, 0, "map()"));
      } else {
        for (let i = 0; i < items.length; i += chunksize) {
          const chunk = items.slice(i, i + chunksize).map((x) => [x]);
          futs.push(this._submit(null, fn, chunk, this._taskTimeout, JobFlags.Chunk, "map()"));
        }
      }
    } catch (e) {
      for (const f of futs) f.cancel();
      throw e;
    }
    return (async function* results(): AsyncGenerator<Awaited<R>, void, undefined> {
      try {
        for (const f of futs) {
          const r = await f;
          if (chunksize === 1) yield r as Awaited<R>;
          else for (const x of r as Awaited<R>[]) yield x;
        }
      } finally {
        for (const f of futs) f.cancel();
      }
    })();
  }

  /**
   * Stop accepting tasks (`submit` then throws) and release the workers once the pending tasks are done.
   * `wait` (default true): the returned future completes when every task has finished and every worker
   * has exited. `cancelFutures`: cancel the tasks not started yet. `timeout`: after this many ms, cancel
   * the running tasks and terminate the workers. Never hangs on a worker that will not exit: it is
   * terminated a second after being asked to leave.
   *
   * @example
   * ```ts
   * import { ThreadPoolExecutor } from "asyncio-ts";
   * const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
   * const f = pool.submit(() => 1);
   * await pool.shutdown({ wait: true });
   * console.log(f.result()); // 1
   * ```
   */
  shutdown(options: ShutdownOptions = {}): ExecutorFuture<void> {
    checkOptions(options, SHUTDOWN_OPTIONS, "shutdown()");
    const wait = checkBoolean(options.wait, "wait") ?? true;
    const cancelFutures = checkBoolean(options.cancelFutures, "cancelFutures") ?? false;
    const timeout = checkMs(options.timeout ?? Infinity, "timeout");
    const fut = new ExecutorFuture<void>(defaultLoop(), null, null);
    fut._label = `shutdown of ${this._prefix}`;
    // Workers leave in real time: virtual time must not jump over the wait (a timeout around it would
    // fire at once).
    const loop = fut._loop;
    loop._hold();
    fut.addDoneCallback(() => loop._release());
    this._shutdown = true;
    if (cancelFutures) {
      // Every job not started is cancelled, as CPython's `shutdown(cancel_futures=True)` cancels every
      // work item still pending (Lib/concurrent/futures/thread.py:222, `shutdown`: the loop over
      // `self._work_queue`): the queued ones, and those sent to a thread's pipeline that it has not
      // started (their slot swapped from `seq` to 0, as `_cancelJob` does; a running job is left alone).
      for (let i = this._qhead; i < this._queue.length; i++) {
        const j = this._queue[i]!;
        if (j.state === "queued") j.future.cancel();
      }
      for (const w of this._workers) {
        const ctl = w.bw.control;
        if (ctl === null) continue;
        for (let i = w.ihead; i < w.inflight.length; i++) {
          const j = w.inflight[i]!;
          if (j.state !== "sent" || j.future.done()) continue;
          if (Atomics.compareExchange(ctl, CTL_SLOTS + (j.seq % SLOT_RING), j.seq, 0) !== j.seq) continue; // started
          // (the worker will report it skipped; cancel the future only: its slot is already taken)
          this._stats.cancelled++;
          this._traceEnd(j, "cancelled");
          j.future._owner = null;
          try {
            j.future.cancel();
          } catch {
            // The future's loop was closed: nobody can await it there any more; the job is still
            // counted, reported and released.
          }
          this._release(j);
        }
      }
    }
    if (timeout !== Infinity && this._forceTimer === null) {
      this._forceTimer = longTimeout(() => this._forceStop(), timeout);
    }
    if (wait) this._shutdownWaiters.push(fut);
    else fut.setResult(undefined);
    this._checkShutdownDone();
    return fut;
  }

  /** `await using pool = new ThreadPoolExecutor()`: `shutdown({ wait: true })` at scope exit. */
  [Symbol.asyncDispose](): PromiseLike<void> {
    return this.shutdown({ wait: true });
  }

  /**
   * Counters: live workers, busy workers, queued tasks, and tasks completed, failed and cancelled.
   *
   * @example
   * ```ts
   * import { ThreadPoolExecutor } from "asyncio-ts";
   * await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
   * await pool.submit(() => 1);
   * console.log(pool.statistics().completed); // 1
   * ```
   */
  statistics(): ExecutorStatistics {
    let busy = 0;
    for (const w of this._workers) if (w.load > 0) busy++;
    return { workers: this._workers.length, busy, queued: this._queued, ...this._stats };
  }

  // -------------------------------------------------------------- submission and dispatch

  private _submit(loop: EventLoop | null, fn: unknown, payload: unknown[], timeout: number, flags: number, what: string): ExecutorFuture<unknown> {
    if (this._broken !== null) {
      throw new this._brokenClass(this._broken.message, { cause: (this._broken as { cause?: unknown }).cause });
    }
    if (this._shutdown) throw new RuntimeError("cannot schedule new futures after shutdown");
    const spec = fnSpecOf(fn);
    let fnId = this._specIds.get(spec);
    if (fnId === undefined) {
      // Interned by content: `items.map((i) => pool.submit((x) => x * 2, i))` makes a new function
      // object per item, but the workers compile the source once.
      const key = spec.kind === "source" ? `s:${spec.source}` : `m:${spec.url}#${spec.name}`;
      fnId = this._fnIds.get(key);
      if (fnId === undefined) {
        fnId = this._fnIds.size + 1;
        this._fnIds.set(key, fnId);
      }
      this._specIds.set(spec, fnId);
    }
    checkCloneable(payload, what);
    const l = loop ?? defaultLoop();
    const tracer = l._tracer;
    const job = new Job(fnId, spec, payload, timeout !== Infinity || tracer !== null ? flags | JobFlags.ReportStart : flags, timeout);
    const fut = new ExecutorFuture<unknown>(l, this, job);
    job.future = fut;
    // (its portal calls start their tasks in the submitter's context, as a task it created would)
    if (this._portal.enabled) job.ctx = captureContext();
    if (tracer !== null) {
      job.trace = { loop: l, executor: this._prefix, id: ++this._traceIds, fn: spec.name === "anonymous" ? "" : spec.name, task: currentTask() };
      fut._label = `executor job ${job.trace.id} on ${this._prefix}`;
      tracer.onExecutorJobQueued(job.trace);
    }
    l._hold();
    this._queue.push(job);
    this._queued++;
    this._adjust();
    if (!this._dispatchScheduled) {
      this._dispatchScheduled = true;
      soon(() => { // (not the global queueMicrotask: fake timers replace it)
        this._dispatchScheduled = false;
        this._dispatch();
      });
    }
    return fut;
  }

  /** Start workers while more jobs are queued than idle and starting workers can take. */
  private _adjust(): void {
    if (this._broken !== null) return;
    let free = 0;
    for (const w of this._workers) if (!w.expectedExit && (!w.ready || w.load === 0)) free++;
    while (this._queued > free && this._workers.length < this._maxWorkers && this._broken === null) {
      this._spawn();
      free++;
    }
  }

  private _spawn(): void {
    const index = this._spawned++;
    const w: Slot = new WorkerSlot(`${this._prefix}_${index}`);
    const init: WorkerInit = {
      name: w.name,
      control: null,
      initializer: this._initializer,
      initargs: this._initargs,
      portal: this._portal.names,
      replyPort: null,
    };
    try {
      w.bw = this._backend.spawn(init, this._spawnOptions, {
        message: (m) => this._onMessage(w, m),
        error: (e) => {
          w.lastError ??= e;
        },
        exit: (code, signal, hint, detail) => this._onExit(w, code, signal, hint, detail),
      });
    } catch (e) {
      // The worker could not even be created (an option Node refuses): nothing will ever run here. The
      // slot was never added; every queued job fails with the pool's error, and so does submit() later.
      this._breakPool(e, `a worker could not be started (${e instanceof Error ? e.message : String(e)})`);
      return;
    }
    this._workers.push(w);
  }

  private _depth(w: Slot): number {
    if (!this._backend.pipelining || w.avg < 0) return 1;
    const d = Math.round(2 / Math.max(w.avg, 1e-4));
    return d < 1 ? 1 : d > MAX_DEPTH ? MAX_DEPTH : d;
  }

  /** Send queued jobs to ready workers: idle ones first, then fill pipelines, spreading evenly. */
  private _dispatch(): void {
    while (this._queued > 0) {
      const avail: Slot[] = [];
      for (const w of this._workers) if (w.ready && !w.expectedExit && w.load < this._depth(w)) avail.push(w);
      if (avail.length === 0) break;
      avail.sort((a, b) => a.load - b.load);
      const share = Math.ceil(this._queued / avail.length);
      for (const w of avail) {
        if (this._queued === 0) break;
        this._sendTo(w, Math.min(this._depth(w) - w.load, share));
      }
    }
    for (const w of this._workers) this._updateRef(w);
  }

  private _nextQueued(): Job | null {
    while (this._qhead < this._queue.length) {
      const j = this._queue[this._qhead++]!;
      if (j.state === "queued") {
        if (this._qhead > 1024 && this._qhead * 2 > this._queue.length) {
          this._queue = this._queue.slice(this._qhead);
          this._qhead = 0;
        }
        return j;
      }
    }
    this._queue = [];
    this._qhead = 0;
    return null;
  }

  private _sendTo(w: Slot, n: number): void {
    const jobs: unknown[] = [];
    const batch: Job[] = [];
    let defs: Array<[number, FnSpec]> | undefined;
    const ctl = w.bw.control;
    const now = performance.now();
    for (let k = 0; k < n; k++) {
      const j = this._nextQueued();
      if (j === null) break;
      this._queued--;
      j.state = "sent";
      j.worker = w;
      j.seq = ++w.seq;
      j.sentAt = now;
      if (ctl !== null) Atomics.store(ctl, CTL_SLOTS + (j.seq % SLOT_RING), j.seq);
      if (!w.known.has(j.fnId)) {
        w.known.add(j.fnId);
        (defs ??= []).push([j.fnId, j.spec]);
      }
      jobs.push(j.seq, j.fnId, j.payload, j.flags);
      batch.push(j);
      w.inflight.push(j);
    }
    if (batch.length === 0) return;
    try {
      w.bw.post(defs === undefined ? { t: "jobs", jobs } : { t: "jobs", defs, jobs });
    } catch (e) {
      // Should not happen (arguments are checked at submit): fail the batch rather than lose it.
      w.inflight.length -= batch.length;
      for (const j of batch) {
        if (defs !== undefined) w.known.delete(j.fnId);
        j.state = "done";
        this._settle(j, false, new TypeError(`Cannot send the task to worker ${w.name}: ${(e as Error).message}`));
      }
    }
  }

  private _updateRef(w: Slot): void {
    const want = w.load > 0 || w.expectedExit || (!w.ready && this._queued > 0) || this._shutdownWaiters.length > 0;
    if (want !== w.refd && !w.dead) {
      w.refd = want;
      if (want) w.bw.ref();
      else w.bw.unref();
    }
  }

  // -------------------------------------------------------------- completion

  /** Report the job's end to the tracer, once (a job cancelled before it started ends on no worker). */
  private _traceEnd(j: Job, outcome: ExecutorJobOutcome): void {
    const t = j.trace;
    if (t === null) return;
    j.trace = null;
    j.future._loop._tracer?.onExecutorJobFinished(t, j.startedOn?.name ?? null, outcome);
  }

  /** Complete a job's future (if still pending) and release its hold. */
  private _settle(j: Job, ok: boolean, value: unknown): void {
    this._traceEnd(j, ok ? "ok" : "error");
    if (j.timer !== null) {
      j.timer.clear();
      j.timer = null;
    }
    const f = j.future;
    if (!f.done()) {
      if (ok) this._stats.completed++;
      else this._stats.failed++;
      try {
        if (ok) f.setResult(value);
        // (whatever the function threw, undefined too: `setException` refuses undefined and null)
        else f._relayException(value);
      } catch {
        // The loop was closed under the future (setResult/_relayException throw then): nobody can be
        // waiting on it through that loop any more, and the hold is released below all the same.
      }
    }
    this._release(j);
  }

  private _release(j: Job): void {
    // (a hold lent to the job's calls is not taken back: the job is over)
    j.lent = false;
    if (j.lentIo !== null) {
      j.lentIo._release();
      j.lentIo = null;
    }
    if (j.held) {
      j.held = false;
      j.future._loop._release(); // (never throws, even on a closed loop: a counter, and a kick if running)
    }
  }

  private _onMessage(w: Slot, m: FromWorker): void {
    switch (m.t) {
      case "results":
        this._onResults(w, m.r);
        break;
      case "out":
        (m.fd === 1 ? process.stdout : process.stderr).write(m.s);
        break;
      case "start": {
        for (let i = w.ihead; i < w.inflight.length; i++) {
          const j = w.inflight[i]!;
          if (j.seq === m.seq) {
            j.startedOn = w;
            if (j.trace !== null) {
              j.future._label = `executor job ${j.trace.id} on ${w.name}`;
              j.future._loop._tracer?.onExecutorJobStarted(j.trace, w.name);
            }
            if (!j.future.done() && j.timeout !== Infinity) {
              j.timer = longTimeout(() => this._onTimeout(j), j.timeout);
            }
            break;
          }
        }
        break;
      }
      case "ready":
        w.ready = true;
        this._dispatch();
        this._checkShutdownDone();
        break;
      case "initFailed":
        this._breakPool(deserializeError(m.error));
        w.expectedExit = true;
        w.bw.terminate();
        break;
      case "fatal":
        w.lastError ??= deserializeError(m.error);
        if (typeof m.seq === "number") w.fatalSeq ??= m.seq;
        break;
      case "call":
        this._onCall(w, m);
        break;
    }
  }

  /** A portal call of `w`'s running job: the portal serves it on the job's loop, or refuses it. */
  private _onCall(w: Slot, m: PortalCallMessage): void {
    let job: Job | null = null;
    for (let i = w.ihead; i < w.inflight.length; i++) {
      const j = w.inflight[i]!;
      if (j.seq === m.seq) {
        job = j;
        break;
      }
    }
    this._portal.serve(w, job, m);
  }

  private _onResults(w: Slot, r: unknown[]): void {
    const now = performance.now();
    const count = r.length / 3;
    const first = w.inflight[w.ihead];
    for (let i = 0; i < r.length; i += 3) {
      const seq = r[i] as number;
      const kind = r[i + 1] as number;
      let j = w.inflight[w.ihead];
      if (j === undefined) break;
      if (j.seq !== seq) {
        // cannot happen (the worker reports in order); find it to stay safe
        const k = w.inflight.findIndex((x, idx) => idx >= w.ihead && x.seq === seq);
        if (k < 0) continue;
        j = w.inflight[k]!;
        w.inflight.splice(k, 1);
      } else {
        w.inflight[w.ihead++] = undefined as unknown as Job;
      }
      j.state = "done";
      if (w.abortingJob === j) {
        w.abortingJob = null;
        if (w.abortKillTimer !== null) {
          w.abortKillTimer.clear();
          w.abortKillTimer = null;
        }
      }
      if (kind === ResultKind.Ok) this._settle(j, true, r[i + 2]);
      else if (kind === ResultKind.Error) this._settle(j, false, deserializeError(r[i + 2] as never));
      else this._release(j);
    }
    if (w.ihead === w.inflight.length) {
      w.inflight = [];
      w.ihead = 0;
    } else if (w.ihead > 1024 && w.ihead * 2 > w.inflight.length) {
      w.inflight = w.inflight.slice(w.ihead);
      w.ihead = 0;
    }
    if (first !== undefined && count > 0) {
      const per = (now - Math.max(w.lastResultAt, first.sentAt)) / count;
      w.avg = w.avg < 0 ? per : w.avg * 0.7 + per * 0.3;
    }
    w.lastResultAt = now;
    this._dispatch();
    this._checkShutdownDone();
  }

  // -------------------------------------------------------------- cancellation and timeouts

  /** The job's future was cancelled (`JobOwner`): drop it if queued or not started, abort it if running. @internal */
  _cancelJob(j: Job): void {
    this._stats.cancelled++;
    this._traceEnd(j, "cancelled");
    if (this._runEnding && this._asIfRunning(j)) {
      // run()'s end cancels the tasks and chains its program left, and with them the awaits of their
      // jobs, as asyncio.run does; but CPython cannot stop a job a thread runs (its cancel fails), and
      // asyncio.run's shutdown_default_executor waits for it. So here only the future is cancelled: the
      // job runs to its end, and the shutdown that follows waits for it (the worker's report then finds
      // the future done). A job queued behind busy workers is dropped below, as CPython's cancel drops it.
      this._release(j);
      return;
    }
    if (j.state === "queued") {
      j.state = "done";
      this._queued--;
      this._release(j);
      this._checkShutdownDone();
      return;
    }
    if (j.state !== "sent") return;
    const w = j.worker!;
    const ctl = w.bw.control;
    if (ctl !== null && Atomics.compareExchange(ctl, CTL_SLOTS + (j.seq % SLOT_RING), j.seq, 0) === j.seq) {
      this._release(j); // never started: the worker will report it skipped
      return;
    }
    this._release(j);
    this._abortRunning(w, j, AbortCode.Cancel);
  }

  /**
   * Would a thread of CPython's pool run `j` by now? One sent to a worker, or one queued with a worker
   * starting (or idle) to take it: CPython starts a thread at submit, where a worker here takes some
   * milliseconds to start and gets its job only then.
   */
  private _asIfRunning(j: Job): boolean {
    if (j.state === "sent") return true;
    if (j.state !== "queued") return false;
    let free = 0; // (the workers `_adjust` counts as able to take a queued job)
    for (const w of this._workers) if (!w.expectedExit && (!w.ready || w.load === 0)) free++;
    for (let i = this._qhead, ahead = 0; i < this._queue.length && ahead < free; i++) {
      const q = this._queue[i]!;
      if (q === j) return true;
      if (q.state === "queued") ahead++;
    }
    return false;
  }

  private _onTimeout(j: Job): void {
    j.timer = null;
    if (j.future.done() || j.state !== "sent") return;
    const w = j.worker!;
    this._settle(j, false, new TimeoutError(`The task timed out after ${j.timeout} ms on ${w.name}`));
    this._abortRunning(w, j, AbortCode.Timeout);
  }

  /** Abort the running job `j` of `w`; terminate `w` if it has not returned after the grace period. */
  private _abortRunning(w: Slot, j: Job, code: AbortCode): void {
    if (w.dead) return;
    j.aborted = code;
    this._portal.abortJob(j);
    const ctl = w.bw.control;
    if (ctl !== null) {
      Atomics.store(ctl, CTL_ABORT + 1, code);
      Atomics.store(ctl, CTL_ABORT, j.seq);
      Atomics.notify(ctl, CTL_ABORT);
    }
    try {
      w.bw.post({ t: "abort", seq: j.seq, code });
    } catch {
      // The channel is closing (the worker is exiting): the kill timer below ends the job regardless,
      // and the exit handler settles what is left.
    }
    w.abortingJob = j;
    w.abortKillTimer?.clear();
    w.abortKillTimer = longTimeout(() => {
      w.abortKillTimer = null;
      if (w.abortingJob === j && !w.dead) {
        w.expectedExit = true;
        w.stoppedBecause = `was terminated by the pool: a task ${code === AbortCode.Timeout ? "that timed out" : "that was cancelled"} did not return within cancelGrace (${this._cancelGrace} ms)`;
        w.bw.terminate();
      }
    }, this._cancelGrace);
  }

  // -------------------------------------------------------------- worker death

  private _onExit(w: Slot, code: number | null, signal: string | null, hint?: "oom", detail?: string): void {
    if (w.dead) return;
    w.dead = true;
    w.abortKillTimer?.clear();
    w.abortKillTimer = null;
    w.exitKillTimer?.clear();
    w.exitKillTimer = null;
    this._workers = this._workers.filter((x) => x !== w);
    this._portal.workerGone(w);
    const expected = w.expectedExit;
    const cause = w.lastError;
    const reason = describeExit(w, code, signal, hint, this._spawnOptions.resourceLimits !== undefined);
    if (!w.ready && !expected && this._broken === null) {
      // (what the process printed before it died says why it could not start: "bad option: --x")
      const said = detail === undefined || cause !== undefined ? "" : ` (it said: ${detail})`;
      this._breakPool(cause ?? new Error(`worker ${w.name} ${reason} while starting${said}`), `a worker ${reason} while starting${said}`);
    }
    const requeue: Job[] = [];
    const ctl = w.bw.control;
    for (let i = w.ihead; i < w.inflight.length; i++) {
      const j = w.inflight[i]!;
      if (j.state !== "sent") continue;
      j.state = "done";
      if (j.future.done()) {
        this._release(j);
        continue;
      }
      // (a child process has no control slots: it names the job it was running in its fatal message, and
      // runs one job at a time otherwise, the first in flight)
      const started =
        ctl !== null
          ? Atomics.load(ctl, CTL_SLOTS + (j.seq % SLOT_RING)) === -j.seq
          : w.fatalSeq !== undefined
            ? j.seq === w.fatalSeq
            : i === w.ihead;
      if (started) {
        const err = new BrokenWorkerError(`Worker ${w.name} ${reason} while running this task`, cause === undefined ? undefined : { cause });
        this._settle(j, false, err);
      } else {
        j.state = "queued";
        j.worker = null;
        j.startedOn = null;
        requeue.push(j);
      }
    }
    w.inflight = [];
    w.ihead = 0;
    if (!expected) this._stats.crashedWorkers++;
    if (requeue.length > 0) {
      if (this._broken !== null) {
        for (const j of requeue) {
          j.state = "done";
          this._settle(j, false, new this._brokenClass(this._broken.message, { cause: this._broken.cause }));
        }
      } else {
        this._queue.splice(this._qhead, 0, ...requeue);
        this._queued += requeue.length;
      }
    }
    this._adjust();
    this._dispatch();
    this._checkShutdownDone();
  }

  private _breakPool(cause: unknown, what = "a worker initializer failed"): void {
    if (this._broken !== null) return;
    const kind = this._backend.kind === "thread" ? "thread" : "process";
    this._broken = new this._brokenClass(`${what[0]!.toUpperCase()}${what.slice(1)}: the ${kind} pool is not usable anymore`, { cause });
    for (let i = this._qhead; i < this._queue.length; i++) {
      const j = this._queue[i]!;
      if (j.state !== "queued") continue;
      j.state = "done";
      this._queued--;
      this._settle(j, false, new this._brokenClass(this._broken.message, { cause }));
    }
    this._queue = [];
    this._qhead = 0;
    for (const w of this._workers) {
      if (w.load === 0) this._askExit(w);
    }
  }

  // -------------------------------------------------------------- shutdown

  private _askExit(w: Slot): void {
    if (w.expectedExit || w.dead) return;
    w.expectedExit = true;
    this._updateRef(w);
    try {
      w.bw.post({ t: "exit" });
    } catch {
      // The channel is already closing: the worker is on its way out, and the timer below terminates
      // it if it lingers.
    }
    w.exitKillTimer = longTimeout(() => {
      w.exitKillTimer = null;
      if (!w.dead) w.bw.terminate();
    }, EXIT_GRACE_MS);
  }

  private _checkShutdownDone(): void {
    if (!this._shutdown && this._broken === null) return;
    if (this._queued > 0) return;
    for (const w of this._workers) if (w.load === 0) this._askExit(w);
    if (!this._shutdown || this._workers.length > 0) return;
    if (this._forceTimer !== null) {
      this._forceTimer.clear();
      this._forceTimer = null;
    }
    const waiters = this._shutdownWaiters;
    this._shutdownWaiters = [];
    for (const f of waiters) {
      try {
        if (!f.done()) f.setResult(undefined);
      } catch {
        // The waiter's loop was closed: nobody can await it there any more; the other waiters still
        // get their result.
      }
    }
  }

  /** The shutdown timeout passed: cancel everything and terminate the workers. */
  private _forceStop(): void {
    this._forceTimer = null;
    for (let i = this._qhead; i < this._queue.length; i++) {
      const j = this._queue[i]!;
      if (j.state === "queued") j.future.cancel("the executor was shut down");
    }
    for (const w of [...this._workers]) {
      for (let i = w.ihead; i < w.inflight.length; i++) {
        const j = w.inflight[i]!;
        if (j.state === "sent" && !j.future.done()) {
          j.aborted = AbortCode.Cancel;
          this._stats.cancelled++;
          this._traceEnd(j, "cancelled");
          j.future._owner = null; // cancel the future only: the worker is terminated below
          try {
            j.future.cancel("the executor was shut down");
          } catch {
            // The future's loop was closed: nobody can await it there any more; the job is still
            // counted, reported and released.
          }
          this._release(j);
        }
      }
      w.expectedExit = true;
      w.bw.terminate();
    }
  }
}

function describeExit(w: Slot, code: number | null, signal: string | null, hint: "oom" | undefined, limited: boolean): string {
  if (w.stoppedBecause !== null) return w.stoppedBecause;
  const e = w.lastError as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  if (hint === "oom" || (e !== undefined && e !== null && e.code === "ERR_WORKER_OUT_OF_MEMORY")) {
    return `ran out of memory${limited ? " (resourceLimits)" : ""}`;
  }
  if (e !== undefined) {
    const name = e !== null && typeof e === "object" ? String(e.name ?? "Error") : typeof e;
    const msg = e !== null && typeof e === "object" ? String(e.message ?? "") : String(e);
    return `crashed with an uncaught ${name}: ${msg}`;
  }
  if (signal !== null) return `was killed by ${signal}${signal === "SIGABRT" ? " (out of memory?)" : ""}`;
  if (code === 134) return "aborted (exit code 134, out of memory?)";
  return `exited with code ${code ?? "?"} (did the task call process.exit()?)`;
}

/** Default `maxWorkers` of a thread pool: CPython's `min(32, cpu_count + 4)`. @internal */
export function defaultThreadWorkers(): number {
  return Math.min(32, availableParallelism() + 4);
}

/** Default `maxWorkers` of a process pool: the number of CPUs. @internal */
export function defaultProcessWorkers(): number {
  return availableParallelism();
}
