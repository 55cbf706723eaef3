/**
 * The loop's timers: a binary min-heap on the deadline alone, with the very algorithms of Python's
 * `heapq` (which CPython's event loop uses), so that timers due at the same time leave it in the same
 * order as in CPython.
 *
 * That order is not the scheduling order: `heapq` is not stable. With timers A (375 ms), B (750),
 * C (375), D (250) scheduled in that order, popping D moves C above A, and at 375 ms C fires before A.
 * CPython's documentation calls the order of equal deadlines undefined, but it is deterministic, and
 * programs ported from Python print in it; so asyncio-ts reproduces it (the conformance harness
 * checks it against CPython, see `conformance/`). For that, the heap's shape must evolve exactly as
 * CPython's: same push and pop (`_siftdown`, `_siftup`), same rebuild (`heapify`), and the loop
 * removes cancelled timers at the same moments (`EventLoop._cleanTimers`).
 *
 * Rejected: ordering ties by scheduling order (a stable heap). Simpler to explain, but it differs
 * from CPython whenever a pop reshapes the heap between two equal deadlines.
 *
 * Cancelled timers stay in the heap until they reach the top or the heap is rebuilt (lazy deletion).
 *
 * @module
 */
import type { TimerHandle } from "./handles.js";

/** @internal */
export class TimerHeap {
  /** Invariant: items[i]._when <= items[2i+1]._when and items[2i+2]._when. */
  private items: TimerHandle[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): TimerHandle | undefined {
    return this.items[0];
  }

  /** `heapq.heappush`. */
  push(t: TimerHandle): void {
    this.items.push(t);
    this.siftDown(0, this.items.length - 1);
  }

  /** `heapq.heappop`. */
  pop(): TimerHandle | undefined {
    const a = this.items;
    const last = a.pop();
    if (a.length === 0) return last;
    const top = a[0];
    a[0] = last!;
    this.siftUp(0);
    return top;
  }

  /** Drop cancelled timers and rebuild (`heapq.heapify` of the survivors, in heap order). */
  compact(): void {
    const keep: TimerHandle[] = [];
    for (const t of this.items) {
      if (t._cancelled) t._scheduled = false;
      else keep.push(t);
    }
    this.items = keep;
    for (let i = (keep.length >> 1) - 1; i >= 0; i--) this.siftUp(i);
  }

  /** The earliest timer that is not cancelled, found without changing the heap (diagnostics). */
  earliestLive(): TimerHandle | undefined {
    let best: TimerHandle | undefined;
    for (const t of this.items) if (!t._cancelled && (best === undefined || t._when < best._when)) best = t;
    return best;
  }

  /** Call `fn` on every timer, in no particular order (the heap is not changed). */
  forEach(fn: (t: TimerHandle) => void): void {
    for (const t of this.items) fn(t);
  }

  clear(): void {
    for (const t of this.items) t._scheduled = false;
    this.items = [];
  }

  /** `heapq._siftdown`: move the item at `pos` up towards `start` while it is smaller than its parent. */
  private siftDown(start: number, pos: number): void {
    const a = this.items;
    const item = a[pos]!;
    while (pos > start) {
      const parentPos = (pos - 1) >> 1;
      const parent = a[parentPos]!;
      if (!(item._when < parent._when)) break;
      a[pos] = parent;
      pos = parentPos;
    }
    a[pos] = item;
  }

  /**
   * `heapq._siftup`: move the smaller child up until a leaf is reached (the right child when the two
   * are equal), put the item there, then sift it back towards `pos`.
   */
  private siftUp(pos: number): void {
    const a = this.items;
    const end = a.length;
    const start = pos;
    const item = a[pos]!;
    let child = 2 * pos + 1;
    while (child < end) {
      const right = child + 1;
      if (right < end && !(a[child]!._when < a[right]!._when)) child = right;
      a[pos] = a[child]!;
      pos = child;
      child = 2 * pos + 1;
    }
    a[pos] = item;
    this.siftDown(start, pos);
  }
}
