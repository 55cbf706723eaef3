/**
 * Where a child's standard streams go: CPython's `asyncio.subprocess.PIPE`, `STDOUT` and `DEVNULL`, the
 * check of the `stdin`/`stdout`/`stderr` options, and the plan handed to Node's `spawn` (its `stdio`
 * array, and how `stderr: STDOUT` is done).
 *
 * ## Approach
 * The constants keep CPython's values (`PIPE` -1, `STDOUT` -2, `DEVNULL` -3): a file descriptor is a
 * non-negative integer, so one number says either. `undefined`/`null` and `"inherit"` share the parent's
 * stream (CPython's `None`).
 *
 * `stderr: STDOUT` must make the child's file descriptor 2 a copy of its descriptor 1, so that what it
 * writes to both arrives in one stream *in the order it was written* (a compiler's warnings between its
 * lines of output). Node cannot name the stdout pipe of a child that does not exist yet, and has no hook
 * between `fork` and `exec`; so where stdout is a pipe, the child is started by `/bin/sh`, which copies
 * the descriptor and replaces itself with the program (`exec "$0" "$@" 2>&1`: the same process id, no shell
 * left in between; the shell form puts `exec 2>&1` before the command). Where stdout is not a pipe,
 * stderr is simply given the same target. Rejected: reading two pipes into one reader (the order between
 * them is lost: kept only on Windows, which has no `/bin/sh`), and a Unix socket pair set up through a
 * listening socket (a socket is not a pipe: `/dev/stdout` cannot be opened on it on Linux).
 *
 * @module
 */
import { describe } from "../core/index.js";

/**
 * Connect the stream to a pipe (CPython's `asyncio.subprocess.PIPE`): `proc.stdin` is then a
 * `StreamWriter`, `proc.stdout`/`proc.stderr` a `StreamReader`.
 *
 * @example
 * ```ts
 * import { createSubprocessExec, PIPE, run } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
 *   proc.stdin!.write("ping\n");
 *   console.log(String(await proc.stdout!.readline())); // "ping\n"
 *   proc.stdin!.close();
 *   await proc.wait();
 * });
 * ```
 */
export const PIPE = -1;

/**
 * For `stderr` only: send the child's stderr where its stdout goes, as one stream in the order the child
 * wrote (CPython's `asyncio.subprocess.STDOUT`; `2>&1` in the shell).
 *
 * @example
 * ```ts
 * import { createSubprocessShell, PIPE, run, STDOUT } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessShell("echo out; echo err >&2", { stdout: PIPE, stderr: STDOUT });
 *   const [out, err] = await proc.communicate();
 *   console.log(JSON.stringify(String(out)), err); // "out\nerr\n" null
 * });
 * ```
 */
export const STDOUT = -2;

/**
 * Connect the stream to the null device (CPython's `asyncio.subprocess.DEVNULL`): the child reads
 * nothing, what it writes is dropped.
 *
 * @example
 * ```ts
 * import { createSubprocessShell, DEVNULL, run } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessShell("echo nobody sees this", { stdout: DEVNULL });
 *   console.log(proc.stdout, await proc.wait()); // null 0
 * });
 * ```
 */
export const DEVNULL = -3;

/**
 * Where one standard stream of a child goes: `PIPE`, `DEVNULL`, `"inherit"` (the parent's, as `null` and
 * `undefined`: CPython's `None`), or a file descriptor of this process (a non-negative integer). `stderr`
 * may also be `STDOUT`.
 * @example `{ stdin: PIPE, stdout: "inherit", stderr: DEVNULL }`
 */
export type Stdio = typeof PIPE | typeof DEVNULL | "inherit" | number | null | undefined;

/** One stream, checked: what the child gets. @internal */
export type StdioKind = { kind: "pipe" } | { kind: "devnull" } | { kind: "inherit" } | { kind: "fd"; fd: number } | { kind: "stdout" };

/** The stdio option `name`, checked: a `TypeError`/`RangeError` naming it otherwise. @internal */
export function checkStdio(value: unknown, name: "stdin" | "stdout" | "stderr"): StdioKind {
  const expected = `Expected ${name} to be PIPE, DEVNULL, ${name === "stderr" ? "STDOUT, " : ""}"inherit", a file descriptor (a non-negative integer) or undefined`;
  if (value === undefined || value === null || value === "inherit") return { kind: "inherit" };
  if (typeof value !== "number") throw new TypeError(`${expected}, got ${describe(value)}`);
  if (value === PIPE) return { kind: "pipe" };
  if (value === DEVNULL) return { kind: "devnull" };
  if (value === STDOUT) {
    if (name === "stderr") return { kind: "stdout" };
    throw new RangeError(`${expected}, got -2 (number) (STDOUT is for stderr only)`);
  }
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${expected}, got ${describe(value)}`);
  return { kind: "fd", fd: value };
}

/** What one entry of Node's `stdio` array is. @internal */
export type NodeStdio = "pipe" | "ignore" | "inherit" | number;

/**
 * How to spawn for the three streams: Node's `stdio` array; `merge` says how `stderr: STDOUT` is done
 * with stdout a pipe (`"shell"`: through `/bin/sh`; `"reader"`: both pipes feed `proc.stdout`, Windows
 * only), else `null`.
 * @internal
 */
export interface StdioPlan {
  stdio: [NodeStdio, NodeStdio, NodeStdio];
  merge: "shell" | "reader" | null;
}

/** The plan for three checked streams. @internal */
export function planStdio(stdin: StdioKind, stdout: StdioKind, stderr: StdioKind, platform: NodeJS.Platform = process.platform): StdioPlan {
  const input = toNode(stdin);
  const out = toNode(stdout);
  if (stderr.kind !== "stdout") return { stdio: [input, out, toNode(stderr)], merge: null };
  if (stdout.kind === "pipe") {
    // (through the shell, the shell's own stderr is never written: fd 2 is replaced before the program runs)
    return platform === "win32" ? { stdio: [input, "pipe", "pipe"], merge: "reader" } : { stdio: [input, "pipe", "ignore"], merge: "shell" };
  }
  // stderr goes where stdout goes: our own stdout (fd 1) when inherited
  return { stdio: [input, out, out === "inherit" ? 1 : out], merge: null };
}

function toNode(k: StdioKind): NodeStdio {
  switch (k.kind) {
    case "pipe":
      return "pipe";
    case "devnull":
      return "ignore";
    case "fd":
      return k.fd;
    default:
      return "inherit";
  }
}
