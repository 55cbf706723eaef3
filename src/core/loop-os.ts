/**
 * What the event loop asks of the operating system: signal handlers, name resolution, and the way in from
 * outside the loop (`callSoonThreadsafe`, `runCoroutineThreadsafe`). CPython's `add_signal_handler`,
 * `getaddrinfo`, `getnameinfo`, `call_soon_threadsafe` and `run_coroutine_threadsafe`, as functions the
 * `EventLoop` methods delegate to (the loop's module stays about scheduling).
 *
 * - Signals: one `process.on(signal)` listener per signal and loop; the callback runs on the loop (a
 *   `callSoon`), never inside Node's signal event. The loop's close removes them all.
 * - Names: `dns.lookup` (what `net.connect` itself uses, as CPython's `getaddrinfo` uses the C library's)
 *   and `dns.lookupService`, each awaited on a future of the loop, so the call is a cancellation point;
 *   on virtual time the lookup holds the clock as foreign work. Rejected: `dns.resolve*` (it skips
 *   /etc/hosts, unlike CPython's).
 * - From outside: JavaScript code off the loop runs on the same thread, between the loop's macrotasks, so
 *   "thread-safe" means "from code that is not running on this loop" (a Node callback, another loop, a
 *   worker thread's message handler): `callSoonThreadsafe` wakes the loop if it idles, and
 *   `runCoroutineThreadsafe` starts a task on the loop and returns a plain `Promise` of its result
 *   (CPython's `concurrent.futures.Future`). That promise settles even if the loop closes first (a close
 *   callback, `loop._onClose`, rejects it), where CPython's concurrent future would wait for ever.
 *
 * @module
 */
import type { LookupAddress } from "node:dns";
/** `node:dns`, read at the first lookup: `import "asyncio-ts"` does not load it. */
const dns = (): typeof import("node:dns") => process.getBuiltinModule("node:dns");
const { constants } = process.getBuiltinModule("node:os");
import { describe } from "./check.js";
import { CancelledError, RuntimeError } from "./errors.js";
import type { EventLoop } from "./event-loop.js";
import type { Handle } from "./handles.js";
import type { Task } from "./task.js";
import { contextState, copyContext } from "./context.js";

/**
 * A signal: a name (`"SIGTERM"`) or its number (`15`), as in `os.constants.signals` (`addSignalHandler`,
 * `Process.sendSignal`).
 * @example `proc.sendSignal("SIGUSR2")`
 */
export type SignalLike = NodeJS.Signals | number;

/** The signal's name, or a clear error. @internal */
export function signalName(sig: unknown): NodeJS.Signals {
  const signals = constants.signals as Record<string, number>;
  if (typeof sig === "string") {
    if (signals[sig] === undefined) throw new RangeError(`Expected sig to be a signal name or number, got ${describe(sig)} (unknown on this platform)`);
    return sig as NodeJS.Signals;
  }
  if (typeof sig === "number" && Number.isInteger(sig)) {
    for (const [name, n] of Object.entries(signals)) if (n === sig) return name as NodeJS.Signals;
    throw new RangeError(`Expected sig to be a signal name or number, got ${describe(sig)} (no such signal)`);
  }
  throw new TypeError(`Expected sig to be a signal name (like "SIGTERM") or number, got ${describe(sig)}`);
}

/** Invariant: per loop, the signal listeners it installed on `process`, by signal. @internal */
export type SignalTable = Map<NodeJS.Signals, () => void>;

/** @internal see `EventLoop.addSignalHandler` */
export function addSignalHandler(loop: EventLoop, table: SignalTable, sig: SignalLike, callback: (...args: unknown[]) => void, args: unknown[]): void {
  const name = signalName(sig);
  if (typeof callback !== "function") throw new TypeError(`Expected callback to be a function, got ${describe(callback)}`);
  if (name === "SIGKILL" || name === "SIGSTOP") throw new RuntimeError(`sig ${name} cannot be caught`);
  removeSignalHandler(table, name);
  // One context for every call, copied now (CPython makes the handler's Handle once, at add time): what
  // the handler sets is there at its next call.
  const context = contextState.inUse ? copyContext() : null;
  const listener = (): void => {
    if (loop.isClosed()) return;
    if (context === null) loop.callSoon(callback, ...args);
    else loop.callSoon(callback, ...args, { context });
  };
  process.on(name, listener);
  table.set(name, listener);
}

