/**
 * `run(main)` and `Runner`: asyncio.run's semantics.
 *
 * `run` creates a loop, runs `main` as a task until it finishes, then cancels every task still pending,
 * lets their `catch`/`finally` blocks run, reports errors other than cancellation ("unhandled exception
 * during run() shutdown"), shuts down the default executor and closes the loop. `Runner` does the same
 * for several `run` calls on one loop.
 *
 * Compare `loop.runUntilComplete(main)`, which leaves `main`'s unawaited tasks scheduled on the loop
 * (they go on the next time the loop runs, as in a notebook kernel): `docs/rosetta.md` shows both.
 *
 * Strict mode (`strict: true`, for tests) turns the errors that asyncio only reports into a failure of the
 * run: the loop keeps every future that failed (`EventLoop._failures.log`, so none is collected and reported
 * behind the runner's back), and the runner's close, after the whole normal shutdown, reads which ones
 * nobody retrieved, adds the errors shutdown itself reported (a task failing as it is cancelled, a
 * floating chain's rejection) and throws them. Reading the loop's reports through its exception handler
 * instead was rejected: a program may set its own handler, and a report of a collected future arrives
 * whenever the garbage collector runs, possibly after the run ended.
 *
 * @module
 */
import { CancelledError, checkBoolean, checkFn, checkLoopOptions, checkOptions, checkString, skipTaskNumbers, captureAsContext, currentTask, DeadlockError, describe, EventLoop, type EventLoopOptions, ExceptionGroup, fakeTimersProblem, KeyboardInterrupt, kindOf, LOOP_OPTIONS, realTimers, runningLoopOrNull, RuntimeError, type Task, type TaskFunction } from "../core/index.js";
import { WorkerPool } from "../executors/pool.js";
import { equipLoop, newEventLoop, setEventLoop } from "./loops.js";

/**
 * @internal How long `run()`'s end waits for the jobs of its default executor (CPython's
 * `THREAD_JOIN_TIMEOUT`, 300 s, which `asyncio.run` gives `shutdown_default_executor`); a test may lower it.
 */
export const runnerLimits = { threadJoinTimeout: 300_000 };

/**
 * Wait for the default pool's jobs (those `run()`'s end left running: `WorkerPool._runEnding`); after
 * `runnerLimits.threadJoinTimeout` ms of real time, say so and stop its workers (CPython warns and goes
 * on, its thread still running; a worker here would keep the process alive).
 */
async function joinDefaultPool(loop: EventLoop, pool: WorkerPool): Promise<void> {
  const ms = runnerLimits.threadJoinTimeout;
  const timer = realTimers.setTimeout(() => {
    loop.callExceptionHandler({
      message: `The default executor did not finish its jobs within ${ms} ms of run()'s end (CPython's THREAD_JOIN_TIMEOUT): its workers were stopped`,
    });
    void pool.shutdown({ wait: false, timeout: 0 });
  }, ms);
  try {
    await pool.shutdown({ wait: true });
  } finally {
    realTimers.clearTimeout(timer);
  }
}

/** Options of `run()` and `Runner`. */
export interface RunOptions extends EventLoopOptions {
  /**
   * On SIGINT (Ctrl-C), cancel the main task and throw `KeyboardInterrupt` once it has cleaned up; a
   * second SIGINT kills the process as usual. Default true on the main thread. As in CPython.
   */
  handleSigint?: boolean;
  /** Make the loop with this function instead of `newEventLoop(options)`. */
  loopFactory?: () => EventLoop;
  /** Name of the main task. */
  name?: string;
  /**
   * Make errors that asyncio only reports fail the run (for tests): a task (or future) that failed and
   * that nobody awaited or asked for its exception ("Task exception was never retrieved"), a task that
   * failed while shutdown cancelled it, a rejection of a promise chain nobody awaited that shutdown ended.
   * They are still reported through the loop's exception handler; then, after the whole normal shutdown,
   * `run()` rejects with the error (several: an `ExceptionGroup` listing them, in the order they
   * happened). An error of `main` itself wins: `run()` rejects with it, as without `strict`. A `Runner`'s
   * `close()` (and `await using`) throws them instead. Default false, as in CPython.
   *
   * @example
   * ```ts
   * import { run, createTask, sleep } from "asyncio-ts";
   * try {
   *   await run(async () => {
   *     createTask(async () => { throw new Error("lost"); }); // nobody awaits it
   *     await sleep(10);
   *   }, { virtualTime: true, strict: true });
   * } catch (e) {
   *   console.log((e as Error).message); // "lost": the run failed (and the handler printed the report)
   * }
   * ```
   */
  strict?: boolean;
}

