/**
 * `StreamReader`: CPython's `asyncio.StreamReader`, the reading half of a connection.
 *
 * ## Approach
 * The socket's `data` events append to a buffer (`feedData`), its end sets the end of file (`feedEof`),
 * its error is kept (`setException`). A read that finds too little in the buffer awaits a future of the
 * loop (`_waitForData`), completed by the next of those events, and looks again: the only suspension is an
 * asyncio-ts future, so a read is a cancellation point like any other await. A cancelled `readline`,
 * `readuntil`, `readexactly` or `read(n)` loses nothing: they take bytes out of the buffer only when they
 * return, so the bytes stay there for the next read (as CPython's). `read()` (n = -1, to the end of the
 * stream) is the exception, as in CPython: it takes block after block out of the buffer as it goes, so
 * cancelled (a timeout) or failed partway it loses the blocks it gathered. Flow control as CPython's:
 * the socket is paused when the buffer holds more than twice `limit`, resumed when a read brings it down
 * to `limit` or waits for more.
 *
 * As CPython's, a read checks the reader's exception on entry only: woken by `feedData` and then failed
 * by `setException` in the same turn (a socket's last bytes, then its error), it returns what it needs
 * from the buffer. One woken with too little waits no more once the exception is set (`_waitForData`
 * raises it), where CPython's would wait for data that cannot come.
 *
 * On virtual time, a read waiting for data from a peer outside the process holds the clock as foreign
 * work (`EventLoopOptions.holdTimeout`: the clock waits that long, in real time, for the bytes before
 * jumping to the next timer); a read from a peer in this process does not (its bytes arrive before the
 * clock may jump: `Connection.peerInProcess`). Either way the loop reports no deadlock while a read
 * waits (the peer may yet write, as on the real clock).
 *
 * Rejected: Node's `readable.read(n)` / async iteration of the socket directly (a cancelled `for await`
 * destroys the stream, and Node has no `readuntil` with a limit); a promise per `data` event (a foreign
 * await: the loop could not see the task suspend, and cancellation would have to reach into Node).
 *
 * @module
 */
import { checkCount, checkOptions, describe, type EventLoop, type Future, getRunningLoop, IncompleteReadError, LimitOverrunError, RuntimeError } from "../core/index.js";
import { ByteBuffer } from "./byte-buffer.js";

/** CPython's `_DEFAULT_LIMIT`: 64 KiB. */
export const DEFAULT_LIMIT = 2 ** 16;

/** What a reader pauses and resumes (a `net.Socket`). @internal */
export interface ReadFlow {
  pause(): unknown;
  resume(): unknown;
  /** The hold a read takes on the loop while it waits (see `Connection.waitHold`). */
  waitHold(): { _release(): void };
}

/**
 * Options of `new StreamReader()`.
 * @example `new StreamReader({ limit: 1024 })`
 */
export interface StreamReaderOptions {
  /** The buffer limit in bytes (default 64 KiB): the longest line `readline` accepts; flow control pauses the socket above twice this. */
  limit?: number;
}

/** A separator: bytes, a string (UTF-8), or several of them (the earliest to end wins, CPython 3.13). */
export type Separator = Uint8Array | string | readonly (Uint8Array | string)[];

const NEWLINE = Buffer.from("\n");
/** `separators(NEWLINE)`, made once: `readline` is the commonest read. */
const NEWLINE_SEPS = [NEWLINE];
/** The waiters' labels, made once. */
const LABELS: Record<string, string> = { read: "StreamReader.read", readuntil: "StreamReader.readuntil", readexactly: "StreamReader.readexactly" };

