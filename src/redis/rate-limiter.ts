/**
 * `RedisRateLimiter`: the `RateLimiter` interface (`toolkit/rate-limiter.ts`) on a limit shared, through
 * Redis, by any number of processes and machines: a token bucket (`{ rate, perMs, burst }`) or a sliding
 * window (`{ limit, windowMs }`), the same options and the same arithmetic as the in-process limiter.
 *
 * ## Approach
 * The state lives in Redis under one key (two with the log), and every acquire *attempt* is one Lua
 * script (`ACQUIRE`), run atomically by Redis: it reads the server's clock (`TIME`, so the clocks of the
 * machines do not matter), grants the weight if the limit allows it now, and otherwise says how long to
 * wait. The waiting process sleeps that long (an asyncio-ts timer: cancellable, by a task's `cancel()`,
 * a `timeout`, a `CancelScope` or `{ signal }`) and tries again. The script is sent with `EVALSHA`
 * (its SHA-1 computed here), falling back to `EVAL` when Redis answers `NOSCRIPT` (a restarted server, a
 * `SCRIPT FLUSH`); `EVAL` caches it again.
 *
 * - Token bucket: GCRA, as in-process: one number, `tat`, in microseconds of server time. Each grant is
 *   also appended to a short journal (the last 64 grants), from which a refund replays the state.
 * - Sliding window: a sorted set of grants (score: server time in µs, member: `id:weight`); entries a
 *   window old are removed before every decision. Exact: at most `limit` in every window.
 *
 * Fairness. In a process, waiters line up in FIFO order on a `Lock`: only the head attempts. Across
 * processes, the first waiter told to wait becomes *the head* (its id, the time it may be granted and an
 * expiry are stored with the state): until it is granted, every other attempt (of any process, any
 * weight, `tryAcquire` included) is refused and told to come back when the head is due. So a heavy
 * waiter is not starved by a stream of light ones from other machines. A head that leaves (cancelled)
 * says so on the limit's pub/sub channel, and the waiters behind it try again at once (a process
 * subscribes the first time one of its waiters finds another's at the head: one more connection, and
 * no polling). A head that vanishes (its process killed) loses its place `HEAD_GRACE_MS` after it was
 * due.
 *
 * Cancellation consumes nothing. A waiter cancelled while it sleeps holds nothing but possibly the head,
 * which it gives back (`LEAVE`, one script, sent in the background). A waiter cancelled while its attempt
 * is in flight may have been granted by Redis: when the answer comes, `LEAVE` refunds it (the window
 * removes the entry; the bucket replays its journal without the grant, exactly as in-process). Until
 * then the process's next waiter waits, so it never sees a grant that is about to be refunded.
 *
 * Rejected alternatives:
 * - A reservation per acquire (the script computes the future grant time and books it, and the caller
 *   just sleeps until then: one round trip, perfect FIFO). A cancelled reservation cannot be given back
 *   safely: the reservations made after it were placed from a state that included it, and taking it
 *   out would let a newcomer into a slot already promised (twice the limit).
 * - Blocking on a Redis list (`BLPOP`) fed by a ticker: a process must run the ticker, and a blocked
 *   connection per waiter.
 * - A fixed-window counter (`INCR` + `PEXPIRE`, the classic recipe, and the approximate sliding-window
 *   counter): twice the limit across a window boundary, or an estimate.
 * - Client time (`Date.now()` passed to the script): machines' clocks differ by more than the windows
 *   people use.
 *
 * On a virtual-time loop, the retry waits are loop timers like any other, so they pass at once while
 * Redis's clock does not: the limit still holds (Redis decides), but the limiter retries often. Use the
 * real clock with a shared limiter.
 *
 * Needs the optional peer dependency `ioredis` (loaded on first use).
 *
 * @module
 */
