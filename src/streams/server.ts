/**
 * `startServer`, `startUnixServer` and `Server`: CPython's `asyncio.start_server` and `asyncio.Server`.
 *
 * ## Approach
 * One `net.Server` (or `tls.Server`) per host listened on. Each accepted connection becomes a
 * `Connection` and a reader/writer pair, and the callback runs in a task of its own (named
 * `"<server> client 3"`), as CPython does for a coroutine callback: a handler that fails is reported
 * through the loop's exception handler ("Unhandled exception in clientConnected") and its connection
 * closed; a cancelled one has its connection closed. A handler that returns with its connection open
 * may have handed the writer to a task (CPython's plain-callback pattern), so the connection stays open
 * until the peer ends its side (then nothing more can be read: it is closed, what was written sent) or
 * the writer is garbage-collected (a `FinalizationRegistry`): CPython closes it when the writer is dropped
 * (`StreamWriter.__del__`, at once under reference counting). Rejected: closing when the handler returns
 * (CPython's test_streams.py: it cuts off the plain-callback pattern, whose task writes after the callback
 * returned); waiting for garbage collection alone (a handler that forgot `close()` would keep
 * `waitClosed()` waiting after its client left). `close()` stops listening, as CPython's; the
 * connections and their handlers go on (`closeClients()`/`abortClients()` end the connections, 3.13).
 * `waitClosed()` waits until the server is closed and every connection is gone (3.12.1). Cancelling
 * `serveForever()` closes the server, cancels the handlers still running and waits for them: structured,
 * where CPython's would wait for clients that may never leave. `run()` shutdown cancels the handlers with
 * every other task, and the loop's close ends what is still open (Node would otherwise stay alive).
 *
 * On virtual time, a listening server keeps the loop from reporting a deadlock (a client may connect at
 * any time, as on the real clock) but does not hold the clock: tasks sleeping meanwhile wake on time.
 *
 * Rejected: binding without listening for `startServing: false` (Node binds and listens in one call):
 * such a server listens when `startServing()` or `serveForever()` is called, and has no `sockets` before.
 *
 * @module
 */
import type * as net from "node:net";
import type * as tls from "node:tls";
import { checkBoolean, checkCount, checkFn, checkOptions, describe, type EventLoop, getRunningLoop, type IoHold, RuntimeError, type Future, type Task } from "../core/index.js";
import { Connection, netModule, tlsModule } from "./connection.js";
import type { StreamReader } from "./reader.js";
import { StreamWriter } from "./writer.js";

/** What `startServer` calls for each client; may be async (it runs in a task of its own). */
export type ClientConnected = (reader: StreamReader, writer: StreamWriter) => unknown;

/**
 * Options of `startServer` / `startUnixServer`.
 * @example `await startServer(handle, "127.0.0.1", 8888, { backlog: 511, limit: 1 << 20 })`
 */
export interface StartServerOptions {
  /** The readers' buffer limit in bytes (default 64 KiB). */
  limit?: number;
  /** Serve TLS: Node's server options (`key`, `cert`, `ca`, `requestCert`...). */
  ssl?: tls.TlsOptions;
  /** The listen queue length (default 100, as CPython). */
  backlog?: number;
  /** Accepted for CPython's `reuse_address`; Node always sets `SO_REUSEADDR` on a TCP listener, so `false` is refused. */
  reuseAddress?: boolean;
  /** Let several processes listen on the same port (`SO_REUSEPORT`, Node >= 22.12 on Linux). */
  reusePort?: boolean;
  /** Listen at once (default true); with false, listening starts at `startServing()` / `serveForever()`. */
  startServing?: boolean;
}

const SERVER_OPTIONS = ["limit", "ssl", "backlog", "reuseAddress", "reusePort", "startServing"] as const;

/** Where a server listens: TCP hosts and a port, or a Unix socket path. @internal */
type Endpoint = { kind: "tcp"; hosts: (string | undefined)[]; port: number } | { kind: "unix"; path: string };

let serverIds = 0;

/** Closes the connection of a handler's writer that nothing holds any more (CPython's `StreamWriter.__del__`). */
const writerDropped = new FinalizationRegistry<Connection>((conn) => {
  if (!conn.loop.isClosed()) conn.close();
});

/**
 * A listening server (CPython's `asyncio.Server`). `await using server = await startServer(...)` closes
 * it and waits for its connections at the end of the scope.
 *
 * @example
 * ```ts
 * import { run, startServer, openConnection } from "asyncio-ts";
 * await run(async () => {
 *   await using server = await startServer(async (_reader, writer) => {
 *     writer.write("hi\n");
 *     writer.close();
 *   }, "127.0.0.1", 0);
 *   const [reader] = await openConnection("127.0.0.1", server.sockets[0]!.port);
 *   console.log(String(await reader.read())); // "hi\n"
 * });
 * ```
 */
