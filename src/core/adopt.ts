/**
 * Taking over running work: a promise that the calling task's code made becomes a task, or part of a
 * strand, so that cancellation reaches the awaits inside it.
 *
 * ## Approach
 * In JavaScript, `gather(a(), b())` calls `a()` and `b()` before `gather` sees their promises: each has run
 * up to its first await, in the caller's strand. When the promise was made in the caller's current
 * synchronous run (the natural forms: `gather(a(), b())`, `shield(save())`, `waitFor(fetchIt(), 500)`), the
 * promises that the async function made in its synchronous part are still in that run's log
 * (`current.ts`), and re-tagging them moves all of the function's later code to the new task or strand:
 * its awaits are registered there, cancelling that task or strand cancels them, and a shield around it
 * protects them. The task is CPython's eager task: made when the combinator sees the coroutine, its first
 * step already run (the driver waits for that step to end, as it does for any step).
 *
 * Work that has not awaited anything of ours may be foreign (`fetch()`'s promise is made by task code
 * too): such a task holds virtual time until its first await of ours (as `fromPromise` does), and a
 * cancellation that finds nothing of ours to cancel gives it up one iteration later, as CPython gives up a
 * plain future: the combinator goes on, the work runs on unobserved (its error, if any, is reported).
 *
 * A promise made in an earlier run (`const p = a(); await x; await gather(p)`) or outside every task
 * cannot be taken over: its work stays where it is (`fromPromise`): cancelling the combinator stops
 * waiting for it, and the task's own cancellation still reaches the work's awaits, where they are.
 *
 * @module
 */
const { types } = process.getBuiltinModule("node:util");
import { CancelledError } from "./errors.js";
import type { EventLoop } from "./event-loop.js";
import { findWork, liveCallerStrand, loggedAt, NO_LIMIT, PENDING_TAKE, retagRange, runInStrand, strandOf, TAKEN, WORK_OF, type StrandLike, type Taken, type Work } from "./current.js";
import { Task, settleTaskWith } from "./task.js";
import { F_AWAITED, F_FIRST_STEP } from "./task-flags.js";
import { giveUpPendingCancel, moveAwait, REG_LIVE, reparentStrand, type Strand } from "./cancellation.js";
import { CHAIN_OF, type Chain } from "./chain.js";

/**
 * A task made from a promise whose work was already running.
 * @internal
 */
export class AdoptedTask<T> extends Task<T> {
  /** @internal set when a cancellation gave the work up (see the module comment) */
  _abandoned = false;

  /** @internal the promises this work was derived from, which other tasks took over (see `adoptIntoTask`) */
  _sources: object[] | null = null;

  override cancel(msg?: string): boolean {
    const r = super.cancel(msg);
    if (r && this._sources !== null) {
      for (const p of this._sources) {
        const taken = (p as Taken)[TAKEN];
        const t = taken !== undefined && taken !== PENDING_TAKE ? taken : (p as Taken)[WORK_OF];
        if (t !== undefined) t.cancel(msg);
      }
    }
    if (r && this._sources === null && this._mustCancel && (this._flags & F_AWAITED) === 0 && this._nreg === 0) {
      // Nothing of ours pending, and never was: give it up one iteration later (its first await of ours,
      // made in this run's microtasks, may still come and take the cancellation).
      this._loop._soon(() => {
        if (this.done() || (this._flags & F_AWAITED) !== 0 || this._nreg > 0) return;
        this._abandoned = true;
        const msg = giveUpPendingCancel(this as AdoptedTask<unknown>);
        this._releaseHold();
        this._finishCancelled(msg);
      });
    }
    return r;
  }

  /** @internal the work failed after it was given up: report it (nothing is lost silently) */
  override _fail(error: unknown): void {
    if (this._abandoned && !(error instanceof CancelledError)) {
      this._loop.callExceptionHandler({
        message: `The work of ${this._repr()}, given up when it was cancelled, failed later`,
        exception: error,
      });
    }
    super._fail(error);
  }

}

/** Where the last successful search of the log ended: the next promise is usually after it. */
let hint = 0;

