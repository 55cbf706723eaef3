/**
 * `gather(...aws)`: run awaitables concurrently and collect their results in order.
 *
 * CPython's semantics (3.12): the result future fails with the first child error (the other children go
 * on running); with `returnExceptions` errors are collected as results. Cancelling the gather cancels
 * every child; a cancelled child makes the gather fail with `CancelledError` (or, with
 * `returnExceptions`, appear as a `CancelledError` in the results).
 *
 * @module
 */
import { CancelledError } from "../errors.js";
import type { EventLoop } from "../loop/event-loop.js";
import { getEventLoop } from "../loop/running.js";
import { ensureFuture, type AwaitableLike, type Awaited2 } from "../task/ensure-future.js";
import { Future } from "../task/future.js";

/** Options of `gather`, passed as the last argument. */
export interface GatherOptions {
  /** Collect errors (and `CancelledError`s) as results instead of failing. */
  returnExceptions?: boolean;
}

/** The future `gather` returns: cancelling it cancels the children. */
export class GatheringFuture<T> extends Future<T> {
  /** @internal */ readonly _children: Future<unknown>[];
  /** @internal */ _cancelRequested = false;
  constructor(children: Future<unknown>[], loop: EventLoop) {
    super({ loop });
    this._children = children;
  }
  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    let ret = false;
    for (const c of this._children) if (c.cancel(msg)) ret = true;
    if (ret) this._cancelRequested = true;
    return ret;
  }
}

let gatherStamp = 0;

function isOptions(x: unknown): x is GatherOptions {
  return (
    x !== null &&
    typeof x === "object" &&
    !(x instanceof Future) &&
    typeof (x as { then?: unknown }).then !== "function" &&
    Object.getPrototypeOf(x) === Object.prototype
  );
}

type Results<A extends readonly unknown[]> = { -readonly [K in keyof A]: Awaited2<A[K]> };
type ResultsOrErrors<A extends readonly unknown[]> = { -readonly [K in keyof A]: Awaited2<A[K]> | unknown };

/**
 * Run the awaitables concurrently; resolve to their results, in argument order. Functions are started
 * as tasks; foreign promises are wrapped. Pass `{ returnExceptions: true }` last to collect errors.
 *
 * @example
 * ```ts
 * import { run, gather, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const [a, b] = await gather(async () => { await sleep(20); return "a"; }, sleep(10, 2));
 *   console.log(a, b); // "a" 2
 *   const r = await gather(async () => { throw new Error("x"); }, { returnExceptions: true });
 *   console.log(r[0] instanceof Error); // true
 * }, { virtualTime: true });
 * ```
 */
export function gather<A extends readonly AwaitableLike<unknown>[]>(...aws: A): GatheringFuture<Results<A>>;
export function gather<A extends readonly AwaitableLike<unknown>[]>(
  ...args: [...A, GatherOptions & { returnExceptions: true }]
): GatheringFuture<ResultsOrErrors<A>>;
export function gather<A extends readonly AwaitableLike<unknown>[]>(...args: [...A, GatherOptions]): GatheringFuture<ResultsOrErrors<A>>;
export function gather(...args: unknown[]): GatheringFuture<unknown[]> {
  let returnExceptions = false;
  if (args.length > 0 && isOptions(args[args.length - 1])) {
    const opts = args.pop() as GatherOptions;
    for (const k of Object.keys(opts)) {
      if (k !== "returnExceptions") throw new TypeError(`Unknown gather option ${JSON.stringify(k)}`);
    }
    returnExceptions = Boolean(opts.returnExceptions);
  }
  if (args.length === 0) {
    const loop = getEventLoop();
    const outer = new GatheringFuture<unknown[]>([], loop);
    outer.setResult([]);
    return outer;
  }
  const children: Future<unknown>[] = [];
  const doneFuts: Future<unknown>[] = [];
  let loop: EventLoop | undefined;
  let nfuts = 0;
  let nfinished = 0;
  let outer: GatheringFuture<unknown[]> | null = null;

  const onChildDone = (fut: Future<unknown>): void => {
    nfinished++;
    if (outer === null || outer.done()) {
      if (!fut.cancelled()) fut.exception(); // mark retrieved
      return;
    }
    if (!returnExceptions) {
      if (fut.cancelled()) {
        outer.setException(fut._makeCancelledError());
        return;
      }
      const exc = fut.exception();
      if (fut._hasException) {
        outer.setException(exc);
        return;
      }
    }
    if (nfinished === nfuts) {
      const results: unknown[] = [];
      for (const f of children) {
        if (f.cancelled()) results.push(new CancelledError(f._cancelMessage ?? ""));
        else {
          const e = f.exception();
          results.push(f._hasException ? e : f.result());
        }
      }
      if (outer._cancelRequested) outer.setException(fut._makeCancelledError());
      else outer.setResult(results);
    }
  };

  // The same argument given twice is awaited once, as in CPython (a function given twice runs once, as
  // the same coroutine object would). Futures are recognised by a per-call stamp rather than a Map: no
  // hashing on the path of a 100,000-task gather.
  const stamp = ++gatherStamp;
  let others: Map<unknown, Future<unknown>> | null = null;
  for (const arg of args) {
    let fut: Future<unknown>;
    if (arg instanceof Future) {
      if (arg._gatherStamp === stamp) {
        children.push(arg);
        continue;
      }
      fut = ensureFuture(arg, loop);
      fut._gatherStamp = stamp;
    } else {
      others ??= new Map();
      const seen = others.get(arg);
      if (seen !== undefined) {
        children.push(seen);
        continue;
      }
      fut = ensureFuture(arg as AwaitableLike<unknown>, loop);
      others.set(arg, fut);
    }
    loop ??= fut._loop;
    nfuts++;
    if (fut.done()) doneFuts.push(fut);
    else fut.addDoneCallback(onChildDone);
    children.push(fut);
  }
  outer = new GatheringFuture<unknown[]>(children, loop!);
  for (const f of doneFuts) onChildDone(f);
  return outer;
}
