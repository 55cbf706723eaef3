/**
 * `Chain`: what `Future.then()` returns, a promise made only if someone uses it; and, when a task is
 * what awaits, the task's wake-up entry in the loop's ready queue.
 *
 * JavaScript's `await fut` calls `fut.then(resolve, reject)` and throws the returned value away. A
 * native `Promise` per await costs an allocation, an executor closure and, on Node 20, a promise hook.
 * A `Chain` records the outcome of the callbacks instead and makes the real promise the first time it is
 * observed (`then`, `catch`, `finally`, `await`).
 *
 * When a task awaits, the same object is the ready-queue entry that resumes it (`_run`): after the
 * future it waits on (`_fut`) is done, or one iteration after `sleep(0)` (`_fut` null, the value in
 * `_value`). One object per await, not three (a promise, a wake-up, a closure).
 *
 * Nothing is lost: a callback that throws (or a rejection with no `onRejected`) whose chain nobody has
 * observed by the next microtask becomes a real rejected promise, so Node reports it as an unhandled
 * rejection exactly as it would for a native `then`. A callback that returns a thenable is adopted at
 * once through a real promise.
 *
 * @module
 */
import { soon } from "./microtask.js";
import type { Future, Runnable } from "./future.js";
import type { StrandLike } from "./current.js";
import { REG_DEFERRED, REG_LIVE, REG_NONE, moveAwait } from "./cancellation.js";
import { callbackContext, contextStrand, runInStrand } from "./current.js";

/** Set on the promise of an observed chain: the chain (its await may have to move with the promise). @internal */
export const CHAIN_OF: unique symbol = Symbol("asyncio-ts.chainOf");

/**
 * The chain of `fut.then(cb)` is registered as an await of the strand whose code made it (inside a task,
 * `then` counts as awaiting). When other code observes it (awaits it, or a combinator's work does:
 * `Promise.all([lock.acquire().then(f)])`), that code is what waits for it: the await moves to that
 * code's strand, so that cancelling it reaches the future.
 */
function claimAwait(c: Chain<unknown>): void {
  const cur = contextStrand();
  if (cur === null || cur === c._strand || c._strand === null || cur._task._loop !== c._strand._task._loop || cur._task.done()) return;
  if (c._reg === REG_DEFERRED) c._strand = cur; // (registered there when the loop decides it)
  else moveAwait(c, cur);
}

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

/** `Chain._run`'s work, run as the strand's code. */
function wakeChain(c: Chain<unknown>): void {
  const task = c._strand!._task;
  const fut = c._fut;
  c._fut = null;
  if (fut !== null) task._wakeup(fut, c);
  else {
    const v = c._value;
    c._value = undefined;
    task._resumeAfterYield(c, v);
  }
}

/** `Future`, told by future.ts when it loads (it imports this module: no import back). */
let FutureClass: (abstract new (...a: never[]) => Future<unknown>) | null = null;

/** @internal */
export function setFutureClass(cls: abstract new (...a: never[]) => Future<unknown>): void {
  FutureClass = cls;
}

/** A pending future of ours; never reads a property of anything else (a proxy's trap may throw). */
function isPendingFuture(x: unknown): x is Future<unknown> {
  if (x === null || typeof x !== "object" || FutureClass === null) return false;
  let ours: boolean;
  try {
    ours = x instanceof FutureClass;
  } catch {
    return false; // (a proxy whose getPrototypeOf trap throws: not ours)
  }
  return ours && !(x as Future<unknown>).done();
}

/** The real promise of an observed chain, and how to settle it. */
interface Observed<T> {
  promise: Promise<T>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A lazily materialised promise: `then`, `catch` and `finally` behave as on the `Promise` it stands for. */
export class Chain<T> implements PromiseLike<T>, Runnable {
  /** The callbacks of the `then` call this chain stands for. */
  private readonly onFulfilled: ((value: any) => unknown) | null | undefined;
  private readonly onRejected: ((reason: unknown) => unknown) | null | undefined;
  /**
   * @internal the strand (a task, or a region of one) whose code suspended on this await, while it
   * waits (the wake-up role); null otherwise
   */
  _strand: StrandLike | null = null;
  /** @internal the future the task waits on; null for `sleep(0)` */
  _fut: Future<unknown> | null = null;
  /** @internal how this await is registered in its strand (`REG_*` of strand.ts) */
  _reg = REG_NONE;
  /** @internal the strand's live awaits, a doubly linked list (see `Strand._w`) */
  _wprev: Chain<unknown> | null = null;
  /** @internal */
  _wnext: Chain<unknown> | null = null;
  /** @internal the next entry of the loop's ready list */
  _rnext: Runnable | null = null;
  /** @internal always false (see the prototype below) */
  declare readonly _cancelled: boolean;
  /**
   * Invariant: PENDING until the callbacks ran, then FULFILLED or REJECTED with `_value` (their
   * outcome). While PENDING, a `sleep(0)` wake-up keeps the value to deliver in `_value`.
   */
  private _state = PENDING;
  /**
   * @internal the callbacks' outcome once run; before that, the value a `sleep(0)` resumption delivers,
   * or, for an element registered in a strand, the task's step when it was registered (strand.ts)
   */
  _value: unknown = undefined;
  /** The real promise, once observed; then settled together with this chain. */
  private _observed: Observed<T> | null = null;

