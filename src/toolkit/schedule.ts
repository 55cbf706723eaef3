/**
 * Schedules: when to try again. The policies of `retry()` and `repeat()` (`./retry.ts`), after Effect's
 * `Schedule` (its names and its semantics for `union`/`intersect`, `fixed`, `jittered`), in milliseconds.
 *
 * ## Approach
 * A schedule is an immutable value holding one pure step, `(state) => delay | null`: given what the loop
 * knows after an attempt (its number, the loop time, when the attempt started, the time elapsed since the
 * first attempt started, the attempt's error or result), the delay in ms before the next attempt, or
 * `null` to stop. The driver (`retry`, `repeat`) owns every piece of state and hands it in; a schedule
 * keeps none. Composition is composition of steps: `union` takes the smallest delay of the schedules
 * that go on, `intersect` the largest when all go on, `upTo` caps, `jittered` scales. Every schedule the
 * issue asks for is a function of that state: `fibonacci` computes the n-th number (at most 1,476
 * additions: beyond, it is `Infinity`), `fixed` reads the start of the previous attempt. So a schedule
 * can be shared by any number of concurrent retries, stepped by hand (`schedule.next(state)`), and
 * listed (`schedule.delays(10)`) without running anything. The one source of variation is jitter's
 * random number generator, which is injected (`random`, `seededRandom(seed)` for a reproducible one).
 *
 * Rejected alternatives:
 * - Effect's representation: a schedule is a recipe that each run instantiates into a stateful step
 *   (fibonacci keeps its two last numbers, `fixed` its last run). It is more general (any state), but every
 *   run must instantiate every combinator's children, a schedule cannot be stepped without being
 *   instantiated, and the schedule's state and the driver's (attempt, elapsed time) are two states that
 *   must agree. Nothing asked of this module needs state of its own.
 * - An iterator (or generator) of delays: it cannot see the error, the clock or how long an attempt took
 *   (no `whileError`, `during`, `fixed`), and it is consumed by one run, so it cannot be shared.
 * - p-retry's options (`retries`, `factor`, `minTimeout`, `maxTimeout`, `randomize`, `maxRetryTime`): not
 *   composable; each new policy is a new option.
 *
 * Where this differs from Effect (`Schedule` in effect 4):
 * - The elapsed time counts from the start of the first attempt (p-retry's `maxRetryTime` does too);
 *   Effect counts from its first decision, after the first attempt ended. So `during(ms)` bounds the whole
 *   retry loop, the first attempt included.
 * - `upTo(schedule, ms)` caps each delay (what other libraries call a maximum delay); Effect 4's `upTo`
 *   limits a count or a duration, which `recurs(n)` and `during(ms)` do here.
 * - `union`/`intersect` take any number of schedules (Effect 4's `min`/`max`).
 * - `jittered` takes its bounds (`min`, `max`, default Effect's 0.8 and 1.2) and its random source.
 * - Schedules have no outputs: `repeat()` returns the last result of the function.
 *
 * @module
 */
import { checkCount, checkFn, checkMs, checkOptions, describe } from "../core/index.js";

/**
 * What a schedule is told after each attempt (by `retry`, `repeat`, or `schedule.delays()`).
 * @example `const s = new Schedule((st) => (st.attempt < 3 ? st.attempt * 100 : null));`
 */
export interface ScheduleState {
  /** The attempt that just ended, from 1. */
  readonly attempt: number;
  /** The loop time (ms) now, when the schedule decides. */
  readonly now: number;
  /** The loop time (ms) when the attempt that just ended started. */
  readonly attemptStart: number;
  /** Milliseconds since the first attempt started (`now` minus that start), on the loop's clock. */
  readonly elapsed: number;
  /** The attempt's error (in `retry`; `undefined` in `repeat`). */
  readonly error: unknown;
  /** The attempt's result (in `repeat`; `undefined` in `retry`). */
  readonly result: unknown;
}

