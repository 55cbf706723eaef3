/**
 * Export a trace in the Chrome Trace Event format, which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open.
 *
 * ## Approach
 * One process ("asyncio-ts event loop") with one thread track per task, named after the task and
 * sorted in creation order; steps and awaits are complete events (`ph: "X"`) on that track, one after
 * the other, so they never overlap; printed lines are thread-scoped instant events (`ph: "i"`).
 * Executor workers are a second process with one track per worker. Times are microseconds from the
 * trace's start (the format's unit); `displayTimeUnit` is ms.
 *
 * @module
 */
import { describe } from "../core/index.js";
import type { Trace } from "./recorder.js";

/** One event of the Chrome Trace Event format. */
export interface ChromeTraceEvent {
  name: string;
  ph: "X" | "i" | "M";
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  s?: "t" | "p" | "g";
  args?: Record<string, unknown>;
}

/** A Chrome trace file's content (JSON object format). */
export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: "ms";
  otherData: Record<string, unknown>;
}

const LOOP_PID = 1;
const WORKERS_PID = 2;

/**
 * Convert a recorded trace to the Chrome Trace Event format; write it with `JSON.stringify` and open
 * the file in https://ui.perfetto.dev or chrome://tracing.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { run, sleep, createTask } from "asyncio-ts";
 * import { TraceRecorder, instrumentNewLoops, toChromeTrace } from "asyncio-ts/tracing";
 * const rec = new TraceRecorder();
 * const stop = instrumentNewLoops(() => rec.instrument());
 * await run(async () => { await createTask(() => sleep(100), { name: "napper" }); }, { virtualTime: true });
 * stop();
 * writeFileSync(join(tmpdir(), "trace.json"), JSON.stringify(toChromeTrace(rec.trace())));
 * ```
 */
export function toChromeTrace(trace: Trace): ChromeTrace {
  if (trace === null || typeof trace !== "object" || !Array.isArray(trace.tasks)) {
    throw new TypeError(`Expected trace to be a Trace (from TraceRecorder.trace()), got ${describe(trace)}`);
  }
  const us = (t: number): number => Math.round((t - trace.start) * 1000 * 1000) / 1000;
  const ev: ChromeTraceEvent[] = [];
  const clock = trace.clock === "virtual" ? "virtual time" : "real time";
  ev.push({ name: "process_name", ph: "M", pid: LOOP_PID, tid: 0, args: { name: `asyncio-ts event loop (${clock})` } });
  ev.push({ name: "process_sort_index", ph: "M", pid: LOOP_PID, tid: 0, args: { sort_index: 1 } });
  for (const t of trace.tasks) {
    const title = t.fn && t.fn !== t.name ? `${t.fn} (${t.name})` : t.name;
    ev.push({ name: "thread_name", ph: "M", pid: LOOP_PID, tid: t.id, args: { name: title } });
    ev.push({ name: "thread_sort_index", ph: "M", pid: LOOP_PID, tid: t.id, args: { sort_index: t.id } });
    t.steps.forEach(([s, e], i) => {
      ev.push({ name: `step ${i + 1}`, cat: "step", ph: "X", pid: LOOP_PID, tid: t.id, ts: us(s), dur: us(e) - us(s), args: { task: t.name } });
    });
    for (const w of t.waits) {
      const end = w.end ?? trace.end;
      ev.push({
        name: `await ${w.label}`,
        cat: "await",
        ph: "X",
        pid: LOOP_PID,
        tid: t.id,
        ts: us(w.start),
        dur: us(end) - us(w.start),
        args: { awaited: w.label, woken: w.woken ?? null, pending: w.end === null },
      });
    }
    if (t.done !== null) {
      ev.push({ name: t.state, cat: "task", ph: "i", s: "t", pid: LOOP_PID, tid: t.id, ts: us(t.done), args: { state: t.state } });
    }
  }
  const hasOutside = trace.marks.some((m) => m.task === null);
  if (hasOutside) ev.push({ name: "thread_name", ph: "M", pid: LOOP_PID, tid: 0, args: { name: "(outside tasks)" } });
  for (const m of trace.marks) {
    ev.push({ name: m.text === "" ? "(empty line)" : m.text, cat: "print", ph: "i", s: "t", pid: LOOP_PID, tid: m.task ?? 0, ts: us(m.t), args: { printed: m.text } });
  }
  const workers = trace.workers ?? [];
  if (workers.length > 0) {
    ev.push({ name: "process_name", ph: "M", pid: WORKERS_PID, tid: 0, args: { name: "executor workers" } });
    ev.push({ name: "process_sort_index", ph: "M", pid: WORKERS_PID, tid: 0, args: { sort_index: 2 } });
    workers.forEach((w, i) => {
      ev.push({ name: "thread_name", ph: "M", pid: WORKERS_PID, tid: i + 1, args: { name: w.name } });
      for (const j of w.jobs) {
        if (j.start === null) continue;
        const end = j.end ?? trace.end;
        ev.push({
          name: `${j.fn || "job"} #${j.id}`,
          cat: "executor",
          ph: "X",
          pid: WORKERS_PID,
          tid: i + 1,
          ts: us(j.start),
          dur: us(end) - us(j.start),
          args: { executor: j.executor, queued: j.queued, outcome: j.outcome, task: j.task },
        });
      }
    });
  }
  return { traceEvents: ev, displayTimeUnit: "ms", otherData: { clock: trace.clock, producer: "asyncio-ts", dropped: trace.dropped ?? 0 } };
}
