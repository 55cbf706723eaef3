/**
 * The task table of a live process, for `aio ps PID` and `aio pstree PID` (Python 3.14's
 * `python -m asyncio ps` / `pstree`): another process asks, this one answers with `dumpTasks()`'s data.
 *
 * ## Approach
 * The first loop made for a program (`run()`, `Runner`, `newEventLoop()`, `getEventLoop()`) opens a
 * local socket named after the process, `<tmpdir>/asyncio-ts-<pid>.sock` (a named pipe on Windows), and
 * unreferences it: it keeps nothing alive, and costs nothing until a client connects (no work per task or
 * step). The socket is opened `OPEN_AFTER_MS` after that first loop, by an unreferenced real timer: a
 * program that ends sooner never loads `node:net` nor makes the socket, which took 3.5 of the 6.5 ms of a
 * first empty `run()` on Node 24 (`ASYNCIO_TS_PS=0` against the default, `bench/run.mjs startup`), and
 * nobody types `aio ps PID` within 50 ms of a program's start. A client that connects gets one JSON
 * document, the dump of the loops running then (read from the loops' own state, as `dumpTasks()` does),
 * and the connection ends. The socket file goes
 * when the process exits. A process killed by a signal or out of memory has no exit event to remove it:
 * so each program, once its own socket is open, removes the sockets of dead processes
 * (`removeDeadSockets`; 5,346 had piled up in this machine's /tmp from test runs, and a new process with a
 * dead one's pid seemed to answer). `ASYNCIO_TS_PS=0` turns it off. Only the main thread answers (a worker thread
 * shares the process id).
 *
 * Rejected alternatives:
 * - a SIGUSR2 handler writing the table to a file: a listener on SIGUSR2 takes away the signal's default
 *   action, so a process that has one survives `kill -USR2`, while one that has none is killed by the
 *   client that meant to ask it (SIGUSR2 still prints the dump in debug mode and under `aio run`);
 * - reading the process's memory from outside, as CPython 3.14 does: V8's heap has no stable layout.
 *
 * @module
 */
import type { Server } from "node:net";
const { tmpdir } = process.getBuiltinModule("node:os");
const { join } = process.getBuiltinModule("node:path");
const { unlinkSync, readdir, lstat, unlink } = process.getBuiltinModule("node:fs");
import { realTimers } from "../core/index.js";
import { dumpTasks, type LoopDump } from "./dump.js";

// `node:net` is required when the socket opens (or `aio ps` asks), not imported: `import "asyncio-ts"` and
// a short program do not pay for it (bench/README.md, "Import cost"); nor for `node:worker_threads`
// (`onMainThread`).
const net = (): typeof import("node:net") => process.getBuiltinModule("node:net");

/** What `aio ps` / `aio pstree` receive. */
export interface TaskTable {
  pid: number;
  /** The program's command line. */
  argv: string[];
  /** The loops running when the table was asked for (else the current loop), with their tasks. */
  loops: LoopDump[];
}

/** The socket a process answers on. @internal */
export function taskTablePath(pid: number): string {
  return process.platform === "win32" ? `\\\\?\\pipe\\asyncio-ts-${pid}` : join(tmpdir(), `asyncio-ts-${pid}.sock`);
}

/** Invariant: the open server, once started in this process (never closed before exit), or null. */
let server: Server | null = null;
let started = false;

function table(): TaskTable {
  return { pid: process.pid, argv: process.argv, loops: dumpTasks({ print: false }).loops };
}

/** How long after the first loop the socket opens (see the module comment). */
const OPEN_AFTER_MS = 50;

/** Answer `aio ps` from `OPEN_AFTER_MS` on (idempotent; see the module comment). @internal */
export function serveTaskTable(): void {
  if (started) return;
  started = true;
  if (process.env.ASYNCIO_TS_PS === "0" || !onMainThread()) return;
  if (process.platform !== "win32") {
    // now, not when the socket opens: until then, a socket file with our pid would be a dead one
    try {
      unlinkSync(taskTablePath(process.pid)); // a socket left by a crashed process that had our pid
    } catch {
      // (none: the usual case)
    }
  }
  realTimers.setTimeout(openSocket, OPEN_AFTER_MS).unref();
}

