/**
 * `JobFuture`: what `JobQueue.add()` returns, a future of the job's result that is also the job's node
 * in the queue's waiting line.
 *
 * ## Approach
 * A job is waiting (linked in the queue's `PriorityList`), then running (its function runs as a `Task`
 * made when a slot frees), then done. The future settles from the task's outcome when the task ends. It
 * is one object per job for the three roles (the caller's awaitable, the list node, the job's record):
 * no promise, no node, no record beside it.
 *
 * Cancelling it is cancelling the job, as cancelling an awaited task is in CPython: a waiting job leaves
 * the line at once (the future is cancelled); a running job's task is cancelled, and the future settles
 * when the task ends (cancelled, unless the job swallowed the `CancelledError` and returned a value).
 * That is also what a caller's cancellation does to the job it awaits (the kernel cancels the future the
 * task waits on). `shield(queue.add(fn))` keeps the job running when the caller is cancelled.
 *
 * Rejected: settling the future at once when a running job is cancelled (p-queue rejects at once on an
 * abort or a timeout and lets the work run on). The caller would resume while the job still runs, and
 * the queue would either count a slot that is no longer reported or free one whose work goes on: a
 * concurrency limit that running work can exceed. CPython's `wait_for` and `timeout` likewise wait for
 * the cancelled task to finish before they raise.
 *
 * The queue and this module do not import each other: the queue is seen through `JobOwner`.
 *
 * @module
 */
import { type Context, currentTask, describe, type EventLoop, Future, RuntimeError, ST_PENDING, type Task } from "../core/index.js";
import type { Level, ListNode } from "./job-queue-list.js";

/** A job is waiting in line. @internal */
export const WAITING = 0;
/** A job's task was made and has not been seen to end. @internal */
export const RUNNING = 1;
/** A job's future settled (or will never run: its loop closed). @internal */
export const DONE = 2;

/**
 * Where a job is: `"waiting"` in line, `"running"` as a task, `"done"`.
 * @example `const state: JobState = queue.add(work).state; // "running" with a free slot`
 */
export type JobState = "waiting" | "running" | "done";

const STATE_NAMES: readonly JobState[] = ["waiting", "running", "done"];

/**
 * What a job's function is given: its signal, its task, its name. Destructure what you need:
 * `queue.add(({ signal }) => fetch(url, { signal }))`.
 * @example `queue.add(async ({ signal, name }) => { console.log(name); await fetch(url, { signal }); });`
 */
export interface JobContext {
  /**
   * Aborted when the job's task is cancelled: its timeout passed, its `signal` aborted, the job was
   * cancelled (`cancel()`, the caller's cancellation). Hand it to APIs that take one (`fetch`).
   */
  readonly signal: AbortSignal;
  /** The task the job runs as. */
  readonly task: Task<unknown>;
  /** The job's name (its task's name). */
  readonly name: string;
  /** The job's id (`setPriority(id, n)`). */
  readonly id: string;
  /** The job's priority. */
  readonly priority: number;
}

/**
 * A job: a function called with its `JobContext`, returning a value or a promise of one.
 * @example `const job: JobFunction<number> = async ({ signal }) => (await fetch(url, { signal })).status;`
 */
export type JobFunction<T> = (job: JobContext) => T | PromiseLike<T>;

/** What a job future needs of its queue (the queue implements it). @internal */
export interface JobOwner {
  /** @internal the queue's name, the prefix of its jobs' default names */
  readonly name: string;
  /** @internal take a waiting job out of line and cancel its future (with `msg`) */
  _cancelWaiting(job: JobFuture<unknown>, msg: string | undefined): void;
  /** @internal the job's task ended: settle the job's future, start the next jobs */
  _finish(job: JobFuture<unknown>): void;
}

/** The fields few jobs need (see `JobFuture._x`). @internal */
class JobExtras {
  id: string | undefined = undefined;
  name: string | undefined = undefined;
  timeout: number | null = null;
  signal: AbortSignal | null = null;
  abortedBy: AbortSignal | null = null;
  ctx: Context | null = null;
}

