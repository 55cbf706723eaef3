/**
 * `Queue<T>`: CPython's `asyncio.Queue` (3.13, with `shutdown`), for producers and consumers.
 *
 * ## Approach
 * CPython's code shape on two `WaiterQueue`s (getters, putters). `putNowait` stores the item and wakes
 * the oldest getter *without handing it the item*: the item stays in the queue, and the woken getter
 * loops, re-checks and takes whatever is there when it runs. A getter cancelled after its wake-up
 * therefore loses nothing: it wakes the next getter instead, and the item waits for that one. Putters
 * are symmetric. Waking unlinks the waiter (CPython's `popleft`). `shutdown()` wakes everyone so that
 * each re-checks and throws `QueueShutDown` (getters only once the queue is empty, unless immediate).
 *
 * Storage is behind three hooks, `_init`, `_put`, `_get` (CPython's), which subclasses override
 * (`PriorityQueue`, `LifoQueue`); the base class counts items itself, so the hooks need not report a size.
 *
 * Rejected alternative: handing the item straight to a waiting getter (Go's channels). It skips a
 * re-check but loses CPython's order (a getter that runs first takes the first item) and needs an undo
 * path when the receiver is cancelled before it runs.
 *
 * @module
 */
import { checkCount, describe, type EventLoop, QueueEmpty, QueueFull, QueueShutDown } from "../core/index.js";
import { Event } from "../sync/event.js";
import { RESOLVED_VOID, WaiterQueue } from "../sync/wait-queue.js";
import { abortReason, readSignal, waitOn, type AbortOptions } from "../sync/abort-signal.js";
import { bindLoop } from "../sync/loop-binding.js";

/**
 * What `Queue.statistics()` reports.
 * @example `const { qsize, getters, unfinishedTasks } = q.statistics();`
 */
export interface QueueStatistics {
  /** Items in the queue. */
  qsize: number;
  /** The bound (0: unbounded). */
  maxsize: number;
  /** Tasks waiting in `get()`. */
  getters: number;
  /** Tasks waiting in `put()`. */
  putters: number;
  /** Items put and not yet marked done with `taskDone()`. */
  unfinishedTasks: number;
  /** Whether `shutdown()` was called. */
  shutdown: boolean;
}

/** A growable ring buffer: FIFO storage with O(1) push and shift. @internal */
class Ring<T> {
  /** @internal capacity is a power of two; items live at `_buf[(_head + i) & _mask]` for i < _len */
  _buf: Array<T | undefined> = new Array<T | undefined>(16);
  _mask = 15;
  _head = 0;
  _len = 0;
  push(item: T): void {
    if (this._len === this._buf.length) this._grow();
    this._buf[(this._head + this._len) & this._mask] = item;
    this._len++;
  }
  shift(): T {
    const h = this._head;
    const item = this._buf[h] as T;
    this._buf[h] = undefined;
    this._head = (h + 1) & this._mask;
    this._len--;
    return item;
  }
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this._len; i++) out.push(this._buf[(this._head + i) & this._mask] as T);
    return out;
  }
  private _grow(): void {
    const items = this.toArray();
    const cap = this._buf.length * 2;
    this._buf = new Array<T | undefined>(cap);
    for (let i = 0; i < items.length; i++) this._buf[i] = items[i];
    this._mask = cap - 1;
    this._head = 0;
  }
}

/** The event `join()` waits on; its waiters say they wait in `Queue.join` (task dumps, call graphs). */
function joinEvent(): Event {
  const e = new Event();
  e._waiters._label = "Queue.join";
  return e;
}

