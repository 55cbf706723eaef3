/**
 * Promises of ours that are fulfilled when they are made (an uncontended `acquire()`, a `put()` that did
 * not wait, a `get()` of an item that was there), marked so that the combinators see at once that they are
 * done: `waitFor(q.put(x), 0)` must report the put, not a timeout, and `waitFor(q.get(), 0)` must deliver
 * the item it took rather than drop it.
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
