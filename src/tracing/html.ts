/**
 * A self-contained HTML timeline of a trace: one lane per task and per executor worker, time on the x
 * axis, steps as bars, awaits as gaps labelled with what was awaited, printed lines as marks (hover for
 * the text; the transcript below lists them all).
 *
 * ## Approach
 * Static markup, positioned in percent of the time span, with inline CSS and a few lines of inline
 * script (only for the zoom slider): no network, no dependency, readable without JavaScript, and easy to
 * check in a browser test (every element carries `data-*` attributes naming what it shows). Steps on a
 * virtual clock take no time, so bars have a minimum width.
 *
 * Rejected alternative: drawing on a canvas from embedded JSON: smaller files for huge traces, but no
 * native tooltips, no text selection, and nothing a test can query.
 *
 * @module
 */
import { describe } from "../core/index.js";
import type { Trace, TaskTrace } from "./recorder.js";

/** Options of `renderHtmlTimeline`. */
export interface HtmlTimelineOptions {
  /** The page's title. Default "asyncio-ts timeline". */
  title?: string;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function fmtDur(ms: number): string {
  if (ms === 0) return "0 ms";
  if (Math.abs(ms) < 1) return `${+(ms * 1000).toFixed(0)} µs`;
  if (Math.abs(ms) >= 1000) return `${+(ms / 1000).toFixed(3)} s`;
  return `${+ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

/** Tick positions for an axis of `span` ms: 1, 2 or 5 times a power of ten, about 8 ticks. */
function ticks(span: number): number[] {
  if (span <= 0) return [0];
  const raw = span / 8;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let t = 0; t <= span + step * 1e-9; t += step) out.push(+t.toFixed(9));
  return out;
}

function axisLabel(t: number, span: number): string {
  if (span >= 2000) return `${+(t / 1000).toFixed(3)} s`;
  if (span < 2) return `${+(t * 1000).toFixed(0)} µs`;
  return `${+t.toFixed(3)} ms`;
}

const CSS = `
:root { --zoom: 1; --label-w: 260px; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
body { margin: 16px 20px; background: #fff; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 24px 0 6px; }
.meta { color: #59636e; font-size: 13px; margin: 0 0 10px; }
.controls { display: flex; gap: 18px; align-items: center; font-size: 12px; color: #59636e; margin-bottom: 8px; flex-wrap: wrap; }
.legend span { display: inline-flex; align-items: center; gap: 4px; margin-right: 12px; }
.sw { display: inline-block; width: 14px; height: 10px; border-radius: 2px; }
.timeline { overflow-x: auto; border: 1px solid #d1d9e0; border-radius: 6px; }
.inner { width: calc(100% * var(--zoom)); min-width: 100%; }
.row { display: flex; min-height: 30px; border-bottom: 1px solid #eef1f4; }
.row:last-child { border-bottom: 0; }
.label { flex: 0 0 var(--label-w); box-sizing: border-box; padding: 6px 8px; font-size: 12.5px; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; position: sticky; left: 0; background: #f6f8fa; z-index: 3; border-right: 1px solid #d1d9e0; }
.label small { color: #59636e; }
.label .tree { color: #8c959f; }
.row.worker .label { background: #fff8f0; }
.trackwrap { flex: 1 1 auto; padding: 0 40px 0 10px; }
.track { position: relative; height: 100%; min-height: 30px; }
.axis { position: sticky; top: 0; z-index: 4; background: #fff; }
.axis .track { height: 24px; min-height: 24px; }
.tick { position: absolute; top: 0; bottom: 0; border-left: 1px solid #d1d9e0; }
.tick span { position: absolute; top: 5px; left: 3px; font-size: 11px; color: #59636e; white-space: nowrap; }
.grid { position: absolute; top: 0; bottom: 0; border-left: 1px dashed #eef1f4; }
.life { position: absolute; top: 14px; height: 2px; background: #c9d1d9; }
.wait { position: absolute; top: 7px; height: 16px; box-sizing: border-box; border: 1px dashed #afb8c1; border-radius: 3px;
  background: #f6f8fa; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; font-size: 11px; line-height: 14px;
  padding: 0 4px; color: #424a53; min-width: 2px; }
.wait.open { border-right-style: none; }
.step { position: absolute; top: 5px; height: 20px; min-width: 3px; background: #2f81f7; border-radius: 2px; z-index: 1; }
.step:hover, .job:hover, .wait:hover { outline: 2px solid #fb8f44; }
.mark { position: absolute; top: 0; width: 0; height: 0; margin-left: -5px; border-left: 5px solid transparent;
  border-right: 5px solid transparent; border-top: 7px solid #bf3989; z-index: 2; cursor: help; }
.mark[data-count]:not([data-count="1"])::after { content: attr(data-count); position: absolute; top: -9px; left: 4px;
  font-size: 9px; color: #bf3989; }
.end { position: absolute; top: 6px; font-size: 13px; margin-left: -5px; z-index: 2; }
.end.finished { color: #1a7f37; } .end.cancelled { color: #cf222e; } .end.failed { color: #cf222e; font-weight: bold; }
.job { position: absolute; top: 5px; height: 20px; min-width: 3px; box-sizing: border-box; background: #fb8f44; border-radius: 3px;
  color: #fff; font-size: 11px; line-height: 20px; padding: 0 4px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.job.error { background: #cf222e; } .job.cancelled { background: #8c959f; }
table.transcript { border-collapse: collapse; font-size: 12.5px; }
table.transcript td, table.transcript th { padding: 2px 10px; border-bottom: 1px solid #eef1f4; text-align: left; }
table.transcript td.t { color: #59636e; text-align: right; font-variant-numeric: tabular-nums; }
table.transcript td.text { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre; }
`;

const SCRIPT = `
const z = document.getElementById("zoom"), tl = document.getElementById("timeline"), zv = document.getElementById("zoomv");
z.addEventListener("input", () => { tl.style.setProperty("--zoom", z.value); zv.textContent = z.value + "×"; });
`;

/**
 * Render a trace as a self-contained HTML page (inline CSS, no network): open it in any browser.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { run, sleep, createTask } from "asyncio-ts";
 * import { TraceRecorder, instrumentNewLoops, renderHtmlTimeline } from "asyncio-ts/tracing";
 * const rec = new TraceRecorder();
 * const stop = instrumentNewLoops(() => rec.instrument());
 * const restore = rec.captureConsole();
 * await run(async () => {
 *   await createTask(async () => { console.log("hi"); await sleep(100); }, { name: "greeter" });
 * }, { virtualTime: true });
 * restore(); stop();
 * writeFileSync(join(tmpdir(), "timeline.html"), renderHtmlTimeline(rec.trace(), { title: "greeter" }));
 * ```
 */
export function renderHtmlTimeline(trace: Trace, options: HtmlTimelineOptions = {}): string {
  if (trace === null || typeof trace !== "object" || !Array.isArray(trace.tasks)) {
    throw new TypeError(`Expected trace to be a Trace (from TraceRecorder.trace()), got ${describe(trace)}`);
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
  }
  const title = options.title ?? "asyncio-ts timeline";
  const span = Math.max(0, trace.end - trace.start);
  const pct = (t: number): number => (span <= 0 ? 0 : ((t - trace.start) / span) * 100);
  const pos = (a: number, b: number): string => `left:${pct(a).toFixed(4)}%;width:${Math.max(0, pct(b) - pct(a)).toFixed(4)}%`;
  const at = (t: number): string => `${fmtDur(t - trace.start)}`;
  const tickList = ticks(span);
  const grid = tickList.map((t) => `<div class="grid" style="left:${pct(trace.start + t).toFixed(4)}%"></div>`).join("");
  const byId = new Map<number, TaskTrace>(trace.tasks.map((t) => [t.id, t]));
  const depth = (t: TaskTrace): number => {
    let d = 0;
    for (let p = t.parent; p !== null && d < 20; p = byId.get(p)?.parent ?? null) d++;
    return d;
  };
  const workers = trace.workers ?? [];
  const clockText = trace.clock === "virtual" ? "virtual time" : "real time";
  const rows: string[] = [];
  rows.push(
    `<div class="row axis"><div class="label">time (${clockText})</div><div class="trackwrap"><div class="track">` +
      tickList.map((t) => `<div class="tick" style="left:${pct(trace.start + t).toFixed(4)}%"><span>${esc(axisLabel(t, span))}</span></div>`).join("") +
      `</div></div></div>`,
  );
  const marksByLane = new Map<number, Map<number, string[]>>();
  for (const m of trace.marks) {
    const lane = m.task !== null && byId.has(m.task) ? m.task : 0;
    let g = marksByLane.get(lane);
    if (g === undefined) marksByLane.set(lane, (g = new Map()));
    const lines = g.get(m.t);
    if (lines === undefined) g.set(m.t, [m.text]);
    else lines.push(m.text);
  }
  const markHtml = (lane: number): string => {
    const g = marksByLane.get(lane);
    if (g === undefined) return "";
    return [...g]
      .map(
        ([t, lines]) =>
          `<div class="mark" data-t="${t}" data-count="${lines.length}" style="left:${pct(t).toFixed(4)}%" title="${esc(
            `printed at ${at(t)}:\n${lines.join("\n")}`,
          )}"></div>`,
      )
      .join("");
  };
  for (const t of trace.tasks) {
    const d = depth(t);
    const name = t.fn && t.fn !== t.name ? `${esc(t.fn)} <small>${esc(t.name)}</small>` : esc(t.name);
    const end = t.done ?? trace.end;
    const parts: string[] = [grid, `<div class="life" style="${pos(t.created, end)}"></div>`];
    for (const w of t.waits) {
      const wEnd = w.end ?? trace.end;
      const tip = `${t.name} waits on ${w.label}\nfrom ${at(w.start)} to ${w.end === null ? "the end (still waiting)" : at(wEnd)}` +
        (w.woken !== null && w.woken !== undefined && w.end !== null && w.woken !== w.end ? `\n(woken at ${at(w.woken)})` : "");
      parts.push(
        `<div class="wait${w.end === null ? " open" : ""}" data-label="${esc(w.label)}" style="${pos(w.start, wEnd)}" title="${esc(tip)}"><span>${esc(w.label)}</span></div>`,
      );
    }
    t.steps.forEach(([s, e], i) => {
      parts.push(`<div class="step" data-step="${i + 1}" style="${pos(s, e)}" title="${esc(`${t.name} step ${i + 1}\nat ${at(s)}, ran ${fmtDur(e - s)}`)}"></div>`);
    });
    parts.push(markHtml(t.id));
    if (t.done !== null) {
      const sym = t.state === "finished" ? "✓" : t.state === "cancelled" ? "✕" : "✖";
      parts.push(`<div class="end ${t.state}" style="left:${pct(t.done).toFixed(4)}%" title="${esc(`${t.name} ${t.state} at ${at(t.done)}`)}">${sym}</div>`);
    }
    const tree = d > 0 ? `<span class="tree">${"\u00a0\u00a0".repeat(d - 1)}└\u00a0</span>` : "";
    rows.push(
      `<div class="row lane task" data-kind="task" data-id="${t.id}" data-name="${esc(t.name)}" data-fn="${esc(t.fn)}" data-state="${t.state}">` +
        `<div class="label" title="${esc(`${t.fn ? `${t.fn} ` : ""}${t.name}: created at ${at(t.created)}, ${t.state}${t.done !== null ? ` at ${at(t.done)}` : ""}`)}">${tree}${name}</div>` +
        `<div class="trackwrap"><div class="track">${parts.join("")}</div></div></div>`,
    );
  }
  if (marksByLane.has(0)) {
    rows.push(
      `<div class="row lane outside" data-kind="outside" data-name="(outside tasks)"><div class="label"><small>(printed outside tasks)</small></div>` +
        `<div class="trackwrap"><div class="track">${grid}${markHtml(0)}</div></div></div>`,
    );
  }
  for (const w of workers) {
    const jobs = w.jobs
      .filter((j) => j.start !== null)
      .map((j) => {
        const e = j.end ?? trace.end;
        const label = `${j.fn || "job"} #${j.id}`;
        const tip = `${label} on ${w.name}\nqueued at ${at(j.queued)}, ran ${at(j.start!)} to ${j.end === null ? "the end" : at(e)}` +
          (j.outcome !== null && j.outcome !== "ok" ? ` (${j.outcome})` : "");
        return `<div class="job ${j.outcome ?? "running"}" data-job="${j.id}" data-label="${esc(label)}" style="${pos(j.start!, e)}" title="${esc(tip)}">${esc(label)}</div>`;
      })
      .join("");
    rows.push(
      `<div class="row lane worker" data-kind="worker" data-name="${esc(w.name)}"><div class="label" title="${esc(`worker ${w.name} of ${w.executor}`)}">⚙ ${esc(w.name)}</div>` +
        `<div class="trackwrap"><div class="track">${grid}${jobs}</div></div></div>`,
    );
  }
  const nameOf = (id: number | null): string => {
    const t = id === null ? undefined : byId.get(id);
    return t === undefined ? "" : t.fn && t.fn !== t.name ? `${t.fn} (${t.name})` : t.name;
  };
  const transcript = trace.marks
    .map((m) => `<tr data-task="${esc(nameOf(m.task))}"><td class="t">${esc(at(m.t))}</td><td>${esc(nameOf(m.task))}</td><td class="text">${esc(m.text)}</td></tr>`)
    .join("");
  const meta = [
    `${trace.tasks.length} task${trace.tasks.length === 1 ? "" : "s"}`,
    workers.length > 0 ? `${workers.length} worker${workers.length === 1 ? "" : "s"}` : "",
    `${trace.marks.length} printed line${trace.marks.length === 1 ? "" : "s"}`,
    `${fmtDur(span)} of ${clockText}`,
    trace.dropped ? `${trace.dropped} more tasks not recorded` : "",
  ].filter((s) => s !== "");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">${esc(meta.join(" · "))}</p>
<div class="controls">
<label>zoom <input type="range" id="zoom" min="1" max="20" step="0.5" value="1"> <span id="zoomv">1×</span></label>
<span class="legend"><span><i class="sw" style="background:#2f81f7"></i>step (the task ran)</span><span><i class="sw" style="border:1px dashed #afb8c1;background:#f6f8fa"></i>await (labelled with what it waits on)</span><span><i class="sw" style="background:#bf3989;width:8px"></i>printed line (hover)</span>${
    workers.length > 0 ? `<span><i class="sw" style="background:#fb8f44"></i>executor job</span>` : ""
  }<span>✓ finished ✕ cancelled ✖ failed</span></span>
</div>
<div class="timeline" id="timeline" data-clock="${trace.clock}" data-start="${trace.start}" data-end="${trace.end}"><div class="inner">
${rows.join("\n")}
</div></div>
${trace.marks.length > 0 ? `<h2>Printed lines</h2>\n<table class="transcript"><thead><tr><th>time</th><th>task</th><th>line</th></tr></thead><tbody>${transcript}</tbody></table>` : ""}
<script>${SCRIPT}</script>
</body></html>
`;
}
