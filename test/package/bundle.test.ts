/**
 * A program bundled with asyncio-ts inside (esbuild), as an ES module and as CommonJS.
 * - Executors: the bundle has no worker entry beside it. Its first executor job fails at once with an
 *   error that says what to ship (not "run npm run build"), and runs once `ASYNCIO_TS_WORKER_ENTRY` names
 *   the package's worker entry.
 * - Stacks: every frame names the bundle's file, and the package's code is told by the markers around each
 *   of its files (src/core/own-code.ts): a task's stack, its traceback and `dumpTasks()` show the same
 *   functions as the program run from the package's files.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-bundle-"));
const DIST = join(ROOT, "dist", "src");
type Format = "esm" | "cjs";
const FORMATS: Format[] = ["esm", "cjs"];

/** A program importing the package's `names` from `entry`, as an ES module (top-level await) or CommonJS. */
function program(format: Format, imports: Record<string, string[]>, body: string, start: string): string {
  const head = Object.entries(imports).map(([entry, names]) =>
    format === "esm"
      ? `import { ${names.join(", ")} } from ${JSON.stringify(join(DIST, entry))};`
      : `const { ${names.join(", ")} } = require(${JSON.stringify(join(DIST, entry))});`,
  );
  return `${head.join("\n")}\n${body}\n${format === "esm" ? `await ${start};` : `${start}.catch((e) => { console.error(e); process.exitCode = 1; });`}\n`;
}

/** Write the program as `name.<ext>`, and bundle it; the paths of both. */
async function bundled(name: string, format: Format, text: string): Promise<{ source: string; bundle: string }> {
  const source = join(dir, `${name}-${format}.${format === "esm" ? "mjs" : "cjs"}`);
  writeFileSync(source, text);
  const bundle = join(dir, "out", `${name}-${format}.${format === "esm" ? "mjs" : "cjs"}`);
  const { warnings } = await build({ entryPoints: [source], bundle: true, platform: "node", format, outfile: bundle, logLevel: "silent" });
  // an ES module bundle builds without a word; CommonJS has no import.meta, which the package reads guarded
  if (format === "esm") expect(warnings.map((w) => w.text)).toEqual([]);
  else for (const w of warnings) expect(w.id).toBe("empty-import-meta");
  return { source, bundle };
}

const EXECUTOR = [
  "const main = async () => {\n  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });\n  try {",
  "    console.log(await getRunningLoop().runInExecutor(ex, (a, b) => a + b, 2, 3));\n  } finally {\n    await ex.shutdown();\n  }\n};",
].join("\n");

const STACKS = `async function inner() { currentTask().printStack(); }
async function failing() { await sleep(1); throw new Error("boom"); }
async function waiter(ev) { await ev.wait(); }
function startWaiter(ev) { return waiter(ev); }
async function main() {
  await inner();
  const t = createTask(() => failing(), { name: "F" });
  try { await t; } catch {}
  t.printStack();
  const ev = new Event();
  const w = createTask(() => startWaiter(ev), { name: "W" });
  await sleep(0);
  w.printStack();
  console.error(dumpTasks({ print: false }).text);
  ev.set();
  await w;
}`;

const executorApp = new Map<Format, string>();
const stacksApp = new Map<Format, { source: string; bundle: string }>();

beforeAll(async () => {
  for (const format of FORMATS) {
    executorApp.set(format, (await bundled("executor", format, program(format, { "index.js": ["run", "ThreadPoolExecutor", "getRunningLoop"] }, EXECUTOR, "run(main)"))).bundle);
    const imports = { "index.js": ["run", "currentTask", "createTask", "sleep", "Event"], "tracing/index.js": ["dumpTasks"] };
    stacksApp.set(format, await bundled("stacks", format, program(format, imports, STACKS, "run(main, { debug: true })")));
  }
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(FORMATS)("executors in a bundle (%s)", (format) => {
  const runBundle = (entry: string) => spawnSync(process.execPath, [executorApp.get(format)!], { encoding: "utf8", cwd: dir, env: { ...process.env, ASYNCIO_TS_WORKER_ENTRY: entry } });

  it("say what to ship instead of 'run npm run build'", () => {
    const r = runBundle("");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("which is not in this bundle");
    expect(r.stderr).toContain("ASYNCIO_TS_WORKER_ENTRY");
    expect(r.stderr).not.toContain("npm run build");
  }, 30_000);

  it("run with ASYNCIO_TS_WORKER_ENTRY pointing at the package's worker entry", () => {
    const r = runBundle(join(DIST, "executors", "worker-entry.js"));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("5\n");
    expect(r.status).toBe(0);
  }, 30_000);

  it("a wrong ASYNCIO_TS_WORKER_ENTRY is named in the error", () => {
    const r = runBundle(join(dir, "nope.js"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("ASYNCIO_TS_WORKER_ENTRY names");
  }, 30_000);
});

/**
 * The frames a program's stacks and task dump show, as `function @ file`: `File "...", line N, in fn`
 * (printStack), `awaits at fn (file:...)` and `created at fn (file:...)` (dumpTasks). A bundler renames
 * a name that clashes (`createTask2`): the digits it adds are dropped.
 */
function framesShown(stderr: string): string[] {
  const out: string[] = [];
  for (const line of stderr.split("\n")) {
    const m = /File "(.+)", line \d+, in (\S+)/.exec(line) ?? /(?:awaits|created) at (?:(\S+) \()?(?:file:\/\/)?([^ ():]+):\d+/.exec(line);
    if (m === null) continue;
    const [file, fn] = line.includes("File ") ? [m[1]!, m[2]!] : [m[2]!, m[1] ?? "<top>"];
    out.push(`${fn.replace(/([A-Za-z])\d+\b/g, "$1")} @ ${file}`);
  }
  return out;
}

describe.each(FORMATS)("a task's stack in a bundle (%s)", (format) => {
  it("shows the program's frames, none of the package's: the same functions as from the package's files", () => {
    const { source, bundle } = stacksApp.get(format)!;
    const fromFiles = spawnSync(process.execPath, [source], { encoding: "utf8", cwd: dir });
    const fromBundle = spawnSync(process.execPath, [bundle], { encoding: "utf8", cwd: dir });
    expect(fromFiles.status, fromFiles.stderr).toBe(0);
    expect(fromBundle.status, fromBundle.stderr).toBe(0);
    const expected = framesShown(fromFiles.stderr);
    // the program run from the package's files shows its own functions only, each from its file
    expect(new Set(expected.map((f) => f.split(" @ ")[1]))).toEqual(new Set([source]));
    const names = expected.map((f) => f.split(" @ ")[0]);
    expect(names.slice(0, 3)).toEqual(["main", "inner", "failing"]);
    expect(names).toContain("startWaiter");
    expect(names.filter((n) => n === "waiter")).toHaveLength(2);
    expect(names).toHaveLength(10);
    expect(framesShown(fromBundle.stderr)).toEqual(expected.map((f) => f.replace(source, bundle)));
    expect(fromBundle.stderr).toContain("Error: boom");
  }, 30_000);
});
