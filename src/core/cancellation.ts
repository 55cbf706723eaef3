/**
 * Cancellation, in one place: the regions of a task's code that it addresses (strands, Trio's
 * `CancelStatus`), a task's cancel state (CPython's `cancel()`, `uncancel()`, `cancelling()`, the pending
 * `_must_cancel` and its message, requests held back by a shield), and what a scope that cancels its own
 * body does to its task (`cancelScopeEdge`, `cancelScopeLevel`, `closeScope`; the scope itself, the one
 * shape of `Timeout`, `TaskGroup` and `CancelScope`, is `ScopeBody` in `scope-body.ts`).
 *
 * ## One owner
 * The state lives on the task and strand objects (`_numCancelsRequested`, `_mustCancel`,
 * `_pendingCancelMessage`, `_deferredCancels`: no extra object per task), and this module is the only
 * one that writes it (the layer test, `test/architecture`, checks that). `Task.cancel()` and
 * `Task.uncancel()` call in here; scopes hold a `ScopeBody`.
 *
 * ## Approach
 * A task's code is not one chain of awaits. `gather(a(), b())`, `Promise.all([a(), b()])` and an array of
 * calls awaited later run several promise chains at once, all of them the task's code, each blocked on its
 * own asyncio-ts await. And a cancel scope (`timeout`, `CancelScope`, a `TaskGroup`'s body) covers the
 * chains started inside it and no others. So what travels with code (`current.ts`) is a *strand*: the task
 * itself for its root, or a `Strand` for a scope's body (a tree under the task). Every await of ours is
 * registered in the strand current where it is made, and cancelling a strand delivers `CancelledError` to
 * every await registered in it and below it (not through a shielding strand), or, if none is pending, to
 * the next one made there (edge-triggered, asyncio's `_must_cancel`). A Trio scope is level-triggered:
 * every await made inside it while it is cancelled fails.
 *
 * An await is *live* (an async function's `await`, a `then` callback) or an *element* (the job a native
 * combinator or a bare promise runs to call our `then`: `Promise.race([t, sleep(100)])`). A live await
 * is cancelled whenever its strand is. An element counts only in the step that registered it: once the
 * task has run again, a losing `Promise.race` entry may no longer be something it waits for (cancelling
 * it could cancel an unrelated task, and its wake-up must not start a step or take a pending
 * cancellation); the cancellation then waits for the task's next await.
 *
 * Taking work over (`adoptPromise`): a combinator handed a promise that the calling task's code made in
 * this synchronous run re-tags that promise's work (`current.ts`' log) to a new task (`gather`, `shield`,
 * `asCompleted`, `wait`, `ensureFuture`: each promise becomes a task, as CPython wraps each coroutine in
 * one) or to a strand of the caller (`waitFor`, which awaits a coroutine inline, as CPython's). The work
 * then runs as that task's or that strand's code, so cancelling the task, the gather or the timeout
 * reaches it, and shielding it protects it.
 *
 * ## Rejected alternatives
 * - Counters kept by each scope on its own (the first design: `Timeout`, `CancelScope` and `TaskGroup`
 *   each wrote the task's count and pending message their way): three subtly different uncancel rules.
 * - One await per task (the previous design): the other chains' awaits were not cancelled, and a step
 *   that woke one of them was taken for a stale wake-up.
 * - Cancelling every await of the task for every request (no strands): a timeout around one chain would
 *   cancel its siblings, and `shield(a())` could protect nothing.
 * - A new task per scope: changes `currentTask()` inside `timeout()` bodies (CPython's runs in the task).
 *
 * @module
 */
import { CancelledError } from "./errors.js";
import { F_AWAITED } from "./task-flags.js";
import type { Chain } from "./chain.js";
import type { Future } from "./future.js";
import type { Task } from "./task.js";
import type { StrandLike } from "./current.js";

/** What a Trio-style cancel scope shows its strand: whether it was cancelled, and its request count. @internal */
export interface LevelScope {
  cancelCalled: boolean;
  requests: number;
}

/** `Chain._reg`: not registered. @internal */
export const REG_NONE = 0;
/** A live await (unlinked when it wakes). @internal */
export const REG_LIVE = 1;
/** An element of a native combinator (see the module comment). @internal */
export const REG_ELEM = 2;
/** A `sleep(0)` inside a cancelled Trio scope: raises when it resumes. @internal */
export const REG_YIELD_CANCEL = 3;
/**
 * A live await whose future was done (its wake-up queued) when its strand was cancelled: it raises
 * `CancelledError` when it wakes, its message in the chain's `_value` (`cancelAwait`). @internal
 */
