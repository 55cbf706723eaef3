/**
 * Failures nobody retrieved: CPython's "Task exception was never retrieved" and "Future exception was
 * never retrieved" (`Future.__del__`, `_log_traceback` in `Lib/asyncio/futures.py`).
 *
 * ## Approach
 * CPython reports a failed future that nobody asked about when it is collected. A `FinalizationRegistry`
 * does the same here: a future that fails is registered, with its report made at once (the report must
 * not hold the future, or it would never be collected), and asking for its outcome (`result()`,
 * `exception()`, an await) unregisters it. Node runs finalizers in a later macrotask, possibly after the
 * loop closed and `run()` returned; so the loop also keeps each registered future by its weak reference,
 * and `close()` reports every one left: alive and still unretrieved, or collected with its finalizer not
 * run yet (then once, unregistered).
 *
 * Strict runs (`RunOptions.strict`) keep every failed future alive in `log` until the runner reads which
 * ones nobody retrieved, so none is collected and reported after it looked.
 *
 * Rejected: reporting a failure not retrieved by the end of its step (CPython reports at collection: a
 * task awaited later, after a sleep, failed without anything being lost); holding every failed future
 * until close (a long-running program's failures would all stay in memory).
 *
 * @module
 */
import type { EventLoop } from "./event-loop.js";
import { defaultExceptionHandler, type ExceptionContext } from "./exception-handler.js";
import type { Future } from "./future.js";
import { Task } from "./task.js";

/** What the registry keeps for a failed future: its report, and where to send it. */
interface Held {
  owner: WeakRef<UnretrievedFailures>;
  context: ExceptionContext;
  ref: WeakRef<Future<unknown>>;
}

const registry = new FinalizationRegistry<Held>((held) => {
  const owner = held.owner.deref();
  if (owner !== undefined) owner.collected(held.ref, held.context);
  else defaultExceptionHandler(held.context);
});

/**
 * The report of an unretrieved failure; the task itself is not referenced (that would keep it alive):
 * reported at collection, it has `name` (a task's) where CPython, whose `__del__` still has the object,
 * has `future`; reported by `close()` while alive, it has `future` (and `task`) as well (`_report`).
 */
function contextOf(f: Future<unknown>): ExceptionContext {
  const isTask = f instanceof Task;
  return {
    message: `${isTask ? "Task" : "Future"} exception was never retrieved`,
    exception: f._exception,
    name: isTask ? (f as Task<unknown>).getName() : undefined,
  };
}

/** One loop's failed futures that nobody retrieved yet. @internal */
export class UnretrievedFailures {
  /**
   * Invariant: the futures whose failure nobody has retrieved yet, each by its registration with the
   * registry (the token), with its report; an entry leaves when the future is retrieved or reported (at
   * collection, or by `reportAll()`).
   */
  private readonly _table = new Map<WeakRef<Future<unknown>>, ExceptionContext>();
  /** Strict runs: every future that failed, in order (see the module's comment); null otherwise. */
  log: Future<unknown>[] | null = null;

  constructor(private readonly _loop: EventLoop) {}

  /** `f` failed: report it if nobody retrieves its failure. */
  note(f: Future<unknown>): void {
    // The report keeps the exception until the future is collected. An error's stack is formatted
    // lazily, and until then V8 keeps the frames' functions, which may hold the task (a closure over
    // it): the future would never be collected, and a dropped failure never reported. Format it now.
    const exc = f._value;
    if (exc instanceof Error) void exc.stack;
    const ref = new WeakRef(f);
    const context = contextOf(f);
    this._table.set(ref, context);
    // (those retrieved since are dropped now and then: the log holds what may still be unretrieved)
    if (this.log !== null && this.log.push(f) % 1024 === 0) this.log = this.log.filter((g) => g._logTraceback);
    (f as { _unretrievedRef?: WeakRef<Future<unknown>> })._unretrievedRef = ref;
    registry.register(f, { owner: new WeakRef(this), context, ref }, ref);
  }

  /** Somebody retrieved `f`'s failure: nothing to report. */
  retrieved(f: Future<unknown>): void {
    const ref = (f as { _unretrievedRef?: WeakRef<Future<unknown>> })._unretrievedRef;
    if (ref !== undefined) {
      this._table.delete(ref);
      registry.unregister(ref);
    }
  }

  /** A future whose failure nobody retrieved was collected: report it (CPython's `__del__`). */
  collected(ref: WeakRef<Future<unknown>>, context: ExceptionContext): void {
    // (after close, only one that close() did not report: it reported and dropped the rest)
    if (this._table.delete(ref) || !this._loop.isClosed()) this._loop.callExceptionHandler(context);
  }

  /** The loop closes: report every failure still unretrieved, alive or collected. */
  reportAll(): void {
    for (const [ref, context] of this._table) {
      const f = ref.deref();
      if (f !== undefined) {
        if (f._logTraceback) this._report(f);
      } else {
        // collected, its finalizer not run yet (Node runs them in a later macrotask): report it now, once
        registry.unregister(ref);
        this._loop.callExceptionHandler(context);
      }
    }
    this._table.clear();
  }

  private _report(f: Future<unknown>): void {
    this.retrieved(f);
    f._logTraceback = false;
    const ctx = contextOf(f);
    // CPython's keys: `future` is the task or future (`Future.__del__`, Lib/asyncio/futures.py:97-102);
    // `task` as well for a task, which this project's handlers and the default one read.
    ctx.future = f;
    if (f instanceof Task) ctx.task = f;
    this._loop.callExceptionHandler(ctx);
  }
}