/** @internal see `EventLoop.removeSignalHandler` */
export function removeSignalHandler(table: SignalTable, sig: SignalLike): boolean {
  const name = signalName(sig);
  const listener = table.get(name);
  if (listener === undefined) return false;
  table.delete(name);
  process.off(name, listener);
  return true;
}

/** An address of `getaddrinfo`: CPython's `(family, type, proto, canonname, sockaddr)`, named. */
export interface AddrInfo {
  /** 4 or 6 */
  family: 4 | 6;
  /** `[address, port]` */
  sockaddr: [string, number];
}

/** Options of `loop.getaddrinfo`. */
export interface GetAddrInfoOptions {
  /** 0 (either, the default), 4 or 6 */
  family?: 0 | 4 | 6;
}

/** @internal see `EventLoop.getaddrinfo` */
export async function getaddrinfo(loop: EventLoop, host: unknown, port: unknown, options: GetAddrInfoOptions | undefined): Promise<AddrInfo[]> {
  if (typeof host !== "string" || host === "") throw new TypeError(`Expected host to be a non-empty string, got ${describe(host)}`);
  const p = port === undefined || port === null ? 0 : port;
  if (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`Expected port to be an integer from 0 to 65535, got ${describe(port)}`);
  const family = options?.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) throw new RangeError(`Expected family to be 0, 4 or 6, got ${describe(family)}`);
  const fut = loop.createFuture<LookupAddress[]>();
  fut._label = `getaddrinfo(${JSON.stringify(host)})`;
  dns().lookup(host, { all: true, family }, (err, addresses) => {
    if (fut.done()) return;
    if (err !== null) fut.setException(err);
    else fut.setResult(addresses);
  });
  const hold = loop._ioBegin(true);
  try {
    const found = await fut;
    return found.map((a) => ({ family: a.family === 6 ? 6 : 4, sockaddr: [a.address, p] }));
  } finally {
    hold._release();
  }
}

/** @internal see `EventLoop.getnameinfo` */
export async function getnameinfo(loop: EventLoop, sockaddr: unknown): Promise<[string, string]> {
  if (!Array.isArray(sockaddr) || sockaddr.length < 2 || typeof sockaddr[0] !== "string" || typeof sockaddr[1] !== "number") {
    throw new TypeError(`Expected sockaddr to be [address, port], got ${describe(sockaddr)}`);
  }
  const [address, port] = sockaddr as [string, number];
  const fut = loop.createFuture<[string, string]>();
  fut._label = `getnameinfo(${JSON.stringify(address)})`;
  dns().lookupService(address, port, (err, hostname, service) => {
    if (fut.done()) return;
    if (err !== null) fut.setException(err);
    else fut.setResult([hostname, service]);
  });
  const hold = loop._ioBegin(true);
  try {
    return await fut;
  } finally {
    hold._release();
  }
}

/** @internal see `EventLoop.callSoonThreadsafe` */
export function callSoonThreadsafe(loop: EventLoop, callback: (...args: unknown[]) => void, args: unknown[]): Handle {
  const h = loop.callSoon(callback, ...args);
  loop._wake();
  return h;
}

/** What `runCoroutineThreadsafe` returns: a promise of the task's result that can cancel the task. */
export type ThreadsafeFuture<T> = Promise<T> & {
  /** Cancel the task on its loop (scheduled there); false if it already ended. */
  cancel(msg?: string): boolean;
};

