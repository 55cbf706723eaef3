/**
 * The `Executor` interface (CPython's `concurrent.futures.Executor`), as the kernel needs it: the loop's
 * `runInExecutor` submits to one, and `run()` shuts the default one down. The executors themselves
 * (thread and process pools, the Redis executor) live above the kernel (`src/executors`, `src/redis`).
 *
 * @module
 */
import type { Future } from "./future.js";

/** Marks a `moduleFunction()` reference (a registered symbol: the same in every copy of the library). @internal */
export const MODULE_FN: unique symbol = Symbol.for("asyncio-ts.moduleFunction");

/**
 * A reference to an exported function of a module, runnable in a worker. Made by `moduleFunction()`.
 * `F` is the function's type (it types `submit`'s arguments and result).
 */
export interface ModuleFunction<F extends (...args: any[]) => any> {
  /** The module's URL as given (a `.ts` module is mapped to its compiled twin in the worker). */
  readonly url: string;
  /** The export's name. */
  readonly name: string;
  /** @internal */ readonly [MODULE_FN]: true;
  /** Type carrier only; never set. */
  readonly __fn?: F;
}

/** A task function: a module function reference or a self-contained inline function. */
export type WorkerFunction<A extends unknown[], R> = ModuleFunction<(...args: A) => R> | ((...args: A) => R);

/** Options of `Executor.shutdown()` (CPython's keyword arguments). */
export interface ShutdownOptions {
  /** Wait until every pending task has finished and the workers have exited. Default true. */
  wait?: boolean;
  /** Cancel the tasks that have not started yet. Default false. */
  cancelFutures?: boolean;
  /**
   * Give running tasks at most this many ms (from the call), then cancel them and terminate the
   * workers. Default `Infinity`.
   */
  timeout?: number;
}

/** Options of `Executor.map()`. */
export interface MapOptions {
  /** Items sent to a worker per message (CPython's `chunksize`). Default 1. */
  chunksize?: number;
}

/** Per-task options of `submitWith()`. */
export interface SubmitOptions {
  /** Fail the task with `TimeoutError` (and stop it) if it runs longer than this many ms after it started. */
  timeout?: number;
}

/** Counters of an executor (see `statistics()`). */
export interface ExecutorStatistics {
  /** Live workers (starting, idle or busy). */
  workers: number;
  /** Workers running a task. */
  busy: number;
  /** Tasks submitted but not started. */
  queued: number;
  /** Tasks that finished with a result. */
  completed: number;
  /** Tasks that failed (thrown error, timeout, crashed worker). */
  failed: number;
  /** Tasks cancelled. */
  cancelled: number;
  /** Workers that died unexpectedly (crash, exit, out of memory) and were replaced. */
  crashedWorkers: number;
}

/**
 * An executor: runs functions on other threads or processes (CPython's
 * `concurrent.futures.Executor`). Its futures are asyncio-ts futures: `gather`, `wait`, `waitFor`,
 * cancellation and task groups work on them, and they can be awaited without a running loop.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor, gather, run } from "asyncio-ts";
 * await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
 * const results = await run(() => gather(...[1, 2, 3].map((x) => pool.submit((n: number) => n * n, x))));
 * console.log(results); // [1, 4, 9]
 * ```
 */
export interface Executor extends AsyncDisposable {
  /** Schedule `fn(...args)` on a worker; returns its future. Throws after `shutdown()`. */
  submit<A extends unknown[], R>(fn: WorkerFunction<A, R>, ...args: A): Future<Awaited<R>>;
  /** `fn(item)` for every item, results in input order (an async iterator). */
  map<T, R>(fn: WorkerFunction<[T], R>, iterable: Iterable<T>, options?: MapOptions): AsyncGenerator<Awaited<R>, void, undefined>;
  /** Stop accepting tasks; by default wait for the pending ones and for the workers to exit. */
  shutdown(options?: ShutdownOptions): PromiseLike<void>;
}