export const REG_WAKE_CANCEL = 4;
/** The same for an element (its step no longer kept: it wakes in this step's wake-ups). @internal */
export const REG_WAKE_CANCEL_ELEM = 5;
/**
 * A `sleep(0)` (no future: `_fut` null), linked in its strand's awaits until it resumes, so that
 * cancelling the strand reaches it (CPython's task in a bare yield gets `_must_cancel`). @internal
 */
export const REG_YIELD = 6;
/** A `REG_YIELD` whose strand was cancelled: raises `CancelledError` when it resumes (its message in `yieldCancels`). @internal */
export const REG_YIELD_CANCELLED = 7;

/**
 * True if code of `s` or below waits on an await or a `sleep(0)` of ours (a done task's code that does is
 * an orphan: run()'s shutdown cancels it and waits for it).
 * @internal
 */
export function hasLinked(s: StrandLike): boolean {
  if (s._w !== null) return true;
  const kids = s._kids;
  if (kids !== null) for (const k of kids) if (hasLinked(k)) return true;
  return false;
}

/** A done task none of whose code waits on anything of ours any more is no orphan: the loop is told. @internal */
export function settleIfNoOrphanCode(task: Task<unknown>): void {
  if (task.done() && !hasLinked(task)) task._loop._orphanSettled(task);
}

/**
 * An await of a pending future made while eager steps ran, decided when the microtasks have drained
 * (`EventLoop._deferAwait`): not registered yet, its strand in `Chain._strand` (code that observes the
 * chain meanwhile, work taken over by a combinator's task, claims it there). @internal
 */
export const REG_DEFERRED = 8;

/** The message of each `REG_YIELD_CANCELLED` chain (rare: a weak map, no field on every chain). */
const yieldCancels = new WeakMap<Chain<unknown>, string | undefined>();

/**
 * A `sleep(0)` resumes: unlinked from its strand; the message of the cancellation that reached it
 * meanwhile, or `NO_CANCEL`.
 * @internal
 */
export function takeYield(c: Chain<unknown>): string | undefined | typeof NO_CANCEL {
  const reg = c._reg;
  unlinkAwait(c);
  c._reg = REG_NONE;
  if (reg !== REG_YIELD_CANCELLED) return NO_CANCEL;
  const m = yieldCancels.get(c);
  yieldCancels.delete(c);
  return m;
}

/**
 * A region of one task's code: a scope's body, or work taken over by `waitFor`.
 * @internal
 */
export class Strand {
  /** the task whose code this is (updated when the work is taken over by another task) */
  _task: Task<unknown>;
  /** the enclosing strand */
  _sparent: StrandLike;
  /** open child strands (a scope entered inside this one), or null */
  _kids: Strand[] | null = null;
  /**
   * Invariant: the awaits registered in this strand that have not woken, as a doubly linked list of
   * their chains (`Chain._wprev/_wnext`), newest first; null when none.
   */
  _w: Chain<unknown> | null = null;
  /** a cancellation found nothing pending here: the next await made in this strand or below raises */
  _mustCancel = false;
  _pendingCancelMessage: string | undefined = undefined;
  /** cancellation from outside this strand does not enter it (a shielding CancelScope) */
  _shield = false;
  /**
   * the step of its task in which a pending cancellation of this strand was taken, and its message: the
   * other awaits made here in that step are cancelled too (`takeMustCancel`); -1 when none
   */
  _cancelStep = -1;
  _cancelStepMsg: string | undefined = undefined;
  /** the Trio scope whose body this is, if any: while it is cancelled, every await inside fails */
  _level: LevelScope | null = null;
  /** the scope whose body this is, if any: its requests on the task not taken back (`visibleCancelling`) */
  _scope: { readonly requests: number } | null = null;
  /** set when the scope exited: awaits made here are registered in the nearest open ancestor */
  _closed = false;
  /**
   * set when its scope gave the body up (stuck on something nothing can interrupt, `ScopeBody`): the body
   * was cancelled, and the first await its code makes once it resumes raises `CancelledError`; one token
   * shared by the strands of that body, those made later in it too (`giveUpStrand`, `takeGivenUp`)
   */
  _givenUp: { pending: boolean } | null;
  /** awaits registered in this strand or below since it opened (adoption: has the work awaited ours?) */
  _regs = 0;
  /** a foreign hold on virtual time, released at the first await registered here (adopted work) */
  _holdLoop: { _release(): void } | null = null;
  /**
   * the deadline (loop time, ms) of the scope whose body this is, `Infinity` for none; written by the
   * scope (`ScopeBody.setDeadline`), read by `currentEffectiveDeadline` (it cancels nothing by itself)
   */
  _deadline = Infinity;
  /**
   * the level-triggered cancellation of the Trio scopes around this strand does not enter it (a cancellation
   * delivered to an await pending here still does): the wait of a TaskGroup for children it has cancelled
   * already, where every await would otherwise fail at once and the wait would spin (`runSheltered`)
   */
  _levelStop = false;

