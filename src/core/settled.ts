/**
 * The shared promises of ours that are fulfilled when they are made (what an uncontended `acquire()`
 * or a `put()` that did not wait returns), marked so that the combinators see at once that they are done:
 * `waitFor(q.put(x), 0)` must report the put, not a timeout. (A promise made per call, such as the one a
 * `get()` of a waiting item returns, needs no mark: the combinator takes it over, and its work is done
 * within its first step, see `core/adopt.ts`.)
 *
 * @module
 */

const SETTLED: unique symbol = Symbol("asyncio-ts.settled");
type Marked = { [SETTLED]?: { value: unknown } };

/** A promise fulfilled with `value`, marked as such. @internal */
export function fulfilled<T>(value: T): Promise<T> {
  const p = Promise.resolve(value);
  (p as Marked)[SETTLED] = { value };
  return p;
}

/** `{ value }` if `p` is one of `fulfilled()`'s promises, else undefined. @internal */
export function settledValue(p: object): { value: unknown } | undefined {
  return (p as Marked)[SETTLED];
}
