/**
 * The diagnostics a loop is given by the runner (`Diagnostics` in `src/core/instruments.ts`): the task dump
 * of a deadlock report, and debug mode's monitor. The kernel calls them; it does not know this module.
 *
 * @module
 */
import type { Diagnostics } from "../core/index.js";
import { dumpTasks } from "./dump.js";
import { startDebugMonitor } from "./debug.js";

/** Tasks a deadlock report lists (the rest are counted). */
const DEADLOCK_REPORT_TASKS = 100;

/** The task dump and debug monitor, as one instrument. @internal */
export const taskDiagnostics: Diagnostics = {
  deadlockReport: (loop, reason) => dumpTasks({ loop, reason, print: false, maxTasks: DEADLOCK_REPORT_TASKS }).text,
  startMonitor: startDebugMonitor,
};