  constructor(parent: StrandLike) {
    this._sparent = parent;
    this._task = parent._task;
    this._givenUp = parent._givenUp;
    (parent._kids ??= []).push(this);
  }
}

/** The nearest strand at or above `s` whose scope has not exited. @internal */
export function openStrand(s: StrandLike): StrandLike {
  while (s._closed) s = s._sparent!;
  return s;
}

/**
 * True for an element registered in an earlier step than `step` (a losing `Promise.race` entry): the task's
 * code may have moved on, so it is no longer what the code waits for (see the module comment). @internal
 */
export function isStaleElement(c: Chain<unknown>, step: number): boolean {
  return c._reg === REG_ELEM && c._value !== step;
}

/**
 * A scope gives its body up (`ScopeBody`): the first await the body's code makes once it resumes raises
 * `CancelledError` (its cancellation, which the scope could not deliver), and its cleanup after that may
 * await, as a cancelled CPython body's. The token goes to every strand of the body. @internal
 */
export function giveUpStrand(s: Strand): void {
  setGivenUp(s, { pending: true });
}

function setGivenUp(s: Strand, token: { pending: boolean }): void {
  s._givenUp = token;
  if (s._kids !== null) for (const k of s._kids) setGivenUp(k, token);
}

/** An await is made in `s`: true (once per given-up body) if it must raise `CancelledError`. @internal */
export function takeGivenUp(s: StrandLike): boolean {
  const t = s._givenUp;
  if (t === null || !t.pending) return false;
  t.pending = false;
  return true;
}

/** Link `c` into `s`'s live awaits. @internal */
export function linkAwait(s: StrandLike, c: Chain<unknown>): void {
  const head = s._w;
  c._wprev = null;
  c._wnext = head;
  if (head !== null) head._wprev = c;
  s._w = c;
}

/** Unlink `c` from the awaits of its strand. @internal */
export function unlinkAwait(c: Chain<unknown>): void {
  const s = c._strand!;
  const prev = c._wprev;
  const next = c._wnext;
  if (prev === null) s._w = next;
  else prev._wnext = next;
  if (next !== null) next._wprev = prev;
  c._wprev = c._wnext = null;
}

/**
 * Move a registered await (a chain of `fut.then(cb)` that the task's code made and handed to a combinator)
 * from its strand to `to`, a strand of another task or of the same one: cancelling `to` now reaches it.
 * @internal
 */
export function moveAwait(c: Chain<unknown>, to: StrandLike): void {
  const from = c._strand!;
  unlinkAwait(c);
  if (from._task !== to._task) {
    from._task._nreg--;
    to._task._nreg++;
    // (a done task's last await gone to another task: none of its code waits any more, run()'s end
    // must not wait for it: it did, for ever, and reported a deadlock after main returned)
    settleIfNoOrphanCode(from._task);
  }
  c._strand = to;
  linkAwait(to, c);
  // As an await made there: it ends a hold on virtual time that waited for the work's first await, and
  // takes a cancellation waiting there (a scope whose deadline has passed: `timeout(0, () => op)`).
  if (to === to._task) {
    to._task._flags |= F_AWAITED;
    to._task._releaseHold();
  }
  if (c._fut !== null && !c._fut.done()) cancelOnSuspend(to._task, to, c._fut);
  else if (to !== to._task) noteRegistration(to as Strand);
}

/** Set by `deliverCancel` when it skipped a shielding strand. @internal */
export const delivery = { skippedShield: false };

/**
 * Cancel the awaits pending in `s` and below it (not inside shielding strands): returns how many futures
 * were cancelled. Elements of earlier steps are skipped (see the module comment).
 * @internal
 */
