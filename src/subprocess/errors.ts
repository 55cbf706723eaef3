/**
 * The error of the subprocess API: Python's builtin `ProcessLookupError`, raised by
 * `Process.sendSignal`/`terminate`/`kill` once the child is gone.
 *
 * @module
 */
import { AsyncioError } from "../core/index.js";

/**
 * The process a signal was sent to is gone: it exited and its pipes closed (CPython's
 * `ProcessLookupError`, an `OSError` for `ESRCH`). `code` is `"ESRCH"`, as Node's own error of that kind.
 *
 * @example
 * ```ts
 * import { createSubprocessExec, ProcessLookupError, run } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessExec(process.execPath, ["-e", ""]);
 *   await proc.wait();
 *   try {
 *     proc.kill();
 *   } catch (e) {
 *     if (e instanceof ProcessLookupError) console.log(e.code); // ESRCH
 *   }
 * });
 * ```
 */
export class ProcessLookupError extends AsyncioError {
  readonly code = "ESRCH";
}