/**
 * The reading half of a connection (CPython's `asyncio.StreamReader`). Made by `openConnection` and
 * `startServer`; made by hand for tests or protocols of your own (feed it with `feedData`/`feedEof`).
 * Reads return `Buffer`s; iterate with `for await` for lines.
 *
 * @example
 * ```ts
 * import { run, StreamReader } from "asyncio-ts";
 * await run(async () => {
 *   const r = new StreamReader();
 *   r.feedData(Buffer.from("one\ntwo\nrest"));
 *   r.feedEof();
 *   console.log(String(await r.readline())); // "one\n"
 *   for await (const line of r) console.log(JSON.stringify(String(line))); // "two\n", then "rest"
 * });
 * ```
 */
export class StreamReader {
  /** @internal */ readonly _limit: number;
  /** @internal */ readonly _buffer = new ByteBuffer();
  /** @internal */ _eof = false;
  /** Invariant: the future a read awaits for more data or the end, or null when no read waits. */
  private _waiter: Future<void> | null = null;
  private _exception: unknown = undefined;
  private _hasException = false;
  /** @internal the socket, for flow control (null: fed by hand) */
  _transport: ReadFlow | null = null;
  /** Invariant: true when this reader paused `_transport` and has not resumed it. */
  private _paused = false;
  /** @internal */ _loop: EventLoop | null;

  constructor(options?: StreamReaderOptions) {
    const o = checkOptions(options, ["limit"], "new StreamReader()");
    this._limit = o.limit === undefined ? DEFAULT_LIMIT : checkCount(o.limit, "limit", { min: 1 });
    this._loop = null;
  }

  /** The exception set with `setException` (the connection's error), or undefined. */
  exception(): unknown {
    return this._exception;
  }

  /**
   * @internal true once `setException` was called, whatever its value (`undefined` too: anything can be
   * thrown, so `exception() !== undefined` does not say whether the reader failed)
   */
  get _failed(): boolean {
    return this._hasException;
  }

  /**
   * Fail the reader: the read waiting for data and every later one raise `exc` (a read already woken by
   * `feedData` in the same turn still returns what it finds in the buffer, as CPython's).
   */
  setException(exc: unknown): void {
    this._exception = exc;
    this._hasException = true;
    const w = this._waiter;
    if (w !== null) {
      this._waiter = null;
      if (!w.done()) w._relayException(exc); // (any value, undefined too: the reader took it)
    }
  }

  /** @internal the socket this reader pauses and resumes */
  setTransport(transport: ReadFlow): void {
    if (this._transport !== null) throw new RuntimeError("Transport already set");
    this._transport = transport;
  }

  private _wakeup(): void {
    const w = this._waiter;
    if (w !== null) {
      this._waiter = null;
      if (!w.done()) w.setResult(undefined);
    }
  }

  /**
   * The reader that waited on `w` resumed (woken, failed or cancelled): the stream is free for another
   * (only its own waiter: CPython's `finally` clears whichever is set, which can drop a second reader's
   * wait, docs/rosetta.md).
   */
  private _doneWaiting(w: Future<void>): void {
    if (this._waiter === w) this._waiter = null;
  }

  private _maybeResume(): void {
    if (this._paused && this._buffer.length <= this._limit) {
      this._paused = false;
      this._transport?.resume();
    }
  }

  /** The end of the stream was reached: reads return what is left, then empty buffers. */
  feedEof(): void {
    this._eof = true;
    this._wakeup();
  }

  /** True when the end was fed and the buffer is empty. */
  atEof(): boolean {
    return this._eof && this._buffer.length === 0;
  }

  /** Append received bytes (a string is taken as UTF-8); they are copied. */
  feedData(data: Uint8Array | string): void {
    this._feed(toBytes(data, "data"), false);
  }

  /** @internal `feedData` of a chunk nobody writes again (a socket's): kept without a copy */
  _feed(bytes: Uint8Array, handOver: boolean): void {
    if (this._eof) throw new RuntimeError("feedData after feedEof");
    if (bytes.length === 0) return;
    this._buffer.append(bytes, handOver);
    this._wakeup();
    if (this._transport !== null && !this._paused && this._buffer.length > 2 * this._limit) {
      this._paused = true;
      this._transport.pause();
    }
  }

