/**
 * Which task, and which region of it, is running: the one place that answers it.
 *
 * ## Approach
 * A task's code must know its task everywhere, including in code resumed by a foreign promise (`await
 * fetch(...)` resumes in a microtask that the loop did not start), and in promise chains the task started
 * without awaiting them at once (`gather(a(), b())`, `Promise.all([...])`): every asyncio-ts await made in
 * them belongs to the task, and to the cancel scope it was started in. So the *strand* (a task, or a
 * region of one: see `strand.ts`) travels with the code through every promise reaction, by three lean V8
 * promise hooks: a promise created while strand code runs is tagged with the strand; when a reaction of
 * it runs (an `await`'s continuation, a `then` callback, the job that calls a thenable's `then`), the tag
 * becomes the current strand, and when the reaction ends, none is current. A task's first call and a
 * scope's body set the current strand around themselves.
 *
 * The same hooks keep, for the synchronous run in progress, the list of promises made and their parents
 * (`log`): a combinator handed a promise that this run made (`gather(a(), b())`) can take over exactly
 * the work that promise's async function started, by re-tagging the promises of its synchronous part
 * (`findWork`, `retagRange`). V8 gives an async function's `await` of a thenable a wrapper promise whose parent is the
 * function's own promise (measured on Node 20 and 24): that marks where the function's synchronous part
 * ended. A reaction of a promise that has no parent (what `Promise.all`/`race`, `Promise.resolve` and
 * `new Promise` make around a thenable) is flagged (`ROOT`): an await registered from one is an element
 * of a native combinator, not an await of an async function (`strand.ts` treats the two differently).
 *
 * The hooks are installed while at least one loop runs: code outside every loop pays nothing.
 *
 * ## Runtimes
 * The hooks come from `promise-hooks.ts`, which knows the runtimes: `node:v8`'s `promiseHooks` on Node.js
 * and Deno (the same kernel, the same semantics). Where there are none but `AsyncLocalStorage` follows
 * awaits (Bun), the *fallback* carries the current strand in an `AsyncLocalStorage` instead: the task's
 * first call and a scope's body enter their strand with `run`, and every reaction registered inside
 * continues in it, so which task and which scope runs is as exact as with the hooks. What the fallback
 * cannot have: tags and a log, so no work is ever taken over (`findWork` finds nothing: a combinator
 * treats a promise as not made by this run; `shield(a())` and `waitFor(a(), ms)` need a function there),
 * and no await is known as an element of a native combinator (`inElementJob` is false: every await
 * registered from task code is live). The choice is made once, at import: the functions below that
 * differ are bound to the hooks' version or the fallback's then (exported constants), so Node's path is the
 * one it always was.
 *
 * ## Rejected alternatives
 * - AsyncContextFrame frames (Node 24's `AsyncLocalStorage`, the previous design there): free per
 *   promise, but a frame is fixed when a reaction is registered, so a chain that an async function started
 *   before a combinator saw its promise can never be moved to another task or scope; `shield(a())` and
 *   `waitFor(a(), ms)` could not be exact. They were cheaper: spawn + await, before the hooks and after,
 *   275 and about 530 ns a task on Node 24, 826 and about 920 ns on Node 20 (`bench/README.md`,
 *   "Before and after").
 * - `AsyncLocalStorage.run(task, fn)` per task (the first design): on Node 20 it enables Node's async-hooks
 *   machinery, whose promise hook nearly doubles the cost of await-heavy code (1.95x,
 *   `node bench/context-cost.mjs`).
 * - A plain variable set by the loop around each step: free, but wrong in code resumed by a foreign
 *   promise and in chains running beside the step, which then could no longer be cancelled.
 * - Recording every promise's parent for ever (exact chains at any time): a second property on every
 *   promise and memory for chains that never meet a combinator. The log lives for one synchronous run.
 *
 * @module
 */
import type * as asyncHooks from "node:async_hooks";
const { AsyncLocalStorage, AsyncResource } = process.getBuiltinModule("node:async_hooks");
type AsyncLocalStorage<T> = asyncHooks.AsyncLocalStorage<T>;
type AsyncResource = asyncHooks.AsyncResource;
import type { EventLoop } from "./event-loop.js";
import type { Task } from "./task.js";
import type { Strand } from "./cancellation.js";
import { contextState, runInContext } from "./context.js";
import { RuntimeError } from "./errors.js";
import { describe } from "./check.js";
import { setImmediate } from "./real-timers.js"; // (not the global: fake timers replace it)
import { hookBackend, runtimeName } from "./promise-hooks.js";