const { createHash, randomBytes } = process.getBuiltinModule("node:crypto");
import type { Cluster, Redis } from "ioredis";
import { checkFn, checkOptions, describe, type EventLoop, getRunningLoop, RuntimeError, type TimerHandle } from "../core/index.js";
import { abortReason, readSignal, waitOn, type AbortOptions } from "../sync/abort-signal.js";
import { Lock } from "../sync/lock.js";
import { Waiter } from "../sync/wait-queue.js";
import {
  checkWeight,
  readRateOptions,
  type RateAlgorithm,
  type RateLimiterLike,
  type RateLimiterOptions,
  type RateLimiterStatistics,
  type WithLimitOptions,
} from "../toolkit/rate-limiter.js";
import { TokenBucket, type RatePolicy } from "../toolkit/rate-policies.js";
import { checkTarget, errorText, isFatalConnectionError, newClient, type Client, type Deps, type RedisTargetConnection, type Target } from "./deps.js";
import { RedisConnectionError } from "./wire.js";

/** How long (ms) the head of the shared line keeps its place after it was due, if it does not come back. */
const HEAD_GRACE_MS = 250;
/** How many recent grants the bucket's journal keeps (a refund of an older grant is not possible). */
const JOURNAL = 64;

/**
 * One acquire attempt. KEYS: the state (hash: `tat`, the head `hid`/`hat`/`hexp`), the log (window:
 * sorted set) or the journal (bucket: list). ARGV: algorithm (`b`/`w`), µs per token or window µs,
 * burst or limit, weight, the waiter's id, `1` to claim the head when told to wait, the head's grace in
 * µs, the keys' time to live in ms. Returns `{granted, server time µs, wait µs, available * 1000,
 * behind}` (`behind`: 1 if another waiter heads the line).
 * Every number handed to Redis is formatted here (`f`): Lua's own conversion keeps 14 digits, too few
 * for microseconds since 1970.
 */
const ACQUIRE = `
local key, aux = KEYS[1], KEYS[2]
local algo, p, cap, w, id = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local claim, grace, ttl = ARGV[6] == '1', tonumber(ARGV[7]), ARGV[8]
local function f(x) return string.format('%.17g', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local h = redis.call('HMGET', key, 'tat', 'hid', 'hat', 'hexp')
local hid, hat, hexp = h[2], tonumber(h[3]), tonumber(h[4])
if hid and hexp <= now then
  hid = false
  redis.call('HDEL', key, 'hid', 'hat', 'hexp')
end
local ready, avail, base
if algo == 'b' then
  base = now
  local tat = tonumber(h[1])
  if tat and tat > now then base = tat end
  ready = base + (w - cap) * p
  avail = cap - (base - now) / p
else
  redis.call('ZREMRANGEBYSCORE', aux, '-inf', f(now - p))
  local log = redis.call('ZRANGE', aux, 0, -1, 'WITHSCORES')
  local used = 0
  for i = 1, #log, 2 do used = used + tonumber(string.match(log[i], ':(%d+)$')) end
  avail = cap - used
  ready = now
  local excess, i = used + w - cap, 1
  while excess > 0 do
    excess = excess - tonumber(string.match(log[i], ':(%d+)$'))
    ready = tonumber(log[i + 1]) + p
    i = i + 2
  end
end
if ready < now then ready = now end
local mine = (not hid) or hid == id
if mine and ready <= now then
  if algo == 'b' then
    redis.call('HSET', key, 'tat', f(base + w * p))
    redis.call('RPUSH', aux, id .. ' ' .. f(now) .. ' ' .. w .. ' ' .. (h[1] or 'n'))
    redis.call('LTRIM', aux, -${JOURNAL}, -1)
  else
    redis.call('ZADD', aux, f(now), id .. ':' .. w)
  end
  if hid then redis.call('HDEL', key, 'hid', 'hat', 'hexp') end
  redis.call('PEXPIRE', key, ttl)
  redis.call('PEXPIRE', aux, ttl)
  return {1, now, 0, math.floor((avail - w) * 1000), 0}
end
local wait = ready - now
if mine and claim then
  redis.call('HSET', key, 'hid', id, 'hat', f(ready), 'hexp', f(ready + grace))
  redis.call('PEXPIRE', key, ttl)
elseif not mine then
  wait = math.max(hat, ready) - now
  if wait <= 0 then wait = math.min(hexp - now, 5000) end
  return {0, now, math.ceil(wait), math.floor(avail * 1000), 1}
end
return {0, now, math.ceil(wait), math.floor(avail * 1000), 0}
`;

