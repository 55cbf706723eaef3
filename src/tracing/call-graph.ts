/**
 * Call graphs (Python 3.14's `asyncio.capture_call_graph`, `format_call_graph`, `print_call_graph`):
 * what a task or future is doing, and the chain of tasks and futures waiting for it.
 *
 * ## Approach
 * A graph is read when asked for, from the loop's own state (nothing is recorded as tasks await): the
 * "awaited by" edges among the live tasks and what they wait on (`core/awaited-by.ts`: a task's pending
 * awaits, a gather's children, a shield's inner future, a task group's children, users' links), and each
 * task's frames (`core/stack.ts`: the caller's stack for the task that asks, where it awaits for the
 * others, recorded in debug mode). CPython's layout is kept, so that its users read it at once:
 *
 * ```text
 * * Task(name='worker', id=0x2)
 *   + Call stack:
 *   |   File '/app/main.ts', line 4, in async worker()
 *   + Awaited by:
 *       * Task(name='Task-1', id=0x1)
 * ```
 *
 * JavaScript has no `id()`: a future's id is a number given the first time a graph or dump shows it
 * (`describe.ts`).
 *
 * @module
 */
import {
  awaitedByEdges,
  awaitedByHints,
  callerFrames,
  contextTask,
  describe,
  Future,
  runningLoopOrNull,
  RuntimeError,
  siteFramesOf,
  Task,
  type StackFrame,
} from "../core/index.js";
import { futureId } from "./describe.js";

/** One frame of a call stack (CPython's `FrameCallGraphEntry`). */
export interface FrameCallGraphEntry {
  readonly frame: StackFrame;
}

/** A future or task, its call stack (newest frame first) and the graphs of what awaits it (CPython's `FutureCallGraph`). */
export interface FutureCallGraph {
  readonly future: Future<unknown>;
  readonly callStack: readonly FrameCallGraphEntry[];
  readonly awaitedBy: readonly FutureCallGraph[];
}

/** Options of `captureCallGraph` and `formatCallGraph`. */
export interface CallGraphOptions {
  /** For the current task: frames to skip from the top, the caller's being 1 (the default). */
  depth?: number;
  /**
   * Keep at most `|limit|` entries of each call stack: the ones closest to where the graph was taken if
   * positive, the outermost if negative; 0 shows only "awaited by". Default: all.
   */
  limit?: number;
}

/** Options of `printCallGraph`. */
export interface PrintCallGraphOptions extends CallGraphOptions {
  /** Where to write (anything with `write(text)`); default `process.stdout`, as CPython's `sys.stdout`. */
  file?: { write(text: string): unknown };
}

const KNOWN = ["depth", "limit"];
const KNOWN_PRINT = ["depth", "limit", "file"];

function checkCallGraphOptions(options: unknown, known: readonly string[], what: string): { depth: number; limit: number | undefined } {
  if (options === undefined) return { depth: 1, limit: undefined };
  if (options === null || typeof options !== "object") throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new TypeError(`Unknown option ${JSON.stringify(k)} for ${what} (known: ${known.join(", ")})`);
  }
  const { depth = 1, limit } = options as CallGraphOptions;
  if (typeof depth !== "number" || !Number.isInteger(depth) || depth < 0) {
    throw new TypeError(`Expected depth to be a non-negative integer, got ${describe(depth)}`);
  }
  if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit))) {
    throw new TypeError(`Expected limit to be an integer, got ${describe(limit)}`);
  }
  return { depth, limit };
}

function limitStack(frames: StackFrame[], limit: number | undefined): StackFrame[] {
  if (limit === undefined) return frames;
  if (limit === 0) return [];
  return limit > 0 ? frames.slice(0, limit) : frames.slice(limit);
}

function entries(frames: StackFrame[]): FrameCallGraphEntry[] {
  return frames.map((frame) => ({ frame }));
}

function buildGraph(
  future: Future<unknown>,
  limit: number | undefined,
  edges: Map<Future<unknown>, Future<unknown>[]>,
  path: Set<Future<unknown>>,
  ownStack: StackFrame[] | null,
): FutureCallGraph {
  const stack = ownStack ?? (future instanceof Task ? siteFramesOf(future as Task<unknown>) : []);
  const waiters = [...(edges.get(future) ?? [])];
  for (const h of awaitedByHints(future)) if (!waiters.includes(h)) waiters.push(h);
  path.add(future);
  // (a cycle is a deadlock; each future appears once on a path, so the graph stays finite)
  const awaitedBy = waiters.filter((w) => !path.has(w)).map((w) => buildGraph(w, limit, edges, path, null));
  path.delete(future);
  return { future, callStack: entries(limitStack(stack, limit)), awaitedBy };
}

