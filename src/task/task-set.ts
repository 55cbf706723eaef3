/**
 * The set of a loop's pending tasks, keyed by each task's numeric id.
 *
 * A `Set<Task>` would hash task objects by identity, and V8 stores an object's identity hash in the
 * object, growing its property storage: measurable when 100,000 tasks start and finish. A `Map` keyed by
 * small integers avoids that. Iteration yields tasks in creation order, like a `Set`.
 *
 * @module
 */
import type { Task } from "./task.js";

/** @internal */
export class TaskSet implements Iterable<Task<unknown>> {
  /** Invariant: holds exactly the tasks that were added and not deleted, keyed by `task._id`. */
  private readonly byId = new Map<number, Task<unknown>>();

  add(t: Task<unknown>): this {
    this.byId.set(t._id, t);
    return this;
  }
  delete(t: Task<unknown>): boolean {
    return this.byId.delete(t._id);
  }
  has(t: Task<unknown>): boolean {
    return this.byId.get(t._id) === t;
  }
  get size(): number {
    return this.byId.size;
  }
  clear(): void {
    this.byId.clear();
  }
  values(): IterableIterator<Task<unknown>> {
    return this.byId.values();
  }
  [Symbol.iterator](): IterableIterator<Task<unknown>> {
    return this.byId.values();
  }
}
