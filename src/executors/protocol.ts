/**
 * The wire protocol between a pool (main side) and its workers (threads or child processes).
 *
 * ## Approach
 * Messages are plain arrays and objects that both transports copy with the structured-clone algorithm
 * (`postMessage` for threads, `serialization: "advanced"` IPC for child processes), so both backends
 * speak exactly the same protocol.
 *
 * Throughput comes from *batching*: one `jobs` message carries many jobs (flattened
 * `[seq, fnId, args, flags, ...]`), and one `results` message carries many results
 * (`[seq, kind, value, ...]`). Task functions are *interned*: the first job that uses a function carries
 * its definition (`defs`), later jobs only its small integer id.
 *
 * Errors do not survive structured cloning intact (Node drops `cause`, custom classes become `Error`),
 * so they travel as {@link SerializedError} records and are rebuilt on the other side with their class
 * name, message, stack, `cause` and own enumerable data properties (`code`, `errno`...).
 *
 * A worker calls back into the loop (`callLoop`, see `portal.ts`) with a `call` message on the same
 * channel, naming the running job; the answer is a `reply` message, or, for a `callLoopSync` of a thread,
 * a message on the worker's own reply port, read synchronously while the thread blocks.
 *
 * Rejected alternatives: JSON (loses `Map`, `Date`, typed arrays, `undefined`, `BigInt`); one message
 * per job (the per-message wake-up costs 2-3 us, more than a tiny task itself).
 *
 * @module
 */
import type { MessagePort } from "node:worker_threads";
import * as errors from "../core/errors.js";

/** How a worker finds the function of a job. @internal */
export type FnSpec =
  | { kind: "module"; url: string; name: string }
  | { kind: "source"; source: string; name: string };

/** Job flags. @internal */
export const JobFlags = {
  /** Report the start of this job (it has a timeout that counts from its start). */
  ReportStart: 1,
  /** `args` is a list of argument lists: run the function once per entry, return the list (`map`'s chunks). */
  Chunk: 2,
} as const;

/** Result kinds in a `results` message. @internal */
export const ResultKind = {
  Ok: 0,
  Error: 1,
  /** The job was cancelled before it started; it never ran. */
  Skipped: 2,
} as const;

/** Why the pool aborts a running job: the `code` of an `abort` message, and control word `CTL_ABORT + 1`. @internal */
export const AbortCode = {
  /** The caller cancelled the job's future: the task sees a `CancelledError`. */
  Cancel: 1,
  /** The job ran past its timeout: the task sees a `TimeoutError`. */
  Timeout: 2,
} as const;
/** @internal */
export type AbortCode = (typeof AbortCode)[keyof typeof AbortCode];

/**
 * The answer to a portal call (`callLoop`): its result (`ok`), or its error as a {@link SerializedError}.
 * @internal
 */
export type PortalReply =
  | { t: "reply"; id: number; ok: true; v: unknown }
  | { t: "reply"; id: number; ok: false; v: SerializedError };

/** Messages from the pool to a worker. @internal */
export type ToWorker =
  | { t: "jobs"; defs?: Array<[number, FnSpec]>; jobs: unknown[] }
  | { t: "abort"; seq: number; code: AbortCode }
  | PortalReply
  | { t: "exit" };

/**
 * A portal call (`callLoop`/`callLoopSync`) made by the running job `seq` of the worker: run the portal
 * function `name` on the job's loop. `id` numbers the worker's calls; `sync`: the worker blocks until the
 * reply, which then goes to its reply port (threads). @internal
 */
export interface PortalCallMessage {
  t: "call";
  seq: number;
  id: number;
  name: string;
  args: unknown[];
  sync: boolean;
}

/** Messages from a worker to the pool. @internal */
export type FromWorker =
  | { t: "ready" }
  | { t: "initFailed"; error: SerializedError }
  | { t: "start"; seq: number }
  | { t: "results"; r: unknown[] }
  | { t: "out"; fd: 1 | 2; s: string }
  | PortalCallMessage
  /**
   * An uncaught error is about to end the worker: `seq` is the job it was running (0: none, e.g. a timer
   * a finished job left behind), so the pool fails that job only and sends the others again.
   */
  | { t: "fatal"; error: SerializedError; seq?: number };

/** What a worker receives at start-up (`workerData`, or the first IPC message of a child). @internal */
export interface WorkerInit {
  name: string;
  /** Shared control words (threads only): see `worker-entry.ts`. */
  control: SharedArrayBuffer | null;
  initializer: FnSpec | null;
  initargs: unknown[];
  /** The names of the pool's portal functions (`callLoop`); empty when it has none. */
  portal: string[];
  /**
   * The worker's end of its reply channel for `callLoopSync` (threads with portal functions); the pool
   * notifies control word {@link CTL_REPLY} after each reply. Null in child processes.
   */
  replyPort: MessagePort | null;
}

/** Ring size of the per-job slots in the control buffer; bounds the pipeline depth. @internal */
export const SLOT_RING = 256;
/** Index of the abort word in the control buffer (the seq of the job to abort). @internal */
export const CTL_ABORT = 0;
/**
 * Index of the reply word in the control buffer: the pool adds 1 and notifies it after posting a
 * `callLoopSync` reply on the worker's reply port. @internal
 */
