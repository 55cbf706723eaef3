/**
 * A compact terminal timeline: one line per task, time across.
 *
 *   ●  a step ran (several steps in one column show once)
 *   ─  the task was waiting
 *   ✕  the task was cancelled (✖ failed) at that time
 *
 * @module
 */
import type { Trace } from "./recorder.js";

function fmt(ms: number): string {
  if (ms === 0) return "0";
  if (Math.abs(ms) >= 1000) return `${+(ms / 1000).toFixed(2)} s`;
  return `${+ms.toFixed(1)} ms`;
}

/**
 * Render a trace as text, `width` columns wide.
 *
 * @example
 * ```ts
 * import { renderTerminalTimeline } from "asyncio-ts/tracing";
 * console.log(renderTerminalTimeline({ clock: "virtual", start: 0, end: 100, marks: [], tasks: [
 *   { id: 1, name: "Task-1", fn: "main", created: 0, done: 100, state: "finished", steps: [[0, 0], [100, 100]], waits: [], parent: null },
 * ] }, { width: 40 }));
 * ```
 */
export function renderTerminalTimeline(trace: Trace, options: { width?: number } = {}): string {
  if (trace.tasks.length === 0) return "";
  const width = Math.max(40, options.width ?? 80);
  const labels = trace.tasks.map((t) => (t.fn ? `${t.fn} (${t.name})` : t.name));
  const labelW = Math.min(28, Math.max(...labels.map((l) => l.length)));
  const cols = Math.max(10, width - labelW - 3);
  const span = trace.end - trace.start;
  const col = (t: number): number => (span <= 0 ? 0 : Math.min(cols - 1, Math.round(((t - trace.start) / span) * (cols - 1))));
  const lines: string[] = [];
  const axis = Array<string>(cols).fill(" ");
  const put = (c: number, s: string): void => {
    for (let i = 0; i < s.length && c + i < cols; i++) axis[c + i] = s[i]!;
  };
  put(0, fmt(0));
  if (span > 0) {
    const endLabel = fmt(span);
    put(cols - endLabel.length, endLabel);
    const mid = fmt(span / 2);
    put(Math.floor(cols / 2) - Math.floor(mid.length / 2), mid);
  }
  lines.push(`${" ".repeat(labelW)}   ${axis.join("").trimEnd()}${trace.clock === "virtual" ? "  (virtual time)" : ""}`);
  trace.tasks.forEach((t, i) => {
    const row = Array<string>(cols).fill(" ");
    const from = col(t.created);
    const to = col(t.done ?? trace.end);
    for (let c = from; c <= to; c++) row[c] = "─";
    for (const [s] of t.steps) row[col(s)] = "●";
    if (t.state === "cancelled" && t.done !== null) row[col(t.done)] = "✕";
    if (t.state === "failed" && t.done !== null) row[col(t.done)] = "✖";
    const label = labels[i]!.length > labelW ? `${labels[i]!.slice(0, labelW - 1)}…` : labels[i]!.padEnd(labelW);
    lines.push(`${label}   ${row.join("").trimEnd()}`);
  });
  return lines.join("\n");
}
