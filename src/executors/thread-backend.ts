/**
 * The worker-thread backend: one `worker_threads.Worker` per pool worker, with a shared control buffer
 * (abort word and per-job slots, see `worker-entry.ts`) that allows pipelining several jobs per worker
 * and waking a cancelled `sleepSync` at once. A pool with portal functions also gives each worker a
 * reply port (a `MessageChannel`): a `callLoopSync` blocks on the control buffer's reply word and reads
 * its answer from that port with `receiveMessageOnPort` (see `portal.ts`).
 *
 * @module
 */
import type { MessagePort, SHARE_ENV, Worker } from "node:worker_threads";
import { CTL_REPLY, CTL_SLOTS, SLOT_RING, type FromWorker, type PortalReply, type ToWorker, type WorkerInit } from "./protocol.js";
import { workerEntryPath } from "./resolve.js";
import type { Backend, BackendWorker, SpawnOptions, WorkerEvents } from "./backend.js";

// `node:worker_threads` is required when the first worker starts, not imported: `import "asyncio-ts"`
// does not pay for it (bench/README.md, "Import cost").
let workerThreads: typeof import("node:worker_threads") | undefined;

class ThreadWorker implements BackendWorker {
  readonly control: Int32Array;
  private readonly _w: Worker;
  /** Invariant: the pool's end of the worker's reply channel (`callLoopSync`), open until the worker exits; null when the pool has no portal functions. */
  private readonly _replies: MessagePort | null;
  constructor(init: WorkerInit, options: SpawnOptions, events: WorkerEvents) {
    const sab = new SharedArrayBuffer(4 * (CTL_SLOTS + SLOT_RING));
    this.control = new Int32Array(sab);
    const { MessageChannel, Worker } = (workerThreads ??= process.getBuiltinModule("node:worker_threads"));
    const channel = init.portal.length > 0 ? new MessageChannel() : null;
    this._replies = channel?.port1 ?? null;
    this._w = new Worker(workerEntryPath(), {
      workerData: { ...init, control: sab, replyPort: channel?.port2 ?? null } satisfies WorkerInit,
      transferList: channel === null ? [] : [channel.port2],
      resourceLimits: options.resourceLimits,
      env: options.env as Record<string, string> | typeof SHARE_ENV | undefined,
      execArgv: options.execArgv ?? [],
      stdout: false,
      stderr: false,
    });
    this._w.on("message", (m: FromWorker) => events.message(m));
    this._w.on("error", (e) => events.error(e));
    this._w.on("exit", (code) => {
      this._replies?.close();
      events.exit(code, null);
    });
  }
  post(m: ToWorker): void {
    this._w.postMessage(m);
  }
  postSyncReply(m: PortalReply): void {
    if (this._replies === null) {
      this._w.postMessage(m); // (cannot happen: a worker calls only a pool with portal functions)
      return;
    }
    this._replies.postMessage(m); // (throws if it cannot be cloned: then nothing was sent, nobody is woken)
    Atomics.add(this.control, CTL_REPLY, 1);
    Atomics.notify(this.control, CTL_REPLY);
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
