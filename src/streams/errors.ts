/**
 * The errors of the streams API: CPython's `asyncio.IncompleteReadError` and `asyncio.LimitOverrunError`,
 * and the `ConnectionResetError` that `drain()` raises when the connection is gone.
 *
 * @module
 */
export { ConnectionResetError, IncompleteReadError, LimitOverrunError } from "../core/index.js";
