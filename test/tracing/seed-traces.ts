/**
 * Test helper: run each of the seed's programs as the tour does (a notebook kernel on virtual time) with
 * a TraceRecorder, and what its timeline must show: one lane per task, the labels of its awaits, and
 * the lines each task printed.
 */
import { CELLS, Kernel, runCellNotebook, type Cell } from "../../src/cli/tour.js";
import { installTracer } from "../../src/tracing/hooks.js";
import { TraceRecorder, type Trace } from "../../src/tracing/recorder.js";

/** A task the timeline must show: its function name ("" for an arrow function), awaits, printed lines. */
export interface LaneSpec {
  fn: string;
  /** the labels of its awaits in order; "@fetchData" names the task whose function is fetchData */
  waits: string[];
  prints: string[];
}

const sleeps = (...ms: number[]): string[] => ms.map((m) => `sleep until ${m} ms`);

/** What each seed cell's timeline must show. */
export const EXPECTED: Record<string, LaneSpec[]> = {
  "In [3]": [{ fn: "main", waits: sleeps(1000), prints: ["abc", "text"] }],
  "In [8]": [
    { fn: "main", waits: [], prints: ["hello", "finished"] },
    { fn: "", waits: sleeps(1000), prints: ["text"] },
  ],
  "In [9]": [
    { fn: "main", waits: ["@"], prints: ["hello", "finished"] },
    { fn: "", waits: sleeps(1000), prints: ["text"] },
  ],
  "In [10]": [
    { fn: "main", waits: sleeps(2000), prints: ["hello", "finished"] },
    { fn: "", waits: sleeps(1000), prints: ["text"] },
  ],
  "In [12]": [
    { fn: "main", waits: sleeps(500), prints: ["hello", "finished"] },
    { fn: "", waits: sleeps(10_000), prints: ["text", "text"] },
  ],
  "In [13]": [
    { fn: "main", waits: [...sleeps(500), "@"], prints: ["hello", "finished"] },
    { fn: "", waits: sleeps(10_000), prints: ["text", "text"] },
  ],
  "In [22]": [
    { fn: "main", waits: ["@fetchData", "@printNumbers"], prints: ["{ data: 1 }"] },
    { fn: "fetchData", waits: sleeps(2000), prints: ["start fetching", "done fetching"] },
    { fn: "printNumbers", waits: sleeps(250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2250, 2500), prints: "0123456789".split("") },
  ],
};
EXPECTED["In [21]"] = EXPECTED["In [22]"]!;

/** The expected wait labels with task references resolved against the trace ("@": the other task). */
export function resolveWaits(spec: LaneSpec, trace: Trace): string[] {
  return spec.waits.map((w) => {
    if (!w.startsWith("@")) return w;
    const t = trace.tasks.find((x) => x.fn === w.slice(1))!;
    return t.fn ? `${t.fn} (${t.name})` : t.name;
  });
}

/** The cells whose programs exist (In [34] needs the executors). */
export async function seedCells(): Promise<Array<{ cell: Cell; main: () => Promise<void> }>> {
  const out: Array<{ cell: Cell; main: () => Promise<void> }> = [];
  for (const cell of CELLS) {
    if (EXPECTED[cell.id] === undefined) continue;
    out.push({ cell, main: (await cell.load()).main });
  }
  return out;
}

/** Run one cell on a virtual-time kernel with a recorder; printed lines become marks. */
export async function traceCell(main: () => Promise<void>): Promise<{ trace: Trace; lines: string[] }> {
  const kernel = new Kernel({ virtualTime: true });
  const rec = new TraceRecorder();
  const remove = installTracer(kernel.loop, rec.instrument());
  try {
    const r = await runCellNotebook(kernel, main, (text) => {
      for (const line of text.split("\n")) rec.mark(undefined, line);
    });
    const trace = rec.trace();
    trace.tasks = trace.tasks.filter((t) => t.fn !== "drainLeftovers"); // the kernel's own task
    return { trace, lines: r.lines.map((l) => l.text) };
  } finally {
    remove();
    kernel.close();
  }
}