/**
 * A schedule's step: the delay in ms before the next attempt, or `null` to stop.
 * @example `const step: ScheduleStep = ({ attempt }) => (attempt <= 3 ? 1000 : null);`
 */
export type ScheduleStep = (state: ScheduleState) => number | null;

/**
 * Options of {@link jittered}.
 * @example `exponential(100).jittered({ min: 0, max: 1, random: seededRandom(42) }) // "full jitter"`
 */
export interface JitterOptions {
  /** The smallest factor a delay is multiplied by (default 0.8). */
  min?: number;
  /** The largest factor a delay is multiplied by (default 1.2). */
  max?: number;
  /** A number in [0, 1) per call (default `Math.random`); `seededRandom(seed)` makes a reproducible one. */
  random?: () => number;
}

/**
 * A retry or repeat policy: an immutable value whose `next(state)` says how long to wait before the next
 * attempt, or `null` to stop. Make one with the constructors (`exponential`, `fibonacci`, `spaced`,
 * `fixed`, `recurs`, `during`, `whileError`, `whileResult`), combine them with the methods or the
 * functions of the same names (`union`, `intersect`, `upTo`, `jittered`), or write a step of your own
 * with `new Schedule(step)`. A schedule keeps no state: one value can serve any number of retries at once.
 *
 * @example
 * ```ts
 * import { exponential, recurs, Schedule } from "asyncio-ts";
 * const policy = exponential(100).upTo(1000).intersect(recurs(5));
 * console.log(policy.delays(10)); // [100, 200, 400, 800, 1000]
 * const custom = new Schedule(({ attempt }) => (attempt < 3 ? 50 * attempt : null), "linear");
 * console.log(custom.delays(10), String(custom)); // [50, 100] linear
 * ```
 */
export class Schedule {
  /** @internal the step; its result is checked by `next()` */
  readonly _step: ScheduleStep;
  /** What the schedule is, for messages: `intersect(exponential(100), recurs(5))`. */
  readonly label: string;

  /**
   * @param step the delay in ms before the next attempt, or `null` to stop
   * @param label what the schedule is, for messages (default `"custom"`)
   */
  constructor(step: ScheduleStep, label = "custom") {
    checkFn(step, "step");
    if (typeof label !== "string") throw new TypeError(`Expected label to be a string, got ${describe(label)}`);
    this._step = step;
    this.label = label;
  }

  /**
   * The delay in ms before the attempt after `state.attempt`, or `null` to stop. Throws if the step
   * returns anything else (a negative number, `NaN`, `undefined`).
   * @example `exponential(100).next({ attempt: 3, now: 0, attemptStart: 0, elapsed: 0, error: undefined, result: undefined }) // 400`
   */
  next(state: ScheduleState): number | null {
    const d = this._step(state);
    if (d === null) return null;
    if (typeof d !== "number") {
      throw new TypeError(`Expected the step of schedule ${this.label} to return a delay in milliseconds or null (stop), got ${describe(d)}`);
    }
    if (!(d >= 0)) {
      throw new RangeError(`Expected the step of schedule ${this.label} to return a non-negative number of milliseconds or null (stop), got ${describe(d)}`);
    }
    return d;
  }

  /**
   * The delays this schedule gives, as `retry()` would wait them, when every attempt fails after
   * `attemptMs` (default 0) and no error or result is seen: at most `limit` of them.
   * @example `fibonacci(100).delays(6) // [100, 100, 200, 300, 500, 800]`
   */
  delays(limit: number, options?: { attemptMs?: number }): number[] {
    checkCount(limit, "limit");
    const attemptMs = checkMs(checkOptions(options, ["attemptMs"], "delays()").attemptMs ?? 0, "attemptMs", { finite: true });
    const out: number[] = [];
    let now = 0;
    for (let attempt = 1; out.length < limit; attempt++) {
      const attemptStart = now;
      now += attemptMs;
      const d = this.next({ attempt, now, attemptStart, elapsed: now, error: undefined, result: undefined });
      if (d === null) break;
      out.push(d);
      now += d;
    }
    return out;
  }

