/**
 * `sleep(ms, value?)`: suspend the current task.
 *
 * `sleep(0)` yields exactly one loop iteration (CPython's bare `yield`): the task's next step is queued
 * behind everything already ready. `sleep(ms > 0)` is a future completed by a timer; cancelling it (by
 * cancelling the task) cancels the timer.
 *
 * @module
 */
import { callerStrand, Chain, checkDelay, describe, type EventLoop, fmtTime, Future, getRunningLoop, type TimerHandle } from "../core/index.js";

/**
 * A future completed by a timer; cancelling it cancels the timer one iteration later, when its awaiter
 * wakes up, as CPython's `sleep` does in its `finally` (the moment matters: the loop drops cancelled
 * timers at the start of an iteration, and that shapes the order of timers with equal deadlines, see
 * `core/timer-heap.ts`). @internal
 */
class SleepFuture<T> extends Future<T> {
  _handle: TimerHandle | null = null;
  /** @internal its timer knows the deadline; no timer: `sleep(Infinity)`, or already woken */
  override _describe(): string {
    const h = this._handle;
    return h === null ? (this.done() ? "sleep" : "sleep forever") : `sleep until ${fmtTime(h._when)}`;
  }
  override cancel(msg?: string): boolean {
    const h = this._handle;
    if (h === null || this.done()) return super.cancel(msg);
    this._handle = null;
    this._pushCallback(() => h.cancel());
    return super.cancel(msg);
  }
}

function wake<T>(f: SleepFuture<T>, value: T): void {
  f._handle = null;
  if (!f.done()) f.setResult(value);
}

/**
 * `sleep(0)`: yields once. Awaitable, not a future; stateless, so `sleep(0)` without a value returns
 * one instance per loop. Its `then` must be called by the awaiting code itself (`_awaitOnly`): the
 * combinators run it in a task of its own, as CPython runs the `sleep(0)` coroutine. @internal
 */
class YieldOnce<T> implements PromiseLike<T> {
  /** @internal see `ensureFuture` */
  declare readonly _awaitOnly: boolean;
  constructor(
    private readonly loop: EventLoop,
    private readonly value: T,
  ) {}
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Chain<R1 | R2> {
    const chain = new Chain<R1 | R2>(onFulfilled, onRejected);
    const s = callerStrand();
    const task = s === null ? undefined : s._task;
    if (task !== undefined && !task.done() && task._loop === this.loop) task._yieldOnce(s!, chain, this.value);
    else if (task !== undefined && task._loop === this.loop && this.loop.isRunning()) task._yieldOrphan(s!, chain, this.value);
    else this.loop._soon(() => chain._deliver(true, this.value));
    return chain;
  }
}
Object.defineProperty(YieldOnce.prototype, "_awaitOnly", { value: true, writable: false });

/**
 * Suspend the current task for `ms` milliseconds, then return `value`. `sleep(0)` lets every other
 * ready task run one step. Must be called with a running loop (inside a task).
 *
 * Unlike a Python coroutine, the timer starts when `sleep()` is called, not when it is awaited.
 *
 * @example
 * ```ts
 * import { run, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const v = await sleep(250, "later");
 *   console.log(v); // "later"
 * }, { virtualTime: true });
 * ```
 */
export function sleep(ms: number): PromiseLike<void>;
export function sleep<T>(ms: number, value: T): PromiseLike<T>;
export function sleep<T>(ms: number, value?: T): PromiseLike<T | undefined> {
  if (typeof ms !== "number") throw new TypeError(`Expected ms to be a number, got ${describe(ms)}`);
  checkDelay(ms, "ms");
  const loop = getRunningLoop();
  if (ms === 0) {
    if (value !== undefined) return new YieldOnce(loop, value);
    return (loop._yield0 ??= new YieldOnce(loop, undefined)) as PromiseLike<undefined>;
  }
  const f = new SleepFuture<T | undefined>({ loop });
  if (ms !== Infinity) f._handle = loop._at(loop.time() + ms, wake, f, value);
  return f;
}
