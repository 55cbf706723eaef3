/**
 * The event loop: CPython's `_run_once` iterations on top of Node's event loop.
 *
 * ## Approach
 * One iteration, as in CPython: move the due timers to the ready queue (in the order CPython's heap
 * pops them, see `timer-heap.ts`), then run exactly the callbacks that were ready when the iteration
 * began; what they schedule runs in the next iteration.
 *
 * A task's step is a callback whose work continues in JavaScript microtasks (every `await` resumes in
 * one). The loop therefore drives the ready queue as a small state machine: it runs callbacks one by one,
 * and when a callback begins a task step (`_beginStep`) it stops and waits until that step ends, which
 * it learns exactly:
 * - the task awaits a pending asyncio-ts awaitable (`Task._suspendOn` → `_stepSuspended`), or
 * - the task's function settles (`_endStep`).
 * The loop then continues one microtask later (after a suspension: `then` is also called by code that
 * does not await, and must finish first) or at once (after the function settled). So a whole iteration,
 * and usually many iterations, run inside one Node macrotask with no `setImmediate` per step. After a
 * budget of iterations the loop yields to Node's macrotask queue (I/O, timers of other libraries) through
 * one `setImmediate`, the "tick".
 *
 * The ready queue is an intrusive singly linked list through its entries (`Runnable._rnext`): a Handle, a
 * task (its own first step), a done future (its first callback), a `Chain` (a task's wake-up).
 *
 * A step that awaits something foreign (a promise that is not ours) never signals. The tick doubles as
 * a watchdog: when it fires while a step is still in progress, the microtask queue has drained, so the
 * task is blocked on something foreign; the loop lets it go and continues with the next callback. The
 * task's code resumes later in a microtask and still knows which task it belongs to (its identity travels
 * with its code, see `core/current.ts`), so its next await of our futures is attributed and cancellable.
 *
 * Virtual time: when nothing is ready, the clock jumps to the next timer, but only from a fresh tick
 * (no microtask pending) and only while no external work holds the clock (`_hold`, used by executors and
 * `fromPromise`).
 *
 * ## Rejected alternatives
 * - One macrotask (`setImmediate`) per ready callback: atomic steps for free, but ~0.7 us per step,
 *   several times the cost of a whole task on raw promises.
 * - Running ready callbacks back to back in one synchronous loop: steps interleave at every microtask
 *   hop, and the seed's programs print in the wrong order.
 * - Generators (`yield*`) instead of async functions: exact control, but not the `async`/`await` that the
 *   seed and TypeScript users write.
 * - Continuing the driver synchronously inside the `then` call that suspended a step: saves a microtask
 *   per step (~12% on the contended-semaphore benchmark), but a task that calls `fut.then(cb)` without
 *   awaiting would see callbacks and other tasks' first steps run in the middle of its code (a test in
 *   `test/core/ordering.test.ts` pins this down).
 * - A growable array for the ready queue: with 100,000 entries it lives in the old generation, and every
 *   push of a young entry pays a write barrier and a remembered-set slot that each scavenge visits (half
 *   the time of the spawn benchmark on Node 24).
 *
 * @module
 */
import { CancelledError, DeadlockError, RuntimeError } from "./errors.js";
import { checkBoolean, checkMs, checkOptions, describe, kindOf } from "./check.js";
import { Future, isOutsideDelivery, type Runnable } from "./future.js";
import type { Chain } from "./chain.js";
import { F_EAGER } from "./task-flags.js";
import { Task, type TaskFunction, type TaskOptions } from "./task.js";
import { assertRuntime, callbackContext, contextTask, newLoopScope, releaseHooks, releaseSiteHooks, runOutsideTasks, useHooks, useSiteHooks, type LoopScope, type StrandLike } from "./current.js";
import { RealClock, VirtualClock, type Clock } from "./clock.js";
import { Handle, TimerHandle } from "./handles.js";
import { TimerHeap } from "./timer-heap.js";
import { ensureFuture } from "./ensure-future.js";
import { TaskSet } from "./task-set.js";
import { soon } from "./microtask.js";
import { loopRegistry, runningLoopOrNull } from "./running.js";
import { newLoopHooks, type Diagnostics, type Tracer } from "./instruments.js";
import { REG_DEFERRED, REG_NONE, cancelOrphanCode, hasLinked } from "./cancellation.js";
import { longTimeout, type LongTimer } from "./long-timer.js";
// (Node's own timers and clock, not the globals that test runners' fake timers replace: real-timers.ts)
import { clearImmediate, clearTimeout, fakeTimersProblem, performance, realTimers, setImmediate, setTimeout } from "./real-timers.js";
import { Context, armContextTripwire, captureContext, contextState } from "./context.js";
import type { AsyncResource } from "node:async_hooks";
import type { Executor, WorkerFunction } from "./executor.js";
import { UnretrievedFailures } from "./unretrieved.js";
import { defaultExceptionHandler, type ExceptionContext, type ExceptionHandler } from "./exception-handler.js";
import { addSignalHandler, callSoonThreadsafe, getaddrinfo, getnameinfo, removeSignalHandler, type AddrInfo, type GetAddrInfoOptions, type SignalLike, type SignalTable } from "./loop-os.js";

/** Options of `newEventLoop()` and `run()`. */
export interface EventLoopOptions {
  /**
   * Use a virtual clock that jumps to the next timer whenever every task is blocked. When not given,
   * the environment variable `ASYNCIO_TS_VIRTUAL_TIME=1` turns it on (what `aio run --virtual-time` sets).
   */
  virtualTime?: boolean;
  /** Use this clock (a `VirtualClock` for hand-driven tests). Overrides `virtualTime`. */
  clock?: Clock;
  /**
   * Debug mode: remember where tasks were created, warn about slow steps, print the task dump when the
   * loop was blocked or stalled, or on SIGUSR2. When not given, `ASYNCIO_TS_DEBUG=1` turns it on.
   */
  debug?: boolean;
  /** In debug mode, steps longer than this (ms, real time) are reported. Default 100. */
  slowCallbackDuration?: number;
  /**
   * In debug mode, print `dumpTasks()` when the loop was blocked this long (ms, real time), or made no
   * progress this long with nothing that could wake it (no ready callback, no timer, no executor job).
   * Default 1000.
   */
  blockedThreshold?: number;
  /**
   * Virtual time only: when every task is blocked, no timer is pending and no external work is in
   * flight for this long (ms of real time), nothing can ever wake them: the loop reports the deadlock
   * with the task dump and cancels the blocked tasks, so a test fails at once with a clear message
   * instead of hanging. Default 1000; `Infinity` turns it off (e.g. when tasks await raw foreign
   * promises that take longer; `fromPromise` holds the clock instead).
   */
  deadlockTimeout?: number;
  /**
   * Virtual time only: while work the loop cannot see is in flight (a promise made outside every task,
   * wrapped by `fromPromise` or handed to a combinator; work a combinator took over that has not awaited
   * anything of ours yet), the clock does not jump to the next timer. After this many ms of real time with
   * nothing else to do, it jumps anyway and says so through the exception handler (Trio's `MockClock`
   * autojump threshold, applied to foreign work only). Default 1000; `Infinity` waits for ever. Executor
   * jobs always hold the clock (their end is known).
   */
  holdTimeout?: number;
}

/** What `setTaskFactory` takes: makes the loop's tasks (CPython's task factory). */
export type TaskFactory = <T>(loop: EventLoop, fn: TaskFunction<T>, options: TaskOptions) => Task<T>;

/**
 * Check a loop's options (`newEventLoop()`, `run()`, `Runner`): every key one of `known`, every value of
 * its type and range; the environment's defaults applied. Throws a `TypeError` or `RangeError` naming the
 * option.
 * @internal
 */
export function checkLoopOptions(options: EventLoopOptions, known: readonly string[], what: string): Required<Omit<EventLoopOptions, "clock">> & { clock: Clock | undefined } {
  const o = checkOptions(options, known, what);
  const clock = o.clock;
  if (clock !== undefined && (kindOf(clock) !== "other" || clock === null || typeof clock !== "object" || typeof clock.now !== "function")) {
    throw new TypeError(`Expected clock to be a Clock (an object with now() and virtual), got ${describe(clock)}`);
  }
  return {
    virtualTime: checkBoolean(o.virtualTime, "virtualTime") ?? process.env["ASYNCIO_TS_VIRTUAL_TIME"] === "1",
    clock,
    debug: checkBoolean(o.debug, "debug") ?? process.env["ASYNCIO_TS_DEBUG"] === "1",
    slowCallbackDuration: checkMs(o.slowCallbackDuration ?? 100, "slowCallbackDuration"),
    blockedThreshold: checkMs(o.blockedThreshold ?? 1000, "blockedThreshold", { positive: true }),
    deadlockTimeout: checkMs(o.deadlockTimeout ?? 1000, "deadlockTimeout", { positive: true }),
    holdTimeout: checkMs(o.holdTimeout ?? 1000, "holdTimeout", { positive: true }),
  };
}

