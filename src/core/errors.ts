/**
 * Every error class of asyncio-ts, in one place.
 *
 * Names follow CPython's asyncio (`CancelledError`, `InvalidStateError`, `QueueEmpty`...). Each class
 * sets `name` so that `String(err)` and stack traces read like Python's tracebacks, and so that errors
 * keep their identity when they cross a worker boundary.
 *
 * @module
 */
import { describe } from "./check.js";

/** Base of the errors that asyncio-ts defines itself; not thrown directly. */
export class AsyncioError extends Error {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Thrown into a task at its current await when the task is cancelled.
 *
 * In Python it derives from `BaseException` so that `except Exception` does not swallow it. JavaScript's
 * `catch` catches everything, so code that catches broadly must rethrow it:
 *
 * @example
 * ```ts
 * import { CancelledError, sleep } from "asyncio-ts";
 * try {
 *   await sleep(1000);
 * } catch (err) {
 *   if (err instanceof CancelledError) throw err; // let cancellation through
 *   console.log("sleep failed", err);
 * }
 * ```
 */
export class CancelledError extends AsyncioError {}

/**
 * Raised by `timeout()`, `waitFor()` and `wait()`-style helpers when their deadline passes. Its message
 * says after how many milliseconds (CPython's is empty): `Timed out after 100 ms`; below 10 ms it asks
 * whether seconds were meant (`timeout(0.5, ...)`: "for half a second write timeout(500, ...)").
 *
 * @example
 * ```ts
 * import { run, waitFor, sleep, TimeoutError } from "asyncio-ts";
 * await run(async () => {
 *   try { await waitFor(sleep(1000), 10); } catch (e) { console.log(e instanceof TimeoutError); } // true
 * }, { virtualTime: true });
 * ```
 */
export class TimeoutError extends AsyncioError {}

/**
 * A number of milliseconds for a message: as given when an integer, else rounded to a thousandth of a
 * millisecond (a loop time read from a real clock has many digits).
 * @internal
 */
export function fmtMs(ms: number): string {
  if (Number.isInteger(ms) || !Number.isFinite(ms)) return String(ms);
  const r = Math.round(ms * 1000) / 1000;
  return r === 0 ? String(Number(ms.toPrecision(3))) : String(r);
}

/**
 * The Python habit a time limit below 10 ms suggests (asyncio counts seconds, asyncio-ts milliseconds):
 * `: asyncio-ts counts milliseconds; for half a second write timeout(500, ...)`, where `call` writes the
 * call with a given delay (`(d) => \`timeout(${d}, ...)\``), `also` follows "milliseconds" (`, loop.time()
 * too`); `""` for 0 and for 10 ms or more.
 * @internal
 */
export function secondsHint(ms: number, call: (ms: string) => string, also = ""): string {
  if (!(ms > 0 && ms < 10)) return "";
  ms = Number(fmtMs(ms));
  const s = ms === 0.5 ? "half a second" : ms === 1 ? "1 second" : `${fmtMs(ms)} seconds`;
  return `: asyncio-ts counts milliseconds${also}; for ${s} write ${call(String(Number((ms * 1000).toPrecision(12))))}`;
}

/**
 * The message of the `TimeoutError` of a time limit of `ms` milliseconds (CPython's is empty):
 * `Timed out after 100 ms`; below 10 ms, with the question whether seconds were meant:
 * `Timed out after 0.5 ms (timeout(0.5, ...): asyncio-ts counts milliseconds; for half a second write
 * timeout(500, ...))`.
 * @internal
 */
export function timedOutMessage(ms: number, call: (ms: string) => string): string {
  const hint = secondsHint(ms, call);
  return `Timed out after ${fmtMs(ms)} ms${hint === "" ? "" : ` (${call(fmtMs(ms))}${hint})`}`;
}

/**
 * An operation is not allowed in the object's current state (a result read before it is ready, a result
 * set twice).
 *
 * @example
 * ```ts
 * import { run, getRunningLoop, InvalidStateError } from "asyncio-ts";
 * await run(async () => {
 *   const f = getRunningLoop().createFuture<number>();
 *   try { f.result(); } catch (e) { console.log(e instanceof InvalidStateError); } // true
 * });
 * ```
 */
export class InvalidStateError extends AsyncioError {}

/**
 * Misuse of the event loop: `run()` inside a running loop, no running loop where one is needed, a
 * closed loop. (CPython raises `RuntimeError` for these.)
 *
 * @example
 * ```ts
 * import { getRunningLoop, RuntimeError } from "asyncio-ts";
 * try { getRunningLoop(); } catch (e) { console.log(e instanceof RuntimeError); } // true
 * ```
 */
export class RuntimeError extends AsyncioError {}

/**
 * Several errors at once, as raised by task groups (Python's `ExceptionGroup`, PEP 654). It is an
 * `AggregateError`, so `errors` holds the children; `exceptions` is the same array under Python's name.
 * Its `message` lists the children (`name: message`, nested groups indented), so that a test runner
 * shows the failing assertion inside a task group; `rawMessage` is the message given to it.
 *
 * `split(match)` and `subgroup(match)` take an error class or a predicate and recurse into nested
 * groups, keeping their structure; the parts are made with `derive(errors)` (override it in a subclass
 * to keep the subclass), and keep the group's `cause`. As in CPython, a group that matches as a whole is
 * returned itself; every other part is a new group.
 *
 * @example
 * ```ts
 * import { ExceptionGroup } from "asyncio-ts";
 * const g = new ExceptionGroup("unhandled errors in a TaskGroup", [new Error("a"), new TypeError("b")]);
 * console.log(g.rawMessage, g.exceptions.length); // "unhandled errors in a TaskGroup" 2
 * console.log(g.message.split("\n")[0]); // "unhandled errors in a TaskGroup (2 sub-exceptions)"
 * const [types, rest] = g.split(TypeError);
 * console.log(types?.exceptions.length, rest?.exceptions.length); // 1 1
 * console.log(g.subgroup((e) => e instanceof Error && e.message === "a")?.exceptions.length); // 1
 * ```
 */
export class ExceptionGroup extends AggregateError {
  /** The message given to the constructor, without the count and the list of sub-errors. */
  readonly rawMessage: string;
  constructor(message: string, errors: readonly unknown[], options?: { cause?: unknown }) {
    if (typeof message !== "string") {
      throw new TypeError(`Expected message to be a string, got ${describe(message)}`);
    }
    if (!Array.isArray(errors) || errors.length === 0) {
      throw new TypeError(`Expected errors to be a non-empty array, got ${describe(errors)}`);
    }
    super(errors, groupMessage(message, errors), options);
    this.name = new.target.name;
    this.rawMessage = message;
  }

