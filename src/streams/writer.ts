/**
 * `StreamWriter`: CPython's `asyncio.StreamWriter`, the writing half of a connection.
 *
 * `write()` hands the bytes to the socket at once (Node buffers them, as CPython's transport does);
 * `drain()` is where backpressure reaches the writer: it waits, on a future of the loop, while the socket's
 * buffer is above its high-water mark (`socket.writableNeedDrain`), so a cancelled or timed-out `drain()`
 * is an ordinary cancellation and the bytes already written stay queued. Bytes written after `close()` or
 * after the connection was lost are dropped, and the next `drain()` says so (`ConnectionResetError`), as in
 * CPython; so does the first `drain()` after a write that failed at once (Node sets `socket.errored` then,
 * and emits `error` a tick later: a drain that looked only at the events would return normally). A write
 * after `writeEof()` raises `RuntimeError`, as CPython's socket transport does (selector_events.py), and
 * on a child's stdin too, where CPython's pipe transport drops it silently (unix_events.py,
 * `_UnixWritePipeTransport.write`): here no byte is lost without a word.
 *
 * `startTls()` upgrades the connection in place: the plain socket's events are unwired, a `TLSSocket` is
 * made over it (client or server side, as the connection was made), and the reader is fed from it once the
 * handshake is done. Rejected: making a new writer (CPython keeps the same objects; code holding the
 * writer would keep the plain one).
 *
 * @module
 */
import type { AddressInfo, Socket } from "node:net";
import type * as tls from "node:tls";
import { checkCount, checkOptions, describe, type EventLoop, RuntimeError, TimeoutError } from "../core/index.js";
import { sleep } from "../time/sleep.js";
import { isTlsSocket, tlsModule, type Connection } from "./connection.js";
import { awaitEvent } from "./event-wait.js";
import type { StreamReader } from "./reader.js";

/**
 * Options of `StreamWriter.startTls()`: Node's TLS options (`ca`, `cert`, `key`, `rejectUnauthorized`,
 * `secureContext`...), plus CPython's names.
 * @example `await writer.startTls({ ca: [cert], serverHostname: "localhost" })`
 */
export interface StartTlsOptions extends tls.ConnectionOptions {
  /** The name checked against the server's certificate (client side; default the host connected to). */
  serverHostname?: string;
  /** Milliseconds the handshake may take (default 60,000, as CPython). */
  sslHandshakeTimeout?: number;
}

/**
 * The writing half of a connection (CPython's `asyncio.StreamWriter`). Made by `openConnection` and
 * `startServer`.
 *
 * @example
 * ```ts
 * import { openConnection, run, startServer } from "asyncio-ts";
 * await run(async () => {
 *   const server = await startServer(async (reader, writer) => {
 *     writer.write(await reader.readline()); // echo one line
 *     await writer.drain();
 *     writer.close();
 *   }, "127.0.0.1", 0);
 *   const { port } = server.sockets[0]!;
 *   const [reader, writer] = await openConnection("127.0.0.1", port);
 *   writer.write("hello\n");
 *   await writer.drain();
 *   console.log(String(await reader.readline())); // "hello\n"
 *   writer.close();
 *   await writer.waitClosed();
 *   server.close();
 *   await server.waitClosed();
 * });
 * ```
 */
export class StreamWriter {
  /** @internal */
  constructor(
    /** @internal */ readonly _conn: Connection,
    /** @internal */ readonly _reader: StreamReader | null,
    /** @internal the host connected to (the default server name of `startTls`) */ readonly _host: string | null = null,
  ) {}

  /** The socket (CPython's `transport`): a `net.Socket`, or a `tls.TLSSocket` after TLS. */
  get transport(): Socket {
    return this._conn.socket;
  }

  /** The loop the connection belongs to. */
  getLoop(): EventLoop {
    return this._conn.loop;
  }

