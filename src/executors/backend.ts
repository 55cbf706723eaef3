/**
 * The backend interface: what the pool core (`pool.ts`) needs from a kind of worker. Two backends
 * implement it: worker threads (`thread-backend.ts`) and child processes (`process-backend.ts`), so one
 * pool and one test suite serve both.
 *
 * @module
 */
import type { ResourceLimits } from "node:worker_threads";
import type { FromWorker, PortalReply, ToWorker, WorkerInit } from "./protocol.js";

/** Options a backend needs to start a worker. @internal */
export interface SpawnOptions {
  resourceLimits?: ResourceLimits;
  env?: Record<string, string> | symbol;
  execArgv?: string[];
}

/** What a backend reports about a worker. @internal */
export interface WorkerEvents {
  message(m: FromWorker): void;
  error(e: unknown): void;
  /** `detail`: what the worker said last on its own (a process's last line of stderr), when it said it */
  exit(code: number | null, signal: string | null, hint?: "oom", detail?: string): void;
}

/** One worker as the backend sees it. @internal */
export interface BackendWorker {
  /** The shared control words, or null (no shared memory: no pipelining, no interruptible sleep). */
  readonly control: Int32Array | null;
  /** Send a message; throws if it cannot be cloned. */
  post(m: ToWorker): void;
  /**
   * Answer a `callLoopSync`: post the reply where the blocked worker reads it synchronously (a thread's
   * reply port, then notify control word `CTL_REPLY`); throws if it cannot be cloned, having sent nothing.
   * (A child process never blocks on a call: there it is `post`.)
   */
  postSyncReply(m: PortalReply): void;
  /** Kill now. The `exit` event follows. */
  terminate(): void;
  ref(): void;
  unref(): void;
}

/** A kind of worker: threads or processes. @internal */
export interface Backend {
  readonly kind: "thread" | "process";
  readonly pipelining: boolean;
  spawn(init: WorkerInit, options: SpawnOptions, events: WorkerEvents): BackendWorker;
}
