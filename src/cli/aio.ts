#!/usr/bin/env node
/**
 * The `aio` command.
 *
 *   aio run <script> [--virtual-time] [--trace out.json] [--timeline out.html] ...   run a program, traced
 *   aio tour [--fast] [--cell <id>]   the seed notebook's programs, run and explained
 *   aio worker --redis <url> --queue <name> --module <path>   run a RedisExecutor's jobs (Redis, BullMQ)
 *   aio ps <pid> / aio pstree <pid>   the tasks of a running asyncio-ts program
 *   aio --help
 *
 * @module
 */
const { readFileSync } = process.getBuiltinModule("node:fs");
import { runTour } from "./tour-main.js";
import { RUN_HELP, runScript, type RunScriptOptions } from "./run-script.js";
import { WORKER_HELP, runWorkerCommand } from "./worker-cmd.js";
import { PS_HELP, runPs } from "./ps.js";

const HELP = `aio: asyncio-ts's command

Usage:
${RUN_HELP}
  aio tour [--fast] [--cell <n>]   Run the seed notebook's programs on asyncio-ts and show their output as it
                                   happens (about 40 s on the real clock).
      --fast                       Run them on virtual time: instantly, with CPython's exact timer order.
      --cell <n>                   Only the cell In [n] (e.g. --cell 22), or echo / pipeline (beyond the seed).
      --no-timeline                Do not draw the timeline under each cell.
${WORKER_HELP}${PS_HELP}  aio --version                    The version of asyncio-ts (also asyncio-ts --version).
  aio --help                       This text.

Environment: ASYNCIO_TS_VIRTUAL_TIME=1 gives loops virtual time and ASYNCIO_TS_DEBUG=1 turns on debug mode,
for loops whose options do not say otherwise.
`;

function parseRun(rest: string[]): RunScriptOptions | string {
  const o: RunScriptOptions = { script: "", args: [], virtualTime: false, debug: false, terminal: false, progress: "auto" };
  let script: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--") {
      o.args.push(...rest.slice(i + 1));
      break;
    }
    if (a === "--virtual-time") o.virtualTime = true;
    else if (a === "--debug") o.debug = true;
    else if (a === "--terminal") o.terminal = true;
    else if (a === "--progress") o.progress = "on";
    else if (a === "--no-progress") o.progress = "off";
    else if (a === "--trace" || a === "--timeline") {
      const v = rest[++i];
      if (v === undefined || v.startsWith("--")) return `${a} needs a file name, e.g. ${a} ${a === "--trace" ? "out.json" : "out.html"}`;
      if (a === "--trace") o.trace = v;
      else o.timeline = v;
    } else if (a.startsWith("--trace=")) o.trace = a.slice(8);
    else if (a.startsWith("--timeline=")) o.timeline = a.slice(11);
    else if (a.startsWith("-")) return `unknown option ${a}`;
    else if (script === undefined) script = a;
    else o.args.push(a);
  }
  if (script === undefined) return "missing the program to run, e.g. aio run main.ts";
  o.script = script;
  return o;
}

/** The version in the package's package.json (two folders above dist/src/cli, or src/cli). */
function packageVersion(): string {
  for (const up of ["../../../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "asyncio-ts" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not there: the other layout
    }
  }
  return "unknown";
}

async function main(argv: string[]): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "--version" || cmd === "-v" || cmd === "version") {
    process.stdout.write(`asyncio-ts ${packageVersion()} (Node ${process.versions.node})\n`);
    return 0;
  }
  if (cmd === "run") {
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(HELP);
      return 0;
    }
    const o = parseRun(rest);
    if (typeof o === "string") {
      process.stderr.write(`aio run: ${o}\n\n${HELP}`);
      return 2;
    }
    return await runScript(o);
  }
  if (cmd === "tour") {
    let fast = false;
    let cell: string | undefined;
    let timeline = true;
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === "--fast") fast = true;
      else if (a === "--no-timeline") timeline = false;
      else if (a === "--cell") {
        cell = rest[++i];
        if (cell === undefined || !/^(\d+|echo|pipeline)$/i.test(cell)) {
          process.stderr.write(`aio tour: --cell needs a cell number such as 22, or echo or pipeline, got ${cell ?? "nothing"}\n`);
          return 2;
        }
      } else if (a === "--help" || a === "-h") {
        process.stdout.write(HELP);
        return 0;
      } else {
        process.stderr.write(`aio tour: unknown option ${a}\n\n${HELP}`);
        return 2;
      }
    }
    return await runTour({ fast, cell, timeline });
  }
  if (cmd === "worker") return await runWorkerCommand(rest);
  if (cmd === "ps" || cmd === "pstree") {
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(HELP);
      return 0;
    }
    return await runPs(rest, cmd === "pstree");
  }
  process.stderr.write(`aio: unknown command ${cmd}\n\n${HELP}`);
  return 2;
}

const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
