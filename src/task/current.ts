/**
 * Which task is running: the one place that answers it.
 *
 * ## Approach
 * A task's code must know its task everywhere, including in code resumed by a foreign promise (`await
 * fetch(...)` resumes in a microtask that the loop did not start, possibly while the loop drives another
 * task's step). So the task's identity travels with its code through every promise reaction. Two
 * mechanisms, one chosen when this module loads (`contextMechanism`):
 *
 * - **frames** (Node 24, and any Node whose `AsyncLocalStorage` is built on `AsyncContextFrame`): V8
 *   carries the current frame through every promise reaction at no cost per promise. A task gets a frame
 *   of its own once, when its function is first called: `enterWith(task)` inside
 *   `AsyncResource.runInAsyncScope`, whose exit restores the caller's frame without making another one.
 *   One small `Map` per task; nothing per promise.
 * - **hooks** (Node 20, which has no frames): three lean V8 promise hooks. A promise created while task
 *   code runs is tagged with the task; when a reaction of it runs (an `await`'s continuation, a `then`
 *   callback, the job that calls a thenable's `then`), the tag becomes the current task, and when the
 *   reaction ends, no task is current. The task's first call sets the current task around it.
 *
 * Both give the same answers as `AsyncLocalStorage.run(task, fn)` for code reached through promises
 * (awaits, `then`, async generators, foreign thenables). Code run by a timer, an I/O callback or
 * `queueMicrotask` callback sees no current task under **hooks** (as CPython's callbacks: a callback is
 * not a task's code) and the task that scheduled it under **frames**; the library itself never relies on
 * either (it schedules its own microtasks through promises).
 *
 * ## Rejected alternatives
 * - `AsyncLocalStorage.run(task, fn)` per task (the first design): on Node 20 it enables Node's
 *   async-hooks machinery, whose promise hook nearly doubles the cost of await-heavy code anywhere in the
 *   process (1.95x, `node bench/context-cost.mjs`); on Node 24, `run` makes two frames (entering, and
 *   restoring the caller's). A task cost 6x a raw promise with it (`bench/README.md`, before and after).
 * - A plain variable set by the loop around each step: free, but wrong in code resumed by a foreign
 *   promise, which then can no longer be cancelled or timed out (a `timeout()` around `await fetch();
 *   await sleep(10)` would never fire).
 * - Lean promise hooks on Node 24 as well: a task costs about as much as with frames, but every promise
 *   of the process, inside tasks or not, pays the hooks (1.36x on await-heavy code that has nothing to do
 *   with asyncio-ts, `node bench/context-cost.mjs`; 1.34x on Node 20, where there is no cheaper exact
 *   way). Frames cost nothing outside tasks.
 *
 * `ASYNCIO_TS_CONTEXT=hooks` (or `frames`, where available) forces a mechanism, so that the test suite can
 * run against both on one Node.
 *
 * @module
 */
import { AsyncLocalStorage, AsyncResource } from "node:async_hooks";
import { promiseHooks } from "node:v8";
import type { EventLoop } from "../loop/event-loop.js";
import type { Task } from "./task.js";

/** @internal the loop that is running a plain callback right now (synchronously), if any. */
export const callbackContext: { loop: EventLoop | null } = { loop: null };

/** True when `AsyncLocalStorage` is built on `AsyncContextFrame`: a frame set inside a scope stays there. */
function hasContextFrames(): boolean {
  const probe = new AsyncLocalStorage<number>();
  const scope = new AsyncResource("asyncio-ts.probe");
  scope.runInAsyncScope(() => probe.enterWith(1));
  const leaked = scope.runInAsyncScope(() => probe.getStore());
  probe.disable();
  return leaked === undefined;
}

function chooseMechanism(): "frames" | "hooks" {
  const forced = process.env["ASYNCIO_TS_CONTEXT"];
  if (forced === "hooks") return "hooks";
  const frames = hasContextFrames();
  if (forced === "frames" && !frames) {
    throw new Error("ASYNCIO_TS_CONTEXT=frames: this Node's AsyncLocalStorage is not built on AsyncContextFrame");
  }
  return frames ? "frames" : "hooks";
}

/** @internal how task identity travels with task code in this process (see the module comment). */
export const contextMechanism: "frames" | "hooks" = chooseMechanism();

// ---------------------------------------------------------------- frames

