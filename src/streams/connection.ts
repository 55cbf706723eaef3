/**
 * One connection: a Node socket wired to a `StreamReader` and the state a `StreamWriter` reads (CPython's
 * `StreamReaderProtocol` and its transport, in one object).
 *
 * The socket's events are turned into the reader's feed and into futures of the loop: `drain` waiters, the
 * close waiters of `waitClosed`. Every future is completed from the event handler (the loop is kicked by
 * that), so every wait is an asyncio-ts await and can be cancelled. A connection still open when its loop
 * closes is destroyed then (`EventLoop._onClose`): Node would otherwise stay alive for it after `run()`.
 *
 * The error a connection is lost with (CPython's `connection_lost(exc)`) is one that broke it before
 * `close()`/`abort()`, or while `close()` was still flushing written bytes: the reader, a waiting drain and
 * `waitClosed()` raise it. One that comes after our own close with nothing left to send (Node's teardown)
 * is not: CPython's close would not have seen it.
 *
 * On virtual time, a close in progress (`close()` or `abort()` until the socket's `close` event) is I/O
 * whose end is known, and holds the clock as such (`EventLoop._ioBegin(true)`): Node ends a socket over
 * several turns of its event loop (shutdown, destroy, the handle's close callback), and a `waitClosed()`
 * under a `timeout()` would otherwise see the clock jump to its deadline first. While `close()` still
 * flushes written bytes, it holds as a drain does instead (`waitHold`: the clock only while the peer is
 * not known to be in this process, then for at most `holdTimeout` of real time), since a peer that does
 * not read keeps that part from ending. It holds whether or not anyone waits: the peer's end of a
 * loopback connection (a test's own server) waits for this close to read its end of file. Rejected:
 * holding only while a `waitClosed()` waits (the server's `waitClosed()` waits on its own side, which
 * waits on the client's close that nobody awaits); holding from the peer's end of file (this side's close
 * is not coming unless the program calls it: the real clock would wait forever too).
 *
 * Invariant: `lost` turns true once, on the socket's `close` event, and then every drain waiter and
 * close waiter has been completed, the close hold released and the connection left its loop's `openOf` set.
 *
 * @module
 */
import type { Socket } from "node:net";
import type * as net from "node:net";
import type * as tls from "node:tls";
import { ConnectionResetError, type EventLoop, type Future, type IoHold, RuntimeError } from "../core/index.js";
import { StreamReader } from "./reader.js";

// `node:net` and `node:tls` are required at the first connect or listen, not imported: `import
// "asyncio-ts"` does not pay for them (tls loads all of crypto; bench/README.md, "Import cost").
let netLoaded: typeof net | undefined;
let tlsLoaded: typeof tls | undefined;

/** `node:net`, required on first use. @internal */
export function netModule(): typeof net {
  return (netLoaded ??= process.getBuiltinModule("node:net"));
}

/** `node:tls`, required on first use. @internal */
export function tlsModule(): typeof tls {
  return (tlsLoaded ??= process.getBuiltinModule("node:tls"));
}

/** Whether `socket` is a `TLSSocket` (without loading `node:tls`: no socket of ours is one before it is loaded). @internal */
export function isTlsSocket(socket: Socket): socket is tls.TLSSocket {
  return tlsLoaded !== undefined && socket instanceof tlsLoaded.TLSSocket;
}

/**
 * The open connections of this process by their ends: for TCP the number `localPort * 65536 +
 * remotePort` (no string per connection: ports alone can collide only between two connections of the
 * same port pair on different addresses, and then a read merely takes no hold on the clock), for Unix
 * sockets `unix>path` / `path>unix`. A connection whose peer is here too needs no hold on virtual time
 * for its reads (see `peerInProcess`).
 */
type EndKey = number | string;
const ends = new Map<EndKey, number>();

/** A wait's hold on the loop: on the clock while the peer is not known to be in this process. */
class WaitHold {
  hold: IoHold;
  constructor(
    private readonly loop: EventLoop,
    clock: boolean,
    private readonly peerKey: EndKey | null,
  ) {
    this.hold = loop._ioBegin(clock);
    if (clock && peerKey !== null) {
      let set = awaitingPeer.get(peerKey);
      if (set === undefined) awaitingPeer.set(peerKey, (set = new Set()));
      set.add(this);
    }
  }
  /** The peer turned out to be in this process: keep the wait, let go of the clock. */
  dropClock(): void {
    this.hold._release();
    this.hold = this.loop._ioBegin(false);
  }
  _release(): void {
    this.hold._release();
    const set = this.peerKey === null ? undefined : awaitingPeer.get(this.peerKey);
    if (set !== undefined && set.delete(this) && set.size === 0) awaitingPeer.delete(this.peerKey!);
  }
}

