/**
 * `shield(aw)`: protect an awaitable from the cancellation of whoever awaits it.
 *
 * @module
 */
import { type AwaitableLike, ensureFuture, type EventLoop, Future, markDonePath } from "../core/index.js";

/** The future `shield` returns: says what it shields. */
class ShieldFuture<T> extends Future<T> {
  constructor(
    private readonly _inner: Future<T>,
    loop: EventLoop,
  ) {
    super(undefined, loop);
  }
  /** @internal */
  override _mayFinishSoon(): boolean {
    return !this.done() && !this._inner.done() && this._inner._mayFinishSoon();
  }
  /** @internal `shield(Task-3)` */
  override _describe(): string {
    return `shield(${this._inner._describe()})`;
  }
}

/**
 * Await `aw` without letting a cancellation of the awaiting task cancel it: the awaiting task gets
 * `CancelledError`, but `aw` runs on. (Keep a reference to `aw` if you want its result later; a cancel
 * scope with `shield: true` is often clearer: see `CancelScope`.)
 *
 * @example
 * ```ts
 * import { run, shield, createTask, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const save = createTask(async () => { await sleep(100); return "saved"; });
 *   const waiter = createTask(() => shield(save));
 *   await sleep(10);
 *   waiter.cancel();
 *   console.log(await save); // "saved": the shielded task was not cancelled
 * }, { virtualTime: true });
 * ```
 */
export function shield<T>(aw: AwaitableLike<T>): Future<T> {
  const inner = ensureFuture(aw);
  if (inner.done()) return inner;
  const loop = inner._loop;
  const outer = new ShieldFuture<T>(inner, loop);
  const onInnerDone = markDonePath((f: Future<T>): void => {
    if (outer.cancelled()) {
      if (!f.cancelled()) f.exception(); // mark retrieved
      return;
    }
    if (f.cancelled()) outer.cancel();
    else {
      const exc = f.exception();
      if (f._hasException) outer.setException(exc);
      else outer.setResult(f.result());
    }
  });
  const onOuterDone = (): void => {
    if (!inner.done()) inner.removeDoneCallback(onInnerDone);
  };
  inner.addDoneCallback(onInnerDone);
  outer.addDoneCallback(onOuterDone);
  return outer;
}
