/**
 * Node's timers and monotonic clock as they were when asyncio-ts was loaded, for everything the library
 * schedules: the loop's ticks and its real-clock timers, `RealClock`, long timers, the runner's shutdown.
 *
 * ## Why
 * Test runners' fake timers (vitest's `vi.useFakeTimers()`, jest's and sinon's, which are both
 * `@sinonjs/fake-timers`, and node:test's `mock.timers.enable()`) replace `globalThis.setTimeout`,
 * `setImmediate`, `clearTimeout`, `Date`, `performance` and friends, and also the properties of the
 * `node:timers` module object. A loop that scheduled its ticks through them would never tick again once
 * a test turned them on: the test would hang until its timeout. So the kernel never reads the globals.
 *
 * ## Where the real ones come from
 * - The named exports of `node:timers` imported as ESM are a snapshot taken when that module was first
 *   imported as ESM in the process; Node updates them only on `module.syncBuiltinESMExports()`. Patching
 *   the module object or the globals afterwards (what every fake-timer library does) leaves them alone.
 * - The monotonic clock is `process.hrtime` as it was at load (a fake replaces the property), counted
 *   from the process's start as `performance.now()` counts: the same clock (libuv's `uv_hrtime`), as
 *   cheap to read (`node bench/lib/clock-read.mjs`: 40-47 ns either way on Node 24), without loading
 *   `node:perf_hooks` (1.2-1.4 ms of every program's start on Node 24).
 * - If the snapshot is itself a fake (the fakes were on before anything imported `node:timers` as ESM,
 *   e.g. asyncio-ts imported dynamically after `mock.timers.enable()`): a sinon fake keeps the original
 *   (`fake.clock._setTimeout`), which is used; node:test keeps it private, so `fakeTimersProblem` says
 *   what to do and a loop refuses to run (`EventLoop.runForever`) instead of hanging.
 *
 * ## Rejected alternatives
 * - Reading `globalThis.setTimeout` at import: right when asyncio-ts is imported first, but the module
 *   object `node:timers` is patched as well, and a fake installed before the import would be taken.
 * - Detecting fakes at each call and falling back: costs every tick a check, and there is no real
 *   timer to fall back to once the fake is all there is.
 *
 * @module
 */
const timers = process.getBuiltinModule("node:timers");

type AnyFn = (...args: any[]) => any;

/**
 * What to use for the timer function `f` found as `name`: `f` itself if it is Node's own; the original
 * behind a sinon fake; else `f`, flagged `faked` (a fake whose original is out of reach). @internal
 */
export function unwrapFakeTimer<F extends AnyFn>(name: string, f: F): { fn: F; faked: boolean } {
  const clock = (f as { clock?: Record<string, unknown> }).clock;
  if (clock !== undefined && clock !== null) {
    // @sinonjs/fake-timers (vitest, jest, sinon): the fake's clock keeps what it replaced.
    const original = clock[`_${name}`];
    if (typeof original === "function" && !("clock" in original)) return { fn: original as F, faked: false };
    return { fn: f, faked: true };
  }
  // node:test's MockTimers: bound private methods (`bound #setImmediate`, `bound #createTimer`).
  return { fn: f, faked: f.name.startsWith("bound #") };
}

/** Invariant: the names of the timer functions found faked with no original to recover; empty normally. */
const faked: string[] = [];

function real<F extends AnyFn>(name: string, f: F): F {
  const r = unwrapFakeTimer(name, f);
  if (r.faked) faked.push(name);
  return r.fn;
}

const hrtime = real("hrtime", process.hrtime);
const [startS, startNs] = hrtime();
/** `performance.now()` at load: ms since the process started (`process.uptime()` reads the same clock). */
const startMs = process.uptime() * 1e3;

/** The monotonic clock in ms since the process started, as `performance.now()` (see the module's comment). */
const monotonic = {
  now(): number {
    const t = hrtime();
    return startMs + (t[0] - startS) * 1e3 + (t[1] - startNs) / 1e6;
  },
};

/**
 * Node's timers and monotonic clock, whatever fake timers did to the globals, for every layer
 * (`realTimers.setImmediate(cb)`). The kernel's modules call them through the functions below, which read
 * this object at each call: a test may replace a member (`vi.spyOn(realTimers, "setTimeout")`) to watch
 * or drive what the library schedules. @internal
 */
export const realTimers = {
  setTimeout: real("setTimeout", timers.setTimeout),
  clearTimeout: real("clearTimeout", timers.clearTimeout),
  setImmediate: real("setImmediate", timers.setImmediate),
  clearImmediate: real("clearImmediate", timers.clearImmediate),
  setInterval: real("setInterval", timers.setInterval),
  clearInterval: real("clearInterval", timers.clearInterval),
  /** (its `now()` is the clock `RealClock` reads: ms, as `performance.now()`) */
  performance: monotonic,
};

/** Node's `setTimeout(fn, ms)` (`realTimers`). @internal */
export function setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
  return realTimers.setTimeout(fn, ms);
}
/** Node's `clearTimeout`. @internal */
export function clearTimeout(handle: NodeJS.Timeout): void {
  realTimers.clearTimeout(handle);
}
/** Node's `setImmediate(fn)`. @internal */
export function setImmediate(fn: () => void): NodeJS.Immediate {
  return realTimers.setImmediate(fn);
}
/** Node's `clearImmediate`. @internal */
export function clearImmediate(handle: NodeJS.Immediate): void {
  realTimers.clearImmediate(handle);
}
/** The monotonic clock: `performance.now()` counts ms since the process started, as Node's. @internal */
export const performance = monotonic;

/**
 * Null normally. When asyncio-ts was loaded while fake timers stood in for Node's (and the originals
 * could not be recovered), what the loop says instead of running: it could never tick. @internal
 */
export const fakeTimersProblem: string | null =
  faked.length === 0
    ? null
    : `asyncio-ts was loaded while fake timers stood in for Node's ${faked.join(", ")} (node:test's ` +
      "mock.timers, or another fake-timer library): the event loop cannot schedule itself with them. Import " +
      "asyncio-ts before enabling fake timers (a static import at the top of the test file), or leave the " +
      "timers out of the fakes: mock.timers.enable({ apis: ['Date'] }), vi.useFakeTimers({ toFake: ['Date'] }).";