export class Server {
  /** Invariant: the listeners while open (possibly not listening yet); null once `close()` ran. */
  private _servers: net.Server[] | null = [];
  private _listening = false;
  /** Invariant: the accepted connections not closed yet. */
  private readonly _clients = new Set<Connection>();
  /** Invariant: the handler tasks not done yet. */
  private readonly _handlers = new Set<Task<unknown>>();
  /** Invariant: waiters of `waitClosed`; null once woken (closed and no connection left). */
  private _waiters: Future<void>[] | null = [];
  private _serveForever: Future<void> | null = null;
  private _io: IoHold | null = null;
  private _unregister: () => void;
  private readonly _name: string;
  private _accepted = 0;

  /** @internal */
  constructor(
    private readonly _loop: EventLoop,
    private readonly _cb: ClientConnected,
    private readonly _endpoint: Endpoint,
    private readonly _options: { limit: number | undefined; ssl: tls.TlsOptions | undefined; backlog: number; reusePort: boolean },
  ) {
    this._name = `Server-${++serverIds}`;
    this._unregister = _loop._onClose(() => this._closeWithLoop());
  }

  /** The loop the server runs on. */
  getLoop(): EventLoop {
    return this._loop;
  }

  /**
   * The TCP addresses listened on, `{ address, family, port }` (a Unix server has its `path`); empty when
   * closed or not listening yet.
   */
  get sockets(): net.AddressInfo[] {
    if (this._servers === null || !this._listening) return [];
    return this._servers.map((s) => s.address()).filter((a): a is net.AddressInfo => a !== null && typeof a === "object");
  }

  /** The Unix socket path listened on (`startUnixServer`), or null. */
  get path(): string | null {
    return this._endpoint.kind === "unix" && this._listening && this._servers !== null ? this._endpoint.path : null;
  }

  /** True while listening. */
  isServing(): boolean {
    return this._listening && this._servers !== null;
  }

  /** Start listening if not yet (`startServing: false`); resolves once listening. */
  async startServing(): Promise<void> {
    if (this._servers === null) throw new RuntimeError(`${this._name} is closed`);
    if (this._listening) return;
    await this._listen();
  }

  /** @internal listen on every endpoint; on failure, close those already listening and raise */
  async _listen(): Promise<void> {
    const ep = this._endpoint;
    const loop = this._loop;
    const targets = ep.kind === "tcp" ? ep.hosts : [undefined];
    for (const host of targets) {
      const s = this._options.ssl !== undefined ? tlsModule().createServer({ ...this._options.ssl, allowHalfOpen: false }) : netModule().createServer({ allowHalfOpen: true });
      s.on(this._options.ssl !== undefined ? "secureConnection" : "connection", (sock: net.Socket) => this._accept(sock));
      if (this._options.ssl !== undefined) s.on("tlsClientError", () => {}); // a failed handshake is the client's failure, not the server's
      this._servers!.push(s);
      const fut = loop.createFuture<void>();
      fut._label = `${this._name} listen`;
      const fail = (e: Error): void => {
        if (!fut.done()) fut.setException(e);
      };
      s.once("error", fail);
      const opts: net.ListenOptions = ep.kind === "unix" ? { path: ep.path, backlog: this._options.backlog } : { host, port: ep.port, backlog: this._options.backlog };
      if (this._options.reusePort) (opts as { reusePort?: boolean }).reusePort = true;
      s.listen(opts, () => {
        if (!fut.done()) fut.setResult(undefined);
      });
      try {
        await fut;
      } catch (e) {
        this.close();
        throw e;
      } finally {
        s.off("error", fail);
      }
      s.on("error", (exception: Error) => loop.callExceptionHandler({ message: `${this._name}: the listening socket failed`, exception }));
    }
    this._listening = true;
    this._io ??= loop._ioBegin(false);
  }

