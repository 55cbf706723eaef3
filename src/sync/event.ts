/**
 * `Event`: CPython's `asyncio.Event`, a flag that tasks wait for.
 *
 * `set()` completes every pending waiter future at once; each waiter unlinks itself when it runs. A
 * waiter woken by `set()` returns `true` even if `clear()` ran before it resumed (in the same step),
 * because its wake-up is its own future's result, not a re-read of the flag: no waiter misses a `set()`.
 *
 * A blocked `wait()` returns its waiter itself, which unlinks itself when the waiting code resumes
 * (`SettlingWaiter`, as `Lock.acquire()` does), not an async function around it: one object and one
 * await per wait instead of a promise, a generator and two awaits. Measured with two tasks taking turns
 * through two Events (`node bench/run.mjs floor`, Node 24): see bench/README.md, "Issue 18's targets".
 *
 * @module
 */
import type { EventLoop } from "../core/index.js";
import { RESOLVED_TRUE, WaiterQueue, type SettlingWaiter } from "./wait-queue.js";
import { abortReason, signalOrRejection, type AbortOptions } from "./abort-signal.js";

/**
 * What `Event.statistics()` reports.
 * @example `const { set, waiters } = ev.statistics();`
 */
export interface EventStatistics {
  /** Whether the flag is set. */
  set: boolean;
  /** Tasks in `wait()`, including woken ones that have not run yet. */
  waiters: number;
}

/**
 * An event flag (CPython's `asyncio.Event`): `wait()` blocks until `set()`.
 *
 * @example
 * ```ts
 * import { run, createTask, sleep, Event } from "asyncio-ts";
 * await run(async () => {
 *   const ready = new Event();
 *   const t = createTask(async () => { await ready.wait(); return "go"; });
 *   await sleep(5);
 *   ready.set();
 *   console.log(await t); // "go"
 * }, { virtualTime: true });
 * ```
 */
export class Event {
  /** @internal the flag */
  _value = false;
  /** @internal tasks in `wait()`; woken ones stay linked until they run */
  readonly _waiters = new WaiterQueue<true>("Event.wait");
  /** @internal the loop waiters are made on; bound on first wait */
  _loop: EventLoop | null = null;

  /**
   * True if the flag is set.
   * @example `if (!ev.isSet()) await ev.wait();`
   */
  isSet(): boolean {
    return this._value;
  }

  /**
   * Set the flag and wake every waiter. Later `wait()` calls return at once until `clear()`.
   * @example `ev.set();`
   */
  set(): void {
    if (this._value) return;
    this._value = true;
    this._waiters.wake(Infinity, true);
  }

  /**
   * Reset the flag; later `wait()` calls block. Waiters already woken by `set()` still return.
   * @example `ev.clear();`
   */
  clear(): void {
    this._value = false;
  }

  /**
   * Wait until the flag is set; resolves to `true` (at once, without yielding, if it already is).
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`)
   * @example `await ev.wait({ signal: AbortSignal.timeout(1000) });`
   */
  wait(options?: AbortOptions): PromiseLike<true> {
    if (options === undefined && this._value) return RESOLVED_TRUE;
    const signal = signalOrRejection(options);
    if (signal instanceof Promise) return signal;
    if (this._value) return RESOLVED_TRUE;
    return this._waiters.waitSettling(this, signal, "Event");
  }

  /** @internal the end of a blocked `wait()`, when the waiting code resumes (CPython's `finally`) */
  _afterWait(w: SettlingWaiter, ok: boolean, value: unknown): unknown {
    this._waiters.remove(w);
    return ok ? true : abortReason(w, value);
  }

  /**
   * For debugging: the flag and how many wait.
   * @example `console.log(ev.statistics()); // { set: false, waiters: 3 }`
   */
  statistics(): EventStatistics {
    return { set: this._value, waiters: this._waiters._size };
  }

  /** @internal */
  toString(): string {
    const extra = this._value ? "set" : "unset";
    return `<Event [${this._waiters._size > 0 ? `${extra}, waiters:${this._waiters._size}` : extra}]>`;
  }
}
