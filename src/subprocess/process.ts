/**
 * `Process`: CPython's `asyncio.subprocess.Process`, a running child and its pipes.
 *
 * ## Approach
 * A Node `ChildProcess` whose events are turned into futures of the loop, completed from the event
 * handlers: every wait is an asyncio-ts await, cancellable like any other, and cancelling it leaves the
 * child alone (as in CPython: `timeout(ms, () => proc.wait())` gives up waiting, it does not kill).
 *
 * Two moments, as in CPython's transport: the child *exits* (Node's `exit`: `returncode` is set), and the
 * child is *finished*: exited, and every pipe it wrote to has ended (Node's `close`). `wait()` returns the
 * return code at once when the child has exited; a wait begun before that returns when the child is
 * finished, so the output is complete in `proc.stdout` (CPython 3.13 does the same: a grandchild that
 * keeps the pipe open keeps such a `wait()` waiting). `sendSignal` on a child that exited but is not
 * finished does nothing (the process is gone, its id may be reused); on a finished one it raises
 * `ProcessLookupError`, as CPython's.
 *
 * The pipes: stdout and stderr feed `StreamReader`s (`pipe-reader.ts`); stdin is the streams API's own
 * `StreamWriter` over the pipe (a Node pipe is a `net.Socket`, so the connection code of `src/streams`
 * serves it: `write`, `drain` with backpressure, `close`, `writeEof`, `waitClosed`), made with no reader,
 * as CPython makes it.
 *
 * On virtual time, a pending `wait()` holds the clock (as foreign work, for at most `holdTimeout` of real
 * time) and keeps the loop from reporting a deadlock: the child's exit is coming from outside. Reads of
 * its pipes hold it the same way, and so does closing stdin until the pipe has closed (the streams'
 * close, `Connection.close`); a child that nobody waits for holds nothing.
 *
 * ## At loop close
 * A child still running when its loop closes (`run()` ended without waiting for it) is killed (`SIGKILL`),
 * and the loop's exception handler says so: "child process 1234 still running at loop close: killed". Its
 * pipes are closed. CPython warns (`ResourceWarning`) and kills it when the transport is collected; here
 * the kill comes at once, since a live child would otherwise keep Node running after `run()` with nothing
 * left to wait for it. Rejected: leaving it running, unreferenced (an orphan nobody can reach), and
 * waiting for it (a `run()` that never ends for a server child).
 *
 * @module
 */
import type { ChildProcess } from "node:child_process";
const { readFileSync } = process.getBuiltinModule("node:fs");
import type { Socket } from "node:net";
const { constants } = process.getBuiltinModule("node:os");
import type { Readable } from "node:stream";
import { ConnectionResetError, describe, type EventLoop, type Future, type IoHold, ProcessLookupError, type SignalLike } from "../core/index.js";
import { gather } from "../combinators/gather.js";
import { Connection } from "../streams/connection.js";
import { StreamReader } from "../streams/reader.js";
import { StreamWriter } from "../streams/writer.js";
import { PipeFeed } from "./pipe-reader.js";

const SIGNALS = constants.signals as unknown as Record<string, number>;


/**
 * A child process started by `createSubprocessExec` or `createSubprocessShell` (CPython's
 * `asyncio.subprocess.Process`).
 *
 * @example
 * ```ts
 * import { createSubprocessExec, PIPE, run } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessExec(process.execPath, ["-e", "console.log('hello'); process.exit(3)"], { stdout: PIPE });
 *   console.log(String(await proc.stdout!.readline())); // "hello\n"
 *   console.log(await proc.wait(), proc.returncode); // 3 3
 * });
 * ```
 */
export class Process {
  /** The child's process id. */
  readonly pid: number;
  /** The child's stdin when it is `PIPE` (CPython's `proc.stdin`), else null. */
  readonly stdin: StreamWriter | null;
  /** The child's stdout when it is `PIPE` (with its stderr too, given `stderr: STDOUT`), else null. */
  readonly stdout: StreamReader | null;
  /** The child's stderr when it is `PIPE`, else null (also with `STDOUT`: it is in `stdout`). */
  readonly stderr: StreamReader | null;
  /** Invariant: null while the child runs; once it exited, its exit code, or minus the signal number that ended it. */
  private _returncode: number | null = null;
  /** Invariant: set once, when the child exited and every pipe it writes to ended (Node's `close`); `_returncode` is set by then. */
  private _finished = false;
  /** Invariant: the futures of the `wait()` calls begun before the child exited; all completed when it is finished. */
  private readonly _waiters = new Set<Future<number>>();
  /** Invariant: one hold on the loop's I/O count and clock while `_waiters` is not empty, else null. */
  private _hold: IoHold | null = null;
  /** Invariant: the reader feeds of stdout and stderr (their pipes are closed with the loop). */
  private readonly _feeds: PipeFeed[] = [];
  /** Invariant: true only inside `sendSignal`'s call of `child.kill` (Node reports a failed kill as an `error` event, synchronously). */
  private _signalling = false;
  /** Invariant: the error of the failed kill of the `sendSignal` call running, else null. */
  private _signalError: Error | null = null;
  /** Unregisters the loop-close callback, once finished. */
  private readonly _unregister: () => void;
  /** Removes the `signal` option's abort listener, once finished. */
  private _unwatchAbort: (() => void) | null = null;

