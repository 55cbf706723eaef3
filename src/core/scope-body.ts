/**
 * `ScopeBody`: the one shape of `Timeout`, `TaskGroup` and CPython-style and Trio-style cancel scopes:
 * a strand of the current task that covers exactly the promise chains its body starts (and those the body
 * awaits that the same synchronous run started just before it), a deadline that cancels it, the requests
 * it made on its task (taken back when it exits), and a way out when the body awaits something nothing can
 * interrupt.
 *
 * ## Approach
 * The body runs as the strand's code (`runBody`); cancelling the scope cancels the awaits pending in the
 * strand (`cancellation.ts` owns the task's counters). A body blocked on something that is not ours (a
 * promise made in an earlier step, foreign I/O) has nothing to cancel: one iteration after such a
 * cancellation, if still nothing of ours is pending in the body, the scope stops waiting for it (as CPython
 * stops waiting for a plain future it cancelled). The body was cancelled: when what it awaits resumes it,
 * its next await of ours raises `CancelledError` once (`Strand._givenUp`: its cleanup may await after
 * that), and a failure other than that is reported. Rejected: waiting for the body anyway (a `timeout` around `await neverSettles` would hang for
 * ever, where CPython raises `TimeoutError` at the deadline).
 *
 * The scope's deadline is also recorded on its strand (`Strand._deadline`), where `currentEffectiveDeadline`
 * reads it. `runSheltered` runs a wait that must outlast a level-triggered cancellation around it (a
 * TaskGroup waiting for the tasks it cancelled).
 *
 * @module
 */
import { CancelledError } from "./errors.js";
import type { EventLoop } from "./event-loop.js";
import type { StrandLike } from "./current.js";
import { runInStrand } from "./current.js";
import { takeSourcesInto } from "./adopt.js";
import {
  Strand,
  giveUpStrand,
  cancelScopeEdge,
  cancelPending,
  cancelScopeLevel,
  closeScope,
  closeStrand,
  hasPendingAwaits,
  openStrand,
  recancelAfterScope,
  uncancelTask,
  visibleCancelling,
  type LevelScope,
} from "./cancellation.js";
import type { Task } from "./task.js";

/**
 * Run `body(arg)` as the code of strand `s` and await what it returns there: the body's awaits, and the
 * await of its result (a future it returns, such as `gather(...)`), are made in `s`; promises the body
 * awaits that this synchronous run made before it become `s`'s work.
 * @internal
 */
export function runBodyIn<A, R>(s: Strand, body: (arg: A) => PromiseLike<R> | R, arg: A): Promise<R> {
  return runInStrand(s, awaitBody as (x: [typeof body, A, Strand]) => Promise<R>, [body, arg, s]);
}

async function awaitBody<A, R>(x: [(arg: A) => PromiseLike<R> | R, A, Strand]): Promise<R> {
  const body = x[0]; // (called alone, not as x[0](): stacks then name the body, not `Array.<anonymous>`)
  const r = body(x[1]);
  takeSourcesInto(r, x[2]);
  return await r;
}

/**
 * Run `body(arg)` in a new strand below `parent` that the level-triggered cancellation of the Trio scopes
 * around it does not enter (`Strand._levelStop`; a cancellation delivered to an await pending there still
 * does), closed when `body` settles. For a wait that must outlast such a cancellation: a TaskGroup waiting
 * for the children it has cancelled already, `TaskGroup.start()` for the child it cancelled. Made in the
 * cancelled scope itself, each await of that wait would fail at once and the wait would spin, never idle
 * (on virtual time the clock then never moves, and the children's cleanup never ends). AnyIO shields the
 * same wait (its issue 695); a shield would also hold back `task.cancel()`, which CPython's TaskGroup
 * delivers to that wait (and ignores), and which the task must still count.
 * @internal
 */
export async function runSheltered<A, R>(parent: StrandLike, body: (arg: A) => PromiseLike<R> | R, arg: A): Promise<R> {
  const s = new Strand(openStrand(parent));
  s._levelStop = true;
  try {
    return await runBodyIn(s, body, arg);
  } finally {
    closeStrand(s);
  }
}

/**
 * The body of a scope that can cancel it (`Timeout`, `CancelScope`, a `TaskGroup`): a strand of the
 * current task that covers exactly the promise chains started inside the body, and the cancellation
 * requests the scope made on the task, taken back when it exits. The "deadline -> cancel my body -> take
 * my requests back" shape of CPython's `Timeout` and `TaskGroup`, and of Trio's `CancelScope`.
 * @internal
 */
export class ScopeBody implements LevelScope {
  /** Invariant: the body's strand; closed by `close()`. */
  readonly strand: Strand;
  /** Invariant: the requests this scope made on its task and has not taken back. */
  requests = 0;
  /** Set by `cancelLevel()`: a level-triggered scope stays cancelled. */
  cancelCalled = false;
  /** Invariant: the timer of the scope's deadline while one is armed, else null. */
  private _timer: { cancel(): void } | null = null;
  /** Invariant: while `runBody`'s promise is pending and not given up, how to reject it; else null. */
  private _giveUp: ((e: unknown) => void) | null = null;
  /** Set once the body was given up (a failure of it later is reported). */
  private _givenUp = false;

