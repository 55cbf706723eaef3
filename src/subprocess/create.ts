/**
 * `createSubprocessExec` and `createSubprocessShell`: CPython's `asyncio.create_subprocess_exec` and
 * `create_subprocess_shell`.
 *
 * ## Approach
 * Node's `spawn` starts the child (the program and its arguments as an array: JavaScript has no
 * `*args`, so the call is `createSubprocessExec(program, args, options)`, as `child_process.spawn`'s);
 * the shell form runs `/bin/sh -c cmd`, as CPython's (`cmd.exe` on Windows, through Node's `shell`). The
 * `Process` is made at once, so none of the child's events is missed, and the spawn is awaited on a
 * future of the loop completed by the `spawn` or `error` event: a failed spawn rejects with Node's
 * error (`spawn nosuch ENOENT`, `code` `"ENOENT"`; CPython raises `FileNotFoundError`), a cancelled one
 * kills the child. On virtual time the spawn holds the clock as foreign work.
 *
 * `stderr: STDOUT` with a piped stdout goes through `/bin/sh` (`stdio.ts` says why). The shell would
 * report a program it cannot find with exit status 127, so the program is looked up first, as `execvp`
 * will (`PATH` of `env`, else ours; relative to `cwd`), and a missing one rejects with an error of the
 * same shape as Node's.
 *
 * The `signal` option: already aborted, nothing is started and the call rejects with `signal.reason`;
 * aborted during the spawn, the child is killed and the call rejects the same way; aborted later, the
 * child gets `SIGTERM` (Node's `spawn` does the same with its `signal`), which `wait()` then reports.
 *
 * @module
 */
import type { ChildProcess, SpawnOptions } from "node:child_process";
const { accessSync, constants: fsConstants, statSync } = process.getBuiltinModule("node:fs");
const { constants: osConstants } = process.getBuiltinModule("node:os");
const { delimiter, isAbsolute, resolve } = process.getBuiltinModule("node:path");
import { checkCount, checkOptions, describe, type EventLoop, getRunningLoop } from "../core/index.js";
import { awaitEvent } from "../streams/event-wait.js";
import { checkSignal } from "../sync/abort-signal.js";
import { Process } from "./process.js";
import { checkStdio, planStdio, type Stdio, type StdioPlan } from "./stdio.js";

// `node:child_process` is required at the first spawn, not imported: `import "asyncio-ts"` does not pay
// for it (bench/README.md, "Import cost").
let childProcess: typeof import("node:child_process") | undefined;

/**
 * Options of `createSubprocessExec` and `createSubprocessShell` (CPython's keyword arguments).
 * @example `{ stdin: PIPE, stdout: PIPE, stderr: STDOUT, cwd: "/tmp", env: { ...process.env, LANG: "C" } }`
 */
export interface SubprocessOptions {
  /** The child's stdin: `PIPE` (`proc.stdin`), `DEVNULL`, `"inherit"` (default) or a file descriptor. */
  stdin?: Stdio;
  /** The child's stdout: `PIPE` (`proc.stdout`), `DEVNULL`, `"inherit"` (default) or a file descriptor. */
  stdout?: Stdio;
  /** The child's stderr: `PIPE` (`proc.stderr`), `STDOUT` (with stdout, in order), `DEVNULL`, `"inherit"` (default) or a file descriptor. */
  stderr?: Stdio;
  /** The directory the child runs in (default ours). */
  cwd?: string;
  /** The child's whole environment (default ours): `{ ...process.env, NAME: "value" }` to add to ours. */
  env?: Record<string, string | undefined>;
  /** The buffer limit of `proc.stdout`/`proc.stderr` in bytes (default 64 KiB, as CPython): the longest line `readline` accepts. */
  limit?: number;
  /** Abort: before the child runs, the call rejects with `signal.reason`; while it runs, it gets `SIGTERM`. */
  signal?: AbortSignal;
}

const OPTIONS = ["stdin", "stdout", "stderr", "cwd", "env", "limit", "signal"] as const;

