/**
 * The measured program of the tracing suite (`bench/suites/tracing.mjs`), one case per child process, so
 * that no case inherits another's heap (a recorder's columns of 100,000 tasks, kept until a collection,
 * slowed the next case's rounds when all four shared one process):
 *
 *   node bench/lib/tracing-cases.mjs CASE N ROUNDS [WARMUP]
 *
 * CASE: `disabled` (no tracer), `empty` (an instrument whose hooks do nothing), `floor` (three numbers per
 * event into a reused Float64Array: what any recorder pays at least) or `recorder` (a `TraceRecorder`
 * recording every task). Each round spawns and awaits N trivial tasks (`createTask` + `gather`) on a fresh
 * virtual-time loop with the case's instrument installed. WARMUP untimed rounds (default 5) first. Prints
 * one JSON line: `{ nsPerTask: [one per round], meanNsPerTask }`.
 */
import { pathToFileURL } from "node:url";
import { shiftNurseryPhase } from "./gc-phase.mjs";

const [which, nArg, roundsArg, warmupArg] = process.argv.slice(2);
const N = Number(nArg);
const ROUNDS = Number(roundsArg);
const WARMUP = warmupArg === undefined ? 5 : Number(warmupArg);

const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;
const aio = await import(`${DIST}/src/index.js`);
const tracing = await import(`${DIST}/src/tracing/index.js`);

const FLOOR_HOOKS = ["onTaskCreated", "onTaskScheduled", "onStepStart", "onStepEnd", "onTaskSuspended", "onTaskDone", "onForeignAwait"];
/** The floor instrument's buffer: three numbers for each of up to 12 events per task, reused every round. */
const FLOOR_BUFFER = new Float64Array(3 * 12 * N);

/** Three numbers per event into FLOOR_BUFFER (wrapping around): no task identity, no allocation. */
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

const install = {
  disabled: () => {},
  empty: (loop) => tracing.installTracer(loop, {}),
  floor: (loop) => tracing.installTracer(loop, floorInstrument()),
  recorder: (loop) => tracing.installTracer(loop, new tracing.TraceRecorder({ maxTasks: Infinity }).instrument()),
}[which];
if (install === undefined || !(N > 0) || !(ROUNDS > 0)) {
  console.error("Usage: node bench/lib/tracing-cases.mjs disabled|empty|floor|recorder N ROUNDS [WARMUP]");
  process.exit(2);
}

const trivial = async (i) => i;
const spawnAll = async () => {
  const tasks = new Array(N);
  for (let i = 0; i < N; i++) tasks[i] = aio.createTask(() => trivial(i));
  return (await aio.gather(...tasks)).length;
};

const nsPerTask = [];
for (let r = -WARMUP; r < ROUNDS; r++) {
  shiftNurseryPhase(); // (untimed: the rounds meet the scavenges at random phases, see gc-phase.mjs)
  const loop = aio.newEventLoop({ virtualTime: true });
  install(loop);
  const t0 = process.hrtime.bigint();
  const n = await loop.runUntilComplete(spawnAll);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  loop.close();
  if (r >= 0) nsPerTask.push(ns);
}
console.log(JSON.stringify({ nsPerTask, meanNsPerTask: nsPerTask.reduce((a, b) => a + b, 0) / nsPerTask.length }));
