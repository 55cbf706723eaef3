/**
 * What a task's code is doing, as frames (CPython's `Task.get_stack()` / `print_stack()`, and the call
 * stacks of `captureCallGraph`).
 *
 * ## Approach
 * A suspended async function cannot be inspected from JavaScript: V8 keeps its frame, but no API reads
 * it (the inspector can, at the price of a debugger session in the process). So the frames come from
 * stacks captured where it is possible:
 * - a task running now: the stack of the caller, with V8's async frames (`at async main (...)`) for the
 *   async functions awaiting it in the same task, which is CPython's coroutine chain;
 * - a task suspended on one of our futures: the stack recorded when it registered that await, in debug
 *   mode (`current.ts`, "await sites"), the frames of the function at its `await` and its awaiters;
 * - a task that failed: the frames of its exception's stack (CPython's traceback);
 * - anything else (done, cancelled, not started, or not in debug mode): no frames.
 * Frames of the kernel itself (the loop, the task machinery, the hooks: `own-code.ts` tells them, also
 * inside somebody's bundle) and Node's internals are left out; frames of asyncio-ts's upper layers (`TaskGroup.run`, `gather`...) stay, as CPython shows
 * `TaskGroup.__aexit__`.
 *
 * Rejected alternatives: recording a stack at every await outside debug mode (debug mode, which does
 * it, makes an await of a sleep 9 to 12 times as costly: `node bench/debug-cost.mjs`, `bench/README.md`,
 * "Debug mode"); the
 * inspector protocol (`Debugger.paused` call frames), which needs the process to pause.
 *
 * @module
 */
const { readFileSync } = process.getBuiltinModule("node:fs");
import { captureSite, contextTask, recordingSites, type AwaitSite } from "./current.js";
import { ST_FINISHED, ST_HAS_EXCEPTION, ST_MASK, ST_PENDING } from "./future.js";
import { isKernelFrame, isLibraryFrame, parseFrame } from "./own-code.js";
import type { Task } from "./task.js";

/** One frame of a task's stack (newest last in `getStack()`, as CPython's frames). */
export interface StackFrame {
  /** The function's name (`main`, `Worker.run`), or `<anonymous>`. */
  functionName: string;
  /** The file: a path for files on disk, else as V8 names it. */
  fileName: string;
  /** 1-based line. */
  lineNumber: number;
  /** 1-based column. */
  columnNumber: number;
  /** True for a frame of an async function suspended in an `await` (V8's `at async ...`). */
  isAsync: boolean;
}

/**
 * The frames of a V8 stack (`err.stack`), newest first, without the kernel's and Node's own. @internal
 */
export function userFrames(stack: string | undefined, asyncFlags: readonly boolean[] | null = null): StackFrame[] {
  if (typeof stack !== "string") return [];
  const out: StackFrame[] = [];
  let n = -1;
  for (const line of stack.split("\n")) {
    if (/^\s*at /.test(line)) n++;
    const f = parseFrame(line);
    if (f === null || isKernelFrame(f.file, f.line)) continue;
    out.push({
      functionName: f.functionName ?? "<anonymous>",
      fileName: f.file,
      lineNumber: f.line,
      columnNumber: f.column,
      isAsync: f.isAsync || asyncFlags?.[n] === true,
    });
  }
  return out;
}

/**
 * The frames of an `Error` made for a site (its stack not read yet). A stack formatter installed by a
 * source-map tool (`Error.prepareStackTrace`: vitest's, `source-map-support`) maps positions back to
 * the sources but may drop V8's `async` marks: they are read from the call sites it is given. @internal
 */
export function framesOf(e: Error): StackFrame[] {
  const format = Error.prepareStackTrace;
  if (typeof format !== "function") return userFrames(e.stack);
  let flags: boolean[] | null = null;
  Error.prepareStackTrace = (err, sites) => {
    flags = sites.map((site) => site.isAsync());
    return format(err, sites) as unknown;
  };
  let text: string | undefined;
  try {
    text = e.stack;
  } finally {
    Error.prepareStackTrace = format;
  }
  return userFrames(text, flags);
}

/**
 * The frames of an await site (see `current.ts`): the direct caller's if the user's code called `then`
 * itself; else those of the promise whose job called it (an `await`, a `Promise.all`), which may have
 * gone through a primitive's own `then` (`await lock.acquire()`). @internal
 */
