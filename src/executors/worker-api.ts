/**
 * What task code calls inside a worker: `currentThread()`, `sleepSync(ms)`, `taskSignal()`,
 * `throwIfCancelled()`. Each also works on the main thread (as `MainThread`, with a signal that never
 * aborts), so a task function can be tested by calling it directly.
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
import { CancelledError, TimeoutError } from "../core/errors.js";
import { describe } from "../core/check.js";
import { AbortCode, CTL_ABORT } from "./protocol.js";

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
  /** `ThreadPoolExecutor-<k>_<n>`, `<prefix>_<n>`, `ProcessPoolExecutor-<k>_<n>`, or `MainThread`. */
  readonly name: string;
  /** True on the main thread of the program. */
  readonly isMainThread: boolean;
}

const MAIN: ThreadInfo = Object.freeze({ name: "MainThread", isMainThread: true });

/**
 * The thread the caller runs on: inside a pool's worker its name is `ThreadPoolExecutor-<k>_<n>`;
 * elsewhere `MainThread`.
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
  if (s === null) return MAIN;
  return { name: s.name, isMainThread: false };
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
