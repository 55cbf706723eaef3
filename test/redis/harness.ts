/**
 * Test harness of the Redis executor: a private `redis-server` per test file (loopback, free port,
 * temporary directory, no persistence unless asked) and `aio worker` child processes.
 *
 * When `redis-server` is missing the tests say so; in CI (`CI=true`) they fail instead of skipping.
 *
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { moduleFunction } from "../../src/executors/executor.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const AIO = join(ROOT, "dist/src/cli/aio.js");
export const TASKS = fileURLToPath(new URL("./fixtures/tasks.mjs", import.meta.url));

/** The fixture module's functions, as the tests submit them. */
export const fns = {
  add: moduleFunction<(a: number, b: number) => number>(TASKS, "add"),
  echo: moduleFunction<(x: unknown) => unknown>(TASKS, "echo"),
  fail: moduleFunction<(m: string) => never>(TASKS, "fail"),
  sleepy: moduleFunction<(ms: number, log?: string, label?: string) => Promise<string>>(TASKS, "sleepy"),
  whoAmI: moduleFunction<() => string>(TASKS, "whoAmI"),
  oddFails: moduleFunction<(x: number) => number>(TASKS, "oddFails"),
  returnsFunction: moduleFunction<() => () => number>(TASKS, "returnsFunction"),
  blockFor: moduleFunction<(ms: number) => string>(TASKS, "blockFor"),
};

/** Fast stalled-job recovery for the tests' workers (about a second). */
export const FAST_RECOVERY = ["--lock-duration", "1000", "--stalled-interval", "500"];

/** The lines a task fixture appended to `path` (none if it does not exist yet). */
export function readLog(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** The redis-server binary, or null. */
export function redisServerPath(): string | null {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/** Why the Redis tests cannot run here, or null if they can. Throws in CI. */
export function redisUnavailable(): string | null {
  if (redisServerPath() === null) {
    const msg = "redis-server is not installed (apt-get install -y redis-server); the Redis executor tests cannot run";
    if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`${msg}: in CI this is a failure`);
    console.warn(`SKIPPED: ${msg}`);
    return msg;
  }
  if (!existsSync(AIO)) throw new Error(`${AIO} is missing: run npm run build before the Redis tests`);
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Wait until `child` prints a line matching `re` (on stdout or stderr); rejects on exit or after `ms`. */
export function waitForOutput(child: ChildProcess, re: RegExp, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (re.test(out)) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`${what} exited (${code}) before printing ${re}:\n${out}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} did not print ${re} within ${ms} ms:\n${out}`));
    }, ms);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", onExit);
  });
}

/** The exit code once the child has exited and its output has been read. */
export function waitExit(child: ChildProcess): Promise<number | null> {
  const closed = child.stdout === null || (child.stdout.readableEnded && (child.stderr?.readableEnded ?? true));
  if ((child.exitCode !== null || child.signalCode !== null) && closed) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("close", (code) => resolve(code)));
}

export interface RedisOptions {
  /** Append-only file with fsync on every write: data survives a restart. */
  persist?: boolean;
  /** Serve TLS only (self-signed certificate made with openssl). */
  tls?: boolean;
  /** Extra redis-server arguments (`["--proto-max-bulk-len", "1mb"]`). */
  args?: string[];
}

/** A private redis-server. */
export class RedisServer {
  proc: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), "aio-redis-"));
  port = 0;
  constructor(readonly options: RedisOptions = {}) {}

  get url(): string {
    return `${this.options.tls ? "rediss" : "redis"}://127.0.0.1:${this.port}`;
  }

  /** The CA certificate (the self-signed certificate itself) when TLS is on. */
  get caFile(): string {
    return join(this.dir, "cert.pem");
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    if (this.options.tls && !existsSync(this.caFile)) {
      execFileSync("openssl", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", join(this.dir, "key.pem"), "-out", this.caFile,
      ], { stdio: "ignore" });
    }
    const args = ["--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--daemonize", "no", "--protected-mode", "no"];
    if (this.options.persist) args.push("--appendonly", "yes", "--appendfsync", "always");
    else args.push("--appendonly", "no");
    if (this.options.tls) {
      args.push("--port", "0", "--tls-port", String(this.port), "--tls-cert-file", this.caFile,
        "--tls-key-file", join(this.dir, "key.pem"), "--tls-ca-cert-file", this.caFile, "--tls-auth-clients", "no");
    } else args.push("--port", String(this.port));
    if (this.options.args) args.push(...this.options.args);
    const p = track(spawn(redisServerPath()!, args, { stdio: ["ignore", "pipe", "pipe"] }));
    this.proc = p;
    await waitForOutput(p, /Ready to accept connections/, 10_000, "redis-server");
  }

  /** Run a redis-cli command against this server (plain TCP only). */
  cli(...args: string[]): string {
    return execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", String(this.port), ...args], { encoding: "utf8" }).trim();
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p === null) return;
    p.kill(signal);
    await waitExit(p);
  }

  async dispose(): Promise<void> {
    await this.stop("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every child this harness started: killed when the test process exits, even after a failed test. */
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once("exit", () => children.delete(c));
  return c;
}

/** An `aio worker` child process. */
export class WorkerProcess {
  readonly proc: ChildProcess;
  output = "";
  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.proc = track(
      spawn(process.execPath, [AIO, "worker", ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...env },
      }),
    );
    this.proc.stdout!.on("data", (b: Buffer) => (this.output += b.toString()));
    this.proc.stderr!.on("data", (b: Buffer) => (this.output += b.toString()));
  }

  static async start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
    const w = new WorkerProcess(args, env);
    await waitForOutput(w.proc, /^ready$/m, 15_000, "aio worker");
    return w;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return waitExit(this.proc);
  }
}

/** Wait until `cond()` is true, polling every 20 ms; rejects after `ms` (a bound, not a timing assert). */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