/** @internal the loop that is running a plain callback right now (synchronously), if any. */
export const callbackContext: { loop: EventLoop | null } = { loop: null };

/** @internal what travels with code: a task (its root strand) or a region of one */
export type StrandLike = Task<unknown> | Strand;

/**
 * Invariant: the strand whose code runs right now, or null. Set by `runInStrand` around a first call or
 * a scope's body, and by the `before` hook for a reaction of a tagged promise; null between reactions.
 */
let current: StrandLike | null = null;
/**
 * Invariant: while task code runs, whether the promise whose reaction runs it has no parent (false in a
 * first call); stale between reactions (see `onAfter`).
 */
let currentIsRoot = false;
/** The tag on promises made by strand code. */
const TAG: unique symbol = Symbol("asyncio-ts.strand");
/** Set on tagged promises made without a parent (see the module comment). */
const ROOT: unique symbol = Symbol("asyncio-ts.root");
type Tagged = { [TAG]?: StrandLike; [ROOT]?: true };

/**
 * Invariant: `log[0..logN)` holds, in creation order, pairs (promise, parent) of the promises tagged since
 * the current synchronous run's first root promise (see `onInit`); every entry past `logN` is empty.
 */
let log: unknown[] = [];
let logN = 0;
/** A log longer than this is dropped rather than kept for reuse (it holds its promises). */
const LOG_KEEP = 4096;

/**
 * End the run's log: forget its promises (the log must not keep a finished task alive). A loop, not
 * `log.fill(undefined, 0, logN)`: V8 runs a ranged `fill` in its runtime, not inline, and a run logs a
 * few promises. `node --cpu-prof bench/lib/floor-cases.mjs queue aio 200000 3` on Node 24: `fill` had 62
 * ms of the 665 sampled; the loop does not show.
 */
function resetLog(): void {
  if (logN === 0) return;
  if (log.length > LOG_KEEP) log = [];
  else for (let i = 0; i < logN; i++) log[i] = undefined;
  logN = 0;
}

function onInit(promise: Promise<unknown>, parent: Promise<unknown> | undefined): void {
  const s = current;
  if (s === null) return;
  (promise as Tagged)[TAG] = s;
  if (parent === undefined) {
    (promise as Tagged)[ROOT] = true;
    // Only an async function's promise (a root) can be handed to a combinator and taken over, and its
    // work starts with it: a run logs from its first root on (most runs make none, and log nothing).
    log[logN++] = promise;
    log[logN++] = parent;
  } else if (logN > 0) {
    log[logN++] = promise;
    log[logN++] = parent;
  }
}

function onBefore(promise: Promise<unknown>): void {
  const t = (promise as Tagged)[TAG];
  current = t === undefined ? null : t;
  currentIsRoot = (promise as Tagged)[ROOT] === true;
}

// (`currentIsRoot` is read only by task code, which always runs in a reaction, a first call or a
// scope's body: each sets it; so the end of a reaction need not clear it. A run's log starts empty.)
function onAfter(): void {
  current = null;
  if (logN !== 0) resetLog();
}

let hookUsers = 0;
let stopHooks: (() => void) | null = null;

/** @internal a loop starts running: make sure the hooks are installed */
export function useHooks(): void {
  if (hookUsers === 0 && stopHooks === null) stopHooks = createHooks();
  hookUsers++;
}

/** Undefined until checked; then null (the runtime has promise hooks) or the error that says it has not. */
let runtimeError: RuntimeError | null | undefined;

/**
 * @internal throw the clear error of `createHooks` if this runtime has no promise hooks (checked once, by
 * making and removing a hook): a loop is not even made there (`new EventLoop()` calls this).
 */
export function assertRuntime(): void {
  if (runtimeError === undefined) {
    try {
      createHooks()();
      runtimeError = null;
    } catch (e) {
      runtimeError = e as RuntimeError;
    }
  }
  if (runtimeError !== null) throw runtimeError;
}

/**
 * V8's promise hooks (`promise-hooks.ts`); nothing to install in the fallback (the strand travels in an
 * `AsyncLocalStorage`); a clear error where the runtime has neither: no code could know its task (see the
 * module comment), so the loop refuses to start rather than run wrongly.
 */