/**
 * A FIFO queue for tasks (CPython's `asyncio.Queue`). `put()` waits while the queue is full (bounded
 * queues), `get()` while it is empty. Async iterable: `for await (const item of q)` ends when the queue
 * is shut down and drained.
 *
 * Subclasses change the order by overriding the storage hooks `_init`, `_put` and `_get`. `_init` runs in
 * the base constructor, before subclass field initializers: declare storage fields with `declare`.
 *
 * @example
 * ```ts
 * import { run, createTask, Queue } from "asyncio-ts";
 * await run(async () => {
 *   const q = new Queue<number>(2);
 *   const consumer = createTask(async () => {
 *     let sum = 0;
 *     for await (const n of q) { sum += n; q.taskDone(); }
 *     return sum;
 *   });
 *   for (let i = 1; i <= 5; i++) await q.put(i);
 *   await q.join();
 *   q.shutdown();
 *   console.log(await consumer); // 15
 * }, { virtualTime: true });
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  /** @internal the bound; 0 means unbounded */
  readonly _maxsize: number;
  /** @internal items stored (each `_put` adds one, each `_get` removes one) */
  _size = 0;
  /** @internal tasks in get(); the waker unlinks the one it wakes */
  readonly _getters = new WaiterQueue<void>(`${this.constructor.name}.get`);
  /** @internal tasks in put(); the waker unlinks the one it wakes */
  readonly _putters = new WaiterQueue<void>(`${this.constructor.name}.put`);
  /** @internal items put and not yet marked done; >= 0 */
  _unfinishedTasks = 0;
  /** @internal set iff `_unfinishedTasks === 0` */
  readonly _finished = joinEvent();
  /** @internal once true, stays true */
  _isShutdown = false;
  /** @internal the loop waiters are made on; bound on first wait */
  _loop: EventLoop | null = null;
  /** @internal the FIFO storage (base class only) */
  declare _items: Ring<T>;

  /** @param maxsize the bound: a non-negative integer; 0 (the default) means unbounded */
  constructor(maxsize = 0) {
    this._maxsize = checkCount(maxsize, "maxsize");
    this._finished.set();
    this._init(maxsize);
  }

  /**
   * Storage hook: create the storage. Called once, from the constructor.
   * @example `protected override _init(): void { this._stack = []; }`
   */
  protected _init(_maxsize: number): void {
    this._items = new Ring<T>();
  }

  /**
   * Storage hook: store one item.
   * @example `protected override _put(item: T): void { this._stack.push(item); }`
   */
  protected _put(item: T): void {
    this._items.push(item);
  }

  /**
   * Storage hook: remove and return the next item (called only when the queue is not empty).
   * @example `protected override _get(): T { return this._stack.pop()!; }`
   */
  protected _get(): T {
    return this._items.shift();
  }

  /**
   * The bound given to the constructor (0: unbounded).
   * @example `new Queue(100).maxsize // 100`
   */
  get maxsize(): number {
    return this._maxsize;
  }

  /**
   * Number of items in the queue.
   * @example `console.log(q.qsize());`
   */
  qsize(): number {
    return this._size;
  }

  /**
   * True if the queue holds no item.
   * @example `if (!q.empty()) q.getNowait();`
   */
  empty(): boolean {
    return this._size === 0;
  }

  /**
   * True if the queue holds `maxsize` items (never for an unbounded queue).
   * @example `if (!q.full()) q.putNowait(x);`
   */
  full(): boolean {
    return this._maxsize > 0 && this._size >= this._maxsize;
  }

  /**
   * Put an item, waiting while the queue is full. Throws `QueueShutDown` after `shutdown()`.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`; nothing is put)
   * @example `await q.put(job);`
   */
  put(item: T, options?: AbortOptions): Promise<void> {
    if (options === undefined && !this._isShutdown && !this.full()) {
      this.putNowait(item);
      return RESOLVED_VOID;
    }
    return this._putSlow(item, options);
  }

  /** @internal */
  _putSlow(item: T, options: AbortOptions | undefined): Promise<void> {
    return this._waitTurn(true, item, options) as Promise<void>;
  }

  /**
   * @internal CPython's loop in `put` (`put`: true) or `get`: wait while the queue is full (empty), then
   * put (get). A waiter woken but leaving (cancelled, aborted) passes its wake-up on, so that the free slot
   * (the item) goes to the next waiter: nothing is lost, nobody is stranded.
   */
  async _waitTurn(put: boolean, item: T | undefined, options: AbortOptions | undefined): Promise<T | void> {
    const signal = readSignal(options);
    const waiters = put ? this._putters : this._getters;
    while (put ? this.full() : this._size === 0) {
      if (this._isShutdown) throw new QueueShutDown();
      const w = waiters.park(bindLoop(this));
      try {
        await waitOn(w, signal);
      } catch (e) {
        w.cancel();
        waiters.remove(w);
        if (!(put ? this.full() : this._size === 0) && !w.cancelled()) waiters.popNext(undefined);
        throw abortReason(w, e);
      }
    }
    if (put) this.putNowait(item as T);
    else return this.getNowait();
  }

  /**
   * Put an item without waiting; throws `QueueFull` if the queue is full, `QueueShutDown` after
   * `shutdown()`.
   * @example `q.putNowait(job);`
   */
  putNowait(item: T): void {
    if (this._isShutdown) throw new QueueShutDown();
    if (this.full()) throw new QueueFull();
    this._put(item);
    this._size++;
    this._unfinishedTasks++;
    if (this._finished._value) this._finished.clear();
    if (this._getters._size > 0) this._getters.popNext(undefined);
  }

  /**
   * Remove and return an item, waiting while the queue is empty. Throws `QueueShutDown` once the queue
   * is shut down and empty (at once after `shutdown(true)`).
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`; no item is lost)
   * @example `const job = await q.get();`
   */
  get(options?: AbortOptions): Promise<T> {
    if (options === undefined && this._size > 0) return Promise.resolve(this.getNowait());
    return this._getSlow(options);
  }

  /** @internal */
  _getSlow(options: AbortOptions | undefined): Promise<T> {
    return this._waitTurn(false, undefined, options) as Promise<T>;
  }

  /**
   * Remove and return an item without waiting; throws `QueueEmpty` if there is none, `QueueShutDown`
   * if the queue is shut down and empty.
   * @example `const job = q.getNowait();`
   */
  getNowait(): T {
    if (this._size === 0) {
      if (this._isShutdown) throw new QueueShutDown();
      throw new QueueEmpty();
    }
    const item = this._get();
    this._size--;
    if (this._putters._size > 0) this._putters.popNext(undefined);
    return item;
  }

  /**
   * Mark one item from `get()` as processed; `join()` resolves when every item put was marked. Throws
   * `RangeError` when called more often than items were put (Python raises `ValueError`).
   * @example `const job = await q.get(); try { await handle(job); } finally { q.taskDone(); }`
   */
  taskDone(): void {
    if (this._unfinishedTasks <= 0) throw new RangeError("taskDone() called too many times");
    this._unfinishedTasks--;
    if (this._unfinishedTasks === 0) this._finished.set();
  }

  /**
   * Wait until every item put has been marked done with `taskDone()`.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`)
   * @example `await q.join();`
   */
  join(options?: AbortOptions): Promise<void> {
    if (options === undefined && this._unfinishedTasks === 0) return RESOLVED_VOID;
    return this._join(options);
  }

  /** @internal */
  async _join(options: AbortOptions | undefined): Promise<void> {
    readSignal(options);
    if (this._unfinishedTasks > 0) await this._finished.wait(options);
  }

  /**
   * Shut the queue down (Python 3.13): `put` throws `QueueShutDown` from now on, and so does `get` once
   * the queue is empty. With `immediate`, the remaining items are dropped (each counted as done, which
   * may release `join()`) and `get` throws at once. Blocked callers wake up and throw.
   * @example `q.shutdown(); // consumers finish the remaining items, then their loops end`
   */
  shutdown(immediate = false): void {
    if (typeof immediate !== "boolean") {
      throw new TypeError(`Expected immediate to be a boolean, got ${describe(immediate)}`);
    }
    this._isShutdown = true;
    if (immediate) {
      while (this._size > 0) {
        this._get();
        this._size--;
        if (this._unfinishedTasks > 0) this._unfinishedTasks--;
      }
      if (this._unfinishedTasks === 0) this._finished.set();
    }
    this._getters.popAll(undefined);
    this._putters.popAll(undefined);
  }

  /**
   * Iterate over items as they arrive (`await q.get()` each time); the loop ends cleanly when the
   * queue is shut down and drained. Call `taskDone()` yourself if you use `join()`.
   * @example `for await (const job of q) { await handle(job); q.taskDone(); }`
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let item: T;
      try {
        item = await this.get();
      } catch (e) {
        if (e instanceof QueueShutDown) return;
        throw e;
      }
      yield item;
    }
  }

  /**
   * For debugging: size, bound, waiters, unfinished tasks, shutdown.
   * @example `console.log(q.statistics()); // { qsize: 3, maxsize: 10, getters: 0, putters: 0, unfinishedTasks: 3, shutdown: false }`
   */
  statistics(): QueueStatistics {
    return {
      qsize: this._size,
      maxsize: this._maxsize,
      getters: this._getters.pendingCount(),
      putters: this._putters.pendingCount(),
      unfinishedTasks: this._unfinishedTasks,
      shutdown: this._isShutdown,
    };
  }

  /** @internal */
  toString(): string {
    let s = `maxsize=${this._maxsize} qsize=${this._size}`;
    if (this._getters._size > 0) s += ` _getters[${this._getters._size}]`;
    if (this._putters._size > 0) s += ` _putters[${this._putters._size}]`;
    if (this._unfinishedTasks > 0) s += ` tasks=${this._unfinishedTasks}`;
    if (this._isShutdown) s += " shutdown";
    return `<${this.constructor.name} ${s}>`;
  }
}
