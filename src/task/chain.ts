/**
 * `Chain`: what `Future.then()` returns, a promise made only if someone uses it.
 *
 * JavaScript's `await fut` calls `fut.then(resolve, reject)` and throws the returned value away. A
 * native `Promise` per await costs an allocation, an executor closure and, on Node 20 with
 * AsyncLocalStorage active, a promise hook. A `Chain` records the outcome of the callbacks instead and
 * makes the real promise the first time it is observed (`then`, `catch`, `finally`, `await`).
 *
 * Nothing is lost: a callback that throws (or a rejection with no `onRejected`) whose chain nobody has
 * observed by the next microtask becomes a real rejected promise, so Node reports it as an unhandled
 * rejection exactly as it would for a native `then`. A callback that returns a thenable is adopted at
 * once through a real promise.
 *
 * @module
 */
import { soon } from "./microtask.js";

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

/** A lazily materialised promise: `then`, `catch` and `finally` behave as on the `Promise` it stands for. */
export class Chain<T> implements PromiseLike<T> {
  /** The callbacks of the `then` call this chain stands for. */
  private readonly onFulfilled: ((value: any) => unknown) | null | undefined;
  private readonly onRejected: ((reason: unknown) => unknown) | null | undefined;

  constructor(onFulfilled?: ((value: any) => unknown) | null, onRejected?: ((reason: unknown) => unknown) | null) {
    this.onFulfilled = onFulfilled;
    this.onRejected = onRejected;
  }

  /** The awaited outcome arrives (`Awaiter`): run the callbacks. @internal */
  _deliver(ok: boolean, input: unknown): void {
    this._run(ok, input, this.onFulfilled, this.onRejected);
  }

  /** Invariant: PENDING until `_settle`; then FULFILLED or REJECTED with `value`. */
  private state = PENDING;
  private value: unknown = undefined;
  /** The real promise, once observed; then settled together with this chain. */
  private promise: Promise<T> | null = null;
  private resolveP: ((v: unknown) => void) | null = null;
  private rejectP: ((e: unknown) => void) | null = null;

  /**
   * Settle with the outcome of the callbacks of `then(onFulfilled, onRejected)` for `(ok, input)`.
   * @internal
   */
  _run<A>(
    ok: boolean,
    input: unknown,
    onFulfilled: ((value: A) => unknown) | null | undefined,
    onRejected: ((reason: unknown) => unknown) | null | undefined,
  ): void {
    let fulfilled: boolean;
    let out: unknown;
    try {
      if (ok) {
        out = onFulfilled ? onFulfilled(input as A) : input;
        fulfilled = true;
      } else if (onRejected) {
        out = onRejected(input);
        fulfilled = true;
      } else {
        out = input;
        fulfilled = false;
      }
    } catch (e) {
      out = e;
      fulfilled = false;
    }
    this.state = fulfilled ? FULFILLED : REJECTED;
    this.value = out;
    if (this.promise !== null) {
      if (fulfilled) this.resolveP!(out);
      else this.rejectP!(out);
      return;
    }
    const thenable = fulfilled && out !== null && (typeof out === "object" || typeof out === "function") && typeof (out as PromiseLike<unknown>).then === "function";
    if (thenable) this.materialize();
    else if (!fulfilled) {
      // Unobserved so far: give it one microtask, then let Node see a rejected promise.
      soon(() => {
        if (this.promise === null) void this.materialize();
      });
    }
  }

  private materialize(): Promise<T> {
    if (this.promise === null) {
      this.promise = new Promise<T>((res, rej) => {
        this.resolveP = res as (v: unknown) => void;
        this.rejectP = rej;
      });
      if (this.state === FULFILLED) this.resolveP!(this.value);
      else if (this.state === REJECTED) this.rejectP!(this.value);
    }
    return this.promise;
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