function createHooks(): () => void {
  const b = hookBackend;
  if (b.kind === "v8") return b.createHook({ init: onInit, before: onBefore, after: onAfter });
  if (b.kind === "als") return noHooks;
  throw new RuntimeError(
    `asyncio-ts needs V8's promise hooks or AsyncLocalStorage to know which task runs (${b.why} on ${runtimeName()}). ` +
      "It runs on Node.js 20 or later, Deno 2.9 or later and Bun 1.4 or later (README, \"Runtimes\").",
  );
}

function noHooks(): void {}

/**
 * @internal a loop stopped running: remove the hooks when no loop runs. Not at once: the loop stops in
 * the middle of a reaction, whose `after` hook must still run; a macrotask later, nothing is on the stack.
 */
export function releaseHooks(): void {
  if (hookUsers > 0 && --hookUsers === 0) setImmediate(removeHooksIfUnused).unref();
}

function removeHooksIfUnused(): void {
  if (hookUsers !== 0 || stopHooks === null) return;
  stopHooks();
  stopHooks = null;
  current = null;
  currentIsRoot = false;
  resetLog();
}

// ---------------------------------------------------------------- await sites (debug mode)

/**
 * Where tasks await, recorded while a loop in debug mode runs (`task.getStack()`, `captureCallGraph`).
 * An async function's `await` makes a promise at the await, synchronously, with the function's frames
 * (and its awaiters' async frames) on the stack; V8 calls a thenable's `then` a microtask later, in a job
 * with no frame of the function left. So a second, debug-only hook gives every promise made by task code
 * an `Error` (its stack is formatted only if read), and the job that calls our `then` finds the one of
 * the promise it runs for (`awaitSiteOfJob`). Nothing is recorded, and no hook runs, without debug mode.
 */
const SITE: unique symbol = Symbol("asyncio-ts.site");
type Sited = { [SITE]?: Error };
/** Invariant: the site of the promise whose reaction runs now (debug mode), or null between reactions. */
let jobSite: Error | null = null;
let siteUsers = 0;
let stopSiteHooks: (() => void) | null = null;
/** Frames kept in a site: async chains are deeper than V8's default of 10. */
const SITE_FRAMES = 40;

/** An `Error` whose stack is the caller's (formatted lazily), with up to `SITE_FRAMES` frames. @internal */
export function captureSite(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = SITE_FRAMES;
  const e = new Error("await site");
  Error.stackTraceLimit = limit;
  return e;
}

function onInitSite(promise: Promise<unknown>): void {
  if (current !== null) (promise as Sited)[SITE] = captureSite();
}
function onBeforeSite(promise: Promise<unknown>): void {
  jobSite = (promise as Sited)[SITE] ?? null;
}
function onAfterSite(): void {
  jobSite = null;
}

/** @internal a loop in debug mode starts running: record await sites */
export function useSiteHooks(): void {
  if (siteUsers++ === 0 && stopSiteHooks === null) {
    // (none in the fallback: sites are the direct caller's only, `awaitSiteNow`'s `job` stays null)
    const b = hookBackend;
    stopSiteHooks = b.kind === "v8" ? b.createHook({ init: onInitSite, before: onBeforeSite, after: onAfterSite }) : noHooks;
  }
}

/** @internal it stopped (see `releaseHooks` for why the hooks go a macrotask later) */
export function releaseSiteHooks(): void {
  if (siteUsers > 0 && --siteUsers === 0) {
    setImmediate(() => {
      if (siteUsers !== 0 || stopSiteHooks === null) return;
      stopSiteHooks();
      stopSiteHooks = null;
      jobSite = null;
    }).unref();
  }
}

/** @internal true while await sites are recorded (a loop in debug mode runs) */
export function recordingSites(): boolean {
  return siteUsers > 0;
}

/**
 * @internal the site of an await being registered now: the caller's own frames (a direct `then` call
 * from task code), and the site of the promise whose job calls `then` (an `await`, `Promise.all`...)
 */
export function awaitSiteNow(): AwaitSite {
  return { direct: captureSite(), job: jobSite };
}

/** @internal see `awaitSiteNow` */
export interface AwaitSite {
  direct: Error;
  job: Error | null;
}

// ---------------------------------------------------------------- user AsyncLocalStorage stores

