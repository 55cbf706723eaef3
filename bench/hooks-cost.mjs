/**
 * Do the tracing hooks cost anything when no tracer is installed? Compare the build with a copy of it
 * whose hook call sites (`x._tracer?.onSomething(...);`) are deleted, on spawn+await of 100,000 tasks.
 * Children alternate (hooks, stripped, hooks, ...), 5 pairs; each child reports the median of 5 rounds.
 *
 *   npm run build && node bench/hooks-cost.mjs
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const work = mkdtempSync(join(tmpdir(), "aio-hooks-"));
cpSync(join(root, "dist"), join(work, "dist"), { recursive: true });
cpSync(join(root, "package.json"), join(work, "package.json"));
let stripped = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".js")) {
      const src = readFileSync(p, "utf8");
      const out = src.replace(/[A-Za-z_.?]*_tracer\?\.on[A-Za-z]+\([^;]*\);/g, () => {
        stripped++;
        return "";
      });
      if (out !== src) writeFileSync(p, out);
    }
  }
};
walk(join(work, "dist", "src"));

const child = `
const lib = await import(process.argv[1]);
const N = 100000;
const loop = lib.newEventLoop();
const med = await loop.runUntilComplete(async () => {
  const out = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    const ts = [];
    for (let i = 0; i < N; i++) ts.push(lib.createTask(async () => i));
    await lib.gather(...ts);
    out.push((performance.now() - t0) * 1e6 / N);
  }
  return out.slice(1).sort((a, b) => a - b)[2];
});
console.log(Math.round(med));
`;
const run = (dist) =>
  Number(execFileSync(process.execPath, ["--input-type=module", "-e", child, pathToFileURL(join(dist, "src", "index.js")).href], { encoding: "utf8" }).trim());
const withHooks = [];
const without = [];
for (let i = 0; i < 5; i++) {
  withHooks.push(run(join(root, "dist")));
  without.push(run(join(work, "dist")));
}
rmSync(work, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`hook call sites deleted in the stripped copy: ${stripped}`);
console.log("| build | ns/task (median of 5 children) | children |");
console.log("|---|---:|---|");
console.log(`| with hook sites, no tracer | ${median(withHooks)} | ${withHooks.join(", ")} |`);
console.log(`| hook sites deleted | ${median(without)} | ${without.join(", ")} |`);
console.log(`ratio with/without: ${(median(withHooks) / median(without)).toFixed(2)}x (Node ${process.versions.node})`);
