/**
 * `LifoQueue<T>`: CPython's `asyncio.LifoQueue`, a `Queue` that returns the newest item first. Only the
 * storage hooks differ from `Queue` (an array used as a stack).
 *
 * @module
 */
import { Queue } from "./queue.js";

/**
 * A last-in, first-out queue (CPython's `asyncio.LifoQueue`).
 *
 * @example
 * ```ts
 * import { LifoQueue } from "asyncio-ts";
 * const q = new LifoQueue<number>();
 * q.putNowait(1); q.putNowait(2); q.putNowait(3);
 * console.log(q.getNowait(), q.getNowait(), q.getNowait()); // 3 2 1
 * ```
 */
export class LifoQueue<T> extends Queue<T> {
  /** @internal the stack; the newest item is last */
  declare _stack: T[];

  protected override _init(_maxsize: number): void {
    this._stack = [];
  }

  protected override _put(item: T): void {
    this._stack.push(item);
  }

  protected override _get(): T {
    return this._stack.pop() as T;
  }
}