/**
 * The future of a job added to a `JobQueue`: await it for the job's result. Cancelling it cancels the
 * job (removed from the line if it waits; its task cancelled if it runs).
 *
 * @example
 * ```ts
 * import { run, JobQueue, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const queue = new JobQueue({ concurrency: 1 });
 *   const a = queue.add(() => sleep(100, "a"), { name: "first" });
 *   const b = queue.add(() => "b");
 *   console.log(a.name, a.state, b.state); // first running waiting
 *   b.cancel(); // b leaves the line: it never runs
 *   console.log(await a, b.cancelled()); // a true
 * }, { virtualTime: true });
 * ```
 */
export class JobFuture<T = unknown> extends Future<T> implements ListNode {
  /** @internal see `ListNode` */ _prio = 0;
  /** @internal see `ListNode`; non-null iff the job waits in line */ _level: Level | null = null;
  /** @internal see `ListNode` (also the queue's list of running jobs) */ _lprev: ListNode | null = null;
  /** @internal see `ListNode` (also the queue's list of running jobs) */ _lnext: ListNode | null = null;
  /** @internal WAITING, RUNNING or DONE; only moves forward */
  _phase = WAITING;
  /** @internal the job's function; null once it was called */
  _fn: JobFunction<T> | null;
  /** @internal the queue */
  readonly _owner: JobOwner;
  /** @internal the job's number in its queue (1, 2, ...): its default id and name */
  readonly _seq: number;
  /** @internal the job's task; set when it starts (null while it waits, and if it never ran) */
  _task: Task<T> | null = null;
  /** @internal the loop time the job started at; NaN before */
  _startedAt = NaN;
  /**
   * @internal what few jobs have (an id, a name, a time limit, a signal, a context): made on first use,
   * so that a plain job is a smaller object (100,000 waiting jobs are common)
   */
  _x: JobExtras | null = null;

  /** @internal made by `JobQueue.add()` */
  constructor(fn: JobFunction<T>, owner: JobOwner, seq: number, loop: EventLoop) {
    super(undefined, loop);
    this._fn = fn;
    this._owner = owner;
    this._seq = seq;
  }

  /** @internal the `id` option, or undefined */
  get _id(): string | undefined {
    return this._x?.id;
  }
  set _id(v: string | undefined) {
    (this._x ??= new JobExtras()).id = v;
  }
  /** @internal the `name` option, or undefined */
  get _name(): string | undefined {
    return this._x?.name;
  }
  set _name(v: string | undefined) {
    (this._x ??= new JobExtras()).name = v;
  }
  /** @internal the time limit of the job's run, ms; null: none */
  get _timeout(): number | null {
    return this._x === null ? null : this._x.timeout;
  }
  set _timeout(v: number | null) {
    if (v !== null || this._x !== null) (this._x ??= new JobExtras()).timeout = v;
  }
  /** @internal the `signal` option, or null */
  get _signal(): AbortSignal | null {
    return this._x === null ? null : this._x.signal;
  }
  set _signal(v: AbortSignal | null) {
    (this._x ??= new JobExtras()).signal = v;
  }
  /** @internal the signal that aborted the job while it ran (its task was cancelled for it), or null */
  get _abortedBy(): AbortSignal | null {
    return this._x === null ? null : this._x.abortedBy;
  }
  set _abortedBy(v: AbortSignal | null) {
    (this._x ??= new JobExtras()).abortedBy = v;
  }
  /** @internal the context of the `add()` call the job runs in (`copyContext()`), once contexts are in use */
  get _ctx(): Context | null {
    return this._x === null ? null : this._x.ctx;
  }
  set _ctx(v: Context | null) {
    if (v !== null || this._x !== null) (this._x ??= new JobExtras()).ctx = v;
  }

  /**
   * Where the job is: `"waiting"` in line, `"running"` as a task, `"done"`.
   * @example `if (job.state === "waiting") job.cancel();`
   */
  get state(): JobState {
    return STATE_NAMES[this._phase]!;
  }

  /**
   * The job's name: the `name` option, else the `id` option, else `<queue name>-job-<n>`. Its task has
   * this name.
   * @example `queue.add(work, { name: "resize photo 3" }).name // "resize photo 3"`
   */
  get name(): string {
    return this._name ?? this._id ?? `${this._owner.name}-job-${this._seq}`;
  }

  /**
   * The job's id: the `id` option, else its number in the queue as a string (`"1"`, `"2"`...).
   * @example `queue.setPriority(job.id, 10);`
   */
  get id(): string {
    return this._id ?? String(this._seq);
  }

