/**
 * `RedisExecutor`: the `Executor` interface on a BullMQ queue in Redis, so that `submit`, `gather`,
 * cancellation and task groups reach workers on many machines (`aio worker`).
 *
 * ## Approach
 * `submit` encodes the call as data (`wire.ts`), registers the job in `_inflight` under an id it makes
 * itself, and adds it to the queue; submissions of one macrotask go out as one `addBulk`. Outcomes
 * come back through BullMQ's `QueueEvents` (the queue's event stream), read from the stream's last
 * id at start-up, so no event between start-up and the first read is missed. Each future is made on the
 * caller's loop and holds that loop's virtual clock (`loop._hold()`) until it settles.
 *
 * Every future settles:
 * - from the job's `completed`/`failed` event;
 * - after a lost connection comes back, by *reconciliation*: the state of every in-flight job is read;
 *   finished jobs settle from their stored outcome, vanished ones (Redis restarted without
 *   persistence) fail with `RedisJobError`;
 * - when the connection stays lost longer than `connectionLossTimeout`: `RedisConnectionError`;
 * - on cancellation (immediately; see below) and on `shutdown`.
 *
 * Cancellation: the future is cancelled at once (as a task's waiter must be). The job is removed from
 * Redis if it is still waiting; if a worker holds it, a message on the queue's cancel channel (Redis
 * pub/sub) aborts it there (`taskSignal()` / `throwIfCancelled()` see a `CancelledError`). Until the
 * worker reports, the job stays in `_inflight`, so `shutdown({ wait: true })` waits for it.
 *
 * On a Redis Cluster (`{ cluster: [...] }` or an ioredis `Cluster`, see `deps.ts`) the same runs
 * unchanged: every key of the queue carries a hash tag (checked in the constructor), so BullMQ's
 * scripts and our reads of the event stream go to the one master that serves the queue's slot, and the
 * cancel channel is classic pub/sub, which reaches a subscriber on any node. One thing differs: the
 * cluster connection stays "ready" while the queue's slot is not served (a master down puts the cluster
 * in the fail state: CLUSTERDOWN), so no close/ready event starts the loss timer or the reconciliation.
 * While jobs are in flight, the executor probes the slot (`EXISTS` on the queue's event stream, every
 * `PROBE_MS`) and treats an error, or `PROBE_STALL_MS` without an answer, as a lost connection.
 * Rejected: taking any node's error for a loss (a replica's hiccup would start the timer).
 *
 * Rejected: polling job states (a round trip per job); one reply list per executor written by the
 * workers (duplicates what BullMQ's events already provide, and would need our own delivery
 * guarantees); sending inline functions (a worker must never run code that arrives through Redis).
 *
 * @module
 */