  /**
   * Go on while this schedule or any of `others` goes on, waiting the shortest of their delays.
   * @example `spaced(1000).union(exponential(10)).delays(8) // [10, 20, 40, 80, 160, 320, 640, 1000]`
   */
  union(...others: Schedule[]): Schedule {
    return union(this, ...others);
  }

  /**
   * Go on while this schedule and every one of `others` go on, waiting the longest of their delays.
   * @example `exponential(100).intersect(recurs(3)).delays(10) // [100, 200, 400]`
   */
  intersect(...others: Schedule[]): Schedule {
    return intersect(this, ...others);
  }

  /**
   * Cap each delay at `ms`.
   * @example `exponential(100).upTo(500).delays(5) // [100, 200, 400, 500, 500]`
   */
  upTo(ms: number): Schedule {
    return upTo(this, ms);
  }

  /**
   * Scale each delay by a random factor between `min` and `max` (default 0.8 and 1.2).
   * @example `spaced(1000).jittered({ random: seededRandom(7) }).delays(3) // three delays in [800, 1200)`
   */
  jittered(options?: JitterOptions): Schedule {
    return jittered(this, options);
  }

  /**
   * Stop after `n` more attempts (`intersect(this, recurs(n))`): at most `n + 1` attempts in all.
   * @example `spaced(100).recurs(2).delays(10) // [100, 100]`
   */
  recurs(n: number): Schedule {
    return intersect(this, recurs(n));
  }

  /**
   * Stop once `ms` have elapsed since the first attempt started (`intersect(this, during(ms))`).
   * @example `spaced(100).during(250).delays(10) // [100, 100, 100]`
   */
  during(ms: number): Schedule {
    return intersect(this, during(ms));
  }

  /**
   * Go on only while `predicate(error)` holds (`intersect(this, whileError(predicate))`).
   * @example `exponential(100).whileError((e) => e instanceof TypeError)`
   */
  whileError(predicate: (error: unknown) => boolean): Schedule {
    return intersect(this, whileError(predicate));
  }

  /**
   * Go on only while `predicate(result)` holds (`intersect(this, whileResult(predicate))`), for `repeat`.
   * @example `spaced(1000).whileResult((status) => status !== "done")`
   */
  whileResult(predicate: (result: unknown) => boolean): Schedule {
    return intersect(this, whileResult(predicate));
  }

  /** The schedule's label. @example `String(exponential(100)) // "exponential(100)"` */
  toString(): string {
    return this.label;
  }
}

/**
 * `Expected name to be a finite non-negative number of milliseconds`: every duration a constructor takes
 * (an infinite one would never end a wait).
 */
function finiteMs(value: unknown, name: string): number {
  return checkMs(value, name, { finite: true });
}

/**
 * Wait `baseMs * factor ** (n - 1)` before attempt `n + 1`: 100, 200, 400... for `exponential(100)`.
 * Never stops by itself: bound it with `recurs(n)`, `during(ms)`, and cap it with `upTo(ms)`.
 *
 * @param baseMs the first delay (finite, at least 0)
 * @param factor the growth per attempt (positive and finite; default 2)
 * @example
 * ```ts
 * import { exponential } from "asyncio-ts";
 * console.log(exponential(100).delays(5)); // [100, 200, 400, 800, 1600]
 * console.log(exponential(100, 3).delays(3)); // [100, 300, 900]
 * ```
 */
export function exponential(baseMs: number, factor = 2): Schedule {
  finiteMs(baseMs, "baseMs");
  if (typeof factor !== "number") throw new TypeError(`Expected factor to be a positive finite number, got ${describe(factor)}`);
  if (!(factor > 0 && factor < Infinity)) throw new RangeError(`Expected factor to be a positive finite number, got ${describe(factor)}`);
  return new Schedule(({ attempt }) => baseMs * factor ** (attempt - 1), factor === 2 ? `exponential(${baseMs})` : `exponential(${baseMs}, ${factor})`);
}

