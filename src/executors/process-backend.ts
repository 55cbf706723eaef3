/**
 * The child-process backend: one `child_process.fork` per pool worker, talking over the IPC channel
 * with `serialization: "advanced"` (the structured-clone algorithm, as for threads). Without shared
 * memory a job is sent only to an idle process, so "sent" means "started" and there is no pipelining.
 *
 * Out of memory: `resourceLimits.maxOldGenerationSizeMb` becomes `--max-old-space-size`; V8 then
 * aborts the process, which the pool sees as an exit by `SIGABRT` (or code 134) and reports as such.
 *
 * @module
 */
import { fork, type ChildProcess } from "node:child_process";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.js";
import { workerEntryPath } from "./resolve.js";
import type { Backend, BackendWorker, SpawnOptions, WorkerEvents } from "./pool.js";

/**
 * Live worker processes. A child busy in a synchronous loop never sees its IPC channel close, so when
 * this process exits (normally, or by an uncaught error) the children are killed; otherwise they would
 * outlive us.
 */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(c: ChildProcess): void {
  liveChildren.add(c);
  c.once("exit", () => liveChildren.delete(c));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const ch of liveChildren) {
        try {
          ch.kill("SIGKILL");
        } catch {}
      }
    });
  }
}

class ProcessWorker implements BackendWorker {
  readonly control = null;
  private readonly _c: ChildProcess;
  private _stderrTail = "";
  constructor(init: WorkerInit, options: SpawnOptions, events: WorkerEvents) {
    const execArgv = [...(options.execArgv ?? [])];
    const rl = options.resourceLimits;
    if (rl?.maxOldGenerationSizeMb !== undefined) execArgv.push(`--max-old-space-size=${rl.maxOldGenerationSizeMb}`);
    if (rl?.maxYoungGenerationSizeMb !== undefined) execArgv.push(`--max-semi-space-size=${Math.max(1, Math.floor(rl.maxYoungGenerationSizeMb / 3))}`);
    if (rl?.stackSizeMb !== undefined) execArgv.push(`--stack-size=${Math.floor(rl.stackSizeMb * 1024)}`);
    this._c = fork(workerEntryPath(), [], {
      serialization: "advanced",
      execArgv,
      env: options.env === undefined ? process.env : (options.env as NodeJS.ProcessEnv),
      stdio: ["ignore", "inherit", "pipe", "ipc"],
    });
    track(this._c);
    this._c.stderr!.on("data", (d: Buffer) => {
      // V8's fatal errors (out of memory) go straight to fd 2: pass them on and keep the tail for the cause.
      process.stderr.write(d);
      this._stderrTail = (this._stderrTail + d.toString("utf8")).slice(-4096);
    });
    this._c.on("message", (m) => events.message(m as FromWorker));
    this._c.on("error", (e) => events.error(e));
    this._c.on("exit", (code, signal) => {
      const tail = this._stderrTail;
      events.exit(code, signal, /heap out of memory|Allocation failed/i.test(tail) ? "oom" : undefined);
    });
    this._c.send({ t: "init", init });
  }
  post(m: ToWorker): void {
    if (this._c.connected) this._c.send(m);
  }
  terminate(): void {
    this._c.kill("SIGKILL");
  }
  ref(): void {
    this._c.ref();
    (this._c as unknown as { channel?: { ref(): void } }).channel?.ref();
    (this._c.stderr as unknown as { ref?: () => void } | null)?.ref?.();
  }
  unref(): void {
    this._c.unref();
    (this._c as unknown as { channel?: { unref(): void } }).channel?.unref();
    (this._c.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  }
}

/** @internal */
export const processBackend: Backend = {
  kind: "process",
  pipelining: false,
  spawn: (init, options, events) => new ProcessWorker(init, options, events),
};