/**
 * A waiter leaves: give back the head if it holds it (and say so on the limit's channel, where the
 * waiters behind it listen), and refund its grant if it got one. ARGV: algorithm, µs per token
 * (bucket), id, weight, the keys' time to live in ms, the channel. The bucket replays the grants made
 * after the refunded one from the state before it (as `TokenBucket.refund` does in-process).
 */
const LEAVE = `
local key, aux = KEYS[1], KEYS[2]
local algo, p, id, w, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local function f(x) return string.format('%.17g', x) end
if redis.call('HGET', key, 'hid') == id then
  redis.call('HDEL', key, 'hid', 'hat', 'hexp')
  redis.call('PUBLISH', ARGV[6], '')
end
if algo == 'w' then return redis.call('ZREM', aux, id .. ':' .. w) end
local j = redis.call('LRANGE', aux, 0, -1)
local at = nil
for i = 1, #j do
  if string.match(j[i], '^(%S+)') == id then at = i break end
end
if not at then return 0 end
local tat = tonumber(string.match(j[at], ' (%S+)$'))
local out = {}
for i = 1, at - 1 do out[#out + 1] = j[i] end
for i = at + 1, #j do
  local gid, gat, gw = string.match(j[i], '^(%S+) (%S+) (%S+) ')
  local before = tat
  local base = tonumber(gat)
  if tat and tat > base then base = tat end
  tat = base + tonumber(gw) * p
  out[#out + 1] = gid .. ' ' .. gat .. ' ' .. gw .. ' ' .. (before and f(before) or 'n')
end
redis.call('DEL', aux)
if #out > 0 then
  redis.call('RPUSH', aux, unpack(out))
  redis.call('PEXPIRE', aux, ttl)
end
if tat then redis.call('HSET', key, 'tat', f(tat)) else redis.call('HDEL', key, 'tat') end
return 1
`;

const sha1 = (s: string): string => createHash("sha1").update(s).digest("hex");
const SCRIPTS = { acquire: { body: ACQUIRE, sha: sha1(ACQUIRE) }, leave: { body: LEAVE, sha: sha1(LEAVE) } };

/** What an attempt returned. */
interface Reply {
  granted: boolean;
  /** Redis's time, ms (with µs). */
  at: number;
  /** How long to wait before the next attempt, ms. */
  waitMs: number;
  available: number;
  /** Another waiter (of any process) heads the line: wake early if it leaves. */
  behind: boolean;
}

type Ioredis = Pick<Deps, "Redis" | "Cluster">;
let loadingIoredis: Promise<Ioredis> | null = null;

/** Import ioredis once (only ioredis: the limiter does not need BullMQ). */
function loadIoredis(): Promise<Ioredis> {
  loadingIoredis ??= import("ioredis").then(
    (m) => {
      const mod = m as unknown as { default?: { Cluster?: unknown }; Redis?: unknown; Cluster?: unknown };
      return { Redis: (mod.Redis ?? mod.default) as Ioredis["Redis"], Cluster: (mod.Cluster ?? mod.default?.Cluster) as Ioredis["Cluster"] };
    },
    (e: unknown) => {
      loadingIoredis = null;
      const err = new Error("RedisRateLimiter needs the optional peer dependency ioredis: npm install ioredis", { cause: e });
      err.name = "ModuleNotFoundError";
      throw err;
    },
  );
  return loadingIoredis;
}

/**
 * Options of `new RedisRateLimiter()`: the limit (as `RateLimiter`'s), where Redis is, and the key
 * that every process sharing the limit uses.
 * @example `{ connection: "redis://127.0.0.1:6379", key: "github-api", rate: 5000, perMs: 3_600_000 }`
 */
export type RedisRateLimiterOptions = RateLimiterOptions & {
  /**
   * The Redis server: `redis://[user:password@]host:port[/db]`, `rediss://...`, or `{ url, ...ioredisOptions }`;
   * a Redis Cluster: `{ cluster: ["redis://host:port", ...], ...clusterOptions }` (the limit's two keys
   * share the hash tag `{key}`, so its scripts run on one master); or an ioredis `Redis` or `Cluster`
   * instance, whose `duplicate()` the limiter uses (the instance itself is left alone).
   */
  connection: RedisTargetConnection;
  /** The limit's name: every process using the same key (and prefix) shares one limit. */
  key: string;
  /** Prefix of the Redis keys (default `"asyncio-ts:ratelimit:"`). */
  prefix?: string;
};