/** The `n`-th Fibonacci number (1, 1, 2, 3, 5...); `Infinity` from the 1,477th on. */
function fib(n: number): number {
  if (n > 1476) return Infinity;
  let a = 0;
  let b = 1;
  for (let i = 1; i < n; i++) {
    const c = a + b;
    a = b;
    b = c;
  }
  return b;
}

/**
 * Wait `oneMs` times the Fibonacci numbers: 100, 100, 200, 300, 500, 800... for `fibonacci(100)`. Grows
 * more gently than `exponential`. Never stops by itself.
 *
 * @example
 * ```ts
 * import { fibonacci } from "asyncio-ts";
 * console.log(fibonacci(100).delays(6)); // [100, 100, 200, 300, 500, 800]
 * ```
 */
export function fibonacci(oneMs: number): Schedule {
  finiteMs(oneMs, "oneMs");
  return new Schedule(({ attempt }) => oneMs * fib(attempt), `fibonacci(${oneMs})`);
}

/**
 * Wait `ms` after each attempt ends. Never stops by itself.
 *
 * @example
 * ```ts
 * import { spaced } from "asyncio-ts";
 * console.log(spaced(250).recurs(3).delays(10)); // [250, 250, 250]
 * ```
 */
export function spaced(ms: number): Schedule {
  finiteMs(ms, "ms");
  return new Schedule(() => ms, `spaced(${ms})`);
}

/**
 * Start an attempt every `ms`, counted from the start of the previous attempt (Effect's `fixed`): an
 * attempt that took 30 ms of a 100 ms period is followed by a wait of 70 ms; one that took longer than
 * the period by none (missed periods are not made up). Never stops by itself.
 *
 * @example
 * ```ts
 * import { fixed } from "asyncio-ts";
 * console.log(fixed(100).delays(3, { attemptMs: 30 })); // [70, 70, 70]
 * console.log(fixed(100).delays(2, { attemptMs: 150 })); // [0, 0]
 * ```
 */
export function fixed(ms: number): Schedule {
  finiteMs(ms, "ms");
  return new Schedule(({ now, attemptStart }) => Math.max(0, attemptStart + ms - now), `fixed(${ms})`);
}

/**
 * Go on for `n` more attempts, without waiting (delay 0): at most `n + 1` attempts in all. Combine it with
 * a schedule that waits: `exponential(100).intersect(recurs(5))`, or `exponential(100).recurs(5)`.
 *
 * @param n a non-negative integer or `Infinity`
 * @example
 * ```ts
 * import { recurs } from "asyncio-ts";
 * console.log(recurs(3).delays(10)); // [0, 0, 0]
 * ```
 */
export function recurs(n: number): Schedule {
  checkCount(n, "n", { infinity: true });
  return new Schedule(({ attempt }) => (attempt <= n ? 0 : null), `recurs(${n})`);
}

/**
 * Go on (delay 0) until `ms` have elapsed since the first attempt started, on the loop's clock; stop at
 * the first decision after that. The wait it allows may end after `ms`: to bound the whole loop, wrap it in
 * `timeout(ms, ...)`, which also cancels an attempt in progress.
 *
 * @example
 * ```ts
 * import { during, spaced } from "asyncio-ts";
 * console.log(spaced(400).intersect(during(1000)).delays(10)); // [400, 400, 400]
 * ```
 */
export function during(ms: number): Schedule {
  checkMs(ms, "ms");
  return new Schedule(({ elapsed }) => (elapsed <= ms ? 0 : null), `during(${ms})`);
}

