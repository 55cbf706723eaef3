/**
 * The task table a running program gives `aio ps` / `aio pstree` (`src/tracing/task-table.ts`): a real
 * program in a real process, asked over its real socket (built package: `npm run build` first).
 */
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { readTaskTable, taskTablePath } from "../../src/tracing/task-table.js";
import { startTarget, stopTargets, target } from "../helpers/ps-target.js";

const targetLines = readFileSync(target, "utf8").split("\n");
const lineOf = (text: string): number => targetLines.findIndex((l) => l.includes(text)) + 1;
afterEach(stopTargets);

describe("the task table of a running program", () => {
  it("answers with its live tasks, what they wait on and who waits for them", async () => {
    const child = await startTarget();
    const t = await readTaskTable(child.pid!);
    expect(t.pid).toBe(child.pid);
    expect(t.argv[1]).toBe(target);
    expect(t.loops).toHaveLength(1);
    const [loop] = t.loops;
    expect(loop).toMatchObject({ clock: "real", running: true, count: 3 });
    const main = loop!.roots[0]!;
    expect(main).toMatchObject({ name: "Task-1", fn: "", state: "waiting", stack: [] });
    expect(main.awaiting[0]).toMatch(/^sleep until \d+ ms$/);
    expect(main.children.map((c) => [c.name, c.state, c.awaiting.map((a) => a.replace(/\d+/g, "N")), c.awaitedBy.map((w) => w.name)])).toEqual([
      ["locker", "waiting", ["Lock.acquire"], ["Task-1"]],
      ["sleeper", "waiting", ["gather(sleep until N ms, sleep until N ms)"], ["Task-1"]],
    ]);
  });

  it("in debug mode, says where each task awaits", async () => {
    const child = await startTarget({ PS_DEBUG: "1" });
    const t = await readTaskTable(child.pid!);
    const [locker, sleeper] = t.loops[0]!.roots[0]!.children;
    expect(locker!.stack.at(-1)).toContain(`locker (${target}:${lineOf("// locker-await")}:`);
    expect(sleeper!.stack.at(-1)).toContain(`sleeper (${target}:${lineOf("// sleeper-await")}:`);
  });

  it("is turned off by ASYNCIO_TS_PS=0, and removed when the program exits", async () => {
    const off = await startTarget({ ASYNCIO_TS_PS: "0" });
    await expect(readTaskTable(off.pid!)).rejects.toThrow(`no asyncio-ts program with process id ${off.pid} answers on ${taskTablePath(off.pid!)}`);
    const short = await startTarget({ PS_SHORT: "1" });
    expect(existsSync(taskTablePath(short.pid!))).toBe(true);
    const exited = new Promise((r) => short.once("exit", r));
    short.stdin!.end("go\n"); // (the program ends by itself then)
    const code = await exited;
    expect(code).toBe(0);
    expect(existsSync(taskTablePath(short.pid!))).toBe(false);
  });

  it("is not opened by a program that ends within 50 ms: neither node:net nor node:worker_threads is even loaded", () => {
    // (the child times its run(): one that a loaded machine stalled for 40 ms or more proves nothing, and
    // the child is run again, up to five times)
    const program = `
      const { run } = await import(${JSON.stringify(new URL("../../dist/src/index.js", import.meta.url).href)});
      const t0 = performance.now();
      await run(async () => {});
      const ms = performance.now() - t0;
      const { existsSync } = await import("node:fs");
      const sock = ${JSON.stringify(taskTablePath(0))}.replace("-0.sock", "-" + process.pid + ".sock");
      const loaded = (m) => process.moduleLoadList.includes("NativeModule " + m);
      console.log(JSON.stringify({ ms, sock: existsSync(sock), net: loaded("net"), threads: loaded("worker_threads") }));`;
    let got: { ms: number; sock: boolean; net: boolean; threads: boolean } | null = null;
    for (let attempt = 0; attempt < 5 && (got === null || got.ms >= 40); attempt++) {
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000 });
      expect(r.stderr).toBe("");
      got = JSON.parse(r.stdout) as { ms: number; sock: boolean; net: boolean; threads: boolean };
    }
    const { ms, ...seen } = got!;
    expect(seen, `run() took ${ms} ms`).toEqual({ sock: false, net: false, threads: false });
  });

  it("is opened by the main thread only: a worker thread's loop does not answer for the process", () => {
    const index = JSON.stringify(new URL("../../dist/src/index.js", import.meta.url).href);
    const program = `
      const { Worker } = await import("node:worker_threads");
      const { existsSync } = await import("node:fs");
      const sock = ${JSON.stringify(taskTablePath(0))}.replace("-0.sock", "-" + process.pid + ".sock");
      (await import("node:fs")).rmSync(sock, { force: true }); // (a socket left by a killed process that had our pid)
      const body = "const { run, sleep } = await import(" + JSON.stringify(${index}) + "); await run(() => sleep(150));";
      const w = new Worker("import(" + JSON.stringify("data:text/javascript," + encodeURIComponent(body)) + ")", { eval: true });
      await new Promise((r) => w.once("exit", r));
      const inWorker = existsSync(sock);
      const { run, sleep } = await import(${index});
      await run(() => sleep(150));
      console.log(JSON.stringify({ inWorker, inMain: existsSync(sock) }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ inWorker: false, inMain: true });
  });

  it("removes the sockets that killed programs left, and keeps the live ones", async () => {
    // A program killed by a signal or out of memory has no exit event to remove its socket file.
    const dead = spawnSync(process.execPath, ["-e", `const p = require("node:os").tmpdir() + "/asyncio-ts-" + process.pid + ".sock";
      require("node:net").createServer().listen(p, () => process.kill(process.pid, "SIGKILL"));`]);
    expect(dead.signal).toBe("SIGKILL");
    const deadSock = taskTablePath(dead.pid!);
    expect(existsSync(deadSock)).toBe(true);
    // A live process's socket stays, whoever opened it.
    const live = spawn("sleep", ["30"]);
    const liveSock = taskTablePath(live.pid!);
    rmSync(liveSock, { force: true }); // (a socket left by a killed process that had the same pid)
    const server = createServer();
    await new Promise<void>((r) => server.listen(liveSock, r));
    try {
      // (the sweep runs after the socket opens, 50 ms in, with callbacks on the thread pool: the program
      // runs 300 ms, and on a loaded machine waits up to 10 s more for the dead socket to go)
      const program = `const { run, sleep } = await import(${JSON.stringify(new URL("../../dist/src/index.js", import.meta.url).href)});
        const { existsSync } = await import("node:fs");
        await run(async () => {
          await sleep(300);
          for (let i = 0; i < 1000 && existsSync(${JSON.stringify(deadSock)}); i++) await sleep(10);
          await sleep(50);
        });`;
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000 });
      expect(r.stderr).toBe("");
      expect(existsSync(deadSock)).toBe(false);
      expect(existsSync(liveSock)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
      live.kill("SIGKILL");
    }
  });

  it("names a bad process id", async () => {
    await expect(readTaskTable(0)).rejects.toThrow(new RangeError("Expected pid to be a positive integer, got 0"));
    await expect(readTaskTable(1.5)).rejects.toThrow(/Expected pid to be a positive integer, got 1.5/);
  });
});