/**
 * True when `AsyncLocalStorage` is built on `AsyncContextFrame` (Node 24): then user stores travel in
 * frames, and the loop runs its tasks in the frame where it started running (see `newLoopScope`).
 */
function hasContextFrames(): boolean {
  const probe = new AsyncLocalStorage<number>();
  const scope = new AsyncResource("asyncio-ts.probe");
  scope.runInAsyncScope(() => probe.enterWith(1));
  const leaked = scope.runInAsyncScope(() => probe.getStore());
  probe.disable();
  return leaked === undefined;
}

const frames = hasContextFrames();

/** `AsyncLocalStorage.prototype.enterWith` as it was at import (the context tripwire wraps it later). */
const alsEnterWithOriginal = AsyncLocalStorage.prototype.enterWith;

/**
 * Invariant: in the frame a loop's scope captured (the frame of the code that started the loop, which
 * goes on in it), and in every frame made from it, the store of `scopeMark` names that scope
 * (`{ scope }`). Read by `runOutsideTasks`: while no code has entered an async context since a loop
 * first ran (`contextState.inUse` false), a frame that names the scope is the scope's own, and entering
 * it again changes nothing. Node 24 only (null without frames).
 */
const scopeMark: AsyncLocalStorage<{ scope: AsyncResource | null }> | null = frames ? new AsyncLocalStorage() : null;

/**
 * The async context a loop's tasks start in, taken where the loop starts running, so that tasks see the
 * AsyncLocalStorage stores of the code that called `run()` / `runUntilComplete()` (Node 24's frames; null
 * on Node 20, where the driver runs in that code's context anyway).
 * @internal
 */
export function newLoopScope(): LoopScope {
  if (scopeMark === null) return null;
  const mark: { scope: AsyncResource | null } = { scope: null };
  // The mark is entered in the caller's own frame, which the scope then captures: the caller goes on in
  // the very frame its loop's tasks run in, as before there was a mark (Node 24's `als.disable()` deletes
  // a store from the current frame in place, and either side sees the other's). (`enterWith` as it was:
  // `run` calls `this.enterWith`, which the context tripwire wraps, and would count as the user's.)
  alsEnterWithOriginal.call(scopeMark, mark);
  mark.scope = new AsyncResource("asyncio-ts.loop");
  return mark.scope;
}

/**
 * True when the code runs in `scope`'s frame already, so that entering it would change nothing. Entering
 * costs a tenth of a `sleep(0)` hand-off on Node 24 (`floor-cases.mjs sleep0 aio`, 5 alternating runs:
 * 318 against 285 ns), and the driver's continuation after a task's step mostly runs in the loop's own
 * frame: the task's code started there, and no store was entered since (else `contextState.inUse`).
 */
function inScope(scope: AsyncResource): boolean {
  return !contextState.inUse && scopeMark!.getStore()?.scope === scope;
}

/** @internal what `newLoopScope` returns */
export type LoopScope = AsyncResource | null;

// ---------------------------------------------------------------- the interface

/**
 * Call `body(arg)` as code of `strand`: everything it starts (awaits, `then`s, async functions it calls)
 * continues as that strand's code. The log of the caller's run is kept (a scope entered in the middle of
 * a run is part of that run).
 * @internal
 */
function runInStrandHooks<A, R>(strand: StrandLike, body: (arg: A) => R, arg: A): R {
  const saved = current;
  current = strand;
  try {
    return body(arg);
  } finally {
    current = saved;
  }
}

/**
 * Call `body(task)` as the start of `task`'s code (a new synchronous run of it).
 * @internal
 */
function runInTaskHooks<R>(task: Task<unknown>, body: (task: Task<unknown>) => R): R {
  const saved = current;
  const savedRoot = currentIsRoot;
  current = task;
  currentIsRoot = false;
  resetLog();
  try {
    return body(task);
  } finally {
    current = saved;
    currentIsRoot = savedRoot;
    resetLog();
  }
}

/**
 * Call `body()` outside any task's code, in the context of the loop's `scope` (what the loop's driver
 * does before it runs callbacks).
 * @internal
 */
function runOutsideTasksHooks(scope: LoopScope, body: () => void): void {
  const saved = current;
  current = null;
  try {
    if (scope === null || inScope(scope)) body();
    else runInContext(scope, body, undefined); // (the method as it was: our own scope trips no tripwire)
  } finally {
    current = saved;
  }
}

