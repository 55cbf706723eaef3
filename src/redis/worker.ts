/**
 * `RedisWorker`: the process side of the Redis executor (`aio worker`). It takes jobs from a BullMQ
 * queue and runs them, `concurrency` at a time, in this process.
 *
 * ## Approach
 * Allow-list: at start-up the worker imports each `--module` and records its exported functions in a
 * `Map` per module name. A job names a module and an export (data only, `wire.ts`); anything not in
 * the map fails with `UnknownFunctionError` before any argument is decoded, and nothing runs. No code,
 * path or source text from Redis is ever loaded or evaluated.
 *
 * Cancellation and timeouts: each job runs inside an `AsyncLocalStorage` context that holds its abort
 * state. The worker state that `taskSignal()`, `throwIfCancelled()` and `currentThread()` read
 * (`executors/worker-api.ts`, on `globalThis`) is installed with accessors that read the running job's
 * context, so concurrent async jobs each see their own signal. A cancel message (Redis pub/sub,
 * published by the executor when the job was already running) or the job's timeout aborts the job:
 * its signal fires and the job fails at once with `CancelledError` or
 * `TimeoutError` (an async function that ignores the signal keeps running in the background; a
 * synchronous one cannot be interrupted: see `docs/redis-executor.md`).
 *
 * At-least-once: BullMQ locks a running job and renews the lock; when a worker dies, the lock expires
 * and another worker's stalled-job check puts the job back in the queue (`lockDuration`,
 * `stalledInterval`, `maxStalledCount`).
 *
 * Closing: after the running jobs, BullMQ's graceful close also waits for Redis; on a cluster in the fail
 * state (a master lost: every connection stays "ready", every command answers CLUSTERDOWN) it would wait
 * forever, so once no job runs here it gets `CLOSE_GRACE_MS`, then the connections are dropped.
 *
 * Rejected: BullMQ's sandboxed processors (they load a processor *file* per queue, not an allow-list of
 * functions); evaluating job-supplied source (remote code execution by design).
 *
 * @module
 */
const { AsyncLocalStorage } = process.getBuiltinModule("node:async_hooks");
const { register } = process.getBuiltinModule("node:module");
const { isAbsolute, resolve: resolvePath } = process.getBuiltinModule("node:path");
const { pathToFileURL } = process.getBuiltinModule("node:url");
import type { Job, Worker } from "bullmq";
import { CancelledError, checkCount, checkMs, checkOptions, describe, longTimeout, realTimers, TimeoutError } from "../core/index.js";
import { resolveModuleUrl } from "../executors/resolve.js";
import { moduleFunction } from "../executors/executor.js";
import type { ThreadPoolExecutor } from "../executors/executors.js";
import { setWorkerState, type WorkerState } from "../executors/worker-api.js";
import {
  checkClusterKeys,
  checkTarget,
  errorText,
  isFatalConnectionError,
  loadDeps,
  makeClient,
  refuseClusterNode,
  type Client,
  type RedisTargetConnection,
  type Target,
} from "./deps.js";
import { RedisJobError, UnknownFunctionError, WIRE_VERSION, WIRE_VERSION_CHUNK, checkJobData, decodeValue, encodeFailure, encodeValue, moduleNameOf, type JobData, type JobResult } from "./wire.js";

type Fn = (...args: unknown[]) => unknown;

/** A module the worker allows: a path or `file:` URL, registered under `name` (default: its file name without extension). */
export interface WorkerModule {
  name?: string;
  path: string;
}

