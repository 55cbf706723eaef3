/**
 * `asyncio-ts/tracing`: see what ran when.
 *
 * @module
 */
export { installTracer, type Instrument, type Tracer } from "./hooks.js";
export { TraceRecorder, type Trace, type TaskTrace, type Mark } from "./recorder.js";
export { renderTerminalTimeline } from "./terminal.js";
