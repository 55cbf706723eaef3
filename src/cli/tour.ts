/**
 * The tour: the seed notebook's programs, run on asyncio-ts, printed as they happen.
 *
 * Each cell is a program in `examples/seed/` exporting `main`. The tour runs it the way the notebook
 * did: on one "kernel" loop that keeps running between cells (Jupyter's loop with nest_asyncio), so a
 * task that a cell started and did not await goes on printing after `main` returns (In [12]). With
 * `--fast` the same programs run on virtual time. For In [12] the tour also shows what `run()` prints in
 * a script, where leftover tasks are cancelled.
 *
 * `runCell` is what the tests use too: it returns every printed line with its loop time.
 *
 * @module
 */
const { existsSync, readFileSync } = process.getBuiltinModule("node:fs");
const { dirname, join } = process.getBuiltinModule("node:path");
const { fileURLToPath } = process.getBuiltinModule("node:url");
const { format } = process.getBuiltinModule("node:util");
import { allTasks, currentTask, EventLoop, runningLoopOrNull } from "../core/index.js";
import { run } from "../runner/runner.js";
import { setEventLoop } from "../runner/loops.js";
import { wait } from "../combinators/wait.js";

/** One cell of the seed notebook. */
export interface Cell {
  /** "In [22]" */
  id: string;
  /** file name in examples/seed (or `dir`), without extension */
  file: string;
  /** the folder of examples/ it is in (default "seed") */
  dir?: "seed" | "beyond";
  /** what the notebook's text before the cell says, in one line */
  title: string;
  load(): Promise<{ main: () => Promise<void>; entry: "run" | "loop" }>;
}

/** The seed's cells, in notebook order. */
export const CELLS: Cell[] = [
  { id: "In [3]", file: "in03", title: "a coroutine awaited inline, run on the event loop", load: () => import("../../examples/seed/in03.js") },
  { id: "In [8]", file: "in08", title: "createTask schedules a task; main goes on first", load: () => import("../../examples/seed/in08.js") },
  { id: "In [9]", file: "in09", title: "await the task before printing", load: () => import("../../examples/seed/in09.js") },
  { id: "In [10]", file: "in10", title: "main sleeps longer than the task", load: () => import("../../examples/seed/in10.js") },
  { id: "In [12]", file: "in12", title: "main returns while the task still sleeps", load: () => import("../../examples/seed/in12.js") },
  { id: "In [13]", file: "in13", title: "main awaits the sleeping task", load: () => import("../../examples/seed/in13.js") },
  { id: "In [22]", file: "in22", title: "two tasks, a timer tie at 2 s", load: () => import("../../examples/seed/in22.js") },
  { id: "In [21]", file: "in21", title: "the same with loop.runUntilComplete", load: () => import("../../examples/seed/in21.js") },
  {
    id: "In [34]",
    file: "in34",
    title: "20 blocking tasks on a pool of 4 worker threads",
    load: () => import("../../examples/seed/in34.js") as Promise<{ main: () => Promise<void>; entry: "run" | "loop" }>,
  },
];

/**
 * The chapter after the seed's cells: what the seed's notebook did not show, I/O that can be cancelled
 * (issue 15). `--cell echo`, `--cell pipeline`.
 */
export const BEYOND: Cell[] = [
  {
    id: "Echo",
    dir: "beyond",
    file: "echo",
    title: "an echo server, and a client that waits at most 500 ms for each reply",
    load: () => import("../../examples/beyond/echo.js") as Promise<{ main: () => Promise<void>; entry: "run" | "loop" }>,
  },
  {
    id: "Pipeline",
    dir: "beyond",
    file: "pipeline",
    title: "two processes in a pipeline, the pump between them a task, all under one timeout",
    load: () => import("../../examples/beyond/pipeline.js") as Promise<{ main: () => Promise<void>; entry: "run" | "loop" }>,
  },
];

/** A printed line and the loop time (ms) at which it was printed. */
export interface Line {
  t: number;
  text: string;
}

/** How a cell is run. */
export interface CellRun {
  lines: Line[];
  /** loop time at the end (ms) */
  endTime: number;
  /** wall time taken (ms) */
  wallMs: number;
}

/**
 * A notebook kernel: one loop for every cell, kept running until the tasks a cell left behind are done.
 */
export class Kernel {
  readonly loop: EventLoop;
  constructor(options: { virtualTime: boolean }) {
    this.loop = new EventLoop({ virtualTime: options.virtualTime });
    setEventLoop(this.loop);
  }

  /** Run `main` like a notebook cell; the loop keeps running until leftover tasks finish. */
  async runCell(main: () => Promise<void>): Promise<void> {
    await this.loop.runUntilComplete(main);
    await this.loop.runUntilComplete(drainLeftovers);
  }

