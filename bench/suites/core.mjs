/**
 * Core suite: the costs of tasks themselves, side by side with raw promises, Effect and CPython.
 *
 * - spawn + await of 100,000 trivial tasks: asyncio-ts (`createTask` + `gather`, with and without an
 *   empty tracer installed), raw `Promise.all` over async functions (also with each call inside
 *   `AsyncLocalStorage.run`, which every task pays on Node), Effect (`Effect.forkChild` +
 *   `Fiber.joinAll`), CPython (`create_task` + `asyncio.gather`);
 * - 100,000 concurrent 10 ms sleeps on the real clock: wall time and peak RSS;
 * - heap bytes per pending task.
 *
 * Every case runs in its own child process (`bench/lib/core-cases.mjs`, `bench/py/core.py`) so each
 * gets a clean heap and its own peak RSS; the batches of the peers are interleaved so that load from
 * other processes on the machine spreads over all of them. Spawn figures are means over many rounds
 * after a warm-up (see core-cases.mjs), then the median across child processes.
 */
const N = 100_000;

export default async function core(ctx) {
  const python = ctx.findPython();
  const node = (group, peer, rounds, flags = [], n = N) =>
    ctx.runJson("node", [...flags, "bench/lib/core-cases.mjs", group, peer, String(n), String(rounds)]);
  const py = (group, rounds) =>
    python === null ? null : ctx.runJson("python3", ["bench/py/core.py", group, String(N), String(rounds)], { env: python.env });
  const pyName = python === null ? "CPython (python3 not found)" : `CPython ${python.version} asyncio`;

  // ------------------------------------------------------------ spawn + await
  const spawnPeers = [
    ["raw", "raw Promise.all over async fns"],
    ["rawAls", "raw, each call in AsyncLocalStorage.run (reference)"],
    ["rawTagged", "floor: raw, every promise tagged by promise hooks (issue 11's design)"],
    ["aio", "asyncio-ts createTask + gather"],
    ["aioTracer", "asyncio-ts, empty tracer installed"],
    ["effect", "Effect forkChild + Fiber.joinAll"],
  ];
  // Each child process runs 5 warm-up rounds, then `rounds` timed rounds, and reports the mean over
  // them (garbage collections included); a row is the median of the children's means.
  const batches = ctx.quick ? 1 : 3;
  // 20 rounds: on Node 24 a single round of raw promises takes 0.1-1.1 us/task depending on whether a
  // full collection falls in it; fewer rounds make the mean a lottery. CPython varies little.
  const roundsPerBatch = 20;
  const pyRounds = ctx.quick ? 5 : 10;
  const samples = new Map(spawnPeers.map(([k]) => [k, []]));
  const pySamples = [];
  for (let b = 0; b < batches; b++) {
    for (const [k] of spawnPeers) samples.get(k).push(node("spawn", k, roundsPerBatch).meanNsPerTask);
    const p = py("spawn", pyRounds);
    if (p !== null) pySamples.push(p.meanNsPerTask);
  }
  const spawnRows = spawnPeers.map(([k, name]) => row(name, samples.get(k)));
  if (python !== null) spawnRows.push(row(`${pyName} create_task + gather`, pySamples));
  const get = (k) => spawnRows[spawnPeers.findIndex(([x]) => x === k)].median;
  const raw = get("raw");
  const aio = get("aio");
  const notes = [
    `mean ns/task over ${roundsPerBatch} rounds (CPython: ${pyRounds}) after 5 warm-up rounds, in each of ${batches} child process${batches > 1 ? "es" : ""} per peer; median, min and max of those means`,
    `target: asyncio-ts within 2x of raw promises: ${(aio / raw).toFixed(2)}x -> ${aio / raw <= 2 ? "met" : "MISSED"}`,
    `target: ahead of Effect's fork: Effect / asyncio-ts = ${(get("effect") / aio).toFixed(2)} -> ${aio < get("effect") ? "met" : "MISSED"}`,
    `target (issue 18, 2; Node 24): within 1.3x of raw Promise.all: ${(aio / raw).toFixed(2)}x -> ${aio / raw <= 1.3 ? "met" : "MISSED"}${process.versions.node.startsWith("24.") ? "" : " (not Node 24: not judged)"}; the floor, raw under the tagging hook alone: ${(get("rawTagged") / raw).toFixed(2)}x`,
  ];
  if (python !== null) {
    const cp = ctx.median(pySamples);
    notes.push(`target: >= 10x ahead of CPython asyncio: CPython / asyncio-ts = ${(cp / aio).toFixed(1)} -> ${cp / aio >= 10 ? "met" : "MISSED"}`);
    notes.push(`(raw promises themselves: CPython / raw = ${(cp / raw).toFixed(1)}: asyncio-ts cannot be further ahead of CPython than that)`);
  }
  notes.push(`an empty tracer installed vs none: ${fmtPct(get("aioTracer") / aio - 1)} (disabled hooks cost nothing when this is within the noise)`);
  ctx.table({
    title: `spawn + await of ${N.toLocaleString("en-US")} trivial tasks (ns per task)`,
    columns: [
      { key: "median", label: "ns/task", digits: 0 },
      { key: "min", label: "min", digits: 0 },
      { key: "max", label: "max", digits: 0 },
    ],
    rows: spawnRows,
    ratio: { key: "median", baseline: spawnRows[0].name, label: "x raw" },
    notes,
  });

  // ------------------------------------------------------------ gather of coroutine promises
  // `await gather(a(), b(), ...)`, the literal translation of asyncio.gather(a(), b()): each promise
  // becomes a task that owns its async function's work (src/core/adopt.ts). Against Promise.all of the
  // same promises in the same kind of task.
  const coroPeers = [
    ["rawInTask", "Promise.all of N called async fns, in a task"],
    ["aioCoro", "asyncio-ts gather(...promises) of the same"],
  ];
  const coroSamples = new Map(coroPeers.map(([k]) => [k, []]));
  for (let b = 0; b < batches; b++) for (const [k] of coroPeers) coroSamples.get(k).push(node("spawn", k, 10).meanNsPerTask);
  const coroRows = coroPeers.map(([k, name]) => row(name, coroSamples.get(k)));
  ctx.table({
    title: `gather of ${N.toLocaleString("en-US")} promises of called async functions (ns per promise)`,
    columns: [
      { key: "median", label: "ns/promise", digits: 0 },
      { key: "min", label: "min", digits: 0 },
      { key: "max", label: "max", digits: 0 },
    ],
    rows: coroRows,
    ratio: { key: "median", baseline: coroRows[0].name, label: "x Promise.all" },
    notes: ["mean ns/promise over 10 rounds after 5 warm-up rounds in each child process; median, min and max of those means"],
  });

  // ------------------------------------------------------------ concurrent sleeps
  const sleepPeers = [
    ["raw", "raw setTimeout promises"],
    ["rawTagged", "floor: raw, every promise tagged by promise hooks (issue 11's design)"],
    ["aio", "asyncio-ts createTask(sleep(10)) + gatherAll"],
    ["effect", "Effect forkChild(Effect.sleep) + joinAll"],
  ];
  const sleepRuns = ctx.quick ? 1 : 3;
  const sleepRes = new Map(sleepPeers.map(([k]) => [k, []]));
  const pySleeps = [];
  for (let r = 0; r < sleepRuns; r++) {
    for (const [k] of sleepPeers) sleepRes.get(k).push(node("sleeps", k, 1));
    const p = py("sleeps", 1);
    if (p !== null) pySleeps.push(p);
  }
  const sleepColumns = [
    { key: "wall", label: "wall ms", digits: 0 },
    { key: "rss", label: "peak RSS MiB", digits: 0 },
    { key: "rssDelta", label: "RSS growth MiB", digits: 0 },
  ];
  const sleepTitle = (n) => `${n.toLocaleString("en-US")} concurrent 10 ms sleeps, real clock (wall ms from the first spawn to the last wake-up; peak RSS in MiB)`;
  const sleepRow = (name, runs) => ({
    name,
    wall: ctx.median(runs.map((r) => r.wallMs)),
    rss: ctx.median(runs.map((r) => r.maxRssKiB / 1024)),
    rssDelta: ctx.median(runs.map((r) => (r.maxRssKiB - r.baseRssKiB) / 1024)),
  });
  const sleepRows = sleepPeers.map(([k, name]) => sleepRow(name, sleepRes.get(k)));
  if (python !== null) sleepRows.push(sleepRow(`${pyName} create_task(sleep(0.01)) + gather`, pySleeps));
  ctx.table({
    title: sleepTitle(N),
    columns: sleepColumns,
    rows: sleepRows,
    ratio: { key: "wall", baseline: sleepRows[0].name, label: "wall x raw" },
    notes: [
      `median of ${sleepRuns} child process${sleepRuns > 1 ? "es" : ""} per peer, one round each; peak RSS = the child's maxRSS (getrusage); growth = peak minus maxRSS before the round`,
      sleepVerdict(sleepRows),
    ],
  });

  // ------------------------------------------------------------ a million sleeping tasks (issue 18, target 3)
  if (!ctx.quick) {
    const MILLION = 1_000_000;
    const millionRows = sleepPeers.map(([k, name]) => sleepRow(name, [node("sleeps", k, 1, [], MILLION)]));
    ctx.table({
      title: sleepTitle(MILLION),
      columns: sleepColumns,
      rows: millionRows,
      ratio: { key: "wall", baseline: millionRows[0].name, label: "wall x raw" },
      notes: ["one child process per peer, one round (each takes seconds); the sleeps all end after the last one started"],
    });
  }

  // ------------------------------------------------------------ memory per task
  const memPeers = [
    ["raw", "raw async fn awaiting a pending promise"],
    ["rawThenable", "floor: raw async fn awaiting a thenable (as a task awaits a Future)"],
    ["rawThenableTagged", "floor: the same, every promise tagged by promise hooks (issue 11's design)"],
    ["aio", "asyncio-ts task awaiting a pending Future"],
    ["effect", "Effect fiber awaiting a Deferred"],
  ];
  const memRuns = ctx.quick ? 1 : 2;
  const memRows = memPeers.map(([k, name]) => {
    const xs = [];
    for (let r = 0; r < memRuns; r++) xs.push(node("memory", k, 1, ["--expose-gc"]).bytesPerTask);
    return { name, bytes: ctx.median(xs) };
  });
  if (python !== null) memRows.push({ name: `${pyName} task awaiting a Future (tracemalloc)`, bytes: py("memory", 1).bytesPerTask });
  ctx.table({
    title: `memory per pending task (bytes; ${N.toLocaleString("en-US")} started tasks)`,
    columns: [{ key: "bytes", label: "bytes/task", digits: 0 }],
    rows: memRows,
    ratio: { key: "bytes", baseline: memRows[0].name, label: "x raw" },
    notes: [
      "Node: heapUsed after gc() before and after starting the tasks; CPython: tracemalloc (Python objects only)",
      memVerdict(memRows),
    ],
  });

  function row(name, xs) {
    return { name, median: ctx.median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  }
}

/** Issue 18's target 4 (100,000 sleeps within 1.2x of raw setTimeout promises in wall time and peak RSS). */
function sleepVerdict(rows) {
  const [raw, tagged, aio] = rows;
  const w = aio.wall / raw.wall;
  const r = aio.rss / raw.rss;
  const ok = w <= 1.2 && r <= 1.2;
  return `target (issue 18, 4; Node 24): within 1.2x of raw in wall time and peak RSS: ${w.toFixed(2)}x, ${r.toFixed(2)}x -> ${ok ? "met" : "MISSED"}${process.versions.node.startsWith("24.") ? "" : " (not Node 24: not judged)"}; the floor, raw under the tagging hook: ${(tagged.wall / raw.wall).toFixed(2)}x, ${(tagged.rss / raw.rss).toFixed(2)}x`;
}

/** Issue 18's target 3 (a pending task at most 750 bytes), beside the floor measured in the same run. */
function memVerdict(rows) {
  const aio = rows.find((r) => r.name.startsWith("asyncio-ts"))?.bytes;
  const floor = rows.find((r) => r.name.startsWith("floor: the same, every promise tagged"))?.bytes;
  if (aio === undefined) return "";
  const verdict = aio <= 750 ? "met" : "MISSED";
  return `target (issue 18, 3): a pending task <= 750 bytes: ${aio.toFixed(0)} -> ${verdict}${floor === undefined ? "" : `; the floor (an await of a thenable, promises tagged), with no task object at all: ${floor.toFixed(0)}`}`;
}

function fmtPct(x) {
  return `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
}
