/**
 * `asyncio-ts/tracing`: see what ran when.
 *
 * - `installTracer(loop, ...instruments)`, `instrumentNewLoops(factory)`: the instrumentation hooks.
 * - `TraceRecorder`: records tasks, steps, awaits, executor jobs and printed lines.
 * - `renderTerminalTimeline`, `renderHtmlTimeline`, `toChromeTrace`: pictures of a trace.
 * - `dumpTasks()`: every live task as a tree, with what it waits on.
 *
 * @module
 */
export {
  installTracer,
  instrumentNewLoops,
  type ExecutorJob,
  type ExecutorJobOutcome,
  type Instrument,
  type InstrumentFactory,
  type Tracer,
} from "./hooks.js";
export {
  TraceRecorder,
  type Trace,
  type TaskTrace,
  type Mark,
  type JobTrace,
  type WorkerTrace,
  type TraceRecorderOptions,
} from "./recorder.js";
export { renderTerminalTimeline, type TerminalTimelineOptions } from "./terminal.js";
export { renderHtmlTimeline, type HtmlTimelineOptions } from "./html.js";
export { toChromeTrace, type ChromeTrace, type ChromeTraceEvent } from "./chrome.js";
export { dumpTasks, type DumpOptions, type LoopDump, type TaskDump, type TaskInfo, type TaskActivity } from "./dump.js";