  private _accept(sock: net.Socket): void {
    const loop = this._loop;
    if (this._servers === null || loop.isClosed()) {
      sock.destroy();
      return;
    }
    if (this._endpoint.kind === "unix") (sock as unknown as { _asyncioPath: { sock: string } })._asyncioPath = { sock: this._endpoint.path };
    const conn = new Connection(loop, sock, {
      limit: this._options.limit,
      tls: this._options.ssl !== undefined,
      serverSide: true,
      onLost: (c) => {
        this._clients.delete(c);
        this._maybeWake();
      },
    });
    this._clients.add(conn);
    const writer = new StreamWriter(conn, conn.reader);
    const cb = this._cb;
    const reader = conn.reader;
    const task = loop.createTask(() => cb(reader, writer), { name: `${this._name} client ${++this._accepted}` });
    this._handlers.add(task);
    task.addDoneCallback((t) => {
      this._handlers.delete(t);
      if (t.cancelled()) conn.close();
      else if (t._hasException) {
        // (its own state: a handler that threw undefined failed too)
        loop.callExceptionHandler({ message: "Unhandled exception in clientConnected", exception: t.exception(), task: t });
        conn.close();
      } else if (!conn.closing && !conn.lost) {
        // Returned with the connection open. If the peer has ended its side, nothing more can come:
        // close. Else it may live on in a task the handler started (CPython's plain-callback pattern):
        // close when the peer ends its side, or when the writer is garbage-collected (CPython closes it
        // when the writer is dropped, `StreamWriter.__del__`).
        if (conn.reader._eof) conn.close();
        else {
          conn.closeAtEof = true;
          writerDropped.register(writer, conn);
        }
      }
      this._maybeWake();
    });
  }

  /**
   * Stop listening (CPython's `close`): no new connection is accepted; those open and their handlers go
   * on. Idempotent.
   */
  close(): void {
    const servers = this._servers;
    if (servers === null) return;
    this._servers = null;
    this._listening = false;
    for (const s of servers) if (s.listening) s.close();
    const f = this._serveForever;
    if (f !== null && !f.done()) f.cancel();
    this._serveForever = null;
    this._io?._release();
    this._io = null;
    this._maybeWake();
  }

  /** Close every client connection once what is queued to it is sent (3.13). */
  closeClients(): void {
    for (const c of [...this._clients]) c.close();
  }

  /** Drop every client connection at once (3.13). */
  abortClients(): void {
    for (const c of [...this._clients]) c.abort();
  }

  /** Wait until the server is closed and every connection is gone (3.12.1). */
  async waitClosed(): Promise<void> {
    if (this._waiters === null) return;
    const w = this._loop.createFuture<void>();
    w._label = `${this._name}.waitClosed`;
    this._waiters.push(w);
    await w;
  }

  private _maybeWake(): void {
    if (this._servers !== null || this._clients.size > 0 || this._waiters === null) return;
    const waiters = this._waiters;
    this._waiters = null;
    this._unregister();
    for (const w of waiters) if (!w.done()) w.setResult(undefined);
  }

  /**
   * Listen (if not yet) and wait until cancelled; then close, cancel the handlers still running, wait for
   * them and the connections, and raise the cancellation. One caller at a time.
   */
  async serveForever(): Promise<never> {
    if (this._serveForever !== null) throw new RuntimeError(`${this._name} is already being awaited on serveForever()`);
    if (this._servers === null) throw new RuntimeError(`${this._name} is closed`);
    await this.startServing();
    const f = (this._serveForever = this._loop.createFuture<void>());
    f._label = `${this._name}.serveForever`;
    try {
      await f;
    } catch (e) {
      this.close();
      for (const t of this._handlers) t.cancel();
      this.abortClientsAfterHandlers();
      await this.waitClosed();
      throw e;
    } finally {
      if (this._serveForever === f) this._serveForever = null;
    }
    throw new RuntimeError(`${this._name}: serveForever() ended without a cancellation`);
  }

  /** Connections whose handler already ended (or was cancelled) are closed, so `waitClosed` can end. */
  private abortClientsAfterHandlers(): void {
    if (this._handlers.size === 0) this.closeClients();
    else {
      const handlers = [...this._handlers];
      let left = handlers.length;
      for (const t of handlers) {
        t.addDoneCallback(() => {
          if (--left === 0) this.closeClients();
        });
      }
    }
  }

  /** The loop closes: stop listening and drop the connections (they would keep Node alive). */
  private _closeWithLoop(): void {
    this.close();
    this.abortClients();
  }

  /** `await using`: close, then wait for the connections to go. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  /** @internal */
  toString(): string {
    const where = this._endpoint.kind === "unix" ? this._endpoint.path : this.sockets.map((a) => `${a.address}:${a.port}`).join(",");
    return `<${this._name} ${this.isServing() ? "serving" : "closed"} ${where} clients=${this._clients.size}>`;
  }
}