  /**
   * Wait until `feedData` or `feedEof` is called (CPython's `_wait_for_data`): the waiter future itself,
   * for the caller to await (no async function of its own: a connection idle in a read keeps one frame
   * less, bench/README.md "Streams"). The clock's hold is let go when the waiter is done, however
   * (woken, failed or cancelled with the reading task).
   */
  private _waitForData(funcName: string): Future<void> {
    // Invariant: `_waiter` is set from here until it wakes (`_wakeup`) or its reader resumes
    // (`_doneWaiting`): a reader cancelled in its wait still holds the stream until its task resumes, so a
    // second reader meanwhile is refused, as CPython's (its `finally` clears `_waiter`).
    if (this._waiter !== null) {
      throw new RuntimeError(`${funcName}() called while another task is already waiting for incoming data`);
    }
    // (failed since the read began: nothing more will be fed; CPython's would wait here forever)
    if (this._hasException) throw this._exception;
    if (this._paused) {
      this._paused = false;
      this._transport?.resume();
    }
    const loop = (this._loop ??= getRunningLoop());
    const w = (this._waiter = loop.createFuture<void>());
    w._label = LABELS[funcName] ?? `StreamReader.${funcName}`;
    if (this._transport !== null) {
      const hold = this._transport.waitHold();
      w.addDoneCallback(() => hold._release());
    }
    return w;
  }

  /**
   * Read a line, `\n` included. At the end of the stream, what is left without a newline (an empty buffer
   * at the end). A line longer than `limit` raises `LimitOverrunError` after dropping it (up to and
   * including its newline if that arrived, else the whole buffer; CPython raises `ValueError` there).
   */
  async readline(): Promise<Buffer> {
    try {
      return await this.readuntil(NEWLINE);
    } catch (e) {
      if (e instanceof IncompleteReadError) return e.partial;
      if (e instanceof LimitOverrunError) {
        if (this._buffer.startsWith(NEWLINE, e.consumed)) this._buffer.drop(e.consumed + NEWLINE.length);
        else this._buffer.clear();
        this._maybeResume();
        throw new LimitOverrunError(e.message, e.consumed);
      }
      throw e;
    }
  }

  /**
   * Read up to and including `separator` (default `"\n"`; several: the earliest to end). At the end of the
   * stream without it: `IncompleteReadError` with what was left (consumed). More than `limit` bytes before
   * it: `LimitOverrunError`, and the data stays in the buffer.
   */
  async readuntil(separator: Separator = NEWLINE): Promise<Buffer> {
    const seps = separators(separator);
    const minLen = seps[0]!.length;
    const maxLen = seps[seps.length - 1]!.length;
    if (this._hasException) throw this._exception;
    let offset = 0;
    let matchStart = -1;
    let matchEnd = -1;
    for (;;) {
      const buflen = this._buffer.length;
      if (buflen - offset >= minLen) {
        for (const sep of seps) {
          const i = this._buffer.indexOf(sep, offset);
          if (i !== -1 && (matchEnd === -1 || i + sep.length < matchEnd)) {
            matchStart = i;
            matchEnd = i + sep.length;
          }
        }
        if (matchEnd !== -1) break;
        offset = Math.max(0, buflen + 1 - maxLen);
        if (offset > this._limit) throw new LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
      }
      if (this._eof) {
        const chunk = this._buffer.take(this._buffer.length);
        throw new IncompleteReadError(chunk, null);
      }
      const w = this._waitForData("readuntil");
      try {
        await w;
      } finally {
        this._doneWaiting(w);
      }
    }
    if (matchStart > this._limit) throw new LimitOverrunError("Separator is found, but chunk is longer than limit", matchStart);
    const chunk = this._buffer.take(matchEnd);
    this._maybeResume();
    return chunk;
  }