export function deliverCancel(s: StrandLike, msg: string | undefined): number {
  let n = 0;
  const step = s._task._stepNo;
  const head = s._w;
  if (head !== null && head._wnext === null) {
    n += cancelAwait(head, msg, step);
  } else if (head !== null) {
    // Oldest first (the list is newest first): the chains see CancelledError in the order they
    // suspended, as CPython's gather cancels its children in argument order.
    const chains: Chain<unknown>[] = [];
    for (let c: Chain<unknown> | null = head; c !== null; c = c._wnext) chains.push(c);
    for (let i = chains.length - 1; i >= 0; i--) n += cancelAwait(chains[i]!, msg, step);
  }
  const kids = s._kids;
  if (kids !== null) {
    for (const k of kids.length === 1 ? kids : kids.slice()) {
      if (k._shield) {
        delivery.skippedShield = true;
        continue;
      }
      n += deliverCancel(k, msg);
    }
  }
  return n;
}

/**
 * Cancel one registered await: 1 if the cancellation reached it, else 0 (an element of an earlier step).
 * An await whose future is done already, its wake-up queued (the lock was handed over, the item or the
 * permit given, in this very step), raises `CancelledError` when it wakes, instead of taking what it was
 * given, which its primitive then passes on: CPython's task cancelled once its waiter is done sets
 * `_must_cancel`, which its next step throws into the coroutine. Without this, a `Promise.all` in a
 * cancelled task would take the lock in that chain and drop it with the other chain's CancelledError.
 */
function cancelAwait(c: Chain<unknown>, msg: string | undefined, step: number): number {
  const reg = c._reg;
  if (reg === REG_WAKE_CANCEL || reg === REG_WAKE_CANCEL_ELEM) {
    c._value = msg; // (the latest request's message, as CPython's `_cancel_message` is overwritten)
    return 1;
  }
  if (reg === REG_YIELD || reg === REG_YIELD_CANCELLED) {
    // (its resumption is queued already: it raises then, as an await woken in this step does)
    c._reg = REG_YIELD_CANCELLED;
    yieldCancels.set(c, msg);
    const s = c._strand!;
    markedInStep.set(s._task, s._task._stepNo);
    if (s === s._task) s._task._lastCancelMessage = msg;
    return 1;
  }
  if (isStaleElement(c, step)) return 0;
  const f = c._fut!;
  if (!f.done()) return f.cancel(msg) ? 1 : 0;
  c._reg = reg === REG_ELEM ? REG_WAKE_CANCEL_ELEM : REG_WAKE_CANCEL;
  c._value = msg;
  const s = c._strand!;
  markedInStep.set(s._task, s._task._stepNo);
  // (as `setMustCancel`: the message a task that finishes all the same then reports)
  if (s === s._task) s._task._lastCancelMessage = msg;
  return 1;
}

/** The task's step in which `cancelAwait` last marked one of its awaits (rare: a weak map, no field). */
const markedInStep = new WeakMap<Task<unknown>, number>();

/**
 * No request is left (`uncancel()` to 0) before the task ran again, and its code waits on one await: that
 * await takes its outcome after all, as CPython's `uncancel()` clears the task's `_must_cancel` before its
 * next step. With several chains (`Promise.all`), or once the task has run since (its code may have moved
 * on: a `Promise.all` rejected by the first chain, a scope exited), the marks stay: each chain is a
 * gather child's in CPython, whose own `_must_cancel` the parent's `uncancel()` does not touch, and taking
 * it back would hand a chain what nobody then reads (a lock, an item).
 */
function unmarkWoken(task: Task<unknown>): void {
  if (markedInStep.get(task) !== task._stepNo || countLinked(task, 0) !== 1) return;
  unmarkIn(task);
}

/** How many awaits and `sleep(0)`s are linked in `s` and below, counted up to 2 from `n`. */
function countLinked(s: StrandLike, n: number): number {
  for (let c = s._w; c !== null && n < 2; c = c._wnext) n++;
  if (s._kids !== null) for (const k of s._kids) if (n < 2) n = countLinked(k, n);
  return n;
}

function unmarkIn(s: StrandLike): void {
  for (let c = s._w; c !== null; c = c._wnext) {
    if (c._reg === REG_YIELD_CANCELLED) {
      c._reg = REG_YIELD;
      yieldCancels.delete(c);
    } else if (c._reg === REG_WAKE_CANCEL) {
      c._reg = REG_LIVE;
      c._value = undefined;
    } else if (c._reg === REG_WAKE_CANCEL_ELEM) {
      c._reg = REG_ELEM;
      c._value = s._task._stepNo;
    }
  }
  if (s._kids !== null) for (const k of s._kids) unmarkIn(k);
}

/**
 * A pending edge-triggered cancellation for an await in `s` (a `_mustCancel` at or above it, not beyond a
 * shield): consumed, its message returned; `NO_CANCEL` if there is none.
 * @internal
 */
