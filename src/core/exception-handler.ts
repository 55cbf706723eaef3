/**
 * What a loop's exception handler receives, and the default handler (CPython's
 * `loop.default_exception_handler`): errors that have nowhere else to go (a callback that threw, a failure
 * nobody retrieved, a deadlock) are reported to `loop.callExceptionHandler`, which calls the handler set
 * with `setExceptionHandler` or this one.
 *
 * ## Approach
 * As CPython's: a context (a dict there, an object here) with a message and, when there is one, the
 * exception, the future or task, the handle; the default prints the message, the task or future, and the
 * exception's stack, to stderr (CPython logs them through `logging`, whose default also goes to stderr).
 *
 * @module
 */
import type { Future } from "./future.js";
import type { Handle } from "./handles.js";
import type { Task } from "./task.js";
import type { EventLoop } from "./event-loop.js";

/** What the exception handler receives (CPython's context dict). */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  future?: Future<unknown>;
  task?: Task<unknown>;
  handle?: Handle;
  [key: string]: unknown;
}

/** A loop's exception handler. */
export type ExceptionHandler = (loop: EventLoop, context: ExceptionContext) => void;

/**
 * Print an exception context the way CPython's default handler logs it.
 * @internal
 */
export function defaultExceptionHandler(context: ExceptionContext): void {
  const lines = [context.message];
  if (context.task !== undefined) lines.push(`task: ${context.task._repr()}`);
  else if (context.future !== undefined) lines.push(`future: ${context.future._repr()}`);
  else if (typeof context["name"] === "string") lines.push(`task: ${context["name"]}`);
  const exc = context.exception;
  if (exc !== undefined) {
    lines.push(exc instanceof Error ? (exc.stack ?? `${exc.name}: ${exc.message}`) : String(exc));
  }
  console.error(lines.join("\n"));
}