/**
 * Waits holding the clock, by the key of the peer they wait on: a connection of this process that turns
 * out to be that peer (the other end of a loopback connection is often made a moment later) frees them.
 */
const awaitingPeer = new Map<EndKey, Set<WaitHold>>();

function endKey(socket: Socket, serverSide: boolean, reversed: boolean): EndKey | null {
  const path = (socket as unknown as { _asyncioPath?: { peer?: string; sock?: string } })._asyncioPath;
  if (path !== undefined) {
    const p = path.peer ?? path.sock;
    // a client of a path is `unix>path`, a server's side of it `path>unix`
    return serverSide !== reversed ? `${p}>unix` : `unix>${p}`;
  }
  const local = socket.localPort;
  const remote = socket.remotePort;
  if (local === undefined || remote === undefined) return null;
  return reversed ? remote * 65536 + local : local * 65536 + remote;
}

/**
 * Invariant: per loop, its connections not closed yet, destroyed when the loop closes (one `_onClose`
 * callback per loop, not one per connection).
 */
const openOf = new WeakMap<EventLoop, Set<Connection>>();

/** The connection a socket's events go to (set while it is attached). */
const CONN: unique symbol = Symbol("asyncio-ts.connection");
type Owned = Socket & { [CONN]?: Connection | undefined };

// The socket's listeners, shared by every connection: a listener finds its connection on the socket it is
// called on (`this`, as Node's EventEmitter calls it). Rejected: five closures bound to each connection
// (560 bytes of a connection's idle memory, bench/README.md "Streams").
function onData(this: Owned, data: Buffer): void {
  this[CONN]?._onData(data);
}
function onEnd(this: Owned): void {
  this[CONN]?._onEnd();
}
function onError(this: Owned, err: Error): void {
  this[CONN]?._onError(err);
}
function onDrain(this: Owned): void {
  this[CONN]?.wakeDrain();
}
function onClose(this: Owned): void {
  this[CONN]?.connectionLost();
}

/**
 * A read error on a write-only end (a child's stdin): nothing of ours reads it, so the runtime did. Deno
 * 2.9 reads a child's stdin pipe, fails with `read EBADF` and closes it (measured with a plain
 * `node:child_process` script: the same error, no asyncio-ts involved); say so instead of a bare EBADF.
 */
function readOnWriteOnly(err: Error): Error {
  return new ConnectionResetError(
    `the child's stdin pipe was closed by the runtime, which read from it (${err.message}): ` +
      'stdin: PIPE does not work on Deno yet (README, "Runtimes"); give the child its input another way (a file, or stdin: "inherit")',
    { cause: err },
  );
}

/** @internal */
export class Connection {
  socket: Socket;
  /** The reader the socket's bytes feed; null for a write-only end (a child's stdin: see `readable`). */
  private readonly _reader: StreamReader | null;
  /** Set once: the socket closed (the peer, an error, `close()`, `abort()`). */
  lost = false;
  /** The error the socket closed with, if any. */
  error: unknown = undefined;
  hasError = false;
  /**
   * Invariant: true when `error` is the error the connection was lost with (it came before `close()` or
   * `abort()`, or while `close()` flushed written bytes): the reader, drain waiters and `waitClosed()`
   * raise it.
   */
  private failed = false;
  /** `close()` was called (CPython's `transport.is_closing()` turns true). */
  closing = false;
  /** Invariant: true when `close()` was called with written bytes still queued (an error then is a failed flush). */
  private flushingAtClose = false;
  /**
   * Invariant: the hold of a close in progress, set by `close()`/`abort()` while not `lost`, released when
   * lost: a drain's hold (`waitHold`) while `close()` flushes queued bytes, then one on the clock.
   */
  private closeHold: { _release(): void } | null = null;
  /** `writeEof()` was called. */
  eofWritten = false;
  /** Whether the socket is TLS (no half close). */
  tls: boolean;
  /** Set when this connection was accepted by a server (its side of `startTls`). */
  readonly serverSide: boolean;
  /** Invariant: futures of tasks in `drain()` waiting for the socket's `drain`; emptied when woken. */
  private drainWaiters: Future<void>[] | null = null;
  /** Invariant: futures of tasks in `waitClosed()`, completed when the socket closes; null while none. */
  private closeWaiters: Future<void>[] | null = null;
  private readonly onLost: ((c: Connection) => void) | null;

