/**
 * The waiting line of a `JobQueue`: jobs ordered by priority (higher first), first in first out within a
 * priority, with O(1) removal of any job (an aborted signal, a cancelled job future, `clear()`).
 *
 * ## Approach
 * One intrusive doubly linked list per priority (a *level*); the levels in an array sorted by priority,
 * ascending, so that the highest level is the last element (`pop()` when it empties, O(1)). A job is its
 * own list node (`_lprev`, `_lnext`, `_level`): no node object per job. Adding to the newest level used
 * (the usual case: every job at priority 0) is O(1); a new priority costs a binary search and a splice
 * of the level array, O(number of distinct priorities), which is small in practice.
 *
 * ## Rejected alternatives
 * - p-queue's sorted array of `{ priority, run }` objects: one object per job, O(n) insertion of a job
 *   with a higher priority than the last one (a splice), and O(n) removal (`findIndex` + `splice`) when
 *   a waiting job is aborted: aborting 10,000 waiting jobs is quadratic.
 * - A binary heap: O(log n) per job, and it is not stable (FIFO within a priority would need a sequence
 *   number per job and a comparison on it), nor does it remove an arbitrary job cheaply.
 * - A `Map` from priority to level: the highest non-empty level must still be found; a sorted array
 *   of the few levels in use finds it at its end.
 *
 * @module
 */

/** What the list needs of a job: the links it owns, and the job's priority. @internal */
export interface ListNode {
  /** @internal the job's priority: any number but NaN (`Infinity` and `-Infinity` allowed) */
  _prio: number;
  /** @internal the level this node is linked in; null iff it is not linked in a `PriorityList` */
  _level: Level | null;
  /** @internal previous node of its list (older); null at the head or when unlinked */
  _lprev: ListNode | null;
  /** @internal next node of its list (newer); null at the tail or when unlinked */
  _lnext: ListNode | null;
}

/** The jobs of one priority, oldest first. @internal */
export class Level {
  /** @internal oldest node; null iff `size === 0` */
  head: ListNode | null = null;
  /** @internal newest node; null iff `size === 0` */
  tail: ListNode | null = null;
  /** @internal number of linked nodes */
  size = 0;
  constructor(readonly prio: number) {}
}

/**
 * Jobs by priority, FIFO within a priority.
 * @internal
 */
export class PriorityList<N extends ListNode> {
  /**
   * @internal the non-empty levels, ascending by priority, at most one per priority. Invariant: every
   * level here has `size > 0` (a level is dropped when its last node leaves).
   */
  _levels: Level[] = [];
  /** @internal number of linked nodes, over all levels */
  size = 0;
  /** @internal the level `push` used last (or null): adding at the same priority finds it at once */
  private _last: Level | null = null;

  /** Append `node` at the end of its priority's line. */
  push(node: N): void {
    let level = this._last;
    if (level === null || level.prio !== node._prio || level.size === 0) level = this._levelFor(node._prio);
    const tail = level.tail;
    node._lprev = tail;
    node._lnext = null;
    if (tail === null) level.head = node;
    else tail._lnext = node;
    level.tail = node;
    level.size++;
    node._level = level;
    this.size++;
  }

  /** The node that `shift()` would return, or null. */
  peek(): N | null {
    const levels = this._levels;
    return levels.length === 0 ? null : (levels[levels.length - 1]!.head as N);
  }

  /** Remove and return the oldest node of the highest priority, or null when empty. */
  shift(): N | null {
    const node = this.peek();
    if (node !== null) this.remove(node);
    return node;
  }

  /** Unlink `node` if it is linked here; returns whether it was. */
  remove(node: N): boolean {
    const level = node._level;
    if (level === null) return false;
    const prev = node._lprev;
    const next = node._lnext;
    if (prev === null) level.head = next;
    else prev._lnext = next;
    if (next === null) level.tail = prev;
    else next._lprev = prev;
    node._lprev = node._lnext = null;
    node._level = null;
    this.size--;
    if (--level.size === 0) this._drop(level);
    return true;
  }

  /** Number of linked nodes with priority `prio`. */
  sizeOf(prio: number): number {
    const i = this._find(prio);
    const level = this._levels[i];
    return level !== undefined && level.prio === prio ? level.size : 0;
  }

  /** Every linked node, in the order `shift()` would return them. */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let i = this._levels.length - 1; i >= 0; i--) {
      for (let n = this._levels[i]!.head; n !== null; n = n._lnext) yield n as N;
    }
  }

  /** Unlink every node; returns them in `shift()` order. */
  drain(): N[] {
    const out: N[] = [];
    for (let i = this._levels.length - 1; i >= 0; i--) {
      for (let n = this._levels[i]!.head; n !== null; ) {
        const next = n._lnext;
        n._lprev = n._lnext = null;
        n._level = null;
        out.push(n as N);
        n = next;
      }
    }
    this._levels = [];
    this._last = null;
    this.size = 0;
    return out;
  }

  /** The level of `prio`, made (and inserted in order) if there is none. */
  private _levelFor(prio: number): Level {
    const levels = this._levels;
    const i = this._find(prio);
    let level = levels[i];
    if (level === undefined || level.prio !== prio) {
      level = new Level(prio);
      if (i === levels.length) levels.push(level);
      else levels.splice(i, 0, level);
    }
    this._last = level;
    return level;
  }

  /** The index of the first level whose priority is >= `prio` (binary search; `length` if none). */
  private _find(prio: number): number {
    const levels = this._levels;
    let lo = 0;
    let hi = levels.length;
    // (the usual cases first: no level, or `prio` at or above the highest one)
    if (hi === 0 || levels[hi - 1]!.prio < prio) return hi;
    if (levels[hi - 1]!.prio === prio) return hi - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (levels[mid]!.prio < prio) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Take an empty level out of the array. */
  private _drop(level: Level): void {
    const levels = this._levels;
    if (levels[levels.length - 1] === level) levels.pop();
    else levels.splice(levels.indexOf(level), 1);
    if (this._last === level) this._last = null;
  }
}
