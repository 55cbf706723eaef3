/**
 * Trio-style cancel scopes on asyncio's task cancellation.
 *
 * A scope is a region of one task's code that can be cancelled as a unit: by `scope.cancel()`, by its
 * deadline, or (for a scope without `shield`) by `task.cancel()` from outside. Unlike a bare
 * `task.cancel()`, a scope's cancellation is *level-triggered*: every await inside the cancelled scope
 * fails with `CancelledError` until the scope exits, so a body that swallows one `CancelledError` cannot
 * keep running by accident. The scope catches its own cancellation on exit (`cancelledCaught`), and
 * only its own: cancellations from outside keep propagating (counted with `cancelling()`/`uncancel()`,
 * as asyncio's `timeout` does).
 *
 * `shield: true` blocks cancellation coming from outside the scope (an outer scope, a timeout,
 * `task.cancel()`): requests made meanwhile are held back and delivered when the scope exits, so shielded
 * work (a final save, a graceful close) is never orphaned the way `asyncio.shield`'s inner task can be.
 *
 * Approach: the body runs in a strand of its own (a `ScopeBody`, `cancellation.ts`), which travels with
 * every promise chain the body starts; the strand is level-triggered, so each await made inside it checks whether
 * the scope was cancelled, and `cancel()` delivers to the awaits pending inside it (all of them, in every
 * chain the body started). Rejected: a separate task per scope (changes `currentTask()` and costs a task
 * per scope); a stack of scopes in the task (the previous design: wrong once the body runs several chains).
 *
 * @module
 */
import { CancelledError, RuntimeError, secondsHint, TimeoutError } from "./errors.js";
import { checkFn, checkMs, checkOptions, checkTime } from "./check.js";
import { getRunningLoop } from "./running.js";
import { callerStrand, currentTask } from "./current.js";
import { ScopeBody } from "./scope-body.js";

/** Options of a cancel scope. */
export interface CancelScopeOptions {
  /** Absolute loop time (ms) at which the scope cancels itself; `Infinity` (default) for never. */
  deadline?: number;
  /** Protect the scope's body from cancellation coming from outside it. */
  shield?: boolean;
}

/**
 * A region of a task that can be cancelled as a unit (Trio's `CancelScope`).
 *
 * @example
 * ```ts
 * import { run, CancelScope, sleep, getRunningLoop } from "asyncio-ts";
 * await run(async () => {
 *   const scope = new CancelScope({ deadline: getRunningLoop().time() + 100 });
 *   const r = await scope.run(async () => { await sleep(1000); return "finished"; });
 *   console.log(r, scope.cancelledCaught); // undefined true
 * }, { virtualTime: true });
 * ```
 */
export class CancelScope {
  private _shieldFlag: boolean;
  /** True once the scope was cancelled (by `cancel()` or its deadline). */
  cancelCalled = false;
  /** True if the scope caught its own cancellation when it exited. */
  cancelledCaught = false;
  private _deadline: number;
  /** Invariant: the body's cancellation state (its strand, this scope's requests), from entry until exit; null otherwise. */
  private _body: ScopeBody | null = null;
  private _entered = false;

  constructor(options: CancelScopeOptions = {}) {
    checkOptions(options, ["deadline", "shield"], "CancelScope");
    this._deadline = checkTime(options.deadline ?? Infinity, "deadline");
    this._shieldFlag = Boolean(options.shield);
  }

  /** Protects the body from cancellation from outside. May be changed while the scope runs. */
  get shield(): boolean {
    return this._shieldFlag;
  }
  set shield(v: boolean) {
    this._shieldFlag = Boolean(v);
    if (this._body !== null) this._body.strand._shield = this._shieldFlag;
  }

  /** The deadline (loop time, ms); `Infinity` for none. Setting it reschedules the scope. */
  get deadline(): number {
    return this._deadline;
  }
  set deadline(when: number) {
    this._deadline = checkTime(when, "deadline");
    if (this._body !== null) this._arm(this._body);
  }

