/**
 * A binary min-heap of timers ordered by (deadline, scheduling order): the order in which CPython's
 * `_run_once` moves due timers to the ready queue.
 *
 * Cancelled timers stay in the heap until they reach the top (lazy deletion), like CPython; the loop
 * compacts the heap when more than half of it is cancelled.
 *
 * @module
 */
import type { TimerHandle } from "./handles.js";

function before(a: TimerHandle, b: TimerHandle): boolean {
  return a._when < b._when || (a._when === b._when && a._seq < b._seq);
}

/** @internal */
export class TimerHeap {
  /** Invariant: items[i] is not after items[2i+1] nor items[2i+2]. */
  private items: TimerHandle[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): TimerHandle | undefined {
    return this.items[0];
  }

  push(t: TimerHandle): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p]!;
      if (!before(t, parent)) break;
      a[i] = parent;
      i = p;
    }
    a[i] = t;
  }

  pop(): TimerHandle | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      const n = a.length;
      while (true) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(a[r]!, a[l]!) ? r : l;
        if (!before(a[c]!, last)) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }

  /** Drop cancelled timers and rebuild. */
  compact(): void {
    const keep = this.items.filter((t) => !t._cancelled);
    this.items = [];
    for (const t of keep) this.push(t);
  }

  clear(): void {
    this.items = [];
  }
}