/** The keys of `RunOptions`. */
const RUN_OPTIONS = [...LOOP_OPTIONS, "handleSigint", "loopFactory", "name", "strict"] as const;

type RunnerState = "CREATED" | "INITIALIZED" | "CLOSED";

/**
 * Runs functions on one loop, then closes it (CPython's `asyncio.Runner`).
 *
 * @example
 * ```ts
 * import { Runner, sleep } from "asyncio-ts";
 * await using runner = new Runner({ virtualTime: true });
 * console.log(await runner.run(async () => { await sleep(10); return 1; })); // 1
 * console.log(await runner.run(async () => 2)); // 2
 * ```
 */
export class Runner {
  private _state: RunnerState = "CREATED";
  private _loop: EventLoop | null = null;
  /**
   * Invariant: the `ContextVar` values the main tasks of earlier `run()`s set, the last of each variable
   * (CPython's `Runner._context`, one context for every run: what one run sets, the next sees); null
   * before any was set. Each main task runs in its caller's async context (its `AsyncLocalStorage` stores)
   * with these values on top.
   */
  private _kept: Map<unknown, unknown> | null = null;
  /**
   * Invariant: true from a `run()` that made its main task until that run() settles. A second `run()` and
   * `close()` are refused meanwhile, before they touch anything (CPython cannot be asked either: its
   * `Runner.run()` blocks; called from inside the loop, it raises `RuntimeError`).
   */
  private _running = false;
  private readonly _options: RunOptions;

  constructor(options: RunOptions = {}) {
    // (checked here, every option, not when the loop is made: a mistake shows where it is written)
    const o = checkOptions(options, RUN_OPTIONS, "run()/Runner");
    checkLoopOptions(o, RUN_OPTIONS, "run()/Runner");
    checkBoolean(o.handleSigint, "handleSigint");
    if (o.loopFactory !== undefined) checkFn(o.loopFactory, "loopFactory");
    checkString(o.name, "name");
    checkBoolean(o.strict, "strict");
    this._options = o;
  }

  /** The runner's loop (created on first use). */
  getLoop(): EventLoop {
    this._lazyInit();
    return this._loop!;
  }

  /** Run `main` as a task on the runner's loop and return its result. */
  async run<T>(main: TaskFunction<T>, options: { name?: string } = {}): Promise<T> {
    if (typeof main !== "function") {
      if (kindOf(main) === "thenable") {
        throw new TypeError("run() takes a function returning a promise, not a promise: write run(() => main())");
      }
      throw new TypeError(`Expected main to be a function returning a promise, got ${describe(main)}`);
    }
    if (runningLoopOrNull() !== null || currentTask() !== null) {
      throw new RuntimeError("run() cannot be called from a running event loop");
    }
    // (said before a main task is made that could never start: its code would run all the same, its
    // result lost; CPython's Runner.run() raises RuntimeError when its loop is running, runners.py:95)
    if (this._running) {
      throw new RuntimeError("Runner.run() cannot be called while another run() of this runner is in progress: await that run() first");
    }
    // (the loop would refuse to run as well; said before a main task is made that could never start)
    if (fakeTimersProblem !== null) throw new RuntimeError(fakeTimersProblem);
    this._lazyInit();
    const loop = this._loop!;
    if (loop.isRunning()) {
      // (a loop from loopFactory that something else runs)
      throw new RuntimeError("Runner.run() cannot be called while its event loop is running: await what runs it first");
    }
    // (a capture, not a copy: one per run, and it does not turn context copies on for every task, context.ts)
    const context = captureAsContext();
    if (this._kept !== null) for (const [als, store] of this._kept) context._record(als as never, store);
    const task = loop.createTask(main, { name: options.name ?? this._options.name, context });
    task.addDoneCallback(() => (this._kept = context._written));
    this._running = true;
    let interrupted = false;
    const onSigint = (): void => {
      if (loop._handlesSignal("SIGINT")) return; // the program's own handler (addSignalHandler) has it
      if (interrupted || task.done()) {
        // A second Ctrl-C: behave as if we had no handler.
        process.off("SIGINT", onSigint);
        process.kill(process.pid, "SIGINT");
        return;
      }
      interrupted = true;
      task.cancel("interrupted (SIGINT)");
    };
    // (also in a worker thread, where Node delivers no signal to `process.on`: the listener is inert there,
    // and asking `node:worker_threads` which thread this is would cost every run() 1.7-2.4 ms on Node 24)
    const handle = (this._options.handleSigint ?? true) && process.listenerCount("SIGINT") === 0;
    if (handle) process.on("SIGINT", onSigint);
    try {
      return await loop.runUntilComplete(task);
    } catch (e) {
      // As CPython: only when our SIGINT cancel was the last one outstanding (a main task cancelled by
      // someone else as well ends with CancelledError).
      if (interrupted && e instanceof CancelledError && task.cancelled() && task.uncancel() === 0) {
        throw new KeyboardInterrupt("interrupted by SIGINT", { cause: e });
      }
      throw e;
    } finally {
      this._running = false;
      if (handle) process.off("SIGINT", onSigint);
    }
  }