  /** The errors of the group (Python's name for `errors`). */
  get exceptions(): unknown[] {
    return this.errors as unknown[];
  }

  /**
   * A group like this one (same message, same `cause`) holding `errors` instead: what `split` and
   * `subgroup` build their parts with. Python's `derive`.
   */
  derive(errors: readonly unknown[]): ExceptionGroup {
    return new ExceptionGroup(this.rawMessage, errors, this.cause === undefined ? undefined : { cause: this.cause });
  }

  /**
   * Split the group by an error class or a predicate: `[matching, rest]`, each a group of the same shape
   * (nested groups split in turn) or `null` when empty. A group that matches as a whole goes whole.
   */
  split(match: ErrorMatch): [ExceptionGroup | null, ExceptionGroup | null] {
    const test = matcher(match);
    if (test(this)) return [this, null];
    const yes: unknown[] = [];
    const no: unknown[] = [];
    for (const e of this.exceptions) {
      if (e instanceof ExceptionGroup) {
        const [a, b] = e.split(test);
        if (a !== null) yes.push(a);
        if (b !== null) no.push(b);
      } else if (test(e)) yes.push(e);
      else no.push(e);
    }
    return [yes.length === 0 ? null : this.derive(yes), no.length === 0 ? null : this.derive(no)];
  }