/** The options, checked; the stdio plan. */
interface Checked {
  plan: StdioPlan;
  cwd: string | undefined;
  env: Record<string, string> | undefined;
  limit: number | undefined;
  signal: AbortSignal | undefined;
}

function readOptions(options: SubprocessOptions | undefined, what: string): Checked {
  const o = checkOptions(options, OPTIONS, what);
  const plan = planStdio(checkStdio(o.stdin, "stdin"), checkStdio(o.stdout, "stdout"), checkStdio(o.stderr, "stderr"));
  if (o.cwd !== undefined && typeof o.cwd !== "string") throw new TypeError(`Expected cwd to be a string (a directory), got ${describe(o.cwd)}`);
  if (o.cwd === "") throw new RangeError('Expected cwd to be a directory, got "" (string)');
  let env: Record<string, string> | undefined;
  if (o.env !== undefined) {
    if (o.env === null || typeof o.env !== "object" || Array.isArray(o.env)) throw new TypeError(`Expected env to be an object of strings, got ${describe(o.env)}`);
    env = {};
    for (const [k, v] of Object.entries(o.env)) {
      if (v === undefined) continue;
      if (typeof v !== "string") throw new TypeError(`Expected env.${k} to be a string, got ${describe(v)}`);
      env[k] = v;
    }
  }
  const limit = o.limit === undefined ? undefined : checkCount(o.limit, "limit", { min: 1 });
  const signal = checkSignal(o.signal);
  return { plan, cwd: o.cwd, env, limit, signal };
}

/**
 * Start `program` with `args` (CPython's `asyncio.create_subprocess_exec(program, *args, ...)`) and return
 * its `Process` once it runs. `program` is looked up in `PATH` unless it names a path. A program that
 * cannot be started rejects with Node's error (`code` `"ENOENT"`, `"EACCES"`).
 *
 * @example
 * ```ts
 * import { createSubprocessExec, PIPE, run } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessExec(process.execPath, ["-e", "console.log(process.argv[1])", "an arg"], { stdout: PIPE });
 *   const [out] = await proc.communicate();
 *   console.log(String(out).trim(), proc.returncode); // an arg 0
 * });
 * ```
 */
export async function createSubprocessExec(program: string, args: readonly string[] = [], options?: SubprocessOptions): Promise<Process> {
  if (typeof program !== "string") throw new TypeError(`Expected program to be a non-empty string, got ${describe(program)}`);
  if (program === "") throw new RangeError('Expected program to be a non-empty string, got "" (string)');
  const argv = checkArgs(args);
  const o = readOptions(options, "createSubprocessExec()");
  const loop = getRunningLoop();
  if (o.plan.merge === "shell") {
    const missing = lookUp(program, o.cwd, o.env);
    if (missing !== null) throw spawnError(program, argv, missing);
    return start(loop, "/bin/sh", ["-c", 'exec "$0" "$@" 2>&1', program, ...argv], o, `createSubprocessExec(${JSON.stringify(program)})`);
  }
  return start(loop, program, argv, o, `createSubprocessExec(${JSON.stringify(program)})`);
}

/**
 * Run `cmd` in the shell (CPython's `asyncio.create_subprocess_shell`): `/bin/sh -c cmd` (`cmd.exe` on
 * Windows). Quote what you put in it (a file name with a space, a `;`): the shell reads it all.
 *
 * @example
 * ```ts
 * import { createSubprocessShell, PIPE, run } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessShell("echo one; echo two >&2", { stdout: PIPE, stderr: PIPE });
 *   const [out, err] = await proc.communicate();
 *   console.log(JSON.stringify(String(out)), JSON.stringify(String(err))); // "one\n" "two\n"
 * });
 * ```
 */