  /**
   * Cancel what is left, shut down the default executor, close the loop. With `strict`, then throw the
   * errors nobody retrieved (see `RunOptions.strict`).
   */
  async close(): Promise<void> {
    const failures = await this._close();
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new ExceptionGroup("task exceptions nobody retrieved (strict mode)", failures);
  }

  /** @internal `close()`'s work: returns the errors strict mode fails with (none without `strict`). */
  async _close(): Promise<unknown[]> {
    // Refused before anything is cancelled or closed: the run goes on, the runner stays usable.
    if (this._running) {
      throw new RuntimeError("Runner.close() cannot be called while its run() is in progress: await run() first (cancel its main task to end it sooner)");
    }
    if (this._state !== "INITIALIZED") {
      this._state = "CLOSED";
      return [];
    }
    const loop = this._loop!;
    let failures: unknown[] = [];
    try {
      // (a job of the default executor that a thread would already run in CPython finishes, though the
      // await of it is cancelled: asyncio.run cannot stop it and waits for it; WorkerPool._cancelJob)
      if (loop._defaultExecutor instanceof WorkerPool) loop._defaultExecutor._runEnding = true;
      const atShutdown = await cancelAllTasks(loop);
      // Then, as CPython's Runner.close(), shutdown_asyncgens() and shutdown_default_executor() run to their
      // end, whatever there is to do: the loop runs the callbacks still queued (one that a task queued after
      // main ended ran nowhere before). CPython runs each as a task; here they are futures (no task in the
      // traces and dumps), and their two task numbers are counted as used, so a second run's main is
      // "Task-4" in both. (shutdown_asyncgens: JavaScript has no async-generator hooks, docs/rosetta.md.)
      skipTaskNumbers(2);
      const asyncgens = loop.createFuture<void>();
      loop.callSoon(() => asyncgens.done() || asyncgens.setResult(undefined));
      await loop.runUntilComplete(asyncgens);
      const ex = loop._defaultExecutor;
      loop._defaultExecutor = null;
      const joined = loop.createFuture<void>();
      const join = ex === null ? Promise.resolve() : ex instanceof WorkerPool ? joinDefaultPool(loop, ex) : Promise.resolve(ex.shutdown({ wait: true }));
      join.then(
        () => joined.done() || joined.setResult(undefined),
        (e: unknown) => joined.done() || joined.setException(e as Error),
      );
      await loop.runUntilComplete(joined);
      // (read before close(), which reports these and marks them retrieved)
      const log = loop._failures.log;
      if (log !== null) failures = [...log.filter((f) => f._logTraceback).map((f) => f._exception), ...atShutdown];
    } finally {
      loop._failures.log = null;
      loop.close();
      this._loop = null;
      this._state = "CLOSED";
    }
    return failures;
  }

