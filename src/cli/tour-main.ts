/**
 * The tour's presentation: cell code, live output with an elapsed-time display, notes, timelines.
 *
 * @module
 */
import { BEYOND, CELLS, Kernel, NOTES, cellSource, runCellNotebook, runCellScript, type Cell, type CellRun } from "./tour.js";
import { TraceRecorder } from "../tracing/recorder.js";
import { renderTerminalTimeline } from "../tracing/terminal.js";
import { installTracer } from "../tracing/hooks.js";

/** Options of the tour. */
export interface TourOptions {
  fast: boolean;
  cell?: string;
  timeline: boolean;
}

const tty = process.stdout.isTTY === true;
const dim = (s: string): string => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[0m` : s);

/** A live "elapsed" status line on a terminal; nothing when stdout is not a terminal. */
class Elapsed {
  private timer: ReturnType<typeof setInterval> | null = null;
  private start = 0;
  private shown = false;
  begin(): void {
    this.start = performance.now();
    if (!tty) return;
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }
  private draw(): void {
    const s = ((performance.now() - this.start) / 1000).toFixed(1);
    process.stdout.write(`\r${dim(`  ⏱ ${s} s`)}\x1b[K`);
    this.shown = true;
  }
  /** Clear the status line before a line of output. */
  clear(): void {
    if (this.shown) {
      process.stdout.write("\r\x1b[K");
      this.shown = false;
    }
  }
  end(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }
}

function printCode(src: string): void {
  for (const line of src.split("\n")) process.stdout.write(`${dim("│")} ${line}\n`);
}

async function loadCell(cell: Cell): Promise<Awaited<ReturnType<Cell["load"]>> | null> {
  try {
    return await cell.load();
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_MODULE_NOT_FOUND") return null;
    throw e;
  }
}

/** Run the tour; returns the process exit code. */
export async function runTour(options: TourOptions): Promise<number> {
  const all = [...CELLS, ...BEYOND];
  const want = options.cell?.toLowerCase();
  const cells = want === undefined ? all : all.filter((c) => c.id === `In [${want}]` || c.id.toLowerCase() === want);
  if (cells.length === 0) {
    process.stderr.write(`aio tour: there is no cell ${options.cell}; cells: ${all.map((c) => c.id).join(", ")}\n`);
    return 2;
  }
  const clock = options.fast ? "virtual time (--fast): instant, CPython's exact timer order" : "the real clock, like the notebook";
  process.stdout.write(
    `${bold("asyncio-ts tour")}: the seed notebook's programs in TypeScript, on ${clock}.\n` +
      `Each cell runs on one loop that keeps running between cells, like a notebook kernel's.\n\n`,
  );
  const kernel = new Kernel({ virtualTime: options.fast });
  const tourStart = performance.now();
  try {
    for (const cell of cells) {
      if (cell === BEYOND[0]) {
        process.stdout.write(`${bold("Beyond the seed")}: I/O that can be cancelled: sockets and processes, under the same timeouts.\n\n`);
      }
      process.stdout.write(`${bold(cell.id)}: ${cell.title}\n`);
      const mod = await loadCell(cell);
      const src = cellSource(cell);
      if (mod === null || src === null) {
        process.stdout.write(`  (this cell needs the executors, which are not built yet: skipped)\n\n`);
        continue;
      }
      printCode(src);
      process.stdout.write("\n");
      const recorder = options.timeline ? new TraceRecorder() : null;
      // on virtual time, a cell whose work runs on worker threads takes no virtual time: draw it on the real clock
      const realRecorder = options.timeline && options.fast ? new TraceRecorder({ time: "real" }) : null;
      const uninstall = recorder
        ? installTracer(kernel.loop, recorder.instrument(), ...(realRecorder ? [realRecorder.instrument()] : []))
        : null;
      const elapsed = new Elapsed();
      elapsed.begin();
      let result: CellRun;
      const startTime = kernel.loop.time();
      try {
        result = await runCellNotebook(kernel, mod.main, (text) => {
          elapsed.clear();
          recorder?.mark(kernel.loop.time(), text);
          realRecorder?.mark(undefined, text);
          process.stdout.write(`${text}\n`);
        });
      } finally {
        elapsed.end();
        uninstall?.();
      }
      const took = options.fast
        ? `${fmtMs(result.endTime - startTime)} of virtual time, ${fmtMs(result.wallMs)} of real time`
        : fmtMs(result.wallMs);
      process.stdout.write(dim(`  (${took})\n`));
      if (recorder) {
        let trace = recorder.trace();
        const real = realRecorder?.trace();
        // (a cell whose time is spent in workers or child processes takes no virtual time: show the real clock's)
        if (real !== undefined && trace.end === trace.start && ((real.workers ?? []).length > 0 || cell.dir === "beyond")) trace = real;
        trace.tasks = trace.tasks.filter((t) => t.fn !== "drainLeftovers"); // the kernel's own idle task
        const text = renderTerminalTimeline(trace, { width: Math.min(process.stdout.columns ?? 80, 100) - 2 });
        if (text) process.stdout.write(`\n${text}\n`);
      }
      const note = NOTES[cell.id];
      const text = options.fast ? (note?.fast ?? note?.notebook) : note?.notebook;
      if (text !== undefined) process.stdout.write(`\n${dim(text)}\n`);
      if (cell.id === "In [12]") {
        const script = await runCellScript(mod.main, true);
        process.stdout.write(dim("  $ node dist/examples/seed/in12.js    (run(main) on virtual time)\n"));
        for (const l of script.lines) process.stdout.write(`  ${l.text}\n`);
        process.stdout.write(dim("  (foo was cancelled during its 10 s sleep when main returned at 500 ms)\n"));
      }
      process.stdout.write("\n");
    }
  } finally {
    kernel.close();
  }
  process.stdout.write(dim(`Tour done in ${fmtMs(performance.now() - tourStart)}.\n`));
  return 0;
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}
