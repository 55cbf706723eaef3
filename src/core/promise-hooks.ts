/**
 * Which promise hooks this runtime has: the one place that knows the runtimes apart (`current.ts` asks it
 * once, at import, and runs either on the hooks or on its fallback).
 *
 * ## Approach
 * Feature detection, no runtime or version checks: a backend is used if it works, tried by making a hook
 * and removing it at once.
 * - `"v8"`: `node:v8`'s `promiseHooks.createHook` (V8's promise hooks: `init(promise, parent)`, `before`,
 *   `after` around every reaction). Node.js has it as a named export of `node:v8`; Deno 2.9 has it on
 *   the module's default export only (`import v8 from "node:v8"`: `v8.promiseHooks`, the named export
 *   is missing), with Node's semantics: its log of a small async function matches Node's hook for hook,
 *   and `AsyncLocalStorage` still follows awaits while the hooks are installed (measured with deno 2.9.6;
 *   both are tested, `test/package/runtimes.test.ts`). Deno multiplexes its hooks itself: several
 *   `createHook`s at once (our main and debug-mode hooks) each get every event, and each is removable.
 * - `"als"`: no promise hooks, but an `AsyncLocalStorage` (Bun 1.4: `createHook` throws "node:v8
 *   createHook is not yet implemented in Bun."). `current.ts` then carries the current strand in an
 *   `AsyncLocalStorage` (its fallback: which task runs is exact; taking work over is not possible).
 * - Neither: `current.ts` throws a `RuntimeError` when a loop is made.
 *
 * `ASYNCIO_TS_PROMISE_HOOKS=none` (read once, at import; @internal, for tests) selects the fallback on a
 * runtime that has hooks, so that its rules are tested on Node too (`test/core/fallback.test.ts`).
 *
 * ## Rejected alternatives
 * - Deno's internal `Deno[Deno.internal].core.setPromiseHooks`: not public, and append-only (a hook set
 *   there can never be removed: the function pushes onto lists it keeps; measured); `node:v8`'s
 *   `promiseHooks`, built on it, adds removal and is the API Node programs use.
 * - `node:async_hooks`' `createHook` on Deno and Bun: on Bun it throws "not yet implemented"; on Deno it
 *   is a different, slower machinery (async resources), and it would not be the same kernel as Node's.
 * - Checking `"Deno" in globalThis` / `"Bun" in globalThis` to choose: a later version that gains hooks
 *   would keep the fallback; the names are used only in the error message.
 *
 * @module
 */
import * as v8 from "node:v8";
const { AsyncLocalStorage } = process.getBuiltinModule("node:async_hooks");

/** The three hooks `current.ts` installs. @internal */
export interface PromiseHookCallbacks {
  init?: (promise: Promise<unknown>, parent: Promise<unknown> | undefined) => void;
  before?: (promise: Promise<unknown>) => void;
  after?: (promise: Promise<unknown>) => void;
}

/** Install hooks; returns the function that removes them. @internal */
export type CreateHook = (hooks: PromiseHookCallbacks) => () => void;

/** What `detectBackend` found. @internal */
export type HookBackend =
  | { kind: "v8"; createHook: CreateHook }
  | { kind: "als"; why: string }
  | { kind: "none"; why: string };

/** The runtime, for messages only (never to choose a backend). @internal */
export function runtimeName(): string {
  if ("Bun" in globalThis) return "Bun";
  if ("Deno" in globalThis) return "Deno";
  return `this runtime (Node ${process.versions.node})`;
}

/** `promiseHooks` of `node:v8`: the named export (Node), else the default export's (Deno). */
function v8PromiseHooks(): { createHook?: unknown } | undefined {
  const ns = v8 as { promiseHooks?: { createHook?: unknown }; default?: { promiseHooks?: { createHook?: unknown } } };
  return ns.promiseHooks ?? ns.default?.promiseHooks;
}

/** Why no hooks: `createHook`'s own message, or what is missing. */
function tryV8(): CreateHook | string {
  const hooks = v8PromiseHooks();
  if (hooks === undefined || typeof hooks.createHook !== "function") return "node:v8 has no promiseHooks";
  const create = hooks.createHook.bind(hooks) as CreateHook;
  try {
    create({ init: noop })();
    return create;
  } catch (e) {
    return `node:v8 promiseHooks.createHook failed: ${String((e as Error)?.message ?? e).replace(/\.$/, "")}`;
  }
}

function noop(): void {}

/** True if `AsyncLocalStorage` keeps a value across a synchronous `run` (the fallback needs it). */
function hasAsyncLocalStorage(): boolean {
  try {
    const als = new AsyncLocalStorage<number>();
    const seen = als.run(1, () => als.getStore());
    als.disable();
    return seen === 1;
  } catch {
    return false;
  }
}

/** @internal find the backend (see the module comment); `forced` is `ASYNCIO_TS_PROMISE_HOOKS` */
export function detectBackend(forced: string | undefined): HookBackend {
  const v8Hooks = forced === "none" ? "ASYNCIO_TS_PROMISE_HOOKS=none" : tryV8();
  if (typeof v8Hooks === "function") return { kind: "v8", createHook: v8Hooks };
  if (hasAsyncLocalStorage()) return { kind: "als", why: v8Hooks };
  return { kind: "none", why: `${v8Hooks}, and node:async_hooks has no working AsyncLocalStorage` };
}

/** @internal the backend of this process, chosen once */
export const hookBackend: HookBackend = detectBackend(process.env["ASYNCIO_TS_PROMISE_HOOKS"]);
