/**
 * No worker outlives its parent: a process-pool worker busy in a blocking job (whose event loop never
 * sees its IPC channel close) is killed when the parent is killed with SIGKILL (the orphan guard,
 * `src/executors/process-backend.ts`). Bounded waits, no timing asserted.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
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

/** The pids of `ppid`'s children whose command line contains `marker` (Linux: ps and /proc). */
function childrenWith(ppid: number, marker: string): number[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=", "--ppid", String(ppid)], { encoding: "utf8" });
  } catch {
    return []; // (ps exits 1 when there is no child)
  }
  return out
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((pid) => pid > 0)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
      } catch {
        return false;
      }
    });
}

async function startParent(): Promise<{ p: ReturnType<typeof spawn>; pids: number[] }> {
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
  return { p, pids };
}

async function expectAllDie(pids: number[]): Promise<void> {
  const end = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const left = pids.filter(alive);
  for (const pid of left) process.kill(pid, "SIGKILL");
  expect(left).toEqual([]);
}

describe("orphans", () => {
  it("a guard that was killed is replaced, and the workers it guarded still die with their parent", async () => {
    expect(existsSync(dist), "build first (npm test does)").toBe(true);
    const { p, pids } = await startParent();
    const GUARD = "process.stdin.on"; // (a piece of the guard's source, on its command line)
    let guards = childrenWith(p.pid!, GUARD);
    expect(guards.length).toBe(1);
    process.kill(guards[0]!, "SIGKILL");
    const end = Date.now() + 10_000;
    const first = guards[0]!;
    while (Date.now() < end) {
      guards = childrenWith(p.pid!, GUARD).filter((g) => g !== first);
      if (guards.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(guards.length, "a new guard").toBe(1);
    await new Promise((r) => setTimeout(r, 200)); // (the new guard has read the pids)
    p.kill("SIGKILL");
    await expectAllDie(pids);
  }, 30_000);

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
