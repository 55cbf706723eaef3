/**
 * What task code calls inside a worker: `currentThread()`, `sleepSync(ms)`, `taskSignal()`,
 * `throwIfCancelled()`, and the way back to the loop, `callLoop()` / `callLoopSync()` (the pool side is
 * `portal.ts`). The first four also work on the main thread (as `MainThread`, with a signal that never
 * aborts), so a task function can be tested by calling it directly; the last two are for workers only
 * (on the loop's own thread, call the function itself).
 *
 * ## Approach
 * The worker's state (its name, the shared control words, the running job) lives on `globalThis` under
 * a registered symbol, not in this module's scope: a task module may load the library through another
 * path than the worker entry did (`asyncio-ts` from `dist`, or the TypeScript sources through the
 * loader), and every copy must see the same state.
 *
 * `sleepSync` blocks with `Atomics.wait` on the control word that the pool writes when it cancels the
 * running job, so a cancelled blocking sleep wakes at once and throws the abort reason instead of holding
 * the thread until the grace period ends and the worker is terminated. (Child processes have no shared
 * memory with the pool: there `sleepSync` is an uninterruptible sleep and cancellation relies on the
 * grace period.)
 *
 * @module
 */
import { CancelledError, RuntimeError, TimeoutError } from "../core/errors.js";
import { describe } from "../core/check.js";
import { AbortCode, CTL_ABORT, unknownPortalFunction } from "./protocol.js";

/**
 * @internal a worker's way back to the loop (`callLoop`): made by the worker entry of a pool's worker,
 * absent in other workers (the Redis executor's).
 */
export interface WorkerPortal {
  /** The names of the pool's portal functions (empty when it has none). */
  readonly names: readonly string[];
  /** Send the running job's call `name(...args)`; the promise of its answer. Throws if it cannot be sent. */
  call(name: string, args: unknown[]): Promise<unknown>;
  /** Send it and block the thread until the answer; null in a child process (no shared memory). */
  callSync: ((name: string, args: unknown[]) => unknown) | null;
}

/** @internal the per-worker state shared by every copy of the library in a worker. */
export interface WorkerState {
  name: string;
  /** Shared control words (threads); null in child processes. */
  control: Int32Array | null;
  /** Seq of the running job; 0 between jobs. */
  currentSeq: number;
  /** Controller of the running job's signal; created on first use. */
  controller: AbortController | null;
  /** Abort requested for the running job by a message (child processes, or async jobs). */
  abortReason: unknown;
  /** The way back to the loop (`callLoop`); absent in workers that have none. */
  portal?: WorkerPortal | null;
}

const KEY = Symbol.for("asyncio-ts.worker-state");

/** @internal */
export function workerState(): WorkerState | null {
  return ((globalThis as Record<symbol, unknown>)[KEY] as WorkerState | undefined) ?? null;
}

/** @internal */
export function setWorkerState(state: WorkerState): void {
  (globalThis as Record<symbol, unknown>)[KEY] = state;
}

/** The abort reason of an `AbortCode` (control word `CTL_ABORT + 1`, or an `abort` message). @internal */
export function abortReasonFromCode(code: number): Error {
  if (code === AbortCode.Timeout) return new TimeoutError("the task timed out");
  return new CancelledError("the task was cancelled");
}

/** The pending abort reason of the running job, or undefined. @internal */
export function pendingAbort(state: WorkerState): unknown {
  if (state.currentSeq === 0) return undefined;
  if (state.abortReason !== undefined) return state.abortReason;
  const c = state.control;
  if (c !== null && Atomics.load(c, CTL_ABORT) === state.currentSeq) {
    state.abortReason = abortReasonFromCode(Atomics.load(c, CTL_ABORT + 1));
    return state.abortReason;
  }
  return undefined;
}

/** Information about the thread running the caller (CPython's `threading.current_thread()`). */
export interface ThreadInfo {
  /**
   * `ThreadPoolExecutor-<k>_<n>`, `<prefix>_<n>`, `ProcessPoolExecutor-<k>_<n>`, `MainThread`, or
   * `Thread-<threadId>` in a worker thread that is no pool's (Node's `threadId`).
   */
  readonly name: string;
  /** True on the main thread of the program. */
  readonly isMainThread: boolean;
}

const MAIN: ThreadInfo = Object.freeze({ name: "MainThread", isMainThread: true });

/**
 * The thread the caller runs on: inside a pool's worker its name is `ThreadPoolExecutor-<k>_<n>`; in a
 * worker thread of the program's own, `Thread-<threadId>`; on the main thread `MainThread`.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor, currentThread } from "asyncio-ts";
 * console.log(currentThread().name); // "MainThread"
 * await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
 * console.log(await pool.submit(() => currentThread().name)); // "ThreadPoolExecutor-0_0"
 * ```
 */