/** @internal the strand whose code is running (its task possibly done), or null */
function contextStrandHooks(): StrandLike | null {
  return current;
}

/**
 * The task whose code is running (possibly done: its orphaned code can still run), or undefined.
 * @internal
 */
function contextTaskHooks(): Task<unknown> | undefined {
  return current === null ? undefined : current._task;
}

/**
 * The strand whose code calls us, or null in a plain callback run by a loop (which is not a task's code,
 * whatever promise reaction runs it). Its task is possibly done.
 * @internal
 */
function callerStrandHooks(): StrandLike | null {
  return callbackContext.loop === null ? current : null;
}

/** @internal the task whose code calls us (see `callerStrand`) */
function callerTaskHooks(): Task<unknown> | undefined {
  return callbackContext.loop === null && current !== null ? current._task : undefined;
}

/**
 * True when the code running now is the job a native combinator or a bare promise queued to call a
 * thenable's `then` (`Promise.all([fut])`, `Promise.race`, `Promise.resolve(fut)`, `new Promise(r =>
 * r(fut))`, an async function returning `fut`), rather than an async function's `await` or a direct call.
 * @internal
 */
function inElementJobHooks(): boolean {
  return currentIsRoot;
}

// ---------------------------------------------------------------- the fallback (no promise hooks)

/**
 * Invariant (fallback only): the store is the strand whose code runs, or null outside task code; entered
 * only by the functions below. Null where promise hooks are used.
 */
const strandStore: AsyncLocalStorage<StrandLike | null> | null = hookBackend.kind === "als" ? new AsyncLocalStorage<StrandLike | null>() : null;
/** `run` as it was at import: the context tripwire (`context.ts`) wraps the prototype's while armed. */
const alsRun = AsyncLocalStorage.prototype.run as (this: AsyncLocalStorage<StrandLike | null>, store: StrandLike | null, fn: (...args: never[]) => unknown, ...args: unknown[]) => unknown;

function runInStrandAls<A, R>(strand: StrandLike, body: (arg: A) => R, arg: A): R {
  return alsRun.call(strandStore!, strand, body, arg) as R;
}

function runInTaskAls<R>(task: Task<unknown>, body: (task: Task<unknown>) => R): R {
  return alsRun.call(strandStore!, task, body, task) as R;
}

function runOutsideTasksAls(scope: LoopScope, body: () => void): void {
  // (the scope first: entering it restores the stores of where the loop started, this one included)
  if (scope === null || inScope(scope)) alsRun.call(strandStore!, null, body);
  else runInContext(scope, outsideTasksAls, body);
}

function outsideTasksAls(body: () => void): void {
  alsRun.call(strandStore!, null, body);
}

function contextStrandAls(): StrandLike | null {
  return strandStore!.getStore() ?? null;
}

function contextTaskAls(): Task<unknown> | undefined {
  return strandStore!.getStore()?._task;
}

function callerStrandAls(): StrandLike | null {
  return callbackContext.loop === null ? (strandStore!.getStore() ?? null) : null;
}

function callerTaskAls(): Task<unknown> | undefined {
  return callbackContext.loop === null ? strandStore!.getStore()?._task : undefined;
}

/**
 * The fallback cannot tell a native combinator's job from an await (both call `then` from a job with
 * nothing else on the stack, with the same kind of resolving functions: measured on Bun 1.4). So an await
 * of a task counts as an element (cancelling the awaiting code later must not cancel a task that lost a
 * `Promise.race`, which another task may be awaiting), and every other await is live (a sleep, a
 * primitive's waiter, a combinator's future: nobody else awaits them, and `gather(a(), b())`'s chains,
 * which stay the caller's code here, must all see a cancellation). An await of a task is cancelled with
 * its awaiting code until that code's task takes another step (the usual case: one chain, `await t`).
 */
function inElementJobAls(fut?: object): boolean {
  return fut !== undefined && isTask(fut);
}

/** A `Task` (no runtime import of task.ts here: only its field, which futures do not have). */
function isTask(fut: object): boolean {
  return (fut as { _stepNo?: unknown })._stepNo !== undefined;
}