/**
 * Start `fn` as a task on `loop` from code that does not run on that loop (CPython's
 * `run_coroutine_threadsafe`), and return a promise of its result that can also cancel it. The promise
 * always settles: if the loop closes before the task ends (or before it starts), it rejects with a
 * `RuntimeError` ("Event loop is closed: task Task-3 will never finish"), as an outside `await` of a
 * task does at close.
 *
 * @example
 * ```ts
 * import { newEventLoop, runCoroutineThreadsafe, sleep } from "asyncio-ts";
 * const loop = newEventLoop({ virtualTime: true });
 * const done = loop.runForever();
 * const answer = runCoroutineThreadsafe(async () => { await sleep(100); return 42; }, loop);
 * console.log(await answer); // 42
 * loop.stop();
 * await done;
 * loop.close();
 * ```
 */
export function runCoroutineThreadsafe<T>(fn: () => T | PromiseLike<T>, loop: EventLoop): ThreadsafeFuture<Awaited<T>> {
  if (typeof fn !== "function") {
    throw new TypeError(`Expected fn to be a function, got ${describe(fn)} (runCoroutineThreadsafe starts it on the loop: pass () => work(), not work())`);
  }
  if (loop === null || typeof loop !== "object" || typeof (loop as EventLoop).createTask !== "function") {
    throw new TypeError(`Expected loop to be an EventLoop, got ${describe(loop)}`);
  }
  if (loop.isClosed()) throw new RuntimeError("Event loop is closed");
  let resolve!: (v: Awaited<T>) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Awaited<T>>((res, rej) => {
    resolve = res;
    reject = rej;
  }) as ThreadsafeFuture<Awaited<T>>;
  let task: Task<unknown> | null = null;
  /** null: not cancelled; else the message (possibly undefined) */
  let cancelled: string | undefined | null = null;
  /** Invariant: true once the promise is settled; then `unClose` has been called. */
  let settled = false;
  const settleFrom = (d: Task<unknown>): void => {
    if (settled) return;
    settled = true;
    unClose();
    if (d.cancelled()) {
      try {
        d.result();
      } catch (e) {
        reject(e);
      }
    } else if (d._hasException) reject(d.exception()); // (its own state: a function that threw undefined failed)
    else resolve(d.result() as Awaited<T>);
  };
  // The loop may close before the task starts (the callback below is dropped), while it is pending, or
  // with its done callback still queued: the promise settles all the same, as an outside `await` of a
  // task does at close ("Event loop is closed: task X will never finish", `EventLoop.close`). (Such a
  // rejection is marked handled: fire-and-forget calls must not crash the process with an unhandled
  // rejection at close; the pending task is reported as destroyed by the close itself.)
  const unClose = loop._onClose(() => {
    if (settled) return;
    const t = task;
    if (t !== null && t.done()) {
      settleFrom(t);
      return;
    }
    settled = true;
    promise.catch(() => {});
    if (cancelled !== null) reject(new CancelledError(cancelled));
    else if (t === null) reject(new RuntimeError("Event loop is closed: the task of runCoroutineThreadsafe() will never start (the loop closed before running it)"));
    else reject(new RuntimeError(`Event loop is closed: task ${t.getName()} will never finish`));
  });
  callSoonThreadsafe(
    loop,
    () => {
      if (cancelled !== null) {
        settled = true;
        unClose();
        reject(new CancelledError(cancelled));
        return;
      }
      let t: Task<unknown>;
      try {
        t = loop.createTask(async () => await fn());
      } catch (e) {
        // (a task factory that throws: the caller's promise rejects with its error, and the error goes on to
        // the loop's exception handler as any callback's, as CPython's `run_coroutine_threadsafe` callback)
        settled = true;
        unClose();
        reject(e);
        throw e;
      }
      task = t;
      t.addDoneCallback(settleFrom);
    },
    [],
  );
  promise.cancel = (msg?: string): boolean => {
    if (settled || cancelled !== null) return false;
    cancelled = msg;
    if (task !== null) {
      const t = task as { cancel(msg?: string): boolean };
      callSoonThreadsafe(loop, () => void t.cancel(msg), []);
    }
    return true;
  };
  return promise;
}
