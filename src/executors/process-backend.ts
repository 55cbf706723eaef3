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
import type { ChildProcess } from "node:child_process";
import type { FromWorker, PortalReply, ToWorker, WorkerInit } from "./protocol.js";
import { workerEntryPath } from "./resolve.js";
import type { Backend, BackendWorker, SpawnOptions, WorkerEvents } from "./backend.js";

// `node:child_process` is required when the first worker process starts, not imported: `import
// "asyncio-ts"` does not pay for it (bench/README.md, "Import cost").
let childProcessLoaded: typeof import("node:child_process") | undefined;
const childProcess = (): typeof import("node:child_process") => (childProcessLoaded ??= process.getBuiltinModule("node:child_process"));

/**
 * Live worker processes. A child busy in a synchronous loop never sees its IPC channel close, so when
 * this process exits (normally, or by an uncaught error) the children are killed; otherwise they would
 * outlive us. A process killed outright (SIGKILL) runs no exit hook: the guard below kills them then.
 */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(c: ChildProcess): void {
  liveChildren.add(c);
  if (c.pid !== undefined) orphanGuard()?.add(c.pid);
  c.once("exit", () => {
    liveChildren.delete(c);
    if (c.pid !== undefined) guard?.remove(c.pid);
  });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const ch of liveChildren) {
        try {
          ch.kill("SIGKILL");
        } catch {
          // The child is already gone (or cannot be signalled): this process is exiting, so there is
          // nothing else to try, and the other children must still be killed.
        }
      }
    });
  }
}

/**
 * The orphan guard: one small Node process per parent, reading worker pids on its stdin. When the parent
 * dies in any way (even SIGKILL), its end of the pipe closes; the guard, whose event loop is free (a
 * worker's may be blocked in a job, and then never notices its IPC channel close), kills the workers it
 * was told about and exits. Rejected: a watchdog thread inside each worker (a thread and ~30 ms of start-up
 * per worker), polling `process.ppid` from the workers (needs their event loop).
 */
const GUARD_SOURCE = `
const pids = new Set(); let buf = "";
const killAll = () => { for (const p of pids) { try { process.kill(p, "SIGKILL"); } catch { /* already exited: nothing to kill */ } } process.exit(0); };
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  buf += d;
  for (let i = buf.indexOf("\\n"); i >= 0; i = buf.indexOf("\\n")) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pid = Number(line.slice(2));
    if (line[0] === "+") pids.add(pid); else pids.delete(pid);
  }
});
process.stdin.on("end", killAll);
process.stdin.on("error", killAll);
`;

interface Guard {
  add(pid: number): void;
  remove(pid: number): void;
}
let guard: Guard | null | undefined;
/** Guards made again after one died (bounded: a guard that cannot live must not be made for ever). */
let guardRespawns = 0;

function orphanGuard(): Guard | null {
  if (guard !== undefined) return guard;
  try {
    const g = childProcess().spawn(process.execPath, ["-e", GUARD_SOURCE], { stdio: ["pipe", "ignore", "ignore"], env: {} });
    g.unref();
    const input = g.stdin!;
    (input as unknown as { unref?: () => void }).unref?.();
    // A write to a guard that died fails with EPIPE: its exit handler below forgets it (the next
    // worker starts a new one), so the error itself needs no handling.
    input.on("error", () => {});
    g.on("exit", () => {
      // The guard died (killed by someone): a new one takes over the workers still alive, so that they
      // do not lose their protection; at most one new guard per death, none if the spawn fails.
      if (guard !== g_) return;
      guard = undefined;
      if (liveChildren.size === 0 || guardRespawns++ >= 5) return;
      const next = orphanGuard();
      if (next !== null) for (const ch of liveChildren) if (ch.pid !== undefined) next.add(ch.pid);
    });
    const send = (line: string): void => {
      if (!input.destroyed) input.write(line);
    };
    const g_: Guard = { add: (pid) => send(`+ ${pid}\n`), remove: (pid) => send(`- ${pid}\n`) };
    guard = g_;
  } catch {
    guard = null; // cannot start one here: the exit hook still covers a normal exit
  }
  return guard;
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
    this._c = childProcess().fork(workerEntryPath(), [], {
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
    this._c.on("error", (e) => {
      // A child that died at once (a flag Node refuses) makes our first send fail with EPIPE: its exit,
      // with what it printed, says why; the broken pipe would only hide that.
      const code = (e as { code?: unknown }).code;
      if (code === "EPIPE" || code === "ERR_IPC_CHANNEL_CLOSED") return;
      events.error(e);
    });
    this._c.on("exit", (code, signal) => {
      const tail = this._stderrTail;
      const last = tail.trimEnd().split("\n").pop()?.trim().slice(0, 300);
      events.exit(code, signal, /heap out of memory|Allocation failed/i.test(tail) ? "oom" : undefined, last === "" ? undefined : last);
    });
    this._c.send({ t: "init", init: { ...init, replyPort: null } });
  }
  post(m: ToWorker): void {
    if (this._c.connected) this._c.send(m);
  }
  postSyncReply(m: PortalReply): void {
    this.post(m); // (a child process never blocks on a call: `callLoopSync` refuses to run there)
  }
  terminate(): void {
    this._c.kill("SIGKILL");
  }
  // (Bun 1.4's IPC channel has `ref` but no `unref`, measured: each is called only where it exists; Bun
  // does not keep the process alive for an idle channel of an unref'd child)
  ref(): void {
    this._c.ref();
    (this._c as unknown as { channel?: { ref?: () => void } }).channel?.ref?.();
    (this._c.stderr as unknown as { ref?: () => void } | null)?.ref?.();
  }
  unref(): void {
    this._c.unref();
    (this._c as unknown as { channel?: { unref?: () => void } }).channel?.unref?.();
    (this._c.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  }
}

/** @internal */
export const processBackend: Backend = {
  kind: "process",
  pipelining: false,
  spawn: (init, options, events) => new ProcessWorker(init, options, events),
};
