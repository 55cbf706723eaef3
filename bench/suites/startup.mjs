/**
 * Startup suite (issue 18, target 7): the wall time of a whole program that imports asyncio-ts and runs an
 * empty main, `node -e "import('asyncio-ts').then(m => m.run(async () => {}))"`, against `node -e 0` (Node
 * starting and exiting, nothing loaded), on Node 24 (the yardstick) and on this Node beside it. Target:
 * within 20 ms of `node -e 0` on Node 24.
 *
 * Each program is a fresh process started from the scratch project (`../lib/scratch-project.mjs`: the
 * build under test installed as `node_modules/asyncio-ts`), timed by the parent around `spawnSync` (the
 * process's start, the import, the run, the exit). The programs take turns (`ctx.interleave`), 3 per turn;
 * the table shows the median and the spread of each, and the median's excess over `node -e 0` of the same
 * Node. `ASYNCIO_BENCH_IMPORT_BASE=<dist of another build>` adds that build's rows. A p-limit program
 * (import, one limited call) is a reference for what a small package costs on the same path. A bundle of
 * `run()` alone (esbuild of `src/runner/runner.ts` with what it imports: the kernel and the runner, 0.2 MB
 * of the index's 0.56) shows what the runtime itself costs at start-up, apart from the size of the API
 * that the index exports. A note under the table gives V8's compile time alone for the files each of
 * the two loads (`vm.SourceTextModule` over them in a fresh process, median of 9): what the size costs
 * before any of it runs. On a Node with a compile cache for ES modules (22.1+), a row runs the same
 * program with `NODE_COMPILE_CACHE` set to a directory of its own, warmed by the untimed first round:
 * what a user who turns Node's cache on gets (the library does not turn it on for them).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { findNode24, scratchProject } from "../lib/scratch-project.mjs";

/** Issue 18's target 7, in ms over `node -e 0`, on Node 24. */
const TARGET_MS = 20;

/**
 * A program that compiles, without running, every file that a static import of `entry` loads (the
 * closure of its `import ... from "./..."` and `export ... from "./..."`), each as an ES module
 * (`vm.SourceTextModule`, V8's compile alone: no loader, no linking, no evaluation), and prints the ms.
 */
const COMPILE = (entry) => `
  import vm from "node:vm";
  import { readFileSync } from "node:fs";
  import { dirname, resolve } from "node:path";
  const seen = new Set();
  const texts = [];
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    texts.push(text);
    for (const m of text.matchAll(/^(?:import|export)[^;]*?from\\s*"(\\.[^"]+)"|^import\\s*"(\\.[^"]+)"/gm)) walk(resolve(dirname(file), m[1] ?? m[2]));
  };
  walk(${JSON.stringify(entry)});
  const t0 = performance.now();
  for (const [i, text] of texts.entries()) new vm.SourceTextModule(text, { identifier: "m" + i });
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, files: texts.length, bytes: texts.reduce((a, t) => a + t.length, 0) }));
`;

/** Node's compile cache for ES modules (`NODE_COMPILE_CACHE`) came in Node 22.1. */
const hasCompileCache = (version) => {
  const [major, minor] = version.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 1);
};

const EMPTY = "0";
const RUN = (pkg) => `import(${JSON.stringify(pkg)}).then((m) => m.run(async () => {}))`;
const PLIMIT = `import("p-limit").then((m) => m.default(1)(async () => {}))`;

