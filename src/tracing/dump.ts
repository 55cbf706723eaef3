/**
 * `dumpTasks()`: every live task, as a tree, with what it waits on (Python 3.14's `asyncio pstree`).
 *
 * ## Approach
 * Read the loop's own state, nothing recorded beforehand, so it works without a tracer and at any
 * moment (from a SIGUSR2 handler, a debugger, a test): `loop._tasks` (the pending tasks, in creation
 * order), each task's `_waiters` (the futures it is suspended on, labelled by `describeAwaited`), its
 * `_parent` (the task whose code created it) and, in debug mode, `_createdAt`.
 *
 * A task that is neither running nor suspended on one of our futures is either queued to run or stuck on
 * a foreign promise; when the loop's ready queue is empty it cannot be queued, so it is the latter.
 *
 * @module
 */
import { awaitedByEdges, contextTask, describe, type EventLoop, type Future, isLibraryFrame, loopRegistry, parseFrame, runningLoopOrNull, siteFramesOf, Task } from "../core/index.js";
import { describeAwaited, fmtTime, futureId } from "./describe.js";

/** What a live task is doing. */
export type TaskActivity = "running" | "waiting" | "scheduled" | "foreign";

/** One live task in a dump. */
export interface TaskInfo {
  /** The task's id in dumps and call graphs (`0x3`). */
  id: string;
  /** The task's name (`Task-3`). */
  name: string;
  /** Its function's name ("" when anonymous). */
  fn: string;
  /** running (its step is executing), waiting (on `awaiting`), scheduled (queued to run), foreign (awaits a promise that is not ours). */
  state: TaskActivity;
  /** What it is suspended on: `sleep until 2000 ms`, `Lock.acquire`, `Queue.get`, `Task-3`... */
  awaiting: string[];
  /** Where it was created (the first frame outside asyncio-ts), in debug mode; null otherwise. */
  createdAt: string | null;
  /** Pending cancellation requests. */
  cancelling: number;
  /** The tasks waiting for this one, directly or through a gather, a shield, a task group. */
  awaitedBy: Array<{ id: string; name: string }>;
  /** Its frames, oldest first (`fn (file:line:col)`): where it awaits, recorded in debug mode; [] otherwise. */
  stack: string[];
  /** The live tasks it created. */
  children: TaskInfo[];
}

/** The live tasks of one loop. */
export interface LoopDump {
  /** The loop's time (ms). */
  time: number;
  clock: "virtual" | "real";
  running: boolean;
  /** Live tasks whose creator is not itself a live task of this loop, each with its subtree. */
  roots: TaskInfo[];
  /** Number of live tasks. */
  count: number;
}

/** What `dumpTasks()` returns. */
export interface TaskDump {
  loops: LoopDump[];
  /** The text that was (or would be) printed. */
  text: string;
}

/** Options of `dumpTasks()`. */
export interface DumpOptions {
  /** The loop to dump; default: the running loop, else every running loop, else the current loop. */
  loop?: EventLoop;
  /** Where to print: a function, `true` (stderr, the default) or `false` (do not print). */
  print?: boolean | ((text: string) => void);
  /** A first line (why the dump was taken). */
  reason?: string;
  /**
   * List at most this many tasks (default: all); the text then says how many it left out. The deadlock
   * report lists 100: a report of 100,000 identical lines helps nobody.
   */
  maxTasks?: number;
}

/** The first stack frame of `stack` outside asyncio-ts (and Node's internals), else its last line. @internal */
export function userFrame(stack: string | undefined): string | null {
  if (stack === undefined) return null;
  const lines = stack.split("\n").filter((l) => l.trim() !== "");
  const user = lines.find((l) => {
    const f = parseFrame(l);
    return f !== null && !f.file.startsWith("node:") && !isLibraryFrame(f.file, f.line);
  });
  const line = user ?? lines[lines.length - 1];
  return line === undefined ? null : line.trim().replace(/^at /, "");
}

function activity(loop: EventLoop, t: Task<unknown>): TaskActivity {
  if (loop._stepping === t || contextTask() === t) return "running";
  if (t._waiters.length > 0) return "waiting";
  return loop._readyCount() > 0 && t._foreignAwaits === 0 ? "scheduled" : "foreign";
}

/** The tasks that wait for `f`, looking through the futures between (a gather's, a shield's). */
function awaitingTasks(f: Future<unknown>, edges: Map<Future<unknown>, Future<unknown>[]>): Task<unknown>[] {
  const out: Task<unknown>[] = [];
  const seen = new Set<Future<unknown>>([f]);
  const todo = [...(edges.get(f) ?? [])];
  while (todo.length > 0) {
    const w = todo.shift()!;
    if (seen.has(w)) continue;
    seen.add(w);
    if (w instanceof Task) out.push(w as Task<unknown>);
    else todo.push(...(edges.get(w) ?? []));
  }
  return out;
}