/** Options of `RedisWorker.start()`. */
export interface RedisWorkerOptions {
  /** The Redis server or cluster (see `RedisExecutorOptions.connection`). */
  connection: RedisTargetConnection;
  /** The queue's name (the executor's `queue`). */
  queue: string;
  /** The modules whose exported functions this worker runs: paths, `file:` URLs, or `{ name, path }`. */
  modules: Array<string | WorkerModule>;
  /** Jobs run at the same time by this worker. Default 1, or `threads` when that is given. */
  concurrency?: number;
  /**
   * Run the jobs on a `ThreadPoolExecutor` of this many threads instead of this process's main thread.
   * CPU-bound and blocking tasks then never delay the renewal of the jobs' locks (a long synchronous
   * task on the main thread is taken for stalled after `lockDuration` and run again elsewhere), and
   * `sleepSync` / `throwIfCancelled` are interruptible. Default 0 (main thread).
   */
  threads?: number;
  /** BullMQ's key prefix. Default `"bull"`. On a cluster, the prefix or the queue name must carry a hash tag (`"{bull}"`). */
  prefix?: string;
  /** ms a job's lock lasts without renewal; a dead worker's job is recovered after about this long. Default 30 000. */
  lockDuration?: number;
  /** ms between checks for stalled jobs (jobs whose lock expired). Default 30 000. */
  stalledInterval?: number;
  /** How often a job may be recovered from a stalled worker before it fails. Default 1. */
  maxStalledCount?: number;
  /** The worker's name (what `currentThread().name` returns in tasks). Default `RedisWorker-<queue>-<pid>`. */
  name?: string;
  /** Where status lines go. Default: standard error. */
  log?: (line: string) => void;
}

/** What a running job's context holds. */
interface JobContext {
  seq: number;
  controller: AbortController | null;
  abortReason: unknown;
}

const jobContext = new AsyncLocalStorage<JobContext>();
let stateInstalled = false;

/** Install the worker state with per-job accessors (see the module comment). */
function installWorkerState(name: string): void {
  if (stateInstalled) return;
  stateInstalled = true;
  const state: WorkerState = {
    name,
    control: null,
    get currentSeq(): number {
      return jobContext.getStore()?.seq ?? 0;
    },
    set currentSeq(_v: number) {},
    get controller(): AbortController | null {
      return jobContext.getStore()?.controller ?? null;
    },
    set controller(c: AbortController | null) {
      const s = jobContext.getStore();
      if (s !== undefined) s.controller = c;
    },
    get abortReason(): unknown {
      return jobContext.getStore()?.abortReason;
    },
    set abortReason(r: unknown) {
      const s = jobContext.getStore();
      if (s !== undefined) s.abortReason = r;
    },
  };
  setWorkerState(state);
}

/** How long `close()` waits for BullMQ's graceful close once no job runs here (ms). */
const CLOSE_GRACE_MS = 5000;

/** How long a cancel message for a job this worker has not started is remembered (ms). */
const CANCEL_MEMORY = 60_000;

/**
 * A worker process's job runner: takes jobs of one queue and runs the allowed functions. `aio worker`
 * is this class behind a command line.
 *
 * @example
 * ```ts no-run
 * import { RedisWorker } from "asyncio-ts/redis";
 * const worker = await RedisWorker.start({
 *   connection: "redis://127.0.0.1:6379",
 *   queue: "work",
 *   modules: ["./dist/tasks.js"],
 *   concurrency: 4,
 * });
 * process.on("SIGTERM", () => void worker.close());
 * ```
 */
export class RedisWorker {
  readonly name: string;
  readonly queueName: string;
  /** Invariant: module name → export name → function; fixed after start-up. */
  private readonly _allowed = new Map<string, Map<string, Fn>>();
  /** Module name → the URL it was loaded from (for the thread pool's module references). */
  private readonly _urls = new Map<string, string>();
  /** The thread pool jobs run on, when `threads` > 0. */
  private _pool: ThreadPoolExecutor | null = null;
  /** Abort functions of the jobs running here, by job id. */
  private readonly _active = new Map<string, (reason: unknown) => void>();
  /** Resolvers waiting for `_active` to be empty (`close()`). */
  private _idleWaiters: Array<() => void> = [];
  /** Cancel messages for jobs not (yet) running here: job id → time received. */
  private readonly _cancelled = new Map<string, number>();
  private _worker: Worker | null = null;
  private _sub: Client | null = null;
  private _clients: Client[] = [];
  private _seq = 0;
  private _closing: Promise<void> | null = null;
  private readonly _log: (line: string) => void;

