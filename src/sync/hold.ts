/**
 * `Hold`: a held lock, permit or token as a disposable, for `using` / `await using` scopes.
 *
 * Python's `async with lock:` has two TypeScript forms (see `docs/design.md`): the callback form
 * (`lock.withLock(fn)`) and this one, `await using _ = await lock.hold()`, which releases on scope exit.
 * Releasing is synchronous, so both `Symbol.dispose` and `Symbol.asyncDispose` are provided.
 *
 * @module
 */
import { checkFn } from "../core/index.js";

/**
 * Something held (a lock, a semaphore permit, a capacity token) that is released once, when the
 * `using` scope ends or `release()` is called, whichever comes first.
 *
 * @example
 * ```ts
 * import { run, Lock } from "asyncio-ts";
 * await run(async () => {
 *   const lock = new Lock();
 *   {
 *     await using _held = await lock.hold();
 *     console.log(lock.locked()); // true
 *   }
 *   console.log(lock.locked()); // false
 * });
 * ```
 */
export class Hold implements Disposable, AsyncDisposable {
  /** @internal the release function; null once released (invariant: called at most once) */
  private _release: (() => void) | null;

  /** @internal made by `hold()` of a primitive */
  constructor(release: () => void) {
    this._release = release;
  }

  /**
   * True until released.
   * @example `const h = await lock.hold(); h.release(); console.log(h.held); // false`
   */
  get held(): boolean {
    return this._release !== null;
  }

  /**
   * Release now; later calls (and the scope exit) do nothing.
   * @example `using h = await lock.hold(); if (done) h.release();`
   */
  release(): void {
    const r = this._release;
    if (r === null) return;
    this._release = null;
    r();
  }

  /**
   * `using` support: release.
   * @example `{ using _h = await lock.hold(); }`
   */
  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * `await using` support: release.
   * @example `{ await using _h = await lock.hold(); }`
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}

/**
 * The two scoped forms every primitive offers, written once: `acquire` then a `Hold` that runs
 * `release` (`hold()`), or `acquire`, run `fn`, `release` however `fn` ends (`withLock`/`withPermit`).
 * @internal
 */
export async function acquireHold(acquire: () => PromiseLike<unknown>, release: () => void): Promise<Hold> {
  await acquire();
  return new Hold(release);
}

/** @internal see {@link acquireHold} */
export async function runHolding<R>(
  fn: () => R | PromiseLike<R>,
  acquire: () => PromiseLike<unknown>,
  release: () => void,
): Promise<R> {
  checkFn(fn, "fn");
  await acquire();
  try {
    return await fn();
  } finally {
    release();
  }
}