/** The keys of `EventLoopOptions` (anything else is a mistake). @internal */
export const LOOP_OPTIONS = ["virtualTime", "clock", "debug", "slowCallbackDuration", "blockedThreshold", "deadlockTimeout", "holdTimeout"] as const;

/**
 * Iterations run back to back in one macrotask before the loop yields to Node's other work (its timers,
 * I/O, signals: CPython's loop polls its selector at every iteration)...
 */
const TURN_BUDGET = 256;
/**
 * ...or fewer, once the turn has run this many ms: iterations of heavy steps (`for (;;) { work(); await
 * sleep(0); }`) delayed Node's timers, I/O and Ctrl-C by 256 of them (2.5 s with 10 ms of work each; the
 * runner probe, stop 29). The clock is read after each of a turn's iterations while they are slow (the
 * first of each turn is taken for slow), and every `TURN_CHECK_EVERY` iterations once they are quick (a
 * read costs ~25 ns, a quick iteration a few hundred).
 */
const TURN_MS = 5;
const TURN_CHECK_EVERY = 8;

contextState.onFirstUse = () => runningLoopOrNull()?._contextStarts();
/** CPython's `_MIN_SCHEDULED_TIMER_HANDLES`: below this many timers the heap is never rebuilt. */
const MIN_SCHEDULED_TIMERS = 100;
/** CPython's `_MIN_CANCELLED_TIMER_HANDLES_FRACTION`: rebuild when more than this share is cancelled. */
const MIN_CANCELLED_FRACTION = 0.5;


/**
 * An event loop. Most programs never touch it directly: `run(main)` creates one, runs `main` on it and
 * closes it. Use it for CPython's lower-level API (`callSoon`, `callLater`, `runUntilComplete`...).
 *
 * @example
 * ```ts
 * import { newEventLoop, sleep } from "asyncio-ts";
 * const loop = newEventLoop({ virtualTime: true });
 * const result = await loop.runUntilComplete(async () => {
 *   await sleep(1000);
 *   return loop.time();
 * });
 * console.log(result); // 1000
 * loop.close();
 * ```
 */
export class EventLoop {
  /** @internal */ readonly _clock: Clock;
  /**
   * Invariant: the ready callbacks in FIFO order, a singly linked list through `Runnable._rnext` from
   * `_readyHead` to `_readyTail` (both null when empty), `_nReady` long. An intrusive list rather than an
   * array: with 100,000 tasks in flight a large array lives in the old generation, and every push of a
   * young entry into it costs a write barrier and a remembered-set slot that each scavenge must visit.
   */
  private _readyHead: Runnable | null = null;
  private _readyTail: Runnable | null = null;
  private _nReady = 0;
  /** @internal */ readonly _timers = new TimerHeap();
  private _timerSeq = 0;
  private _cancelledTimers = 0;
  /**
   * Invariant: true while this loop holds the promise hooks of `current.ts`: from its first run until it
   * stops with no task pending, or closes.
   */
  private _hooksHeld = false;
  /** Invariant: true between runForever()'s start and the end of the iteration in which stop() took effect. */
  private _running = false;
  private _stopping = false;
  private _closed = false;
  private _stopResolve: (() => void) | null = null;
  /** Set by `runUntilComplete` for the `runForever` it calls next (which leaves the deadlock to it). */
  private _untilComplete = false;
  /** Invariant: true from the `stop()` of a deadlock that cancelling could not end until `runForever` settles. */
  private _stoppedByDeadlock = false;
  /** Invariant: the task whose step the driver is waiting for; null when it is running plain callbacks or idle. */
  _stepping: Task<unknown> | null = null;
  /**
   * Invariant: tasks made during the current step from promises whose work was already running
   * (adopt.ts), whose first step the driver also waits for (as CPython's eager tasks run theirs at once);
   * null when none.
   */
  private _alsoStepping: Task<unknown>[] | null = null;
  /** @internal Invariant: how many tasks of `_alsoStepping` still have `F_EAGER` set (first step not over). */
  _nEager = 0;
  /** Invariant: done tasks whose code still awaits something of ours (`Task._suspendOrphan`); null until the first. */
  private _orphans: Set<Task<unknown>> | null = null;
  /** Invariant: while shutdown waits for that code (`_cancelOrphans`), the future it waits on; else null. */
  private _orphansDone: Future<void> | null = null;
  /** @internal Invariant: true while `_flushDeferred` registers the awaits it deferred (first steps end after). */
  _registeringDeferred = false;
  /** Invariant: callbacks waiting for the eager first steps in progress to end (`_whenEagerStepsEnd`); null when none. */
  private _afterEager: Array<() => void> | null = null;
  /**
   * Invariant: awaits deferred while eager steps ran (`_deferAwait`): (future, chain, element) x n, each
   * chain `REG_DEFERRED` with its strand in `_strand`.
   */
  private _deferred: unknown[] | null = null;
  /** Callbacks of the current iteration still to run. */
  private _iterRemaining = 0;
  /** Invariant: true from the start of an iteration until its last callback (and step) finished. */
  private _inIteration = false;
  /** Invariant: true while `_drive` is on the stack (it must not be re-entered). */
  private _driving = false;
  /** Iterations run since the last tick; reset by each tick. */
  private _turnIterations = 0;
  /** When the current turn began, and when its clock was last read (`TURN_MS`). */
  private _turnStartedAt = 0;
  private _turnCheckedAt = 0;
  /** Set while iterations are slow (over 1/8 ms each): the clock is read after every one (`TURN_MS`). */
  private _turnSlow = false;
  /** True at the start of a tick until the first callback runs: no microtask can be pending. */
  private _fresh = false;
  private _tickImmediate: ReturnType<typeof setImmediate> | null = null;
  private _tickTimeout: ReturnType<typeof setTimeout> | null = null;
  /** @internal pending tasks of this loop (strong references: a running task is never collected). */
  readonly _tasks = new TaskSet();
  /**
   * @internal Invariant: the pending futures that code outside tasks awaits (`Future._awaitOutside`);
   * `close()` fails that code rather than leave it waiting for ever.
   */
  readonly _outsideWaits = new Set<Future<unknown>>();
  private _exceptionHandler: ExceptionHandler | null = null;
  /** @internal external work in flight that the virtual clock must not jump over (executor jobs) */
  _holds = 0;
  /** @internal foreign work in flight that holds the virtual clock for at most `_holdTimeout` */
  _foreignHolds = 0;
  /**
   * @internal I/O that may still wake a task (a stream read or drain in flight, a listening server):
   * while any, virtual time reports no deadlock (the peer may yet write or connect, as on the real clock,
   * where the open socket keeps the process alive). Reads and drains also take a foreign hold.
   */
  _io = 0;
  /** @internal see EventLoopOptions.holdTimeout */
  _holdTimeout: number;
  private _holdTimer: LongTimer | null = null;
  /** Set when the hold timer found the loop idle: the next jump goes over the foreign holds. */
  private _jumpOverHolds = false;
  /** @internal set when the loop found itself deadlocked: what `runUntilComplete` throws */
  _deadlock: DeadlockError | null = null;
  /**
   * @internal the first use of a context since the loop started happens in this loop's task or callback
   * (`contextState.onFirstUse`): the tasks not started yet and the callbacks scheduled took no copy of
   * the context (none existed), and would run in the step's, which the use is about to change (Node 20
   * writes a store into the resource the loop's callbacks share; Node 24 into the frame the rest of the
   * pass runs in). Each gets its own copy of the context as it is now, before the change.
   */
  _contextStarts(): void {
    for (const t of this._tasks) if (t._fn !== null && (t._x === null || t._x.ctx === null)) t._extras().ctx = captureContext();
    for (let r = this._readyHead; r !== null; r = r._rnext) if (r instanceof Handle && r._ctx === null) r._ctx = captureContext();
    this._timers.forEach((h) => {
      if (h._ctx === null) h._ctx = captureContext();
    });
  }