/** What `adoptable` found: the strand the work runs in, and the work. */
interface Adoptable {
  from: StrandLike;
  work: Work;
}
/**
 * `adoptable`'s answer, reused (its callers read it before they search again): no object per argument of
 * a long `gather` (`findWork` reuses its simplest answer the same way).
 */
const found: Adoptable = { from: null as unknown as StrandLike, work: null as unknown as Work };

/** The task `reparentToTask` hands strands to (set around one `retagWork`; no closure per takeover). */
let reparentTarget: Task<unknown> | null = null;
function reparentToTask(k: Strand): void {
  reparentStrand(k, reparentTarget!);
}

/**
 * The caller's strand, if `promise` was made by that strand's task in the current run: then its work can
 * be taken over. Returns the strand the promise's work runs in (`from`) and where in the log it lies.
 */
function adoptable(promise: object, limit: number): Adoptable | null {
  const cur = liveCallerStrand(); // (a done task's code still running too: its work is taken over)
  if (cur === null) return null;
  const from = strandOf(promise);
  if (from === undefined || from._task !== cur._task) return null;
  const work = findWork(promise, hint, limit);
  if (work === null) return null;
  hint = work.at + 2;
  found.from = from;
  found.work = work;
  return found;
}

/**
 * Re-tag every range of `work` from `from` to `to`; the await of a `fut.then(cb)` chain whose promise is
 * part of the work (`lock.acquire().then(f).then(g)`) moves along.
 */
function retagWork(work: Work, from: StrandLike, to: StrandLike, reparent: (s: Strand) => void): void {
  const r = work.ranges;
  for (let i = 0; i < r.length; i += 2) {
    retagRange(r[i]!, r[i + 1]!, from, to, reparent);
    for (let k = r[i]!; k < r[i + 1]!; k += 2) {
      const c = (loggedAt(k) as { [CHAIN_OF]?: Chain<unknown> })[CHAIN_OF];
      if (c !== undefined && c._reg === REG_LIVE && c._strand !== null && c._strand._task === from._task && c._strand !== to) moveAwait(c, to);
    }
  }
}

/**
 * Make a task of `promise`'s work, if it can be taken over (see the module comment); else null.
 * @param limit where this promise's work surely ends (`workLimits`: the next promise handed to the same
 *   combinator begins there), or `NO_LIMIT`
 * @internal
 */
export function adoptIntoTask<T>(promise: Promise<T>, loop: EventLoop, limit: number): Task<T> | null {
  // the same promise handed over again is the same task (gather(p, p), ensureFuture(p) twice)
  const prev = (promise as Marked)[ADOPTED];
  if (prev !== undefined && prev !== PENDING_TAKE) return prev._loop === loop ? (prev as Task<T>) : null;
  const a = adoptable(promise, limit);
  if (a === null || a.from._task._loop !== loop) return null;
  const task = new AdoptedTask<T>(null, undefined, loop, true);
  task._flags = F_FIRST_STEP;
  reparentTarget = task as Task<unknown>;
  retagWork(a.work, a.from, task, reparentToTask);
  reparentTarget = null;
  // the sources whose work came along (`a` in `a.then(f)`) are this task's work from now on
  const r = a.work.ranges;
  for (let i = 2; i < r.length; i += 2) {
    const src = loggedAt(r[i]!) as Taken;
    if (src[TAKEN] === undefined && src[WORK_OF] === undefined) src[WORK_OF] = task as Task<unknown>;
  }
  // a promise whose work another task already holds waits for that task
  const held = (promise as Taken)[WORK_OF];
  if (held !== undefined && held !== (task as Task<unknown>) && !a.work.sources.includes(promise)) a.work.sources = [...a.work.sources, promise];
  // Work derived from promises other tasks took over (`gather(a, a.then(f))`) waits for those tasks: they
  // drive virtual time, and cancelling this one cancels them, as cancelling a task that awaits a task
  // does in CPython. Other work may be foreign until it awaits something of ours: it holds the clock.
  if (a.work.sources.length > 0) task._sources = [...a.work.sources];
  else if ((task._flags & F_AWAITED) === 0) task._holdClock(); // (unless an await of ours moved in)
  loop._beginAdoptedStep(task);
  runInStrand(task, settleTaskWith, promise as Promise<unknown>);
  (promise as Marked)[ADOPTED] = task;
  return task;
}

