/**
 * A running program to look at from outside (`test/tracing/fixtures/ps-target.mjs`), for the tests of
 * `aio ps` and of the task table it reads.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const target = fileURLToPath(new URL("../tracing/fixtures/ps-target.mjs", import.meta.url));
const children: ChildProcess[] = [];

/** Start the target and resolve once its tasks wait and it answers `aio ps` (its socket opens 50 ms after its loop). */
export function startTarget(env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [target], { cwd: root, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (!out.includes("ready\n")) return;
      if (env["ASYNCIO_TS_PS"] === "0") return resolve(child);
      const sock = join(tmpdir(), `asyncio-ts-${child.pid}.sock`);
      const poll = (): void => void (existsSync(sock) ? resolve(child) : setTimeout(poll, 10));
      poll();
    });
    child.on("exit", (code) => reject(new Error(`the target exited (${code}) before it was ready: ${err}`)));
  });
}

/** Kill every target still running (afterEach). */
export function stopTargets(): void {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null) continue;
    c.kill("SIGKILL");
    rmSync(join(tmpdir(), `asyncio-ts-${c.pid}.sock`), { force: true }); // (a killed program cannot remove it)
  }
}