  /** Set once a deadlock was reported with the task dump (later ones are a line). */
  private _deadlockReported = false;
  /** Set once the loop said it stops because cancelling did not end the tasks (run()'s shutdown stops it again, silently). */
  private _stuckReported = false;
  /** @internal failures nobody retrieved yet, reported at collection or close (`unretrieved.ts`) */
  readonly _failures = new UnretrievedFailures(this);
  /** @internal */ _debug: boolean;
  /** @internal */ _slowCallbackDuration: number;
  /** @internal instrumentation; null when none is installed (the hot paths test this one field). */
  _tracer: Tracer | null = null;
  /** @internal the async context tasks start in: where the loop last started running (`newLoopScope`) */
  _scope: LoopScope = null;
  /** @internal what `sleep(0)` returns on this loop (stateless, made on first use) */
  _yield0: PromiseLike<undefined> | null = null;
  /** @internal the default executor of runInExecutor(null, ...), created on first use. */
  _defaultExecutor: Executor | null = null;
  /** @internal Invariant: set by shutdownDefaultExecutor() and close(); runInExecutor(null) then throws. */
  _executorShutdownCalled = false;
  /**
   * @internal makes the default executor (a `ThreadPoolExecutor`): given by the runner to the loops it
   * makes (`src/runner/loops.ts`); null on a bare kernel loop
   */
  _defaultExecutorFactory: (() => Executor) | null = null;
  /** @internal see `setTaskFactory` */
  private _taskFactory: TaskFactory | null = null;
  /** @internal task dumps and debug mode's monitor (instruments.ts); given by the runner, null on a bare loop */
  _diagnostics: Diagnostics | null = null;
  private _stepStartedAt = 0;
  /** @internal in debug mode: how many steps began (the stall detector watches it) */
  _stepCount = 0;
  /** @internal in debug mode, while running: the blocked-loop / SIGUSR2 monitor */
  private _debugMonitor: { stop(): void } | null = null;
  /** @internal */ _blockedThreshold: number;
  /** @internal see EventLoopOptions.deadlockTimeout */
  _deadlockTimeout: number;
  private _deadlockTimer: LongTimer | null = null;
  /** Iterations completed since the loop was made (progress, for the deadlock check). */
  private _iterations = 0;
  private readonly _tick = (): void => this._onTick();
  /** The argument of the current `_drive` call (a field, so that `_driveBound` needs no closure per call). */
  private _driveFromTick = false;
  private readonly _driveBound = (): void => this._driveLoop(this._driveFromTick);

  constructor(options: EventLoopOptions = {}) {
    assertRuntime(); // (a runtime without promise hooks, Deno, Bun: a clear error, not a loop that runs wrongly)
    const o = checkLoopOptions(options, LOOP_OPTIONS, "newEventLoop()/run()");
    this._clock = o.clock ?? (o.virtualTime ? new VirtualClock() : new RealClock());
    this._debug = o.debug;
    this._slowCallbackDuration = o.slowCallbackDuration;
    this._blockedThreshold = o.blockedThreshold;
    this._deadlockTimeout = o.deadlockTimeout;
    this._holdTimeout = o.holdTimeout;
    const hooks = newLoopHooks.list;
    if (hooks !== null) for (const h of hooks) h(this);
  }


  // ---------------------------------------------------------------- time

  /** The loop's time in milliseconds (monotonic; virtual under a virtual clock). */
  time(): number {
    return this._clock.now();
  }

  /** The loop's clock. */
  get clock(): Clock {
    return this._clock;
  }

  // ---------------------------------------------------------------- scheduling

  /**
   * Schedule `callback(...args)` to run on the next iteration, after what is already ready.
   * @returns a handle that can cancel it
   */
  callSoon<A extends unknown[]>(callback: (...args: A) => void, ...args: A): Handle;
  callSoon<A extends unknown[]>(callback: (...args: A) => void, ...args: [...A, CallOptions]): Handle;
  callSoon(callback: (...args: unknown[]) => void, ...args: unknown[]): Handle {
    this._checkClosed();
    if (typeof callback !== "function") {
      throw new TypeError(`Expected callback to be a function, got ${describe(callback)}`);
    }
    const ctx = contextOf(args);
    const h = new Handle(callback, args, this);
    h._ctx = ctx;
    this._pushReady(h);
    return h;
  }

  /** @internal callSoon for the library's own callbacks: no context (they read none), no checks. */
  _soon(callback: (...args: any[]) => void, ...args: unknown[]): Handle {
    this._checkClosed();
    const h = new Handle(callback, args, this);
    this._pushReady(h);
    return h;
  }


  /** @internal callSoon(callback, arg) for one argument, without validation or an argument array. */
  _callSoon1(callback: (arg: any) => void, arg: unknown): void {
    this._checkClosed();
    this._pushReady(new Handle(callback, null, this, arg));
  }

  /** @internal schedule a ready-queue entry that is not a Handle (a new task's first step, a wake-up). */
  _pushRunnable(r: Runnable): void {
    this._checkClosed();
    this._pushReady(r);
  }

  private _pushReady(h: Runnable): void {
    this._link(h);
    if (!this._inIteration && this._running) this._kick();
  }

  /** Append `h` to the ready list. */
  private _link(h: Runnable): void {
    h._rnext = null;
    const tail = this._readyTail;
    if (tail === null) this._readyHead = h;
    else tail._rnext = h;
    this._readyTail = h;
    this._nReady++;
  }

  /**
   * Schedule `callback(...args)` to run `delay` ms from now.
   * @param delay milliseconds, a non-negative number (`Infinity`: never)
   */
  callLater<A extends unknown[]>(delay: number, callback: (...args: A) => void, ...args: A): TimerHandle;
  callLater<A extends unknown[]>(delay: number, callback: (...args: A) => void, ...args: [...A, CallOptions]): TimerHandle;
  callLater(delay: number, callback: (...args: unknown[]) => void, ...args: unknown[]): TimerHandle {
    checkDelay(delay, "delay");
    return this.callAt(this._clock.now() + delay, callback, ...args);
  }


  /** Schedule `callback(...args)` to run at loop time `when` (ms). */
  callAt<A extends unknown[]>(when: number, callback: (...args: A) => void, ...args: A): TimerHandle;
  callAt<A extends unknown[]>(when: number, callback: (...args: A) => void, ...args: [...A, CallOptions]): TimerHandle;
  callAt(when: number, callback: (...args: unknown[]) => void, ...args: unknown[]): TimerHandle {
    if (typeof callback !== "function") {
      throw new TypeError(`Expected callback to be a function, got ${describe(callback)}`);
    }
    const ctx = contextOf(args);
    const t = this._at(when, callback, ...args);
    t._ctx = ctx;
    return t;
  }

  /** @internal callAt for the library's own timers (see `_soon`); `when` is checked. */
  _at(when: number, callback: (...args: any[]) => void, ...args: unknown[]): TimerHandle {
    this._checkClosed();
    if (typeof when !== "number") throw new TypeError(`Expected when to be a number (a loop time in ms), got ${describe(when)}`);
    if (Number.isNaN(when)) throw new RangeError(`Expected when to be a number (a loop time in ms), got ${describe(when)}`);
    const t = new TimerHandle(when, this._timerSeq++, callback, args, this);
    if (when !== Infinity) {
      t._scheduled = true;
      this._timers.push(t);
      if (!this._inIteration && this._running) this._kick();
    }
    return t;
  }


  /** @internal */
  _timerCancelled(t: TimerHandle): void {
    // Counted only while in the heap; the heap is cleaned at the start of an iteration (_cleanTimers).
    if (t._scheduled) this._cancelledTimers++;
  }

  /** Create a future bound to this loop. */
  createFuture<T = unknown>(): Future<T> {
    this._checkClosed();
    return new Future<T>(undefined, this);
  }

  /**
   * Run `fn(...args)` on `executor` (`null`: the loop's default `ThreadPoolExecutor`, made on first use
   * and shut down by `run()`), and return its future, bound to this loop (CPython's `run_in_executor`).
   * `fn` is a `moduleFunction()` reference or a self-contained inline function.
   *
   * @example
   * ```ts
   * import { run, getRunningLoop, ThreadPoolExecutor } from "asyncio-ts";
   * await run(async () => {
   *   const loop = getRunningLoop();
   *   console.log(await loop.runInExecutor(null, (a: number, b: number) => a * b, 6, 7)); // 42
   *   await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
   *   console.log(await loop.runInExecutor(pool, () => "on a thread")); // "on a thread"
   * });
   * ```
   */
  runInExecutor<A extends unknown[], R>(executor: Executor | null, fn: WorkerFunction<A, R>, ...args: A): Future<Awaited<R>> {
    this._checkClosed();
    let ex = executor;
    if (ex === null) {
      // (CPython's _check_default_executor, base_events.py: checked before a pool is made)
      if (this._executorShutdownCalled) throw new RuntimeError("Executor shutdown has been called");
      if (this._defaultExecutor === null) {
        const make = this._defaultExecutorFactory;
        if (make === null) {
          throw new RuntimeError(
            "This loop has no default executor: give it one with loop.setDefaultExecutor(new ThreadPoolExecutor()), " +
              "or make loops with newEventLoop() or run(), which do",
          );
        }
        this._defaultExecutor = make();
      }
      ex = this._defaultExecutor;
    } else if (typeof ex !== "object" || typeof (ex as Executor).submit !== "function") {
      throw new TypeError(`Expected executor to be an Executor or null, got ${describe(ex)}`);
    }
    const own = (ex as { _submitOn?: (loop: EventLoop, fn: unknown, args: unknown[]) => Future<unknown> })._submitOn;
    if (typeof own === "function") return own.call(ex, this, fn, args) as Future<Awaited<R>>;
    return ensureFuture(ex.submit(fn, ...args) as PromiseLike<Awaited<R>>, this);
  }

