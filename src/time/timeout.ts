/**
 * `timeout(ms, body)` and `timeoutAt(deadline, body)`: CPython's `asyncio.timeout` as a callback scope.
 *
 * The scope has an explicit state (as CPython's `timeouts.py`): CREATED → ENTERED → (EXPIRING →
 * EXPIRED | EXITED). On expiry it cancels the current task; when the body then ends with
 * `CancelledError` and no *other* cancellation is pending (`uncancel()` returns to the count seen on
 * entry), the scope turns it into `TimeoutError`. So an outer timeout or an outer `cancel()` is never
 * mistaken for this one, and with nested equal deadlines only the outermost raises.
 *
 * The body runs in a strand of its own (`core/cancellation.ts`): on expiry the scope cancels the awaits pending
 * in the body, in every promise chain the body started (`timeout(75, () => gather(a(), b()))`), and not
 * the task's other chains; the request is counted on the task (`cancelling()`), as CPython's
 * `task.cancel()` is.
 *
 * The callback form (rather than `await using`) is what lets the scope see and replace the body's
 * error.
 *
 * @module
 */
import { liveCallerStrand, CancelledError, checkFn, checkMsOrNull, describe, ExceptionGroup, getRunningLoop, RuntimeError, ScopeBody, TimeoutError } from "../core/index.js";
import { fmtMs, secondsHint, timedOutMessage } from "../core/errors.js";

/** The states of a {@link Timeout}, named in its error messages. */
export type TimeoutState = "created" | "active" | "expiring" | "expired" | "finished";

/**
 * A timeout scope, handed to the body of `timeout()`/`timeoutAt()`; use it to read or move the deadline.
 */
export class Timeout {
  private _state: TimeoutState = "created";
  private _when: number | null;
  /** Invariant: the body's cancellation state (its strand, the deadline's timer), from entry until exit; null otherwise. */
  private _body: ScopeBody | null = null;
  private _cancelling = 0;
  /** @internal called when the deadline passes, after the body was cancelled (waitFor) */
  _onExpire: (() => void) | null = null;
  /**
   * @internal the time limit as the program gave it, for the `TimeoutError`'s message: `ms` and the call
   * that gave it (`timeout(ms, ...)`, `waitFor(aw, ms)`); null for a deadline (`timeoutAt`, `reschedule`)
   */
  _limit: { ms: number; call: (ms: string) => string } | null = null;
  /** @internal the loop time when the scope was entered (NaN before) */
  _enteredAt = NaN;
  /**
   * The loop time of the last `reschedule()` (the `TimeoutError` then names it, and counts the delay the
   * program gave from there: `reschedule(loop.time() + 0.5)`); NaN while the deadline was never moved.
   */
  private _movedAt = NaN;

  /** @param when an absolute loop time in ms, or null for no deadline */
  constructor(when: number | null) {
    this._when = checkDeadline(when, "when");
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
    this._when = checkDeadline(when, "when");
    const loop = getRunningLoop();
    this._movedAt = loop.time();
    this._setDeadline(loop);
  }

  private _setDeadline(loop = getRunningLoop()): void {
    this._body!.setDeadline(loop, this._when ?? Infinity, () => this._onTimeout(), "soon");
  }

  /** True once the deadline passed (the scope is expiring or expired). */
  expired(): boolean {
    return this._state === "expiring" || this._state === "expired";
  }

  /**
   * @internal enter the scope in the current task; the body will run in `body`'s strand (a new one of the
   * caller's, unless waitFor made one already and moved work into it)
   */
  _enter(body?: ScopeBody): ScopeBody {
    if (this._state !== "created") throw new RuntimeError("Timeout has already been entered");
    const caller = liveCallerStrand(); // (a done task's code still running too)
    if (caller === null) {
      throw new RuntimeError(
        "Timeout should be used inside a task: await it in the function given to await run(async () => { ... }) or in a task " +
          "(createTask(...)), not in a loop's callback or outside a loop",
      );
    }
    this._state = "active";
    const b = body ?? new ScopeBody(caller);
    this._body = b;
    this._cancelling = b.visibleCancelling(); // (the requests of the task's other chains' scopes left out)
    const loop = getRunningLoop();
    this._enteredAt = loop.time();
    this._setDeadline(loop);
    return b;
  }