export function takeMustCancel(s: StrandLike, atRegistration = false): string | undefined | typeof NO_CANCEL {
  const step = atRegistration ? s._task._stepNo : -2;
  for (let x: StrandLike | null = s; x !== null; x = x._sparent) {
    if (x._mustCancel) {
      x._mustCancel = false;
      const m = x._pendingCancelMessage;
      x._pendingCancelMessage = undefined;
      // Taken by an await as it is made: CPython's task makes one await per step; here a step may make
      // several, one per chain the task runs (`Promise.all([q.get(), q.get()])`), and they all get the
      // cancellation, as CPython's gather cancels all its children. (Taken by code that resumes, it is
      // that code's, which goes on as it likes.)
      if (atRegistration) {
        x._cancelStep = step;
        x._cancelStepMsg = m;
      }
      return m;
    }
    if (x._cancelStep === step) return x._cancelStepMsg;
    if (x._shield) break;
  }
  return NO_CANCEL;
}

/** @internal */
export const NO_CANCEL: unique symbol = Symbol("no cancel");

/**
 * True if an await made in `s` lies inside a cancelled Trio scope (not beyond a shield, nor beyond a
 * strand with `_levelStop`): the scope's request is counted on the task, as each of its deliveries is.
 * @internal
 */
export function levelCancelled(s: StrandLike): boolean {
  for (let x: StrandLike | null = s; x !== null; x = x._sparent) {
    const l = x._level;
    if (l !== null && l.cancelCalled) {
      l.requests++;
      countCancel(s._task, CANCEL_SCOPE_MESSAGE);
      return true;
    }
    if (x._shield || (x !== x._task && (x as Strand)._levelStop)) break;
  }
  return false;
}

/** Count a registration in `s` and its ancestors (only strands below the task). @internal */
export function noteRegistration(s: Strand): void {
  for (let x: StrandLike | null = s; x !== null && x !== x._task; x = x._sparent) {
    (x as Strand)._regs++;
    const h = (x as Strand)._holdLoop;
    if (h !== null) {
      (x as Strand)._holdLoop = null;
      h._release();
    }
  }
}

/**
 * Close a scope's strand when the scope exits: it leaves its parent's children; work of it still pending
 * (chains the body started and did not wait for) moves to the parent, and later awaits made by it are
 * registered there.
 * @internal
 */
export function closeStrand(s: Strand): void {
  if (s._closed) return;
  s._closed = true;
  if (s._holdLoop !== null) {
    const h = s._holdLoop;
    s._holdLoop = null;
    h._release();
  }
  const parent = openStrand(s._sparent);
  const kids = s._sparent._kids;
  if (kids !== null) {
    const i = kids.indexOf(s);
    if (i >= 0) kids.splice(i, 1);
    if (kids.length === 0) s._sparent._kids = null;
  }
  for (let c = s._w; c !== null; ) {
    const next = c._wnext;
    c._strand = parent;
    linkAwait(parent, c);
    c = next;
  }
  s._w = null;
  if (s._kids !== null) {
    for (const k of s._kids) {
      k._sparent = parent;
      (parent._kids ??= []).push(k);
    }
    s._kids = null;
  }
}

/**
 * Move strand `k` (and what is below it) under `to`: work taken over by `to` carries its scopes along.
 * @internal
 */
export function reparentStrand(k: Strand, to: StrandLike): void {
  const kids = k._sparent._kids;
  if (kids !== null) {
    const i = kids.indexOf(k);
    if (i >= 0) kids.splice(i, 1);
    if (kids.length === 0) k._sparent._kids = null;
  }
  k._sparent = to;
  (to._kids ??= []).push(k);
  setTask(k, to._task);
  // (work that has awaited something of ours moved in: it is not foreign, `to` holds virtual time no more)
  if (to !== to._task && hasLinked(k)) noteRegistration(to as Strand);
}

function setTask(k: Strand, task: Task<unknown>): void {
  const from = k._task;
  k._task = task;
  if (from !== task) {
    // The awaits registered in the strand move along (as `moveAwait` moves one): counted on their new
    // task, which has awaited something of ours (no hold on virtual time waiting for its first await).
    let n = 0;
    for (let c = k._w; c !== null; c = c._wnext) if (c._reg !== REG_YIELD && c._reg !== REG_YIELD_CANCELLED) n++;
    if (n > 0) {
      from._nreg -= n;
      task._nreg += n;
      task._flags |= F_AWAITED;
      task._releaseHold();
      settleIfNoOrphanCode(from);
    }
  }
  if (k._kids !== null) for (const c of k._kids) setTask(c, task);
}