export const CTL_REPLY = 2;
/** Index of the first job slot. @internal */
export const CTL_SLOTS = 3;

/**
 * The error of a portal call whose name is not one of the pool's portal functions (both sides check:
 * the worker before sending, the pool when serving). @internal
 * @param what the call, for the message: `callLoop("name")`
 */
export function unknownPortalFunction(what: string, name: string, names: readonly string[]): TypeError {
  if (names.length === 0) {
    return new TypeError(
      `${what}: the executor has no portal functions; give the functions its workers may call on the loop as ` +
        `its portal option: new ThreadPoolExecutor({ portal: { ${/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name)}: (...args) => ... } })`,
    );
  }
  return new TypeError(`${what}: the executor has no portal function named ${JSON.stringify(name)} (known: ${names.join(", ")})`);
}

/** An error as it crosses the boundary. @internal */
export interface SerializedError {
  /** 1 for an Error-like record; 0 for a thrown non-error value carried in `value`. */
  e: 0 | 1;
  value?: unknown;
  className?: string;
  name?: string;
  message?: string;
  stack?: string;
  cause?: SerializedError;
  hasCause?: boolean;
  props?: Record<string, unknown>;
  /** AggregateError's children. */
  errors?: SerializedError[];
}

/** Serialize a thrown value; never throws. @internal */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error) && !(err !== null && typeof err === "object" && "message" in err && "stack" in err)) {
    try {
      return { e: 0, value: structuredClone(err) };
    } catch {
      // not cloneable: the value's text is what can cross
      return { e: 0, value: String(err) };
    }
  }
  const e = err as Error & { cause?: unknown; errors?: unknown };
  const out: SerializedError = {
    e: 1,
    className: (e.constructor && e.constructor.name) || "Error",
    name: String(e.name),
    message: String(e.message),
    stack: typeof e.stack === "string" ? e.stack : undefined,
  };
  if ("cause" in e && depth < 8) {
    out.hasCause = true;
    out.cause = serializeError(e.cause, depth + 1);
  }
  if (Array.isArray(e.errors) && depth < 8) out.errors = e.errors.map((x) => serializeError(x, depth + 1));
  const props: Record<string, unknown> = {};
  let any = false;
  for (const k of Object.keys(e)) {
    if (k === "name" || k === "message" || k === "stack" || k === "cause" || k === "errors") continue;
    try {
      props[k] = structuredClone((e as unknown as Record<string, unknown>)[k]);
      any = true;
    } catch {
      // Not cloneable: the property is dropped; the error still crosses with its class, message,
      // stack and the properties that can.
    }
  }
  if (any) out.props = props;
  return out;
}

const BUILTIN: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Classes made up for error class names this side does not know, so `err.constructor.name` survives. */
const synthesized = new Map<string, new (message?: string) => Error>();

function classFor(className: string): new (message?: string) => Error {
  const b = BUILTIN[className];
  if (b !== undefined) return b;
  const ours = (errors as unknown as Record<string, unknown>)[className];
  if (typeof ours === "function" && (ours as { prototype?: unknown }).prototype instanceof Error) {
    return ours as new (message?: string) => Error;
  }
  let c = synthesized.get(className);
  if (c === undefined) {
    // A named subclass of Error: `{ [name]: class extends Error {} }[name]` gives the class that name.
    c = { [className]: class extends Error {} }[className]!;
    synthesized.set(className, c);
  }
  return c;
}

/** Rebuild a thrown value serialized by {@link serializeError}. @internal */
export function deserializeError(s: SerializedError): unknown {
  if (s.e === 0) return s.value;
  const C = s.className === "AggregateError" ? null : classFor(s.className ?? "Error");
  let err: Error;
  if (C === null) {
    err = new AggregateError((s.errors ?? []).map(deserializeError), s.message);
  } else {
    // (an ExceptionGroup is made without its constructor, as the other classes: the message that
    // crossed already counts its sub-errors, and `rawMessage` comes back with the data properties; its
    // `exceptions` reads the `errors` rebuilt here, each rebuilt the same way)
    err = Object.create(C.prototype) as Error;
    Object.defineProperty(err, "message", { value: s.message ?? "", writable: true, configurable: true, enumerable: false });
    if (s.errors !== undefined || C.prototype instanceof AggregateError) {
      Object.defineProperty(err, "errors", { value: (s.errors ?? []).map(deserializeError), writable: true, configurable: true, enumerable: false });
    }
  }
  if (s.name !== undefined && s.name !== err.name) {
    Object.defineProperty(err, "name", { value: s.name, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(err, "stack", { value: s.stack ?? `${s.name}: ${s.message}`, writable: true, configurable: true, enumerable: false });
  if (s.hasCause && s.cause !== undefined) {
    Object.defineProperty(err, "cause", { value: deserializeError(s.cause), writable: true, configurable: true, enumerable: false });
  }
  if (s.props !== undefined) Object.assign(err, s.props);
  return err;
}