export default async function startupSuite(ctx) {
  const project = scratchProject(ctx, ["p-limit"]);
  const cacheDir = mkdtempSync(join(tmpdir(), "asyncio-ts-compile-cache-"));
  try {
    const runOnly = join(project.dir, "run-only.mjs");
    await build({
      stdin: { contents: `export { run } from ${JSON.stringify(join(ctx.root, "src", "runner", "runner.ts"))};`, resolveDir: ctx.root, loader: "ts" },
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      keepNames: true,
      outfile: runOnly,
      logLevel: "warning",
    });
    const node24 = findNode24(ctx.root);
    const nodes = [...(node24 === null ? [] : [{ tag: `Node ${node24.version}`, version: node24.version, path: node24.path, yardstick: true }]), { tag: `Node ${ctx.nodeVersion}`, version: ctx.nodeVersion, path: process.execPath, yardstick: node24 === null && ctx.nodeVersion.startsWith("24.") }];
    const children = 3;
    const batches = ctx.quick ? 4 : 15;
    const once = (node, code, env = {}) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(node, ["-e", code], { cwd: project.dir, encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${code}: ${r.error?.message ?? `exit ${r.status}`}\n${r.stderr}`);
      return ms;
    };
    const peer = (key, name, node, code, optional = false, env = {}) => ({
      key,
      name,
      optional,
      run: () => ({ nsPerOp: Array.from({ length: children }, () => once(node, code, env)) }),
    });
    const peers = nodes.flatMap((n, i) => [
      peer(`empty${i}`, `node -e 0 (${n.tag})`, n.path, EMPTY),
      peer(`aio${i}`, `asyncio-ts: import + run(empty main) (${n.tag})`, n.path, RUN("asyncio-ts")),
      ...(project.hasBase ? [peer(`base${i}`, `asyncio-ts, baseline build (${n.tag})`, n.path, RUN("asyncio-ts-base"))] : []),
      ...(hasCompileCache(n.version) ? [peer(`cache${i}`, `asyncio-ts with NODE_COMPILE_CACHE, warm (${n.tag})`, n.path, RUN("asyncio-ts"), false, { NODE_COMPILE_CACHE: cacheDir })] : []),
      peer(`runonly${i}`, `run() alone, bundled: import + run(empty main) (${n.tag})`, n.path, RUN("./run-only.mjs")),
      ...(project.peers.includes("p-limit") ? [peer(`plimit${i}`, `p-limit: import + one call (${n.tag})`, n.path, PLIMIT, true)] : []),
    ]);
    const compiled = nodes.map((n) => {
      const one = (entry) => {
        const r = spawnSync(n.path, ["--experimental-vm-modules", "--no-warnings", "--input-type=module", "-e", COMPILE(entry)], { cwd: project.dir, encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0) throw new Error(`compiling ${entry}: ${r.error?.message ?? `exit ${r.status}`}\n${r.stderr}`);
        return JSON.parse(r.stdout.trim().split("\n").pop());
      };
      const median = (entry) => {
        const runs = Array.from({ length: ctx.quick ? 3 : 9 }, () => one(entry));
        return { ...runs[0], ms: ctx.median(runs.map((x) => x.ms)) };
      };
      return { all: median(join(project.dir, "node_modules", "asyncio-ts", "dist", "src", "index.js")), runOnly: median(runOnly) };
    });
    for (const p of peers) p.run(); // one untimed round: the files come from the page cache after it
    const { rows, get } = ctx.interleave(peers, batches);
    for (const row of rows) {
      const i = nodes.findIndex((n) => row.name.endsWith(`(${n.tag})`));
      const empty = get(`empty${i}`);
      row.over = empty === undefined ? undefined : row.nsPerOp - empty;
    }
    const notes = nodes.map((n, i) => {
      const over = (get(`aio${i}`) ?? NaN) - (get(`empty${i}`) ?? NaN);
      const verdict = n.yardstick ? (over <= TARGET_MS ? "met" : "missed") : "reported beside the yardstick: no target";
      return `target (issue 18, 7): asyncio-ts within ${TARGET_MS} ms of node -e 0 on Node 24; ${n.tag}: +${over.toFixed(1)} ms, ${verdict}`;
    });
    ctx.table({
      title: `Startup: a whole \`node -e\` program, wall ms (median of ${batches * children} processes per row; lower is better)`,
      columns: [
        { key: "nsPerOp", label: "median ms", digits: 1 },
        { key: "min", label: "min", digits: 1 },
        { key: "max", label: "max", digits: 1 },
        { key: "over", label: "over node -e 0", digits: 1 },
      ],
      rows,
      notes: [
        ...notes,
        ...nodes.map((n, i) => {
          const { all, runOnly: ro } = compiled[i];
          const kb = (b) => `${Math.round(b / 1024)} KB`;
          return `V8's compile alone (vm.SourceTextModule, nothing run), ${n.tag}: the ${all.files} files import "asyncio-ts" loads (${kb(all.bytes)}) ${all.ms.toFixed(1)} ms; run() alone, bundled (${kb(ro.bytes)}) ${ro.ms.toFixed(1)} ms`;
        }),
        `${ctx.cores} cores; programs interleaved; timed around spawnSync in the parent`,
      ],
    });
  } finally {
    project.remove();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
