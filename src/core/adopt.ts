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
import { CancelledError } from "./errors.js";
import type { EventLoop } from "./event-loop.js";
import { callerStrand, findRange, retagRange, runInStrand, strandOf, type StrandLike } from "./current.js";
import { Task, settleTaskWith } from "./task.js";
import { F_AWAITED, F_FIRST_STEP } from "./task-flags.js";
import { giveUpPendingCancel, reparentStrand, type Strand } from "./cancellation.js";

/**
 * A task made from a promise whose work was already running.
 * @internal
 */
export class AdoptedTask<T> extends Task<T> {
  /** @internal set when a cancellation gave the work up (see the module comment) */
  _abandoned = false;

  override cancel(msg?: string): boolean {
    const r = super.cancel(msg);
    if (r && this._mustCancel && (this._flags & F_AWAITED) === 0 && this._nreg === 0) {
      // Nothing of ours pending, and never was: give it up one iteration later (its first await of ours,
      // made in this run's microtasks, may still come and take the cancellation).
      this._loop.callSoon(() => {
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

/**
 * The caller's strand, if `promise` was made by that strand's task in the current run: then its work can
 * be taken over. Returns the strand the promise's work runs in (`from`) and its log range.
 */
function adoptable(promise: object, limit: object | null): { from: StrandLike; range: [number, number] } | null {
  const cur = callerStrand();
  if (cur === null) return null;
  const from = strandOf(promise);
  if (from === undefined || from._task !== cur._task || from._task.done()) return null;
  const range = findRange(promise, hint, limit) ?? (hint > 0 ? findRange(promise, 0, limit) : null);
  if (range === null) return null;
  hint = range[1];
  return { from, range };
}

/**
 * Make a task of `promise`'s work, if it can be taken over (see the module comment); else null.
 * @param limit the next promise handed to the same combinator (where this one's work surely ends)
 * @internal
 */
export function adoptIntoTask<T>(promise: Promise<T>, loop: EventLoop, limit: object | null): Task<T> | null {
  // the same promise handed over again is the same task (gather(p, p), ensureFuture(p) twice)
  const prev = (promise as Marked)[ADOPTED];
  if (prev !== undefined) return prev._loop === loop ? (prev as Task<T>) : null;
  const a = adoptable(promise, limit);
  if (a === null || a.from._task._loop !== loop) return null;
  const task = new AdoptedTask<T>(null, undefined, loop, true);
  task._flags = F_FIRST_STEP;
  retagRange(a.range[0], a.range[1], a.from, task, (k: Strand) => reparentStrand(k, task));
  task._holdClock();
  loop._beginAdoptedStep(task);
  runInStrand(task, settleTaskWith, promise as Promise<unknown>);
  (promise as Marked)[ADOPTED] = task;
  return task;
}

const ADOPTED: unique symbol = Symbol("asyncio-ts.adopted");
type Marked = { [ADOPTED]?: Task<unknown> };

/**
 * Move `promise`'s work into strand `to` of the same task (waitFor), if it can be taken over; returns
 * whether it was.
 * @internal
 */
export function adoptIntoStrand(promise: object, to: Strand, limit: object | null): boolean {
  const a = adoptable(promise, limit);
  if (a === null) return false;
  retagRange(a.range[0], a.range[1], a.from, to, (k: Strand) => {
    if (k !== to) reparentStrand(k, to);
  });
  return true;
}

/** @internal reset between tests of the log (the hint is only a starting point for searches) */
export function _resetAdoptHint(): void {
  hint = 0;
}