let limiterCounter = 0;

/**
 * A rate limit shared by every process that uses the same Redis `key`: a token bucket
 * (`{ rate, perMs, burst }`) or a sliding window (`{ limit, windowMs }`) on Redis's clock, with
 * `RateLimiter`'s interface (`tryAcquire` returns a promise: it asks Redis). Fair across processes (a
 * heavy waiter keeps its place at the head), cancellation safe (a cancelled waiter consumes nothing).
 * All processes sharing a key must use the same options. Close it when done (`await using`, `close()`).
 *
 * @example
 * ```ts no-run
 * import { run, gather } from "asyncio-ts";
 * import { RedisRateLimiter } from "asyncio-ts/redis";
 * await run(async () => {
 *   // in every process: at most 10 calls per second to the API, all processes together
 *   await using limiter = new RedisRateLimiter({ connection: "redis://127.0.0.1:6379", key: "api", limit: 10, windowMs: 1000 });
 *   const users = await gather(...[1, 2, 3].map((id) => limiter.withLimit(() => fetch(`https://api.example.com/users/${id}`))));
 *   console.log(users.length); // 3
 * });
 * ```
 */
export class RedisRateLimiter implements RateLimiterLike {
  /**
   * The limit's name in Redis (without the prefix).
   * @example `console.log(limiter.key); // "api"`
   */
  readonly key: string;
  /** @internal the limit's parameters (its accounting is Redis's; this is for checks and names) */
  readonly _policy: RatePolicy;
  /** @internal KEYS of the scripts: the state and the log/journal, with a hash tag (one Cluster slot) */
  readonly _keys: [string, string];
  /** @internal ARGV of ACQUIRE after the weight: algorithm, µs per token or window µs, capacity */
  readonly _params: [string, string, string];
  /** @internal the keys' time to live, ms: a full refill or a window, the head's grace, and a margin */
  readonly _ttl: string;
  /** Where to connect (checked): one server, a cluster, or an ioredis instance to duplicate. */
  private readonly _target: Target;
  /** Invariant: set from the first use until `close()`; null before and after. */
  private _client: Promise<Client> | null = null;
  private _closed = false;
  private _fatal: RedisConnectionError | null = null;
  /** @internal the channel on which `LEAVE` says the head left */
  readonly _channel: string;
  /** The subscription to `_channel`, made when a waiter first finds another process's waiter at the head. */
  private _sub: Promise<Client> | null = null;
  /** Invariant: counts the messages on `_channel` (an attempt compares it before and after). */
  private _leftSeq = 0;
  /** Invariant: every wait of this limiter in progress (`_wait`), failed by `close()`. */
  private readonly _waits = new Set<Waiter<unknown>>();
  /** The waiter of this process sleeping behind another's head (woken early when that one leaves). */
  private _sleeper: Waiter<unknown> | null = null;
  /** The local line: only its holder attempts; a cancelled attempt holds it until its refund is done. */
  private readonly _line = new Lock();
  private readonly _idBase = `${randomBytes(6).toString("hex")}-${(limiterCounter++).toString(36)}`;
  private _seq = 0;
  /** Invariant: the number of `acquire()` calls that have not ended. */
  private _waiting = 0;
  private readonly _stats = { granted: 0, grantedWeight: 0, available: 0, lastGrantAt: null as number | null, nextGrantAt: null as number | null };