/**
 * Go on (delay 0) while `predicate(error)` returns true (the error of the attempt that just failed).
 * Combine it with a schedule that waits: `exponential(100).whileError(isTransient)`. For `retry`'s
 * `shouldRetry` option, the difference: an error `shouldRetry` refuses is thrown as it is, while a schedule
 * that stops makes `retry` throw a `RetryError`.
 *
 * @example
 * ```ts
 * import { run, retry, spaced, whileError, RetryError } from "asyncio-ts";
 * await run(async () => {
 *   const policy = spaced(10).intersect(whileError((e) => (e as Error).message === "busy"));
 *   const errors = ["busy", "busy", "broken"];
 *   try {
 *     await retry(() => { throw new Error(errors.shift()); }, policy);
 *   } catch (e) {
 *     console.log(e instanceof RetryError && e.attempts); // 3
 *   }
 * }, { virtualTime: true });
 * ```
 */
export function whileError(predicate: (error: unknown) => boolean): Schedule {
  checkFn(predicate, "predicate");
  return new Schedule(({ error }) => (predicate(error) ? 0 : null), `whileError(${predicate.name || "predicate"})`);
}

/**
 * Go on (delay 0) while `predicate(result)` returns true (the result of the run that just ended): the
 * condition of a `repeat` that polls until something is ready.
 *
 * @example
 * ```ts
 * import { run, repeat, spaced, whileResult } from "asyncio-ts";
 * await run(async () => {
 *   let n = 0;
 *   const last = await repeat(() => ++n, spaced(100).intersect(whileResult((r) => (r as number) < 3)));
 *   console.log(last); // 3
 * }, { virtualTime: true });
 * ```
 */
export function whileResult(predicate: (result: unknown) => boolean): Schedule {
  checkFn(predicate, "predicate");
  return new Schedule(({ result }) => (predicate(result) ? 0 : null), `whileResult(${predicate.name || "predicate"})`);
}

/** The schedules of `union`/`intersect`, checked: `name` is the function, for the message. */
function checkSchedules(schedules: readonly unknown[], name: string): Schedule[] {
  if (schedules.length === 0) throw new TypeError(`Expected ${name}() to be given at least one schedule, got none`);
  schedules.forEach((s, i) => checkSchedule(s, `schedules[${i}]`));
  return schedules.slice() as Schedule[];
}

/**
 * `TypeError` unless `value` is a `Schedule`; for an options object (a p-retry habit), the message says
 * what to write instead. @internal
 */
export function checkSchedule(value: unknown, name: string): asserts value is Schedule {
  if (value instanceof Schedule) return;
  const hint =
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? ": p-retry's options ({ retries: 5, minTimeout: 1000 }) are a schedule here, exponential(1000).recurs(5)"
      : "";
  throw new TypeError(`Expected ${name} to be a Schedule (exponential(100), spaced(1000).recurs(5)...), got ${describe(value)}${hint}`);
}

/**
 * Go on while any of `schedules` goes on, waiting the shortest delay among those that go on (Effect's
 * `union`). `union(spaced(1000), exponential(10))` backs off exponentially until the delay reaches a second.
 *
 * @example
 * ```ts
 * import { union, spaced } from "asyncio-ts";
 * console.log(union(spaced(100).recurs(2), spaced(300).recurs(4)).delays(10)); // [100, 100, 300, 300]
 * ```
 */
export function union(...schedules: Schedule[]): Schedule {
  const all = checkSchedules(schedules, "union");
  return new Schedule((state) => {
    let min: number | null = null;
    for (const s of all) {
      const d = s.next(state);
      if (d !== null && (min === null || d < min)) min = d;
    }
    return min;
  }, `union(${all.map(String).join(", ")})`);
}

/**
 * Go on while every one of `schedules` goes on, waiting the longest of their delays (Effect's
 * `intersect`). `intersect(exponential(100), recurs(5))`: exponential backoff, 5 retries at most.
 *
 * @example
 * ```ts
 * import { intersect, exponential, recurs, spaced } from "asyncio-ts";
 * console.log(intersect(exponential(100), recurs(3)).delays(10)); // [100, 200, 400]
 * console.log(intersect(exponential(100), spaced(300)).delays(4)); // [300, 300, 400, 800]
 * ```
 */