/**
 * The chain of `fut.then(cb)` that the calling task's code made (inside a task, `then` counts as awaiting:
 * the chain is registered in the caller's strand) and hands to a combinator (`gather(lock.acquire().then(
 * f))`): if it is still waiting, a task takes it over, as CPython's task would run `f(await fut)`: its
 * registration moves to the task, so cancelling the task reaches the future, and the task ends with the
 * chain's outcome. Null if `chain` is not such a chain.
 * @internal
 */
export function adoptChainIntoTask<T>(chain: Chain<T>, loop: EventLoop): Task<T> | null {
  const prev = (chain as Marked)[ADOPTED];
  if (prev !== undefined && prev !== PENDING_TAKE) return prev._loop === loop ? (prev as Task<T>) : null;
  const to = adoptableChain(chain);
  if (to === null || to._loop !== loop) return null;
  const task = new AdoptedTask<T>(null, undefined, loop, true);
  moveAwait(chain as Chain<unknown>, task as Task<unknown>);
  runInStrand(task as Task<unknown>, settleWithChain, chain as Chain<unknown>);
  (chain as Marked)[ADOPTED] = task;
  return task;
}

/** The task of the caller, if `chain` is a live await that the caller's task registered; else null. */
function adoptableChain(chain: Chain<unknown>): Task<unknown> | null {
  const cur = liveCallerStrand();
  if (cur === null || chain._reg !== REG_LIVE || chain._strand === null) return null;
  return chain._strand._task === cur._task ? cur._task : null;
}

function settleWithChain(chain: Chain<unknown>): void {
  settleTaskWith(chain.then());
}

/**
 * Move the chain of `fut.then(cb)` that the caller's task made into strand `to` of the same task (waitFor),
 * if it is such a chain; returns whether it was.
 * @internal
 */
export function adoptChainIntoStrand(chain: Chain<unknown>, to: Strand): boolean {
  const task = adoptableChain(chain);
  if (task === null || to._task !== task) return false;
  moveAwait(chain, to);
  return true;
}

const ADOPTED: typeof TAKEN = TAKEN;
type Marked = Taken;

/**
 * Move `promise`'s work into strand `to` of the same task (waitFor), if it can be taken over; returns
 * whether it was.
 * @internal
 */
export function adoptIntoStrand(promise: object, to: Strand, limit: number): boolean {
  const a = adoptable(promise, limit);
  if (a === null) return false;
  retagWork(a.work, a.from, to, (k: Strand) => {
    if (k !== to) reparentStrand(k, to);
  });
  return true;
}

/**
 * A scope's body returned `r`: the promises that it awaits which this synchronous run made before the
 * scope began (`const a = w(); await timeout(20, async () => await a)`, `timeout(20, () => g)`) are work
 * of the enclosing strand, and become the scope's (`to`'s), as CPython's `async with timeout(): await t`
 * cancels the task `t` it awaits. Work the body made itself is in `to` already.
 * @internal
 */
export function takeSourcesInto(r: unknown, to: Strand): void {
  if (!types.isPromise(r)) return;
  const from = to._sparent;
  const work = findWork(r as object, hint, NO_LIMIT);
  if (work === null) return;
  retagWork(work, from, to, (k: Strand) => {
    if (k !== to) reparentStrand(k, to);
  });
}

/**
 * A combinator is about to take over `promises` one by one: until each is taken, it is no earlier
 * argument's work (`gather(b.then(f), b)`: `b` becomes a task of its own, which the first waits for).
 * `unmarkArguments` clears the marks of those that could not be taken over.
 * @internal
 */
export function markArguments(promises: readonly unknown[]): void {
  for (const p of promises) if (types.isPromise(p) && (p as Marked)[ADOPTED] === undefined) (p as Marked)[ADOPTED] = PENDING_TAKE;
}

/** @internal see `markArguments` */
export function unmarkArguments(promises: readonly unknown[]): void {
  for (const p of promises) if (types.isPromise(p) && (p as Marked)[ADOPTED] === PENDING_TAKE) delete (p as Marked)[ADOPTED];
}

/** @internal reset between tests of the log (the hint is only a starting point for searches) */
export function _resetAdoptHint(): void {
  hint = 0;
}
