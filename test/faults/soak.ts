/**
 * The soak: `npm run soak [-- --count N --from S --executors-every K --scale-every M --real-every R]` runs
 * N generated fault programs (`programs.ts`, default 10,000): one in K (default 50) with faulty executor
 * jobs on real workers, one in M (default 500) a scale program (100,000 tasks, some left for run() to
 * cancel), one in R (default 100) a real-clock program with delays beyond Node's timers. It prints a
 * summary (programs run, faults injected by kind, invariant violations, the heap after a full collection
 * at the start and at the end) and fails (exit code 1) on any violation, including a heap that did not come
 * back near its baseline (more than 1.5 times it plus 16 MB after the last program).
 *
 * @module
 */
import { runProgram, runRealClockProgram, runScaleProgram } from "./programs.js";

const args = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const count = num("--count", 10_000);
const from = num("--from", 1_000_000);
const every = num("--executors-every", 50);
const scaleEvery = num("--scale-every", 500);
const realEvery = num("--real-every", 100);
const gc = (globalThis as { gc?: () => void }).gc;
const heap = (): number => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

const faults: Record<string, number> = {};
const violations: string[] = [];
let tasks = 0;
let withExecutors = 0;
let scalePrograms = 0;
let realPrograms = 0;
const t0 = Date.now();
let heapStart = 0;
for (let i = 0; i < count; i++) {
  const ex = every > 0 && i % every === every - 1;
  const scale = scaleEvery > 0 && i % scaleEvery === scaleEvery - 2;
  const real = realEvery > 0 && i % realEvery === realEvery - 3;
  if (ex) withExecutors++;
  if (scale) scalePrograms++;
  if (real) realPrograms++;
  const r = scale ? await runScaleProgram(from + i) : real ? await runRealClockProgram(from + i) : await runProgram(from + i, ex);
  tasks += r.tasks;
  for (const [k, v] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + v;
  for (const v of r.violations) violations.push(`seed ${r.seed}: ${v}`);
  if (i === 99) heapStart = heap();
  if ((i + 1) % 1000 === 0) console.error(`  ${i + 1} programs, ${violations.length} violations`);
}
const heapEnd = heap();
if (gc !== undefined && heapEnd > heapStart * 1.5 + 16e6) {
  violations.push(`memory: the heap grew from ${(heapStart / 1e6).toFixed(1)} MB to ${(heapEnd / 1e6).toFixed(1)} MB`);
}
const injected = Object.values(faults).reduce((a, b) => a + b, 0);
console.log(
  `soak: ${count} programs (seeds ${from}..${from + count - 1}; ${withExecutors} with executor jobs, ${scalePrograms} of 100,000 tasks, ` +
    `${realPrograms} on the real clock), ${tasks} tasks, in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
);
console.log(`faults injected: ${injected} (${Object.entries(faults).sort().map(([k, v]) => `${k} ${v}`).join(", ")})`);
console.log(`invariant violations: ${violations.length}`);
for (const v of violations.slice(0, 20)) console.log(`  ${v}`);
if (gc !== undefined) {
  console.log(`heap after a full collection: ${(heapStart / 1e6).toFixed(1)} MB after 100 programs, ${(heapEnd / 1e6).toFixed(1)} MB at the end`);
}
process.exitCode = violations.length > 0 ? 1 : 0;
