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
 * Approach: the body runs in a strand of its own (`task/strand.ts`), which travels with every promise
 * chain the body starts; the scope is that strand's `_level`, so each await made inside it checks whether
 * the scope was cancelled, and `cancel()` delivers to the awaits pending inside it (all of them, in every
 * chain the body started). Rejected: a separate task per scope (changes `currentTask()` and costs a task
 * per scope); a stack of scopes in the task (the previous design: wrong once the body runs several chains).
 *
 * @module
 */
import { CancelledError, RuntimeError, TimeoutError } from "./errors.js";
import { describe } from "./check.js";
import type { TimerHandle } from "./handles.js";
import { getRunningLoop } from "./running.js";
import { callerStrand, currentTask } from "./current.js";
import { Strand, closeStrand, deliverCancel, hasShield, openStrand, runBodyIn } from "./strand.js";
import type { Task } from "./task.js";

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
  /** Invariant: the strand the body runs in, from entry until exit; null otherwise. */
  private _strand: Strand | null = null;
  private _timer: TimerHandle | null = null;
  /** @internal cancellation requests this scope made on its task (undone with uncancel() on exit) */
  _requests = 0;
  private _entered = false;

  constructor(options: CancelScopeOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
    }
    const deadline = options.deadline ?? Infinity;
    if (typeof deadline !== "number" || Number.isNaN(deadline)) {
      throw new TypeError(`Expected deadline to be a number, got ${describe(deadline)}`);
    }
    this._deadline = deadline;
    this._shieldFlag = Boolean(options.shield);
  }

  /** Protects the body from cancellation from outside. May be changed while the scope runs. */
  get shield(): boolean {
    return this._shieldFlag;
  }
  set shield(v: boolean) {
    this._shieldFlag = Boolean(v);
    if (this._strand !== null) this._strand._shield = this._shieldFlag;
  }

  /** The deadline (loop time, ms); `Infinity` for none. Setting it reschedules the scope. */
  get deadline(): number {
    return this._deadline;
  }
  set deadline(when: number) {
    if (typeof when !== "number" || Number.isNaN(when)) {
      throw new TypeError(`Expected deadline to be a number, got ${describe(when)}`);
    }
    this._deadline = when;
    if (this._strand !== null) this._arm();
  }

  /**
   * Cancel the scope: every await pending in the body (in every promise chain it started) and every
   * later one fail with `CancelledError`, except inside an inner shielding scope (until it exits).
   */
  cancel(): void {
    if (this.cancelCalled) return;
    this.cancelCalled = true;
    this._timer?.cancel();
    this._timer = null;
    const s = this._strand;
    if (s === null || s._task.done()) return;
    if (deliverCancel(openStrand(s), "cancel scope") > 0) {
      this._requests++;
      s._task._countCancel("cancel scope");
    }
    // Nothing pending: the next await inside sees the cancelled scope (the strand's level check).
  }

  /**
   * Run `body` inside the scope in the current task. Returns its result, or `undefined` if the scope
   * caught its own cancellation.
   */
  async run<T>(body: (scope: CancelScope) => PromiseLike<T> | T): Promise<T | undefined> {
    if (typeof body !== "function") throw new TypeError(`Expected body to be a function, got ${describe(body)}`);
    if (this._entered) throw new RuntimeError("A CancelScope can be entered only once");
    const task = currentTask();
    if (task === null) throw new RuntimeError("CancelScope must be used inside a task");
    this._entered = true;
    const s = new Strand(callerStrand()!);
    s._level = this;
    s._shield = this._shieldFlag;
    this._strand = s;
    const entryCancelling = task.cancelling();
    this._arm();
    let failed = false;
    let error: unknown;
    let result: T | undefined;
    try {
      result = await runBodyIn(s, body, this);
    } catch (e) {
      failed = true;
      error = e;
    }
    this._exit(s._task);
    if (failed) {
      if (error instanceof CancelledError && this.cancelCalled && task.cancelling() <= entryCancelling) {
        this.cancelledCaught = true;
        return undefined;
      }
      throw error;
    }
    return result;
  }

  private _exit(task: Task<unknown>): void {
    this._timer?.cancel();
    this._timer = null;
    closeStrand(this._strand!);
    this._strand = null;
    for (; this._requests > 0; this._requests--) task.uncancel();
    if (this._shieldFlag && task._deferredCancels !== null && !hasShield(task)) {
      const held = task._deferredCancels;
      task._deferredCancels = null;
      for (const msg of held) task._requestCancel(msg);
    }
  }

  private _arm(): void {
    this._timer?.cancel();
    this._timer = null;
    if (this.cancelCalled || this._deadline === Infinity) return;
    const loop = getRunningLoop();
    if (this._deadline <= loop.time()) this.cancel();
    else this._timer = loop.callAt(this._deadline, () => this.cancel());
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
  if (scope.cancelledCaught) throw new TimeoutError(`failAfter(${ms}) expired`);
  return r as T;
}

function relativeDeadline(ms: number): number {
  if (typeof ms !== "number" || Number.isNaN(ms) || ms < 0) {
    throw new RangeError(`Expected ms to be a non-negative number of milliseconds, got ${describe(ms)}`);
  }
  return getRunningLoop().time() + ms;
}