  /**
   * Cancel the scope: every await pending in the body (in every promise chain it started) and every
   * later one fail with `CancelledError`, except inside an inner shielding scope (until it exits).
   */
  cancel(): void {
    if (this.cancelCalled) return;
    this.cancelCalled = true;
    const b = this._body;
    if (b === null) return;
    b.disarm();
    b.cancelLevel();
  }

  /**
   * Run `body` inside the scope in the current task. Returns its result, or `undefined` if the scope
   * caught its own cancellation.
   */
  async run<T>(body: (scope: CancelScope) => PromiseLike<T> | T): Promise<T | undefined> {
    checkFn(body, "body");
    if (this._entered) throw new RuntimeError("A CancelScope can be entered only once");
    const task = currentTask();
    if (task === null) throw new RuntimeError("CancelScope must be used inside a task");
    this._entered = true;
    const b = new ScopeBody(callerStrand()!, true, this._shieldFlag);
    this._body = b;
    const entryCancelling = task.cancelling();
    if (this.cancelCalled) b.cancelLevel();
    else this._arm(b);
    let failed = false;
    let error: unknown;
    let result: T | undefined;
    try {
      result = await b.runBody(body, this, "a CancelScope");
    } catch (e) {
      failed = true;
      error = e;
    }
    this._body = null;
    b.close();
    const after = b.takeBack();
    if (failed) {
      if (error instanceof CancelledError && this.cancelCalled && after <= entryCancelling) {
        this.cancelledCaught = true;
        return undefined;
      }
      throw error;
    }
    return result;
  }

  private _arm(b: ScopeBody): void {
    if (this.cancelCalled) return;
    b.setDeadline(getRunningLoop(), this._deadline, () => this.cancel(), "now");
  }
}

/**
 * Run `body`; if it is still running after `ms` milliseconds, cancel it and return `undefined`
 * (Trio's `move_on_after`). No error is raised.
 *
 * @example
 * ```ts
 * import { run, moveOnAfter, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const r = await moveOnAfter(100, async () => { await sleep(1000); return "slow"; });
 *   console.log(r); // undefined
 * }, { virtualTime: true });
 * ```
 */
export async function moveOnAfter<T>(ms: number, body: (scope: CancelScope) => PromiseLike<T> | T): Promise<T | undefined> {
  return await new CancelScope({ deadline: relativeDeadline(ms) }).run(body);
}

/**
 * Like `moveOnAfter` but with an absolute deadline (loop time, ms).
 * @example `await moveOnAt(getRunningLoop().time() + 100, () => work())`
 */
export async function moveOnAt<T>(deadline: number, body: (scope: CancelScope) => PromiseLike<T> | T): Promise<T | undefined> {
  return await new CancelScope({ deadline }).run(body);
}

/**
 * Run `body`; if it is still running after `ms` milliseconds, cancel it and throw `TimeoutError`
 * (Trio's `fail_after`).
 *
 * @example
 * ```ts
 * import { run, failAfter, sleep, TimeoutError } from "asyncio-ts";
 * await run(async () => {
 *   try { await failAfter(100, () => sleep(1000)); } catch (e) { console.log(e instanceof TimeoutError); } // true
 * }, { virtualTime: true });
 * ```
 */
export async function failAfter<T>(ms: number, body: (scope: CancelScope) => PromiseLike<T> | T): Promise<T> {
  const scope = new CancelScope({ deadline: relativeDeadline(ms) });
  const r = await scope.run(body);
  if (scope.cancelledCaught) {
    // (below 10 ms, it asks whether seconds were meant: errors.ts)
    const hint = secondsHint(ms, (d) => `failAfter(${d}, ...)`);
    throw new TimeoutError(`failAfter(${ms}) expired${hint === "" ? "" : ` after ${ms} ms (${hint.slice(2)})`}`);
  }
  return r as T;
}

function relativeDeadline(ms: number): number {
  return getRunningLoop().time() + checkMs(ms, "ms");
}
