/**
 * `shield(aw)`: protect an awaitable from the cancellation of whoever awaits it.
 *
 * @module
 */
import { type AwaitableLike, CancelledError, cannotTakeOver, ensureFuture, type EventLoop, Future, markDonePath, takeOverError } from "../core/index.js";

/** The message a cancelled future's readers get (its `_value`: a message, or the CancelledError it ended with). */
function cancelMessageOf(f: Future<unknown>): string | undefined {
  const v = f._value;
  if (v instanceof CancelledError) return v.message === "" ? undefined : v.message;
  return typeof v === "string" ? v : undefined;
}

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
  /** @internal */
  override _awaits(): readonly Future<unknown>[] {
    return this.done() || this._inner.done() ? [] : [this._inner];
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
  if (cannotTakeOver(aw)) throw takeOverError("shield could not protect it", "shield(() => work())");
  const inner = ensureFuture(aw);
  if (inner.done()) return inner;
  const loop = inner._loop;
  const outer = new ShieldFuture<T>(inner, loop);
  const onInnerDone = markDonePath((f: Future<T>, eager?: boolean): void => {
    if (outer.cancelled()) {
      if (!f.cancelled()) f.exception(); // mark retrieved
      return;
    }
    // Work done within its first step (an eager task): CPython's shield returns that very task, whose
    // cancellation keeps its message; otherwise it cancels the outer future plainly, as CPython does.
    if (f.cancelled()) outer.cancel(eager === true ? cancelMessageOf(f) : undefined);
    else {
      const exc = f.exception();
      if (f._hasException) outer._relayException(exc); // (whatever was thrown, undefined too)
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
