/**
 * The errors of the streams API: CPython's `asyncio.IncompleteReadError` and `asyncio.LimitOverrunError`,
 * and the `ConnectionResetError` that `drain()` raises when the connection is gone.
 *
 * @module
 */
import { AsyncioError } from "../core/index.js";

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
