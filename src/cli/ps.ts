/**
 * `aio ps PID` and `aio pstree PID`: the tasks of a running asyncio-ts program, asked from outside
 * (Python 3.14's `python -m asyncio ps` / `pstree`). The program answers on a local socket
 * (`src/tracing/task-table.ts`); this prints what it sent, as a table or as `dumpTasks()`'s tree.
 *
 * @module
 */
import { readTaskTable, type TaskTable } from "../tracing/task-table.js";
import { renderDump } from "../tracing/dump.js";
import type { TaskInfo } from "../tracing/dump.js";

export const PS_HELP = `  aio ps <pid>                     The tasks of a running asyncio-ts program: one row per task and task
                                   waiting for it (Python 3.14's python -m asyncio ps).
  aio pstree <pid>                 The same as a tree of tasks and the tasks they started, with what each
                                   waits on (dumpTasks()). Stacks appear when the program runs in debug
                                   mode. A program answers unless ASYNCIO_TS_PS=0.
`;

function rows(t: TaskTable): string[][] {
  const out: string[][] = [];
  const walk = (i: TaskInfo): void => {
    const stack = [...i.stack].reverse().map((f) => f.replace(/ \(.*\)$/, "")).join(" -> ");
    const base = [i.id, i.name, i.state, i.awaiting.join(", "), stack];
    if (i.awaitedBy.length === 0) out.push([...base, "", ""]);
    for (const w of i.awaitedBy) out.push([...base, w.name, w.id]);
    i.children.forEach(walk);
  };
  for (const l of t.loops) l.roots.forEach(walk);
  return out;
}

function table(t: TaskTable): string {
  const head = ["task id", "task name", "state", "waiting on", "coroutine stack", "awaiter name", "awaiter id"];
  const body = rows(t);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((v, c) => v.padEnd(widths[c]!)).join("  ").trimEnd();
  const sep = "-".repeat(widths.reduce((a, b) => a + b + 2, -2));
  const title = `process ${t.pid}: ${t.argv.slice(1).join(" ")}`;
  if (body.length === 0) return `${title}\nno live tasks\n`;
  return [title, line(head), sep, ...body.map(line)].join("\n") + "\n";
}

/** Run `aio ps` (tree = false) or `aio pstree` (tree = true); returns the exit status. */
export async function runPs(rest: string[], tree: boolean): Promise<number> {
  const cmd = tree ? "aio pstree" : "aio ps";
  const [arg, ...extra] = rest;
  if (arg === undefined || !/^\d+$/.test(arg) || extra.length > 0) {
    process.stderr.write(`${cmd}: expected one process id, e.g. ${cmd} 12345, got ${rest.length === 0 ? "nothing" : rest.join(" ")}\n`);
    return 2;
  }
  let t: TaskTable;
  try {
    t = await readTaskTable(Number(arg));
  } catch (e) {
    process.stderr.write(`${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  process.stdout.write(tree ? renderDump(t.loops, `process ${t.pid}: ${t.argv.slice(1).join(" ")}`) : table(t));
  return 0;
}