/** Check a TCP port: an integer 0..65535 (0: any free port; `connect` wants 1..65535). @internal */
export function checkPort(port: unknown, name: string, min: number): number {
  if (typeof port !== "number") throw new TypeError(`Expected ${name} to be an integer from ${min} to 65535, got ${describe(port)}`);
  if (!Number.isInteger(port) || port < min || port > 65535) throw new RangeError(`Expected ${name} to be an integer from ${min} to 65535, got ${describe(port)}`);
  return port;
}

/** @internal */
export function checkHost(host: unknown, name: string): string {
  if (typeof host !== "string") throw new TypeError(`Expected ${name} to be a string (a host name or an IP address), got ${describe(host)}`);
  if (host === "") throw new RangeError(`Expected ${name} to be a host name or an IP address, got "" (string)`);
  return host;
}

function readServerOptions(
  options: StartServerOptions | undefined,
  what: string,
): { limit: number | undefined; ssl: tls.TlsOptions | undefined; backlog: number; reusePort: boolean; startServing: boolean } {
  const o = checkOptions(options, SERVER_OPTIONS, what);
  const limit = o.limit === undefined ? undefined : checkCount(o.limit, "limit", { min: 1 });
  if (o.ssl !== undefined && (o.ssl === null || typeof o.ssl !== "object")) throw new TypeError(`Expected ssl to be Node's TLS server options (an object with key and cert), got ${describe(o.ssl)}`);
  const backlog = o.backlog === undefined ? 100 : checkCount(o.backlog, "backlog", { min: 0 });
  const reuse = checkBoolean(o.reuseAddress, "reuseAddress");
  if (reuse === false) throw new RangeError("reuseAddress: false is not supported: Node always sets SO_REUSEADDR on a TCP listener");
  const reusePort = checkBoolean(o.reusePort, "reusePort") ?? false;
  const startServing = checkBoolean(o.startServing, "startServing") ?? true;
  return { limit, ssl: o.ssl, backlog, reusePort, startServing };
}

/**
 * Start a TCP server (CPython's `asyncio.start_server`): `clientConnected(reader, writer)` runs in a task
 * of its own for each connection. `host`: one host, several, or null/undefined for every interface;
 * `port` 0 picks a free port (read it from `server.sockets[0].port`).
 *
 * @example
 * ```ts
 * import { run, startServer, openConnection, timeout } from "asyncio-ts";
 * await run(async () => {
 *   const server = await startServer(async (reader, writer) => {
 *     for await (const line of reader) writer.write(line.toString().toUpperCase());
 *     writer.close();
 *   }, "127.0.0.1", 0);
 *   const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0]!.port);
 *   writer.write("ping\n");
 *   console.log(String(await timeout(1000, () => reader.readline()))); // "PING\n"
 *   writer.close();
 *   server.close();
 *   await server.waitClosed();
 * });
 * ```
 */
export async function startServer(
  clientConnected: ClientConnected,
  host?: string | readonly string[] | null,
  port?: number,
  options?: StartServerOptions,
): Promise<Server> {
  checkFn(clientConnected, "clientConnected");
  const hosts: (string | undefined)[] =
    host === undefined || host === null ? [undefined] : Array.isArray(host) ? (host as unknown[]).map((h, i) => checkHost(h, `host[${i}]`)) : [checkHost(host, "host")];
  if (hosts.length === 0) throw new RangeError("Expected host to name at least one host, got an empty array");
  const p = port === undefined ? 0 : checkPort(port, "port", 0);
  const o = readServerOptions(options, "startServer()");
  const server = new Server(getRunningLoop(), clientConnected, { kind: "tcp", hosts, port: p }, o);
  if (o.startServing) await server._listen();
  return server;
}

/**
 * Start a Unix socket server (CPython's `asyncio.start_unix_server`) at `path`.
 *
 * @example
 * ```ts
 * import { run, startUnixServer, openUnixConnection } from "asyncio-ts";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * await run(async () => {
 *   const path = join(tmpdir(), `asyncio-ts-doc-${process.pid}.sock`);
 *   await using server = await startUnixServer(async (_r, w) => { w.write("unix\n"); w.close(); }, path);
 *   const [reader] = await openUnixConnection(path);
 *   console.log(String(await reader.readline())); // "unix\n"
 * });
 * ```
 */
export async function startUnixServer(clientConnected: ClientConnected, path: string, options?: StartServerOptions): Promise<Server> {
  checkFn(clientConnected, "clientConnected");
  if (typeof path !== "string" || path === "") throw new TypeError(`Expected path to be a non-empty string (a socket path), got ${describe(path)}`);
  const o = readServerOptions(options, "startUnixServer()");
  const server = new Server(getRunningLoop(), clientConnected, { kind: "unix", path }, o);
  if (o.startServing) await server._listen();
  return server;
}