  /** `await using runner = new Runner()` closes it on scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private _lazyInit(): void {
    if (this._state === "CLOSED") throw new RuntimeError("Runner is closed");
    if (this._state === "INITIALIZED") return;
    const { loopFactory, name: _name, handleSigint: _h, ...loopOptions } = this._options;
    const { strict, ...rest } = loopOptions;
    this._loop = loopFactory ? equipLoop(loopFactory()) : newEventLoop(rest);
    if (strict === true) this._loop._failures.log ??= [];
    // As CPython's Runner: its loop is the current one while it lives (getEventLoop() and new Future() in
    // a plain Node callback during run() mean it); closing the loop makes none current again.
    if (loopFactory === undefined) setEventLoop(this._loop);
    this._state = "INITIALIZED";
  }
}

/**
 * Cancel the code still running in done tasks and run the loop until none of it waits on anything of
 * ours. Such code is a promise chain nobody awaits: the `CancelledError` it ends with would reach Node as
 * an unhandled rejection and end the process, where CPython's shutdown quietly ends its eager task. So
 * while it ends, a `CancelledError` nobody handled is expected and dropped; any other unhandled rejection
 * is reported through the loop's exception handler ("unhandled rejection during run() shutdown"), as
 * CPython reports the errors of the tasks it cancels at shutdown. Tasks that end while being cancelled
 * may leave such code behind: looked at again until none is left.
 */
async function cancelOrphans(loop: EventLoop, reported: unknown[]): Promise<void> {
  const onUnhandled = (reason: unknown): void => {
    if (reason instanceof CancelledError) return;
    reported.push(reason);
    loop.callExceptionHandler({ message: "unhandled rejection during run() shutdown", exception: reason });
  };
  process.on("unhandledRejection", onUnhandled);
  try {
    for (let orphans = loop._cancelOrphans(), rounds = 0; orphans !== null && rounds < 100; rounds++) {
      await loop.runUntilComplete(orphans);
      orphans = loop._cancelOrphans();
    }
    // (Node reports unhandled rejections once the microtasks have drained: a macrotask later, all are in)
    await new Promise<void>((resolve) => realTimers.setImmediate(resolve)); // (Node's, not a fake timer's)
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
}

/**
 * Cancel every pending task of `loop` and run the loop until they are all done. Returns the errors it
 * reported through the exception handler (what strict mode fails with). @internal
 */
export async function cancelAllTasks(loop: EventLoop): Promise<unknown[]> {
  const reported: unknown[] = [];
  const toCancel: Task<unknown>[] = [...loop._tasks];
  for (const t of toCancel) t.cancel();
  // The code still running in done tasks (chains they started and did not wait for) is cancelled too,
  // and waited for, as CPython's shutdown cancels and waits for eager tasks.
  if (loop._hasOrphans()) await cancelOrphans(loop, reported);
  if (toCancel.length === 0) return reported;
  // (not gather(...toCancel): a call with 150,000 arguments overflows the stack)
  let left = toCancel.length;
  const allDone = loop.createFuture<void>();
  const onDone = (): void => {
    if (--left === 0) allDone.setResult();
  };
  for (const t of toCancel) t.addDoneCallback(onDone);
  await loop.runUntilComplete(allDone);
  if (loop._hasOrphans()) await cancelOrphans(loop, reported);
  for (const t of toCancel) {
    if (t.cancelled()) continue;
    const exc = t.exception();
    if (exc !== undefined && !(exc instanceof CancelledError)) {
      reported.push(exc);
      loop.callExceptionHandler({ message: "unhandled exception during run() shutdown", exception: exc, task: t });
    }
  }
  return reported;
}

/**
 * Run `main` on a new loop and return its result; then cancel every task still pending, wait for
 * them, and close the loop (CPython's `asyncio.run`).
 *
 * @example
 * ```ts
 * import { run, sleep, createTask } from "asyncio-ts";
 * const v = await run(async () => {
 *   createTask(async () => { await sleep(10_000); console.log("never printed"); });
 *   await sleep(500);
 *   return "main done";
 * }, { virtualTime: true });
 * console.log(v); // "main done" (the 10 s task was cancelled)
 * ```
 */
export async function run<T>(main: TaskFunction<T>, options: RunOptions = {}): Promise<T> {
  if (runningLoopOrNull() !== null || currentTask() !== null) {
    throw new RuntimeError("run() cannot be called from a running event loop");
  }
  const runner = new Runner(options);
  let result: T;
  try {
    result = await runner.run(main);
  } catch (e) {
    try {
      // (strict mode's errors are not thrown here: main's own error wins; the handler reported them)
      await runner._close();
    } catch (closeError) {
      // A deadlock found by run() leaves tasks that shutdown cannot end either: the first report is
      // the one that says what happened.
      if (!(e instanceof DeadlockError && closeError instanceof DeadlockError)) throw closeError;
    }
    throw e;
  }
  await runner.close();
  return result;
}
