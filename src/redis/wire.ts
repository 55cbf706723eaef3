/**
 * What travels through Redis between a `RedisExecutor` and its workers, and the errors of the Redis
 * executor.
 *
 * ## Approach
 * A job is *data only*: `{ v, m, f, a, t }` names a module by its registered name (`m`), an export
 * of it (`f`), carries the arguments as a base64 string of Node's structured-clone format
 * (`v8.serialize`) and an optional timeout (`t`, ms). No source text, no module path: a worker runs
 * only the exported functions of the modules it was started with, looked up in `Map`s (so names such
 * as `__proto__` or `constructor` find nothing).
 *
 * Values use the structured-clone format because it is what the thread pool accepts: the same
 * arguments work with both executors (`Map`, `Set`, `Date`, `BigInt`, typed arrays, `undefined`,
 * cycles), and what cannot cross (functions, symbols, sockets) fails at `submit` with a clear
 * `TypeError`. Reading it executes no code. Caveat: the format is versioned by V8; a newer Node
 * reads an older Node's values, not always the reverse (run workers on the same or a newer Node).
 *
 * Results: a successful job completes with `{ v, r }` (the value, encoded as above). A failed job
 * fails in BullMQ (so dashboards and BullMQ's failed set see it) with a `failedReason` whose first
 * line is `Name: message` and whose last line carries the error as serialized by the executors'
 * protocol (`serializeError`: class name, message, stack, `cause`, own data properties), so the
 * caller rebuilds it faithfully. A `failedReason` without that line (BullMQ's own failures, such as a
 * job that stalled too often) becomes a {@link RedisJobError}.
 *
 * Rejected: JSON for values (loses `Map`, `Date`, `BigInt`, `undefined`); completing failed jobs with
 * an error envelope (simpler, but BullMQ's failed set and metrics would never see a failure); sending
 * module paths (a worker must not load what a job names).
 *
 * @module
 */
const { serialize, deserialize } = process.getBuiltinModule("node:v8");
const { basename } = process.getBuiltinModule("node:path");
const { fileURLToPath } = process.getBuiltinModule("node:url");
import { AsyncioError, describe } from "../core/index.js";
import { deserializeError, serializeError, type SerializedError } from "../executors/protocol.js";

/** Version of the job format. @internal */
export const WIRE_VERSION = 1;
/**
 * A chunk of calls (`RedisExecutor.map(fn, items, { chunksize })`): `a` encodes the list of argument
 * lists, the result the list of results, and a call that fails fails the chunk (CPython's
 * `_process_chunk`). Its own version, so that a worker older than chunks refuses the job, saying why,
 * rather than calling the function once with the whole list. @internal
 */
export const WIRE_VERSION_CHUNK = 2;

/** A job's data in Redis. @internal */
export interface JobData {
  v: number;
  /** Registered module name. */
  m: string;
  /** Export name. */
  f: string;
  /** Arguments: base64 of `v8.serialize(args)`. */
  a: string;
  /** Timeout in ms from the job's start, if any. */
  t?: number;
}

/** A completed job's return value. @internal */
export interface JobResult {
  v: number;
  r: string;
}

/**
 * A worker received a job naming a module or function it does not allow (it was not started with that
 * module, or the module has no such exported function). The job fails; nothing runs.
 *
 * @example
 * ```ts no-run
 * import { RedisExecutor, UnknownFunctionError } from "asyncio-ts/redis";
 * import { moduleFunction } from "asyncio-ts";
 * await using ex = new RedisExecutor({ connection: "redis://127.0.0.1:6379", queue: "jobs" });
 * try { await ex.submit(moduleFunction("/srv/app/tasks.js", "notExported")); }
 * catch (e) { console.log(e instanceof UnknownFunctionError); } // true
 * ```
 */
export class UnknownFunctionError extends AsyncioError {}

/**
 * A job ended without a result from a worker: it vanished from Redis (Redis restarted without
 * persistence, or someone deleted it), BullMQ failed it (it stalled more often than allowed), or its
 * outcome could not be read. The message says which.
 *
 * @example
 * ```ts no-run
 * import { RedisExecutor, RedisJobError } from "asyncio-ts/redis";
 * import { moduleFunction } from "asyncio-ts";
 * await using ex = new RedisExecutor({ connection: "redis://127.0.0.1:6379", queue: "jobs" });
 * try { await ex.submit(moduleFunction("/srv/app/tasks.js", "crunch"), 1); }
 * catch (e) { if (e instanceof RedisJobError) console.log("lost:", e.message); }
 * ```
 */
export class RedisJobError extends AsyncioError {}

