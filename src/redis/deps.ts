/**
 * Loading the optional peer dependencies (BullMQ and ioredis) and making Redis connections, to one
 * server or to a Redis Cluster.
 *
 * ## Approach
 * Both packages are loaded with a dynamic `import()` the first time a `RedisExecutor` or a Redis worker
 * starts, never when `asyncio-ts` (or even `asyncio-ts/redis`) is imported: the core keeps zero runtime
 * dependencies. Only their *types* are imported statically (erased at compile time).
 *
 * Every BullMQ object gets an ioredis client that we make (BullMQ's ESM build cannot load ioredis by
 * itself); we close them ourselves. `maxRetriesPerRequest: null` is what BullMQ requires for blocking
 * connections, and makes commands wait for a reconnection instead of failing.
 *
 * Where to connect (`checkTarget`) is one of: a URL, `{ url, ...ioredisOptions }`, a Redis Cluster's
 * startup nodes `{ cluster: [urls or { host, port }], ...clusterOptions }` (an ioredis `Cluster`), or
 * an ioredis `Redis` or `Cluster` instance. An instance is a *template*: we make our own connections
 * from it with `duplicate()` (the same nodes and options) and never close or reconfigure the caller's
 * own, as BullMQ itself duplicates a given connection for its blocking commands.
 *
 * On a cluster, BullMQ's Lua scripts touch several keys of a queue at once, and Redis Cluster runs a
 * script only when all its keys hash to one slot: the keys `<prefix>:<queue>:...` must carry a hash tag
 * (`{bull}` in the prefix, or `{work}` in the queue name: `checkClusterKeys`). Rejected: adding a tag
 * ourselves (a prefix or queue name that differs from what the user wrote breaks every other BullMQ
 * tool looking at the same queue), and sharded pub/sub for the cancel channel (classic pub/sub reaches
 * a subscriber on any node of a cluster, and cancellations are rare).
 *
 * @module
 */
const { readFileSync } = process.getBuiltinModule("node:fs");
import type * as BullMQ from "bullmq";
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from "ioredis";
import { describe } from "../core/index.js";
import { RedisConnectionError } from "./wire.js";

/** @internal */
export interface Deps {
  bullmq: typeof BullMQ;
  Redis: new (url: string, options: RedisOptions) => Redis;
  Cluster: new (nodes: ClusterNode[], options: ClusterOptions) => Cluster;
}

/** A connection we made: to one server, or to a cluster. @internal */
export type Client = Redis | Cluster;

let loading: Promise<Deps> | null = null;

/** Import bullmq and ioredis once; a clear error when they are missing. @internal */
export function loadDeps(): Promise<Deps> {
  loading ??= (async () => {
    try {
      const [bullmq, ioredis] = await Promise.all([import("bullmq"), import("ioredis")]);
      const ns = ioredis as unknown as { default?: { Cluster?: unknown }; Redis?: unknown; Cluster?: unknown };
      const R = (ns.default ?? ns.Redis) as Deps["Redis"];
      const C = (ns.Cluster ?? ns.default?.Cluster) as Deps["Cluster"];
      return { bullmq, Redis: R, Cluster: C };
    } catch (e) {
      loading = null;
      const err = new Error(
        "RedisExecutor needs the optional peer dependencies bullmq and ioredis: npm install bullmq ioredis",
        { cause: e },
      );
      err.name = "ModuleNotFoundError";
      throw err;
    }
  })();
  return loading;
}

/**
 * Where and how to connect to one Redis server: a `redis://` or `rediss://` URL (user, password and
 * database in the URL), or an object with the URL and extra ioredis options (`tls: { ca }` for a
 * private CA, `username`, `password`...).
 */
export type RedisConnection = string | ({ url: string } & RedisOptions);

/**
 * A Redis Cluster: some of its nodes (`redis://[user:password@]host:port` or `rediss://...` URLs, or
 * `{ host, port }`; the others are discovered) and ioredis `Cluster` options (`redisOptions` apply to
 * every node: `password`, `tls`...). The user, password and TLS of the URLs apply to every node.
 * On a cluster, the queue's prefix or name must carry a hash tag (`"{bull}"`, `"{work}"`).
 *
 * @example
 * ```ts no-run
 * import { RedisExecutor } from "asyncio-ts/redis";
 * const connection = { cluster: ["redis://10.0.0.1:6379", { host: "10.0.0.2", port: 6379 }], redisOptions: { password: "s3cret" } };
 * await using ex = new RedisExecutor({ connection, prefix: "{bull}", queue: "work" });
 * ```
 */