  /**
   * Read up to `n` bytes (at least one unless at the end); `n` omitted or negative: everything up to the end
   * of the stream. An empty buffer means the end. A cancelled `read(n)` takes nothing; a cancelled or
   * failed `read()` loses the blocks it had gathered (they left the buffer), as CPython's.
   */
  async read(n = -1): Promise<Buffer> {
    if (typeof n !== "number" || !Number.isInteger(n)) throw new TypeError(`Expected n to be an integer, got ${describe(n)}`);
    if (this._hasException) throw this._exception;
    if (n === 0) return Buffer.alloc(0);
    if (n < 0) {
      const blocks: Buffer[] = [];
      for (;;) {
        const block = await this.read(this._limit);
        if (block.length === 0) break;
        blocks.push(block);
      }
      return Buffer.concat(blocks);
    }
    // (after the wait, no look at the exception: CPython's `read` takes what the wake-up brought)
    if (this._buffer.length === 0 && !this._eof) {
      const w = this._waitForData("read");
      try {
        await w;
      } finally {
        this._doneWaiting(w);
      }
    }
    const data = this._buffer.take(n);
    this._maybeResume();
    return data;
  }

  /** Read exactly `n` bytes; the end of the stream first: `IncompleteReadError` with what was left. */
  async readexactly(n: number): Promise<Buffer> {
    if (typeof n !== "number" || !Number.isInteger(n)) throw new TypeError(`Expected n to be a non-negative integer, got ${describe(n)}`);
    if (n < 0) throw new RangeError(`Expected n to be a non-negative integer, got ${describe(n)}`);
    if (this._hasException) throw this._exception;
    if (n === 0) return Buffer.alloc(0);
    while (this._buffer.length < n) {
      if (this._eof) throw new IncompleteReadError(this._buffer.take(this._buffer.length), n);
      const w = this._waitForData("readexactly");
      try {
        await w;
      } finally {
        this._doneWaiting(w);
      }
    }
    const data = this._buffer.take(n);
    this._maybeResume();
    return data;
  }

  /** Lines until the end of the stream (`for await (const line of reader)`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** @internal for dumps: `<StreamReader 5 bytes eof>` */
  toString(): string {
    const parts = ["StreamReader"];
    if (this._buffer.length > 0) parts.push(`${this._buffer.length} bytes`);
    if (this._eof) parts.push("eof");
    if (this._limit !== DEFAULT_LIMIT) parts.push(`limit=${this._limit}`);
    if (this._waiter !== null && !this._waiter.done()) parts.push(`waiter=${String(this._waiter)}`);
    if (this._hasException) parts.push(`exception=${String(this._exception)}`);
    if (this._transport !== null) parts.push(`transport=${String(this._transport)}`);
    if (this._paused) parts.push("paused");
    return `<${parts.join(" ")}>`;
  }
}

function toBytes(data: unknown, name: string): Uint8Array {
  if (typeof data === "string") return Buffer.from(data);
  if (data instanceof Uint8Array) return data;
  throw new TypeError(`Expected ${name} to be a Buffer, a Uint8Array or a string, got ${describe(data)}`);
}

/** The separators, shortest first; a clear error for an empty one. */
function separators(separator: unknown): Uint8Array[] {
  if (separator === NEWLINE) return NEWLINE_SEPS;
  const list = Array.isArray(separator) ? (separator as unknown[]) : [separator];
  if (list.length === 0) throw new RangeError("Expected separator to contain at least one element, got an empty array");
  const out = list.map((s) => {
    const b = typeof s === "string" || s instanceof Uint8Array ? toBytes(s, "separator") : null;
    if (b === null) throw new TypeError(`Expected separator to be a Buffer, a Uint8Array, a string or an array of them, got ${describe(separator)}`);
    if (b.length === 0) throw new RangeError("Expected separator to be at least one byte long, got an empty one");
    return b;
  });
  return out.sort((a, b) => a.length - b.length);
}
