/**
 * A compact terminal timeline: a line per task (time across), and under it the lines the task printed,
 * placed at the time they were printed. Waits are labelled inline with what was awaited when they are
 * wide enough.
 *
 *   ●  a step ran (several steps in one column show once)
 *   ─  the task was waiting
 *   ✕  the task was cancelled (✖ failed) at that time
 *   ┣━━  an executor worker ran a job (┣ where each job started)
 *
 * @module
 */
import { describe } from "../core/index.js";
import type { Trace } from "./recorder.js";

function fmt(ms: number): string {
  if (ms === 0) return "0";
  if (Math.abs(ms) >= 1000) return `${+(ms / 1000).toFixed(2)} s`;
  return `${+ms.toFixed(1)} ms`;
}

/** Options of `renderTerminalTimeline`. */
export interface TerminalTimelineOptions {
  /** Total width in columns (at least 40). Default 80. */
  width?: number;
  /** Print each task's lines under its lane. Default true. */
  marks?: boolean;
}

/**
 * Render a trace as text, `width` columns wide.
 *
 * @example
 * ```ts
 * import { renderTerminalTimeline } from "asyncio-ts/tracing";
 * console.log(renderTerminalTimeline({ clock: "virtual", start: 0, end: 100, marks: [{ t: 100, text: "done", task: 1 }], tasks: [
 *   { id: 1, name: "Task-1", fn: "main", created: 0, done: 100, state: "finished", steps: [[0, 0], [100, 100]],
 *     waits: [{ start: 0, end: 100, label: "sleep until 100 ms" }], parent: null },
 * ] }, { width: 60 }));
 * ```
 */
export function renderTerminalTimeline(trace: Trace, options: TerminalTimelineOptions = {}): string {
  if (trace === null || typeof trace !== "object" || !Array.isArray(trace.tasks)) {
    throw new TypeError(`Expected trace to be a Trace (from TraceRecorder.trace()), got ${describe(trace)}`);
  }
  const workers = trace.workers ?? [];
  if (trace.tasks.length === 0 && workers.length === 0) return "";
  const width = Math.max(40, options.width ?? 80);
  const showMarks = options.marks ?? true;
  const labels = [...trace.tasks.map((t) => (t.fn && t.fn !== t.name ? `${t.fn} (${t.name})` : t.name)), ...workers.map((w) => w.name)];
  const labelW = Math.min(28, Math.max(...labels.map((l) => l.length)));
  const cols = Math.max(10, width - labelW - 3);
  const span = trace.end - trace.start;
  const col = (t: number): number => (span <= 0 ? 0 : Math.min(cols - 1, Math.round(((t - trace.start) / span) * (cols - 1))));
  const lines: string[] = [];
  const axis = Array<string>(cols).fill(" ");
  const put = (row: string[], c: number, s: string): void => {
    for (let i = 0; i < s.length && c + i < cols; i++) row[c + i] = s[i]!;
  };
  put(axis, 0, fmt(0));
  if (span > 0) {
    const endLabel = fmt(span);
    put(axis, cols - endLabel.length, endLabel);
    const mid = fmt(span / 2);
    put(axis, Math.floor(cols / 2) - Math.floor(mid.length / 2), mid);
  }
  const pad = (l: string): string => (l.length > labelW ? `${l.slice(0, labelW - 1)}…` : l.padEnd(labelW));
  lines.push(`${" ".repeat(labelW)}   ${axis.join("").trimEnd()}${trace.clock === "virtual" ? "  (virtual time)" : ""}`);
  trace.tasks.forEach((t, i) => {
    const row = Array<string>(cols).fill(" ");
    const from = col(t.created);
    const to = col(t.done ?? trace.end);
    for (let c = from; c <= to; c++) row[c] = "─";
    for (const w of t.waits) {
      // " label " inside the wait, after its first column, when it fits
      const a = col(w.start) + 2;
      const b = col(w.end ?? trace.end) - 2;
      const room = b - a;
      if (room >= 6) {
        const text = w.label.length + 2 <= room ? w.label : `${w.label.slice(0, Math.max(1, room - 3))}…`;
        put(row, a, ` ${text} `);
      }
    }
    for (const [s] of t.steps) row[col(s)] = "●";
    if (t.state === "cancelled" && t.done !== null) row[col(t.done)] = "✕";
    if (t.state === "failed" && t.done !== null) row[col(t.done)] = "✖";
    lines.push(`${pad(labels[i]!)}   ${row.join("").trimEnd()}`);
    if (showMarks) {
      const mine = trace.marks.filter((m) => m.task === t.id);
      if (mine.length > 0) {
        const mrow = Array<string>(cols).fill(" ");
        let free = 0; // first column not yet written
        for (const m of mine) {
          const c = Math.max(free, Math.min(col(m.t), cols - (m.text === "" ? 1 : m.text.length)));
          if (c >= cols) break;
          const text = m.text === "" ? "⏎" : m.text;
          put(mrow, c, text);
          free = c + text.length + 2;
        }
        lines.push(`${" ".repeat(labelW)}   ${mrow.join("").trimEnd()}`);
      }
    }
  });
  workers.forEach((w, i) => {
    const row = Array<string>(cols).fill(" ");
    for (const j of w.jobs) {
      if (j.start === null) continue;
      const a = col(j.start);
      const b = col(j.end ?? trace.end);
      for (let c = a; c <= b; c++) row[c] = "━";
      row[a] = "┣"; // where each job starts
      const label = `${j.fn || "job"} #${j.id}`;
      if (b - a - 1 >= label.length + 2) put(row, a + 1, ` ${label} `);
    }
    lines.push(`${pad(labels[trace.tasks.length + i]!)}   ${row.join("").trimEnd()}`);
  });
  return lines.join("\n");
}
