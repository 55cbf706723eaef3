/**
 * Waiting on the loop for a Node event: a socket's `connect`/`secureConnect`, a TLS handshake, a child's
 * `spawn`.
 *
 * ## Approach
 * One future of the loop, completed by the event (or failed by `error`, by an event that means the wait
 * can no longer succeed, such as `close` during a handshake, or by a deadline timer of the loop), awaited
 * by the caller: so a timeout or a cancelled task abandons the wait at once, and an `AbortSignal` does the
 * same and raises its reason. While it waits, the wait holds virtual time as I/O in flight
 * (`EventLoop._ioBegin`). Whatever way the wait fails, `onFail` undoes what the caller started (destroys
 * the half-made socket, gives up the child), and every listener is removed.
 *
 * Rejected: `events.once(emitter, name, { signal })`: a native promise, which a task's cancellation
 * cannot reach (it would only be wrapped, and the socket left half-made), and which rejects with an
 * `AbortError` rather than the signal's reason. The three copies this module replaces (connect, TLS
 * handshake, spawn) each wrote the same listener bookkeeping.
 *
 * @module
 */
import type { EventEmitter } from "node:events";
import { CancelledError, type EventLoop } from "../core/index.js";

/** What `awaitEvent` listens on: a socket, a TLS socket, a child process. @internal */
export type EventSource = Pick<EventEmitter, "once" | "off">;

/** How `awaitEvent` waits. @internal */
export interface EventWait {
  /** The future's label (what `dumpTasks` shows the task awaiting). */
  label: string;
  /** Events that end the wait with an error they make (the `error` event always does, with its error). */
  failOn?: ReadonlyArray<readonly [event: string, error: () => Error]>;
  /** A deadline in ms after which the wait fails with `timeoutError()`; null for none. */
  timeoutMs?: number | null;
  timeoutError?: () => Error;
  /** Abandon the wait when this aborts (the wait rejects with its reason). */
  signal?: AbortSignal | undefined;
  /** Called once when the wait fails or is cancelled, before the error propagates. */
  onFail: () => void;
}

/**
 * Wait on `loop` for `source` to emit `event`.
 * @internal
 */
export async function awaitEvent(loop: EventLoop, source: EventSource, event: string, how: EventWait): Promise<void> {
  const fut = loop.createFuture<void>();
  fut._label = how.label;
  const ok = (): void => {
    if (!fut.done()) fut.setResult(undefined);
  };
  const fail = (e: Error): void => {
    if (!fut.done()) fut.setException(e);
  };
  const abort = (): void => {
    if (!fut.done()) fut.cancel();
  };
  const failOn = (how.failOn ?? []).map(([name, error]) => [name, () => fail(error())] as const);
  source.once(event, ok);
  source.once("error", fail);
  for (const [name, listener] of failOn) source.once(name, listener);
  const { signal } = how;
  signal?.addEventListener("abort", abort, { once: true });
  const ms = how.timeoutMs ?? null;
  const timer = ms === null ? null : loop.callLater(ms, () => fail(how.timeoutError!()));
  const hold = loop._ioBegin(true);
  try {
    await fut;
  } catch (e) {
    how.onFail();
    if (e instanceof CancelledError && signal?.aborted === true && fut.cancelled()) throw signal.reason;
    throw e;
  } finally {
    hold._release();
    timer?.cancel();
    source.off(event, ok);
    source.off("error", fail);
    for (const [name, listener] of failOn) source.off(name, listener);
    signal?.removeEventListener("abort", abort);
  }
}