export async function createSubprocessShell(cmd: string, options?: SubprocessOptions): Promise<Process> {
  if (typeof cmd !== "string") throw new TypeError(`Expected cmd to be a string (a shell command), got ${describe(cmd)}`);
  const o = readOptions(options, "createSubprocessShell()");
  const loop = getRunningLoop();
  const what = `createSubprocessShell(${JSON.stringify(cmd.length > 40 ? `${cmd.slice(0, 40)}...` : cmd)})`;
  if (process.platform === "win32") return start(loop, cmd, [], o, what, { shell: true });
  return start(loop, "/bin/sh", ["-c", o.plan.merge === "shell" ? `exec 2>&1\n${cmd}` : cmd], o, what);
}

function checkArgs(args: unknown): string[] {
  if (!Array.isArray(args)) {
    const hint = typeof args === "string" ? " (the arguments are one array: createSubprocessExec(program, [arg1, arg2], options))" : args !== null && typeof args === "object" ? " (options come third: createSubprocessExec(program, [], options))" : "";
    throw new TypeError(`Expected args to be an array of strings, got ${describe(args)}${hint}`);
  }
  return args.map((a: unknown, i) => {
    if (typeof a !== "string") throw new TypeError(`Expected args[${i}] to be a string, got ${describe(a)}`);
    return a;
  });
}

/** Spawn, make the `Process` at once, and wait for the `spawn` event on the loop. */
async function start(loop: EventLoop, file: string, argv: string[], o: Checked, what: string, extra: SpawnOptions = {}): Promise<Process> {
  childProcess ??= process.getBuiltinModule("node:child_process");
  const child = childProcess.spawn(file, argv, { ...extra, stdio: o.plan.stdio, cwd: o.cwd, env: o.env, windowsHide: true });
  if (child.pid === undefined) {
    // (the spawn failed: Node reports why in an `error` event, next tick)
    await spawnEvent(loop, child, what, o.signal, null);
    throw new Error(`${what}: the child did not start`); // not reached: Node reports a failed spawn as an error
  }
  const proc = new Process(loop, child, { limit: o.limit, mergeStderr: o.plan.merge === "reader" });
  if (o.signal !== undefined) proc._watchAbort(o.signal);
  await spawnEvent(loop, child, what, o.signal, proc);
  return proc;
}

/** Await the child's `spawn` (or `error`) event on a future of the loop; a failure or a cancellation gives the child up. */
function spawnEvent(loop: EventLoop, child: ChildProcess, what: string, signal: AbortSignal | undefined, proc: Process | null): Promise<void> {
  return awaitEvent(loop, child, "spawn", {
    label: what,
    signal,
    onFail: () => {
      if (proc !== null) proc._discard();
      else for (const s of child.stdio) s?.destroy();
    },
  });
}

/**
 * Where `execvp` would find `program`: null when it is there and executable, else the error code
 * (`ENOENT`, `EACCES`) a direct spawn would give.
 */
function lookUp(program: string, cwd: string | undefined, env: Record<string, string> | undefined): "ENOENT" | "EACCES" | null {
  const base = cwd ?? process.cwd();
  if (cwd !== undefined && !isDir(cwd)) return "ENOENT";
  if (program.includes("/")) return executable(isAbsolute(program) ? program : resolve(base, program));
  const path = (env !== undefined ? env["PATH"] : process.env["PATH"]) ?? "/usr/bin:/bin";
  let found: "ENOENT" | "EACCES" = "ENOENT";
  for (const dir of path.split(delimiter)) {
    const r = executable(resolve(base, dir === "" ? "." : dir, program));
    if (r === null) return null;
    if (r === "EACCES") found = "EACCES";
  }
  return found;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function executable(p: string): "ENOENT" | "EACCES" | null {
  try {
    if (statSync(p).isDirectory()) return "EACCES";
  } catch {
    return "ENOENT";
  }
  try {
    accessSync(p, fsConstants.X_OK);
    return null;
  } catch {
    return "EACCES";
  }
}

/** An error of the shape of Node's failed spawn (`spawn nosuch ENOENT`). */
function spawnError(program: string, args: string[], code: "ENOENT" | "EACCES"): Error {
  const errno = osConstants.errno[code];
  return Object.assign(new Error(`spawn ${program} ${code}`), { errno: -errno, code, syscall: `spawn ${program}`, path: program, spawnargs: args });
}
