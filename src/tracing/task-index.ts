/**
 * Which row of a `TraceRecorder`'s task table a task is: what every hook asks first.
 *
 * ## Approach
 * A task has no field for a tracer's data (a task stays small: `Task`'s header), so the recorder keeps
 * its own index, and most hooks never reach the hash table in it:
 * - two one-entry caches: the task whose step runs (it reports its step's end, its suspension, its
 *   end, and creates tasks, whose parent it is) and the task last created or looked up (a new task is
 *   scheduled at once);
 * - the *fresh* queue: the tasks created and not yet started, in creation order, which is the order of
 *   the ready queue they were put on: a first step is nearly always the queue's head's;
 * - `keyed`, a `Map` from task to row, for the tasks that must be found in any order: a task that ran
 *   a step and is not done (it is found again when it is woken), a task that a wait's label names, and
 *   everyone in the fresh queue when a lookup misses it (`spill`: a task cancelled before it started,
 *   or started out of order). A task leaves it two iteration ends after it is done (another task that
 *   awaited it in one of several chains still lists it until that await's wake-up runs, in the next
 *   iteration: `iterationEnd`), or when its loop closes.
 * A task that finishes in its first step (a fan-out's small task) is thus never hashed; one that
 * suspends costs a `set`, a `get` per wake-up and a `delete`.
 *
 * Rejected alternatives, measured on `bench/suites/tracing.mjs` (Node 24, spawn + await of 100,000
 * tasks, `recorder.ts`'s header has the figures):
 * - a `WeakMap` from task to record (the first recorder): a `WeakMap.set` per task was a quarter of the
 *   traced run (its ephemeron table grows with every task alive, and the collector walks it);
 * - a `Map` from task to row for every task: a `set`, a `get` and a `delete` per task were a quarter of
 *   what remained (the table grows and rehashes with 100,000 tasks in flight, as `core/task-set.ts`
 *   measured for the loop's own task set);
 * - a field on `Task` for the row: the kernel's `Task` stays the kernel's (one more field for every task
 *   of every program, traced or not).
 *
 * Memory: the index holds pending tasks (their loop holds them anyway), done tasks for two iterations,
 * and nothing of a closed loop (`forget`).
 *
 * @module
 */
import type { EventLoop, Task } from "../core/index.js";
import { PENDING, type TaskColumns } from "./trace-columns.js";

/** The row of each recorded task (see the module comment). @internal */
export class TaskIndex {
  /** Invariant: the row of each task in it; `tasks.keyed(row)` is true for them (and stays true when they leave: a task enters once). */
  private readonly keyed = new Map<Task<unknown>, number>();
  /**
   * The fresh queue: `unstarted[row]` is the task of that row until it starts, is done or is keyed by a
   * `spill`, then null. Invariant: `unstarted[row]` is null for every row before `head`.
   */
  private readonly unstarted: Array<Task<unknown> | null> = [];
  private head = 0;
  /** Keyed tasks done since the last iteration end, and between the two before (see `iterationEnd`). */
  private doneNow: Task<unknown>[] = [];
  private doneBefore: Task<unknown>[] = [];
  /** Invariant: each row is its task's row (or the task is null). */
  private runTask: Task<unknown> | null = null;
  private runRow = -1;
  private lastTask: Task<unknown> | null = null;
  private lastRow = -1;

  constructor(private readonly tasks: TaskColumns) {}

  /** Task `t` was recorded as row `k`, the row after the last one. */
  added(t: Task<unknown>, k: number): void {
    this.unstarted[k] = t;
    this.lastTask = t;
    this.lastRow = k;
  }

  /** The row of a recorded task, or -1. */
  find(t: Task<unknown>): number {
    if (t === this.runTask) return this.runRow;
    if (t === this.lastTask) return this.lastRow;
    let k = this.freshHead(t);
    if (k < 0) {
      k = this.keyed.get(t) ?? -1;
      if (k < 0 && this.spill()) k = this.keyed.get(t) ?? -1;
      if (k < 0) return -1;
    }
    this.lastTask = t;
    this.lastRow = k;
    return k;
  }

  /** Task row `k` starts a step. The task that ran before, if not done, may be woken in any order. */
  running(t: Task<unknown>, k: number): void {
    const prev = this.runTask;
    if (prev !== null && prev !== t && this.tasks.state(this.runRow) === PENDING) this.keep(prev, this.runRow);
    this.runTask = t;
    this.runRow = k;
    this.unstarted[k] = null;
  }

  /** Task row `k` must be found in any order from now on (see the module comment). */
  keep(t: Task<unknown>, k: number): void {
    if (this.tasks.keyed(k)) return;
    this.tasks.setKeyed(k);
    this.keyed.set(t, k);
  }

  /** Task row `k` is done. */
  done(t: Task<unknown>, k: number): void {
    this.unstarted[k] = null;
    if (this.tasks.keyed(k)) this.doneNow.push(t);
  }

  /** An iteration ended: keyed tasks done two iteration ends ago leave the index. */
  iterationEnd(): void {
    const old = this.doneBefore;
    if (old.length > 0 || this.doneNow.length > 0) {
      for (const t of old) this.keyed.delete(t);
      old.length = 0;
      this.doneBefore = this.doneNow;
      this.doneNow = old;
    }
  }

  /** `loop` closed: its tasks are never reported again; let them go (their rows stay). */
  forget(loop: EventLoop): void {
    this.spill();
    for (const t of this.keyed.keys()) if (t._loop === loop) this.keyed.delete(t);
    this.doneNow = this.doneNow.filter((t) => t._loop !== loop);
    this.doneBefore = this.doneBefore.filter((t) => t._loop !== loop);
    if (this.runTask?._loop === loop) this.runTask = null;
    if (this.lastTask?._loop === loop) this.lastTask = null;
  }

  /** The row of `t` if it is the first task of the fresh queue, else -1. */
  private freshHead(t: Task<unknown>): number {
    const unstarted = this.unstarted;
    const n = unstarted.length;
    let h = this.head;
    while (h < n && unstarted[h] === null) h++;
    this.head = h;
    return h < n && unstarted[h] === t ? h : -1;
  }

  /** A lookup missed: key every task of the fresh queue; false if it was empty. */
  private spill(): boolean {
    const unstarted = this.unstarted;
    const n = unstarted.length;
    if (this.head >= n) return false;
    for (let k = this.head; k < n; k++) {
      const t = unstarted[k];
      if (t === null || t === undefined) continue;
      this.keep(t, k);
      unstarted[k] = null;
    }
    this.head = n;
    return true;
  }
}