/**
 * `task.cancelling()` as the code of strand `s` sees it: the task's requests, less those that scopes of
 * the task's other chains (strands that neither enclose `s` nor are `s`) made and have not taken back. A
 * timeout expired in one chain of a `Promise.all` is no cancellation from outside for a timeout or a task
 * group in another: with CPython's `gather`, each chain is a task with a count of its own. What scopes
 * compare at their exit (`Timeout`, `TaskGroup`, `CancelScope`: CPython's `uncancel() <= cancelling`).
 * @internal
 */
export function visibleCancelling(s: StrandLike): number {
  const task = s._task;
  if (task._kids === null) return task._numCancelsRequested;
  // (the requests of all the task's open scopes, less those of the open scopes that enclose `s` or are `s`)
  let own = 0;
  for (let x: StrandLike = s; x !== x._task; x = x._sparent!) if (!x._closed) own += (x as Strand)._scope?.requests ?? 0;
  return task._numCancelsRequested - (scopeRequests(task._kids) - own);
}

/** The requests not taken back of the scopes of `kids` and below. */
function scopeRequests(kids: Strand[]): number {
  let n = 0;
  for (const k of kids) {
    if (k._scope !== null) n += k._scope.requests;
    if (k._kids !== null) n += scopeRequests(k._kids);
  }
  return n;
}

/** The futures the task is suspended on, in every strand (diagnostics). @internal */
export function pendingAwaits(task: Task<unknown>): Future<unknown>[] {
  const out: Future<unknown>[] = [];
  collect(task, out);
  return out;
}

function collect(s: StrandLike, out: Future<unknown>[]): void {
  const chains: Chain<unknown>[] = [];
  const step = s._task._stepNo;
  for (let c = s._w; c !== null; c = c._wnext) {
    if (c._fut !== null && !isStaleElement(c, step)) chains.push(c); // (not a sleep(0): nothing to wait on)
  }
  for (let i = chains.length - 1; i >= 0; i--) out.push(chains[i]!._fut!);
  if (s._kids !== null) for (const k of s._kids) collect(k, out);
}


/** True if a shielding strand is open anywhere in `task`'s tree. @internal */
export function hasShield(task: Task<unknown>): boolean {
  return anyShield(task._kids);
}

function anyShield(kids: Strand[] | null): boolean {
  if (kids === null) return false;
  for (const k of kids) if (k._shield || anyShield(k._kids)) return true;
  return false;
}

// ---------------------------------------------------------------- the task's cancel state

/** The message of the `CancelledError` that a Trio-style `CancelScope` delivers. @internal */
export const CANCEL_SCOPE_MESSAGE = "cancel scope";

/**
 * `task.cancel(msg)` (CPython's `Task.cancel`), once the task is known to be pending: `CancelledError` at
 * every await pending in the task outside shielding scopes, or, if there is none, at the next await made
 * in its root (`_mustCancel`). If everything pending is inside a shielding `CancelScope`, the request is
 * held back until that scope exits (`closeScope`).
 * @internal
 */
export function cancelTask(task: Task<unknown>, msg: string | undefined): void {
  delivery.skippedShield = false;
  const n = deliverCancel(task, msg);
  if (n === 0 && delivery.skippedShield) {
    (task._deferredCancels ??= []).push(msg);
    return;
  }
  countCancel(task, msg);
  if (n === 0) setMustCancel(task, msg);
}

/** `cancelTask` without looking at shields (held-back requests, released when a shield exits). */
function requestCancel(task: Task<unknown>, msg: string | undefined): void {
  if (task.done()) return;
  countCancel(task, msg);
  if (deliverCancel(task, msg) === 0) setMustCancel(task, msg);
}

/** One more outstanding request on `task`: counted, its signal aborted, the tracer told. */
function countCancel(task: Task<unknown>, msg: string | undefined): void {
  task._numCancelsRequested++;
  task._abort?.abort(new CancelledError(msg ?? ""));
  task._loop._tracer?.onTaskCancelRequested(task, msg);
}

/** The next await made in `s` (or below it) raises `CancelledError(msg)` (CPython's `_must_cancel`). */
function setMustCancel(s: StrandLike, msg: string | undefined): void {
  s._mustCancel = true;
  s._pendingCancelMessage = msg;
  // (CPython's Task._cancel_message: kept after delivery, read if the task then finishes all the same
  // and a gather that was cancelled reports its cancellation through it)
  if (s === s._task) s._task._lastCancelMessage = msg;
}