/**
 * True on the process's main thread. A worker thread's start loads `node:worker_threads`, so while it is
 * not loaded this is the main thread, and a short program does not load it (1.7-2.4 ms on Node 24); once
 * it is loaded, it is asked. (`process.moduleLoadList` is Node's list of the built-ins loaded; a runtime
 * without one asks the module.)
 */
function onMainThread(): boolean {
  const loaded = (process as { moduleLoadList?: string[] }).moduleLoadList;
  if (Array.isArray(loaded) && !loaded.includes("NativeModule worker_threads")) return true;
  return process.getBuiltinModule("node:worker_threads").isMainThread;
}

function openSocket(): void {
  const path = taskTablePath(process.pid);
  const s = net().createServer((socket) => {
    let text: string;
    try {
      text = JSON.stringify(table());
    } catch (e) {
      text = JSON.stringify({ error: `asyncio-ts could not dump its tasks: ${String(e)}` });
    }
    socket.on("error", () => socket.destroy()); // (the client went away: nothing to tell)
    socket.end(text);
  });
  // A socket that cannot be opened (a read-only tmpdir) only means `aio ps` cannot reach this process.
  s.on("error", () => s.close());
  s.listen(path, () => {
    s.unref();
    removeDeadSockets();
  });
  s.unref();
  server = s;
  process.on("exit", removeSocketFile);
}

/**
 * Remove the sockets in tmpdir named after processes that no longer run (off the program's path: after its
 * own socket opened, with callbacks). A process that runs keeps its file whoever it is (`process.kill(pid,
 * 0)` succeeds, or EPERM for another user's); only socket files are removed, and errors (another user's
 * file in a sticky /tmp) are ignored.
 */
function removeDeadSockets(): void {
  if (process.platform === "win32") return; // (named pipes go with their process)
  const dir = tmpdir();
  readdir(dir, (err, names) => {
    if (err !== null) return;
    for (const name of names) {
      const m = /^asyncio-ts-(\d+)\.sock$/.exec(name);
      if (m === null) continue;
      const pid = Number(m[1]);
      if (pid === process.pid || isRunning(pid)) continue;
      const file = join(dir, name);
      lstat(file, (e, st) => {
        if (e === null && st.isSocket()) unlink(file, () => {});
      });
    }
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function removeSocketFile(): void {
  if (server === null || process.platform === "win32") return;
  try {
    unlinkSync(taskTablePath(process.pid));
  } catch {
    // (already gone)
  }
}

/**
 * Ask process `pid` for its task table (what `aio ps` does). Rejects with a message that says why when
 * the process does not answer: not running, not an asyncio-ts program, or answering is turned off.
 */
export function readTaskTable(pid: number, timeoutMs = 5000): Promise<TaskTable> {
  if (!Number.isInteger(pid) || pid <= 0) {
    return Promise.reject(new RangeError(`Expected pid to be a positive integer, got ${String(pid)}`));
  }
  return new Promise((resolve, reject) => {
    const path = taskTablePath(pid);
    const chunks: Buffer[] = [];
    const socket = net().createConnection(path);
    const timer = realTimers.setTimeout(() => {
      socket.destroy();
      reject(new Error(`process ${pid} did not answer within ${timeoutMs} ms (its event loop may be blocked by a step that never awaits)`));
    }, timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      realTimers.clearTimeout(timer);
      const why =
        e.code === "ENOENT" || e.code === "ECONNREFUSED"
          ? `no asyncio-ts program with process id ${pid} answers on ${path}: is it running, has it made an event loop, ` +
            "and is ASYNCIO_TS_PS=0 unset?"
          : `could not reach process ${pid} on ${path}: ${e.message}`;
      reject(new Error(why));
    });
    socket.on("end", () => {
      realTimers.clearTimeout(timer);
      try {
        const t = JSON.parse(Buffer.concat(chunks).toString("utf8")) as TaskTable & { error?: string };
        if (typeof t.error === "string") reject(new Error(t.error));
        else resolve(t);
      } catch (e) {
        reject(new Error(`process ${pid} sent something that is not a task table: ${String(e)}`));
      }
    });
  });
}
