/**
 * The public executors: `ThreadPoolExecutor` (worker threads), `ProcessPoolExecutor` (child
 * processes) and `toThread`. Both classes are the same pool (`pool.ts`) on a different backend, named
 * and defaulted as in CPython.
 *
 * @module
 */
import { BrokenProcessPool, BrokenThreadPool, checkOptions, checkString, getRunningLoop } from "../core/index.js";
import type { WorkerFunction } from "./executor.js";
import type { ExecutorFuture } from "./executor-future.js";
import { POOL_OPTIONS, WorkerPool, defaultProcessWorkers, defaultThreadWorkers, type PoolOptions } from "./pool.js";
import { processBackend } from "./process-backend.js";
import { threadBackend } from "./thread-backend.js";

/** Options of `ThreadPoolExecutor`. */
export interface ThreadPoolExecutorOptions extends PoolOptions {
  /** Threads are named `<prefix>_<n>`; default `ThreadPoolExecutor-<k>` (`k` counts the executors). */
  threadNamePrefix?: string;
}

/** Options of `ProcessPoolExecutor`. */
export interface ProcessPoolExecutorOptions extends PoolOptions {
  /** Worker processes are named `<prefix>_<n>`; default `ProcessPoolExecutor-<k>`. */
  namePrefix?: string;
}

/** A name prefix option: a string; undefined or "" for the default. */
function checkPrefix(v: unknown, name: string): string | undefined {
  return checkString(v, name) || undefined;
}

/**
 * Runs functions on a pool of worker threads (CPython's `concurrent.futures.ThreadPoolExecutor`), for
 * blocking and CPU-bound work. Workers start on demand up to `maxWorkers` (default
 * `min(32, cpus + 4)`) and are named `ThreadPoolExecutor-<k>_<n>`. Task functions are module function
 * references (`moduleFunction`) or self-contained inline functions; inside them `currentThread()`,
 * `sleepSync()` and `taskSignal()` are available, and `callLoop()` / `callLoopSync()` call the functions
 * of the `portal` option on the loop.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor, run, getRunningLoop, gather, sleepSync, currentThread } from "asyncio-ts";
 * await run(async () => {
 *   await using pool = new ThreadPoolExecutor({ maxWorkers: 4 });
 *   const loop = getRunningLoop();
 *   const work = (i: number) => { sleepSync(10); return `${i} on ${currentThread().name}`; };
 *   const results = await gather(...[0, 1, 2, 3].map((i) => loop.runInExecutor(pool, work, i)));
 *   console.log(results.length); // 4
 * });
 * ```
 */
export class ThreadPoolExecutor extends WorkerPool {
  private static _counter = 0;
  constructor(options: ThreadPoolExecutorOptions = {}) {
    checkOptions(options, [...POOL_OPTIONS, "threadNamePrefix"], "ThreadPoolExecutor");
    const prefix = checkPrefix(options.threadNamePrefix, "threadNamePrefix") ?? `ThreadPoolExecutor-${ThreadPoolExecutor._counter++}`;
    super(threadBackend, options, prefix, defaultThreadWorkers(), BrokenThreadPool);
  }
}

/**
 * Runs functions in a pool of child processes (CPython's `ProcessPoolExecutor`): full isolation (a
 * crash, `process.exit` or out-of-memory kills only that process), at the cost of a slower start and
 * no shared memory. Same API as `ThreadPoolExecutor`; default `maxWorkers` is the number of CPUs.
 *
 * @example
 * ```ts
 * import { ProcessPoolExecutor } from "asyncio-ts";
 * await using pool = new ProcessPoolExecutor({ maxWorkers: 2 });
 * console.log(await pool.submit((a: number, b: number) => a + b, 2, 3)); // 5
 * ```
 */
export class ProcessPoolExecutor extends WorkerPool {
  private static _counter = 0;
  constructor(options: ProcessPoolExecutorOptions = {}) {
    checkOptions(options, [...POOL_OPTIONS, "namePrefix"], "ProcessPoolExecutor");
    const prefix = checkPrefix(options.namePrefix, "namePrefix") ?? `ProcessPoolExecutor-${ProcessPoolExecutor._counter++}`;
    super(processBackend, options, prefix, defaultProcessWorkers(), BrokenProcessPool);
  }
}

/**
 * Run `fn(...args)` on the running loop's default executor (a `ThreadPoolExecutor` made on first use,
 * shut down by `run()` at the end) and return its future: CPython's `asyncio.to_thread`.
 *
 * @example
 * ```ts
 * import { run, toThread, sleepSync } from "asyncio-ts";
 * await run(async () => {
 *   const r = await toThread((ms: number) => { sleepSync(ms); return "slept"; }, 20);
 *   console.log(r); // "slept"
 * });
 * ```
 */
export function toThread<A extends unknown[], R>(fn: WorkerFunction<A, R>, ...args: A): ExecutorFuture<Awaited<R>> {
  const loop = getRunningLoop();
  // (a loop of the runner's has its factory; a bare kernel loop gets the same default here)
  loop._defaultExecutorFactory ??= makeThreadPool;
  return loop.runInExecutor(null, fn, ...args) as ExecutorFuture<Awaited<R>>;
}

function makeThreadPool(): ThreadPoolExecutor {
  return new ThreadPoolExecutor();
}