function capture(future: Future<unknown> | null | undefined, depth: number, limit: number | undefined): FutureCallGraph | null {
  const loop = runningLoopOrNull();
  let target: Future<unknown> | null | undefined = future;
  if (target === undefined || target === null) {
    if (loop === null) {
      throw new RuntimeError(
        "captureCallGraph() was called outside a running event loop and no future to describe was given: " +
          "call it from a task, or pass the task or future",
      );
    }
    target = contextTask() ?? null;
    if (target === null) return null;
  } else if (!(target instanceof Future)) {
    throw new TypeError(`Expected future to be a Future or Task, got ${describe(target)}`);
  }
  const own = target === contextTask() && !target.done() ? ownFrames(depth) : null;
  const edges = awaitedByEdges(target._loop._tasks);
  return buildGraph(target, limit, edges, new Set(), own);
}

/**
 * Invariant: the frames of this module between the user's call and `callerFrames`: `ownFrames`,
 * `capture`, and the public function (`captureCallGraph`, `formatCallGraph` or `printCallGraph`). Counted,
 * not told by their file: in the bundled build this module shares its file with the rest of the index,
 * whose frames (a `timeout`'s, a task group's) show as they do from the sources.
 */
const OWN_FRAMES = 3;

/** The calling task's frames, newest first, from the caller of the public function on (`depth` 1). */
function ownFrames(depth: number): StackFrame[] {
  return callerFrames(OWN_FRAMES + Math.max(0, depth - 1));
}

/**
 * The call graph of `future` (a task or future; default: the current task): its call stack and, for each
 * task or future awaiting it, that one's graph. `null` when called from outside any task with no
 * `future`. For the current task the stack is the caller's (its async functions down to the caller);
 * for another task it is where it awaits, recorded in debug mode only (`run(main, { debug: true })`).
 *
 * @example
 * ```ts
 * import { run, taskGroup, captureCallGraph } from "asyncio-ts";
 * await run(async function main() {
 *   await taskGroup(async (tg) => {
 *     tg.createTask(async function test() {
 *       const g = captureCallGraph()!;
 *       console.log(g.callStack[0]?.frame.functionName); // "test"
 *       console.log((g.awaitedBy[0]?.future as { getName(): string }).getName()); // "Task-1"
 *     });
 *   });
 * });
 * ```
 */
export function captureCallGraph(future?: Future<unknown> | null, options?: CallGraphOptions): FutureCallGraph | null {
  const { depth, limit } = checkCallGraphOptions(options, KNOWN, "captureCallGraph()");
  return capture(future, depth, limit);
}

function renderLevel(g: FutureCallGraph, out: string[], level: number): void {
  const add = (line: string): void => void out.push("    ".repeat(level) + line);
  add(g.future instanceof Task ? `* Task(name='${g.future.getName()}', id=${futureId(g.future)})` : `* Future(id=${futureId(g.future)})`);
  if (g.callStack.length > 0) {
    add("  + Call stack:");
    for (const { frame: f } of g.callStack) {
      add(`  |   File '${f.fileName}', line ${f.lineNumber}, in ${f.isAsync ? "async " : ""}${f.functionName}()`);
    }
  }
  if (g.awaitedBy.length > 0) {
    add("  + Awaited by:");
    for (const w of g.awaitedBy) renderLevel(w, out, level + 1);
  }
}

/** The text of a graph from `captureCallGraph`. */
function render(g: FutureCallGraph | null): string {
  if (g === null) return "";
  const out: string[] = [];
  renderLevel(g, out, 0);
  return out.join("\n");
}

/**
 * `captureCallGraph(future, options)` as text, in CPython 3.14's layout ("" when there is no graph).
 *
 * @example
 * ```ts
 * import { run, formatCallGraph } from "asyncio-ts";
 * await run(async function main() {
 *   console.log(formatCallGraph());
 *   // * Task(name='Task-1', id=0x1)
 *   //   + Call stack:
 *   //   |   File '/path/to/example.ts', line 3, in main()
 * });
 * ```
 */
export function formatCallGraph(future?: Future<unknown> | null, options?: CallGraphOptions): string {
  const { depth, limit } = checkCallGraphOptions(options, KNOWN, "formatCallGraph()");
  return render(capture(future, depth, limit));
}

/**
 * Print `formatCallGraph(future, options)` and a newline to `options.file` (default `process.stdout`).
 *
 * @example
 * ```ts
 * import { run, printCallGraph } from "asyncio-ts";
 * await run(async function main() {
 *   printCallGraph();
 * });
 * ```
 */
export function printCallGraph(future?: Future<unknown> | null, options?: PrintCallGraphOptions): void {
  const { depth, limit } = checkCallGraphOptions(options, KNOWN_PRINT, "printCallGraph()");
  const file = (options as PrintCallGraphOptions | undefined)?.file ?? process.stdout;
  if (file === null || typeof file !== "object" || typeof (file as { write?: unknown }).write !== "function") {
    throw new TypeError(`Expected options.file to have a write(text) method (process.stdout), got ${describe(file)}`);
  }
  file.write(render(capture(future, depth, limit)) + "\n");
}
