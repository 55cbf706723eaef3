/**
 * No worker outlives its parent: a process-pool worker busy in a blocking job (whose event loop never
 * sees its IPC channel close) is killed when the parent is killed with SIGKILL (the orphan guard,
 * `src/executors/process-backend.ts`). Bounded waits, no timing asserted.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

const parent = `
  import { ProcessPoolExecutor } from ${JSON.stringify(dist)};
  const pool = new ProcessPoolExecutor({ maxWorkers: 2 });
  const pids = await Promise.all([pool.submit(() => process.pid), pool.submit(() => { const t = Date.now(); while (Date.now() - t < 50); return process.pid; })]);
  for (let i = 0; i < 2; i++) pool.submit(() => { for (;;); });
  console.log("pids " + [...new Set(pids)].join(","));
  await new Promise(() => setInterval(() => {}, 1000));
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("orphans", () => {
  it("process-pool workers busy in a blocking job die with a parent killed by SIGKILL", async () => {
    expect(existsSync(dist), "build first (npm test does)").toBe(true);
    const p = spawn(process.execPath, ["--input-type=module", "-e", parent], { stdio: ["ignore", "pipe", "inherit"] });
    const pids = await new Promise<number[]>((resolve, reject) => {
      let out = "";
      p.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /pids ([\d,]+)/.exec(out);
        if (m) resolve(m[1]!.split(",").map(Number));
      });
      p.once("exit", () => reject(new Error(`the parent exited early: ${out}`)));
    });
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.every(alive)).toBe(true);
    await new Promise((r) => setTimeout(r, 200)); // the busy jobs are running
    p.kill("SIGKILL");
    const end = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const left = pids.filter(alive);
    for (const pid of left) process.kill(pid, "SIGKILL");
    expect(left).toEqual([]);
  }, 30_000);
});
