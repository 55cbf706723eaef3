/**
 * `aio run script.ts`: run a user's program with tracing.
 *
 * ## Approach
 * The program runs in this process, imported as a module, so the command can reach every loop it
 * makes: `instrumentNewLoops` installs the recorder on each new loop, `ASYNCIO_TS_VIRTUAL_TIME=1` gives
 * them virtual time, `ASYNCIO_TS_DEBUG=1` debug mode. Module hooks (`ts-hooks.ts`) map `asyncio-ts` to
 * this copy of the library and transpile TypeScript.
 *
 * The program is over when Node has nothing left to do (`beforeExit`), or when it calls
 * `process.exit` (`exit`): then the trace and the timeline are written. If a loop is still running at
 * that point, nothing can ever wake its tasks (a hang): the command prints `dumpTasks()` and exits with
 * status 1. SIGUSR2 prints the dump of a live program at any time.
 *
 * @module
 */
const { spawnSync } = process.getBuiltinModule("node:child_process");
const { existsSync, writeFileSync } = process.getBuiltinModule("node:fs");
const nodeModule = process.getBuiltinModule("node:module");
const { resolve: resolvePath } = process.getBuiltinModule("node:path");
const { fileURLToPath, pathToFileURL } = process.getBuiltinModule("node:url");
const { MessageChannel } = process.getBuiltinModule("node:worker_threads");
import { type EventLoop, loopRegistry } from "../core/index.js";
import { dumpTasks } from "../tracing/dump.js";
import { instrumentNewLoops, type Instrument } from "../tracing/hooks.js";
import { TraceRecorder } from "../tracing/recorder.js";
import { toChromeTrace } from "../tracing/chrome.js";
import { renderHtmlTimeline } from "../tracing/html.js";
import { renderTerminalTimeline } from "../tracing/terminal.js";
import { syntaxReport, type HooksData } from "./ts-hooks.js";

/** Options of `aio run`. */
export interface RunScriptOptions {
  script: string;
  args: string[];
  virtualTime: boolean;
  debug: boolean;
  trace?: string;
  timeline?: string;
  /** Print a terminal timeline at the end. */
  terminal: boolean;
  /** "auto": a status line on a terminal after 1 s; "on": status lines even when stderr is not a terminal. */
  progress: "auto" | "on" | "off";
}

/** `aio run`'s part of `aio --help`. */
export const RUN_HELP = `  aio run <script> [options] [-- args...]
                                   Run a TypeScript or JavaScript program (an ES module) with tracing.
                                   A .ts file runs with the "typescript" package's transpiler when it is
                                   installed, else with Node's type stripping (Node >= 22.18).
                                   The program imports asyncio-ts as usual; every event loop it creates is
                                   traced. It sees <script> as process.argv[1] and args after it.
      --virtual-time               Give the program's loops virtual time (unless they choose a clock):
                                   sleeps take no real time; sets ASYNCIO_TS_VIRTUAL_TIME=1.
      --trace <out.json>           Write a Chrome Trace Event file: open it in https://ui.perfetto.dev or
                                   chrome://tracing (one track per task and per executor worker).
      --timeline <out.html>        Write a self-contained HTML timeline: a lane per task and per worker,
                                   steps as bars, awaits labelled with what was awaited, printed lines.
      --terminal                   Print a text timeline of the tasks when the program ends.
      --debug                      Debug mode (ASYNCIO_TS_DEBUG=1): warn about steps that block the loop
                                   (over 100 ms), dump the tasks when the loop is blocked or stalled.
      --progress / --no-progress   Force the progress line on (also when stderr is not a terminal) or
                                   off. By default it shows on a terminal once the run takes over 1 s.
                                   Send SIGUSR2 (kill -USR2 <pid>) to print every live task, what it
                                   waits on and who created it (or ask from another terminal: aio ps
                                   <pid>, aio pstree <pid>). If the program ends while its loop
                                   still waits (a hang), the command prints that dump and exits with 1.
`;