  /**
   * Use `executor` for `runInExecutor(null, ...)` and `toThread` (CPython's `set_default_executor`).
   *
   * @example
   * ```ts
   * import { run, getRunningLoop, toThread, ThreadPoolExecutor, currentThread } from "asyncio-ts";
   * await run(async () => {
   *   getRunningLoop().setDefaultExecutor(new ThreadPoolExecutor({ maxWorkers: 1, threadNamePrefix: "io" }));
   *   console.log(await toThread(() => currentThread().name)); // "io_0"
   * });
   * ```
   */
  setDefaultExecutor(executor: Executor): void {
    if (executor === null || typeof executor !== "object" || typeof executor.submit !== "function" || typeof executor.shutdown !== "function") {
      throw new TypeError(`Expected executor to be an Executor, got ${describe(executor)}`);
    }
    this._defaultExecutor = executor;
  }

  /**
   * Wrap `fn` in a task scheduled to start on the next iteration (made by the task factory, if one is set).
   * @example `const t = loop.createTask(async () => 42, { name: "answer" })`
   */
  createTask<T>(fn: TaskFunction<T>, options?: TaskOptions): Task<T> {
    this._checkClosed();
    const f = this._taskFactory;
    if (f === null) return new Task<T>(fn, options, this);
    const t = f(this, fn as TaskFunction<unknown>, options ?? {});
    if (!(t instanceof Task)) throw new TypeError(`Expected the task factory to return a Task, got ${describe(t)}`);
    return t as Task<T>;
  }

  /**
   * Make every task of this loop with `factory(loop, fn, options)` (`null`: the default, `new Task`):
   * CPython's `set_task_factory`. `eagerTaskFactory` starts every task eagerly.
   *
   * @example
   * ```ts
   * import { run, getRunningLoop, createTask, eagerTaskFactory } from "asyncio-ts";
   * await run(async () => {
   *   getRunningLoop().setTaskFactory(eagerTaskFactory);
   *   const t = createTask(async () => console.log("runs at once, inside createTask"));
   *   console.log("after createTask");
   *   await t;
   * });
   * ```
   */
  setTaskFactory(factory: TaskFactory | null): void {
    if (factory !== null && typeof factory !== "function") {
      throw new TypeError(`Expected factory to be a function (loop, fn, options) returning a Task, or null, got ${describe(factory)}`);
    }
    this._taskFactory = factory;
  }

  /** The task factory set with `setTaskFactory`, or null. */
  getTaskFactory(): TaskFactory | null {
    return this._taskFactory;
  }

  // ---------------------------------------------------------------- running

  /** True while `runForever()` or `runUntilComplete()` is running. */
  isRunning(): boolean {
    return this._running;
  }

  /** True once `close()` was called. */
  isClosed(): boolean {
    return this._closed;
  }

  /**
   * Run until `stop()` is called. Resolves when the loop has stopped; rejects with a `DeadlockError` (the
   * report of what each task waited on) when it stopped because nothing could wake its tasks any more.
   */
  runForever(): Promise<void> {
    // (a promise-returning function: refusals are rejections, docs/design.md)
    if (this._closed) return Promise.reject(new RuntimeError("Event loop is closed"));
    if (this._running) return Promise.reject(new RuntimeError("This event loop is already running"));
    if (fakeTimersProblem !== null) return Promise.reject(new RuntimeError(fakeTimersProblem));
    const inTask = contextTask();
    if (inTask !== undefined && !inTask.done() && inTask._loop._running) {
      return Promise.reject(new RuntimeError("Cannot run the event loop while another loop is running"));
    }
    if (!this._hooksHeld) {
      useHooks(); // (first: on a runtime without promise hooks it throws, and the loop never ran)
      this._hooksHeld = true;
    }
    this._running = true;
    this._syncSignalWait();
    armContextTripwire();
    watchProcessIdle();
    this._scope = newLoopScope();
    loopRegistry.running.add(this);
    if (this._debug) this._recordSites(true);
    if (this._debug && this._diagnostics !== null) this._debugMonitor = this._diagnostics.startMonitor(this);
    const untilComplete = this._untilComplete;
    this._untilComplete = false;
    return new Promise<void>((resolve, reject) => {
      this._stopResolve = () => {
        // (a deadlock stopped it: say so, the caller of runForever() could not tell otherwise;
        // runUntilComplete reads it itself, since its future may have ended well all the same)
        const byDeadlock = this._stoppedByDeadlock;
        this._stoppedByDeadlock = false;
        if (untilComplete || !byDeadlock) resolve();
        else {
          reject(this._deadlock); // (set with _stoppedByDeadlock, _reportDeadlock)
          this._deadlock = null;
        }
      };
      this._kick();
    });
  }

  /**
   * Run until `future` is done and return its result (or throw its exception). A function is wrapped
   * in a task. Tasks that `future` started and did not await stay scheduled on this loop: they continue
   * the next time the loop runs (as in a notebook kernel), unlike `run()`, which cancels them.
   */
  async runUntilComplete<T>(future: Future<T> | TaskFunction<T> | PromiseLike<T>): Promise<T> {
    this._checkClosed();
    if (this._running) throw new RuntimeError("This event loop is already running");
    const fut = ensureFuture(future, this);
    const stop = (): void => this.stop();
    fut.addDoneCallback(stop);
    this._deadlock = null;
    this._untilComplete = true;
    try {
      await this.runForever();
    } finally {
      fut.removeDoneCallback(stop);
    }
    const deadlock = this._deadlock as DeadlockError | null;
    if (deadlock !== null) {
      this._deadlock = null;
      // The tasks were cancelled because nothing could wake them: say why, not just "cancelled".
      if (!fut.done() || fut.cancelled() || fut.exception() instanceof CancelledError) throw deadlock;
    }
    if (!fut.done()) throw new RuntimeError("Event loop stopped before Future completed.");
    return fut.result();
  }

  /** Stop the loop after the current iteration. */
  stop(): void {
    this._stopping = true;
    if (this._running && !this._inIteration) this._kick();
  }

  /**
   * Close the loop: pending callbacks are dropped. Reports tasks that failed without anyone reading the
   * error, and tasks destroyed while pending; their outside awaiters are rejected so no promise hangs.
   */
  close(): void {
    if (this._running) throw new RuntimeError("Cannot close a running event loop");
    if (this._closed) return;
    this._closed = true;
    this._executorShutdownCalled = true;
    for (let h = this._readyHead; h !== null; ) {
      const next = h._rnext;
      h._rnext = null;
      // (an outcome on its way to code outside tasks still reaches it: it needs no loop, only a microtask;
      // the entry is the done future itself for its first callback, else a Handle)
      const cb = h instanceof Future ? (h.done() ? h._cb : null) : h instanceof Handle ? h._callback : null;
      if (isOutsideDelivery(cb)) {
        const f = (h instanceof Future ? h : (h as Handle)._arg) as Future<unknown>;
        soon(() => cb(f));
      }
      h = next;
    }
    this._readyHead = this._readyTail = null;
    this._nReady = 0;
    this._timers.clear();
    this._failures.reportAll();
    for (const t of [...this._tasks]) {
      this.callExceptionHandler({ message: "Task was destroyed but it is pending!", task: t });
      t._rejectOutsideAwaiters(new RuntimeError(`Event loop is closed: task ${t.getName()} will never finish`));
    }
    this._tasks.clear();
    for (const sig of [...this._signals.keys()]) removeSignalHandler(this._signals, sig);
    const closing = this._closeCallbacks;
    this._closeCallbacks = null;
    if (closing !== null) {
      for (const cb of closing) {
        try {
          cb();
        } catch (exception) {
          this.callExceptionHandler({ message: "a resource failed to close with its loop", exception });
        }
      }
    }
    // (after the resources' own close callbacks, which may settle their futures with a better word)
    for (const f of [...this._outsideWaits]) {
      f._abandon(new RuntimeError(`Event loop is closed: ${f._describe()}, awaited outside any task, will never complete`));
    }
    this._outsideWaits.clear();
    this._releaseHooks();
    loopRegistry.closed(this);
  }

  // ---------------------------------------------------------------- errors

