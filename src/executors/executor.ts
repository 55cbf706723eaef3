/**
 * The two ways to name the function a worker runs (the `Executor` interface itself is the kernel's,
 * `src/core/executor.ts`: the loop's `runInExecutor` needs it).
 *
 * ## Task functions
 * A worker is another JavaScript realm: a closure cannot cross over. A task function is either
 * - a reference to an exported function of a module, `moduleFunction(url, fn)`: the worker imports the
 *   module and calls the export. It is typed from the function, works for any code (imports, state),
 *   and for `.ts` modules (see `resolve.ts`); or
 * - a self-contained inline function, sent as its source text and compiled once per worker. It may use
 *   its arguments, globals and the worker API names (`sleepSync`, `currentThread`, `taskSignal`,
 *   `throwIfCancelled`, `callLoop`, `callLoopSync`), which are in scope. A variable of its outer scope does not exist in the worker:
 *   calling it fails with an error that says so.
 *
 * Rejected: serializing closures by capturing their scope (impossible in JavaScript without a
 * debugger protocol); a separate worker file per task (the complaint this design answers).
 *
 * @module
 */
import { describe, MODULE_FN, type ModuleFunction } from "../core/index.js";
import type { FnSpec } from "./protocol.js";
import { resolveModuleUrl } from "./resolve.js";

export type {
  Executor,
  ExecutorStatistics,
  MapOptions,
  ModuleFunction,
  ShutdownOptions,
  SubmitOptions,
  WorkerFunction,
} from "../core/index.js";

/**
 * Name an exported function of a module so that a worker can run it. Pass the function itself (typed,
 * and its name is the export's name) or the export's name and the type as a type argument.
 *
 * @param moduleUrl the module's URL, usually `import.meta.url` (the calling module) or
 *   `new URL("./work.js", import.meta.url)`; a `file:` URL or an absolute path
 * @param fn the exported function, or the export's name
 * @example
 * ```ts
 * import { ThreadPoolExecutor, moduleFunction } from "asyncio-ts";
 * import { isMainThread } from "node:worker_threads";
 * export function fib(n: number): number { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
 * if (isMainThread) { // the worker imports this module too: only the main thread runs the pool
 *   await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
 *   const fibRef = moduleFunction(import.meta.url, fib);
 *   console.log(await pool.submit(fibRef, 20)); // 6765
 * }
 * ```
 */
export function moduleFunction<F extends (...args: any[]) => any>(moduleUrl: string | URL, fn: F | string): ModuleFunction<F> {
  let url: string;
  if (moduleUrl instanceof URL) url = moduleUrl.href;
  else if (typeof moduleUrl === "string" && moduleUrl.length > 0) {
    url = moduleUrl.startsWith("/") ? new URL(`file://${moduleUrl}`).href : moduleUrl;
  } else {
    throw new TypeError(`Expected moduleUrl to be a URL or a non-empty string, got ${describe(moduleUrl)}`);
  }
  if (!url.startsWith("file:") && !url.startsWith("data:")) {
    throw new TypeError(`Expected moduleUrl to be a file: URL or an absolute path, got ${describe(moduleUrl)}`);
  }
  let name: string;
  if (typeof fn === "function") {
    if (!fn.name) throw new TypeError("Expected fn to be a named function (its name is the export's name), got an anonymous function");
    name = fn.name;
  } else if (typeof fn === "string" && fn.length > 0) {
    name = fn;
  } else {
    throw new TypeError(`Expected fn to be a function or an export name, got ${describe(fn)}`);
  }
  return Object.freeze({ url, name, [MODULE_FN]: true as const }) as ModuleFunction<F>;
}

/** True for a `moduleFunction()` reference. @internal */
export function isModuleFunction(x: unknown): x is ModuleFunction<(...args: any[]) => any> {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[MODULE_FN] === true;
}

const specCache = new WeakMap<object, FnSpec>();

/**
 * The wire spec of a task function; validates it. Cached per function object. @internal
 * @param argName the argument's name in error messages
 */
export function fnSpecOf(fn: unknown, argName = "fn"): FnSpec {
  if ((typeof fn !== "function" && (typeof fn !== "object" || fn === null))) {
    throw new TypeError(`Expected ${argName} to be a function or a moduleFunction() reference, got ${describe(fn)}`);
  }
  const cached = specCache.get(fn);
  if (cached !== undefined) return cached;
  let spec: FnSpec;
  if (isModuleFunction(fn)) {
    spec = { kind: "module", url: resolveModuleUrl(fn.url), name: fn.name };
  } else if (typeof fn === "function") {
    spec = { kind: "source", source: sourceOf(fn as (...a: unknown[]) => unknown, argName), name: fn.name || "anonymous" };
  } else {
    throw new TypeError(`Expected ${argName} to be a function or a moduleFunction() reference, got ${describe(fn)}`);
  }
  specCache.set(fn, spec);
  return spec;
}

/** The source of an inline function as an expression; rejects what cannot be sent. */
function sourceOf(fn: (...a: unknown[]) => unknown, argName: string): string {
  let src = Function.prototype.toString.call(fn);
  const label = fn.name ? `${fn.name}` : "an anonymous function";
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    throw new TypeError(
      `Cannot send ${argName} (${label}) to a worker: it is a native or bound function. ` +
        "Pass a self-contained function, or export it from a module and use moduleFunction()",
    );
  }
  if (/^class\b/.test(src)) throw new TypeError(`Expected ${argName} to be a function, got a class (${label})`);
  // A method written in shorthand (`name(x) { ... }`, `async name() {}`) is not an expression: make it one.
  if (!/^(async\s+)?(function\b|\(|[A-Za-z_$][\w$]*\s*=>)/.test(src)) {
    src = `({ ${src} })[${JSON.stringify(fn.name)}]`;
  }
  try {
    new Function(`return (${src});`);
  } catch (e) {
    throw new TypeError(`Cannot send ${argName} (${label}) to a worker: its source does not compile on its own (${String(e)})`);
  }
  return src;
}
