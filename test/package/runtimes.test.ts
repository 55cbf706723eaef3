/**
 * Deno and Bun run asyncio-ts (docs/design.md "Runtimes"): Deno on V8's promise hooks (the kernel Node
 * runs), Bun on the kernel's fallback (an AsyncLocalStorage carries the strand; no work is taken over).
 * Each program runs on Node in the same test, against the same `dist/`, and the runtime must print what
 * Node prints (Deno and Bun quote strings in `console.log` of an array with `"`, Node with `'`: quotes are
 * compared as one). The tour's seed cells, virtual time with the cancellation forms, thread and process
 * pools, a trace; Bun's clear TypeError for the forms it cannot run; and the packed package installed
 * into a fresh Deno project and a fresh Bun project. The npm packages `bun` and `deno` ship the binaries;
 * `.ci/run` installs them into `bench/.runtimes` (in CI a missing one fails the test, elsewhere it is
 * skipped).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = fileURLToPath(new URL("./fixtures", import.meta.url));
const bin = (name: string): string => join(ROOT, "bench", ".runtimes", "node_modules", ".bin", name);
const runtimes: [string, string, string[]][] = [
  ["Bun", bin("bun"), []],
  ["Deno", bin("deno"), ["run", "-A"]],
];
if (process.env["CI"]) for (const [name, path] of runtimes) if (!existsSync(path)) throw new Error(`the runtimes test needs ${name} in bench/.runtimes (.ci/run installs it)`);

const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-runtimes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const url = (...p: string[]): string => pathToFileURL(join(ROOT, "dist", ...p)).href;
const CLI = join(ROOT, "dist", "src", "cli", "aio.js");

function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import * as aio from ${JSON.stringify(url("src", "index.js"))};\nimport * as tracing from ${JSON.stringify(url("src", "tracing", "index.js"))};\n${body}\n`);
  return file;
}

/** Run `args` with `path` (a runtime, or Node): its stdout, or a failure that shows stderr. */
function out(path: string, args: string[], cwd = dir): string {
  const r = spawnSync(path, args, { cwd, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
  if (r.status !== 0) throw new Error(`${path} ${args.join(" ")} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Output compared across runtimes: `"` as `'`; real-time figures and thread-pool interleavings (real threads) dropped. */
function same(s: string): string {
  const lines = s.replace(/"/g, "'").replace(/[\d.]+ (ms|s|µs) of real time/g, "- of real time").split("\n");
  const threads = lines.filter((l) => l.startsWith("Thread ")).map((l) => l.replace(/^Thread \S+: /, "")).sort();
  return [...lines.filter((l) => !l.startsWith("Thread ") && !l.startsWith("Tour done in")), ...threads].join("\n");
}

const SEED_CELLS = ["3", "8", "9", "10", "12", "13", "21", "22", "34"];

const FORMS = `
const { run, sleep, gather, timeout, createTask, currentTask, Lock, Queue, waitFor, taskGroup, getRunningLoop } = aio;
await run(async () => {
  const p = (...a) => console.log(\`[\${getRunningLoop().time()}]\`, ...a);
  const a = async (n, ms) => { try { await sleep(ms); p("done", n); return n; } catch (e) { p(n, e.name); throw e; } finally { await sleep(1); p("cleanup", n); } };
  p(await gather(a("a1", 10), a("a2", 20)));
  try { await timeout(15, () => gather(a("t1", 10), a("t2", 20))); } catch (e) { p("timeout", e.name); }
  const t = createTask(async () => { await Promise.all([a("p1", 10), a("p2", 30)]); });
  await sleep(15); t.cancel(); try { await t; } catch (e) { p("task", e.name, t.cancelled()); }
  try { await taskGroup(async (tg) => { tg.createTask(() => a("g1", 30)); tg.createTask(async () => { await sleep(5); throw new Error("boom"); }); }); } catch (e) { p("group", e.name, e.exceptions.map((x) => x.message)); }
  const lock = new Lock(); await lock.acquire();
  try { await waitFor(lock.acquire(), 10); } catch (e) { p("lock", e.name, lock.locked()); }
  lock.release();
  const q = new Queue(); try { await waitFor(() => q.get(), 10); } catch (e) { p("queue", e.name); }
  q.putNowait(1); p("queue got", await waitFor(() => q.get(), 10), q.qsize());
  const u = createTask(() => sleep(100, "u"), { name: "U" });
  const racer = createTask(async () => { p("race", await Promise.race([u, sleep(10, "s")])); await sleep(1000); });
  await sleep(20); racer.cancel(); try { await racer; } catch (e) { p("racer", e.name); }
  p("u", await u, u.cancelled(), currentTask().getName());
}, { virtualTime: true });
`;

const EXECUTORS = `
const add = aio.moduleFunction(${JSON.stringify(pathToFileURL(join(dir, "jobs.mjs")).href)}, "add");
await aio.run(async () => {
  const tp = new aio.ThreadPoolExecutor({ maxWorkers: 2 });
  const pp = new aio.ProcessPoolExecutor({ maxWorkers: 1 });
  try {
    const loop = aio.getRunningLoop();
    console.log("thread", await loop.runInExecutor(tp, add, 2, 3), await aio.gather(...[1, 2, 3].map((i) => loop.runInExecutor(tp, add, i, i))));
    console.log("process", await loop.runInExecutor(pp, add, 4, 5));
    console.log("toThread", await aio.toThread(add, 1, 1));
  } finally {
    await tp.shutdown();
    await pp.shutdown();
  }
});
console.log("shut down");
`;

const TRACE = `
const rec = new tracing.TraceRecorder();
await aio.run(async () => {
  const stop = tracing.installTracer(aio.getRunningLoop(), rec.instrument());
  const work = async (ms) => { await aio.sleep(ms); return ms; };
  await aio.gather(aio.createTask(() => work(10), { name: "ten" }), aio.createTask(() => work(20), { name: "twenty" }));
  await aio.timeout(50, () => aio.sleep(5));
  stop();
}, { virtualTime: true });
const trace = rec.trace();
console.log(trace.tasks.map((t) => t.name + " " + t.state).join("\\n"));
console.log(tracing.toChromeTrace(trace).traceEvents.filter((e) => e.ph === "X" || e.ph === "B").map((e) => e.name + "@" + e.ts).join(" "));
console.log(tracing.renderTerminalTimeline(trace, { width: 80 }));
`;

beforeAll(() => {
  writeFileSync(join(dir, "jobs.mjs"), "export function add(a, b) { return a + b; }\n");
});

describe.each(runtimes)("%s", (name, path, args) => {
  const here = existsSync(path);
  const node = (file: string): string => same(out(process.execPath, [file]));
  const on = (file: string): string => same(out(path, [...args, file]));

  it.skipIf(!here)("runs the tour's seed cells on virtual time and prints what Node prints", () => {
    for (const cell of SEED_CELLS) {
      const a = ["tour", "--fast", "--cell", cell, "--no-timeline"];
      expect(same(out(path, [...args, CLI, ...a])), `In [${cell}]`).toBe(same(out(process.execPath, [CLI, ...a])));
    }
  }, 120_000);

  it.skipIf(!here)("virtual time and the cancellation forms: gather(a(), b()) under timeout and task.cancel, Promise.all, TaskGroup, Lock and Queue under waitFor, Promise.race", () => {
    const file = script(`forms-${name}.mjs`, FORMS);
    const node0 = node(file);
    expect(node0).toContain("[179] u u false Task-1");
    expect(on(file)).toBe(node0);
  }, 60_000);

  it.skipIf(!here)("a ThreadPoolExecutor job, a ProcessPoolExecutor job, toThread", () => {
    const file = script(`executors-${name}.mjs`, EXECUTORS);
    expect(node(file)).toBe(same("thread 5 [ 2, 4, 6 ]\nprocess 9\ntoThread 2\nshut down\n"));
    expect(on(file)).toBe(node(file));
  }, 60_000);

  it.skipIf(!here)("tracing: a TraceRecorder's trace, its Chrome export and the terminal timeline", () => {
    const file = script(`trace-${name}.mjs`, TRACE);
    const node0 = node(file);
    expect(node0).toContain("ten      ●─ sleep until 10 ms");
    expect(on(file)).toBe(node0);
  }, 60_000);
});

describe("the tour's chapter beyond the seed: sockets and subprocesses", () => {
  const [, bunPath] = runtimes[0]!;
  const [, denoPath, denoArgs] = runtimes[1]!;
  /** A cell's lines, the elapsed time (real clock) dropped. */
  const cell = (path: string, args: string[], c: string, fast: boolean): string =>
    same(out(path, [...args, CLI, "tour", ...(fast ? ["--fast"] : []), "--cell", c, "--no-timeline"])).replace(/^ {2}\([\d.]+ (ms|s)\)$/gm, "  (elapsed)");

  it.skipIf(!existsSync(bunPath))("Bun: the echo server and the pipeline on virtual time print what Node prints", () => {
    for (const c of ["echo", "pipeline"]) expect(cell(bunPath, [], c, true), c).toBe(cell(process.execPath, [], c, true));
  }, 60_000);

  it.skipIf(!existsSync(denoPath))("Deno: the echo server on the real clock prints what Node prints; a child's stdin pipe fails with an error that says why", () => {
    expect(cell(denoPath, denoArgs, "echo", false)).toBe(cell(process.execPath, [], "echo", false));
    // Deno reads from a child's stdin pipe and closes it (read EBADF): the pipeline's writer says so
    const r = spawnSync(denoPath, [...denoArgs, CLI, "tour", "--fast", "--cell", "pipeline", "--no-timeline"], { cwd: dir, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.stdout + r.stderr).toContain('stdin: PIPE does not work on Deno yet (README, "Runtimes")');
  }, 60_000);
});

const [bunName, bunPath] = runtimes[0]!;
describe.runIf(existsSync(bunPath))(`${bunName}: what needs promise hooks says so`, () => {
  it("shield(a()) and waitFor(a(), ms) throw a TypeError naming the function form; the function forms run", () => {
    const file = script("bun-limits.mjs", `
await aio.run(async () => {
  const work = async () => { await aio.sleep(10); return "w"; };
  const w = work();
  try { aio.shield(w); } catch (e) { console.log(e.name + ": " + e.message); }
  try { await aio.waitFor(w, 5); } catch (e) { console.log(e.name + ": " + e.message); }
  await w;
  console.log(await aio.shield(() => work()), await aio.waitFor(() => work(), 50));
}, { virtualTime: true });`);
    const lines = out(bunPath, [file]).trim().split("\n");
    const why = 'TypeError: Expected aw to be a function, a future or a task on Bun, got a promise: without promise hooks the work of a running async function cannot be taken over, so ';
    expect(lines).toEqual([
      `${why}shield could not protect it. Pass the function instead: shield(() => work()) (README, "Runtimes")`,
      `${why}waitFor could not cancel it. Pass the function instead: waitFor(() => work(), ms) (README, "Runtimes")`,
      "w w",
    ]);
  }, 60_000);
});

describe.runIf(runtimes.some(([, p]) => existsSync(p)))("the packed package in a fresh Deno project and a fresh Bun project", () => {
  let packDir = "";
  let tgz = "";
  const EXAMPLE = "[ 'user 1', 'user 2' ]\nuser 3 took longer than 150 ms\n";
  beforeAll(() => {
    packDir = mkdtempSync(join(tmpdir(), "asyncio-ts-pack-"));
    execFileSync("npm", ["pack", "--pack-destination", packDir, "--silent"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    tgz = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".tgz"))!);
  }, 120_000);
  afterAll(() => {
    if (packDir !== "") rmSync(packDir, { recursive: true, force: true });
  });

  function project(name: string): string {
    const p = join(packDir, name);
    execFileSync("mkdir", ["-p", p]);
    writeFileSync(join(p, "package.json"), JSON.stringify({ name: `consumer-${name}`, version: "1.0.0", private: true, type: "module" }, null, 2));
    copyFileSync(join(FIXTURES, "esm-example.ts"), join(p, "index.ts"));
    return p;
  }

  it.skipIf(!existsSync(bin("deno")))("Deno (npm-installed node_modules, nodeModulesDir manual): the README's example, asyncio-ts tour", () => {
    const p = project("deno");
    writeFileSync(join(p, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tgz], { cwd: p, stdio: ["ignore", "pipe", "pipe"] });
    expect(same(out(bin("deno"), ["run", "-A", "index.ts"], p))).toBe(same(EXAMPLE));
    const tour = out(bin("deno"), ["run", "-A", "node_modules/asyncio-ts/dist/src/cli/aio.js", "tour", "--fast", "--cell", "22", "--no-timeline"], p);
    expect(tour).toContain("start fetching");
    expect(tour).toContain("done fetching");
  }, 60_000);

  it.skipIf(!existsSync(bin("bun")))("Bun (bun install of the tarball): the README's example, asyncio-ts tour", () => {
    const p = project("bun");
    out(bin("bun"), ["install", tgz], p);
    expect(same(out(bin("bun"), ["index.ts"], p))).toBe(same(EXAMPLE));
    const tour = out(bin("bun"), ["node_modules/.bin/asyncio-ts", "tour", "--fast", "--cell", "22", "--no-timeline"], p);
    expect(tour).toContain("start fetching");
    expect(tour).toContain("done fetching");
  }, 60_000);
});