// (bound once, at import: the hooks' versions or the fallback's; see the module comment)
const hooks = strandStore === null;
/** @internal see `runInStrandHooks` */
export const runInStrand: <A, R>(strand: StrandLike, body: (arg: A) => R, arg: A) => R = hooks ? runInStrandHooks : runInStrandAls;
/** @internal see `runInTaskHooks` */
export const runInTask: <R>(task: Task<unknown>, body: (task: Task<unknown>) => R) => R = hooks ? runInTaskHooks : runInTaskAls;
/** @internal see `runOutsideTasksHooks` */
export const runOutsideTasks: (scope: LoopScope, body: () => void) => void = hooks ? runOutsideTasksHooks : runOutsideTasksAls;
/** @internal see `contextStrandHooks` */
export const contextStrand: () => StrandLike | null = hooks ? contextStrandHooks : contextStrandAls;
/** @internal see `contextTaskHooks` */
export const contextTask: () => Task<unknown> | undefined = hooks ? contextTaskHooks : contextTaskAls;
/** @internal see `callerStrandHooks` */
export const callerStrand: () => StrandLike | null = hooks ? callerStrandHooks : callerStrandAls;

/**
 * The strand of the calling code if it is a task's code that can still run: its task pending, or done
 * with its loop running (a chain the task did not wait for, which is still its code, as CPython's gather
 * child goes on after its parent: its scopes, task groups and combinators work there); else null.
 * @internal
 */
export function liveCallerStrand(): StrandLike | null {
  const s = callerStrand();
  return s === null || (s._task.done() && !s._task._loop.isRunning()) ? null : s;
}
/** @internal see `callerTaskHooks` */
export const callerTask: () => Task<unknown> | undefined = hooks ? callerTaskHooks : callerTaskAls;
/** @internal see `inElementJobHooks`; `fut`: the future being awaited (read by the fallback only) */
export const inElementJob: (fut?: object) => boolean = hooks ? inElementJobHooks : inElementJobAls;

/**
 * @internal true if task code hands a combinator the promise `aw` where no work can be taken over (the
 * fallback): a combinator whose meaning is that work's (`shield` protects it, `waitFor` cancels it) then
 * throws `takeOverError` rather than do something else silently
 */
export function cannotTakeOver(aw: unknown): boolean {
  return !hooks && aw instanceof Promise && callerStrandAls() !== null;
}

/**
 * @internal the error of a combinator that cannot take a promise's work over (see `cannotTakeOver`):
 * `what` says what it could not do, `fix` is the call to write instead
 */
export function takeOverError(what: string, fix: string): TypeError {
  return new TypeError(
    `Expected aw to be a function, a future or a task on ${runtimeName()}, got a promise: without promise hooks the work of a ` +
      `running async function cannot be taken over, so ${what}. Pass the function instead: ${fix} (README, "Runtimes")`,
  );
}

/** @internal which mechanism knows the current task: `"hooks"` (Node.js, Deno) or `"als"` (the fallback: Bun) */
export function strandCarrier(): "hooks" | "als" {
  return hooks ? "hooks" : "als";
}

/**
 * The strand a promise was made in (undefined for one made outside every task, or while no loop ran).
 * @internal
 */
export function strandOf(promise: object): StrandLike | undefined {
  return (promise as Tagged)[TAG];
}

/**
 * The index of `promise` in the current run's log, searched from `near` onwards, then before it; -1 if this
 * run did not make it.
 */
function indexOfPromise(promise: object, near: number): number {
  const from = near < logN ? near - (near & 1) : 0;
  for (let i = from; i < logN; i += 2) if (log[i] === promise) return i;
  for (let i = from - 2; i >= 0; i -= 2) if (log[i] === promise) return i;
  return -1;
}

/**
 * Where the synchronous part of the async function whose promise is at `at` ends: at the first promise
 * whose parent is it (the wrapper of the function's first `await` of a thenable, with the throwaway promise
 * right after it; or a consumer's `then` on it), else at `bound`.
 */
function rootEnd(at: number, bound: number): number {
  const promise = log[at];
  for (let j = at + 2; j < bound; j += 2) {
    if (log[j + 1] === promise) return j + 2 < bound && log[j + 3] === log[j] ? j + 4 : j + 2;
  }
  return bound;
}

/** True if `p` is one of the log's promises in `[from, to)`. */
function loggedIn(p: unknown, from: number, to: number): boolean {
  for (let k = to - 2; k >= from; k -= 2) if (log[k] === p) return true;
  return false;
}

