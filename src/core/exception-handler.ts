/**
 * What a loop's exception handler receives, and the default handler (CPython's
 * `loop.default_exception_handler`): errors that have nowhere else to go (a callback that threw, a failure
 * nobody retrieved, a deadlock) are reported to `loop.callExceptionHandler`, which calls the handler set
 * with `setExceptionHandler` or this one.
 *
 * ## Approach
 * As CPython's: a context (a dict there, an object here) with a message and, when there is one, the
 * exception, the future or task, the handle, and any other key; the default prints the message, every
 * other key (`key: repr(value)`, sorted), and the exception's stack, to stderr (CPython logs them through
 * `logging`, whose default also goes to stderr).
 *
 * Anything can be thrown in JavaScript, including values `String()` cannot convert (an object without a
 * prototype, one whose `toString` throws, an error whose `stack` getter throws). Reporting such a value
 * must not throw in turn (the process would crash from inside the loop): every user value is shown
 * through `reprValue` / `errorText`, which never throw and fall back to CPython's words
 * `<exception str() failed>`; and the default handler guards itself as CPython's `call_exception_handler`
 * guards it ("Exception in default exception handler", base_events.py). Rejected: `String(value)` (throws
 * for those values, and says `[object Object]` for the rest), and `JSON.stringify` (throws on cycles and
 * BigInt, drops undefined).
 *
 * `reprValue` is CPython's `reprlib.repr` for futures' reprs (`<Future finished result='x'>`): readable
 * (`util.inspect`, read from `node:util` at the first call, not at import) and bounded (a long string is
 * cut in its middle as reprlib cuts it, long arrays show 6 items, nesting 2 levels).
 *
 * @module
 */
import type { Future } from "./future.js";
import type { Handle } from "./handles.js";
import type { Task } from "./task.js";
import type { EventLoop } from "./event-loop.js";

/** What the exception handler receives (CPython's context dict). */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  future?: Future<unknown>;
  task?: Task<unknown>;
  handle?: Handle;
  [key: string]: unknown;
}

/** A loop's exception handler. */
export type ExceptionHandler = (loop: EventLoop, context: ExceptionContext) => void;

/** CPython's words for a value whose `str()` raised (`traceback.TracebackException`). */
const STR_FAILED = "<exception str() failed>";
/** reprlib's `maxstring`: a string longer than this is cut in its middle */
const MAX_STRING = 30;
/** the longest repr of any other value (reprlib's `maxother` is 30; inspect's forms are wordier) */
const MAX_OTHER = 80;

type Inspect = (value: unknown, options: object) => string;
/** Invariant: null until the first `reprValue` of a non-string: then `util.inspect`. */
let inspectFn: Inspect | null = null;
const INSPECT_OPTIONS = Object.freeze({ depth: 2, maxArrayLength: 6, maxStringLength: MAX_STRING, breakLength: Infinity, compact: true });

/** Cut `s` in its middle to `max` characters, as `reprlib.Repr.repr_str` does (`'yyy...yyy'`). */
function cutMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  const i = Math.max(0, Math.floor((max - 3) / 2));
  const j = Math.max(0, max - 3 - i);
  return s.slice(0, i) + "..." + s.slice(s.length - j);
}

/**
 * A value, readable and bounded, for reprs and reports (CPython's `reprlib.repr`): `'x'`, `{ a: 1 }`,
 * `[ 0, 1, 2, 3, 4, 5, ... 94 more items ]`, `TypeError: bad`. Never throws: `<exception str() failed>`
 * when nothing about the value can be read.
 * @internal
 */
export function reprValue(value: unknown): string {
  try {
    if (typeof value === "string") {
      // (reprlib's `repr_str`: quote the start; if too long, quote the two ends and cut between them)
      let s = quote(value.slice(0, MAX_STRING));
      if (s.length > MAX_STRING) {
        const i = Math.floor((MAX_STRING - 3) / 2);
        const j = MAX_STRING - 3 - i;
        s = quote(value.slice(0, i) + value.slice(value.length - j));
        s = s.slice(0, i) + "..." + s.slice(s.length - j);
      }
      return s;
    }
    if (value instanceof Error) return cutMiddle(errorHeadline(value), MAX_OTHER);
    inspectFn ??= process.getBuiltinModule("node:util").inspect as Inspect;
    return cutMiddle(inspectFn(value, INSPECT_OPTIONS), MAX_OTHER);
  } catch {
    return STR_FAILED;
  }
}