export type RedisClusterConnection = { cluster: Array<string | { host: string; port: number }> } & ClusterOptions;

/**
 * What `RedisExecutor` and `RedisWorker` connect to: one server (URL or `{ url, ...options }`), a
 * cluster (`{ cluster: [...] }`), or an ioredis `Redis` or `Cluster` instance used as a template (its
 * `duplicate()`s are ours to close; the instance itself is left alone).
 *
 * @example
 * ```ts no-run
 * import { Cluster } from "ioredis";
 * import { RedisWorker } from "asyncio-ts/redis";
 * const cluster = new Cluster([{ host: "10.0.0.1", port: 6379 }]);
 * const worker = await RedisWorker.start({ connection: cluster, queue: "{work}", modules: ["./dist/tasks.js"] });
 * ```
 */
export type RedisTargetConnection = RedisConnection | RedisClusterConnection | Redis | Cluster;

/** A checked connection target. @internal */
export type Target =
  | { kind: "server"; cluster: false; url: string; options: RedisOptions; label: string }
  | { kind: "cluster"; cluster: true; nodes: ClusterNode[]; options: ClusterOptions; label: string }
  | { kind: "instance"; cluster: boolean; instance: Client; label: string };

function isInstance(c: object): c is Client {
  const o = c as { duplicate?: unknown; isCluster?: unknown };
  return typeof o.duplicate === "function" && typeof o.isCluster === "boolean";
}

/** Validate a connection argument of `RedisExecutor`, `RedisWorker` and `RedisRateLimiter` (see `RedisTargetConnection`). @internal */
export function checkTarget(c: unknown, argName = "connection"): Target {
  const expected = `Expected ${argName} to be a redis:// or rediss:// URL, { url, ...options }, { cluster: [nodes], ...options } or an ioredis Redis or Cluster instance`;
  if (typeof c === "string") return serverTarget(c, {}, argName);
  if (c === null || typeof c !== "object") throw new TypeError(`${expected}, got ${describe(c)}`);
  if (isInstance(c)) return instanceTarget(c, argName);
  if ("cluster" in c) {
    if ("url" in c) throw new TypeError(`Expected ${argName} to have url (one server) or cluster (a Redis Cluster), not both`);
    return clusterTarget(c as RedisClusterConnection, argName);
  }
  if (!("url" in c)) throw new TypeError(`${expected}, got ${describe(c)} without url or cluster`);
  const { url, ...rest } = c as { url?: unknown } & RedisOptions;
  return serverTarget(url, rest, argName);
}

function serverTarget(url: unknown, options: RedisOptions, argName: string): Target {
  if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) {
    throw new TypeError(`Expected ${argName} to be a redis:// or rediss:// URL, got ${describe(url)}`);
  }
  return { kind: "server", cluster: false, url, options, label: `Redis at ${redactUrl(url)}` };
}

function instanceTarget(instance: Client, argName: string): Target {
  const o = (instance as { options?: { keyPrefix?: unknown; host?: unknown; port?: unknown } }).options ?? {};
  if (typeof o.keyPrefix === "string" && o.keyPrefix !== "") {
    throw new TypeError(`Expected ${argName} to be an ioredis client without keyPrefix (BullMQ does not support it), got keyPrefix ${JSON.stringify(o.keyPrefix)}: use the prefix option instead`);
  }
  if (instance.isCluster) {
    const nodes = ((instance as { startupNodes?: unknown[] }).startupNodes ?? []).map(nodeLabel);
    return { kind: "instance", cluster: true, instance, label: `the Redis Cluster at ${nodes.join(", ") || "(no startup nodes)"}` };
  }
  return { kind: "instance", cluster: false, instance, label: `Redis at ${String(o.host ?? "127.0.0.1")}:${String(o.port ?? 6379)}` };
}

/** `host:port` of a startup node, without credentials. */
function nodeLabel(n: unknown): string {
  if (typeof n === "string") {
    try {
      const u = new URL(n);
      return `${u.hostname}:${u.port || "6379"}`;
    } catch {
      return redactUrl(n);
    }
  }
  if (typeof n === "number") return `127.0.0.1:${n}`;
  const o = (n ?? {}) as { host?: unknown; port?: unknown };
  return `${String(o.host ?? "127.0.0.1")}:${String(o.port ?? 6379)}`;
}

/**
 * A cluster's startup nodes: URLs become `{ host, port }`, and their user, password and TLS go to
 * `redisOptions` (which apply to every node, also the discovered ones; a password in a startup node
 * alone would not reach the nodes found through `CLUSTER SLOTS`).
 */
