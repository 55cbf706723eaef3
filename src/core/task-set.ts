/**
 * The set of a loop's pending tasks: an intrusive doubly linked list through the tasks themselves.
 *
 * Every task is added when created and removed when done, so both must be cheap with 100,000 tasks in
 * flight. Rejected: a `Set<Task>` (V8 stores an identity hash in each object, growing its property
 * storage) and a `Map<id, Task>` (a large hash table that rehashes as it grows and shrinks; 15% of a
 * spawn benchmark). The list needs no hashing and no allocation. Iteration is in creation order, like a
 * `Set`, over a snapshot (iteration is rare: closing, `allTasks()`, dumps).
 *
 * @module
 */
import type { Task } from "./task.js";

/** @internal */
export class TaskSet implements Iterable<Task<unknown>> {
  /** Invariant: head..tail through `_pendNext` are exactly the tasks added and not deleted, in order. */
  private head: Task<unknown> | null = null;
  private tail: Task<unknown> | null = null;
  private count = 0;

  add(t: Task<unknown>): this {
    if (this.has(t)) return this;
    t._pendPrev = this.tail;
    t._pendNext = null;
    if (this.tail === null) this.head = t;
    else this.tail._pendNext = t;
    this.tail = t;
    this.count++;
    return this;
  }

  delete(t: Task<unknown>): boolean {
    if (!this.has(t)) return false;
    const { _pendPrev: prev, _pendNext: next } = t;
    if (prev === null) this.head = next;
    else prev._pendNext = next;
    if (next === null) this.tail = prev;
    else next._pendPrev = prev;
    t._pendPrev = null;
    t._pendNext = null;
    this.count--;
    return true;
  }

  /** A task is in at most one set (its loop's), so being linked, or being the head, is membership. */
  has(t: Task<unknown>): boolean {
    return t._pendPrev !== null || this.head === t;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    for (let t = this.head; t !== null; ) {
      const next = t._pendNext;
      t._pendPrev = null;
      t._pendNext = null;
      t = next;
    }
    this.head = this.tail = null;
    this.count = 0;
  }

  /** The tasks in creation order: a snapshot, so the set may change while it is iterated. */
  values(): IterableIterator<Task<unknown>> {
    const out: Task<unknown>[] = [];
    for (let t = this.head; t !== null; t = t._pendNext) out.push(t);
    return out.values();
  }

  [Symbol.iterator](): IterableIterator<Task<unknown>> {
    return this.values();
  }
}