export function currentThread(): ThreadInfo {
  const s = workerState();
  if (s !== null) return { name: s.name, isMainThread: false };
  return (outsidePools ??= threadOutsidePools());
}

/** Invariant: this thread's information when it is no pool's worker, once asked for; null before. */
let outsidePools: ThreadInfo | null = null;

// (`node:worker_threads` is read on the first call, not at import: `import "asyncio-ts"` does not load it)
function threadOutsidePools(): ThreadInfo {
  const { isMainThread, threadId } = process.getBuiltinModule("node:worker_threads");
  return isMainThread ? MAIN : Object.freeze({ name: `Thread-${threadId}`, isMainThread: false });
}

let mainSleeper: Int32Array | null = null;

/**
 * Block the calling thread for `ms` milliseconds (Python's `time.sleep`), for blocking work inside a
 * worker. Inside a thread worker the sleep ends early, throwing `CancelledError` (or `TimeoutError`),
 * when the running task is cancelled or times out. On the main thread it blocks the event loop: never do
 * that in async code.
 *
 * @example
 * ```ts
 * import { sleepSync } from "asyncio-ts";
 * export function slowDouble(x: number): number {
 *   sleepSync(100); // blocks this worker for 100 ms
 *   return 2 * x;
 * }
 * ```
 */
export function sleepSync(ms: number): void {
  if (typeof ms !== "number" || !(ms >= 0)) {
    throw new RangeError(`Expected ms to be a non-negative number, got ${describe(ms)}`);
  }
  const s = workerState();
  const c = s?.control ?? null;
  if (s !== null && s.currentSeq !== 0) {
    const reason = pendingAbort(s);
    if (reason !== undefined) throw reason;
  }
  if (s === null || c === null || s.currentSeq === 0) {
    mainSleeper ??= new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(mainSleeper, 0, 0, ms);
    return;
  }
  const end = performance.now() + ms;
  for (;;) {
    const reason = pendingAbort(s);
    if (reason !== undefined) throw reason;
    const left = end - performance.now();
    if (left <= 0) return;
    Atomics.wait(c, CTL_ABORT, Atomics.load(c, CTL_ABORT), left);
  }
}

const neverAborted = new AbortController().signal;

/**
 * The `AbortSignal` of the task running in this worker: it aborts when the task is cancelled or times
 * out (its `reason` is a `CancelledError` or `TimeoutError`). Hand it to `fetch`, streams, timers...
 * Blocking code, which cannot receive the abort event, calls `throwIfCancelled()` instead. Outside a
 * worker task it is a signal that never aborts.
 *
 * @example
 * ```ts
 * import { taskSignal } from "asyncio-ts";
 * import { setTimeout as delay } from "node:timers/promises";
 * export async function poll(url: string): Promise<number> {
 *   await delay(50, undefined, { signal: taskSignal() }); // rejects at once if the task is cancelled
 *   return (await fetch(url, { signal: taskSignal() })).status;
 * }
 * ```
 */
export function taskSignal(): AbortSignal {
  const s = workerState();
  if (s === null || s.currentSeq === 0) return neverAborted;
  if (s.controller === null) {
    s.controller = new AbortController();
    const reason = pendingAbort(s);
    if (reason !== undefined) s.controller.abort(reason);
  }
  return s.controller.signal;
}

/**
 * Throw the abort reason if the running task was cancelled or timed out: the check for blocking loops,
 * which never see the signal's `abort` event.
 *
 * @example
 * ```ts
 * import { throwIfCancelled } from "asyncio-ts";
 * export function crunch(n: number): number {
 *   let acc = 0;
 *   for (let i = 0; i < n; i++) {
 *     if (i % 1_000_000 === 0) throwIfCancelled();
 *     acc = (acc + i * i) % 1_000_003;
 *   }
 *   return acc;
 * }
 * ```
 */
export function throwIfCancelled(): void {
  const s = workerState();
  if (s === null) return;
  const reason = pendingAbort(s);
  if (reason === undefined) return;
  if (s.controller !== null && !s.controller.signal.aborted) s.controller.abort(reason);
  throw reason;
}