export function siteFrames(site: AwaitSite): StackFrame[] {
  const direct = framesOf(site.direct);
  if (site.job === null || direct.some((f) => !isLibraryFrame(f.fileName, f.lineNumber))) return direct;
  return framesOf(site.job);
}

/** The caller's frames, newest first, after skipping `skip` of them. @internal */
export function callerFrames(skip: number): StackFrame[] {
  return framesOf(captureSite()).slice(skip);
}

/** `limit` frames of `oldestFirst`: the newest ones if `newest`, else the oldest (CPython's rule). @internal */
export function limitFrames(oldestFirst: StackFrame[], limit: number | undefined, newest: boolean): StackFrame[] {
  if (limit === undefined || limit >= oldestFirst.length) return oldestFirst;
  if (limit <= 0) return [];
  return newest ? oldestFirst.slice(oldestFirst.length - limit) : oldestFirst.slice(0, limit);
}

/** `  File "path", line N, in name` and the source line, as CPython's `traceback.print_list`. @internal */
export function formatFrames(frames: readonly StackFrame[]): string {
  const files = new Map<string, string[] | null>();
  let out = "";
  for (const f of frames) {
    out += `  File "${f.fileName}", line ${f.lineNumber}, in ${f.functionName}\n`;
    let lines = files.get(f.fileName);
    if (lines === undefined) {
      lines = readLines(f.fileName);
      files.set(f.fileName, lines);
    }
    const src = lines?.[f.lineNumber - 1]?.trim();
    if (src) out += `    ${src}\n`;
  }
  return out;
}

function readLines(file: string): string[] | null {
  if (!file.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(file)) return null;
  try {
    return readFileSync(file, "utf8").split("\n");
  } catch {
    return null; // (a file that moved or is not readable: the frame is printed without its line)
  }
}

/** Options of `task.getStack()`. */
export interface GetStackOptions {
  /** At most this many frames: the newest of a stack, the oldest of a failed task's traceback (CPython's rule). */
  limit?: number;
}

/** Options of `task.printStack()`. */
export interface PrintStackOptions extends GetStackOptions {
  /** Where to write (anything with `write(text)`, as `process.stdout`); default `process.stderr`. */
  file?: { write(text: string): unknown };
}

/** `task.getStack()` (see the module comment), oldest frame first. @internal */
export function taskStack(task: Task<unknown>, limit: number | undefined): StackFrame[] {
  if (task._st === ST_PENDING) {
    if (contextTask() === task) return limitFrames(callerFrames(0).reverse(), limit, true);
    return limitFrames(siteFramesOf(task).reverse(), limit, true);
  }
  if ((task._st & ST_HAS_EXCEPTION) !== 0 && (task._st & ST_MASK) === ST_FINISHED) {
    const exc = task._value;
    return limitFrames(userFrames(exc instanceof Error ? exc.stack : undefined).reverse(), limit, false);
  }
  return [];
}

/** `task.printStack()`: CPython's `Task.print_stack()` text. @internal */
export function formatTaskStack(task: Task<unknown>, limit: number | undefined): string {
  const frames = taskStack(task, limit);
  const failed = (task._st & ST_HAS_EXCEPTION) !== 0 && (task._st & ST_MASK) === ST_FINISHED;
  const repr = task._repr();
  if (frames.length === 0) {
    const hint =
      task._st === ST_PENDING && task._stepNo > 0 && contextTask() !== task && !recordingSites()
        ? " (where a task waits is recorded in debug mode: run(main, { debug: true }) or ASYNCIO_TS_DEBUG=1)"
        : "";
    return `No stack for ${repr}${hint}\n`;
  }
  let out = `${failed ? "Traceback" : "Stack"} for ${repr} (most recent call last):\n` + formatFrames(frames);
  if (failed) {
    const exc = task._value;
    out += exc instanceof Error ? `${exc.name}: ${exc.message}\n` : `${String(exc)}\n`;
  }
  return out;
}

/** Where a pending task that is not running awaits (debug mode), newest frame first; else none. @internal */
export function siteFramesOf(task: Task<unknown>): StackFrame[] {
  const site = task._awaitSite;
  return task._st === ST_PENDING && site !== null && task._stepNo > 0 ? siteFrames(site) : [];
}