  private constructor(name: string, queue: string, log: (line: string) => void) {
    this.name = name;
    this.queueName = queue;
    this._log = log;
  }

  /**
   * Import the modules, connect, and start taking jobs. Rejects if a module cannot be loaded, or if
   * Redis refuses the credentials or the TLS certificate does not verify.
   *
   * @example
   * ```ts no-run
   * import { RedisWorker } from "asyncio-ts/redis";
   * const w = await RedisWorker.start({ connection: process.env.AIO_REDIS_URL!, queue: "work", modules: [{ name: "tasks", path: "./dist/tasks.js" }] });
   * ```
   */
  static async start(options: RedisWorkerOptions): Promise<RedisWorker> {
    checkOptions(options);
    const target = checkTarget(options.connection, "options.connection");
    const queue = options.queue;
    if (typeof queue !== "string" || queue.length === 0 || queue.includes(":")) {
      throw new TypeError(`Expected options.queue to be a non-empty queue name without ':', got ${describe(queue)}`);
    }
    const prefix = options.prefix ?? "bull";
    if (typeof prefix !== "string" || prefix.length === 0) {
      throw new TypeError(`Expected options.prefix to be a non-empty string, got ${describe(prefix)}`);
    }
    if (target.cluster) checkClusterKeys(prefix, queue, { prefix: "options.prefix", queue: "options.queue" });
    if (!Array.isArray(options.modules) || options.modules.length === 0) {
      throw new TypeError(`Expected options.modules to be a non-empty list of module paths, got ${describe(options.modules)}`);
    }
    const threads = checkCount(options.threads ?? 0, "options.threads");
    const concurrency = checkCount(options.concurrency ?? Math.max(1, threads), "options.concurrency", { min: 1 });
    for (const k of ["lockDuration", "stalledInterval"] as const) {
      const v = options[k];
      if (v !== undefined) checkMs(v, `options.${k}`, { positive: true });
    }
    const maxStalled = checkCount(options.maxStalledCount ?? 1, "options.maxStalledCount");
    const name = options.name ?? `RedisWorker-${queue}-${process.pid}`;
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const w = new RedisWorker(name, queue, log);
    await w._loadModules(options.modules);
    installWorkerState(name);
    if (threads > 0) {
      const { ThreadPoolExecutor } = await import("../executors/executors.js");
      w._pool = new ThreadPoolExecutor({ maxWorkers: threads, threadNamePrefix: name });
    }

    const deps = await loadDeps();
    const { bullmq } = deps;
    let rejectFatal!: (e: unknown) => void;
    const fatal = new Promise<never>((_r, rej) => {
      rejectFatal = rej;
    });
    fatal.catch(() => {}); // (observed by the race below: this only keeps it from being unhandled)
    // bad credentials or an unverifiable certificate: retrying cannot help
    const onError = (e: unknown): void => {
      if (isFatalConnectionError(e)) rejectFatal(new Error(`${target.label} refused the connection: ${errorText(e)}`));
    };
    const mk = (): Client => makeClient(deps, target, w._clients, onError);
    try {
      await Promise.race([w._connect(bullmq, mk, target, queue, prefix, name, concurrency, options, maxStalled, log), fatal]);
    } catch (e) {
      await w.close({ force: true });
      throw e;
    }
    return w;
  }

