/**
 * The worker-thread backend: one `worker_threads.Worker` per pool worker, with a shared control buffer
 * (abort word and per-job slots, see `worker-entry.ts`) that allows pipelining several jobs per worker
 * and waking a cancelled `sleepSync` at once.
 *
 * @module
 */
import { SHARE_ENV, Worker } from "node:worker_threads";
import { CTL_SLOTS, SLOT_RING, type FromWorker, type ToWorker, type WorkerInit } from "./protocol.js";
import { workerEntryPath } from "./resolve.js";
import type { Backend, BackendWorker, SpawnOptions, WorkerEvents } from "./backend.js";

class ThreadWorker implements BackendWorker {
  readonly control: Int32Array;
  private readonly _w: Worker;
  constructor(init: WorkerInit, options: SpawnOptions, events: WorkerEvents) {
    const sab = new SharedArrayBuffer(4 * (CTL_SLOTS + SLOT_RING));
    this.control = new Int32Array(sab);
    this._w = new Worker(workerEntryPath(), {
      workerData: { ...init, control: sab } satisfies WorkerInit,
      resourceLimits: options.resourceLimits,
      env: options.env as Record<string, string> | typeof SHARE_ENV | undefined,
      execArgv: options.execArgv ?? [],
      stdout: false,
      stderr: false,
    });
    this._w.on("message", (m: FromWorker) => events.message(m));
    this._w.on("error", (e) => events.error(e));
    this._w.on("exit", (code) => events.exit(code, null));
  }
  post(m: ToWorker): void {
    this._w.postMessage(m);
  }
  terminate(): void {
    void this._w.terminate();
  }
  ref(): void {
    this._w.ref();
  }
  unref(): void {
    this._w.unref();
  }
}

/** @internal */
export const threadBackend: Backend = {
  kind: "thread",
  pipelining: true,
  spawn: (init, options, events) => new ThreadWorker(init, options, events),
};