function dumpLoop(loop: EventLoop): LoopDump {
  const live = [...loop._tasks];
  const infos = new Map<Task<unknown>, TaskInfo>();
  const edges = awaitedByEdges(live);
  for (const t of live) {
    const fnName = (t as { _fnName?: string })._fnName ?? "";
    infos.set(t, {
      id: futureId(t),
      name: t.getName(),
      fn: fnName,
      state: activity(loop, t),
      awaiting: t._waiters.map((w) => describeAwaited(w)),
      createdAt: userFrame(t._createdAt),
      cancelling: t.cancelling(),
      awaitedBy: awaitingTasks(t, edges).map((w) => ({ id: futureId(w), name: w.getName() })),
      stack: siteFramesOf(t)
        .reverse()
        .map((f) => `${f.functionName} (${f.fileName}:${f.lineNumber}:${f.columnNumber})`),
      children: [],
    });
  }
  const roots: TaskInfo[] = [];
  for (const t of live) {
    const info = infos.get(t)!;
    const parent = t._parent !== null ? infos.get(t._parent) : undefined;
    if (parent !== undefined) parent.children.push(info);
    else roots.push(info);
  }
  return { time: loop.time(), clock: loop.clock.virtual ? "virtual" : "real", running: loop.isRunning(), roots, count: live.length };
}

function stateText(i: TaskInfo): string {
  const c = i.cancelling > 0 ? ` (cancelling: ${i.cancelling})` : "";
  switch (i.state) {
    case "running":
      return `running${c}`;
    case "waiting":
      return `waiting on ${i.awaiting.join(" and ")}${c}`;
    case "scheduled":
      return `scheduled to run${c}`;
    default:
      return `awaiting a promise that is not an asyncio-ts awaitable (wrap it with fromPromise)${c}`;
  }
}

/** The text of a dump (`dumpTasks().text`, `aio pstree`). @internal */
export function renderDump(dumps: LoopDump[], reason: string | undefined, maxTasks = Infinity): string {
  const out: string[] = [];
  let listed = 0;
  let left = 0;
  if (reason !== undefined) out.push(reason);
  if (dumps.length === 0) out.push("No event loop: no tasks.");
  for (const d of dumps) {
    out.push(
      `Tasks of the ${d.running ? "running" : "stopped"} event loop at ${fmtTime(d.time)}${d.clock === "virtual" ? " (virtual time)" : ""}: ${d.count} live`,
    );
    const walk = (i: TaskInfo, prefix: string, last: boolean): void => {
      if (listed >= maxTasks) {
        left += countTasks(i);
        return;
      }
      listed++;
      const title = i.fn && i.fn !== i.name ? `${i.name} (${i.fn})` : i.name;
      out.push(`${prefix}${last ? "└── " : "├── "}${title}: ${stateText(i)}`);
      const inner = prefix + (last ? "    " : "│   ");
      const bar = i.children.length > 0 ? "│ " : "  ";
      if (i.stack.length > 0) out.push(`${inner}${bar} awaits at ${i.stack[i.stack.length - 1]}`);
      if (i.createdAt !== null) out.push(`${inner}${bar} created at ${i.createdAt}`);
      i.children.forEach((c, n) => walk(c, inner, n === i.children.length - 1));
    };
    d.roots.forEach((r, n) => walk(r, "", n === d.roots.length - 1));
  }
  if (left > 0) out.push(`... and ${left.toLocaleString("en-US")} more task(s), not listed (dumpTasks() lists every task)`);
  return out.join("\n") + "\n";
}

function countTasks(i: TaskInfo): number {
  let n = 1;
  for (const c of i.children) n += countTasks(c);
  return n;
}

/**
 * Every live task as a tree: its name, what it is doing and waiting on (a sleep until t, a lock, a
 * queue, another task, an executor job), the tasks it created and, in debug mode, where it was created.
 * Prints the tree to stderr unless `{ print: false }`; returns it as data and text.
 *
 * `run(main, { debug: true })` prints it by itself when the loop was blocked or stalled, or when the
 * process receives SIGUSR2 (`kill -USR2 <pid>`).
 *
 * @example
 * ```ts
 * import { run, createTask, sleep } from "asyncio-ts";
 * import { dumpTasks } from "asyncio-ts/tracing";
 * await run(async () => {
 *   createTask(async () => { await sleep(2000); }, { name: "sleeper" });
 *   await sleep(0);
 *   const dump = dumpTasks({ print: false });
 *   console.log(dump.text);
 *   // Tasks of the running event loop at 0 ms (virtual time): 2 live
 *   // └── Task-1: running
 *   //     └── sleeper: waiting on sleep until 2000 ms
 * }, { virtualTime: true });
 * ```
 */
export function dumpTasks(options: DumpOptions = {}): TaskDump {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
  }
  const { loop, print = true, reason, maxTasks = Infinity } = options;
  if (typeof maxTasks !== "number" || !(maxTasks >= 0) || (maxTasks !== Infinity && !Number.isInteger(maxTasks))) {
    throw new RangeError(`Expected options.maxTasks to be a non-negative integer or Infinity, got ${describe(maxTasks)}`);
  }
  if (loop !== undefined && (loop === null || typeof loop !== "object" || !("_tasks" in loop))) {
    throw new TypeError(`Expected options.loop to be an EventLoop, got ${describe(loop)}`);
  }
  if (typeof print !== "boolean" && typeof print !== "function") {
    throw new TypeError(`Expected options.print to be a boolean or a function, got ${describe(print)}`);
  }
  let loops: EventLoop[];
  if (loop !== undefined) loops = [loop];
  else {
    const running = runningLoopOrNull();
    if (running !== null) loops = [running];
    else if (loopRegistry.running.size > 0) loops = [...loopRegistry.running];
    else loops = loopRegistry.current !== null && !loopRegistry.current.isClosed() ? [loopRegistry.current] : [];
  }
  const dumps = loops.map(dumpLoop);
  const text = renderDump(dumps, reason, maxTasks);
  if (print === true) process.stderr.write(text);
  else if (typeof print === "function") print(text);
  return { loops: dumps, text };
}