  private async _connect(
    bullmq: Awaited<ReturnType<typeof loadDeps>>["bullmq"],
    mk: () => Client,
    target: Target,
    queue: string,
    prefix: string,
    name: string,
    concurrency: number,
    options: RedisWorkerOptions,
    maxStalled: number,
    log: (line: string) => void,
  ): Promise<void> {
    const w = this;
    const sub = mk();
    w._sub = sub;
    // A cluster node reached as one server would answer most commands with MOVED: say so at once.
    await refuseClusterNode(sub, target);
    const channel = `${prefix}:${queue}:asyncio-ts:cancel`;
    sub.on("message", (_ch: string, msg: string) => w._onCancelMessage(msg));
    await sub.subscribe(channel);
    const conn = mk();
    let down = false;
    conn.on("close", () => {
      if (!down && w._closing === null) log(`aio worker ${name}: lost the connection to ${target.label}; reconnecting`);
      down = true;
    });
    conn.on("ready", () => {
      if (down) log(`aio worker ${name}: reconnected to ${target.label}`);
      down = false;
    });
    // One parameter: BullMQ makes a per-job AbortController (and listens to it) only for a processor that
    // declares a third one, and aborts it only from `Worker.cancelJob`, which this worker never calls (its
    // cancel channel and the job's timeout abort jobs). Dropping it took the worker's CPU per tiny job
    // from about 225 to 190 us (bench/README.md, "Redis executor against raw BullMQ").
    const worker = new bullmq.Worker(queue, (job: Job) => w._process(job), {
      connection: conn,
      prefix,
      concurrency,
      name,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: maxStalled,
      autorun: true,
    });
    worker.on("error", () => {}); // (connection errors: loss is logged through close/ready, fatal ones end start())
    w._worker = worker;
    await worker.waitUntilReady();
    const mods = [...w._allowed].map(([m, fns]) => `${m} (${[...fns.keys()].join(", ")})`).join("; ");
    const where = this._pool !== null ? `, on ${options.threads} thread(s)` : "";
    log(`aio worker ${name}: queue ${queue} (prefix ${prefix}) on ${target.label}, concurrency ${concurrency}${where}, modules: ${mods}`);
  }

