/**
 * The bundled build (`scripts/bundle.mjs`, docs/design.md "The bundled build"): what `npm run build`
 * writes, and the rules that keep the bundle equal to the sources: one kernel shared by every entry point,
 * class names kept, and paths found by `import.meta.url` written from `src/` so that they hold from a chunk
 * (built package: `npm run build` first).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DIST = join(ROOT, "dist", "src");
const url = (p: string): string => pathToFileURL(join(DIST, p)).href;

function files(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, ext));
    else if (ext.test(name)) out.push(relative(ROOT, p).split("\\").join("/"));
  }
  return out.sort();
}

/** Run an ES module program in a fresh Node; its stdout. */
function node(program: string): string {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe("the bundled build", () => {
  it("writes the entries where tsc would, the kernel in core/, shared code in chunks/: no file per module", () => {
    const js = files(DIST, /\.js$/).map((f) => f.slice("dist/src/".length));
    const entries = js.filter((f) => !/(^|\/)chunk-[A-Z0-9]+\.js$/.test(f) && !f.startsWith("chunks/"));
    expect(entries).toEqual([
      "cli/aio.js",
      "cli/ts-hooks.js",
      "core/errors.js",
      "core/index.js",
      "executors/ts-loader.js",
      "executors/worker-api.js",
      "executors/worker-entry.js",
      "index.js",
      "main/index.js",
      "redis/index.js",
      "testing/index.js",
      "tracing/index.js",
    ]);
    // every chunk one folder below dist/src (the rule the paths from src/ rely on)
    for (const f of js) expect(f.split("/"), f).toHaveLength(f === "index.js" ? 1 : 2);
    // the index's door re-exports the public names only (main/index.js also has hidden ones for the others)
    const door = readFileSync(join(DIST, "index.js"), "utf8");
    expect(door).toMatch(/^export \{\n[\s\S]*\} from "\.\/main\/index\.js";\n$/);
    expect(door).not.toContain("__aio_");
    // the declarations stay one per module, as tsc writes them
    expect(files(DIST, /\.d\.ts$/).length).toBeGreaterThan(80);
  });

  it("shares one kernel between the index, testing, tracing and redis: one current task, one set of classes", () => {
    const out = node(`
      const aio = await import(${JSON.stringify(url("index.js"))});
      const testing = await import(${JSON.stringify(url("testing/index.js"))});
      const tracing = await import(${JSON.stringify(url("tracing/index.js"))});
      const redis = await import(${JSON.stringify(url("redis/index.js"))});
      const errors = await import(${JSON.stringify(url("core/errors.js"))});
      await aio.run(async () => {
        const t = aio.createTask(() => aio.sleep(50), { name: "sleeper" });
        await testing.waitAllTasksBlocked();
        testing.advanceClock(50);
        const dump = tracing.dumpTasks({ print: false });
        await t;
        console.log(JSON.stringify({
          current: aio.currentTask()?.getName(),
          dumped: dump.loops[0].roots.map((r) => r.name),
          time: aio.getRunningLoop().time(),
          cancelled: errors.CancelledError === aio.CancelledError,
          redisError: new redis.RedisJobError("x") instanceof aio.AsyncioError,
        }));
      }, { virtualTime: true, name: "main" });`);
    expect(JSON.parse(out)).toEqual({ current: "main", dumped: ["main"], time: 50, cancelled: true, redisError: true });
  });

  it("holds every source module in one file: the other entries take the index's from it (the worker side's copies aside)", () => {
    const where = new Map<string, Set<string>>();
    for (const f of files(DIST, /\.js$/)) {
      for (const m of readFileSync(join(ROOT, f), "utf8").matchAll(/^\/\/ (src\/\S+\.ts)$/gm)) {
        if (!where.has(m[1]!)) where.set(m[1]!, new Set());
        where.get(m[1]!)!.add(f.slice("dist/src/".length));
      }
    }
    expect(where.size).toBeGreaterThan(80);
    const twice = [...where].filter(([, fs]) => fs.size > 1).map(([m, fs]) => `${m}: ${[...fs].sort().join(", ")}`);
    // the worker side's copies: state on globalThis, or used on another thread (bundle.mjs, SHARED_WITH_WORKERS)
    expect(twice.map((t) => t.split(":")[0]).sort()).toEqual(["src/cli/ts-hooks.ts", "src/executors/protocol.ts", "src/executors/worker-api.ts"]);
    // what `import "asyncio-ts"` loads: the door, the index, the kernel's two files
    expect([...where].filter(([m]) => m.startsWith("src/sync/") || m.startsWith("src/combinators/")).every(([, fs]) => [...fs].join() === "main/index.js")).toBe(true);
    expect([...where.get("src/core/task.ts")!]).toEqual(["core/index.js"]);
    expect([...where.get("src/core/errors.ts")!]).toEqual(["core/errors.js"]);
  });

  it("keeps the names of the classes it exports (err.name, constructor.name, stacks)", () => {
    const out = node(`
      const aio = await import(${JSON.stringify(url("index.js"))});
      const bad = [];
      for (const [k, v] of Object.entries(aio)) {
        if (typeof v === "function" && /^class\\b/.test(Function.prototype.toString.call(v)) && v.name !== k) bad.push(k + " is named " + v.name);
      }
      const g = new aio.ExceptionGroup("two", [new Error("a"), new Error("b")]);
      console.log(JSON.stringify({ bad, classes: Object.values(aio).filter((v) => typeof v === "function" && /^class\\b/.test(Function.prototype.toString.call(v))).length, group: String(g).split("\\n")[0], cancelled: new aio.CancelledError("m").name }));`);
    const r = JSON.parse(out) as { bad: string[]; classes: number; group: string; cancelled: string };
    expect(r.bad).toEqual([]);
    expect(r.classes).toBeGreaterThan(40);
    expect(r.group).toMatch(/^ExceptionGroup: two/);
    expect(r.cancelled).toBe("CancelledError");
  });

  it("the sources find files by import.meta.url from src/ (so from a chunk too): no './' outside the kernel, every such file one folder below src/", () => {
    const offenders: string[] = [];
    for (const f of files(join(ROOT, "src"), /\.ts$/)) {
      const text = readFileSync(join(ROOT, f), "utf8");
      const lines = text.split("\n").filter((l) => l.includes("import.meta.url") && !/^\s*(\*|\/\/)/.test(l));
      if (lines.length === 0) continue;
      if (f.split("/").length !== 3) offenders.push(`${f}: not one folder below src/`);
      if (f.startsWith("src/core/")) continue; // (bundled into dist/src/core/ alone: its own folder is the kernel's)
      for (const l of lines) if (/new URL\(\s*["'`]\.\//.test(l)) offenders.push(`${f}: ${l.trim()}`);
    }
    expect(offenders).toEqual([]);
  });

  it("shows the library's frames above the kernel in a task's own call graph, as from the sources (the index is one file)", () => {
    const out = node(`
      const aio = await import(${JSON.stringify(url("index.js"))});
      async function inner() { console.log(aio.formatCallGraph()); }
      await aio.run(async function main() {
        await aio.timeout(1000, async function body() {
          await aio.sleep(1);
          await inner();
        });
      });`);
    const calls = out.split("\n").filter((l) => l.includes(" in ")).map((l) => l.replace(/^.* in /, ""));
    // (the same program from src/ prints these four, runIn's frame in src/time/timeout.ts)
    expect(calls).toEqual(["inner()", "body()", "async runIn()", "async main()"]);
    expect(out).toContain(`${join("dist", "src", "main", "index.js")}', line`);
  });

  it("tells a build without its worker entry from a user's bundle (the executors' code is in main/index.js)", () => {
    const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-no-entry-"));
    try {
      cpSync(join(ROOT, "dist"), join(dir, "dist"), { recursive: true });
      cpSync(join(ROOT, "package.json"), join(dir, "package.json"));
      rmSync(join(dir, "dist", "src", "executors", "worker-entry.js"));
      const r = spawnSync(
        process.execPath,
        ["--input-type=module", "-e", `const aio = await import(${JSON.stringify(pathToFileURL(join(dir, "dist", "src", "index.js")).href)});
          await aio.run(async () => { try { const p = new aio.ThreadPoolExecutor({ maxWorkers: 1 }); await p.submit((a) => a + 1, 1); await p.shutdown(); } catch (e) { console.log(e.message); } });`],
        { encoding: "utf8", timeout: 30_000, env: { ...process.env, ASYNCIO_TS_WORKER_ENTRY: "" } },
      );
      expect(r.stdout).toContain("which is missing: in a checkout of asyncio-ts, run `npm run build`");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
