/**
 * `aio run`: a program run with tracing (built command: run `npm run build` first; `npm test` does).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const aio = join(root, "dist/src/cli/aio.js");
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "aio-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function aioRun(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [aio, ...args], { cwd: root, encoding: "utf8", timeout: 60_000, env: { ...process.env, CI: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("aio run", () => {
  it("runs a TypeScript program with its arguments, and writes a Chrome trace and an HTML timeline", () => {
    const json = join(tmp, "hello.json");
    const html = join(tmp, "hello.html");
    const r = aioRun("run", fixture("hello.ts"), "world", "3", "--virtual-time", "--trace", json, "--timeline", html);
    expect(r.stdout).toBe("hello world\nping\nping again\nelapsed ok\n");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`wrote ${json}`);
    const trace = JSON.parse(readFileSync(json, "utf8")) as { traceEvents: Array<{ name: string; cat?: string; ph: string; args?: { name?: string } }> };
    const threads = trace.traceEvents.filter((e) => e.name === "thread_name").map((e) => e.args!.name);
    expect(threads).toEqual(["main (Task-1)", "ping (Task-2)"]);
    expect(trace.traceEvents.filter((e) => e.cat === "await").map((e) => e.name)).toEqual([
      "await sleep until 1000 ms", // main: ping has finished by then, so `await p` does not suspend
      "await sleep until 300 ms",
    ]);
    expect(trace.traceEvents.filter((e) => e.cat === "print").map((e) => e.name)).toEqual(["hello world", "ping", "ping again", "elapsed ok"]);
    const page = readFileSync(html, "utf8");
    expect(page).toContain('data-name="Task-2" data-fn="ping"');
    expect(page).toContain('data-label="sleep until 1000 ms"');
    expect(page).toContain("1 s of virtual time");
  });

  it("prints a terminal timeline with --terminal", () => {
    const r = aioRun("run", "--virtual-time", "--terminal", fixture("hello.ts"));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/main \(Task-1\) +●─ sleep until 1000 ms ─+●/);
    expect(r.stderr).toMatch(/ping \(Task-2\) +●─ sleep until 300 ms ─+●/);
  });

  it("names the hung task and what it waits on when the program ends while its loop still waits", () => {
    for (const flags of [["--virtual-time"], []]) {
      const r = aioRun("run", ...flags, fixture("hung.ts"));
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("worker: waiting for the reply\nmain: waiting for worker\n");
      // On virtual time the loop itself notices the deadlock (deadlockTimeout) and cancels the tasks;
      // on the real clock the process runs out of work and aio run reports the hang at exit.
      expect(r.stderr).toContain(
        flags.length > 0
          ? "deadlock on virtual time: for 1000 ms every task was blocked"
          : "the program ended while its event loop still waits: nothing can wake these tasks (a hang)",
      );
      expect(r.stderr).toMatch(/└── Task-1: waiting on worker\n\s+└── worker: waiting on the reply from the server\n/);
      expect(r.stderr).not.toContain("unsettled top-level await");
    }
  });

  it("in debug mode, says where the hung tasks await and where they were created", () => {
    const r = aioRun("run", "--debug", "--virtual-time", fixture("hung.ts"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/└── Task-1 \(main\): waiting on worker/);
    expect(r.stderr).toMatch(/└── worker: waiting on the reply from the server\n\s+awaits at worker .*hung\.ts:8:\d+\)\n\s+created at main .*hung\.ts:12:\d+/);
  });

  it("runs a JavaScript program from outside the package, importing asyncio-ts", () => {
    const js = join(tmp, "prog.mjs");
    writeFileSync(
      js,
      `import { run, sleep, getRunningLoop } from "asyncio-ts";\nimport { dumpTasks } from "asyncio-ts/tracing";\n` +
        `await run(async () => { await sleep(5000); console.log("t", getRunningLoop().time(), typeof dumpTasks); });\n`,
    );
    const r = aioRun("run", js, "--virtual-time");
    expect(r.stdout).toBe("t 5000 function\n");
    expect(r.code).toBe(0);
  });

  it("documents every flag in --help", () => {
    const r = aioRun("run", "--help");
    expect(r.code).toBe(0);
    for (const flag of ["--virtual-time", "--trace <out.json>", "--timeline <out.html>", "--terminal", "--debug", "--progress", "--no-progress", "SIGUSR2", "aio tour", "--fast", "--cell", "--no-timeline"]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it("shows progress lines when asked, even off a terminal", () => {
    const prog = join(tmp, "long.mjs");
    writeFileSync(prog, `import { run, sleep } from "asyncio-ts";\nawait run(async () => { await sleep(50); });\n`);
    const r = aioRun("run", "--progress", prog);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^aio run: \d+ ms, loop time \d+ ms, 1 tasks \(0 live\), 2 steps$/m);
  });

  it("prints the live tasks on SIGUSR2", async () => {
    const child = spawn(process.execPath, [aio, "run", fixture("slow.ts")], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (b: Buffer) => {
        stdout += b.toString();
        if (stdout.includes("ready")) resolve();
      }),
    );
    child.kill("SIGUSR2");
    const until = Date.now() + 20_000;
    while (!stderr.includes("poller") && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    expect(stderr).toContain("aio run: SIGUSR2 received");
    expect(stderr).toMatch(/└── Task-1: waiting on poller\n\s+└── poller: waiting on sleep until \d+ ms/);
  });

  it("explains bad usage", () => {
    expect(aioRun("run").stderr).toContain("aio run: missing the program to run");
    expect(aioRun("run", "x.ts", "--bogus").stderr).toContain("aio run: unknown option --bogus");
    expect(aioRun("run", "x.ts", "--trace").stderr).toContain("--trace needs a file name");
    const r = aioRun("run", "no-such-file.ts");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("aio run: no such file: no-such-file.ts");
  });
});