  /** Set the exception handler (`null` restores the default). */
  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== "function") {
      throw new TypeError(`Expected handler to be a function or null, got ${describe(handler)}`);
    }
    this._exceptionHandler = handler;
  }

  /** The exception handler set with `setExceptionHandler`, or null. */
  getExceptionHandler(): ExceptionHandler | null {
    return this._exceptionHandler;
  }

  /** The default handler: prints the context to stderr. */
  defaultExceptionHandler(context: ExceptionContext): void {
    defaultExceptionHandler(context);
  }

  /** Report an error that has nowhere else to go (a failing callback, an unretrieved task error). */
  callExceptionHandler(context: ExceptionContext): void {
    const h = this._exceptionHandler;
    if (h === null) {
      defaultExceptionHandler(context);
      return;
    }
    try {
      h(this, context);
    } catch (exception) {
      defaultExceptionHandler({ message: "Unhandled error in exception handler", exception, context });
    }
  }

  /** Debug mode flag. */
  getDebug(): boolean {
    return this._debug;
  }

  /** Turn debug mode on or off. */
  setDebug(enabled: boolean): void {
    if (typeof enabled !== "boolean") throw new TypeError(`Expected enabled to be a boolean, got ${describe(enabled)}`);
    this._debug = enabled;
    if (this._running) this._recordSites(enabled);
  }

  /** Whether this loop holds the await-site hooks (debug mode while running: `current.ts`). */
  private _sitesHeld = false;
  private _recordSites(on: boolean): void {
    if (on === this._sitesHeld) return;
    this._sitesHeld = on;
    if (on) useSiteHooks();
    else releaseSiteHooks();
  }

  // ---------------------------------------------------------------- tasks

  /** @internal */
  _taskCreated(t: Task<unknown>): void {
    this._tasks.add(t);
    // debug mode: keep the function's name for dumpTasks() (the task drops the function once started)
    if (this._debug) (t as { _fnName?: string })._fnName = t._fn?.name ?? "";
    this._tracer?.onTaskCreated(t);
  }

  /** @internal */
  _taskDone(t: Task<unknown>): void {
    this._tasks.delete(t);
    if (t._nreg > 0 || hasLinked(t)) this._noteOrphan(t);
    this._tracer?.onTaskDone(t);
  }

  /** @internal done task `t` has code still running, suspended on awaits of ours (`Task._suspendOrphan`) */
  _noteOrphan(t: Task<unknown>): void {
    (this._orphans ??= new Set()).add(t);
  }

  /** @internal the last await of done task `t`'s code woke: its chains may have ended */
  _orphanSettled(t: Task<unknown>): void {
    const o = this._orphans;
    if (o === null) return;
    o.delete(t);
    // (looked at a macrotask later, once the woken code's microtasks have run: it may await again; virtual
    // time waits for the look, so shutdown's wait for this code does not jump the clock past user timers)
    if (o.size === 0 && this._orphansDone !== null && !this._closed) this._afterMicrotasks(this._checkOrphans);
  }

  private readonly _checkOrphans = (): void => {
    const w = this._orphansDone;
    if (w !== null && (this._orphans === null || this._orphans.size === 0)) {
      this._orphansDone = null;
      if (!w.done()) w.setResult(undefined);
    }
  };

  private _releaseHooks(): void {
    if (!this._hooksHeld) return;
    this._hooksHeld = false;
    releaseHooks();
  }

  /** @internal true if done tasks have code still waiting on something of ours */
  _hasOrphans(): boolean {
    return this._orphans !== null && this._orphans.size > 0;
  }

  /**
   * @internal run()'s shutdown: cancel the code still running in done tasks (their pending awaits get
   * `CancelledError`, as CPython's shutdown cancels eager tasks), and return a future done when none of it
   * waits on anything of ours any more; null if there is none
   */
  _cancelOrphans(): Future<void> | null {
    const o = this._orphans;
    if (o === null || o.size === 0) return null;
    for (const t of [...o]) cancelOrphanCode(t);
    this._orphansDone ??= this.createFuture<void>();
    const w = this._orphansDone;
    if (o.size === 0) this._afterMicrotasks(this._checkOrphans);
    return w;
  }

  /** @internal a task step begins: the driver waits for it to end. */
  _beginStep(t: Task<unknown>): void {
    t._stepNo++;
    if (this._inIteration && this._stepping === null) {
      this._stepping = t;
      if (this._debug) {
        this._stepStartedAt = performance.now();
        this._stepCount++;
      }
    }
    this._tracer?.onStepStart(t);
  }

  /**
   * @internal a task made from running work (adopt.ts) is in its first step: the driver waits for it as
   * well as for the step in progress
   */
  _beginAdoptedStep(t: Task<unknown>): void {
    t._stepNo++;
    if (this._stepping === null) {
      if (this._inIteration) this._stepping = t;
    } else if (this._stepping !== t) {
      t._flags |= F_EAGER;
      this._nEager++;
      (this._alsoStepping ??= []).push(t);
    }
    this._tracer?.onStepStart(t);
  }

  /**
   * @internal call `cb` once the eager first steps in progress have ended (now if none is): what CPython
   * would do after `create_task` returned an eager task, such as cancelling a `gather` of eager tasks
   * (`waitFor(gather(op()), 0)`), must not land in the middle of their work
   */
  _whenEagerStepsEnd(cb: () => void): void {
    if (this._nEager === 0) cb();
    else (this._afterEager ??= []).push(cb);
  }

  /**
   * @internal call `cb` once the microtasks queued now have run (a macrotask later); virtual time waits
   * for it
   */
  _afterMicrotasks(cb: () => void): void {
    this._hold();
    setImmediate(() => {
      this._release();
      if (this._closed) return;
      try {
        cb();
      } catch (exception) {
        this.callExceptionHandler({ message: "Exception in a callback run after microtasks", exception });
      }
    });
  }

  private _runAfterEager(): void {
    const list = this._afterEager;
    if (list === null) return;
    this._afterEager = null;
    for (const cb of list) {
      try {
        cb();
      } catch (exception) {
        this.callExceptionHandler({ message: "Exception in a callback run after eager steps", exception });
      }
    }
  }

  /**
   * @internal an await made while eager first steps are in progress (see `Future._await`): decided when
   * the microtasks have drained (`_flushDeferred`, at the watchdog's tick)
   */
  _deferAwait(fut: Future<unknown>, s: StrandLike, awaiter: Chain<unknown>, elem: boolean): void {
    // (its strand kept on the chain, where code that observes it meanwhile claims it: `claimAwait`)
    awaiter._reg = REG_DEFERRED;
    awaiter._strand = s;
    (this._deferred ??= []).push(fut, awaiter, elem);
    this._kick();
  }

  /**
   * The microtasks have drained with awaits deferred. If some of their futures are done by now, those
   * are delivered (their code goes on and may finish others: the rest stay deferred, true); once none is,
   * the pending ones are registered, which ends their tasks' steps.
   */
  private _flushDeferred(): boolean {
    const d = this._deferred!;
    this._deferred = null;
    let resumed = false;
    for (let i = 0; i < d.length; i += 3) {
      const fut = d[i] as Future<unknown>;
      const awaiter = d[i + 1] as Chain<unknown>;
      const s = awaiter._strand!;
      if (fut.done()) {
        resumed = true;
        awaiter._reg = REG_NONE;
        awaiter._strand = null;
        fut._markRetrieved();
        soon(() => fut._deliverTo(awaiter));
      } else if (s._task.done()) {
        // (its task ended in its first step: the wait is that task's code still running, an orphan's;
        // it was handed a result that did not exist: an Event.wait() returned unset, a lock held twice)
        awaiter._reg = REG_NONE;
        s._task._suspendOrphan(s, fut, awaiter, false);
      } else (this._deferred ??= []).push(fut, awaiter, d[i + 2]);
    }
    if (resumed) return true;
    const pending = this._deferred as unknown[] | null;
    this._deferred = null;
    if (pending !== null) {
      // Every deferred await is registered before any eager step is declared over: a cancellation made
      // at that moment ("after the eager step": waitFor(Promise.all([q.get(), q.get()]), 0)) reaches them
      // all, not only the first.
      this._registeringDeferred = true;
      try {
        for (let i = 0; i < pending.length; i += 3) {
          const awaiter = pending[i + 1] as Chain<unknown>;
          const s = awaiter._strand!;
          awaiter._reg = REG_NONE;
          s._task._suspendOn(s, pending[i] as Future<unknown>, awaiter, pending[i + 2] as boolean);
        }
      } finally {
        this._registeringDeferred = false;
      }
      for (let i = 0; i < pending.length; i += 3) (pending[i + 1] as Chain<unknown>)._strand!._task._endFirstStep();
      if (this._nEager === 0) this._runAfterEager();
    }
    return false;
  }

  /** A step of `t` ended: true when the driver may go on (no other step is awaited). */
  private _stepEnded(t: Task<unknown>): boolean {
    if (this._stepping === t) {
      this._finishStepBookkeeping(t);
      this._stepping = null;
      // (awaits deferred while eager steps ran are registered at the next tick, before anything else
      // runs: a callback of the next iteration, a scope's deadline, must find them: `_flushDeferred`)
      return this._nEager === 0 && this._deferred === null;
    }
    if ((t._flags & F_EAGER) !== 0) {
      t._flags &= ~F_EAGER;
      this._tracer?.onStepEnd(t);
      if (--this._nEager === 0) {
        this._alsoStepping = null;
        if (!this._registeringDeferred) this._runAfterEager(); // (else once all are registered)
        return this._stepping === null && this._deferred === null;
      }
      return false;
    }
    this._tracer?.onStepEnd(t);
    return false;
  }

  /** @internal the stepping task awaits one of our pending awaitables. */
  _stepSuspended(t: Task<unknown>): void {
    if (this._stepping === t || this._nEager > 0) {
      if (!this._stepEnded(t)) return;
      // The driver goes on one microtask later, not right here: `then` is also called by code that does
      // not await (`fut.then(cb)` inside a task), and other tasks must not run in the middle of it. When
      // called from inside the driver (a step suspended synchronously), the driver goes on by itself.
      if (!this._driving) soon(this._continueBound);
    } else {
      this._tracer?.onStepEnd(t);
    }
  }

  /** The driver's continuation after a step suspended (see `_stepSuspended`). */
  private readonly _continueBound = (): void => {
    if (this._stepping === null && this._nEager === 0 && this._deferred === null && !this._driving) this._drive(false);
  };

  /** @internal end `t`'s step after a few microtask hops unless it ended by itself (see Task._wakeup). */
  _endStepIfIdle(t: Task<unknown>): void {
    const step = t._stepNo; // (that step only: the task may have begun another since, its orphan code's)
    soon(() => {
      soon(() => {
        if (this._stepping === t && t._stepNo === step) this._stepSuspended(t);
      });
    });
  }

  /** @internal the task's function settled. */
  _endStep(t: Task<unknown>): void {
    if (this._stepping === t || this._nEager > 0) {
      if (!this._stepEnded(t)) return;
      // Called from inside the driver when a step finished synchronously: the driver goes on by itself.
      // Otherwise we are in the task's settle handler, in the task's async context; the task is done,
      // and a done task's context counts as no task everywhere (currentTask(), awaits, new tasks' parent),
      // so the driver goes on right here without leaving it (saves a context switch per task).
      if (!this._driving) this._drive(false, false);
    } else {
      this._tracer?.onStepEnd(t);
    }
  }

  private _finishStepBookkeeping(t: Task<unknown>): void {
    this._tracer?.onStepEnd(t);
    if (this._debug) {
      const dt = performance.now() - this._stepStartedAt;
      if (dt >= this._slowCallbackDuration) {
        this.callExceptionHandler({
          message: `Executing ${t._repr()} took ${(dt / 1000).toFixed(3)} seconds`,
          task: t,
        });
      }
    }
  }

  /** @internal external work (an executor job, a wrapped promise) that virtual time must not skip. */
  _hold(): void {
    this._holds++;
  }

  /** @internal */
  _release(): void {
    if (this._holds > 0) this._holds--;
    if (this._holds === 0 && this._running && !this._inIteration) this._kick();
  }

  /**
   * @internal foreign work (a promise that is not asyncio-ts's) that virtual time should wait for, for at
   * most `holdTimeout`; release the returned hold once, when the work settles
   */
  _holdForeign(): ForeignHold {
    this._foreignHolds++;
    return new ForeignHold(this);
  }

  /**
   * @internal I/O begins that may wake a task (see `_io`); with `holdClock`, it also holds virtual time as
   * foreign work. Release the returned hold once, when it ends.
   */
  _ioBegin(holdClock: boolean): IoHold {
    this._io++;
    if (holdClock) this._foreignHolds++;
    return new IoHold(this, holdClock);
  }

  /** @internal */
  _ioEnd(heldClock: boolean): void {
    if (this._io > 0) this._io--;
    if (heldClock) this._releaseForeign();
  }

  /** @internal */
  _releaseForeign(): void {
    if (this._foreignHolds > 0) this._foreignHolds--;
    if (this._foreignHolds === 0 && this._running && !this._inIteration) this._kick();
  }

  /**
   * @internal callbacks run once when the loop closes (a stream's socket, a server still listening: Node
   * would otherwise stay alive for them after `run()` ends); returns the function that unregisters it
   */
  _onClose(cb: () => void): () => void {
    const set = (this._closeCallbacks ??= new Set());
    set.add(cb);
    return () => set.delete(cb);
  }
  private _closeCallbacks: Set<() => void> | null = null;

  // ---------------------------------------------------------------- the operating system (loop-os.ts)

  /** Invariant: the signal listeners this loop installed on `process` (removed at close). */
  private readonly _signals: SignalTable = new Map();
  /**
   * Invariant: while the loop runs with a signal handler installed, a referenced real timer that keeps
   * Node's process alive, else null. A signal listener keeps nothing alive in Node, where CPython's loop
   * waits in its selector for the signal: a program that waits only for SIGTERM (a graceful shutdown)
   * would end, or be taken for a deadlock (`_syncSignalWait`).
   */
  private _signalWait: ReturnType<typeof realTimers.setInterval> | null = null;

  /** Keep the process alive while the loop runs and handles a signal (see `_signalWait`). */
  private _syncSignalWait(): void {
    const want = this._running && this._signals.size > 0;
    if (want && this._signalWait === null) this._signalWait = realTimers.setInterval(noop, MAX_TIMER_DELAY);
    else if (!want && this._signalWait !== null) {
      realTimers.clearInterval(this._signalWait);
      this._signalWait = null;
    }
  }

  /**
   * Run `callback(...args)` on the loop whenever the process receives `sig` (CPython's
   * `add_signal_handler`); replaces this loop's previous handler for it. SIGKILL and SIGSTOP cannot be
   * caught (`RuntimeError`). A handler for SIGINT takes the place of `run()`'s Ctrl-C handling.
   *
   * @example
   * ```ts
   * import { run, getRunningLoop, Event } from "asyncio-ts";
   * await run(async () => {
   *   const stop = new Event();
   *   getRunningLoop().addSignalHandler("SIGUSR1", () => stop.set());
   *   process.kill(process.pid, "SIGUSR1");
   *   await stop.wait();
   *   console.log("got SIGUSR1");
   * });
   * ```
   */
  addSignalHandler<A extends unknown[]>(sig: SignalLike, callback: (...args: A) => void, ...args: A): void {
    this._checkClosed();
    addSignalHandler(this, this._signals, sig, callback as (...a: unknown[]) => void, args);
    this._syncSignalWait();
  }

  /** Remove this loop's handler for `sig`; false if there was none (CPython's `remove_signal_handler`). */
  removeSignalHandler(sig: SignalLike): boolean {
    const r = removeSignalHandler(this._signals, sig);
    this._syncSignalWait();
    return r;
  }

  /** @internal whether this loop handles `sig` itself (the runner leaves SIGINT to it then) */
  _handlesSignal(sig: NodeJS.Signals): boolean {
    return this._signals.has(sig);
  }

  /**
   * Resolve `host` (CPython's `getaddrinfo`, with Node's `dns.lookup`: /etc/hosts included): every
   * address, as `{ family, sockaddr: [address, port] }`. A cancellation point.
   * @example `const [first] = await getRunningLoop().getaddrinfo("localhost", 80)`
   */
  getaddrinfo(host: string, port?: number | null, options?: GetAddrInfoOptions): Promise<AddrInfo[]> {
    return getaddrinfo(this, host, port, options);
  }

  /**
   * The host name and service of `[address, port]` (CPython's `getnameinfo`, with `dns.lookupService`).
   * @example `const [host, service] = await getRunningLoop().getnameinfo(["127.0.0.1", 22])`
   */
  getnameinfo(sockaddr: readonly [string, number]): Promise<[string, string]> {
    return getnameinfo(this, sockaddr);
  }

  /**
   * `callSoon` for code that does not run on this loop (a Node callback, another loop): also wakes the
   * loop if it idles (CPython's `call_soon_threadsafe`).
   * @example `loop.callSoonThreadsafe(() => queue.putNowait(item))`
   */
  callSoonThreadsafe<A extends unknown[]>(callback: (...args: A) => void, ...args: A): Handle {
    this._checkClosed();
    return callSoonThreadsafe(this, callback as (...a: unknown[]) => void, args);
  }

  /**
   * Shut down the default executor, waiting for its jobs (CPython's `shutdown_default_executor`). With
   * `timeout` (ms), stop waiting after it and report it through the exception handler; the jobs go on.
   * @example `await getRunningLoop().shutdownDefaultExecutor(5000)`
   */
  async shutdownDefaultExecutor(timeout: number | null = null): Promise<void> {
    if (timeout !== null) checkDelay(timeout, "timeout");
    const ms = timeout;
    this._executorShutdownCalled = true; // (CPython: later runInExecutor(None) and to_thread raise)
    const ex = this._defaultExecutor;
    if (ex === null) return;
    this._defaultExecutor = null;
    this._defaultExecutorFactory = null;
    const done = this.createFuture<void>();
    done._label = "shutdownDefaultExecutor";
    const hold = this._ioBegin(true);
    Promise.resolve(ex.shutdown({ wait: true })).then(
      () => !done.done() && done.setResult(undefined),
      (e: unknown) => !done.done() && done._relayException(e),
    );
    const timer =
      ms === null
        ? null
        : this.callLater(ms, () => {
            if (done.done()) return;
            this.callExceptionHandler({ message: `The executor did not finish joining its threads within ${ms} ms (shutdownDefaultExecutor)` });
            done.setResult(undefined);
          });
    try {
      await done;
    } finally {
      hold._release();
      timer?.cancel();
    }
  }

  /** @internal wake the driver (e.g. after a hand-moved virtual clock). */
  _wake(): void {
    if (this._running && !this._inIteration) this._kick();
  }

  // ---------------------------------------------------------------- the driver

  private _kick(): void {
    // (The tick may carry the async context of the task that kicked; `_drive` leaves it.)
    if (this._tickImmediate === null) this._tickImmediate = setImmediate(this._tick);
  }

  private _onTick(): void {
    this._tickImmediate = null;
    if (this._tickTimeout !== null) {
      clearTimeout(this._tickTimeout);
      this._tickTimeout = null;
    }
    if (!this._running) return;
    this._turnIterations = 0;
    this._turnStartedAt = this._turnCheckedAt = performance.now();
    this._turnSlow = true;
    if (this._deferred !== null && this._flushDeferred()) {
      // code resumed: the steps in progress go on (look again when the microtasks have drained)
      this._kick();
      return;
    }
    if (this._stepping !== null || this._nEager > 0) {
      // Microtasks drained and the step did not end: the task awaits something foreign.
      const t = this._stepping;
      this._stepping = null;
      if (t !== null) {
        t._foreignAwaits++;
        this._tracer?.onForeignAwait(t);
        t._endFirstStep();
      }
      const also = this._alsoStepping;
      this._alsoStepping = null;
      this._nEager = 0;
      if (also !== null) {
        for (const a of also) {
          if ((a._flags & F_EAGER) === 0) continue;
          a._flags &= ~F_EAGER;
          this._tracer?.onForeignAwait(a);
          a._endFirstStep();
        }
      }
      this._runAfterEager();
    } else if (this._driving) {
      return;
    }
    this._fresh = true;
    this._drive(true);
  }

  /**
   * Run ready callbacks until a step is in progress, the budget is spent, or nothing is due, outside any
   * live task's async context, so plain callbacks see no current task (`leaveTask` false: the caller
   * knows it is in none, or in a done task's).
   */
  private _drive(fromTick: boolean, leaveTask = true): void {
    this._driveFromTick = fromTick;
    this._driving = true;
    try {
      if (leaveTask) runOutsideTasks(this._scope, this._driveBound);
      else this._driveLoop(fromTick);
    } finally {
      this._driving = false;
    }
  }

  private _driveLoop(fromTick: boolean): void {
    for (;;) {
      if (!this._running) return;
      while (this._iterRemaining > 0) {
        const h = this._readyHead!;
        const next = h._rnext;
        this._readyHead = next;
        if (next === null) this._readyTail = null;
        h._rnext = null;
        this._nReady--;
        this._iterRemaining--;
        if (h._cancelled) continue;
        this._fresh = false;
        callbackContext.loop = this;
        h._run();
        callbackContext.loop = null;
        if (this._stepping !== null || this._nEager > 0) {
          this._kick(); // the watchdog, in case this step awaits something foreign
          return;
        }
      }
      if (this._inIteration) {
        this._inIteration = false;
        if ((++this._turnIterations & (TURN_CHECK_EVERY - 1)) === 0 || this._turnSlow) this._checkTurnTime();
        this._iterations++;
        this._tracer?.onIterationEnd(this);
        if (this._stopping) {
          this._finishStop();
          return;
        }
      }
      if (!this._prepareIteration(fromTick)) return;
    }
  }

  /** End the turn early once it has run `TURN_MS` (see there). */
  private _checkTurnTime(): void {
    const now = performance.now();
    if (now - this._turnStartedAt >= TURN_MS) this._turnIterations = TURN_BUDGET;
    // (since the last read: one iteration while slow, else TURN_CHECK_EVERY of them)
    else this._turnSlow = now - this._turnCheckedAt > (this._turnSlow ? 1 / TURN_CHECK_EVERY : 1);
    this._turnCheckedAt = now;
  }

  /** Start an iteration: move due timers to the ready queue. False when there is nothing to do now. */
  private _prepareIteration(fromTick: boolean): boolean {
    let readyCount = this._nReady;
    if (this._turnIterations >= TURN_BUDGET) {
      this._kick();
      return false;
    }
    this._cleanTimers();
    if (readyCount === 0 && !this._stopping) {
      const next = this._peekTimer();
      if (next === undefined) {
        // Idle until something external calls callSoon. On virtual time that may be never.
        if (this._clock.virtual && this._tasks.size > 0 && this._holds === 0 && this._foreignHolds === 0) this._armDeadlockCheck();
        return false;
      }
      const now = this._clock.now();
      if (next._when > now) {
        if (this._clock.virtual) {
          const vc = this._clock as VirtualClock;
          if (!fromTick || !this._fresh) {
            this._kick();
            return false;
          }
          if (this._holds > 0 || vc.autojump === false) return false;
          if (this._foreignHolds > 0 && !this._jumpOverHolds) {
            this._armHoldTimer();
            return false;
          }
          if (this._jumpOverHolds) {
            this._jumpOverHolds = false;
            this.callExceptionHandler({
              message:
                `asyncio-ts: virtual time waited ${this._holdTimeout} ms of real time for work that is not asyncio-ts's ` +
                `(${this._foreignHolds} promise(s) still pending) and jumped to the next timer anyway ` +
                "(EventLoopOptions.holdTimeout)",
            });
          }
          vc.jumpTo(next._when);
        } else {
          if (this._tickTimeout !== null) clearTimeout(this._tickTimeout);
          this._tickTimeout = setTimeout(this._tick, timerDelay(next._when - now));
          return false;
        }
      }
    }
    const now = this._timers.size > 0 ? this._clock.now() : 0;
    for (;;) {
      const t = this._timers.peek();
      if (t === undefined || t._when > now) break;
      this._timers.pop();
      t._scheduled = false;
      // A cancelled one is dropped without touching the count, as CPython (which queues it and skips it).
      if (t._cancelled) continue;
      this._link(t);
      readyCount++;
    }
    this._iterRemaining = readyCount;
    this._inIteration = true;
    this._tracer?.onIterationStart(this);
    return true;
  }

  /**
   * Remove cancelled timers as CPython's `_run_once` does at the start of every iteration: rebuild the
   * heap when it holds more than 100 timers and more than half of them are cancelled, else pop the
   * cancelled ones at its head. Doing it exactly there, and only there, keeps the heap's shape, and so
   * the order of timers with equal deadlines, the same as CPython's.
   */
  private _cleanTimers(): void {
    const n = this._timers.size;
    if (n > MIN_SCHEDULED_TIMERS && this._cancelledTimers / n > MIN_CANCELLED_FRACTION) {
      this._timers.compact();
      this._cancelledTimers = 0;
      return;
    }
    for (;;) {
      const t = this._timers.peek();
      if (t === undefined || !t._cancelled) return;
      this._cancelledTimers--;
      this._timers.pop();
      t._scheduled = false;
    }
  }

  /** The first timer (not cancelled after the last clean-up), without touching the heap. */
  private _peekTimer(): TimerHandle | undefined {
    const t = this._timers.peek();
    if (t === undefined || !t._cancelled) return t;
    return this._timers.earliestLive();
  }

  /** Virtual time held only by foreign work: after `holdTimeout` of real idleness, jump over it. */
  private _armHoldTimer(): void {
    if (this._holdTimer !== null || this._holdTimeout === Infinity) return;
    const mark = this._iterations;
    this._holdTimer = longTimeout(() => {
      this._holdTimer = null;
      if (!this._running || this._foreignHolds === 0) return;
      if (mark !== this._iterations || !this._isIdle()) {
        this._kick(); // progress meanwhile: look again from a fresh tick (re-arms if still held)
        return;
      }
      this._jumpOverHolds = true;
      this._kick();
    }, this._holdTimeout);
  }

  /**
   * @internal nothing can wake the loop's tasks any more (the process has nothing else to do, or, on
   * virtual time, nothing happened for `deadlockTimeout`): report the tasks and what each waits on, and
   * cancel them; if that does not end them either, stop the loop. `runUntilComplete` then throws a
   * `DeadlockError` carrying the report.
   */
  _reportDeadlock(reason: string): void {
    if (!this._running) return;
    if (this._deadlock === null && !this._deadlockReported) {
      const text = (this._diagnostics?.deadlockReport(this, reason) ?? this._plainTaskList(reason)).trimEnd();
      this._deadlock = new DeadlockError(text);
      this._deadlockReported = true;
      this.callExceptionHandler({ message: text });
      for (const t of [...this._tasks]) t.cancel("deadlock (see the task dump)");
      this._kick();
      return;
    }
    // Cancelling did not end them (they wait on something foreign, or shutdown waits for them): stop.
    const all = [...this._tasks];
    const names =
      all.length === 0
        ? this._hasOrphans()
          ? "no task left: code of finished tasks still waits"
          : "no task left, and nothing scheduled"
        : all.slice(0, 20).map((t) => t.getName()).join(", ") + (all.length > 20 ? ` and ${all.length - 20} more` : "");
    this._deadlock ??= new DeadlockError(`asyncio-ts: still deadlocked: ${names} could not be cancelled`);
    if (!this._stuckReported) {
      this._stuckReported = true;
      this.callExceptionHandler({
        message: `asyncio-ts: still deadlocked after cancelling every task (${names}; see the task dump above): stopping the loop`,
      });
    }
    this._stoppedByDeadlock = true;
    this.stop();
  }

  /** The deadlock report of a loop without diagnostics (instruments.ts): the reason, then a line per task. */
  private _plainTaskList(reason: string): string {
    const lines = [reason];
    for (const t of this._tasks) {
      const w = t._waiters;
      const what = w.length === 0 ? "not waiting on anything of asyncio-ts's" : `waiting on ${w.map((f) => f._describe()).join(", ")}`;
      lines.push(`  ${t.getName()}: ${what}`);
    }
    return lines.join("\n") + "\n";
  }

  /** @internal the process is about to exit with this loop still running: nothing can wake it (running.ts) */
  _onProcessIdle(): void {
    if (!this._running || this._stepping !== null || this._nEager > 0) return;
    this._reportDeadlock(
      "asyncio-ts: deadlock: the event loop is still running but Node has nothing left to do (no timer, no I/O, " +
        "no pending work), so nothing can wake these tasks. Cancelling them.",
    );
  }

  private _armDeadlockCheck(): void {
    if (this._deadlockTimer !== null || this._deadlockTimeout === Infinity) return;
    const mark = this._iterations;
    this._deadlockTimer = longTimeout(() => {
      this._deadlockTimer = null;
      if (!this._running) return;
      // (the loop went on since: the check starts again from its next idle moment, which could not arm it
      // while this timer was pending)
      if (mark !== this._iterations) {
        this._kick();
        return;
      }
      // (foreign work in flight, a fromPromise's, may still wake them: if it never settles, Node's beforeExit tells)
      if (!this._isIdle() || this._holds > 0 || this._foreignHolds > 0 || this._io > 0) return;
      if (this._signals.size > 0) return; // (a signal may still come and wake them)
      if (this._peekTimer() !== undefined || this._tasks.size === 0) return;
      this._reportDeadlock(
        `asyncio-ts: deadlock on virtual time: for ${this._deadlockTimeout} ms every task was blocked, with no ` +
          "timer pending and no external work in flight, so nothing could wake them. Cancelling them.",
      );
    }, this._deadlockTimeout);
  }

  private _finishStop(): void {
    if (this._deadlockTimer !== null) {
      this._deadlockTimer.clear();
      this._deadlockTimer = null;
    }
    if (this._holdTimer !== null) {
      this._holdTimer.clear();
      this._holdTimer = null;
    }
    this._stopping = false;
    this._running = false;
    this._syncSignalWait();
    // The hooks stay while tasks of this loop are pending (their code, resumed by a foreign promise while
    // the loop is stopped, must still know its task); `close()` lets them go then.
    if (this._tasks.size === 0 && !this._hasOrphans()) this._releaseHooks();
    loopRegistry.running.delete(this);
    if (this._debugMonitor !== null) {
      this._debugMonitor.stop();
      this._debugMonitor = null;
    }
    this._recordSites(false);
    if (this._tickImmediate !== null) {
      clearImmediate(this._tickImmediate);
      this._tickImmediate = null;
    }
    if (this._tickTimeout !== null) {
      clearTimeout(this._tickTimeout);
      this._tickTimeout = null;
    }
    const r = this._stopResolve;
    this._stopResolve = null;
    r?.();
  }

  private _checkClosed(): void {
    if (this._closed) throw new RuntimeError("Event loop is closed");
  }

  /** @internal for diagnostics */
  _readyCount(): number {
    return this._nReady;
  }

  /** @internal for diagnostics and the testing helpers */
  _nextTimerWhen(): number | undefined {
    return this._peekTimer()?._when;
  }

  /** @internal true when no callback is ready and no step is running. */
  _isIdle(): boolean {
    return !this._inIteration && this._readyCount() === 0 && this._stepping === null && this._nEager === 0;
  }
}