/**
 * `task.uncancel()` (CPython 3.13): one request fewer; at 0, a request not yet delivered is dropped.
 * @internal
 */
export function uncancelTask(task: Task<unknown>): number {
  if (task._numCancelsRequested > 0) {
    task._numCancelsRequested--;
    if (task._numCancelsRequested === 0) {
      task._mustCancel = false;
      unmarkWoken(task);
    }
  }
  return task._numCancelsRequested;
}

/**
 * The cancellation pending for an await in `s`, consumed: its message, or `NO_CANCEL` (the root's own
 * flag is tested first: the usual case, one field).
 * @internal
 */
export function takeCancel(task: Task<unknown>, s: StrandLike): string | undefined | typeof NO_CANCEL {
  if (s === task) {
    if (!task._mustCancel) return NO_CANCEL;
    task._mustCancel = false;
    const m = task._pendingCancelMessage;
    task._pendingCancelMessage = undefined;
    return m;
  }
  return takeMustCancel(s);
}

/**
 * `task`'s code in strand `s` has just suspended on `fut`: a cancellation waiting for that await is
 * delivered to it now (the root's `_mustCancel`, a scope's, a cancelled Trio scope around it).
 * @internal
 */
export function cancelOnSuspend(task: Task<unknown>, s: StrandLike, fut: Future<unknown>): void {
  if (s === task) {
    if (task._mustCancel) {
      const m = task._pendingCancelMessage;
      if (fut.cancel(m)) {
        task._mustCancel = false;
        task._pendingCancelMessage = undefined;
        task._cancelStep = task._stepNo;
        task._cancelStepMsg = m;
      }
    } else if (task._cancelStep === task._stepNo) fut.cancel(task._cancelStepMsg);
    return;
  }
  noteRegistration(s as Strand);
  const m = takeMustCancel(s, true);
  if (m !== NO_CANCEL) fut.cancel(m);
  else if (levelCancelled(s)) fut.cancel(CANCEL_SCOPE_MESSAGE);
}

/**
 * The cancellation a task's first step or last step finds pending (cancelled before it started, or
 * during its last step): consumed; its message, or `NO_CANCEL`.
 * @internal
 */
export function takeRootCancel(task: Task<unknown>): string | undefined | typeof NO_CANCEL {
  return takeCancel(task, task);
}

// ---------------------------------------------------------------- scopes (used by ScopeBody, scope-body.ts)

/**
 * asyncio's cancel of a scope's body (Timeout, TaskGroup): one request on the task, `CancelledError` at
 * every await pending in the body's strand, or, if none, at the next one made there. Returns how many
 * awaits were cancelled (0 if the task is done).
 * @internal
 */
export function cancelScopeEdge(s: Strand, msg: string | undefined): number {
  const task = s._task;
  // (a done task's scope still cancels the body: its code, a chain the task did not wait for, runs on)
  countCancel(task, msg);
  const o = openStrand(s);
  const n = deliverCancel(o, msg);
  if (n === 0) setMustCancel(o, msg);
  return n;
}

/**
 * Trio's cancel of a scope's body (CancelScope, level-triggered): `CancelledError` at every await
 * pending in it, one request on the task if any was; the awaits made later fail as they are made
 * (`levelCancelled`). Returns how many awaits were cancelled.
 * @internal
 */
export function cancelScopeLevel(s: Strand): number {
  const task = s._task;
  // (a done task's scope still cancels the body: its code, a chain the task did not wait for, runs on)
  const n = deliverCancel(openStrand(s), CANCEL_SCOPE_MESSAGE);
  if (n > 0) countCancel(task, CANCEL_SCOPE_MESSAGE);
  return n;
}

/**
 * A scope exits: its strand closes (chains still running move to the enclosing strand), and if it
 * shielded the last shield of its task, the requests held back meanwhile are made now.
 * @internal
 */
export function closeScope(s: Strand): void {
  closeStrand(s);
  if (s._shield) releaseHeldCancels(s._task);
}

/** `task.cancel()` requests held back while all of the task waited inside shields: made now, if no shield is left. */
function releaseHeldCancels(task: Task<unknown>): void {
  if (task._deferredCancels !== null && !hasShield(task)) {
    const held = task._deferredCancels;
    task._deferredCancels = null;
    for (const msg of held) requestCancel(task, msg);
  }
}