/** The portal of the worker running the caller, checked for a call of `name`; throws what the caller should see. */
function portalFor(what: "callLoop" | "callLoopSync", name: unknown): { portal: WorkerPortal; state: WorkerState } {
  const s = workerState();
  if (s === null) {
    throw new RuntimeError(
      `${what}() is for code running in an executor's worker (a ThreadPoolExecutor or ProcessPoolExecutor task); ` +
        "on the loop's own thread, call the function directly",
    );
  }
  const portal = s.portal ?? null;
  if (portal === null) {
    throw new RuntimeError(`${what}() needs a ThreadPoolExecutor or ProcessPoolExecutor worker: this worker (${s.name}) has no way back to a loop`);
  }
  if (what === "callLoopSync" && portal.callSync === null) {
    throw new TypeError(
      "callLoopSync() blocks a worker thread until the loop answers, which a child process cannot do (it shares no memory " +
        "with the pool): use `await callLoop(...)` in an async task function, or run the task on a ThreadPoolExecutor",
    );
  }
  if (typeof name !== "string") throw new TypeError(`Expected name to be a string, got ${describe(name)}`);
  if (!portal.names.includes(name)) throw unknownPortalFunction(`${what}(${JSON.stringify(name)})`, name, portal.names);
  if (s.currentSeq === 0) {
    throw new RuntimeError(
      `${what}(${JSON.stringify(name)}) is for the code of a task while it runs; it was called between tasks ` +
        "(by an initializer, or by code a task left running after it returned)",
    );
  }
  const reason = pendingAbort(s);
  if (reason !== undefined) throw reason;
  return { portal, state: s };
}

/**
 * From a task running in a worker of a `ThreadPoolExecutor` or `ProcessPoolExecutor`, call the pool's
 * portal function `name` on the event loop that submitted the task (Trio's `from_thread.run`, AnyIO's
 * blocking portal, CPython's `run_coroutine_threadsafe` from a thread): it runs there as a task of that
 * loop (so it may await queues, locks, sleeps), and its result comes back, or its error, with its class,
 * message, `cause` and data as for a task's own error. Arguments and result are structured-cloned.
 *
 * The call is refused (the promise rejects) with the task's `CancelledError` or `TimeoutError` once the
 * task is cancelled or timed out, and with a `RuntimeError` when its loop has stopped or closed; a call in
 * flight then is cancelled on the loop. An unknown `name` rejects with a `TypeError` listing the known ones.
 * Outside a worker's task it rejects with a `RuntimeError`. The answer to a call the task does not await
 * is dropped, error included, as an unread future of CPython's would be (a call refused before it is sent,
 * for a bad name or arguments that cannot be cloned, is an ordinary rejection).
 *
 * @param name a key of the executor's `portal` option
 * @param args its arguments
 * @typeParam R the result the caller expects
 * @example
 * ```ts
 * import { ThreadPoolExecutor, Queue, run, callLoop } from "asyncio-ts";
 * await run(async () => {
 *   const progress = new Queue<number>();
 *   await using pool = new ThreadPoolExecutor({ maxWorkers: 1, portal: { progress: (i: number) => progress.putNowait(i) } });
 *   const job = pool.submit(async (n: number) => {
 *     let sum = 0;
 *     for (let i = 1; i <= n; i++) {
 *       sum += i; // (the CPU-bound work)
 *       await callLoop("progress", i); // progress(i) runs on the loop, as a task
 *     }
 *     return sum;
 *   }, 3);
 *   for (let k = 0; k < 3; k++) console.log("progress", await progress.get()); // 1, 2, 3
 *   console.log(await job); // 6
 * });
 * ```
 */
export function callLoop<R = unknown>(name: string, ...args: unknown[]): Promise<R> {
  try {
    const { portal } = portalFor("callLoop", name);
    return portal.call(name, args) as Promise<R>;
  } catch (e) {
    // (a promise-returning function reports bad input as a rejection, docs/design.md)
    return Promise.reject(e);
  }
}

/**
 * `callLoop` that blocks the worker thread until the loop answers, for synchronous task code on a
 * `ThreadPoolExecutor`: returns the portal function's result (after its task on the loop finished,
 * however long it awaits) or throws its error. A cancelled or timed-out task's call is cancelled on the
 * loop and throws the task's `CancelledError` or `TimeoutError`; nothing leaves it hanging. In a child
 * process it throws a `TypeError` (no shared memory to block on: use `await callLoop(...)`); outside a
 * worker's task, a `RuntimeError`.
 *
 * While a call is in flight the task does not hold virtual time: the loop's timers go on (its function
 * may `sleep`), and the hold is taken back when the answer is sent.
 *
 * @param name a key of the executor's `portal` option
 * @param args its arguments
 * @typeParam R the result the caller expects
 * @example
 * ```ts
 * import { ThreadPoolExecutor, run, sleep, callLoopSync } from "asyncio-ts";
 * await run(async () => {
 *   await using pool = new ThreadPoolExecutor({
 *     maxWorkers: 1,
 *     portal: { later: async (x: number) => { await sleep(50); return 2 * x; } },
 *   });
 *   // the worker thread blocks while the loop runs later(21) as a task
 *   console.log(await pool.submit(() => callLoopSync<number>("later", 21) + 1)); // 43
 * });
 * ```
 */
export function callLoopSync<R = unknown>(name: string, ...args: unknown[]): R {
  const { portal } = portalFor("callLoopSync", name);
  return portal.callSync!(name, args) as R;
}