/**
 * The work behind the promise at `at`, as ranges of the log (flat pairs `[start, end, ...]` pushed on
 * `out`): its own entries (the synchronous part of its async function; a derived promise is itself only),
 * and, for every entry whose parent this run made before them (`a().then(f)`: `a()`; `Promise.all([a(),
 * b()])`: the subscriptions to `a()` and `b()`), the work behind that parent, as far back as the chain of
 * parents goes (iteratively: a chain of a thousand `then`s is followed). Parents at or before `floor` are
 * not followed (they are the work of an earlier argument of the same call). Returns the earliest start.
 */
/** `collectWork`'s stack of ranges still to look at (reused: it is not re-entered). */
const todo: number[] = [];

function collectWork(at: number, bound: number, out: number[], floor: number, sources: object[] | null = null): number {
  let start = at;
  todo.length = 0;
  todo.push(at, bound);
  while (todo.length > 0) {
    const b = todo.pop()!;
    const a = todo.pop()!;
    const end = log[a + 1] !== undefined ? a + 2 : rootEnd(a, b);
    out.push(a, end);
    if (a < start) start = a;
    for (let k = a; k < end; k += 2) {
      const parent = log[k + 1];
      if (parent === undefined || loggedIn(parent, a, k)) continue;
      // (a promise another combinator argument already took over: its work is that task's, which this
      // work waits for: `gather(a, a.then(f))`)
      if ((parent as Taken)[TAKEN] !== undefined || (parent as Taken)[WORK_OF] !== undefined) {
        if (sources !== null && !sources.includes(parent as object)) sources.push(parent as object);
        continue;
      }
      const j = indexOfPromise(parent as object, a - 2);
      if (j < 0 || j >= a || j <= floor || covered(out, j)) continue;
      todo.push(j, a);
    }
  }
  return start;
}

function covered(ranges: number[], i: number): boolean {
  for (let r = 0; r < ranges.length; r += 2) if (i >= ranges[r]! && i < ranges[r + 1]!) return true;
  return false;
}

/**
 * Set on a promise whose work a task took over (adopt.ts): the task; or `PENDING_TAKE` while a combinator
 * takes over its arguments one by one (an argument not taken yet is no other argument's work).
 * @internal
 */
export const TAKEN: unique symbol = Symbol("asyncio-ts.taken");
/** @internal */
export const PENDING_TAKE: unique symbol = Symbol("asyncio-ts.pendingTake");
/**
 * Set on a promise whose work a task took over as the source of another promise it was handed
 * (`gather(a.then(f), a.then(g))`: `a`'s work goes to the first task): the task. Its outcome is not that
 * task's; work derived from it later waits for that task.
 * @internal
 */
export const WORK_OF: unique symbol = Symbol("asyncio-ts.workOf");
/** @internal */
export type Taken = { [TAKEN]?: Task<unknown> | typeof PENDING_TAKE; [WORK_OF]?: Task<unknown> };

/** What `findWork` returns: the ranges (flat pairs), the promise's own index, the earliest start. @internal */
export interface Work {
  ranges: number[];
  at: number;
  start: number;
  /** promises this work was derived from that tasks took over (or will: `PENDING_TAKE`): it waits for them */
  sources: readonly object[];
}

/** @internal `findWork`'s limit when no other promise of the same call follows: the log's end */
export const NO_LIMIT = -1;

/**
 * Where the work of each promise in `args` (the arguments of one call, in order) surely ends, for
 * `findWork`: where the next promise's work begins, or the log's end as it is now; `NO_LIMIT` for an
 * argument this run did not make (or that is no promise). Computed once for the call, last argument first,
 * before any is taken over: taking one over makes promises, at the log's end, that are no argument's
 * work, and the next argument's start is then known when its predecessor's is wanted. (Asked argument by
 * argument, each search ran to the log's end through the promises made by the previous takeovers: a
 * `gather` of n promises cost O(n^3); bench/README.md, "Before and after".)
 * @internal
 */