function clusterTarget(c: RedisClusterConnection, argName: string): Target {
  const { cluster, ...options } = c;
  if (!Array.isArray(cluster) || cluster.length === 0) {
    throw new TypeError(`Expected ${argName}.cluster to be a non-empty array of redis:// URLs or { host, port } nodes, got ${describe(cluster)}`);
  }
  const nodes: ClusterNode[] = [];
  let scheme: string | null = null;
  let auth: { username: string; password: string } | null = null;
  cluster.forEach((n: unknown, i) => {
    const name = `${argName}.cluster[${i}]`;
    if (typeof n === "string") {
      const u = parseNodeUrl(n, name);
      if (scheme !== null && u.protocol !== scheme) throw new TypeError(`Expected the URLs of ${argName}.cluster to be all redis:// or all rediss://, got ${redactUrl(n)}`);
      scheme = u.protocol;
      if (u.username !== "" || u.password !== "") {
        const a = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
        if (auth !== null && (auth.username !== a.username || auth.password !== a.password)) {
          throw new TypeError(`Expected the URLs of ${argName}.cluster to carry the same user and password, got another one in ${redactUrl(n)}`);
        }
        auth = a;
      }
      nodes.push({ host: u.hostname, port: u.port === "" ? 6379 : Number(u.port) });
    } else if (n !== null && typeof n === "object") {
      const { host, port } = n as { host?: unknown; port?: unknown };
      if (typeof host !== "string" || host.length === 0) throw new TypeError(`Expected ${name}.host to be a non-empty string, got ${describe(host)}`);
      if (typeof port !== "number" || !Number.isInteger(port)) throw new TypeError(`Expected ${name}.port to be an integer, got ${describe(port)}`);
      if (port < 1 || port > 65535) throw new RangeError(`Expected ${name}.port to be a port number (1 to 65535), got ${port}`);
      nodes.push({ host, port });
    } else {
      throw new TypeError(`Expected ${name} to be a redis:// or rediss:// URL or { host, port }, got ${describe(n)}`);
    }
  });
  const redisOptions: RedisOptions = { ...(options.redisOptions ?? {}) };
  const a = auth as { username: string; password: string } | null;
  if (a !== null) {
    if (a.username !== "") redisOptions.username ??= a.username;
    if (a.password !== "") redisOptions.password ??= a.password;
  }
  if (scheme === "rediss:" && redisOptions.tls === undefined) redisOptions.tls = {};
  const label = `the Redis Cluster at ${nodes.map(nodeLabel).join(", ")}`;
  return { kind: "cluster", cluster: true, nodes, options: { ...options, redisOptions }, label };
}

function parseNodeUrl(s: string, name: string): URL {
  let u: URL;
  try {
    if (!/^rediss?:\/\//.test(s)) throw new Error("not a Redis URL");
    u = new URL(s);
  } catch {
    throw new TypeError(`Expected ${name} to be a redis:// or rediss:// URL or { host, port }, got ${JSON.stringify(redactUrl(s))} (string)`);
  }
  if (u.hostname === "") throw new TypeError(`Expected ${name} to name a host, got ${JSON.stringify(redactUrl(s))} (string)`);
  if (u.pathname !== "" && u.pathname !== "/" && u.pathname !== "/0") {
    throw new TypeError(`Expected ${name} without a database number: a Redis Cluster has only database 0, got ${JSON.stringify(redactUrl(s))} (string)`);
  }
  return u;
}

/**
 * The hash tag of a key, by Redis Cluster's rule: what lies between the first `{` and the first `}`
 * after it, if that is not empty; else null (the whole key is hashed). @internal
 */
export function hashTag(key: string): string | null {
  const open = key.indexOf("{");
  if (open < 0) return null;
  const close = key.indexOf("}", open + 1);
  return close <= open + 1 ? null : key.slice(open + 1, close);
}

/**
 * On a cluster, every key of a BullMQ queue (`<prefix>:<queue>:...`) must hash to one slot: a clear
 * `TypeError` unless that common start carries a hash tag. `names` are the arguments to blame
 * (`options.prefix`, or `--prefix` for the command line). @internal
 */
export function checkClusterKeys(prefix: string, queue: string, names: { prefix: string; queue: string }): void {
  if (hashTag(`${prefix}:${queue}:`) !== null) return;
  throw new TypeError(
    `Expected ${names.prefix} or ${names.queue} to carry a hash tag on a Redis Cluster, got prefix ${JSON.stringify(prefix)} and queue ${JSON.stringify(queue)}: ` +
      `BullMQ's scripts need every key of a queue (${prefix}:${queue}:...) in one hash slot. Give the prefix a tag, such as "{${prefix}}" ` +
      `(every queue of that prefix in one slot: one master serves them all), or the queue name one, such as "{${queue}}" (each queue in the slot of its own name)`,
  );
}

/** Options of a new client: BullMQ's requirements, then the user's. @internal */
export function clientOptions(url: string, options: RedisOptions, extra: RedisOptions = {}): RedisOptions {
  const o: RedisOptions = { maxRetriesPerRequest: null, ...options, ...extra };
  if (url.startsWith("rediss://") && o.tls === undefined) o.tls = {};
  return o;
}

/** Read a CA file for `tls.ca` (the worker's `--tls-ca`). @internal */
export function readCa(path: string): Buffer {
  return readFileSync(path);
}

/** A URL with its password hidden, for messages and logs. @internal */
export function redactUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_m, scheme: string, auth: string) => {
    const user = auth.includes(":") ? auth.slice(0, auth.indexOf(":")) : "";
    return `${scheme}${user}${user || auth ? ":***" : ""}@`;
  });
}