let idleWatched = false;

/**
 * Node emits `beforeExit` when it has nothing left to do. A loop that is still running then can never be
 * woken: without this, `await run(...)` would leave Node to exit with code 13 ("unsettled top-level
 * await") and print nothing. Each running loop reports its deadlock instead (`_onProcessIdle`).
 */
function watchProcessIdle(): void {
  if (idleWatched) return;
  idleWatched = true;
  process.on("beforeExit", () => {
    for (const loop of [...loopRegistry.running]) loop._onProcessIdle();
  });
}

/** Node's timers hold at most 2**31-1 ms; a longer delay fires after 1 ms (with a warning). */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

function noop(): void {}

/** A delay for Node's `setTimeout`: at least 1 ms, at most what a Node timer holds. @internal */
export function timerDelay(ms: number): number {
  return ms >= MAX_TIMER_DELAY ? MAX_TIMER_DELAY : Math.max(1, Math.ceil(ms));
}

/** A hold on virtual time by foreign work (see `EventLoop._holdForeign`); released at most once. @internal */
export class ForeignHold {
  private _loop: EventLoop | null;
  constructor(loop: EventLoop) {
    this._loop = loop;
  }
  _release(): void {
    const l = this._loop;
    if (l !== null) {
      this._loop = null;
      l._releaseForeign();
    }
  }
}