  /** @internal returns the error to throw (or undefined to rethrow nothing / the same). */
  _exit(failed: boolean, error: unknown): unknown {
    const b = this._body!;
    this._body = null;
    b.close();
    const after = b.takeBack();
    if (this._state === "expiring") {
      this._state = "expired";
      if (after <= this._cancelling && failed) {
        if (error instanceof CancelledError) return new TimeoutError(this._message(), { cause: error });
        if (error instanceof ExceptionGroup) {
          for (const e of error.exceptions) addTimeoutContext(e);
        }
      }
    } else if (this._state === "active") {
      this._state = "finished";
    }
    return error;
  }

  /**
   * What the `TimeoutError` says (CPython's is empty): after how many ms, and below 10 ms whether seconds
   * were meant.
   */
  private _message(): string {
    const moved = !Number.isNaN(this._movedAt);
    if (this._limit !== null && !moved) return timedOutMessage(this._limit.ms, this._limit.call);
    const when = this._when!;
    const after = when - this._enteredAt;
    const call = moved ? `reschedule(${fmtMs(when)})` : `timeoutAt(${fmtMs(when)}, ...)`;
    const entered = `the scope entered at loop time ${fmtMs(this._enteredAt)}`;
    if (after < 0) return `Timed out at once (${call}, ${entered}, after that deadline)`;
    // The seconds hint rewrites the delay the program gave: `reschedule(loop.time() + d)` counts d from
    // the reschedule (not from the entry), `timeoutAt(loop.time() + d)` from about the entry.
    const hint = moved
      ? secondsHint(when - this._movedAt, (d) => `reschedule(loop.time() + ${d})`, ", loop.time() too")
      : secondsHint(after, (d) => `timeoutAt(loop.time() + ${d}, ...)`, ", loop.time() too");
    return `Timed out after ${fmtMs(after)} ms (${call}, ${entered}${hint})`;
  }

  private _onTimeout(): void {
    this._body!.cancel(undefined);
    this._state = "expiring";
    this._onExpire?.();
  }

  /** @internal */
  toString(): string {
    return `<Timeout [${this._state}]${this._state === "active" ? ` when=${this._when}` : ""}>`;
  }
}

/**
 * A deadline (`when`, `deadline`): a loop time in ms, or null for none. NaN (`loop.time() + undefined`)
 * is said to be not a number, which `describe` alone would call "NaN (number)".
 */
function checkDeadline(value: number | null, name: string): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || Number.isNaN(value)) {
    const got = typeof value === "number" ? "NaN (not a number)" : describe(value);
    throw new TypeError(`Expected ${name} to be a number of ms (loop time) or null, got ${got}`);
  }
  return value;
}

function addTimeoutContext(e: unknown): void {
  if (e instanceof Error && e.cause === undefined) {
    try {
      (e as { timeoutContext?: boolean }).timeoutContext = true;
    } catch {}
  }
}

/** @internal run `body` under `t` (in `strand` when given: see waitFor) */
export async function runIn<T>(t: Timeout, body: (scope: Timeout) => PromiseLike<T> | T, scope?: ScopeBody): Promise<T> {
  checkFn(body, "body");
  const b = t._enter(scope);
  let result: T;
  try {
    result = await b.runBody(body, t, "a timeout");
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
  return limited(ms, body, TIMEOUT_CALL);
}

const TIMEOUT_CALL = (ms: string): string => `timeout(${ms}, ...)`;

/**
 * @internal `timeout(ms, body)`, its `TimeoutError` naming the call that gave `ms` (`call` writes it
 * with a given delay: `waitFor(..., 500)`)
 */
export function limited<T>(ms: number | null, body: (scope: Timeout) => PromiseLike<T> | T, call: (ms: string) => string): Promise<T> {
  let t: Timeout;
  try {
    const d = checkMsOrNull(ms, "ms");
    t = new Timeout(d === null ? null : getRunningLoop().time() + d);
    if (d !== null) t._limit = { ms: d, call };
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
    t = new Timeout(checkDeadline(deadline, "deadline"));
  } catch (e) {
    return Promise.reject(e);
  }
  return runIn(t, body);
}