export function intersect(...schedules: Schedule[]): Schedule {
  const all = checkSchedules(schedules, "intersect");
  return new Schedule((state) => {
    let max = 0;
    for (const s of all) {
      const d = s.next(state);
      if (d === null) return null;
      if (d > max) max = d;
    }
    return max;
  }, `intersect(${all.map(String).join(", ")})`);
}

/**
 * Cap each delay of `schedule` at `ms` (it goes on or stops as `schedule` does).
 *
 * @example
 * ```ts
 * import { upTo, exponential } from "asyncio-ts";
 * console.log(upTo(exponential(100), 500).delays(5)); // [100, 200, 400, 500, 500]
 * ```
 */
export function upTo(schedule: Schedule, ms: number): Schedule {
  checkSchedule(schedule, "schedule");
  checkMs(ms, "ms");
  return new Schedule((state) => {
    const d = schedule.next(state);
    return d === null ? null : Math.min(d, ms);
  }, `upTo(${schedule}, ${ms})`);
}

/**
 * Scale each delay of `schedule` by a random factor in [`min`, `max`) (default [0.8, 1.2), Effect's),
 * drawn from `random` (default `Math.random`). `{ min: 0, max: 1 }` is AWS's "full jitter". For a
 * reproducible sequence (tests, simulations), give a seeded source: `random: seededRandom(42)`; any
 * function returning numbers in [0, 1) will do.
 *
 * @example
 * ```ts
 * import { jittered, exponential, seededRandom } from "asyncio-ts";
 * const a = jittered(exponential(100), { random: seededRandom(42) }).delays(4);
 * const b = jittered(exponential(100), { random: seededRandom(42) }).delays(4);
 * console.log(a.join() === b.join(), a.every((d, i) => d >= 0.8 * 100 * 2 ** i && d < 1.2 * 100 * 2 ** i)); // true true
 * ```
 */
export function jittered(schedule: Schedule, options?: JitterOptions): Schedule {
  checkSchedule(schedule, "schedule");
  const o = checkOptions(options, ["min", "max", "random"], "jittered()");
  const min = factorOption(o.min, 0.8, "min");
  const max = factorOption(o.max, 1.2, "max");
  if (min > max) throw new RangeError(`Expected min to be at most max, got min ${min} and max ${max}`);
  const random = o.random ?? Math.random;
  checkFn(random, "options.random");
  return new Schedule((state) => {
    const d = schedule.next(state);
    if (d === null || d === 0 || d === Infinity) return d;
    const r = random();
    if (typeof r !== "number" || !(r >= 0 && r <= 1)) {
      throw new RangeError(`Expected options.random() of ${schedule.label}'s jitter to return a number in [0, 1), got ${describe(r)}`);
    }
    return d * (min + (max - min) * r);
  }, `jittered(${schedule})`);
}

function factorOption(value: unknown, dflt: number, name: string): number {
  if (value === undefined) return dflt;
  if (typeof value !== "number") throw new TypeError(`Expected options.${name} to be a non-negative finite number, got ${describe(value)}`);
  if (!(value >= 0 && value < Infinity)) throw new RangeError(`Expected options.${name} to be a non-negative finite number, got ${describe(value)}`);
  return value;
}

/**
 * A reproducible source of random numbers in [0, 1) for `jittered`: the same `seed` gives the same
 * sequence (the mulberry32 generator: 32 bits of state, fast, statistically fine for jitter, not for
 * cryptography).
 *
 * @param seed an integer (only its low 32 bits count)
 * @example
 * ```ts
 * import { seededRandom } from "asyncio-ts";
 * const a = seededRandom(1);
 * const b = seededRandom(1);
 * console.log(a() === b(), a() === b()); // true true
 * ```
 */
export function seededRandom(seed: number): () => number {
  if (typeof seed !== "number") throw new TypeError(`Expected seed to be an integer, got ${describe(seed)}`);
  if (!Number.isInteger(seed)) throw new RangeError(`Expected seed to be an integer, got ${describe(seed)}`);
  // Invariant: the generator's whole state, a 32-bit unsigned integer.
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
