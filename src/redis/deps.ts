/**
 * Loading the optional peer dependencies (BullMQ and ioredis) and making Redis connections.
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
 * @module
 */
const { readFileSync } = process.getBuiltinModule("node:fs");
import type * as BullMQ from "bullmq";
import type { Redis, RedisOptions } from "ioredis";
import { describe } from "../core/index.js";

/** @internal */
export interface Deps {
  bullmq: typeof BullMQ;
  Redis: new (url: string, options: RedisOptions) => Redis;
}

let loading: Promise<Deps> | null = null;

/** Import bullmq and ioredis once; a clear error when they are missing. @internal */
export function loadDeps(): Promise<Deps> {
  loading ??= (async () => {
    try {
      const [bullmq, ioredis] = await Promise.all([import("bullmq"), import("ioredis")]);
      const R = ((ioredis as unknown as { default?: unknown }).default ?? (ioredis as unknown as { Redis?: unknown }).Redis) as Deps["Redis"];
      return { bullmq, Redis: R };
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
 * Where and how to connect: a `redis://` or `rediss://` URL (user, password and database in the URL),
 * or an object with the URL and extra ioredis options (`tls: { ca }` for a private CA, `username`,
 * `password`...).
 */
export type RedisConnection = string | ({ url: string } & RedisOptions);

/** Validate a connection argument. @internal */
export function checkConnection(c: unknown, argName = "connection"): { url: string; options: RedisOptions } {
  let url: unknown;
  let options: RedisOptions = {};
  if (typeof c === "string") url = c;
  else if (c !== null && typeof c === "object") {
    const { url: u, ...rest } = c as { url?: unknown } & RedisOptions;
    url = u;
    options = rest;
  } else {
    throw new TypeError(`Expected ${argName} to be a redis:// or rediss:// URL or { url, ...options }, got ${describe(c)}`);
  }
  if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) {
    throw new TypeError(`Expected ${argName} to be a redis:// or rediss:// URL, got ${describe(url)}`);
  }
  return { url, options };
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
 * certificate that does not verify. @internal
 */
export function isFatalConnectionError(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^(ERR_TLS_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_)/.test(code)) return true;
  return /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username|self[- ]signed certificate|unable to verify the first certificate|certificate has expired/i.test(m);
}

/**
 * Make a client whose duplicates (BullMQ makes some for blocking commands) get the same error
 * handler and are recorded in `all`, so that nothing logs "Unhandled error event" and everything
 * is closed at the end. @internal
 */
export function makeClient(deps: Deps, url: string, options: RedisOptions, all: Redis[], onError: (e: unknown) => void): Redis {
  const c = new deps.Redis(url, clientOptions(url, options));
  c.on("error", onError);
  all.push(c);
  const dup = c.duplicate.bind(c);
  c.duplicate = ((...args: Parameters<Redis["duplicate"]>) => {
    const d = dup(...args);
    d.on("error", onError);
    all.push(d);
    return d;
  }) as Redis["duplicate"];
  return c;
}
