/**
 * Tracing suite: what the instrumentation hooks cost. Spawn + await of 100,000 trivial tasks
 * (`createTask` + `gather` on a virtual-time loop):
 * - no tracer (the hooks are `loop._tracer?.onX(...)`: one field load and a null test each);
 * - an empty instrument installed (every hook is called and does nothing);
 * - a floor for any recorder: an instrument that writes three numbers per event (kind, loop time, 0)
 *   into one preallocated `Float64Array` it reuses (no task identity, no allocation);
 * - a `TraceRecorder` recording every task (what `aio run --trace` pays).
 * The cases are interleaved round by round in one process, so machine load spreads over all of them;
 * figures are medians. "disabled" must match the core suite's plain spawn figure. The last line says
 * whether issue 18's target holds: the recorder at most 1.5x the disabled median.
 *
 * Run alone: `npm run build && node bench/run.mjs tracing` (add `--quick` for fewer rounds).
 */
import { pathToFileURL } from "node:url";

const N = 100_000;
/** Issue 18's target: recording every task costs at most this many times the untraced spawn. */
const TARGET = 1.5;
/** The floor instrument's buffer: three numbers for each of up to 12 events per task, reused every round. */
const FLOOR_BUFFER = new Float64Array(3 * 12 * N);
const FLOOR_HOOKS = ["onTaskCreated", "onTaskScheduled", "onStepStart", "onStepEnd", "onTaskSuspended", "onTaskDone", "onForeignAwait"];

/** Three numbers per event into FLOOR_BUFFER (wrapping around): what any recorder pays at least. */
function floorInstrument() {
  const buf = FLOOR_BUFFER;
  let i = 0;
  const instrument = {};
  FLOOR_HOOKS.forEach((hook, kind) => {
    instrument[hook] = (t) => {
      if (i === buf.length) i = 0;
      buf[i] = kind;
      buf[i + 1] = t._loop.time();
      buf[i + 2] = 0;
      i += 3;
    };
  });
  return instrument;
}
const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;

export default async function tracingSuite(ctx) {
  const aio = await import(`${DIST}/src/index.js`);
  const tracing = await import(`${DIST}/src/tracing/index.js`);
  const trivial = async (i) => i;
  const spawnAll = async () => {
    const tasks = new Array(N);
    for (let i = 0; i < N; i++) tasks[i] = aio.createTask(() => trivial(i));
    return (await aio.gather(...tasks)).length;
  };
  const once = async (install) => {
    const loop = aio.newEventLoop({ virtualTime: true });
    install(loop);
    const t0 = process.hrtime.bigint();
    const n = await loop.runUntilComplete(spawnAll);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    loop.close();
    return ns;
  };
  const cases = [
    ["disabled: no tracer installed", () => {}],
    ["an empty instrument installed", (loop) => tracing.installTracer(loop, {})],
    ["floor: 3 numbers per event into a reused Float64Array", (loop) => tracing.installTracer(loop, floorInstrument())],
    ["TraceRecorder recording every task", (loop) => tracing.installTracer(loop, new tracing.TraceRecorder({ maxTasks: Infinity }).instrument())],
  ];
  const rounds = ctx.quick ? 3 : 9;
  const samples = cases.map(() => []);
  for (let r = -1; r < rounds; r++) {
    for (let c = 0; c < cases.length; c++) {
      const ns = await once(cases[c][1]);
      if (r >= 0) samples[c].push(ns); // round -1 warms up
    }
  }
  const rows = cases.map(([name], c) => ({
    name,
    median: ctx.median(samples[c]),
    min: Math.min(...samples[c]),
    max: Math.max(...samples[c]),
  }));
  ctx.table({
    title: `tracing hooks: spawn + await of ${N.toLocaleString("en-US")} trivial tasks (ns per task)`,
    columns: [
      { key: "median", label: "median ns/task", digits: 0 },
      { key: "min", label: "min", digits: 0 },
      { key: "max", label: "max", digits: 0 },
    ],
    rows,
    ratio: { key: "median", baseline: rows[0].name, label: "x disabled" },
    notes: [
      "Disabled hooks are one field test each (`loop._tracer?.onX(...)`); the core suite's plain spawn row is the same figure.",
      "The floor instrument records no task identity and allocates nothing: no recorder can cost less.",
      "Rounds are interleaved in one process; medians of " + rounds + " rounds.",
      verdict(rows),
    ],
  });
  return rows;
}

/** Issue 18's target, met or not, with the ratio it was judged on. */
function verdict(rows) {
  const ratio = rows[rows.length - 1].median / rows[0].median;
  return `Target (issue 18): TraceRecorder <= ${TARGET}x disabled: ${ratio <= TARGET ? "met" : "NOT met"} (${ratio.toFixed(2)}x; the floor instrument ${(rows[2].median / rows[0].median).toFixed(2)}x).`;
}
