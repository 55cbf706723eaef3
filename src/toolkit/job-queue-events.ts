/**
 * The events of a `JobQueue`: `on(event, listener)` returns the function that removes the listener.
 *
 * ## Approach
 * A map from event name to an array of listeners, made on the first `on()`: a queue nobody listens to
 * pays one null check per event. Listeners are called synchronously, in the order they were added, with
 * the event's arguments (the job, its result or error); emitting calls a snapshot of the array, so a
 * listener that adds listeners affects the next emission only (one it removes is not called any more). A listener that throws does
 * not stop the queue or the other listeners: its error goes to the loop's exception handler, as the
 * error of any callback the loop runs (CPython's `call_exception_handler`).
 *
 * ## Rejected alternatives
 * - Extending `node:events`' `EventEmitter` (p-queue 8 and 9 used eventemitter3): a dependency on Node's
 *   module graph for a dozen lines, `error` events that throw when nobody listens, and a warning after
 *   ten listeners, which many `onIdle()` waiters reach in normal use.
 * - `EventTarget` with `CustomEvent` (p-queue 10): an event object per emission (per job, several), the
 *   payload squeezed into `event.detail` (`undefined` turned into `null`), and listener errors reported
 *   through `process`'s `uncaughtException`, out of the loop's reach.
 *
 * @module
 */
import { callReporting, checkFn, checkOptions, describe } from "../core/index.js";

/**
 * Options of `on()`.
 * @example `queue.on("idle", () => console.log("idle"), { once: true, signal: controller.signal })`
 */
export interface JobQueueListenerOptions {
  /** Remove the listener after its first call. */
  once?: boolean | undefined;
  /** Remove the listener when this signal aborts. */
  signal?: AbortSignal | undefined;
}

const LISTENER_OPTIONS = ["once", "signal"];

/** A listener entry; `once` entries remove themselves before their call. */
interface Entry {
  fn: (...args: any[]) => void;
  once: boolean;
  /** set once removed: a listener removed during an emission is not called by it any more */
  removed: boolean;
  off: () => void;
}

/**
 * Listeners by event name. `E` maps each event to its arguments.
 * @internal
 */
export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  /** @internal listeners by event, in the order added; null until the first `on()` */
  _map: Map<keyof E, Entry[]> | null = null;

  /**
   * @param names the event names (an unknown name is a `TypeError` naming them)
   * @param report where a listener's error goes
   */
  constructor(
    private readonly _names: readonly (keyof E & string)[],
    private readonly _report: (error: unknown, event: string) => void,
  ) {}

  /** Add `listener` for `event`; returns the function that removes it (idempotent). */
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void, options?: JobQueueListenerOptions): () => void {
    if (typeof event !== "string" || !this._names.includes(event)) {
      throw new TypeError(`Expected event to be one of ${this._names.map((n) => JSON.stringify(n)).join(", ")}, got ${describe(event)}`);
    }
    checkFn(listener, "listener");
    const o = checkOptions(options, LISTENER_OPTIONS, "on()");
    if (o.once !== undefined && typeof o.once !== "boolean") throw new TypeError(`Expected options.once to be a boolean, got ${describe(o.once)}`);
    const signal = o.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`Expected options.signal to be an AbortSignal, got ${describe(signal)}`);
    }
    if (signal?.aborted === true) return NOOP;
    const map = (this._map ??= new Map());
    let list = map.get(event);
    if (list === undefined) map.set(event, (list = []));
    const entries = list;
    const off = (): void => {
      if (entry.removed) return;
      entry.removed = true;
      const i = entries.indexOf(entry);
      if (i >= 0) entries.splice(i, 1);
      signal?.removeEventListener("abort", off);
    };
    const entry: Entry = { fn: listener, once: o.once === true, removed: false, off };
    entries.push(entry);
    signal?.addEventListener("abort", off, { once: true });
    return off;
  }

  /** The number of listeners of `event`. */
  count(event: keyof E): number {
    return this._map?.get(event)?.length ?? 0;
  }

  /**
   * Call the listeners of `event` with the arguments `a` and `b` (as many of them as the event has: a
   * listener of fewer arguments ignores the rest).
   */
  emit(event: keyof E, a?: unknown, b?: unknown): void {
    const list = this._map?.get(event);
    if (list === undefined || list.length === 0) return;
    for (const entry of list.length === 1 ? [list[0]!] : list.slice()) {
      if (entry.removed) continue;
      if (entry.once) entry.off();
      callReporting(entry.fn, a, b, (error) => this._report(error, event as string));
    }
  }
}

const NOOP = (): void => {};