  /** @internal made by `createSubprocessExec`/`createSubprocessShell` right after a successful spawn */
  constructor(
    /** @internal */ readonly _loop: EventLoop,
    /** @internal */ readonly _child: ChildProcess,
    options: { limit: number | undefined; mergeStderr: boolean },
  ) {
    this.pid = _child.pid!;
    const readerOptions = options.limit === undefined ? undefined : { limit: options.limit };
    const feed = (pipes: (Readable | null)[]): StreamReader | null => {
      const live = pipes.filter((p): p is Readable => p !== null);
      if (live.length === 0) return null;
      const f = new PipeFeed(_loop, new StreamReader(readerOptions), live);
      this._feeds.push(f);
      return f.reader;
    };
    if (options.mergeStderr) {
      this.stdout = feed([_child.stdout, _child.stderr]);
      this.stderr = null;
    } else {
      this.stdout = feed([_child.stdout]);
      this.stderr = feed([_child.stderr]);
    }
    this.stdin = _child.stdin === null ? null : new StreamWriter(new Connection(_loop, _child.stdin as Socket, { limit: undefined, tls: false, serverSide: false, readable: false }), null);
    _child.on("exit", (code: number | null, signal: NodeJS.Signals | null) => this._exited(code, signal));
    _child.on("close", (code: number | null, signal: NodeJS.Signals | null) => this._finish(code, signal));
    _child.on("error", (err: Error) => {
      if (this._signalling) this._signalError = err;
      else if (!_loop.isClosed()) _loop.callExceptionHandler({ message: `child process ${this.pid} reported an error`, exception: err });
    });
    this._unregister = _loop._onClose(() => this._closeWithLoop());
  }

  /** The return code: null while the child runs; its exit code; minus the signal's number when a signal ended it (`-9` after `kill()`). */
  get returncode(): number | null {
    return this._returncode;
  }

