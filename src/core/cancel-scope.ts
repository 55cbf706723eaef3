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
 * A `TaskGroup`'s `cancelScope` is such a scope whose body is the group's (`_open`/`_close`, used by
 * `CancelScope.run` and by the group alike): the group's strand is the scope's, and `cancel()` tells the
 * group to cancel its tasks (`ScopeCancelListener`).
 *
 * `currentEffectiveDeadline()` (Trio's `current_effective_deadline`) walks from the strand of the calling
 * code up through the scopes around it: each scope's body records its deadline on its strand
 * (`ScopeBody.setDeadline`, for `timeout` as for `CancelScope`), a cancelled `CancelScope` answers
 * `-Infinity`, a shield stops the walk. At a task's root the walk continues in the strand an open TaskGroup
 * binds the task to (`TaskHost`), since the group's cancellation is the task's. Rejected: a deadline kept
 * per task (a stack again: wrong for a body that runs several chains, each in its own scopes).
 *
 * @module
 */
import { CancelledError, RuntimeError, secondsHint, TimeoutError } from "./errors.js";
import { checkFn, checkMs, checkOptions, checkTime } from "./check.js";
import { getRunningLoop } from "./running.js";
import { callerStrand, liveCallerStrand, type StrandLike } from "./current.js";
import { ScopeBody } from "./scope-body.js";
import { openStrand, outerLevelCancelled, unshieldStrand, type Strand } from "./cancellation.js";
import type { Task } from "./task.js";
import type { EventLoop } from "./event-loop.js";

/**
 * @internal what else a scope's `cancel()` cancels while the scope is open: a TaskGroup's tasks (an
 * interface, not a closure: a group pays no extra object for its scope)
 */
export interface ScopeCancelListener {
  _scopeCancelled(): void;
}

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
  /** Invariant: while the scope is open, what else its `cancel()` cancels (a TaskGroup's tasks), or null. */
  private _onCancel: ScopeCancelListener | null = null;
  private _entered = false;

  constructor(options?: CancelScopeOptions) {
    if (options === undefined) {
      // (the common case, a TaskGroup's scope: nothing to check)
      this._deadline = Infinity;
      this._shieldFlag = false;
      return;
    }
    checkOptions(options, ["deadline", "shield"], "CancelScope");
    this._deadline = checkTime(options.deadline ?? Infinity, "deadline");
    this._shieldFlag = Boolean(options.shield);
  }

  /** Protects the body from cancellation from outside. May be changed while the scope runs. */
  get shield(): boolean {
    return this._shieldFlag;
  }
  set shield(v: boolean) {
    const was = this._shieldFlag;
    this._shieldFlag = Boolean(v);
    if (this._body === null) return;
    // (unshielded while it runs: a cancellation from outside reaches the awaits pending now, as Trio's)
    if (was && !this._shieldFlag) unshieldStrand(this._body.strand);
    else this._body.strand._shield = this._shieldFlag;
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
   * later one fail with `CancelledError`, except inside an inner shielding scope (until it exits). The
   * scope of a `TaskGroup` (`tg.cancelScope`) cancels the group's tasks as well.
   */
  cancel(): void {
    if (this.cancelCalled) return;
    this.cancelCalled = true;
    const b = this._body;
    if (b === null) return;
    b.disarm();
    b.cancelLevel();
    this._onCancel?._scopeCancelled();
  }

  /**
   * Run `body` inside the scope in the current task. Returns its result, or `undefined` if the scope
   * caught its own cancellation.
   */
  async run<T>(body: (scope: CancelScope) => PromiseLike<T> | T): Promise<T | undefined> {
    checkFn(body, "body");
    if (this._entered) throw new RuntimeError("A CancelScope can be entered only once");
    const caller = liveCallerStrand(); // (a done task's code still running too)
    if (caller === null) throw new RuntimeError("CancelScope must be used inside a task");
    const b = this._open(caller, null);
    const entryCancelling = b.visibleCancelling();
    let failed = false;
    let error: unknown;
    let result: T | undefined;
    try {
      result = await b.runBody(body, this, "a CancelScope");
    } catch (e) {
      failed = true;
      error = e;
    }
    if (this._close(failed, error, entryCancelling)) return undefined;
    if (failed) throw error;
    return result;
  }

  /**
   * @internal enter the scope: its body (a strand below `parent`), armed with the deadline, or cancelled
   * already if `cancel()` came first; `onCancel` is told of a later `cancel()` while the scope is open (a
   * TaskGroup cancels its tasks then). Its owner runs the code inside (`CancelScope.run`, a TaskGroup).
   */
  _open(parent: StrandLike, onCancel: ScopeCancelListener | null): ScopeBody {
    if (this._entered) throw new RuntimeError("A CancelScope can be entered only once");
    this._entered = true;
    const b = new ScopeBody(parent, true, this._shieldFlag);
    this._body = b;
    this._onCancel = onCancel;
    if (this.cancelCalled) b.cancelLevel();
    else this._arm(b);
    return b;
  }

  /**
   * @internal the scope exits, its code having ended with `error` if `failed`: the body's strand closes and
   * the scope takes its requests back. Returns true if the scope caught its own cancellation (`error` is
   * the `CancelledError` it caused, and no cancellation from outside, counted since `entryCancelling`, is
   * pending): the owner then swallows it.
   */
  _close(failed: boolean, error: unknown, entryCancelling: number): boolean {
    const b = this._body!;
    this._body = null;
    this._onCancel = null;
    b.close();
    const after = b.takeBack();
    // (with a cancelled Trio scope around it visible, the outer one catches: Trio's rule)
    if (failed && error instanceof CancelledError && this.cancelCalled && after <= entryCancelling && !outerLevelCancelled(b.strand)) {
      this.cancelledCaught = true;
      return true;
    }
    return false;
  }

  private _arm(b: ScopeBody): void {
    if (this.cancelCalled) return;
    if (this._deadline === Infinity) b.setDeadline(null, Infinity, null, "now");
    else b.setDeadline(getRunningLoop(), this._deadline, () => this.cancel(), "now");
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

/**
 * @internal an open TaskGroup, which binds its tasks to a strand of its parent task: their cancellation
 * comes from the group, so the scopes around that strand (the group's own `cancelScope`, and what
 * encloses the group) are theirs too. A task of `tg.start()` not started yet is bound to the strand of
 * `start()`'s caller instead. Returns undefined for a task that is not the group's.
 */
export interface TaskHost {
  _hostOf(task: Task<unknown>): StrandLike | undefined;
}

/**
 * Invariant: per loop, the TaskGroups open on it (added at entry, removed at exit). Rejected: a WeakMap
 * entry per child task (measured: a group of 100,000 trivial tasks took about 1.6x the CPU time, by
 * `process.cpuUsage()`, Node 20; this registry costs a group two Set operations and its tasks nothing),
 * and a field on `Task` (the hot path's object). The lookup, made only by `currentEffectiveDeadline`,
 * asks each open group of the task's loop.
 */
const openHosts = new WeakMap<EventLoop, Set<TaskHost>>();

/** @internal a TaskGroup opens on `loop` */
export function addTaskHost(loop: EventLoop, host: TaskHost): void {
  let set = openHosts.get(loop);
  if (set === undefined) openHosts.set(loop, (set = new Set()));
  set.add(host);
}

/** @internal a TaskGroup exits */
export function removeTaskHost(loop: EventLoop, host: TaskHost): void {
  openHosts.get(loop)?.delete(host);
}

/** The strand `task` is bound to by an open TaskGroup, if any. */
function hostOf(task: Task<unknown>): StrandLike | undefined {
  const set = openHosts.get(task._loop);
  if (set !== undefined) {
    for (const h of set) {
      const s = h._hostOf(task);
      if (s !== undefined) return s;
    }
  }
  return undefined;
}

/**
 * The earliest deadline (loop time, ms) of the cancel scopes and `timeout`s enclosing the code that calls
 * it (Trio's `current_effective_deadline`): `Infinity` if none has one, `-Infinity` if one of them is a
 * `CancelScope` already cancelled (the next await fails). A shielding scope hides the deadlines outside
 * it. The scopes of a `TaskGroup` enclose its tasks (its `cancelScope`, and what encloses the group: they
 * cancel the tasks through the group), those of a plain `createTask` do not (asyncio's tasks are
 * independent). A `timeout()` that expired gives its deadline (its cancellation is asyncio's, delivered
 * once, not a state). Throws `RuntimeError` outside a task (Trio's rule; a loop callback is no task, and
 * no scope encloses it).
 *
 * @example
 * ```ts
 * import { run, timeout, CancelScope, currentEffectiveDeadline, getRunningLoop } from "asyncio-ts";
 * await run(async () => {
 *   console.log(currentEffectiveDeadline()); // Infinity
 *   await timeout(500, async () => {
 *     console.log(currentEffectiveDeadline() - getRunningLoop().time()); // 500
 *     await new CancelScope({ shield: true }).run(() => {
 *       console.log(currentEffectiveDeadline()); // Infinity: the shield hides the timeout
 *     });
 *   });
 * }, { virtualTime: true });
 * ```
 */
export function currentEffectiveDeadline(): number {
  const s = callerStrand();
  if (s === null) {
    throw new RuntimeError(
      "currentEffectiveDeadline() must be called inside a task (in the function given to run() or to createTask()), not in a loop's callback or outside a loop",
    );
  }
  return effectiveDeadline(s);
}

/** The effective deadline of code running in `from` (see `currentEffectiveDeadline`). */
function effectiveDeadline(from: StrandLike): number {
  let d = Infinity;
  let x: StrandLike | undefined = openStrand(from);
  while (x !== undefined) {
    if (x === x._task) {
      const host = hostOf(x._task);
      x = host === undefined ? undefined : openStrand(host);
      continue;
    }
    const st: Strand = x as Strand;
    if (st._level !== null && st._level.cancelCalled) return -Infinity;
    if (st._deadline < d) d = st._deadline;
    if (st._shield) break;
    x = st._sparent;
  }
  return d;
}
