/**
 * `timeout(ms, body)` and `timeoutAt(deadline, body)`: CPython's `asyncio.timeout` as a callback scope.
 *
 * The scope has an explicit state (as CPython's `timeouts.py`): CREATED → ENTERED → (EXPIRING →
 * EXPIRED | EXITED). On expiry it cancels the current task; when the body then ends with
 * `CancelledError` and no *other* cancellation is pending (`uncancel()` returns to the count seen on
 * entry), the scope turns it into `TimeoutError`. So an outer timeout or an outer `cancel()` is never
 * mistaken for this one, and with nested equal deadlines only the outermost raises.
 *
 * The callback form (rather than `await using`) is what lets the scope see and replace the body's
 * error.
 *
 * @module
 */
import { CancelledError, ExceptionGroup, RuntimeError, TimeoutError, describe } from "../errors.js";
import type { TimerHandle, Handle } from "../loop/handles.js";
import { getRunningLoop } from "../loop/running.js";
import { currentTask } from "../task/current.js";
import type { Task } from "../task/task.js";

/** The states of a {@link Timeout}, named in its error messages. */
export type TimeoutState = "created" | "active" | "expiring" | "expired" | "finished";

/**
 * A timeout scope, handed to the body of `timeout()`/`timeoutAt()`; use it to read or move the deadline.
 */
export class Timeout {
  private _state: TimeoutState = "created";
  private _when: number | null;
  private _handle: TimerHandle | Handle | null = null;
  private _task: Task<unknown> | null = null;
  private _cancelling = 0;

  /** @param when an absolute loop time in ms, or null for no deadline */
  constructor(when: number | null) {
    if (when !== null && (typeof when !== "number" || Number.isNaN(when))) {
      throw new TypeError(`Expected when to be a number or null, got ${describe(when)}`);
    }
    this._when = when;
  }

  /** The deadline (loop time, ms), or null. */
  when(): number | null {
    return this._when;
  }

  /** The scope's state. */
  get state(): TimeoutState {
    return this._state;
  }

  /** Move the deadline (absolute loop time in ms, or null to disable). Only while the scope is active. */
  reschedule(when: number | null): void {
    if (this._state !== "active") {
      if (this._state === "created") throw new RuntimeError("Timeout has not been entered");
      throw new RuntimeError(`Cannot change state of ${this._state} Timeout`);
    }
    if (when !== null && (typeof when !== "number" || Number.isNaN(when))) {
      throw new TypeError(`Expected when to be a number or null, got ${describe(when)}`);
    }
    this._when = when;
    this._handle?.cancel();
    if (when === null) this._handle = null;
    else {
      const loop = getRunningLoop();
      this._handle = when <= loop.time() ? loop.callSoon(() => this._onTimeout()) : loop.callAt(when, () => this._onTimeout());
    }
  }

  /** True once the deadline passed (the scope is expiring or expired). */
  expired(): boolean {
    return this._state === "expiring" || this._state === "expired";
  }

  /** @internal */
  _enter(): void {
    if (this._state !== "created") throw new RuntimeError("Timeout has already been entered");
    const task = currentTask();
    if (task === null) throw new RuntimeError("Timeout should be used inside a task");
    this._state = "active";
    this._task = task;
    this._cancelling = task.cancelling();
    this.reschedule(this._when);
  }

  /** @internal returns the error to throw (or undefined to rethrow nothing / the same). */
  _exit(failed: boolean, error: unknown): unknown {
    this._handle?.cancel();
    this._handle = null;
    if (this._state === "expiring") {
      this._state = "expired";
      if (this._task!.uncancel() <= this._cancelling && failed) {
        if (error instanceof CancelledError) return new TimeoutError("", { cause: error });
        if (error instanceof ExceptionGroup) {
          for (const e of error.exceptions) addTimeoutContext(e);
        }
      }
    } else if (this._state === "active") {
      this._state = "finished";
    }
    return error;
  }

  private _onTimeout(): void {
    this._task!.cancel();
    this._state = "expiring";
    this._handle = null;
  }

  /** @internal */
  toString(): string {
    return `<Timeout [${this._state}]${this._state === "active" ? ` when=${this._when}` : ""}>`;
  }
}

function addTimeoutContext(e: unknown): void {
  if (e instanceof Error && e.cause === undefined) {
    try {
      (e as { timeoutContext?: boolean }).timeoutContext = true;
    } catch {}
  }
}

async function runIn<T>(t: Timeout, body: (scope: Timeout) => PromiseLike<T> | T): Promise<T> {
  if (typeof body !== "function") throw new TypeError(`Expected body to be a function, got ${describe(body)}`);
  t._enter();
  let result: T;
  try {
    result = await body(t);
  } catch (e) {
    throw t._exit(true, e);
  }
  t._exit(false, undefined);
  return result;
}

/**
 * Run `body` in the current task with a time limit of `ms` milliseconds (`null`: none). On expiry the
 * body is cancelled at its current await and `TimeoutError` is thrown.
 *
 * @example
 * ```ts
 * import { run, timeout, sleep, TimeoutError } from "asyncio-ts";
 * await run(async () => {
 *   try {
 *     await timeout(100, async () => { await sleep(1000); });
 *   } catch (e) {
 *     console.log(e instanceof TimeoutError); // true
 *   }
 * }, { virtualTime: true });
 * ```
 */
export function timeout<T>(ms: number | null, body: (scope: Timeout) => PromiseLike<T> | T): Promise<T> {
  if (ms !== null && (typeof ms !== "number" || Number.isNaN(ms) || ms < 0)) {
    return Promise.reject(new RangeError(`Expected ms to be a non-negative number or null, got ${describe(ms)}`));
  }
  let t: Timeout;
  try {
    t = new Timeout(ms === null ? null : getRunningLoop().time() + ms);
  } catch (e) {
    return Promise.reject(e);
  }
  return runIn(t, body);
}

/**
 * Like `timeout`, with an absolute deadline in loop time (`loop.time()` ms).
 *
 * @example
 * ```ts
 * import { run, timeoutAt, getRunningLoop, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const deadline = getRunningLoop().time() + 50;
 *   console.log(await timeoutAt(deadline, () => sleep(10, "in time"))); // "in time"
 * }, { virtualTime: true });
 * ```
 */
export function timeoutAt<T>(deadline: number | null, body: (scope: Timeout) => PromiseLike<T> | T): Promise<T> {
  let t: Timeout;
  try {
    t = new Timeout(deadline);
  } catch (e) {
    return Promise.reject(e);
  }
  return runIn(t, body);
}