  private _exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this._returncode !== null) return;
    const n = signal !== null ? (SIGNALS[signal] ?? 0) : 0;
    this._returncode = code !== null ? code : n === 0 ? 0 : -n;
  }

  private _finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this._finished) return;
    this._exited(code, signal);
    this._finished = true;
    this._unregister();
    this._unwatchAbort?.();
    this._unwatchAbort = null;
    const rc = this._returncode!;
    if (this._loop.isClosed()) return;
    for (const w of this._waiters) if (!w.done()) w.setResult(rc);
  }

  /**
   * Wait for the child to exit and return its return code. Cancelling the wait (a timeout) does not
   * touch the child. With `stdout: PIPE`, read the output meanwhile (or use `communicate()`): a child
   * whose pipe is full waits for us to read, and this wait waits for the child.
   *
   * @example
   * ```ts
   * import { createSubprocessShell, run } from "asyncio-ts";
   * await run(async () => {
   *   const proc = await createSubprocessShell("exit 7");
   *   console.log(await proc.wait()); // 7
   * });
   * ```
   */
  async wait(): Promise<number> {
    if (this._returncode !== null) return this._returncode;
    const loop = this._loop;
    const w = loop.createFuture<number>();
    w._label = `Process.wait (pid ${this.pid})`;
    this._waiters.add(w);
    this._hold ??= loop._ioBegin(true);
    try {
      return await w;
    } finally {
      this._waiters.delete(w);
      if (this._waiters.size === 0 && this._hold !== null) {
        this._hold._release();
        this._hold = null;
      }
    }
  }

  /**
   * Send `input` to the child's stdin and close it, read its stdout and stderr to their end, wait for it
   * to exit, and return `[stdout, stderr]` (null for a stream that is not `PIPE`). The three run at once,
   * so a child that writes much while it reads much does not block. `input` is ignored when stdin is not
   * `PIPE`; a child that exits without reading it all is not an error (a broken pipe is ignored, as in
   * CPython). Cancelling it does not kill the child.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, PIPE, run } from "asyncio-ts";
   * await run(async () => {
   *   const proc = await createSubprocessExec("sort", [], { stdin: PIPE, stdout: PIPE });
   *   const [out] = await proc.communicate("pear\napple\n");
   *   console.log(String(out)); // "apple\npear\n"
   * });
   * ```
   */
  async communicate(input?: Uint8Array | string | null): Promise<[Buffer | null, Buffer | null]> {
    if (input !== undefined && input !== null && typeof input !== "string" && !(input instanceof Uint8Array)) {
      throw new TypeError(`Expected input to be a Buffer, a Uint8Array, a string or undefined, got ${describe(input)}`);
    }
    const [, out, err] = await gather(this._feedStdin(input ?? null), readAll(this.stdout), readAll(this.stderr));
    await this.wait();
    return [out, err];
  }

  private async _feedStdin(input: Uint8Array | string | null): Promise<void> {
    const w = this.stdin;
    if (w === null) return;
    try {
      if (input !== null) w.write(input);
      await w.drain();
    } catch (e) {
      if (!isBrokenPipe(e)) throw e;
    }
    w.close();
  }

  /**
   * Send a signal to the child: a name (`"SIGUSR1"`) or a number (as in `os.constants.signals`). Does
   * nothing when the child has exited but is not finished; raises `ProcessLookupError` once it is
   * finished (exited, pipes closed: after `wait()` returned).
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "asyncio-ts";
   * await run(async () => {
   *   const proc = await createSubprocessExec(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
   *   proc.sendSignal("SIGINT");
   *   console.log(await proc.wait()); // -2
   * });
   * ```
   */
  sendSignal(sig: SignalLike): void {
    const name = signalName(sig);
    if (this._finished) throw new ProcessLookupError(`Process ${this.pid} has exited (its return code is ${this._returncode})`);
    if (this._returncode !== null) return;
    this._signalError = null;
    this._signalling = true;
    try {
      this._child.kill(name);
    } finally {
      this._signalling = false;
    }
    const err = this._signalError;
    this._signalError = null;
    if (err !== null) throw err;
  }

  /**
   * Ask the child to stop: `SIGTERM` (on Windows, Node ends it at once). `ProcessLookupError` once it is
   * finished, as `sendSignal`.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "asyncio-ts";
   * await run(async () => {
   *   const proc = await createSubprocessExec(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
   *   proc.terminate();
   *   console.log(await proc.wait()); // -15
   * });
   * ```
   */
  terminate(): void {
    this.sendSignal("SIGTERM");
  }

  /**
   * Kill the child: `SIGKILL`. `ProcessLookupError` once it is finished, as `sendSignal`.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "asyncio-ts";
   * await run(async () => {
   *   const proc = await createSubprocessExec(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
   *   proc.kill();
   *   console.log(await proc.wait()); // -9
   * });
   * ```
   */
  kill(): void {
    this.sendSignal("SIGKILL");
  }

  /** @internal the `signal` option: abort terminates the child (`SIGTERM`, as Node's `spawn` does) */
  _watchAbort(signal: AbortSignal): void {
    const onAbort = (): void => {
      if (this._returncode === null && !this._finished) this._child.kill("SIGTERM");
    };
    signal.addEventListener("abort", onAbort, { once: true });
    this._unwatchAbort = () => signal.removeEventListener("abort", onAbort);
  }

  /** @internal give up a child whose spawn was cancelled: kill it, close its pipes */
  _discard(): void {
    this._unregister();
    this._unwatchAbort?.();
    this._unwatchAbort = null;
    if (this._returncode === null) this._child.kill("SIGKILL");
    this._closePipes();
  }

  private _closePipes(): void {
    for (const f of this._feeds) f.destroy();
    const s = this._child.stdin;
    if (s !== null && !s.destroyed) s.destroy();
  }

  /** The loop closes with the child still there: kill it if it runs, close its pipes (see the module comment). */
  private _closeWithLoop(): void {
    this._unwatchAbort?.();
    this._unwatchAbort = null;
    // (a child that exited but whose exit Node has not reported yet is not running: CPython polls it first)
    if (this._returncode === null && !hasExited(this.pid)) {
      this._loop.callExceptionHandler({ message: `child process ${this.pid} still running at loop close: killed`, process: this });
      this._child.kill("SIGKILL");
    }
    this._closePipes();
    this._child.unref();
  }

  /** `<Process 1234>`, as CPython's repr. */
  toString(): string {
    return `<Process ${this.pid}>`;
  }
}

/**
 * Whether the child has exited though nobody reaped it yet (a zombie): Linux's `/proc/<pid>/stat` says
 * so; elsewhere (no /proc) false. Node reaps children itself and reports the exit a moment later.
 */
function hasExited(pid: number | undefined): boolean {
  if (pid === undefined) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

async function readAll(r: StreamReader | null): Promise<Buffer | null> {
  return r === null ? null : await r.read();
}

/** The errors `communicate()` ignores while feeding stdin: the child closed it first. */
function isBrokenPipe(e: unknown): boolean {
  if (e instanceof ConnectionResetError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "ECONNRESET" || code === "ERR_STREAM_DESTROYED";
}

/** A signal name or number, checked; its name. @internal */
export function signalName(sig: unknown): NodeJS.Signals {
  const expected = "Expected sig to be a signal name or number of os.constants.signals";
  if (typeof sig === "string") {
    if (Object.hasOwn(SIGNALS, sig)) return sig as NodeJS.Signals;
    throw new RangeError(`${expected}, got ${describe(sig)}`);
  }
  if (typeof sig !== "number") throw new TypeError(`${expected}, got ${describe(sig)}`);
  for (const [name, n] of Object.entries(SIGNALS)) if (n === sig) return name as NodeJS.Signals;
  throw new RangeError(`${expected}, got ${describe(sig)}`);
}