const { randomBytes } = process.getBuiltinModule("node:crypto");
import type { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { CancelledError, checkBoolean, checkCount, checkMs, checkOptions, describe, type EventLoop, longTimeout, type LongTimer, realTimers, RuntimeError } from "../core/index.js";
import { getEventLoop } from "../runner/loops.js";
import { ExecutorFuture, type JobOwner } from "../executors/executor-future.js";
import { isModuleFunction, type Executor, type MapOptions, type ShutdownOptions, type SubmitOptions, type WorkerFunction } from "../executors/executor.js";
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
import {
  RedisConnectionError,
  RedisJobError,
  WIRE_VERSION,
  WIRE_VERSION_CHUNK,
  decodeFailure,
  decodeValue,
  encodeValue,
  moduleNameOf,
  type JobData,
  type JobResult,
} from "./wire.js";

/** Options of `new RedisExecutor()`. */
export interface RedisExecutorOptions {
  /**
   * The Redis server: `redis://[user:password@]host:port[/db]`, `rediss://...` for TLS, or
   * `{ url, ...ioredisOptions }`; a Redis Cluster: `{ cluster: ["redis://host:port", ...], ...clusterOptions }`;
   * or an ioredis `Redis` or `Cluster` instance (the executor makes its own connections from it with
   * `duplicate()` and leaves the instance alone).
   */
  connection: RedisTargetConnection;
  /**
   * The BullMQ queue's name (no `:`); the workers must use the same (`aio worker --queue`). On a
   * cluster, a name in braces (`"{work}"`) is a hash tag: the queue lives in that name's slot.
   */
  queue: string;
  /**
   * BullMQ's key prefix (default `"bull"`); the workers must use the same. On a cluster, the prefix or
   * the queue name must carry a hash tag (`"{bull}"`), or the constructor throws a `TypeError`.
   */
  prefix?: string;
  /** Default timeout of every task, in ms from the moment a worker starts it. Default none. */
  timeout?: number;
  /**
   * How long (ms) the connection may stay lost before the pending futures fail with
   * `RedisConnectionError`. Default 30 000.
   */
  connectionLossTimeout?: number;
  /**
   * How long (seconds) finished jobs stay in Redis (BullMQ's `removeOnComplete`/`removeOnFail` age).
   * Reconciliation after a reconnection reads outcomes from there. Default 600.
   */
  keepFinishedJobs?: number;
}

/** Counters of a `RedisExecutor`. */
export interface RedisExecutorStatistics {
  /** Jobs submitted whose outcome has not arrived. */
  inflight: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/**
 * How far a job got towards Redis. @internal
 * - `"unsent"`: submitted, waiting in `_toAdd` for the next flush (a job cancelled now is simply forgotten);
 * - `"adding"`: in a flush, its `add` on the way to Redis (a cancel waits for the add to finish);
 * - `"added"`: in the queue in Redis: a worker may hold it (a cancel removes it, or tells the worker).
 */
type RecState = "unsent" | "adding" | "added";

/** A job in flight. Invariant: in `_inflight` from `submit` until its outcome is known or it was removed. @internal */
export interface Rec {
  id: string;
  name: string;
  data: JobData;
  /** The job's future; its `_owner` is the executor (cancelling it calls `_cancelJob`) until the job settles. */
  fut: ExecutorFuture<unknown>;
  loop: EventLoop;
  /** True while the loop's clock is held for this job. */
  held: boolean;
  /** See {@link RecState}; only moves forward. */
  state: RecState;
  /** The caller cancelled; the worker has been (or will be, once added) told. */
  cancelRequested: boolean;
}

/** The error of a job that could not be added to the queue: it names the job, and keeps Redis's error. */
function addError(r: Rec, e: unknown): unknown {
  if (e instanceof RuntimeError || e instanceof RedisConnectionError) return e;
  const reason = e instanceof Error ? e.message : String(e);
  return new RedisJobError(`Job ${r.id} (${r.name}) could not be added to the queue: ${reason}`, { cause: e });
}

let executorCounter = 0;

/** On a cluster: how often (ms) the queue's slot is probed while jobs are in flight. */
const PROBE_MS = 1000;
/** On a cluster: a probe unanswered this long (ms) counts as a lost connection. */
const PROBE_STALL_MS = 5000;

/**
 * An executor whose workers are `aio worker` processes on any number of machines, connected through a
 * BullMQ queue in Redis. Task functions are `moduleFunction()` references to exported functions of
 * modules that the workers were started with (`--module`); arguments and results are structured-clone
 * data; errors come back with their class name, message, stack and cause. See
 * `docs/redis-executor.md` for the guarantees (at-least-once delivery, cancellation, timeouts,
 * shutdown, security).
 *
 * Needs the optional peer dependencies `bullmq` and `ioredis` (loaded on first use).
 *
 * @example
 * ```ts no-run
 * // tasks.ts (compiled to dist/tasks.js):  export function fib(n: number): number { ... }
 * // on each machine:  aio worker --redis redis://redis.internal:6379 --queue fib --module dist/tasks.js
 * import { run, gather, moduleFunction } from "asyncio-ts";
 * import { RedisExecutor } from "asyncio-ts/redis";
 * await run(async () => {
 *   await using ex = new RedisExecutor({ connection: "redis://redis.internal:6379", queue: "fib" });
 *   const fib = moduleFunction<(n: number) => number>(new URL("./tasks.js", import.meta.url), "fib");
 *   console.log(await gather(...[20, 25, 30].map((n) => ex.submit(fib, n)))); // [6765, 75025, 832040]
 * });
 * ```
 */
export class RedisExecutor implements Executor, JobOwner<Rec> {
  readonly queueName: string;
  /** Where to connect (checked): one server, a cluster, or an ioredis instance to duplicate. */
  private readonly _target: Target;
  private readonly _prefix: string;
  private readonly _timeout: number | undefined;
  private readonly _lossTimeout: number;
  private readonly _keep: number;
  /** Invariant: every job whose outcome the executor still waits for (see `Rec`). */
  private readonly _inflight = new Map<string, Rec>();
  /** Jobs submitted in this macrotask, added together by `_flush`. */
  private _toAdd: Rec[] = [];
  private _flushScheduled = false;
  private readonly _idBase = `${randomBytes(6).toString("hex")}x${(executorCounter++).toString(36)}`;
  private _seq = 0;
  private _shutdown = false;
  private _closed: Promise<void> | null = null;
  /** Resolved when the queue and the event reader are ready; rejected if the dependencies are missing. */
  private readonly _ready: Promise<void>;
  /** Set when Redis refused the credentials: every pending and later future fails with it. */
  private _fatal: RedisConnectionError | null = null;
  private _rejectFatal!: (e: unknown) => void;
  private readonly _fatalPromise = new Promise<never>((_r, rej) => {
    this._rejectFatal = rej;
  });
  private _queue: Queue | null = null;
  private _events: QueueEvents | null = null;
  private _clients: Client[] = [];
  /** Invariant: true while the command connection is up (after its first `ready`, until a `close`). */
  private _connected = false;
  private _lossTimer: LongTimer | null = null;
  /** On a cluster: the timer of the queue's slot probe (see `_probeSlot`). */
  private _probeTimer: ReturnType<typeof setInterval> | null = null;
  /** On a cluster: when the pending probe was sent (performance.now()), or null when none is pending. */
  private _probeSentAt: number | null = null;
  private _lostOnce = false;
  /** Resolvers of `shutdown()`'s wait for an empty `_inflight`. */
  private _drainWaiters: Array<() => void> = [];
  private readonly _stats = { completed: 0, failed: 0, cancelled: 0 };

  constructor(options: RedisExecutorOptions) {
    checkOptions(options, ["connection", "queue", "prefix", "timeout", "connectionLossTimeout", "keepFinishedJobs"], "RedisExecutor");
    const target = checkTarget(options.connection, "options.connection");
    if (typeof options.queue !== "string" || options.queue.length === 0 || options.queue.includes(":")) {
      throw new TypeError(`Expected options.queue to be a non-empty queue name without ':', got ${describe(options.queue)}`);
    }
    const prefix = options.prefix ?? "bull";
    if (typeof prefix !== "string" || prefix.length === 0) {
      throw new TypeError(`Expected options.prefix to be a non-empty string, got ${describe(prefix)}`);
    }
    if (target.cluster) checkClusterKeys(prefix, options.queue, { prefix: "options.prefix", queue: "options.queue" });
    if (options.timeout !== undefined) checkMs(options.timeout, "options.timeout", { positive: true });
    const loss = checkMs(options.connectionLossTimeout ?? 30_000, "options.connectionLossTimeout", { positive: true });
    const keep = options.keepFinishedJobs ?? 600;
    if (typeof keep !== "number" || !(keep >= 0)) {
      throw new RangeError(`Expected options.keepFinishedJobs to be a non-negative number of seconds, got ${describe(keep)}`);
    }
    this.queueName = options.queue;
    this._target = target;
    this._prefix = prefix;
    this._timeout = options.timeout;
    this._lossTimeout = loss;
    this._keep = keep;
    this._armLossTimer();
    // (observed through _ready, the futures and shutdown(): this only keeps it from being unhandled)
    this._fatalPromise.catch(() => {});
    this._ready = Promise.race([this._start(), this._fatalPromise]);
    // A missing dependency surfaces through the futures and shutdown(); never as an unhandled rejection.
    this._ready.catch(() => {});
  }

  private async _start(): Promise<void> {
    const deps = await loadDeps();
    const { bullmq } = deps;
    // Shut down before connecting, with nothing submitted: no connection is needed. (Jobs submitted
    // before `shutdown()` must still go out: the shutdown waits for this start-up to send them.)
    if (this._closed !== null && this._inflight.size === 0) return;
    // Reconnection is automatic and loss is tracked through close/ready; bad credentials are final.
    const onError = (e: unknown): void => {
      if (isFatalConnectionError(e)) this._onFatal(e);
    };
    const mk = (): Client => makeClient(deps, this._target, this._clients, onError);
    const qc = mk();
    qc.on("ready", () => this._onReady());
    qc.on("close", () => this._onClose());
    // A cluster node reached as one server would answer most commands with MOVED: say so at once.
    await refuseClusterNode(qc, this._target);
    this._queue = new bullmq.Queue(this.queueName, { connection: qc, prefix: this._prefix });
    // (connection errors also come as events: loss is tracked through close/ready, fatal ones by onError)
    this._queue.on("error", () => {});
    await this._queue.waitUntilReady();
    if (this._clients.length === 0) throw new RuntimeError("the executor was shut down while connecting");
    // Read events from the stream's current end: nothing between now and the first read is missed.
    const eventsKey = `${this._prefix}:${this.queueName}:events`;
    const last = (await qc.xrevrange(eventsKey, "+", "-", "COUNT", 1)) as Array<[string, string[]]>;
    const lastEventId = last.length > 0 ? last[0]![0] : "0-0";
    this._events = new bullmq.QueueEvents(this.queueName, { connection: mk(), prefix: this._prefix, lastEventId });
    this._events.on("error", () => {}); // (as the queue's: see above)
    this._events.on("completed", ({ jobId, returnvalue }) => this._onCompleted(jobId, returnvalue));
    this._events.on("failed", ({ jobId, failedReason }) => this._onFailed(jobId, failedReason));
    await this._events.waitUntilReady();
    // (also during a shutdown that waits for jobs; not after one that has closed the connections)
    if (this._target.cluster && this._clients.length > 0) {
      this._probeTimer = realTimers.setInterval(() => this._probeSlot(qc, eventsKey), PROBE_MS);
      this._probeTimer.unref();
    }
  }

  // ------------------------------------------------------------------ submitting

  /**
   * Run `fn(...args)` on a worker; returns its future. `fn` must be a `moduleFunction()` reference to
   * a module the workers were started with (registered under its file name without extension).
   * Throws `TypeError` for an inline function or arguments that cannot be encoded, and `RuntimeError`
   * after `shutdown()`.
   *
   * @example
   * ```ts no-run
   * import { moduleFunction } from "asyncio-ts";
   * import { RedisExecutor } from "asyncio-ts/redis";
   * await using ex = new RedisExecutor({ connection: "redis://127.0.0.1:6379", queue: "work" });
   * const add = moduleFunction<(a: number, b: number) => number>("/srv/app/dist/math.js", "add");
   * console.log(await ex.submit(add, 1, 2)); // 3
   * ```
   */
  submit<A extends unknown[], R>(fn: WorkerFunction<A, R>, ...args: A): ExecutorFuture<Awaited<R>> {
    return this._submit(fn, args, this._timeout);
  }

  /**
   * `submit` with per-task options: `timeout` (ms from the task's start on a worker; the task fails
   * with `TimeoutError` and its signal aborts).
   *
   * @example
   * ```ts no-run
   * import { moduleFunction, TimeoutError } from "asyncio-ts";
   * import { RedisExecutor } from "asyncio-ts/redis";
   * await using ex = new RedisExecutor({ connection: "redis://127.0.0.1:6379", queue: "work" });
   * const slow = moduleFunction("/srv/app/dist/tasks.js", "slow");
   * try { await ex.submitWith({ timeout: 100 }, slow); } catch (e) { console.log(e instanceof TimeoutError); } // true
   * ```
   */
  submitWith<A extends unknown[], R>(options: SubmitOptions, fn: WorkerFunction<A, R>, ...args: A): ExecutorFuture<Awaited<R>> {
    const timeout = checkOptions(options, ["timeout"], "submitWith()").timeout;
    if (timeout !== undefined) checkMs(timeout, "options.timeout", { positive: true });
    return this._submit(fn, args, timeout ?? this._timeout);
  }

  /** One job: a call of `fn(...args)`, or with `chunk` the calls of `fn(...a)` for each `a` of `args` (map's chunks). */
  private _submit<R>(fn: unknown, args: unknown[], timeout: number | undefined, chunk = false): ExecutorFuture<Awaited<R>> {
    if (this._shutdown) throw new RuntimeError("cannot schedule new futures after shutdown");
    if (!isModuleFunction(fn)) {
      throw new TypeError(
        `Expected fn to be a moduleFunction() reference, got ${describe(fn)}: a RedisExecutor runs only exported ` +
          "functions of the modules its workers were started with (aio worker --module), never code sent through Redis",
      );
    }
    const m = moduleNameOf(fn.url);
    const label = `${m}.${fn.name}`;
    const a = encodeValue(args, `the arguments of ${label}`);
    const data: JobData = { v: chunk ? WIRE_VERSION_CHUNK : WIRE_VERSION, m, f: fn.name, a };
    if (timeout !== undefined && timeout !== Infinity) data.t = timeout;
    const loop = getEventLoop();
    const id = `${this._idBase}-${(++this._seq).toString(36)}`;
    const fut = new ExecutorFuture<Awaited<R>>(loop, this, null);
    const rec: Rec = { id, name: label, data, fut: fut as ExecutorFuture<unknown>, loop, held: true, state: "unsent", cancelRequested: false };
    fut._job = rec;
    loop._hold();
    if (!this._connected) this._armLossTimer();
    this._inflight.set(id, rec);
    if (this._fatal !== null) {
      this._settle(rec, false, this._fatal);
      return fut;
    }
    this._toAdd.push(rec);
    if (!this._flushScheduled) {
      this._flushScheduled = true;
      realTimers.setImmediate(() => void this._flush());
    }
    return fut;
  }

  /** Add the jobs submitted since the last flush, in one round trip. */
  private async _flush(): Promise<void> {
    this._flushScheduled = false;
    const batch = this._toAdd.filter((r) => !r.cancelRequested);
    this._toAdd = [];
    if (batch.length === 0) return;
    for (const r of batch) r.state = "adding";
    try {
      await this._ready;
      if (this._queue === null) throw new RuntimeError("the executor was shut down before the jobs were sent");
      const opts = {
        attempts: 1,
        removeOnComplete: { age: this._keep },
        removeOnFail: { age: this._keep },
      };
      const q = this._queue;
      try {
        await q.addBulk(batch.map((r) => ({ name: r.name, data: r.data, opts: { ...opts, jobId: r.id } })));
        for (const r of batch) this._added(r);
      } catch (bulkError) {
        if (batch.length === 1) throw bulkError;
        // One job Redis refuses (too large) fails the whole batch: add them one by one, so that only
        // that job fails, with an error that names it. (One after the other: Redis closes the
        // connection on a protocol error, failing whatever was pipelined behind the bad job.)
        for (const r of batch) {
          let error: unknown = null;
          for (let attempt = 0; attempt < 2; attempt++) {
            try {
              await this._connectionReady();
              await q.add(r.name, r.data, { ...opts, jobId: r.id });
              error = null;
              break;
            } catch (e) {
              error = e; // once more, on a fresh connection: the failure may have been its neighbour's
            }
          }
          if (error === null) this._added(r);
          else this._settle(r, false, addError(r, error));
        }
      }
    } catch (e) {
      for (const r of batch) this._settle(r, false, addError(r, e));
    }
  }

  /** Wait (at most 5 s) until the queue's connection is ready again after Redis closed it. */
  private async _connectionReady(): Promise<void> {
    const c = this._clients[0];
    if (c === undefined || c.status === "ready") return;
    await new Promise<void>((resolve) => {
      const t = realTimers.setTimeout(done, 5000);
      function done(): void {
        realTimers.clearTimeout(t);
        c!.off("ready", done);
        resolve();
      }
      c.once("ready", done);
    });
  }

  private _added(r: Rec): void {
    r.state = "added";
    if (r.cancelRequested) void this._removeOrSignal(r, "cancel");
  }

  // ------------------------------------------------------------------ outcomes

  private _onCompleted(jobId: string, returnvalue: unknown): void {
    const rec = this._inflight.get(jobId);
    if (rec === undefined) return;
    let v: unknown;
    try {
      v = decodeValue((returnvalue as JobResult).r);
    } catch (e) {
      this._settle(rec, false, new RedisJobError(`Job ${jobId} (${rec.name}) completed with a result that cannot be read: ${String(e)}`));
      return;
    }
    this._settle(rec, true, v);
  }

  private _onFailed(jobId: string, failedReason: unknown): void {
    const rec = this._inflight.get(jobId);
    if (rec === undefined) return;
    this._settle(rec, false, decodeFailure(failedReason, jobId));
  }

  /** The job's outcome is known (or abandoned): settle its future once, release the clock, forget it. */
  private _settle(rec: Rec, ok: boolean, value: unknown): void {
    if (!this._inflight.delete(rec.id)) return;
    const fut = rec.fut;
    if (!fut.done()) {
      fut._owner = null; // settled here: a cancel below (or later) must not call back into _cancelJob
      if (ok) this._stats.completed++;
      else if (value instanceof CancelledError) this._stats.cancelled++;
      else this._stats.failed++;
      if (!rec.loop.isClosed()) {
        if (ok) fut.setResult(value);
        else if (value instanceof CancelledError) fut.cancel(value.message);
        // (whatever the job threw, undefined too: see ThreadPoolExecutor's `_settle`)
        else fut._relayException(value);
      }
    }
    this._releaseHold(rec);
    if (this._inflight.size === 0) {
      const ws = this._drainWaiters;
      this._drainWaiters = [];
      for (const w of ws) w();
    }
  }

  private _releaseHold(rec: Rec): void {
    if (rec.held) {
      rec.held = false;
      rec.loop._release();
    }
  }

  // ------------------------------------------------------------------ cancellation

  /** The caller cancelled the future (`JobOwner`): remove the waiting job, or tell the worker running it. @internal */
  _cancelJob(rec: Rec): void {
    rec.cancelRequested = true;
    this._stats.cancelled++;
    this._releaseHold(rec);
    if (rec.state === "unsent") {
      // never sent: forget it (the flush skips it)
      this._forget(rec);
      return;
    }
    if (rec.state === "adding") return; // the flush removes or signals it once the job is in Redis
    void this._removeOrSignal(rec, "cancel");
  }

  private async _removeOrSignal(rec: Rec, reason: "cancel" | "shutdown"): Promise<boolean> {
    const q = this._queue;
    if (q === null) return false;
    try {
      if ((await q.remove(rec.id)) === 1) {
        this._forget(rec);
        return true;
      }
      const client = this._clients[0]!;
      await client.publish(`${this._prefix}:${this.queueName}:asyncio-ts:cancel`, JSON.stringify({ id: rec.id, reason }));
    } catch {
      // connection lost: reconciliation or the loss timer settles the job
    }
    return false;
  }

  /** Drop a job that will never report (removed from the queue, or never sent). */
  private _forget(rec: Rec): void {
    if (!rec.fut.done()) {
      this._stats.cancelled++;
      rec.fut._owner = null; // cancelled here, not by the caller: no _cancelJob
      rec.fut.cancel();
    }
    this._settle(rec, false, new CancelledError());
  }

  // ------------------------------------------------------------------ connection loss

  private _armLossTimer(): void {
    if (this._lossTimer !== null || this._closed !== null) return;
    // (a timer of any length: a Node timer fires a delay above 2**31-1 ms after 1 ms)
    this._lossTimer = longTimeout(
      () => {
        this._lossTimer = null;
        const err = new RedisConnectionError(
          `Lost the connection to ${this._target.label} for more than ${this._lossTimeout} ms; the job's outcome is unknown`,
        );
        for (const rec of [...this._inflight.values()]) this._settle(rec, false, err);
      },
      this._lossTimeout,
      true,
    );
  }

  private _onFatal(e: unknown): void {
    if (this._fatal !== null) return;
    const msg = errorText(e);
    this._fatal = new RedisConnectionError(`${this._target.label} refused the connection: ${msg}`, { cause: e });
    this._rejectFatal(this._fatal);
    for (const rec of [...this._inflight.values()]) this._settle(rec, false, this._fatal);
    for (const c of this._clients) c.disconnect();
  }

  /**
   * On a cluster, the connection stays "ready" while the queue's slot is not served (its master is down,
   * or the cluster is in the fail state and answers CLUSTERDOWN): no close/ready events tell. So while
   * jobs are in flight, one command on the slot every PROBE_MS: an error, or no answer for
   * PROBE_STALL_MS, counts as a lost connection (the loss timer runs); the next answer as a
   * reconnection (reconciliation).
   */
  private _probeSlot(qc: Client, key: string): void {
    if (this._queue === null || (this._inflight.size === 0 && this._connected)) return;
    const sent = this._probeSentAt;
    if (sent !== null) {
      if (realTimers.performance.now() - sent > PROBE_STALL_MS) this._onClose();
      return;
    }
    this._probeSentAt = realTimers.performance.now();
    (qc as Redis).exists(key).then(
      () => {
        this._probeSentAt = null;
        if (!this._connected) this._onReady();
      },
      () => {
        this._probeSentAt = null;
        this._onClose();
      },
    );
  }

  private _onClose(): void {
    if (!this._connected) return;
    this._connected = false;
    this._lostOnce = true;
    if (this._inflight.size > 0) this._armLossTimer();
  }

  private _onReady(): void {
    this._connected = true;
    if (this._lossTimer !== null) {
      this._lossTimer.clear();
      this._lossTimer = null;
    }
    if (this._lostOnce) void this._reconcile();
  }

  /** After a reconnection: settle the jobs that finished or vanished while we were away. */
  private async _reconcile(): Promise<void> {
    const q = this._queue;
    if (q === null) return;
    for (const rec of [...this._inflight.values()]) {
      if (rec.state !== "added" || !this._inflight.has(rec.id)) continue;
      try {
        const state = await q.getJobState(rec.id);
        if (!this._inflight.has(rec.id)) continue;
        if (state === "unknown") {
          this._settle(
            rec,
            false,
            new RedisJobError(`Job ${rec.id} (${rec.name}) vanished from Redis while the connection was lost (was Redis restarted without persistence?)`),
          );
        } else if (state === "completed" || state === "failed") {
          const job = await q.getJob(rec.id);
          if (job === undefined || !this._inflight.has(rec.id)) continue;
          if (state === "completed") this._onCompleted(rec.id, job.returnvalue);
          else this._onFailed(rec.id, job.failedReason);
        }
      } catch {
        // lost again: the next ready event reconciles again
      }
    }
  }

  // ------------------------------------------------------------------ map, shutdown

  /**
   * `fn(item)` for every item on the workers, results in input order (CPython's `Executor.map`). Every
   * job is submitted at once; stopping the iteration early cancels the remaining ones. `chunksize` items
   * travel and run as one job (CPython's `chunksize`): one Redis round trip for the chunk instead of one
   * per item, which is what tiny tasks need (bench/README.md, "Redis executor against raw BullMQ"). The
   * calls of a chunk run one after the other on one worker; one that fails fails its chunk, and the
   * iteration raises its error when it reaches the chunk (results before it are yielded). The job's
   * `timeout` is the chunk's.
   *
   * @example
   * ```ts no-run
   * import { moduleFunction } from "asyncio-ts";
   * import { RedisExecutor } from "asyncio-ts/redis";
   * await using ex = new RedisExecutor({ connection: "redis://127.0.0.1:6379", queue: "work" });
   * const square = moduleFunction<(x: number) => number>("/srv/app/dist/math.js", "square");
   * for await (const y of ex.map(square, [1, 2, 3])) console.log(y); // 1, 4, 9
   * for await (const y of ex.map(square, [1, 2, 3, 4, 5], { chunksize: 2 })) console.log(y); // 1, 4, 9, 16, 25 (3 jobs)
   * ```
   */
  map<T, R>(fn: WorkerFunction<[T], R>, iterable: Iterable<T>, options: MapOptions = {}): AsyncGenerator<Awaited<R>, void, undefined> {
    const chunksize = checkCount(checkOptions(options, ["chunksize"], "map()").chunksize ?? 1, "chunksize", { min: 1 });
    const items = [...iterable];
    if (chunksize === 1) return yieldInOrder(items.map((x) => this.submit(fn, x)));
    const futs: ExecutorFuture<Awaited<R>[]>[] = [];
    for (let i = 0; i < items.length; i += chunksize) {
      futs.push(this._submit<Awaited<R>[]>(fn, items.slice(i, i + chunksize).map((x) => [x]), this._timeout, true));
    }
    return yieldChunks(futs);
  }

  /**
   * Counters: jobs in flight, completed, failed, cancelled.
   *
   * @example
   * ```ts no-run
   * import { RedisExecutor } from "asyncio-ts/redis";
   * await using ex = new RedisExecutor({ connection: "redis://127.0.0.1:6379", queue: "work" });
   * console.log(ex.statistics()); // { inflight: 0, completed: 0, failed: 0, cancelled: 0 }
   * ```
   */
  statistics(): RedisExecutorStatistics {
    return { inflight: this._inflight.size, ...this._stats };
  }

  /**
   * Stop accepting tasks. `cancelFutures: true` removes the jobs still waiting in Redis (their futures
   * are cancelled); running jobs go on. `wait: true` (the default) waits until every job has reported;
   * `timeout` bounds that wait, after which the remaining jobs are cancelled on their workers and their
   * futures cancelled. Then the connections are closed. With `wait: false` this happens in the
   * background.
   *
   * @example
   * ```ts no-run
   * import { RedisExecutor } from "asyncio-ts/redis";
   * const ex = new RedisExecutor({ connection: "redis://127.0.0.1:6379", queue: "work" });
   * // ... submit jobs ...
   * await ex.shutdown({ cancelFutures: true, timeout: 5000 });
   * ```
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    // (a promise-returning function: bad input is a rejection, docs/design.md)
    let wait: boolean;
    let cancelFutures: boolean;
    let timeout: number;
    try {
      const o = checkOptions(options, ["wait", "cancelFutures", "timeout"], "shutdown()");
      wait = checkBoolean(o.wait, "wait") ?? true;
      cancelFutures = checkBoolean(o.cancelFutures, "cancelFutures") ?? false;
      timeout = options.timeout === undefined ? Infinity : checkMs(options.timeout, "options.timeout");
    } catch (e) {
      return Promise.reject(e);
    }
    this._shutdown = true;
    const done = this._closed ?? (this._closed = this._shutdownImpl(cancelFutures, timeout));
    if (!wait) {
      // Nobody awaits a background shutdown: the futures carry the jobs' outcomes, and closing the
      // connections is best effort (they are dropped in the end regardless).
      done.catch(() => {});
      return Promise.resolve();
    }
    return done;
  }

  private async _shutdownImpl(cancelFutures: boolean, timeout: number): Promise<void> {
    // Wait for start-up, unless it cannot finish (no connection) and nothing is left to send. A failed
    // start-up has already failed the futures (through the flush); there is nothing more to do with it.
    await Promise.race([this._ready.catch(() => {}), this._untilDrained()]);
    // Let a scheduled flush send what was submitted.
    await new Promise<void>((r) => realTimers.setImmediate(r));
    while (this._toAdd.length > 0 || this._flushScheduled) await new Promise<void>((r) => realTimers.setImmediate(r));
    if (cancelFutures) {
      await Promise.all(
        [...this._inflight.values()].map(async (rec) => {
          if (rec.state === "added" && !rec.cancelRequested && this._queue !== null) {
            try {
              if ((await this._queue.remove(rec.id)) === 1) this._forget(rec);
            } catch {
              // connection lost: the wait below (or the loss timer) handles it
            }
          }
        }),
      );
    }
    if (this._inflight.size > 0) {
      let timer: LongTimer | null = null;
      await Promise.race([
        this._untilDrained(),
        new Promise<void>((resolve) => {
          timer = longTimeout(resolve, timeout);
        }),
      ]);
      (timer as LongTimer | null)?.clear();
    }
    if (this._inflight.size > 0) {
      // Timed out: cancel what remains on the workers, and the futures here.
      await Promise.all([...this._inflight.values()].map((rec) => this._removeOrSignal(rec, "shutdown")));
      for (const rec of [...this._inflight.values()]) {
        this._settle(rec, false, new CancelledError("the executor was shut down before the job finished"));
      }
    }
    if (this._lossTimer !== null) this._lossTimer.clear();
    this._lossTimer = null;
    if (this._probeTimer !== null) realTimers.clearInterval(this._probeTimer);
    this._probeTimer = null;
    // Without a connection BullMQ's graceful close would wait for one: drop the connections first.
    if (!this._connected || this._fatal !== null) for (const c of this._clients) c.disconnect();
    // Closing is best effort: whatever fails here, the connections are dropped below.
    const closing: Array<Promise<unknown>> = [];
    if (this._events !== null) closing.push(this._events.close().catch(() => {}));
    if (this._queue !== null) closing.push(this._queue.close().catch(() => {}));
    if (this._connected && this._fatal === null) {
      let bound: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all(closing), new Promise<void>((r) => (bound = realTimers.setTimeout(r, 5000)))]);
      realTimers.clearTimeout(bound);
    }
    for (const c of this._clients) c.disconnect();
    this._clients = [];
    this._queue = null;
    this._events = null;
  }

  /** Resolves once no job is in flight. */
  private _untilDrained(): Promise<void> {
    if (this._inflight.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this._drainWaiters.push(resolve));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/** The results of `futs`, in order; the ones not reached are cancelled when the iteration stops. */
async function* yieldInOrder<R>(futs: ExecutorFuture<R>[]): AsyncGenerator<R, void, undefined> {
  try {
    for (const f of futs) yield await f;
  } finally {
    for (const f of futs) f.cancel();
  }
}

/** The results of chunks, element by element, in order (see `RedisExecutor.map`). */
async function* yieldChunks<R>(futs: ExecutorFuture<R[]>[]): AsyncGenerator<R, void, undefined> {
  try {
    for (const f of futs) yield* await f;
  } finally {
    for (const f of futs) f.cancel();
  }
}