/** I/O in flight (see `EventLoop._ioBegin`); released at most once. @internal */
export class IoHold {
  private _loop: EventLoop | null;
  constructor(
    loop: EventLoop,
    private readonly _clock: boolean,
  ) {
    this._loop = loop;
  }
  _release(): void {
    const l = this._loop;
    if (l !== null) {
      this._loop = null;
      l._ioEnd(this._clock);
    }
  }
}

/** The options a callback may be scheduled with, last after its arguments (CPython's `context=`). */
export interface CallOptions {
  /**
   * The context the callback runs in (`copyContext()`), as `context.run(callback)`: what it sets stays
   * in `context`. By default, a copy of the context current when it is scheduled.
   */
  context: Context;
}

/**
 * The context a callback scheduled with `args` runs in: the `{ context }` given last (taken off `args`),
 * else the current one when contexts are in use (context.ts), else null.
 */
function contextOf(args: unknown[]): AsyncResource | Context | null {
  const n = args.length;
  if (n > 0) {
    const last = args[n - 1];
    if (last !== null && typeof last === "object" && Object.getPrototypeOf(last) === Object.prototype) {
      const keys = Object.keys(last);
      if (keys.length === 1 && keys[0] === "context") {
        const c = (last as { context: unknown }).context;
        if (!(c instanceof Context)) throw new TypeError(`Expected context to be a Context (copyContext()), got ${describe(c)}`);
        args.pop();
        return c;
      }
    }
  }
  return contextState.inUse ? captureContext() : null;
}

/** Validate a delay in ms: a non-negative number, Infinity allowed. @internal */
export function checkDelay(delay: unknown, name: string): asserts delay is number {
  if (typeof delay !== "number" || Number.isNaN(delay) || delay < 0) {
    // (the project's rule, as `checkMs`: not a number is a TypeError, a number out of range a RangeError)
    const E = typeof delay === "number" ? RangeError : TypeError;
    throw new E(`Expected ${name} to be a non-negative number of milliseconds, got ${describe(delay)}`);
  }
}