  private async _loadModules(modules: Array<string | WorkerModule>): Promise<void> {
    let loader = false;
    for (const m of modules) {
      const spec = typeof m === "string" ? { path: m } : m;
      if (spec === null || typeof spec !== "object" || typeof spec.path !== "string" || spec.path.length === 0) {
        throw new TypeError(`Expected a module path or { name, path }, got ${describe(m)}`);
      }
      const href = spec.path.startsWith("file:")
        ? spec.path
        : pathToFileURL(isAbsolute(spec.path) ? spec.path : resolvePath(process.cwd(), spec.path)).href;
      const name = spec.name ?? moduleNameOf(href);
      if (!/^[\w.-]+$/.test(name)) throw new TypeError(`Expected a module name of letters, digits, '_', '-' or '.', got ${describe(name)}`);
      if (this._allowed.has(name)) {
        throw new TypeError(`Two modules are registered as ${JSON.stringify(name)}: give one another name with --module name=path`);
      }
      const target = resolveModuleUrl(href);
      if (/\.(m|c)?ts$/.test(target) && !loader) {
        loader = true;
        register(new URL("../executors/ts-loader.js", import.meta.url));
      }
      let mod: Record<string, unknown>;
      try {
        mod = (await import(target)) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`Cannot load the module ${spec.path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      const fns = new Map<string, Fn>();
      for (const [k, v] of Object.entries(mod)) {
        // functions only: not classes (calling one without `new` would only throw)
        if (typeof v === "function" && !/^class\b/.test(Function.prototype.toString.call(v))) fns.set(k, v as Fn);
      }
      if (fns.size === 0) throw new TypeError(`The module ${spec.path} exports no function`);
      this._allowed.set(name, fns);
      this._urls.set(name, target);
    }
  }

  private _onCancelMessage(msg: string): void {
    let id: unknown;
    let reason: unknown;
    try {
      ({ id, reason } = JSON.parse(msg) as { id?: unknown; reason?: unknown });
    } catch {
      return; // not a message of ours (another publisher on the channel): nothing to cancel
    }
    if (typeof id !== "string") return;
    const err = new CancelledError(reason === "shutdown" ? "the executor is shutting down" : "the task was cancelled");
    const abort = this._active.get(id);
    if (abort !== undefined) abort(err);
    else {
      const now = realTimers.performance.now(); // (monotonic, and not what fake timers stand in for)
      this._cancelled.set(id, now);
      for (const [k, t] of this._cancelled) {
        if (now - t < CANCEL_MEMORY) break;
        this._cancelled.delete(k);
      }
    }
  }

  /** BullMQ's processor: run one job; a thrown error's message is the encoded failure. */
  private async _process(job: Job): Promise<JobResult> {
    try {
      return await this._run(job);
    } catch (e) {
      const wrapped = new Error(encodeFailure(e));
      wrapped.stack = e instanceof Error && typeof e.stack === "string" ? e.stack : wrapped.message;
      throw wrapped;
    }
  }

  private async _run(job: Job): Promise<JobResult> {
    const id = String(job.id);
    const bad = checkJobData(job.data);
    if (bad !== null) throw new RedisJobError(`Malformed job ${id} on queue ${this.queueName}: ${bad}`);
    const d = job.data as JobData;
    const fn = this._allowed.get(d.m)?.get(d.f);
    if (fn === undefined) {
      const known = [...this._allowed.keys()].join(", ");
      throw new UnknownFunctionError(
        this._allowed.has(d.m)
          ? `Worker ${this.name} does not run ${d.m}.${d.f}: the module ${d.m} has no exported function ${JSON.stringify(d.f)}`
          : `Worker ${this.name} does not run ${d.m}.${d.f}: it was not started with a module named ${JSON.stringify(d.m)} (it runs: ${known})`,
      );
    }
    if (this._cancelled.delete(id)) throw new CancelledError("the task was cancelled");
    let args: unknown;
    try {
      args = decodeValue(d.a);
    } catch (e) {
      throw new RedisJobError(`Malformed job ${id} (${d.m}.${d.f}) on queue ${this.queueName}: its arguments cannot be decoded (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!Array.isArray(args)) throw new RedisJobError(`Malformed job ${id} (${d.m}.${d.f}) on queue ${this.queueName}: its arguments are not a list`);
    const chunk = d.v === WIRE_VERSION_CHUNK;
    if (chunk && !args.every((a) => Array.isArray(a))) {
      throw new RedisJobError(`Malformed job ${id} (${d.m}.${d.f}) on queue ${this.queueName}: a chunk's arguments are not a list of argument lists`);
    }

    const ctx: JobContext = { seq: ++this._seq, controller: null, abortReason: undefined };
    let rejectAbort!: (e: unknown) => void;
    const aborted = new Promise<never>((_r, rej) => {
      rejectAbort = rej;
    });
    aborted.catch(() => {}); // (raced against the task below; an abort after the race is over has no reader)
    const abort = (reason: unknown): void => {
      if (ctx.abortReason !== undefined) return;
      ctx.abortReason = reason;
      if (ctx.controller !== null && !ctx.controller.signal.aborted) ctx.controller.abort(reason);
      rejectAbort(reason);
    };
    this._active.set(id, abort);
    // (through `_active`: on a thread, the call running there is cancelled too)
    const timer = d.t !== undefined ? longTimeout(() => (this._active.get(id) ?? abort)(new TimeoutError(`the task ${d.m}.${d.f} timed out after ${d.t} ms`)), d.t) : null;
    try {
      let running: PromiseLike<unknown>;
      if (chunk) running = this._runChunk(id, d, fn, args as unknown[][], ctx, abort);
      else if (this._pool !== null) {
        // On a thread: the pool enforces the timeout and aborts the task when the job is cancelled.
        const fut = this._pool.submitWith(d.t !== undefined ? { timeout: d.t } : {}, moduleFunction(this._urls.get(d.m)!, d.f), ...args);
        const abortThread = abort;
        this._active.set(id, (reason) => {
          abortThread(reason);
          fut.cancel();
        });
        running = fut;
      } else {
        running = jobContext.run(ctx, async () => fn(...args));
      }
      const v = await Promise.race([running, aborted]);
      return { v: WIRE_VERSION, r: encodeValue(v, `the result of ${d.m}.${d.f}`) };
    } finally {
      timer?.clear();
      this._active.delete(id);
      if (this._active.size === 0) {
        const ws = this._idleWaiters;
        this._idleWaiters = [];
        for (const f of ws) f();
      }
    }
  }

  /**
   * The calls of a chunk, one after the other (CPython's `_process_chunk`): the list of their results; the
   * first that fails fails the chunk. On a thread pool each call is a task of the pool, and an abort
   * cancels the one running; in this thread they share the job's context (`taskSignal()`).
   */
  private _runChunk(id: string, d: JobData, fn: Fn, calls: unknown[][], ctx: JobContext, abort: (reason: unknown) => void): Promise<unknown[]> {
    const pool = this._pool;
    if (pool === null) {
      return jobContext.run(ctx, async () => {
        const out: unknown[] = [];
        for (const a of calls) {
          if (ctx.abortReason !== undefined) throw ctx.abortReason;
          out.push(await fn(...a));
        }
        return out;
      });
    }
    let current: { cancel(): unknown } | null = null;
    this._active.set(id, (reason) => {
      abort(reason);
      current?.cancel();
    });
    const ref = moduleFunction(this._urls.get(d.m)!, d.f);
    return (async () => {
      const out: unknown[] = [];
      for (const a of calls) {
        if (ctx.abortReason !== undefined) throw ctx.abortReason;
        const fut = pool.submit(ref, ...a);
        current = fut;
        out.push(await fut);
      }
      return out;
    })();
  }

  /** Resolves once no job runs here. */
  private _untilIdle(): Promise<void> {
    if (this._active.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this._idleWaiters.push(resolve));
  }

  /**
   * Jobs running in this worker now.
   *
   * @example
   * ```ts no-run
   * import { RedisWorker } from "asyncio-ts/redis";
   * const w = await RedisWorker.start({ connection: "redis://127.0.0.1:6379", queue: "work", modules: ["./dist/tasks.js"] });
   * console.log(w.activeJobs()); // 0
   * await w.close();
   * ```
   */
  activeJobs(): number {
    return this._active.size;
  }

  /**
   * Stop taking jobs and close the connections. By default the running jobs finish first; with
   * `{ force: true }` they are abandoned (BullMQ recovers them as stalled on another worker).
   *
   * @example
   * ```ts no-run
   * import { RedisWorker } from "asyncio-ts/redis";
   * const w = await RedisWorker.start({ connection: "redis://127.0.0.1:6379", queue: "work", modules: ["./dist/tasks.js"] });
   * await w.close();
   * ```
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    this._closing ??= (async () => {
      // Without a connection BullMQ's close would wait for one: the jobs cannot be completed anyway
      // (they are recovered as stalled), so drop the connections and go.
      const connected = this._clients.length > 0 && this._clients.every((c) => c.status === "ready");
      if (!connected) {
        for (const c of this._clients) c.disconnect();
        this._worker?.close(true).catch(() => {}); // (not awaited: without a connection it cannot finish cleanly)
      } else {
        // (closing anyway if it fails: the connections are dropped below, and a job left unfinished is
        // recovered as stalled by another worker)
        const closing = this._worker?.close(options.force === true).catch(() => {});
        // BullMQ's graceful close also waits for Redis: on a cluster that lost a master (CLUSTERDOWN,
        // while every connection stays "ready") it would wait forever. Once no job of ours runs, give it
        // CLOSE_GRACE_MS, then drop the connections (a completion it could not write is recovered as stalled).
        let t: ReturnType<typeof setTimeout> | undefined;
        const idleThenGrace = this._untilIdle().then(() => new Promise<void>((r) => (t = realTimers.setTimeout(r, CLOSE_GRACE_MS))));
        await Promise.race([closing, idleThenGrace]);
        realTimers.clearTimeout(t);
      }
      await this._pool?.shutdown({ wait: true, cancelFutures: true, timeout: options.force === true ? 0 : Infinity });
      for (const c of this._clients) c.disconnect();
      this._clients = [];
    })();
    return this._closing;
  }
}
