/**
 * `gather(...aws)`: run awaitables concurrently and collect their results in order.
 *
 * CPython's semantics (3.12): the result future fails with the first child error (the other children go
 * on running); with `returnExceptions` errors are collected as results. Cancelling the gather cancels
 * every child; a cancelled child makes the gather fail with `CancelledError` (or, with
 * `returnExceptions`, appear as a `CancelledError` in the results).
 *
 * `gather(a(), b())`, the literal translation of `asyncio.gather(a(), b())`, makes each promise a task
 * that owns its async function's work (`core/adopt.ts`), as CPython wraps each coroutine in a task: the
 * gather's cancellation reaches the awaits inside them.
 *
 * @module
 */
import { camelCaseHint } from "../core/check.js";
import { oneIterableHint } from "./wait.js";
import { type AwaitableLike, type Awaited2, CancelledError, checkBoolean, currentLoop, describe, type EventLoop, kindOf, markArguments, NO_LIMIT, unmarkArguments, Future, markDonePath, toFuture, workLimits } from "../core/index.js";

/** Options of `gather`, passed as the last argument. */
export interface GatherOptions {
  /** Collect errors (and `CancelledError`s) as results instead of failing. */
  returnExceptions?: boolean;
}

/** The future `gather` returns: cancelling it cancels the children. */
export class GatheringFuture<T> extends Future<T> {
  /** @internal */ readonly _children: Future<unknown>[];
  /** @internal */ _cancelRequested = false;
  /** @internal set once a cancellation waited for the children's queued microtasks (see `cancel`) */
  _cancelDeferred = false;
  constructor(children: Future<unknown>[], loop: EventLoop) {
    super({ loop });
    this._children = children;
  }
  /** @internal */
  override _mayFinishSoon(): boolean {
    return !this.done() && this._children.some((c) => !c.done() && c._mayFinishSoon());
  }

  /** @internal */
  override _awaits(): readonly Future<unknown>[] {
    return this.done() ? [] : this._children.filter((c) => !c.done());
  }

  /** @internal `gather(Task-2, Task-3)` */
  override _describe(): string {
    const c = this._children;
    const names = c.slice(0, 3).map((f) => f._describe());
    return `gather(${names.join(", ")}${c.length > 3 ? `, … ${c.length} in all` : ""})`;
  }
  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    // A child that may finish within the microtasks already queued (work nothing could take over:
    // `gather(lock.acquire().then(f).finally(g))`) was done, in CPython, when gather saw it (an eager
    // task): the cancellation waits for those microtasks, once, then cancels what is still pending.
    if (!this._cancelDeferred && this._mayFinishSoon()) {
      this._cancelDeferred = true;
      this._loop._afterMicrotasks(() => {
        if (!this.done()) this.cancel(msg);
      });
      return true;
    }
    let ret = false;
    for (const c of this._children) if (c.cancel(msg)) ret = true;
    if (ret) this._cancelRequested = true;
    return ret;
  }
}

const GATHER_OPTIONS = ["returnExceptions"];

const ARG_OTHER = 0;
const ARG_FUTURE = 1;
const ARG_PROMISE = 2;
const ARG_UNREADABLE = 3;

/** What an argument of gather is; a Proxy whose traps throw is unreadable (never its own error). */
function argKind(arg: unknown): number {
  try {
    return arg instanceof Future ? ARG_FUTURE : arg instanceof Promise ? ARG_PROMISE : ARG_OTHER;
  } catch {
    return ARG_UNREADABLE;
  }
}

const isPromiseArg = (x: unknown): boolean => argKind(x) === ARG_PROMISE;

function isOptions(x: unknown): x is GatherOptions {
  if (kindOf(x, Future) !== "other" || typeof x !== "object" || x === null) return false;
  try {
    return Object.getPrototypeOf(x) === Object.prototype;
  } catch {
    return false; // (a Proxy: toFuture says it is no awaitable)
  }
}

/** A Set, a generator...: CPython's `gather(*tasks)` written `gather(tasks)`. Never throws (a Proxy: false). */
function isIterableNotAwaitable(x: unknown): boolean {
  if (typeof x !== "object" || x === null || kindOf(x, Future) !== "other") return false;
  try {
    return typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
  } catch {
    return false;
  }
}

/** What `gather(...aws)` resolves to: each awaitable's result, in order. @example `const [a, b]: Results<[Task<number>, Promise<string>]> = [1, "x"];` */
export type Results<A extends readonly unknown[]> = { -readonly [K in keyof A]: Awaited2<A[K]> };
/** What `gather(...aws, { returnExceptions: true })` resolves to: each result or error, in order. @example `const [a, b]: ResultsOrErrors<[Task<number>, Task<string>]> = [1, new Error("x")];` */
export type ResultsOrErrors<A extends readonly unknown[]> = { -readonly [K in keyof A]: Awaited2<A[K]> | unknown };

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
  let opts: GatherOptions | undefined;
  if (args.length > 0 && isOptions(args[args.length - 1])) opts = args.pop() as GatherOptions;
  if (args.length === 1 && (Array.isArray(args[0]) || isIterableNotAwaitable(args[0]))) {
    const what = Array.isArray(args[0]) ? "an array" : "an iterable";
    throw new TypeError(
      `gather() takes the awaitables as arguments, not ${what}: write gather(...list) (for very long lists, gatherAll(list)), got ${describe(args[0])}`,
    );
  }
  return gatherArray(args, opts);
}