  constructor(options: RedisRateLimiterOptions) {
    const policy = readRateOptions(options, "RedisRateLimiter", ["connection", "key", "prefix"]);
    const target = checkTarget(options.connection, "options.connection");
    if (typeof options.key !== "string" || options.key.length === 0) {
      throw new TypeError(`Expected options.key to be a non-empty string, got ${describe(options.key)}`);
    }
    const prefix = options.prefix ?? "asyncio-ts:ratelimit:";
    if (typeof prefix !== "string") throw new TypeError(`Expected options.prefix to be a string, got ${describe(prefix)}`);
    this.key = options.key;
    this._policy = policy;
    const base = `${prefix}{${options.key}}`;
    this._keys = [base, `${base}:log`];
    this._channel = `${base}:left`;
    const bucket = policy instanceof TokenBucket;
    // (window: whole µs, rounded up, so that a grant never leaves the window early)
    const p = bucket ? (policy._interval * 1000).toString() : Math.ceil((options as { windowMs: number }).windowMs * 1000).toString();
    this._params = [bucket ? "b" : "w", p, String(policy.capacity)];
    const spanMs = bucket ? policy._interval * policy.capacity : (options as { windowMs: number }).windowMs;
    this._ttl = String(Math.ceil(spanMs) + HEAD_GRACE_MS + 1000);
    this._target = target;
    this._stats.available = policy.capacity;
  }

  /**
   * `"token-bucket"` or `"sliding-window"`.
   * @example `console.log(limiter.algorithm);`
   */
  get algorithm(): RateAlgorithm {
    return this._policy.algorithm;
  }

  /**
   * The largest weight that can be granted (`burst`, or `limit`).
   * @example `console.log(limiter.capacity);`
   */
  get capacity(): number {
    return this._policy.capacity;
  }

  /**
   * Wait until `weight` may be taken from the shared limit, then take it. Waiters of this process are
   * served in FIFO order; across processes the head waiter keeps its place.
   * @param weight a positive integer, at most `capacity` (default 1)
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`, nothing taken)
   * @example `await limiter.acquire(); await callApi();`
   */
  async acquire(weight = 1, options?: AbortOptions): Promise<void> {
    const signal = readSignal(options);
    const w = checkWeight(weight, this._policy);
    this._checkOpen();
    const loop = getRunningLoop();
    this._waiting++;
    try {
      await this._line.acquire(signal === undefined ? undefined : { signal });
      await this._attemptUntilGranted(loop, w, signal);
    } finally {
      this._waiting--;
    }
  }

  /** Holding the line: attempt, sleep as told, attempt again; then free the line (or let the cleanup free it). */
  private async _attemptUntilGranted(loop: EventLoop, w: number, signal: AbortSignal | undefined): Promise<void> {
    const id = `${this._idBase}-${(this._seq++).toString(36)}`;
    let inflight: Promise<Reply> | null = null;
    let claimed = false;
    try {
      for (;;) {
        const left = this._leftSeq;
        inflight = this._attempt(w, id, true);
        const r = await this._wait(loop, inflight, signal);
        inflight = null;
        if (r.granted) break;
        claimed = true; // (told to wait: this waiter may head the shared line now)
        if (r.behind) {
          // Behind another process's waiter: listen for it leaving (a first subscription may have missed
          // it, and so may an attempt in flight when it left: then try again at once).
          if (this._sub === null) {
            await this._wait(loop, this._subscribe(), signal);
            continue;
          }
          if (this._leftSeq !== left) continue;
        }
        this._stats.nextGrantAt = r.at + r.waitMs;
        await this._wait(loop, null, signal, r.waitMs, r.behind);
      }
    } catch (e) {
      this._stats.nextGrantAt = null;
      if (inflight !== null || claimed) void this._leaveLater(inflight, claimed, id, w);
      else this._line.release();
      throw e;
    }
    this._stats.nextGrantAt = null;
    this._line.release();
  }

  /**
   * A waiter left with an attempt in flight or the head possibly held: once the attempt answers, send
   * `LEAVE` (refund a grant, give the head back); then free the line, so that the next waiter of this
   * process never sees a grant that is about to be refunded.
   */
  private async _leaveLater(inflight: Promise<Reply> | null, claimed: boolean, id: string, w: number): Promise<void> {
    try {
      let must = claimed;
      if (inflight !== null) {
        try {
          const r = await inflight;
          if (r.granted) this._uncount(w);
          must = true; // granted (refund it), or told to wait (it may hold the head)
        } catch {
          // the attempt failed: it granted and claimed nothing
        }
      }
      if (must) await this._leave(id, w).catch(() => {});
    } finally {
      try {
        this._line.release();
      } catch {
        // (the loop closed meanwhile: nobody waits in this line any more)
      }
    }
  }