/**
 * The executor lost its Redis connection for longer than its `connectionLossTimeout`: its pending
 * futures fail with this error (the jobs may still run; their outcome is no longer tracked).
 *
 * @example
 * ```ts no-run
 * import { RedisExecutor, RedisConnectionError } from "asyncio-ts/redis";
 * const ex = new RedisExecutor({ connection: "redis://127.0.0.1:6379", queue: "jobs", connectionLossTimeout: 5000 });
 * // a future pending while Redis is unreachable for 5 s fails with RedisConnectionError
 * await ex.shutdown();
 * ```
 */
export class RedisConnectionError extends AsyncioError {}

const OWN_CLASSES: Record<string, new (message?: string) => Error> = {
  UnknownFunctionError,
  RedisJobError,
  RedisConnectionError,
};

/** Base64 of the structured-clone encoding of `value`; a clear `TypeError` if it cannot be encoded. @internal */
export function encodeValue(value: unknown, what: string): string {
  try {
    return serialize(value).toString("base64");
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new TypeError(
      `Cannot send ${what} through Redis: ${reason} (only structured-cloneable data crosses: ` +
        "primitives, plain objects, arrays, Map, Set, Date, RegExp, BigInt, typed arrays, errors; not functions, symbols or class behaviour)",
    );
  }
}

/** Decode what {@link encodeValue} made. @internal */
export function decodeValue(b64: string): unknown {
  return deserialize(Buffer.from(b64, "base64"));
}

/** Marker of the serialized error's line in a `failedReason`. */
const ERROR_MARK = "\n--asyncio-ts-error:v1:";

/** A thrown value as a BullMQ `failedReason`: a readable first line, the full error on the last. @internal */
export function encodeFailure(err: unknown): string {
  const s = serializeError(err);
  const head = s.e === 1 ? `${s.name ?? "Error"}: ${s.message ?? ""}` : `thrown value: ${describe(s.value)}`;
  let payload: string;
  try {
    payload = serialize(s).toString("base64");
  } catch {
    // Some part of the error cannot be serialized (a property holding a function): send its text only.
    payload = serialize({ e: 1, className: "Error", name: s.name, message: s.message, stack: s.stack }).toString("base64");
  }
  return `${head}${ERROR_MARK}${payload}`;
}

/** Rebuild the error of a `failedReason`; a {@link RedisJobError} for BullMQ's own reasons. @internal */
export function decodeFailure(reason: unknown, jobId: string): unknown {
  const text = typeof reason === "string" ? reason : String(reason);
  const at = text.lastIndexOf(ERROR_MARK);
  if (at >= 0) {
    try {
      const s = deserialize(Buffer.from(text.slice(at + ERROR_MARK.length), "base64")) as SerializedError;
      return reviveOwn(deserializeError(s), s);
    } catch {
      // fall through: report the readable part
    }
  }
  return new RedisJobError(`Job ${jobId} failed in BullMQ: ${at >= 0 ? text.slice(0, at) : text}`);
}

/** Give errors of this module's classes their real prototype (the protocol only knows the core's). */
function reviveOwn(err: unknown, s: SerializedError): unknown {
  const C = s.className !== undefined ? OWN_CLASSES[s.className] : undefined;
  if (C !== undefined && err instanceof Error && !(err instanceof C)) Object.setPrototypeOf(err, C.prototype);
  return err;
}

const EXT = /\.(m|c)?(j|t)s$/;

/**
 * The registered name of a module: its file name without the extension (`/app/dist/tasks.js` →
 * `tasks`). Workers register each `--module` under this name unless given `name=path`. @internal
 */
export function moduleNameOf(url: string): string {
  let file: string;
  try {
    file = url.startsWith("file:") ? basename(fileURLToPath(url)) : basename(url);
  } catch {
    // not a valid file: URL (a worker's own name for it): its last segment names it all the same
    file = basename(url);
  }
  return file.replace(EXT, "");
}

/** Validate a job's data; returns an error message, or null if it is well-formed. @internal */
export function checkJobData(d: unknown): string | null {
  if (d === null || typeof d !== "object") return `expected an object, got ${describe(d)}`;
  const j = d as Record<string, unknown>;
  if (j.v !== WIRE_VERSION && j.v !== WIRE_VERSION_CHUNK) {
    return `unsupported job format version ${describe(j.v)} (this worker reads ${WIRE_VERSION} and ${WIRE_VERSION_CHUNK})`;
  }
  if (typeof j.m !== "string" || typeof j.f !== "string") return "the job names no module (m) or function (f)";
  if (typeof j.a !== "string") return "the job carries no encoded arguments (a)";
  if (j.t !== undefined && (typeof j.t !== "number" || !(j.t > 0))) return `invalid timeout ${describe(j.t)}`;
  return null;
}