/**
 * `gather` of an iterable of awaitables: the same as `gather(...list)`, for lists too long to spread
 * into a call (JavaScript engines refuse calls of more than about 100,000 arguments). Awaitables of
 * different result types give an array of their union (`gatherAll([task, sleep(1, "s")])` with a
 * `Task<number>`: `(number | string)[]`); `gatherAll<number>(list)` names the result type.
 *
 * @example
 * ```ts
 * import { run, gatherAll, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const results = await gatherAll(Array.from({ length: 200_000 }, (_, i) => sleep(10, i)));
 *   console.log(results.length, results[199_999]); // 200000 199999
 * }, { virtualTime: true });
 * ```
 */
export function gatherAll<T = unknown, A extends AwaitableLike<T> = AwaitableLike<T>>(aws: Iterable<A>, options?: GatherOptions): GatheringFuture<Awaited2<A>[]>;
export function gatherAll<T>(aws: Iterable<AwaitableLike<T>>, options?: GatherOptions): GatheringFuture<T[]> {
  if (aws === null || typeof aws !== "object" || typeof (aws as Iterable<unknown>)[Symbol.iterator] !== "function" || aws instanceof Future) {
    const hint = oneIterableHint(aws, "gatherAll", null);
    throw new TypeError(`Expected aws to be an iterable of awaitables, got ${describe(aws)}${hint === "" ? "" : `${hint} (or gather(a, b))`}`);
  }
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
  }
  return gatherArray(Array.isArray(aws) ? aws.slice() : [...aws], options) as GatheringFuture<T[]>;
}

function gatherArray(args: unknown[], opts: GatherOptions | undefined): GatheringFuture<unknown[]> {
  let returnExceptions = false;
  if (opts !== undefined) {
    for (const k of Object.keys(opts)) {
      if (k !== "returnExceptions") throw new TypeError(`Unknown gather option ${JSON.stringify(k)} (known: returnExceptions)${camelCaseHint(k, GATHER_OPTIONS)}`);
    }
    returnExceptions = checkBoolean(opts.returnExceptions, "returnExceptions") ?? false;
  }
  if (args.length === 0) {
    const loop = currentLoop("gather()");
    const outer = new GatheringFuture<unknown[]>([], loop);
    outer.setResult([]);
    return outer;
  }
  const n = args.length;
  const children: Future<unknown>[] = new Array<Future<unknown>>(n);
  let doneFuts: Future<unknown>[] | null = null;
  let loop: EventLoop | undefined;
  let nfuts = 0;
  let nfinished = 0;
  let outer: GatheringFuture<unknown[]> | null = null;

  const onChildDone = markDonePath((fut: Future<unknown>): void => {
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
        outer._relayException(exc); // (whatever was thrown, undefined too: not the user's setException)
        return;
      }
    }
    if (nfinished === nfuts) {
      const results: unknown[] = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        const f = children[i]!;
        if (f.cancelled()) results[i] = new CancelledError(f._cancelMessage ?? "");
        else {
          const e = f.exception();
          results[i] = f._hasException ? e : f.result();
        }
      }
      // (cancelled: the error of the last child in argument order, finished or cancelled, whichever ended
      // last: CPython's `_done_callback` reads its loop variable over the children here)
      if (outer._cancelRequested) outer.setException(children[n - 1]!._makeCancelledError());
      else outer.setResult(results);
    }
  });

  // The same argument given twice is awaited once, as in CPython (a function given twice runs once, as
  // the same coroutine object would). A pending future seen before in this call has `onChildDone` as its
  // last callback (nothing else runs while gather registers): no Map, no hashing on the path of a
  // 100,000-task gather. Done futures and other arguments are deduped with a Map.
  let others: Map<unknown, Future<unknown>> | null = null;
  // For each promise argument, where its async function's work surely ends (the next one's begins:
  // adopt.ts); computed when there are promises after the first argument only.
  let limits: number[] | null = null;
  for (let i = 1; i < n; i++) {
    if (argKind(args[i]) === ARG_PROMISE) {
      markArguments(args);
      try {
        limits = workLimits(args, isPromiseArg);
      } catch (e) {
        unmarkArguments(args);
        throw e;
      }
      break;
    }
  }
  try {
    for (let i = 0; i < n; i++) {
      const arg = args[i];
      let fut: Future<unknown>;
      const kind = argKind(arg);
      if (kind === ARG_UNREADABLE) toFuture(arg as AwaitableLike<unknown>, loop, NO_LIMIT, i); // (throws the TypeError naming it)
      if (kind === ARG_FUTURE && !(arg as Future<unknown>).done()) {
        if ((arg as Future<unknown>)._lastCallbackIs(onChildDone)) {
          children[i] = arg as Future<unknown>;
          continue;
        }
        fut = toFuture(arg as Future<unknown>, loop, NO_LIMIT, i);
      } else if (kind === ARG_PROMISE) {
        // a promise given twice becomes the same task (adopt.ts), seen here by its last callback
        fut = toFuture(arg as Promise<unknown>, loop, limits === null ? NO_LIMIT : limits[i]!, i);
        if (!fut.done() && fut._lastCallbackIs(onChildDone)) {
          children[i] = fut;
          continue;
        }
      } else {
        others ??= new Map();
        const seen = others.get(arg);
        if (seen !== undefined) {
          children[i] = seen;
          continue;
        }
        fut = toFuture(arg as AwaitableLike<unknown>, loop, limits === null ? NO_LIMIT : limits[i]!, i);
        others.set(arg, fut);
      }
      loop ??= fut._loop;
      nfuts++;
      if (fut.done()) (doneFuts ??= []).push(fut);
      else fut._pushCallback(onChildDone);
      children[i] = fut;
    }
  } finally {
    if (limits !== null) unmarkArguments(args);
  }
  outer = new GatheringFuture<unknown[]>(children, loop!);
  if (doneFuts !== null) for (const f of doneFuts) onChildDone(f);
  return outer;
}