/**
 * True for errors that retrying cannot fix: bad credentials, missing ACL permissions, a TLS
 * certificate that does not verify. A cluster reports a node's error as the `lastNodeError` of its
 * own (`ClusterAllFailedError`). @internal
 */
export function isFatalConnectionError(e: unknown): boolean {
  const inner = (e as { lastNodeError?: unknown } | null)?.lastNodeError;
  if (inner !== undefined && inner !== e && isFatalConnectionError(inner)) return true;
  const m = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^(ERR_TLS_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_)/.test(code)) return true;
  return /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username|self[- ]signed certificate|unable to verify the first certificate|certificate has expired/i.test(m);
}

/** An error's message, with the node's error a cluster wraps (`Failed to refresh slots cache. (WRONGPASS ...)`). @internal */
export function errorText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const inner = (e as { lastNodeError?: unknown } | null)?.lastNodeError;
  return inner instanceof Error && inner !== e ? `${m} (${inner.message})` : m;
}

/**
 * A new connection to the target, with BullMQ's requirements (commands wait for a reconnection).
 * Needs only ioredis's two classes. @internal
 */
export function newClient(deps: Pick<Deps, "Redis" | "Cluster">, t: Target): Client {
  if (t.kind === "server") return new deps.Redis(t.url, clientOptions(t.url, t.options));
  if (t.kind === "cluster") {
    return new deps.Cluster(t.nodes, { ...t.options, redisOptions: { ...t.options.redisOptions, maxRetriesPerRequest: null } });
  }
  const i = t.instance;
  if (i.isCluster) {
    const ro = (i as Cluster).options.redisOptions ?? {};
    return (i as Cluster).duplicate(undefined, { redisOptions: { ...ro, maxRetriesPerRequest: null } });
  }
  return (i as Redis).duplicate({ maxRetriesPerRequest: null });
}

/**
 * Make a client whose duplicates (BullMQ makes some for blocking commands) get the same error
 * handler and are recorded in `all`, so that nothing logs "Unhandled error event" and everything
 * is closed at the end. A cluster's node errors go to the same handler (a refused password arrives
 * there first). @internal
 */
export function makeClient(deps: Deps, target: Target, all: Client[], onError: (e: unknown) => void): Client {
  const c = newClient(deps, target);
  track(c, all, onError);
  return c;
}

function track(c: Client, all: Client[], onError: (e: unknown) => void): void {
  c.on("error", onError);
  if (c.isCluster) c.on("node error", onError);
  all.push(c);
  const dup = (c.duplicate as (...a: unknown[]) => Client).bind(c);
  (c as { duplicate: unknown }).duplicate = (...args: unknown[]): Client => {
    const d = dup(...args);
    track(d, all, onError);
    return d;
  };
}

/**
 * Refuse a cluster node reached as a single server (`redis://` of one node): BullMQ's commands would
 * meet `MOVED` redirections for every slot that node does not serve. One `INFO cluster`; a server that
 * does not answer it (an ACL without `INFO`) is taken at its word. @internal
 */
export async function refuseClusterNode(client: Client, target: Target): Promise<void> {
  if (target.cluster) return;
  let info: string;
  try {
    info = await (client as Redis).info("cluster");
  } catch {
    return;
  }
  if (/^cluster_enabled:1\b/m.test(info)) {
    throw new RedisConnectionError(
      `${target.label} is a node of a Redis Cluster: connect with { cluster: ["redis://host:port", ...] } ` +
        "(aio worker --cluster) so that commands follow the cluster's slots, and give the queue a hash tag (see docs/redis-executor.md)",
    );
  }
}