  /**
   * @param parent the strand whose code enters the scope
   * @param level a Trio scope (level-triggered: every await made in the body while it is cancelled fails)
   * @param shield cancellation from outside the body does not enter it
   */
  constructor(parent: StrandLike, level = false, shield = false) {
    const s = new Strand(parent);
    if (level) s._level = this;
    s._scope = this;
    s._shield = shield;
    this.strand = s;
  }

  /**
   * Call `fire()` at loop time `when` (`Infinity`: never); a deadline already past fires at once
   * (`pastNow` "now", Trio) or on the next iteration ("soon", CPython's `Timeout.reschedule`). Replaces
   * the deadline armed before. (`loop` and `fire` may be null for `Infinity`: no closure for no deadline.)
   */
  setDeadline(loop: EventLoop | null, when: number, fire: (() => void) | null, pastNow: "now" | "soon"): void {
    this.disarm();
    this.strand._deadline = when;
    if (when === Infinity) return;
    if (when <= loop!.time()) {
      if (pastNow === "now") fire!();
      else this._timer = loop!._soon(fire!);
    } else this._timer = loop!._at(when, fire!);
  }

  /** Forget the deadline. */
  disarm(): void {
    if (this._timer !== null) {
      this._timer.cancel();
      this._timer = null;
    }
  }

  /** The task whose code the body is. */
  get task(): Task<unknown> {
    return this.strand._task;
  }

  /**
   * Run `body(arg)` in the scope (`runBodyIn`) and return a promise of its outcome that the scope can
   * stop waiting for (`giveUpIfStuck`). `what` names the scope in the report of a failure of a body given up.
   */
  runBody<A, R>(body: (arg: A) => PromiseLike<R> | R, arg: A, what: string): Promise<R> {
    const work = runBodyIn(this.strand, body, arg);
    const loop = this.strand._task._loop;
    return new Promise<R>((resolve, reject) => {
      this._giveUp = reject;
      work.then(resolve, (e: unknown) => {
        if (this._givenUp && !(e instanceof CancelledError)) {
          loop.callExceptionHandler({ message: `The body of ${what}, given up when it was cancelled, failed later`, exception: e });
        }
        reject(e);
      });
    });
  }

  /**
   * After a cancellation that found nothing of ours pending in the body: one iteration later, if still
   * nothing is, stop waiting for the body (it awaits what cannot be interrupted; see the module comment).
   */
  private _giveUpIfStuck(level: boolean): void {
    if (this._giveUp === null) return;
    const loop = this.strand._task._loop;
    const s = this.strand;
    // Stuck: since the cancellation, the body made no await of ours (its count of registrations is the
    // same) and, for an asyncio scope, did not take the cancellation waiting for its next await (a body
    // woken by a future done just before the deadline takes it, and goes on: not stuck).
    const regs = s._regs;
    loop._soon(() => {
      if (this._giveUp === null || s._closed || s._task.done() || hasPendingAwaits(s) || s._regs !== regs) return;
      if (!level && !cancelPending(s)) return;
      this._givenUp = true;
      giveUpStrand(s); // (its code, resumed later, meets CancelledError at its next await)
      const giveUp = this._giveUp;
      this._giveUp = null;
      giveUp(new CancelledError());
    });
  }

  /**
   * asyncio's cancel (Timeout, TaskGroup): one request on the task, `CancelledError` at every await
   * pending in the body, or, if none, at the next one made there.
   */
  cancel(msg: string | undefined): void {
    this.requests++;
    if (cancelScopeEdge(this.strand, msg) === 0) this._giveUpIfStuck(false);
  }

  /**
   * Trio's cancel (CancelScope, level-triggered): `CancelledError` at every await pending in the body,
   * one request if any was; the awaits made later in the body fail as they are made (`levelCancelled`,
   * which counts them on the scope).
   */
  cancelLevel(): void {
    this.cancelCalled = true;
    if (cancelScopeLevel(this.strand) > 0) this.requests++;
    else this._giveUpIfStuck(true);
  }

  /**
   * Take back the requests this scope made (`uncancel()` each); returns the task's `cancelling()` after,
   * as the body sees it (`visibleCancelling`: the requests of scopes in the task's other chains left out).
   */
  takeBack(): number {
    const task = this.strand._task;
    for (; this.requests > 0; this.requests--) uncancelTask(task);
    return visibleCancelling(this.strand);
  }

  /** The task's `cancelling()` as the body sees it (see `takeBack`): what a scope notes when entered. */
  visibleCancelling(): number {
    return visibleCancelling(this.strand);
  }

  /**
   * The scope exits: its strand closes (chains still running move to the enclosing strand), and if it
   * shielded the last shield of its task, the requests held back meanwhile are made now.
   */
  close(): void {
    this.disarm();
    this._giveUp = null;
    closeScope(this.strand);
  }

  /**
   * CPython's `uncancel()` then `cancel()` at a TaskGroup's exit when the task was cancelled from outside
   * too: the request count stays as it is, and the next await after the scope raises.
   */
  recancelAfter(): void {
    recancelAfterScope(this.strand);
  }
}