export function workLimits(args: readonly unknown[], isPromise: (x: unknown) => boolean): number[] {
  const n = args.length;
  const end = logN;
  const at = new Array<number>(n).fill(-1);
  let near = 0;
  for (let i = 0; i < n; i++) {
    if (!isPromise(args[i])) continue;
    const k = indexOfPromise(args[i] as object, near);
    at[i] = k;
    if (k >= 0) near = k + 2;
  }
  const limits = new Array<number>(n).fill(NO_LIMIT);
  const scratch: number[] = [];
  let next = -1; // the next promise argument, if any
  for (let i = n - 1; i >= 0; i--) {
    if (!isPromise(args[i])) continue;
    const a = at[i]!;
    if (a >= 0) {
      let bound = end;
      const la = next >= 0 ? at[next]! : -1;
      // (the next argument's work cannot begin before la, nor at or before a: when la follows a at once,
      // that is where this one's ends, with no search: `gather(a(), b(), c())` of functions that did not await)
      if (la === a + 2) bound = la;
      else if (la > a) {
        // the next argument's work begins where its earliest source does, but not before this promise: a
        // source at or before it (`gather(a, a.then(f))`) is this argument's work
        scratch.length = 0;
        const nextLimit = limits[next]!;
        bound = Math.max(a + 2, collectWork(la, nextLimit >= 0 ? nextLimit : end, scratch, a));
      }
      limits[i] = bound;
    }
    next = i;
  }
  return limits;
}

/**
 * Where, in the current run's log, the work behind `promise` lies (see `collectWork`), or null if this
 * run did not make `promise`. `limit`: where it surely ends (`workLimits`), or `NO_LIMIT`. `near`: where
 * to start looking.
 * @internal
 */
export function findWork(promise: object, near: number, limit: number): Work | null {
  const at = indexOfPromise(promise, near);
  if (at < 0) return null;
  const bound = limit >= 0 ? Math.min(Math.max(limit, at + 2), logN) : logN;
  if (bound === at + 2 && log[at + 1] === undefined) {
    // An async function's promise that the next argument's follows at once (`gather(a(), b())` of
    // functions that made no promise before returning or awaiting a foreign one): its work is itself.
    // What `collectWork` would find, without its search: a third of `gather(a(), b(), ...)`'s time with
    // 100,000 such arguments (bench/README.md, "Issue 14 against the build before it").
    const w = simpleWork;
    w.ranges[0] = at;
    w.ranges[1] = at + 2;
    w.at = w.start = at;
    w.sources = NO_SOURCES;
    return w;
  }
  const ranges: number[] = [];
  sourcesFound.length = 0;
  const start = collectWork(at, bound, ranges, -1, sourcesFound);
  return { ranges, at, start, sources: sourcesFound.length === 0 ? NO_SOURCES : sourcesFound.slice() };
}

/** `findWork`'s scratch list of sources, and the shared empty one (most work has none). */
const sourcesFound: object[] = [];
const NO_SOURCES: readonly object[] = Object.freeze([]);
/**
 * What `findWork` returns for work that is its promise alone, reused (the callers read it before the next
 * search, `adopt.ts`): no allocation per argument of a long `gather`.
 */
const simpleWork: Work = { ranges: [0, 0], at: 0, start: 0, sources: NO_SOURCES };

/**
 * Re-tag the promises of `log[start..end)`: those tagged `from` become `to`'s; strands opened inside the
 * range (direct children of `from`) are handed to `reparent`. Returns nothing; the promises' later
 * reactions run as `to`'s code.
 * @internal
 */
export function retagRange(start: number, end: number, from: StrandLike, to: StrandLike, reparent: (s: Strand) => void): void {
  for (let i = start; i < end; i += 2) {
    const p = log[i] as Tagged;
    const t = p[TAG];
    if (t === from) p[TAG] = to;
    else if (t !== undefined && t !== to && t._sparent === from) reparent(t as Strand);
  }
}

/** @internal the promise at index `i` of the current run's log (an even index below `logEnd()`) */
export function loggedAt(i: number): object {
  return log[i] as object;
}

/** @internal the index just past the current run's log (a later `findWork` may start there) */
export function logEnd(): number {
  return logN;
}

/**
 * The task whose code is running now, or `null` outside any task (CPython's `asyncio.current_task()`).
 *
 * @example
 * ```ts
 * import { run, currentTask } from "asyncio-ts";
 * await run(async () => {
 *   console.log(currentTask()?.getName()); // "Task-1" (or the next number)
 * });
 * console.log(currentTask()); // null
 * ```
 */
export function currentTask(loop?: EventLoop): Task<unknown> | null {
  if (loop !== undefined && (loop === null || typeof loop !== "object")) {
    throw new TypeError(`Expected loop to be an EventLoop, got ${describe(loop)}`);
  }
  const t = callerTask();
  if (t === undefined || t.done()) return null;
  if (loop !== undefined && t._loop !== loop) return null;
  return t;
}
