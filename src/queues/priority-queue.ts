/**
 * `PriorityQueue<T>`: CPython's `asyncio.PriorityQueue`, a `Queue` that returns the smallest item first.
 * Only the storage hooks differ from `Queue` (a binary min-heap).
 *
 * Ordering: a `compare(a, b)` function (negative when `a` comes first), or by default Python's order
 * for the usual entries: numbers, bigints and strings by value, arrays (Python's tuples, such as
 * `[priority, data]`) element by element, a shorter prefix first. Anything else needs `compare` (a
 * `TypeError` says so, as Python does for unorderable types). Like `heapq`, the heap is not stable:
 * entries that compare equal come out in no particular order; add a sequence number to keep FIFO.
 *
 * @module
 */
import { checkFn, describe } from "../core/index.js";
import { Queue } from "./queue.js";

/**
 * Options of `new PriorityQueue(maxsize, options)`.
 * @example `new PriorityQueue<Job>(0, { compare: (a, b) => a.deadline - b.deadline })`
 */
export interface PriorityQueueOptions<T> {
  /** Order of items: negative if `a` comes before `b`, positive if after, 0 if equal. */
  compare?: (a: T, b: T) => number;
}

/**
 * Python's ordering of numbers, bigints, strings and arrays (tuples); throws `TypeError` otherwise.
 * @internal
 */
export function pythonCompare(a: unknown, b: unknown): number {
  const ta = typeof a;
  if ((ta === "number" || ta === "bigint") && (typeof b === "number" || typeof b === "bigint")) {
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = pythonCompare(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  throw new TypeError(
    `PriorityQueue cannot order ${describe(a)} and ${describe(b)}: pass { compare } to the constructor`,
  );
}

/**
 * A queue that returns the smallest item first (CPython's `asyncio.PriorityQueue`). Entries are
 * typically `[priority, data]` tuples.
 *
 * @example
 * ```ts
 * import { PriorityQueue } from "asyncio-ts";
 * const q = new PriorityQueue<[number, string]>();
 * q.putNowait([2, "write"]); q.putNowait([1, "read"]); q.putNowait([3, "close"]);
 * console.log(q.getNowait()[1], q.getNowait()[1], q.getNowait()[1]); // read write close
 * const byLength = new PriorityQueue<string>(0, { compare: (a, b) => a.length - b.length });
 * ```
 */
export class PriorityQueue<T> extends Queue<T> {
  /** @internal a binary min-heap: `_compare(_heap[parent(i)], _heap[i]) <= 0` */
  declare _heap: T[];
  /** @internal the order */
  declare _compare: (a: T, b: T) => number;

  /**
   * @param maxsize the bound: a non-negative integer; 0 (the default) means unbounded
   * @param options `compare`: the order (Python's order of numbers, strings and tuples by default)
   */
  constructor(maxsize = 0, options: PriorityQueueOptions<T> = {}) {
    super(maxsize);
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
    }
    if (options.compare !== undefined) {
      checkFn(options.compare, "options.compare");
      this._compare = options.compare;
    }
  }

  protected override _init(_maxsize: number): void {
    this._heap = [];
    this._compare = pythonCompare;
  }

  protected override _put(item: T): void {
    // The place is found before anything moves: a `compare` that throws (items it cannot order) leaves
    // the heap as it was, so the put fails whole and `qsize()` stays true. (CPython's `heappush` appends
    // first: the failed put stays in the queue, counted.)
    const heap = this._heap;
    const cmp = this._compare;
    const n = heap.length;
    let k = n;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (cmp(item, heap[parent] as T) >= 0) break;
      k = parent;
    }
    heap.push(item);
    for (let i = n; i > k; ) {
      const parent = (i - 1) >> 1;
      heap[i] = heap[parent] as T;
      i = parent;
    }
    heap[k] = item;
  }

  protected override _get(): T {
    // As `_put`: the path is found first, so a `compare` that throws loses no item (CPython's `heappop`
    // would have dropped the smallest one).
    const heap = this._heap;
    const n = heap.length - 1;
    const top = heap[0] as T;
    if (n === 0) {
      heap.pop();
      return top;
    }
    const last = heap[n] as T;
    const cmp = this._compare;
    let k = 0;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && cmp(heap[r] as T, heap[l] as T) < 0 ? r : l;
      if (cmp(heap[c] as T, last) >= 0) break;
      k = c;
    }
    heap.pop();
    // each node on the path from the root to k takes its child's item on that path (walked up from k)
    let carried = heap[k] as T;
    heap[k] = last;
    for (let j = k; j > 0; ) {
      const parent = (j - 1) >> 1;
      const up = heap[parent] as T;
      heap[parent] = carried;
      carried = up;
      j = parent;
    }
    return top;
  }
}