  /** Queue bytes for sending (a string is sent as UTF-8). Dropped after `close()` or a lost connection. */
  write(data: Uint8Array | string): void {
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError(`Expected data to be a Buffer, a Uint8Array or a string, got ${describe(data)}`);
    }
    const c = this._conn;
    if (c.eofWritten) throw new RuntimeError("Cannot call write() after writeEof()");
    if (c.isClosing()) return; // dropped, as by CPython's transport once closing
    if (data.length === 0) return;
    c.socket.write(data);
  }

  /** Write each of `data`, in order. */
  writelines(data: Iterable<Uint8Array | string>): void {
    if (data === null || typeof data !== "object" || typeof (data as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError(`Expected data to be an iterable of Buffers or strings, got ${describe(data)}`);
    }
    for (const d of data) this.write(d);
  }

  /** Whether `writeEof()` is possible (not over TLS). */
  canWriteEof(): boolean {
    return !this._conn.tls;
  }

  /** Close the writing side after what is queued is sent (half close); reading goes on. */
  writeEof(): void {
    const c = this._conn;
    if (c.tls) throw new RuntimeError("Cannot call writeEof() on a TLS connection (canWriteEof() is false)");
    if (c.eofWritten || c.lost) return;
    c.eofWritten = true;
    c.socket.end();
  }

  /** Close the connection once what is queued is sent; idempotent. */
  close(): void {
    this._conn.close();
  }

  /**
   * True once `close()` was called or the connection is gone or going (its socket failed or destroyed, as
   * by a write that failed: CPython's transport is closing from its `_force_close`).
   */
  isClosing(): boolean {
    return this._conn.isClosing();
  }

  /**
   * Wait until the connection is closed. Raises the error it was lost with if it broke before `close()`
   * (even when `close()` was called after) or while `close()` flushed what was written, as CPython's
   * `wait_closed()`.
   */
  async waitClosed(): Promise<void> {
    await this._conn.waitClosed();
  }

  /**
   * Wait until it is right to write again: while the socket's buffer is above its high-water mark. Raises
   * the connection's error if the reader failed (Node's error, as it came: `EPIPE`, `ECONNRESET`),
   * `ConnectionResetError("Connection lost")` if the connection is gone or going (a write failed at once:
   * the Node error is its `cause`), as CPython's first drain after a failed write.
   */
  async drain(): Promise<void> {
    const r = this._reader;
    // (the reader's own "has an exception" state, not `exception() !== undefined`: anything can be thrown)
    if (r !== null && r._failed) throw r.exception();
    const c = this._conn;
    // (CPython's `transport.is_closing()`: let a pending close event land first, as CPython does)
    if (c.isClosing()) await sleep(0);
    await c.drainHelper();
  }

  /**
   * Information about the connection (CPython's `get_extra_info`): `"peername"` and `"sockname"` (`[host,
   * port]` for TCP, the path for a Unix socket), `"socket"`, `"sslcontext"`, `"peercert"`, `"cipher"`,
   * `"sslObject"` (the `TLSSocket`); `fallback` otherwise.
   */
  getExtraInfo(name: string, fallback: unknown = undefined): unknown {
    if (typeof name !== "string") throw new TypeError(`Expected name to be a string, got ${describe(name)}`);
    const s = this._conn.socket;
    const t = isTlsSocket(s) ? s : null;
    switch (name) {
      case "peername":
        return s.remoteAddress !== undefined ? [s.remoteAddress, s.remotePort] : unixPath(s, "peer") ?? fallback;
      case "sockname": {
        const a = s.address();
        return typeof a === "object" && a !== null && "port" in a ? [(a as AddressInfo).address, (a as AddressInfo).port] : unixPath(s, "sock") ?? fallback;
      }
      case "socket":
        return s;
      case "sslcontext":
        return t === null ? fallback : ((t as unknown as { secureContext?: unknown }).secureContext ?? fallback);
      case "peercert":
        return t === null ? fallback : t.getPeerCertificate();
      case "cipher":
        return t === null ? fallback : t.getCipher();
      case "sslObject":
        return t ?? fallback;
      default:
        return fallback;
    }
  }

  /**
   * Upgrade the connection to TLS (CPython's `start_tls`): the client side verifies the server, the server
   * side (a connection accepted by `startServer`) presents its certificate (`key`, `cert`). Waits for the
   * handshake; a cancelled or failed handshake destroys the connection.
   */
  async startTls(options: StartTlsOptions = {}): Promise<void> {
    const o = checkOptions(options);
    const timeoutMs = o.sslHandshakeTimeout === undefined ? 60_000 : checkCount(o.sslHandshakeTimeout, "sslHandshakeTimeout", { min: 1 });
    const c = this._conn;
    if (c.tls) throw new RuntimeError("startTls(): the connection already uses TLS");
    if (c.lost || c.closing) throw new RuntimeError("startTls(): the connection is closed");
    const { serverHostname, sslHandshakeTimeout: _t, ...tlsOptions } = o;
    void _t;
    const plain = c.socket;
    c.detach();
    const secure = c.serverSide
      ? new (tlsModule().TLSSocket)(plain, { ...(tlsOptions as tls.TLSSocketOptions), isServer: true })
      : tlsModule().connect({ ...tlsOptions, socket: plain, servername: serverHostname ?? tlsOptions.servername ?? this._host ?? undefined });
    c.tls = true;
    c.attach(secure);
    secure.pause();
    await handshake(c.loop, secure, c.serverSide ? "secure" : "secureConnect", timeoutMs, "startTls");
    secure.resume();
  }
}

function unixPath(s: Socket, which: "peer" | "sock"): string | undefined {
  // (a Unix socket has no address; the server's path is known only on the server's side)
  const p = (s as unknown as { _asyncioPath?: { peer?: string; sock?: string } })._asyncioPath;
  return p?.[which];
}

/** Wait for a TLS socket's handshake on the loop; destroy it when the wait fails or is cancelled. @internal */
export function handshake(loop: EventLoop, socket: tls.TLSSocket, event: string, timeoutMs: number, what: string): Promise<void> {
  return awaitEvent(loop, socket, event, {
    label: `${what} (TLS handshake)`,
    failOn: [["close", () => new RuntimeError(`${what}: the connection closed during the TLS handshake`)]],
    timeoutMs,
    timeoutError: () => new TimeoutError(`${what}: the TLS handshake took more than ${timeoutMs} ms (sslHandshakeTimeout)`),
    onFail: () => socket.destroy(),
  });
}