  /**
   * The job's priority (changed by `queue.setPriority()` while it waits).
   * @example `queue.add(work, { priority: 5 }).priority // 5`
   */
  get priority(): number {
    return this._prio;
  }

  /**
   * The task the job runs as; null while it waits (and for a job that never ran).
   * @example `job.task?.getName()`
   */
  get task(): Task<T> | null {
    return this._task;
  }

  /**
   * The job task's `AbortSignal` (see `JobContext.signal`). Read it in the job's function.
   * @example `queue.add((job) => fetch(url, { signal: job.signal }));`
   */
  get signal(): AbortSignal {
    const t = this._task;
    if (t === null) throw new TypeError(`${this.name} has no signal before it starts: read it in the job's function`);
    return t.signal;
  }

  /**
   * Cancel the job: a waiting job leaves the line and its future is cancelled at once; a running job's
   * task is cancelled and the future settles when the task ends. Returns false if the job is done (or
   * its task already ended).
   * @example `job.cancel("not needed any more");`
   */
  override cancel(msg?: string): boolean {
    if (this._st !== ST_PENDING) return super.cancel(msg);
    if (this._phase === DONE) return false; // (its loop closed under it: nothing can run any more)
    if (msg !== undefined && typeof msg !== "string") throw new TypeError(`Expected msg to be a string, got ${describe(msg)}`);
    if (this._phase === WAITING) {
      this._owner._cancelWaiting(this as JobFuture<unknown>, msg);
      return true;
    }
    this._markRetrieved(); // (as Future.cancel: the caller dealt with the outcome)
    return this._task!.cancel(msg);
  }

  /**
   * A job's future is settled by its queue, from the job's outcome (as a task's is by its function).
   * @example `job.setResult(1) // RuntimeError: cancel() the job instead`
   */
  override setResult(_result: T): never {
    throw new RuntimeError(`JobFuture does not support setResult(): it settles from ${this.name}'s outcome (cancel() the job to stop it)`);
  }

  /**
   * A job's future is settled by its queue (see `setResult`).
   * @example `job.setException(new Error()) // RuntimeError`
   */
  override setException(_exception: unknown): never {
    throw new RuntimeError(`JobFuture does not support setException(): it settles from ${this.name}'s outcome (cancel() the job to stop it)`);
  }

  /** @internal the queue settles the future with the job's result */
  _resolve(value: T): void {
    super.setResult(value);
  }

  /** @internal the queue settles the future with the job's error */
  _reject(error: unknown): void {
    super._relayException(error); // (whatever the job threw, undefined too)
  }

  /** @internal cancel the future itself (the queue, once the job is out of line or its task ended) */
  _cancelFuture(msg: string | undefined): void {
    super.cancel(msg);
  }

  /**
   * @internal run as a ready-queue entry. While the job runs, the job future is the done callback of its
   * task (a `Runnable` in the task's callbacks: no closure per job), so this is the task's end; once the
   * future is done, it is the entry that runs its own first done callback (`Future._run`). The two never
   * overlap: the future settles only after the task ended.
   */
  override _run(): void {
    if (this._phase === RUNNING) this._owner._finish(this as JobFuture<unknown>);
    else super._run();
  }

  /** @internal the task's function: call the job's function with its context */
  _call(): T | PromiseLike<T> {
    // (an eager task factory runs this inside createTask, before the queue has stored the task)
    if (this._task === null) this._task = currentTask() as Task<T>;
    const fn = this._fn!;
    this._fn = null;
    return fn(this as unknown as JobContext);
  }

  /** @internal what a task waiting on this job waits on (task dumps, timelines) */
  override _describe(): string {
    return this._phase === WAITING ? `${this.name} (waiting in ${this._owner.name})` : this.name;
  }

  /** @internal a running job waits on its task (call graphs) */
  override _awaits(): readonly Future<unknown>[] {
    const t = this._task;
    return t !== null && !t.done() ? [t as Task<unknown>] : [];
  }

  /** @internal */
  override _repr(): string {
    return `<JobFuture ${this.name} ${this.state}${this._phase === DONE ? ` ${super._repr()}` : ""}>`;
  }
}