/**
 * A scope stops shielding its body while it runs (Trio's `CancelScope.shield = False`): cancellation from
 * outside reaches the body at once. The nearest cancelled Trio scope around it cancels the awaits pending
 * in the body (one request, counted on that scope, as `cancelScopeLevel` does), and `task.cancel()`
 * requests held back for the shields are made if no shield is left. An asyncio scope's request waiting
 * above (`_mustCancel`: it found only the shielded body pending) is delivered to those awaits too.
 * @internal
 */
export function unshieldStrand(s: Strand): void {
  s._shield = false;
  const task = s._task;
  if (task.done() || s._closed) return;
  for (let x: StrandLike | null = s._sparent; x !== null; x = x._sparent) {
    const l = x._level;
    if (l !== null && l.cancelCalled) {
      if (deliverCancel(s, CANCEL_SCOPE_MESSAGE) > 0) {
        l.requests++;
        countCancel(task, CANCEL_SCOPE_MESSAGE);
      }
      break;
    }
    if (x._mustCancel && x !== task) {
      // an asyncio scope's request (a timeout that expired, a task group whose child failed) that found
      // only the shielded body pending: counted already, delivered now
      if (deliverCancel(s, x._pendingCancelMessage) > 0) {
        x._mustCancel = false;
        x._pendingCancelMessage = undefined;
      }
      break;
    }
    if (x._shield) break;
  }
  releaseHeldCancels(task);
}

/**
 * True if a cancelled Trio scope around `s` is visible from it (no shield between, `s` not shielding):
 * then a Trio scope exiting on its own cancellation does not catch it, and the outer one does (Trio's
 * `CancelScope._close`: a scope catches `Cancelled` only when its parent's cancellation is not visible).
 * @internal
 */
export function outerLevelCancelled(s: Strand): boolean {
  if (s._shield) return false;
  for (let x: StrandLike | null = s._sparent; x !== null; x = x._sparent) {
    const l = x._level;
    if (l !== null && l.cancelCalled) return true;
    if (x._shield) return false;
  }
  return false;
}

/**
 * CPython's `uncancel()` then `cancel()` at a TaskGroup's exit when the task was cancelled from outside
 * too: the request count stays as it is, and the next await after the scope raises.
 * @internal
 */
export function recancelAfterScope(s: Strand): void {
  const task = s._task;
  uncancelTask(task);
  countCancel(task, undefined);
  setMustCancel(openStrand(s._sparent), undefined);
}

/** True if a cancellation waits for the next await made in `s` (a `_mustCancel` at or above it). @internal */
export function cancelPending(s: StrandLike): boolean {
  for (let x: StrandLike | null = s; x !== null; x = x._sparent) {
    if (x._mustCancel) return true;
    if (x._shield) break;
  }
  return false;
}

/**
 * True if an await of ours is pending in `s` or a strand below it; an element of an earlier step (a
 * `Promise.race` loser) is not the code waiting any more. @internal
 */
export function hasPendingAwaits(s: StrandLike): boolean {
  const step = s._task._stepNo;
  for (let c = s._w; c !== null; c = c._wnext) if (!isStaleElement(c, step)) return true;
  const kids = s._kids;
  if (kids !== null) for (const k of kids) if (hasPendingAwaits(k)) return true;
  return false;
}

/**
 * Cancel the code still running in a done task (run()'s shutdown): `CancelledError` at every await of it
 * pending, or at the next one it makes. The elements of earlier steps (the losers of a `Promise.race` or
 * `Promise.any`, which nothing reads) have their futures cancelled: waiting for them would keep `run()`
 * from ending (until a losing `sleep()` ends, or for ever: a deadlock report).
 * @internal
 */
export function cancelOrphanCode(task: Task<unknown>): void {
  const n = deliverCancel(task, undefined) + cancelStaleElements(task);
  if (n === 0) setMustCancel(task, undefined);
}

/** Cancel the futures of the elements of earlier steps in `s` and below: how many. */
function cancelStaleElements(s: StrandLike): number {
  const step = s._task._stepNo;
  const stale: Future<unknown>[] = [];
  for (let c = s._w; c !== null; c = c._wnext) if (isStaleElement(c, step)) stale.push(c._fut!);
  let n = 0;
  for (const f of stale) if (f.cancel()) n++;
  if (s._kids !== null) for (const k of s._kids.slice()) n += cancelStaleElements(k);
  return n;
}

/**
 * An adopted task (adopt.ts) whose cancellation found nothing of ours to deliver to gives its work up:
 * the pending request is consumed (the task ends cancelled with its message).
 * @internal
 */
export function giveUpPendingCancel(task: Task<unknown>): string | undefined {
  task._mustCancel = false;
  return task._pendingCancelMessage;
}
