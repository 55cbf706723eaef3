/**
 * `aio ps PID` / `aio pstree PID` against a real running program (built command: `npm run build` first).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startTarget, stopTargets, target } from "../helpers/ps-target.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const aio = join(root, "dist/src/cli/aio.js");
afterEach(stopTargets);

function aioRun(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  // (spawnSync blocks this process, not the target, which answers from its own)
  const r = spawnSync(process.execPath, [aio, ...args], { cwd: root, encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("aio ps / aio pstree", () => {
  it("aio ps prints one row per task and task waiting for it", async () => {
    const child = await startTarget({ PS_DEBUG: "1" });
    const r = aioRun("ps", String(child.pid));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`process ${child.pid}: ${target}`);
    expect(lines[1]).toMatch(/^task id +task name +state +waiting on +coroutine stack +awaiter name +awaiter id$/);
    expect(lines[2]).toMatch(/^-+$/);
    expect(lines.slice(3).map((l) => l.split(/ {2,}/))).toEqual([
      [expect.stringMatching(/^0x[0-9a-f]+$/), "Task-1", "waiting", expect.stringMatching(/^sleep until \d+ ms$/), "<anonymous> -> TaskGroup.run -> main"],
      [expect.stringMatching(/^0x/), "locker", "waiting", "Lock.acquire", "locker", "Task-1", expect.stringMatching(/^0x/)],
      [expect.stringMatching(/^0x/), "sleeper", "waiting", expect.stringMatching(/^gather\(sleep until \d+ ms, sleep until \d+ ms\)$/), "sleeper", "Task-1", expect.stringMatching(/^0x/)],
    ]);
  });

  it("aio pstree prints the tree", async () => {
    const child = await startTarget();
    const r = aioRun("pstree", String(child.pid));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^process ${child.pid}: .*\\nTasks of the running event loop at \\d+ ms: 3 live\\n└── Task-1: waiting on sleep until \\d+ ms\\n` +
          "    ├── locker: waiting on Lock\\.acquire\\n    └── sleeper: waiting on gather\\(sleep until \\d+ ms, sleep until \\d+ ms\\)\\n$",
      ),
    );
  });

  it("says why when nothing answers, and names bad arguments", async () => {
    const gone = aioRun("ps", "999999999");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^aio ps: no asyncio-ts program with process id 999999999 answers on .*asyncio-ts-999999999\.sock/);
    const bad = aioRun("pstree", "abc");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("aio pstree: expected one process id, e.g. aio pstree 12345, got abc\n");
    const none = aioRun("ps");
    expect(none.stderr).toBe("aio ps: expected one process id, e.g. aio ps 12345, got nothing\n");
    const help = spawnSync(process.execPath, [aio, "--help"], { encoding: "utf8" });
    expect(help.stdout).toContain("aio ps <pid>");
    expect(help.stdout).toContain("aio pstree <pid>");
    // as `aio run --help` and `aio tour --help`: the usage, not a complaint about the process id
    for (const [cmd, flag] of [["ps", "--help"], ["pstree", "-h"]] as const) {
      const asked = aioRun(cmd, flag);
      expect(asked.code, cmd).toBe(0);
      expect(asked.stdout).toBe(help.stdout);
    }
  });
});