/** A string quoted as `util.inspect` quotes it (`'x'`, `"it's"`). */
function quote(s: string): string {
  inspectFn ??= process.getBuiltinModule("node:util").inspect as Inspect;
  return inspectFn(s, { maxStringLength: Infinity });
}

/** `TypeError: bad`; throws if the error's properties cannot be read. */
function errorHeadline(e: Error): string {
  const message = String(e.message);
  const name = String(e.name);
  return message === "" ? name : `${name}: ${message}`;
}

/**
 * An exception as the default handler prints it: an error's stack (else `name: message`), any other
 * value inspected in full. Never throws: `<exception str() failed>` when nothing can be read.
 * @internal
 */
export function errorText(exc: unknown): string {
  if (exc instanceof Error) {
    try {
      const stack = exc.stack;
      if (typeof stack === "string" && stack !== "") return stack;
    } catch {
      // (a stack getter that throws: fall back to name and message)
    }
    try {
      return errorHeadline(exc);
    } catch {
      return STR_FAILED;
    }
  }
  try {
    if (typeof exc === "string") return exc;
    inspectFn ??= process.getBuiltinModule("node:util").inspect as Inspect;
    return inspectFn(exc, { depth: 2, breakLength: Infinity });
  } catch {
    return STR_FAILED;
  }
}

/**
 * Print an exception context the way CPython's default handler logs it (Lib/asyncio/base_events.py:1810,
 * `default_exception_handler`, 3.13): the message (`Unhandled exception in event loop` when there is none),
 * then every other key in sorted order as `key: repr(value)` (a task, a future or a handle by its repr,
 * another value through `reprValue`, a context object, as the "Unhandled error in exception handler"
 * report carries, key by key), then the exception's stack. Two departures: a key whose value is
 * `undefined` is left out (in JavaScript that is an absent optional key, where CPython's `None` is a
 * value), and `future` is left out when it is the `task` itself (the project's reports of a task carry
 * both). `name`, the stand-in for the task in a report made after the task was collected
 * (unretrieved.ts), prints as `task: <name>` when there is no task or future. Never throws: a failure
 * while reporting is itself reported, as CPython's `call_exception_handler` reports "Exception in default
 * exception handler" (base_events.py, `call_exception_handler`).
 * @internal
 */
export function defaultExceptionHandler(context: ExceptionContext): void {
  try {
    const message = context.message as unknown;
    // (CPython: `if not message: message = 'Unhandled exception in event loop'`, base_events.py:1827;
    // the other keys: `for key in sorted(context)`, :1842)
    const lines = [message === undefined || message === null || message === "" ? "Unhandled exception in event loop" : String(message)];
    const task = context.task;
    const entries: [string, unknown][] = [];
    for (const key of Object.keys(context)) {
      if (key === "message" || key === "exception") continue;
      const value = context[key];
      if (value === undefined) continue;
      if (key === "future" && value === task) continue;
      if (key === "name" && typeof value === "string" && task === undefined && context.future === undefined) {
        entries.push(["task", value]);
        continue;
      }
      entries.push([key, value]);
    }
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [key, value] of entries) {
      lines.push(`${key}: ${key === "task" && typeof value === "string" ? value : key === "context" ? reprContext(value) : reprOf(value)}`);
    }
    const exc = context.exception;
    if (exc !== undefined) lines.push(errorText(exc));
    console.error(lines.join("\n"));
  } catch (e) {
    try {
      console.error(`Exception in default exception handler\n${errorText(e)}`);
    } catch {
      // (stderr itself failed: nothing is left to report with)
    }
  }
}

/**
 * A value of a context, as CPython's `repr`: ours (a future, a task, a handle) by their `_repr()`, others
 * through `reprValue`. A `_repr` that throws is not caught here: the default handler reports it as
 * CPython's reports a failing `repr` ("Exception in default exception handler").
 */
function reprOf(value: unknown): string {
  if (typeof value === "object" && value !== null && typeof (value as { _repr?: unknown })._repr === "function") {
    return String((value as { _repr(): unknown })._repr());
  }
  return reprValue(value);
}

/** A context given to a handler that threw, key by key (`{ message: 'given', exception: TypeError: orig }`). */
function reprContext(value: unknown): string {
  if (typeof value !== "object" || value === null) return reprOf(value);
  const parts = Object.keys(value).map((k) => `${k}: ${reprOf((value as Record<string, unknown>)[k])}`);
  return parts.length === 0 ? "{}" : `{ ${parts.join(", ")} }`;
}