  /**
   * Take `weight` if the shared limit allows it now, nobody waits here and no other process heads the
   * line; never waits for the limit (one round trip). Bad input is a rejection.
   * @example `if (await limiter.tryAcquire()) send(); else dropped++;`
   */
  async tryAcquire(weight = 1): Promise<boolean> {
    const w = checkWeight(weight, this._policy);
    this._checkOpen();
    const loop = getRunningLoop();
    if (this._line.locked() || this._line.statistics().waiters > 0) return false;
    const id = `${this._idBase}-${(this._seq++).toString(36)}`;
    const inflight = this._attempt(w, id, false);
    try {
      return (await this._wait(loop, inflight, undefined)).granted;
    } catch (e) {
      void inflight.then((r) => (r.granted ? (this._uncount(w), this._leave(id, w)) : undefined)).catch(() => {});
      throw e;
    }
  }

  /**
   * Acquire (`options.weight`, default 1), then call `fn` and return its result (awaited).
   * @param options `weight`, and `signal` to abandon the wait
   * @example `const user = await limiter.withLimit(() => api.getUser(id));`
   */
  async withLimit<R>(fn: () => R | PromiseLike<R>, options?: WithLimitOptions): Promise<Awaited<R>> {
    checkFn(fn, "fn");
    const o = checkOptions(options, ["weight", "signal"], "withLimit()");
    await this.acquire(o.weight ?? 1, o.signal === undefined ? undefined : { signal: o.signal });
    return await fn();
  }

  /**
   * This process's view: its grants, its waiters, and what Redis reported at the last attempt (times
   * are Redis's clock, ms since 1970).
   * @example `console.log(limiter.statistics().granted);`
   */
  statistics(): RateLimiterStatistics {
    return {
      algorithm: this._policy.algorithm,
      capacity: this._policy.capacity,
      available: this._stats.available,
      tasksWaiting: this._waiting,
      granted: this._stats.granted,
      grantedWeight: this._stats.grantedWeight,
      lastGrantAt: this._stats.lastGrantAt,
      nextGrantAt: this._stats.nextGrantAt,
    };
  }

