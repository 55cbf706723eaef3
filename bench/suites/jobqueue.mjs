/**
 * Job queue suite (issue 17): the cost per job of asyncio-ts's `JobQueue` against p-queue and p-limit,
 * in one run. Target: at least as fast per job as p-queue and p-limit.
 *
 * Workload, the same for every peer: 100,000 trivial async jobs (`async () => i`) added at once to a
 * queue of concurrency 1, 4 or 100, then every job's result awaited (`gatherAll(jobs)` for asyncio-ts,
 * inside `run()`; `Promise.all` for p-queue and p-limit). So a figure is the whole life of a job: adding
 * it, waiting in line, starting it, running it, settling its future or promise, and collecting the
 * result. A second table adds the same jobs with a 60 s time limit each (`timeout`), asyncio-ts against
 * p-queue (p-limit has none).
 *
 * Each measurement runs in its own child process (this file, run as a script: `node
 * bench/suites/jobqueue.mjs case PEER CONCURRENCY JOBS ROUNDS`), after 3 warm-up rounds; peers are
 * interleaved batch by batch. Figures are medians of ns per job.
 *
 * Returns rows `{ name, nsPerOp, peer? }`.
 */
import { pathToFileURL } from "node:url";

const SELF = "bench/suites/jobqueue.mjs";

export default async function jobqueue(ctx) {
  const JOBS = 100_000;
  const batches = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 2 : 3;
  const all = [];
  for (const timeout of [false, true]) {
    for (const concurrency of [1, 4, 100]) {
      const kase = timeout ? "timeout" : "plain";
      const args = (peer) => [SELF, kase, peer, String(concurrency), String(JOBS), String(rounds)];
      const peers = [
        { key: "aio", name: `asyncio-ts JobQueue`, run: () => ctx.runJson("node", args("aio")) },
        { key: "pq", name: `p-queue`, peer: "p-queue", run: () => ctx.runJson("node", args("pQueue")) },
      ];
      if (!timeout) peers.push({ key: "pl", name: `p-limit`, peer: "p-limit", run: () => ctx.runJson("node", args("pLimit")) });
      const { rows, get } = ctx.interleave(peers, batches);
      const aio = get("aio");
      const notes = [`median of ${batches * rounds} rounds of ${JOBS.toLocaleString("en-US")} jobs per peer (${batches} child process${batches > 1 ? "es" : ""} x ${rounds} rounds, after 3 warm-up rounds)`];
      const met = (key, label) => `target: at least as fast as ${label}: ${label} / asyncio-ts = ${(get(key) / aio).toFixed(2)} -> ${aio <= get(key) ? "met" : "MISSED"}`;
      notes.push(met("pq", "p-queue"));
      if (!timeout) notes.push(met("pl", "p-limit"));
      ctx.table({
        title: `job queue, concurrency ${concurrency}, ${JOBS.toLocaleString("en-US")} trivial async jobs${timeout ? " with a 60 s timeout each" : ""} (ns per job)`,
        columns: [
          { key: "nsPerOp", label: "median ns/job", digits: 0 },
          { key: "min", label: "min", digits: 0 },
          { key: "max", label: "max", digits: 0 },
        ],
        rows,
        ratio: { key: "nsPerOp", baseline: rows[0].name, label: "x asyncio-ts" },
        notes,
      });
      for (const { name, nsPerOp, peer } of rows) all.push({ name: `${kase}/concurrency ${concurrency}: ${name}`, nsPerOp, ...(peer ? { peer } : {}) });
    }
  }
  return all;
}

// -------------------------------------------------------------------- the cases (run as a script)

async function loadAsyncio() {
  // The build to measure: the runner's snapshot of dist/ (see run.mjs), else dist/ itself.
  const dist = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;
  const lib = await import(`${dist}/src/index.js`);
  return lib;
}

async function main(kase, peer, concurrency, jobs, rounds) {
  const timeout = kase === "timeout" ? 60_000 : undefined;
  let once;
  if (peer === "aio") {
    const { JobQueue, gatherAll, run } = await loadAsyncio();
    once = () =>
      run(async () => {
        const queue = new JobQueue({ concurrency, timeout });
        const futures = new Array(jobs);
        for (let i = 0; i < jobs; i++) futures[i] = queue.add(async () => i);
        await gatherAll(futures);
      });
  } else if (peer === "pQueue") {
    const { default: PQueue } = await import("p-queue");
    once = async () => {
      const queue = new PQueue({ concurrency, timeout });
      const promises = new Array(jobs);
      for (let i = 0; i < jobs; i++) promises[i] = queue.add(async () => i);
      await Promise.all(promises);
    };
  } else if (peer === "pLimit") {
    const { default: pLimit } = await import("p-limit");
    once = async () => {
      const limit = pLimit(concurrency);
      const promises = new Array(jobs);
      for (let i = 0; i < jobs; i++) promises[i] = limit(async () => i);
      await Promise.all(promises);
    };
  } else {
    console.error(`unknown peer ${peer}`);
    process.exit(2);
  }
  for (let w = 0; w < 3; w++) await once();
  const nsPerOp = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    await once();
    nsPerOp.push(Number(process.hrtime.bigint() - t0) / jobs);
  }
  console.log(JSON.stringify({ nsPerOp }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [, , kase, peer, concurrency, jobs, rounds] = process.argv;
  await main(kase, peer, Number(concurrency), Number(jobs), Number(rounds));
}