  constructor(
    readonly loop: EventLoop,
    socket: Socket,
    options: { limit: number | undefined; tls: boolean; serverSide: boolean; onLost?: (c: Connection) => void; readable?: boolean },
  ) {
    this.socket = socket;
    this.tls = options.tls;
    this.serverSide = options.serverSide;
    this.onLost = options.onLost ?? null;
    if (options.readable === false) this._reader = null;
    else {
      const r = (this._reader = new StreamReader(options.limit === undefined ? undefined : { limit: options.limit }));
      r._loop = loop;
      r.setTransport(this);
    }
    // CPython's transports set TCP_NODELAY on every TCP socket (`base_events._set_nodelay`): small writes
    // go out at once, not held back by Nagle's algorithm
    if (typeof socket.setNoDelay === "function" && socket.remotePort !== undefined) socket.setNoDelay(true);
    this.attach(socket);
    this.key = endKey(socket, this.serverSide, false);
    this.peerKey = endKey(socket, this.serverSide, true);
    if (this.key !== null) {
      ends.set(this.key, (ends.get(this.key) ?? 0) + 1);
      const waiting = awaitingPeer.get(this.key);
      if (waiting !== undefined) {
        awaitingPeer.delete(this.key);
        for (const w of waiting) w.dropClock();
      }
    }
    let open = openOf.get(loop);
    if (open === undefined) {
      const set = (open = new Set());
      openOf.set(loop, set);
      loop._onClose(() => {
        openOf.delete(loop);
        for (const c of set) if (!c.socket.destroyed) c.socket.destroy();
      });
    }
    open.add(this);
  }

  private readonly key: EndKey | null;

  /** The reader of a connection made readable (every socket's; not a child's stdin). */
  get reader(): StreamReader {
    if (this._reader === null) throw new RuntimeError("this connection is write-only: it has no reader");
    return this._reader;
  }

  /**
   * Whether the other end of this connection is a connection of this process (a client and the server
   * it reached, both in this program). Then bytes the peer wrote reach this end at the next poll of
   * Node's event loop, before the virtual clock may jump (it jumps from a fresh macrotask only), so a
   * read needs no hold on the clock; a read from a peer elsewhere holds it (`holdTimeout`).
   */
  peerInProcess(): boolean {
    const k = this.peerKey;
    return k !== null && (ends.get(k) ?? 0) > 0;
  }

  /** The key the peer's end has in `ends` (fixed with the connection: `startTls` keeps the addresses). */
  private readonly peerKey: EndKey | null;

  /**
   * The hold of a read or a drain: it keeps virtual time from reporting a deadlock, and holds the clock
   * while the peer is not known to be in this process (`peerInProcess`; if the peer's end appears later,
   * the clock is let go then). Release it once, when the wait ends.
   */
  waitHold(): { _release(): void } {
    const inProcess = this.peerInProcess();
    return new WaitHold(this.loop, !inProcess, inProcess ? null : this.peerKey);
  }

  /** Wire a socket's events (again, after `startTls` replaced the socket). */
  attach(socket: Socket): void {
    this.detach();
    this.socket = socket;
    (socket as Owned)[CONN] = this;
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("drain", onDrain);
    socket.on("close", onClose);
    this.attached = true;
  }