  /** The part of the group that matches (see `split`), or `null`. Python's `subgroup`. */
  subgroup(match: ErrorMatch): ExceptionGroup | null {
    return this.split(match)[0];
  }

}

/** An error class or a predicate, for `ExceptionGroup.split` and `subgroup`. */
export type ErrorMatch = (abstract new (...args: any[]) => unknown) | ((e: unknown) => boolean);

/** The test of an `ErrorMatch`: an error class (`Error` or a subclass of it) tests `instanceof`, anything else is called. */
function matcher(match: ErrorMatch): (e: unknown) => boolean {
  if (typeof match !== "function") throw new TypeError(`Expected match to be an error class or a predicate, got ${describe(match)}`);
  const isClass = match === Error || (match as { prototype?: unknown }).prototype instanceof Error;
  return isClass ? (e: unknown) => e instanceof (match as abstract new (...args: any[]) => unknown) : (match as (e: unknown) => boolean);
}

/** The sub-errors listed under a group's message (at most this many; then how many more). */
const LISTED = 10;

/** `msg (n sub-exceptions)`, then a line per sub-error, nested groups indented. */
function groupMessage(message: string, errors: readonly unknown[]): string {
  const n = errors.length;
  const lines = [`${message} (${n} sub-exception${n === 1 ? "" : "s"})`];
  listErrors(errors, "  ", lines);
  return lines.join("\n");
}

function listErrors(errors: readonly unknown[], indent: string, lines: string[]): void {
  errors.slice(0, LISTED).forEach((e, i) => {
    if (e instanceof ExceptionGroup) {
      lines.push(`${indent}[${i + 1}] ${e.name}: ${e.rawMessage} (${e.exceptions.length} sub-exception${e.exceptions.length === 1 ? "" : "s"})`);
      listErrors(e.exceptions, indent + "    ", lines);
    } else lines.push(`${indent}[${i + 1}] ${oneLine(e)}`);
  });
  if (errors.length > LISTED) lines.push(`${indent}... and ${errors.length - LISTED} more`);
}

/** An error as one line, `Name: first line of the message`, for messages that list errors. @internal */
export function oneLine(e: unknown): string {
  try {
    if (e instanceof Error) return `${e.name}: ${e.message.split("\n")[0]}`;
    return describe(e);
  } catch {
    return "(an error that cannot be read)";
  }
}

/**
 * The program was interrupted (Ctrl-C, SIGINT) while `run()` was running: `run()` cancelled the main
 * task, let it clean up, then threw this (CPython raises `KeyboardInterrupt`).
 *
 * @example
 * ```ts no-run
 * import { run, sleep, KeyboardInterrupt } from "asyncio-ts";
 * try {
 *   await run(() => sleep(60_000)); // press Ctrl-C
 * } catch (e) {
 *   if (e instanceof KeyboardInterrupt) process.exitCode = 130;
 * }
 * ```
 */
export class KeyboardInterrupt extends AsyncioError {}

/** `Queue.getNowait()` on an empty queue. @example `try { q.getNowait() } catch (e) { e instanceof QueueEmpty }` */
export class QueueEmpty extends AsyncioError {}
/** `Queue.putNowait()` on a full queue. @example `try { q.putNowait(1) } catch (e) { e instanceof QueueFull }` */
export class QueueFull extends AsyncioError {}
/** A put or get on a queue that was shut down (Python 3.13). @example `q.shutdown(); await q.put(1) // throws QueueShutDown` */
export class QueueShutDown extends AsyncioError {}
/**
 * The loop can no longer make progress: every task waits on something that nothing will ever complete.
 * Thrown by `run()` / `runUntilComplete()` after the loop reported the tasks and what each waits on (the
 * same report is the error's message) and cancelled them.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop, DeadlockError } from "asyncio-ts";
 * try {
 *   await run(() => getRunningLoop().createFuture(), { virtualTime: true, deadlockTimeout: 10 });
 * } catch (e) {
 *   console.log(e instanceof DeadlockError); // true
 * }
 * ```
 */
export class DeadlockError extends RuntimeError {}

/**
 * A barrier was aborted or reset while tasks waited on it. A `RuntimeError`, as in CPython (so a
 * `catch` for `RuntimeError` sees it too).
 * @example `barrier.abort() // waiters throw BrokenBarrierError`
 */
export class BrokenBarrierError extends RuntimeError {}

/**
 * An executor cannot run tasks any more (CPython's `concurrent.futures.BrokenExecutor`): a worker
 * initializer failed, or a worker died while starting. Its pending tasks fail with it, and `submit`
 * throws it.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor, BrokenExecutor } from "asyncio-ts";
 * const pool = new ThreadPoolExecutor({ maxWorkers: 1, initializer: () => { throw new Error("no config"); } });
 * try { await pool.submit(() => 1); } catch (e) { console.log(e instanceof BrokenExecutor); } // true
 * await pool.shutdown();
 * ```
 */
export class BrokenExecutor extends AsyncioError {}
/** A `ThreadPoolExecutor` is broken (CPython's `BrokenThreadPool`). @example `e instanceof BrokenThreadPool` */
export class BrokenThreadPool extends BrokenExecutor {}
/** A `ProcessPoolExecutor` is broken (CPython's `BrokenProcessPool`). @example `e instanceof BrokenProcessPool` */
export class BrokenProcessPool extends BrokenExecutor {}

/**
 * The worker running a task died under it: an uncaught error at the worker's top level, a call to
 * `process.exit`, running out of memory under `resourceLimits`, or a kill. The message names the
 * worker and the cause (`cause` holds the worker's error when there is one). Only that task fails; the
 * worker is replaced and the other tasks go on.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor, BrokenWorkerError } from "asyncio-ts";
 * await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
 * try { await pool.submit(() => process.exit(3)); } catch (e) { console.log(e instanceof BrokenWorkerError); } // true
 * console.log(await pool.submit(() => "still working")); // "still working"
 * ```
 */
export class BrokenWorkerError extends AsyncioError {}

/**
 * A `...Nowait()` operation could not complete without waiting (Trio's `WouldBlock`), e.g.
 * `CapacityLimiter.acquireNowait()` with no token free.
 *
 * @example
 * ```ts
 * import { CapacityLimiter, WouldBlock } from "asyncio-ts";
 * const limiter = new CapacityLimiter(1);
 * limiter.acquireOnBehalfOfNowait("a");
 * try { limiter.acquireOnBehalfOfNowait("b"); } catch (e) { console.log(e instanceof WouldBlock); } // true
 * ```
 */
export class WouldBlock extends AsyncioError {}

// ------------------------------------------------------------------------------ the layers' errors
// The errors that streams, subprocesses and memory channels raise live here, beside the kernel's own, as
// CPython keeps `IncompleteReadError` and `LimitOverrunError` in `asyncio.exceptions` (and Trio its
// channel errors in its core): an executor rebuilds an error that crosses from a worker by its class
// name, from this module's classes (`executors/protocol.ts`), so these arrive as themselves, not as
// look-alikes with the same name.

/**
 * The stream ended before the bytes asked for arrived (`readexactly`, `readuntil`); what did arrive is
 * in `partial` (CPython: a subclass of `EOFError`).
 *
 * @example
 * ```ts
 * import { IncompleteReadError, StreamReader, run } from "asyncio-ts";
 * await run(async () => {
 *   const r = new StreamReader();
 *   r.feedData(Buffer.from("ab"));
 *   r.feedEof();
 *   try { await r.readexactly(5); } catch (e) { if (e instanceof IncompleteReadError) console.log(e.partial.toString(), e.expected); } // ab 5
 * });
 * ```
 */
export class IncompleteReadError extends AsyncioError {
  /** The bytes read before the end of the stream. */
  readonly partial: Buffer;
  /** How many bytes were asked for (`null`: up to a separator). */
  readonly expected: number | null;
  constructor(partial: Buffer, expected: number | null) {
    super(`${partial.length} bytes read on a total of ${expected === null ? "undefined" : expected} expected bytes`);
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * A line or a chunk up to a separator is longer than the reader's `limit`. `consumed` says how many bytes
 * are to be consumed (CPython's `LimitOverrunError`).
 *
 * @example
 * ```ts
 * import { LimitOverrunError, StreamReader, run } from "asyncio-ts";
 * await run(async () => {
 *   const r = new StreamReader({ limit: 4 });
 *   r.feedData(Buffer.from("0123456789\n"));
 *   try { await r.readuntil("\n"); } catch (e) { if (e instanceof LimitOverrunError) console.log(e.message); }
 * });
 * ```
 */
export class LimitOverrunError extends AsyncioError {
  /** The number of bytes to be consumed. */
  readonly consumed: number;
  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }
}

/**
 * The connection was lost while data waited to be written (`StreamWriter.drain()`); Python's builtin
 * `ConnectionResetError`. `code` is `"ECONNRESET"`, as Node's own error of that kind.
 *
 * @example
 * ```ts
 * import { ConnectionResetError } from "asyncio-ts";
 * console.log(new ConnectionResetError("Connection lost").code); // ECONNRESET
 * ```
 */
export class ConnectionResetError extends AsyncioError {
  readonly code = "ECONNRESET";
}

/**
 * The process a signal was sent to is gone: it exited and its pipes closed (CPython's
 * `ProcessLookupError`, an `OSError` for `ESRCH`). `code` is `"ESRCH"`, as Node's own error of that kind.
 *
 * @example
 * ```ts
 * import { createSubprocessExec, ProcessLookupError, run } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessExec(process.execPath, ["-e", ""]);
 *   await proc.wait();
 *   try {
 *     proc.kill();
 *   } catch (e) {
 *     if (e instanceof ProcessLookupError) console.log(e.code); // ESRCH
 *   }
 * });
 * ```
 */
export class ProcessLookupError extends AsyncioError {
  readonly code = "ESRCH";
}

/**
 * `receive()` on a channel whose send ends are all closed and whose buffer is drained: no value will
 * come (Trio's `EndOfChannel`). `for await` over a receive end ends quietly at this point.
 *
 * @example
 * ```ts
 * import { openMemoryChannel, EndOfChannel } from "asyncio-ts";
 * const [send, receive] = openMemoryChannel<number>(1);
 * send.sendNowait(1);
 * send.close();
 * console.log(receive.receiveNowait()); // 1
 * try { receive.receiveNowait(); } catch (e) { console.log(e instanceof EndOfChannel); } // true
 * ```
 */
export class EndOfChannel extends AsyncioError {}

/**
 * `send()` on a channel whose receive ends are all closed: nobody will receive the value (Trio's
 * `BrokenResourceError`). The values still buffered when the last receive end closed were dropped.
 *
 * @example
 * ```ts
 * import { openMemoryChannel, BrokenResourceError } from "asyncio-ts";
 * const [send, receive] = openMemoryChannel<number>(1);
 * receive.close();
 * try { send.sendNowait(1); } catch (e) { console.log(e instanceof BrokenResourceError); } // true
 * ```
 */
export class BrokenResourceError extends AsyncioError {}

/**
 * An end (or a `Broadcast`) used after it was closed: `send`, `receive`, `clone` on a closed end, or a
 * wait in progress on an end that another task closed (Trio's `ClosedResourceError`).
 *
 * @example
 * ```ts
 * import { openMemoryChannel, ClosedResourceError } from "asyncio-ts";
 * const [send] = openMemoryChannel<number>(1);
 * send.close();
 * try { send.sendNowait(1); } catch (e) { console.log(e instanceof ClosedResourceError); } // true
 * ```
 */
export class ClosedResourceError extends AsyncioError {}
