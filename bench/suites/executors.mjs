/**
 * Executors suite: asyncio-ts's ThreadPoolExecutor side by side with Piscina, tinypool, workerpool, a
 * hand-written pipelined postMessage loop (the floor) and CPython's ThreadPoolExecutor.
 *
 * - 100,000 tiny tasks (`x + 1`) on 2 and 4 workers: microseconds per task (lower is better);
 * - 64 CPU-bound tasks of about 20 ms: one thread vs a 2-worker pool (the scaling ratio).
 *
 * Every case runs in its own child process (`bench/lib/executors-cases.mjs`, `bench/py/executors.py`);
 * pools are warmed up before timing; figures are medians of the rounds.
 */
const N = 100_000;

export default async function executors(ctx) {
  const python = ctx.findPython();
  const rounds = ctx.quick ? 2 : 5;
  const node = (c, w, n = N) => ctx.runJson("node", ["bench/lib/executors-cases.mjs", c, String(w), String(n), String(rounds)]);
  const peers = [
    ["aio", "asyncio-ts ThreadPoolExecutor"],
    ["piscina", "Piscina"],
    ["tinypool", "tinypool"],
    ["workerpool", "workerpool (threads)"],
    ["floor", "pipelined postMessage (floor)"],
    ["aioProcess", "asyncio-ts ProcessPoolExecutor"],
  ];
  for (const w of [2, 4]) {
    const rows = [];
    for (const [k, label] of peers) {
      try {
        rows.push({ name: label, us: ctx.median(node(k, w).usPerTask) });
      } catch (e) {
        rows.push({ name: `${label} (failed: ${String(e).slice(0, 60)})`, us: NaN });
      }
    }
    if (python !== null) {
      const r = ctx.runJson("python3", ["bench/py/executors.py", String(w), String(N), String(rounds)], { env: python.env });
      rows.push({ name: `CPython ${python.version} ThreadPoolExecutor`, us: ctx.median(r.usPerTask) });
    }
    ctx.table({
      title: `Executors: ${N.toLocaleString("en")} tiny tasks (x + 1) on ${w} workers, us per task (lower is better)`,
      columns: [{ key: "us", label: "us/task", digits: 2 }],
      rows,
      ratio: { key: "us", baseline: "asyncio-ts ThreadPoolExecutor", label: "x asyncio-ts" },
      notes: [`${ctx.cores} cores; every task submitted at once, then all awaited`],
    });
  }
  const cpu = ctx.runJson("node", ["bench/lib/executors-cases.mjs", "cpu", "2", "0", String(rounds)]);
  const single = ctx.median(cpu.single);
  const two = ctx.median(cpu.pooled);
  ctx.table({
    title: "Executors: 64 CPU-bound tasks of ~20 ms, wall time (ms)",
    columns: [
      { key: "ms", label: "ms", digits: 0 },
      { key: "speedup", label: "speed-up", digits: 2 },
    ],
    rows: [
      { name: "single thread", ms: single, speedup: 1 },
      { name: "ThreadPoolExecutor, 2 workers", ms: two, speedup: ctx.median(cpu.speedup) },
    ],
    notes: [`${ctx.cores} cores; one process, same task size, rounds interleaved; speed-up is the median of the per-round ratios (target: 1.9 on 2 free cores)`],
  });
}