/** The task of the current frame (frames mechanism only). */
const taskStorage = new AsyncLocalStorage<Task<unknown>>();
/** A scope with the frame this module was loaded in: the loops' fallback (see `newLoopScope`). */
const moduleScope = new AsyncResource("asyncio-ts");

function enterFrame<R>(task: Task<unknown>, body: (task: Task<unknown>) => R): R {
  taskStorage.enterWith(task);
  return body(task);
}

/**
 * The async context a loop's tasks start in, taken where the loop starts running: a task sees the
 * AsyncLocalStorage stores of the code that called `run()` / `runUntilComplete()` (frames mechanism;
 * null under hooks, where the driver simply runs in that code's context). CPython copies the context of
 * the task's *creator* instead; doing so would cost a captured frame per task. `docs/rosetta.md` says so.
 * @internal
 */
export function newLoopScope(): LoopScope {
  if (contextMechanism !== "frames") return null;
  // (a loop started from a task's code must not start its own tasks inside that task's frame)
  return taskStorage.getStore() === undefined ? new AsyncResource("asyncio-ts.loop") : taskStorage.exit(() => new AsyncResource("asyncio-ts.loop"));
}

/** @internal what `newLoopScope` returns */
export type LoopScope = AsyncResource | null;

// ---------------------------------------------------------------- hooks

/**
 * Invariant (hooks mechanism): the task whose code runs right now, or null. Set by `runInTask` around a
 * task's first call, and by the `before` hook for a reaction of a tagged promise; null between reactions.
 */
let current: Task<unknown> | null = null;
/** The tag on promises made by task code as the continuation of something. */
const TAG: unique symbol = Symbol("asyncio-ts.task");
type Tagged = { [TAG]?: Task<unknown> };

if (contextMechanism === "hooks") {
  promiseHooks.onInit((promise: Promise<unknown>) => {
    // Every promise made by task code: a reaction of any of them may run task code (an await's
    // throwaway promise, a then's promise, and also a promise resolved with a thenable, whose job calls
    // the thenable's `then`: `Promise.all([fut])`, `new Promise((r) => r(fut))`).
    if (current !== null) (promise as Tagged)[TAG] = current;
  });
  promiseHooks.onBefore((promise: Promise<unknown>) => {
    const t = (promise as Tagged)[TAG];
    current = t === undefined ? null : t;
  });
  promiseHooks.onAfter(() => {
    current = null;
  });
}

// ---------------------------------------------------------------- the interface

/**
 * Call `body(task)` as the start of `task`'s code, in the context of the loop's `scope`: everything it
 * starts (awaits, `then`s) continues as `task`'s code.
 * @internal
 */
export const runInTask: <R>(scope: LoopScope, task: Task<unknown>, body: (task: Task<unknown>) => R) => R =
  contextMechanism === "frames"
    ? (scope, task, body) => (scope ?? moduleScope).runInAsyncScope(enterFrame, null, task, body) as ReturnType<typeof body>
    : (_scope, task, body) => {
        const saved = current;
        current = task;
        try {
          return body(task);
        } finally {
          current = saved;
        }
      };

/**
 * Call `body()` outside any task's code, in the context of the loop's `scope` (what the loop's driver
 * does before it runs callbacks).
 * @internal
 */
export const runOutsideTasks: (scope: LoopScope, body: () => void) => void =
  contextMechanism === "frames"
    ? (scope, body) => {
        if (taskStorage.getStore() === undefined) body();
        else (scope ?? moduleScope).runInAsyncScope(body);
      }
    : (_scope, body) => {
        const saved = current;
        current = null;
        try {
          body();
        } finally {
          current = saved;
        }
      };

/**
 * The task whose code is running (possibly done: its orphaned code can still run), or undefined.
 * @internal
 */
export const contextTask: () => Task<unknown> | undefined =
  contextMechanism === "frames" ? () => taskStorage.getStore() : () => current ?? undefined;

/**
 * The task whose code calls us, or undefined in a plain callback run by a loop (which is not a task's
 * code, whatever async context it runs in). Possibly done (orphaned code of a finished task).
 * @internal
 */
export function callerTask(): Task<unknown> | undefined {
  return callbackContext.loop === null ? contextTask() : undefined;
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
  const t = callerTask();
  if (t === undefined || t.done()) return null;
  if (loop !== undefined && t._loop !== loop) return null;
  return t;
}
