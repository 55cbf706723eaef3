/**
 * `openConnection` and `openUnixConnection`: CPython's `asyncio.open_connection` and
 * `open_unix_connection`.
 *
 * The connect (and the TLS handshake) is awaited on a future of the loop, completed by the socket's
 * `connect`/`secureConnect` or `error` event: a timeout or a cancelled task aborts the connect at once and
 * destroys the half-made socket; an `AbortSignal` does the same and raises its reason. On virtual time the
 * connect holds the clock as foreign work (`holdTimeout`).
 *
 * @module
 */
import type * as net from "node:net";
import type * as tls from "node:tls";
import { checkCount, checkOptions, describe, type EventLoop, getRunningLoop, TimeoutError } from "../core/index.js";
import { checkSignal } from "../sync/abort-signal.js";
import { Connection, netModule, tlsModule } from "./connection.js";
import { awaitEvent } from "./event-wait.js";
import type { StreamReader } from "./reader.js";
import { checkHost, checkPort } from "./server.js";
import { StreamWriter } from "./writer.js";

/**
 * Options of `openConnection`.
 * @example `await openConnection("example.com", 443, { ssl: true, limit: 1 << 20 })`
 */
export interface OpenConnectionOptions {
  /** The reader's buffer limit in bytes (default 64 KiB). */
  limit?: number;
  /** Connect over TLS: `true` (verify the server with Node's default CAs) or Node's TLS options (`ca`, `rejectUnauthorized`...). */
  ssl?: boolean | tls.ConnectionOptions;
  /** The name checked against the server's certificate (default `host`). */
  serverHostname?: string;
  /** Milliseconds the TLS handshake may take (default 60,000, as CPython). */
  sslHandshakeTimeout?: number;
  /** The local address to connect from (CPython's `local_addr`: `[host, port]`). */
  localAddr?: readonly [string, number];
  /** 4 or 6: the address family (default either). */
  family?: 0 | 4 | 6;
  /** Abandon the connect when this signal aborts: destroys the socket, raises `signal.reason`. */
  signal?: AbortSignal;
}

const OPEN_OPTIONS = ["limit", "ssl", "serverHostname", "sslHandshakeTimeout", "localAddr", "family", "signal"] as const;

/**
 * Connect over TCP (CPython's `asyncio.open_connection`) and return the `[reader, writer]` pair.
 *
 * @example
 * ```ts
 * import { run, openConnection, startServer } from "asyncio-ts";
 * await run(async () => {
 *   await using server = await startServer(async (reader, writer) => {
 *     writer.write(await reader.readexactly(4));
 *     writer.close();
 *   }, "127.0.0.1", 0);
 *   const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0]!.port);
 *   writer.write(Buffer.from([1, 2, 3, 4]));
 *   console.log([...(await reader.read())]); // [ 1, 2, 3, 4 ]
 *   writer.close();
 * });
 * ```
 */
export async function openConnection(host: string, port: number, options?: OpenConnectionOptions): Promise<[StreamReader, StreamWriter]> {
  checkHost(host, "host");
  checkPort(port, "port", 1);
  const o = checkOptions(options, OPEN_OPTIONS, "openConnection()");
  const limit = o.limit === undefined ? undefined : checkCount(o.limit, "limit", { min: 1 });
  const signal = checkSignal(o.signal);
  const handshakeMs = o.sslHandshakeTimeout === undefined ? 60_000 : checkCount(o.sslHandshakeTimeout, "sslHandshakeTimeout", { min: 1 });
  if (o.ssl !== undefined && typeof o.ssl !== "boolean" && (o.ssl === null || typeof o.ssl !== "object")) {
    throw new TypeError(`Expected ssl to be a boolean or Node's TLS options, got ${describe(o.ssl)}`);
  }
  if (o.serverHostname !== undefined && typeof o.serverHostname !== "string") throw new TypeError(`Expected serverHostname to be a string, got ${describe(o.serverHostname)}`);
  if (o.family !== undefined && o.family !== 0 && o.family !== 4 && o.family !== 6) throw new RangeError(`Expected family to be 0, 4 or 6, got ${describe(o.family)}`);
  let local: { localAddress?: string; localPort?: number } = {};
  if (o.localAddr !== undefined) {
    if (!Array.isArray(o.localAddr) || o.localAddr.length !== 2) throw new TypeError(`Expected localAddr to be [host, port], got ${describe(o.localAddr)}`);
    local = { localAddress: checkHost(o.localAddr[0], "localAddr[0]"), localPort: checkPort(o.localAddr[1], "localAddr[1]", 0) };
  }
  const loop = getRunningLoop();
  const useTls = o.ssl !== undefined && o.ssl !== false;
  const base = { host, port, ...local, ...(o.family !== undefined ? { family: o.family } : {}) };
  const socket = useTls
    ? tlsModule().connect({ ...(typeof o.ssl === "object" ? o.ssl : {}), ...base, servername: o.serverHostname ?? (typeof o.ssl === "object" ? o.ssl.servername : undefined) ?? (netModule().isIP(host) === 0 ? host : undefined) })
    : netModule().connect({ ...base, allowHalfOpen: true });
  await connected(loop, socket, useTls ? "secureConnect" : "connect", `openConnection(${JSON.stringify(host)}, ${port})`, useTls ? handshakeMs : null, signal);
  const conn = new Connection(loop, socket, { limit, tls: useTls, serverSide: false });
  return [conn.reader, new StreamWriter(conn, conn.reader, host)];
}

/**
 * Connect to a Unix socket (CPython's `asyncio.open_unix_connection`).
 *
 * @example
 * ```ts no-run
 * const [reader, writer] = await openUnixConnection("/run/app.sock");
 * ```
 */
export async function openUnixConnection(path: string, options?: Pick<OpenConnectionOptions, "limit" | "signal">): Promise<[StreamReader, StreamWriter]> {
  if (typeof path !== "string" || path === "") throw new TypeError(`Expected path to be a non-empty string (a socket path), got ${describe(path)}`);
  const o = checkOptions(options, ["limit", "signal"], "openUnixConnection()");
  const limit = o.limit === undefined ? undefined : checkCount(o.limit, "limit", { min: 1 });
  const signal = checkSignal(o.signal);
  const loop = getRunningLoop();
  const socket = netModule().connect({ path, allowHalfOpen: true });
  (socket as unknown as { _asyncioPath: { peer: string } })._asyncioPath = { peer: path };
  await connected(loop, socket, "connect", `openUnixConnection(${JSON.stringify(path)})`, null, signal);
  const conn = new Connection(loop, socket, { limit, tls: false, serverSide: false });
  return [conn.reader, new StreamWriter(conn, conn.reader)];
}

/** Await the socket's connect (or TLS handshake) event on the loop; on failure or cancellation, destroy it. */
function connected(loop: EventLoop, socket: net.Socket, event: string, what: string, handshakeMs: number | null, signal: AbortSignal | undefined): Promise<void> {
  return awaitEvent(loop, socket, event, {
    label: what,
    timeoutMs: handshakeMs,
    timeoutError: () => new TimeoutError(`${what}: the TLS handshake took more than ${handshakeMs} ms (sslHandshakeTimeout)`),
    signal,
    onFail: () => socket.destroy(),
  });
}
