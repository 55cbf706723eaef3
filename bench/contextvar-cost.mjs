/**
 * What `ContextVar` costs: a million `set` + `get` pairs inside one task, and spawning 100,000 tasks while a
 * `ContextVar` exists (each task then copies its creator's context), on one or more builds, each case in
 * its own child process, builds alternating.
 *
 *   node bench/contextvar-cost.mjs [NAME=DIST ...]   # default: now=dist (this checkout's build)
 *
 * DIST is a build's `dist/` folder (for an older commit: `git worktree add /tmp/old <sha>`, link its
 * `node_modules`, `npx tsc -p tsconfig.build.json && node scripts/bundle.mjs`). Prints one Markdown table:
 * the median over 5 children of each child's ns per set+get pair and per task.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join, resolve } from "node:path";

const CHILDREN = 5;

if (process.argv[2] === "--child") {
  const { run, ContextVar, createTask, gather } = await import(process.argv[3]);
  const v = new ContextVar("v", { default: 0 });
  const out = await run(async () => {
    const N = 1_000_000;
    let t0 = performance.now();
    for (let i = 0; i < N; i++) {
      v.set(i);
      if (v.get() !== i) throw new Error("wrong value");
    }
    const setGet = ((performance.now() - t0) * 1e6) / N;
    const M = 100_000;
    t0 = performance.now();
    const tasks = [];
    for (let i = 0; i < M; i++) tasks.push(createTask(async () => v.get()));
    await gather(...tasks);
    const spawn = ((performance.now() - t0) * 1e6) / M;
    return { setGet, spawn };
  });
  console.log(JSON.stringify(out));
  process.exit(0);
}

const root = fileURLToPath(new URL("..", import.meta.url));
const builds = process.argv.slice(2).map((a) => [a.slice(0, a.indexOf("=")), resolve(a.slice(a.indexOf("=") + 1))]);
if (builds.length === 0) builds.push(["now", join(root, "dist")]);
const seen = new Map(builds.map(([n]) => [n, { setGet: [], spawn: [] }]));
for (let c = 0; c < CHILDREN; c++) {
  for (const [name, dist] of builds) {
    const entry = pathToFileURL(join(dist, "src", "index.js")).href;
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", entry], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    const m = JSON.parse(r.stdout.trim().split("\n").pop());
    seen.get(name).setGet.push(m.setGet);
    seen.get(name).spawn.push(m.spawn);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`ContextVar cost, Node ${process.versions.node}, median of ${CHILDREN} children`);
console.log("| build | ns per set+get | ns per task spawned with a ContextVar in use |");
console.log("|---|---:|---:|");
for (const [name] of builds) {
  const s = seen.get(name);
  console.log(`| ${name} | ${median(s.setGet).toFixed(0)} | ${median(s.spawn).toFixed(0)} |`);
}
