/**
 * The error of the subprocess API: Python's builtin `ProcessLookupError`, raised by
 * `Process.sendSignal`/`terminate`/`kill` once the child is gone.
 *
 * @module
 */
export { ProcessLookupError } from "../core/index.js";