  /** Unwire the current socket (its events no longer reach the reader). */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    const socket = this.socket;
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.off("error", onError);
    socket.off("drain", onDrain);
    socket.off("close", onClose);
    (socket as Owned)[CONN] = undefined;
  }

  private attached = false;

  /** @internal the socket's `data` */
  _onData(data: Buffer): void {
    const r = this._reader;
    if (r !== null && !r._eof) r._feed(data, true);
  }

  /** @internal the socket's `end` */
  _onEnd(): void {
    const r = this._reader;
    if (r !== null && !r._eof) r.feedEof();
    if (this.closeAtEof) this.close();
  }

  /** Close when the peer's end of file arrives (a server's handler returned: see `server.ts`). */
  closeAtEof = false;

  /** @internal the socket's `error` */
  _onError(err: Error): void {
    if (!this.hasError) {
      this.hasError = true;
      this.error = this._reader === null && (err as { syscall?: string }).syscall === "read" ? readOnWriteOnly(err) : err;
      this.failed = !this.closing || this.flushingAtClose;
    }
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.lost) this.socket.resume();
  }

  /** The socket closed: the reader ends (or fails), every waiter is completed. */
  connectionLost(): void {
    if (this.lost) return;
    this.lost = true;
    this.detach();
    openOf.get(this.loop)?.delete(this);
    if (this.key !== null) {
      const n = (ends.get(this.key) ?? 1) - 1;
      if (n === 0) ends.delete(this.key);
      else ends.set(this.key, n);
    }
    this.closeHold?._release();
    this.closeHold = null;
    const r = this._reader;
    if (r === null) {
      // (a write-only end: nothing reads; the error reaches the writer's drain and waitClosed below)
    } else if (this.failed) r.setException(this.error);
    else if (!r._eof) r.feedEof();
    // a drain waiting when the connection broke raises its error (CPython's `connection_lost(exc)`)
    this.wakeDrain(this.failed ? this.error : undefined);
    // CPython's `StreamReaderProtocol.connection_lost`: `self._closed.set_exception(exc)` when lost with an
    // error, whether or not `close()` was called since (streams.py)
    const waiters = this.closeWaiters ?? [];
    this.closeWaiters = null;
    for (const w of waiters) {
      if (w.done()) continue;
      if (this.failed) w.setException(this.error);
      else w.setResult(undefined);
    }
    this.onLost?.(this);
  }

  /** @internal complete the drain waiters (the socket's `drain`, or the connection lost) */
  wakeDrain(error?: unknown): void {
    const waiters = this.drainWaiters;
    if (waiters === null) return;
    this.drainWaiters = null;
    for (const w of waiters) {
      if (w.done()) continue;
      if (error !== undefined) w.setException(error);
      else w.setResult(undefined);
    }
  }


  /** CPython's `_drain_helper`: wait while the socket's buffer is above its high-water mark. */
  async drainHelper(): Promise<void> {
    if (this.lost) throw this.hasError && this.error instanceof ConnectionResetError ? this.error : new ConnectionResetError("Connection lost", this.hasError ? { cause: this.error } : undefined);
    // A write failed at once (EPIPE): Node set `socket.errored` and emits `error` and `close` a tick later.
    // The connection is being lost: CPython's transport is closing then (`_fatal_error`), and its
    // `_drain_helper` raises ConnectionResetError('Connection lost') once `connection_lost` ran.
    const errored = this.socket.errored;
    if (errored !== null && errored !== undefined) {
      // (a read error on a write-only end says why: the runtime read a child's stdin, `readOnWriteOnly`)
      if (this._reader === null && (errored as { syscall?: string }).syscall === "read") throw readOnWriteOnly(errored);
      throw new ConnectionResetError("Connection lost", { cause: errored });
    }
    // closed by us with nothing left to send: CPython's connection is lost by now (its drain yields first)
    if (this.closing && this.socket.writableLength === 0) throw new ConnectionResetError("Connection lost");
    if (!this.socket.writableNeedDrain) return;
    const w = this.loop.createFuture<void>();
    w._label = "StreamWriter.drain";
    (this.drainWaiters ??= []).push(w);
    const hold = this.waitHold();
    try {
      await w;
    } finally {
      hold._release();
      const ws = this.drainWaiters;
      if (ws !== null) {
        const i = ws.indexOf(w);
        if (i !== -1) ws.splice(i, 1);
      }
    }
    if (this.lost && this.socket.writableLength > 0) throw new ConnectionResetError("Connection lost");
  }

  /**
   * CPython's `transport.is_closing()`: `close()`/`abort()` was called, or the socket is lost, destroyed
   * or failed (a write that failed at once sets Node's `errored` before its `error` and `close` events).
   */
  isClosing(): boolean {
    const s = this.socket;
    return this.closing || this.lost || s.destroyed || (s.errored !== null && s.errored !== undefined);
  }

  /** Close after what was written is flushed (CPython's `transport.close()`). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.lost) return;
    // (a write-only end has nothing to pause: on Bun a child's stdin is a plain Writable)
    if (typeof this.socket.pause === "function") this.socket.pause();
    if (this.socket.destroyed) {
      this.holdClose();
      return;
    }
    this.flushingAtClose = this.socket.writableLength > 0;
    if (this.flushingAtClose) this.closeHold = this.waitHold();
    else this.holdClose();
    this.socket.end(() => {
      if (this.flushingAtClose && !this.lost) this.holdClose(); // flushed: the rest is ours
      this.socket.destroy();
    });
  }

  /** Close at once, dropping what was not sent (CPython's `transport.abort()`). */
  abort(): void {
    this.closing = true;
    this.flushingAtClose = false;
    if (this.lost) return;
    this.holdClose();
    if (!this.socket.destroyed) this.socket.destroy();
  }

  /** Hold the clock until the socket's `close` event (see the module's comment), instead of the hold taken so far. */
  private holdClose(): void {
    this.closeHold?._release();
    this.closeHold = this.loop._ioBegin(true);
  }

  /** `<Transport 127.0.0.1:40000 -> 127.0.0.1:8888 closing>`, for the reader's text and dumps. */
  toString(): string {
    const s = this.socket;
    const ends = s.remotePort !== undefined ? ` ${s.localAddress}:${s.localPort} -> ${s.remoteAddress}:${s.remotePort}` : "";
    return `<Transport${ends}${this.lost ? " closed" : this.closing ? " closing" : ""}>`;
  }

  /** Wait for the socket to close; raises the error it was lost with (see `failed`), even if `close()` came after. */
  async waitClosed(): Promise<void> {
    if (this.lost) {
      if (this.failed) throw this.error;
      return;
    }
    const w = this.loop.createFuture<void>();
    w._label = "StreamWriter.waitClosed";
    (this.closeWaiters ??= []).push(w);
    await w;
  }
}