  constructor(onFulfilled?: ((value: any) => unknown) | null, onRejected?: ((reason: unknown) => unknown) | null) {
    this.onFulfilled = onFulfilled;
    this.onRejected = onRejected;
  }

  /** @internal make this chain the wake-up of `strand`'s code once `fut` is done (queued as its callback) */
  _wakeOn(strand: StrandLike, fut: Future<unknown>): this {
    this._strand = strand;
    this._fut = fut;
    return this;
  }

  /** @internal make this chain the resumption of `strand`'s code after `sleep(0)`, delivering `value` */
  _resumeWith(strand: StrandLike, value: unknown): this {
    this._strand = strand;
    this._value = value;
    return this;
  }

  /**
   * @internal run as a ready-queue entry: resume the task (CPython's `Task.__wakeup`), as the code of the
   * strand that awaited, not as a plain callback of the loop: the callbacks of `fut.then(cb)` made inside
   * a task run as the task's code there (`currentTask()`, and cancellation reaches their awaits), as an
   * `await fut` resumes; `waitFor(lock.acquire().then(use), ms)` cancels `use` at the deadline.
   */
  _run(): void {
    const saved = callbackContext.loop;
    callbackContext.loop = null;
    try {
      runInStrand(this._strand!, wakeChain, this);
    } finally {
      callbackContext.loop = saved;
    }
    this._strand = null;
  }

  /** The awaited outcome arrives (`Awaiter`): run the callbacks. @internal */
  _deliver(ok: boolean, input: unknown): void {
    let fulfilled: boolean;
    let out: unknown;
    try {
      if (ok) {
        out = this.onFulfilled ? this.onFulfilled(input) : input;
        fulfilled = true;
      } else if (this.onRejected) {
        out = this.onRejected(input);
        fulfilled = true;
      } else {
        out = input;
        fulfilled = false;
      }
    } catch (e) {
      out = e;
      fulfilled = false;
    }
    if (fulfilled && this._strand !== null && isPendingFuture(out)) {
      // A callback of a task's chain returned a pending future of ours (`.then(() => sleep(100))`):
      // followed as an await of ours made here, by the strand's code (`_run`), live; not through a real
      // promise, whose job would register it as an element counted only in this step (in a
      // `Promise.all` of such chains, cancelling the task reached only the chain woken last).
      out.then(
        (v: unknown) => this._settle(true, v),
        (e: unknown) => this._settle(false, e),
      );
      return;
    }
    this._settle(fulfilled, out);
  }

  /** The chain's outcome is known: settle it (and its real promise, if observed). */
  private _settle(fulfilled: boolean, out: unknown): void {
    this._state = fulfilled ? FULFILLED : REJECTED;
    this._value = out;
    const obs = this._observed;
    if (obs !== null) {
      if (fulfilled) obs.resolve(out);
      else obs.reject(out);
      return;
    }
    const thenable = fulfilled && out !== null && (typeof out === "object" || typeof out === "function") && typeof (out as PromiseLike<unknown>).then === "function";
    if (thenable) this.materialize();
    else if (!fulfilled) {
      // Unobserved so far: give it one microtask, then let Node see a rejected promise.
      soon(() => {
        if (this._observed === null) void this.materialize();
      });
    }
  }

  private materialize(): Promise<T> {
    let obs = this._observed;
    if (this._reg === REG_LIVE || this._reg === REG_DEFERRED) claimAwait(this as Chain<unknown>);
    if (obs === null) {
      let resolve!: (v: unknown) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res as (v: unknown) => void;
        reject = rej;
      });
      obs = this._observed = { promise, resolve, reject };
      // (a combinator that takes over work holding this promise moves the await along: adopt.ts)
      (promise as { [CHAIN_OF]?: Chain<unknown> })[CHAIN_OF] = this as Chain<unknown>;
      if (this._state === FULFILLED) resolve(this._value);
      else if (this._state === REJECTED) reject(this._value);
    }
    return obs.promise;
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.materialize().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.materialize().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.materialize().finally(onFinally);
  }

  get [Symbol.toStringTag](): string {
    return "Promise";
  }
}

// A chain queued as a ready-queue entry is never cancelled there (on the prototype: no field per chain).
Object.defineProperty(Chain.prototype, "_cancelled", { value: false, writable: false });