function fmtS(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/**
 * Run the program. Resolves with an exit code when it could not start; otherwise with `undefined` once
 * the program's module is evaluated, and the process exits by itself when the program is done.
 */
export async function runScript(o: RunScriptOptions): Promise<number | undefined> {
  const path = resolvePath(o.script);
  if (!existsSync(path)) {
    process.stderr.write(`aio run: no such file: ${o.script}\n`);
    return 2;
  }
  if (o.virtualTime) process.env["ASYNCIO_TS_VIRTUAL_TIME"] = "1";
  if (o.debug) process.env["ASYNCIO_TS_DEBUG"] = "1";
  // (a namespace import: `register` is missing before Node 20.6, and the tour must still load there)
  const register = (nodeModule as { register?: (url: URL, options: { data: unknown }) => void }).register;
  if (typeof register !== "function") {
    process.stderr.write(`aio run: needs Node 20.6 or later (module.register), this is ${process.version}\n`);
    return 2;
  }
  process.setSourceMapsEnabled(true);
  const lib = new URL("../", import.meta.url); // dist/src/ (or src/)
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  // the program's JavaScript files, as they load: where to look for a syntax error Node reports without its place
  const loaded: string[] = [];
  const files = new MessageChannel();
  files.port1.on("message", (url: string) => void loaded.push(url));
  files.port1.unref();
  const hooksData: HooksData = {
    entries: {
      ".": new URL(`index.${ext}`, lib).href,
      "./testing": new URL(`testing/index.${ext}`, lib).href,
      "./tracing": new URL(`tracing/index.${ext}`, lib).href,
    },
    cwd: process.cwd(),
    port: files.port2,
  };
  (register as (url: URL, options: { data: unknown; transferList: unknown[] }) => void)(new URL(`../cli/ts-hooks.${ext}`, import.meta.url), {
    data: hooksData,
    transferList: [files.port2],
  });

  const recording = o.trace !== undefined || o.timeline !== undefined || o.terminal;
  const recorder = recording ? new TraceRecorder({ maxTasks: 20_000 }) : null;
  // progress: counts from a tiny instrument on every loop
  const stats = { created: 0, done: 0, steps: 0, loop: null as EventLoop | null };
  const counting: Instrument = {
    onTaskCreated: (t) => {
      stats.created++;
      stats.loop = t._loop;
    },
    onTaskDone: () => void stats.done++,
    onStepStart: () => void stats.steps++,
  };
  const wantProgress = o.progress === "on" || (o.progress === "auto" && process.stderr.isTTY === true);
  const stopInstrumenting = instrumentNewLoops(() => [
    ...(recorder ? [recorder.instrument()] : []),
    ...(wantProgress ? [counting] : []),
  ]);
  const started = performance.now();
  let statusShown = false;
  const clearStatus = (): void => {
    if (statusShown && process.stderr.isTTY) process.stderr.write("\r\x1b[K");
    statusShown = false;
  };
  const status = (): string => {
    const lt = stats.loop ? `, loop time ${fmtS(stats.loop.time())}${stats.loop.clock.virtual ? " (virtual)" : ""}` : "";
    return `aio run: ${fmtS(performance.now() - started)}${lt}, ${stats.created} tasks (${stats.created - stats.done} live), ${stats.steps} steps`;
  };
  let progressTimer: ReturnType<typeof setInterval> | null = null;
  if (wantProgress) {
    const tty = process.stderr.isTTY === true;
    progressTimer = setInterval(
      () => {
        if (performance.now() - started < (tty ? 1000 : 0)) return;
        if (tty) {
          process.stderr.write(`\r${status()}\x1b[K`);
          statusShown = true;
        } else process.stderr.write(`${status()}\n`);
      },
      tty ? 250 : 1000,
    );
    progressTimer.unref();
  }
  // printed lines: marks in the trace, and the status line cleared before each
  const names = ["log", "info", "warn", "error", "debug"] as const;
  const saved = names.map((n) => console[n]);
  if (recorder || wantProgress) {
    recorder?.captureConsole(); // undone below by restoring the saved console methods
    names.forEach((n) => {
      const inner = console[n];
      console[n] = (...args: unknown[]) => {
        clearStatus();
        inner.apply(console, args);
      };
    });
  }

  const onSignal = (): void => {
    clearStatus();
    dumpTasks({ reason: "aio run: SIGUSR2 received" });
  };
  if (!o.debug) process.on("SIGUSR2", onSignal);

  let finished = false;
  const finish = (why: "end" | "exit" | "error"): number => {
    if (finished) return process.exitCode === undefined ? 0 : Number(process.exitCode);
    finished = true;
    if (progressTimer !== null) clearInterval(progressTimer);
    clearStatus();
    stopInstrumenting();
    names.forEach((n, i) => {
      console[n] = saved[i]!;
    });
    process.off("SIGUSR2", onSignal);
    const stuck = [...loopRegistry.running].filter((l) => l._tasks.size > 0);
    let code = why === "error" ? 1 : process.exitCode === undefined ? 0 : Number(process.exitCode);
    if (why === "end" && stuck.length > 0) {
      // (this listener runs before the debug monitor's, which would print the same)
      dumpTasks({ reason: "aio run: the program ended while its event loop still waits: nothing can wake these tasks (a hang)" });
      code = 1;
    }
    if (o.progress === "on" && process.stderr.isTTY !== true) process.stderr.write(`${status()}\n`);
    if (recorder) {
      const trace = recorder.trace();
      const out: string[] = [];
      if (o.trace !== undefined) {
        writeFileSync(o.trace, JSON.stringify(toChromeTrace(trace)));
        out.push(`aio run: wrote ${o.trace} (Chrome trace: open it in https://ui.perfetto.dev or chrome://tracing)`);
      }
      if (o.timeline !== undefined) {
        writeFileSync(o.timeline, renderHtmlTimeline(trace, { title: `aio run ${o.script}` }));
        out.push(`aio run: wrote ${o.timeline} (HTML timeline: open it in a browser)`);
      }
      if (o.terminal) {
        const text = renderTerminalTimeline(trace, { width: Math.min(process.stderr.columns ?? 100, 120) });
        if (text) out.unshift(`\n${text}\n`);
      }
      if (trace.dropped) out.push(`aio run: the trace holds the first 20000 tasks; ${trace.dropped} more were not recorded`);
      if (out.length > 0) process.stderr.write(`${out.join("\n")}\n`);
    }
    return code;
  };
  process.once("beforeExit", () => {
    const code = finish("end");
    process.exit(code);
  });
  process.once("exit", () => {
    finish("exit");
  });

  process.argv = [process.argv[0]!, path, ...o.args];
  try {
    await import(pathToFileURL(path).href);
  } catch (e) {
    clearStatus();
    if (e instanceof SyntaxError) {
      const compiling = fromNodeOnly(e.stack ?? "");
      if (compiling) await new Promise((r) => setImmediate(r)); // (the last files posted by the hooks)
      const report = syntaxErrorReport(e, compiling ? [pathToFileURL(path).href, ...loaded.reverse()] : []);
      if (report !== null) {
        process.stderr.write(`${report}\n`);
        return finish("error");
      }
      if (compiling) {
        // Node knows the place and prints it for an uncaught error: let it
        finish("error");
        throw e;
      }
    }
    // (an error of ts-hooks.ts says all in its message: its stack is the hooks thread's)
    const msg = e instanceof Error ? (e.message.startsWith("aio run: ") ? e.message : (e.stack ?? e.message)) : String(e);
    process.stderr.write(`${msg}\n`);
    return finish("error");
  } finally {
    files.port1.close();
  }
  return undefined; // beforeExit does the rest once the program's pending work is done
}

/** How many of the program's files a syntax error is looked for in (each a `node --check`). */
const CHECKED_FILES = 20;

/**
 * `file:line:column`, the line and a caret for a syntax error of the program, or null when its place is
 * not found. The place is in the error (ts-hooks.ts's report of a TypeScript file; Node's, first in the
 * stack, for a CommonJS file or its own type stripping), or else, as Node compiles an ES module without
 * saying which, in what `node --check` says of the entry and of the JavaScript files loaded last.
 */
function syntaxErrorReport(e: SyntaxError, candidates: string[]): string | null {
  if (e.message.startsWith("aio run: ")) return e.message;
  const cwd = process.cwd();
  const code = (e as { code?: string }).code;
  const hint =
    code === "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX"
      ? "Node's type stripping removes type annotations only: for enums, namespaces and parameter properties install " +
        "the typescript package next to the program (npm install --save-dev typescript), which aio run then uses"
      : undefined;
  const where = placeInStack(e.stack ?? "");
  if (where !== null) return syntaxReport({ ...where, message: `SyntaxError: ${e.message}`, cwd, hint });
  const seen = new Set<string>();
  for (const url of candidates) {
    if (seen.has(url) || seen.size >= CHECKED_FILES) continue;
    seen.add(url);
    const r = spawnSync(process.execPath, ["--check", fileURLToPath(url)], { encoding: "utf8", timeout: 30_000 });
    if (r.status === 0 || typeof r.stderr !== "string") continue;
    const at = placeInStack(r.stderr);
    const said = /^SyntaxError: (.*)$/m.exec(r.stderr);
    if (at !== null && said !== null && said[1] === e.message) return syntaxReport({ ...at, message: `SyntaxError: ${e.message}`, cwd });
  }
  return null;
}

/** Whether every frame of `stack` is Node's own: an error of Node's loader (compiling), not of the program's code. */
function fromNodeOnly(stack: string): boolean {
  const frames = stack.split("\n").filter((l) => /^\s+at /.test(l));
  return frames.every((l) => /\(node:|at node:/.test(l));
}

/**
 * Node's place of a syntax error, at the top of a stack or of `node --check`'s output: `path:line`, some
 * lines of the file, a caret line under the one in error (`^` at the column), maybe more lines.
 */
function placeInStack(text: string): { file: string; line: number; column: number; source: string } | null {
  const lines = text.split("\n");
  const head = /^(.+):(\d+)$/.exec(lines[0] ?? "");
  if (head === null) return null;
  let file = head[1]!;
  if (file.startsWith("file:")) {
    try {
      file = fileURLToPath(file);
    } catch {
      return null;
    }
  }
  for (let i = 2; i < Math.min(lines.length, 12); i++) {
    if (/^\s*\^+\s*$/.test(lines[i]!)) return { file, line: Number(head[2]), column: lines[i]!.indexOf("^") + 1, source: lines[i - 1]! };
    if (lines[i] === "") break;
  }
  return null;
}