  /**
   * Close the connections; waiting acquisitions fail with `RuntimeError`. Later calls do nothing.
   * @example `await limiter.close();`
   */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    for (const w of this._waits) {
      try {
        w.setException(this._closedError());
      } catch {
        // (its loop closed)
      }
    }
    const c = this._client;
    const sub = this._sub;
    this._client = null;
    this._sub = null;
    if (sub !== null) await sub.then((s) => s.quit()).catch(() => {});
    if (c === null) return;
    const client = await c.catch(() => null);
    if (client === null) return;
    await client.quit().catch(() => client.disconnect());
  }

  /**
   * `await using` support: `close()`.
   * @example `{ await using limiter = new RedisRateLimiter(options); await limiter.acquire(); }`
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- Redis

  private _checkOpen(): void {
    if (this._closed) throw this._closedError();
    if (this._fatal !== null) throw this._fatal;
  }

  private _closedError(): RuntimeError {
    return new RuntimeError(`RedisRateLimiter ${JSON.stringify(this.key)} is closed`);
  }

  /** The client, made on first use. */
  private _connect(): Promise<Client> {
    this._client ??= loadIoredis().then((io) => {
      const c = newClient(io, this._target);
      c.on("error", (e: unknown) => {
        if (isFatalConnectionError(e) && this._fatal === null) {
          this._fatal = new RedisConnectionError(`${this._target.label} refused the connection: ${errorText(e)}`, { cause: e });
          c.disconnect();
        }
      });
      return c;
    });
    return this._client;
  }

  /** Run a script: `EVALSHA`, then `EVAL` if Redis does not have it (NOSCRIPT). */
  private async _script(s: { body: string; sha: string }, args: string[]): Promise<unknown> {
    this._checkOpen();
    const c = await this._connect();
    try {
      return await c.evalsha(s.sha, 2, ...this._keys, ...args);
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith("NOSCRIPT"))) throw this._fatal ?? e;
      return await c.eval(s.body, 2, ...this._keys, ...args);
    }
  }

  /** One ACQUIRE (the promise of Redis's answer); the counters follow a grant. */
  private _attempt(w: number, id: string, claim: boolean): Promise<Reply> {
    const [algo, p, cap] = this._params;
    const args = [algo, p, cap, String(w), id, claim ? "1" : "0", String(HEAD_GRACE_MS * 1000), this._ttl];
    return this._script(SCRIPTS.acquire, args).then((raw) => {
      const [g, at, wait, avail, behind] = raw as [number, number, number, number, number];
      const r: Reply = { granted: g === 1, at: at / 1000, waitMs: wait / 1000, available: avail / 1000, behind: behind === 1 };
      this._stats.available = r.available;
      if (r.granted) {
        this._stats.granted++;
        this._stats.grantedWeight += w;
        this._stats.lastGrantAt = r.at;
      }
      return r;
    });
  }

  /** A grant taken back. */
  private _uncount(w: number): void {
    this._stats.granted--;
    this._stats.grantedWeight -= w;
  }

  private _leave(id: string, w: number): Promise<unknown> {
    return this._script(SCRIPTS.leave, [this._params[0], this._params[1], id, String(w), this._ttl, this._channel]);
  }

  /**
   * Wait, cancellably, on the loop: for Redis's answer (`promise`, holding virtual time as I/O in
   * flight) or for `ms` (a loop timer). A cancellation or an abort ends the wait at once; the work in
   * flight goes on (the caller deals with its answer).
   */
  private async _wait<T>(loop: EventLoop, promise: Promise<T> | null, signal: AbortSignal | undefined, ms = 0, wakeOnLeave = false): Promise<T> {
    const w = new Waiter<T>(undefined, loop);
    w._label = "RedisRateLimiter.acquire";
    let timer: TimerHandle | null = null;
    if (wakeOnLeave) this._sleeper = w as Waiter<unknown>;
    this._waits.add(w as Waiter<unknown>);
    if (promise !== null) {
      const io = loop._ioBegin(true);
      promise.then(
        (v) => {
          io._release();
          if (!w.done() && !loop.isClosed()) w.setResult(v);
        },
        (e: unknown) => {
          io._release();
          if (!w.done() && !loop.isClosed()) w._relayException(e); // (whatever Redis's call rejected with)
        },
      );
    } else timer = loop._at(loop.time() + ms, settle, w);
    try {
      return await waitOn(w, signal);
    } catch (e) {
      throw abortReason(w, e);
    } finally {
      timer?.cancel();
      this._waits.delete(w as Waiter<unknown>);
      if (this._sleeper === w) this._sleeper = null;
    }
  }

  /** Subscribe to the limit's channel, where `LEAVE` says that the head left; resolves once subscribed. */
  private _subscribe(): Promise<void> {
    const sub = this._connect().then(async (c) => {
      // (classic pub/sub: on a cluster a subscriber on any node hears a publish from any other)
      const s: Client = c.isCluster ? (c as Cluster).duplicate() : (c as Redis).duplicate();
      s.on("error", () => {}); // (loss and fatal errors are the command connection's to report)
      s.on("message", () => this._onLeft());
      await s.subscribe(this._channel);
      return s;
    });
    // (kept even if it failed: waiters then sleep until the head is due, and nobody subscribes in a loop)
    this._sub = sub;
    return sub.then(
      () => undefined,
      () => undefined,
    );
  }

  /** The head left: wake the waiter of this process that sleeps behind it. */
  private _onLeft(): void {
    this._leftSeq++;
    const w = this._sleeper;
    if (w === null || w.done()) return;
    try {
      w.setResult(undefined);
    } catch {
      // (its loop closed)
    }
  }

  /** @internal */
  toString(): string {
    return `<RedisRateLimiter ${JSON.stringify(this.key)} ${this._policy.toString()}>`;
  }
}

function settle(w: Waiter<unknown>): void {
  if (!w.done()) w.setResult(undefined);
}