  close(): void {
    this.loop.close();
    setEventLoop(null);
  }
}

async function drainLeftovers(): Promise<void> {
  for (;;) {
    const me = currentTask();
    const others = [...allTasks()].filter((t) => t !== me);
    if (others.length === 0) return;
    await wait(others);
  }
}

/**
 * Run `fn` with `console.log` captured: each line is recorded with the running loop's time and passed
 * to `echo` (if given) as it is printed.
 */
export async function capture(
  fallbackLoop: () => EventLoop | null,
  fn: () => Promise<void>,
  echo?: (line: string) => void,
): Promise<Line[]> {
  const lines: Line[] = [];
  const orig = console.log;
  console.log = (...args: unknown[]) => {
    const text = format(...args);
    const loop = runningLoopOrNull() ?? fallbackLoop();
    for (const part of text.split("\n")) lines.push({ t: loop ? loop.time() : NaN, text: part });
    echo?.(text);
  };
  try {
    await fn();
  } finally {
    console.log = orig;
  }
  return lines;
}

/** Run one cell on a kernel (notebook mode). */
export async function runCellNotebook(kernel: Kernel, main: () => Promise<void>, echo?: (line: string) => void): Promise<CellRun> {
  const start = performance.now();
  const lines = await capture(() => kernel.loop, () => kernel.runCell(main), echo);
  return { lines, endTime: kernel.loop.time(), wallMs: performance.now() - start };
}

/** Run one cell as a script (`run(main)`: leftover tasks are cancelled). */
export async function runCellScript(main: () => Promise<void>, virtualTime: boolean, echo?: (line: string) => void): Promise<CellRun> {
  const start = performance.now();
  let loop: EventLoop | null = null;
  const lines = await capture(
    () => loop,
    () => run(main, { loopFactory: () => (loop = new EventLoop({ virtualTime })) }),
    echo,
  );
  return { lines, endTime: loop!.time(), wallMs: performance.now() - start };
}

/** The package's root folder (where package.json is), from src/cli or dist/src/cli. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "examples"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find the asyncio-ts package root");
}

/** The source of a cell as shown by the tour: the program without its script guard. */
export function cellSource(cell: Cell): string | null {
  const path = join(packageRoot(), "examples", cell.dir ?? "seed", `${cell.file}.ts`);
  if (!existsSync(path)) return null;
  const src = readFileSync(path, "utf8").split("\n");
  const out: string[] = [];
  let inGuard = false;
  for (const line of src) {
    if (line.startsWith("// In [") || line.startsWith("// Beyond the seed")) continue;
    if (line.includes("is-script") || line.startsWith("export const entry")) continue;
    if (line.startsWith("if (isScript(")) {
      inGuard = true;
      continue;
    }
    if (inGuard) {
      if (line === "}") {
        inGuard = false;
        continue;
      }
      out.push(line.replace(/^ {2}/, ""));
      continue;
    }
    out.push(line);
  }
  while (out.length && out[out.length - 1]!.trim() === "") out.pop();
  return out.join("\n").replace(/\n{3,}/g, "\n\n");
}

/** What the tour explains after some cells. */
export const NOTES: Record<string, { notebook?: string; fast?: string }> = {
  "In [8]": {
    notebook:
      "`text` is printed although main never awaits the task: its first step was scheduled before the callback that\n" +
      "ends the run, so it runs in the same loop iteration (CPython does the same, in a notebook and in a script).",
  },
  "In [12]": {
    notebook:
      "The second `text` comes 10 s in: the notebook's loop keeps running after main returns, and the task goes on.\n" +
      "In a script, run(main) cancels the tasks that are still pending when main returns. The same program as a script:",
  },
  "In [22]": {
    notebook:
      "As in the notebook, `{ data: 1 }` comes before `8`: on a real clock each 250 ms sleep wakes a little late, so the\n" +
      "eighth number's timer drifts past fetchData's 2 s timer. `npm start -- --fast` shows the exact clock's order.",
    fast:
      "On virtual time two timers are due at exactly 2 s: fetchData's 2 s sleep and the eighth 250 ms sleep. The earlier-\n" +
      "scheduled one fires first, so CPython prints `done fetching`, `8`, then `{ data: 1 }` (main wakes one iteration\n" +
      "after task1 finishes). The notebook printed `{'data': 1}` before `8` because on a real clock each 250 ms sleep wakes\n" +
      "a little late, and eight of them drift past 2 s. Both orders are right for their clock; a virtual clock has no drift.",
  },
  "In [21]": {
    fast: "The same tie as In [22], the same order: runUntilComplete and run() schedule the tasks identically.",
  },
};
