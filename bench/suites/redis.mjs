/**
 * Redis executor suite: tiny and CPU-bound tasks through a `RedisExecutor` with 1 and 2 local
 * `aio worker` processes (each running one job at a time, `aio worker`'s default), against raw BullMQ
 * (a producer adding the same jobs with `Queue.addBulk` and reading their results from `QueueEvents`,
 * and 1 and 2 BullMQ `Worker` processes of concurrency 1: bench/lib/redis-bullmq-*.mjs) on the same
 * redis-server, and against the thread pool with 1 and 2 threads. Starts its own redis-server (Debian
 * package) on a free loopback port, without persistence.
 *
 * The peers' rounds are interleaved (each round runs every peer once, in a rotated order), so load
 * changes on the shared machine hit them alike; the per-job cost ratio is the median of the ratios
 * of the two peers' samples of the same round. Each sample also records the CPU time spent per job by the calling
 * process, the worker processes and redis-server (from /proc), and a separate 100-job run under
 * `MONITOR` counts the Redis commands per job (bench/lib/redis-monitor.mjs).
 *
 * Run: `npm run build && node bench/run.mjs redis` (add `--quick` for fewer jobs and rounds).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLK_TCK, freePort, procCpuMs, waitFor } from "../lib/child-processes.mjs";
import { serialize } from "node:v8";

/**
 * The build to measure: the runner's snapshot of dist/ (ASYNCIO_BENCH_DIST: another build may rewrite
 * dist/ during the run), else dist/. A snapshot outside the project cannot find bullmq and ioredis
 * (the Redis build imports them by name): it gets a link to the project's node_modules beside it.
 */
function distDir(root) {
  const snap = process.env.ASYNCIO_BENCH_DIST;
  if (snap === undefined) return join(root, "dist");
  try {
    createRequire(join(snap, "src", "redis", "index.js")).resolve("bullmq");
  } catch {
    const link = join(dirname(snap), "node_modules");
    if (!existsSync(link)) symlinkSync(join(root, "node_modules"), link, "dir");
  }
  return snap;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export default async function redisSuite(ctx) {
  let redisServer;
  try {
    redisServer = execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    console.log("\nRedis executor: SKIPPED (redis-server is not installed: apt-get install -y redis-server)");
    return;
  }
  const dist = distDir(ctx.root);
  const lib = await import(pathToFileURL(join(dist, "src/index.js")).href);
  const { RedisExecutor } = await import(pathToFileURL(join(dist, "src/redis/index.js")).href);
  const { startRawProducer } = await import(pathToFileURL(join(ctx.root, "bench/lib/redis-bullmq-producer.mjs")).href);
  const { monitorQueue } = await import(pathToFileURL(join(ctx.root, "bench/lib/redis-monitor.mjs")).href);
  const tasks = join(ctx.root, "test/redis/fixtures/tasks.mjs");
  const aio = join(dist, "src/cli/aio.js");
  const rawWorker = join(ctx.root, "bench/lib/redis-bullmq-worker.mjs");
  const dir = mkdtempSync(join(tmpdir(), "aio-bench-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = spawn(redisServer, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await waitFor(redis, /Ready to accept connections/, "redis-server");

  // The job data and result of noop() as RedisExecutor and aio worker make them: the raw peer sends
  // and stores the same bytes.
  const noopData = { v: 1, m: "tasks", f: "noop", a: serialize([]).toString("base64") };
  const noopResult = { v: 1, r: serialize(0).toString("base64") };

  /** Worker processes by queue. */
  const workers = new Map();
  const startWorkers = async (queue, n, kind, concurrency = 1) => {
    const list = [];
    workers.set(queue, list);
    for (let i = 0; i < n; i++) {
      const args =
        kind === "aio"
          ? [aio, "worker", "--redis", url, "--queue", queue, "--module", tasks, "--concurrency", String(concurrency)]
          : [rawWorker, url, queue, String(concurrency), JSON.stringify(noopResult)];
      const w = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      list.push(w);
      await waitFor(w, /^ready$/m, kind === "aio" ? "aio worker" : "raw BullMQ worker");
    }
  };
  const stopWorkers = async (queues = [...workers.keys()]) => {
    const procs = queues.flatMap((q) => workers.get(q) ?? []);
    for (const q of queues) workers.delete(q);
    await Promise.all(procs.map((w) => new Promise((r) => (w.exitCode !== null ? r() : (w.once("exit", r), w.kill("SIGTERM"))))));
  };

  const TINY = ctx.quick ? 500 : 2000;
  /** Items per job of the batching rows (map's chunksize). */
  const CHUNK = 50;
  const CPU = ctx.quick ? 16 : 32;
  const CPU_ITERS = 1_000_000; // about 10-50 ms of arithmetic per task on this machine (depending on its load)
  const noop = lib.moduleFunction(tasks, "noop");
  const crunch = lib.moduleFunction(tasks, "crunch");
  const rounds = ctx.quick ? 2 : 5;
  const cmpRounds = ctx.quick ? 3 : 7;
  const c8Rounds = ctx.quick ? 2 : 5;
  const MONITORED = 100;

  /** Tasks per second of `count` tasks submitted at once and gathered, on `ex`. */
  const throughput = async (ex, fn, count, arg) => {
    process.stderr.write(`  redis suite: ${count} x ${fn.name} ...\n`);
    const m = await ctx.measure(
      () => lib.run(async () => lib.gather(...Array.from({ length: count }, () => ex.submit(fn, arg)))),
      { rounds, warmup: 1 },
    );
    return { perSec: count / (m.median / 1000), min: count / (m.max / 1000), max: count / (m.min / 1000) };
  };

  /** A peer of the tiny-job comparison: `run(n)` runs n noop jobs and resolves when all results are in. */
  const execPeer = (name, queue) => {
    const ex = new RedisExecutor({ connection: url, queue, keepFinishedJobs: 1 });
    return {
      name,
      queue,
      run: (n) => lib.run(async () => lib.gather(...Array.from({ length: n }, () => ex.submit(noop)))),
      close: () => ex.shutdown(),
      ex,
    };
  };
  const rawPeer = async (name, queue) => {
    const p = await startRawProducer(url, queue, { keep: 1 });
    return { name, queue, run: (n) => p.runJobs("tasks.noop", noopData, n), close: () => p.close() };
  };

  /**
   * Interleaved rounds of `count` tiny jobs on every peer (1 untimed warm-up round): per peer, the
   * samples of ms per job and of CPU ms per job of this process, its workers and redis-server.
   */
  const compare = async (peers, count, nRounds) => {
    const samples = new Map(peers.map((p) => [p.name, []]));
    for (let r = -1; r < nRounds; r++) {
      process.stderr.write(`  redis suite: ${r < 0 ? "warm-up" : `round ${r + 1}/${nRounds}`}, ${count} tiny jobs x ${peers.length} peers ...\n`);
      const order = peers.map((_p, i) => peers[(i + Math.max(r, 0)) % peers.length]);
      for (const p of order) {
        const pids = (workers.get(p.queue) ?? []).map((w) => w.pid);
        const cpu0 = { self: process.cpuUsage(), workers: pids.map(procCpuMs), redis: procCpuMs(redis.pid) };
        const t0 = process.hrtime.bigint();
        const results = await p.run(count);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const self = process.cpuUsage(cpu0.self);
        const workersMs = pids.map(procCpuMs).reduce((s, v, i) => (s === null || v === null || cpu0.workers[i] === null ? null : s + v - cpu0.workers[i]), 0);
        const redisMs = cpu0.redis === null ? null : procCpuMs(redis.pid) - cpu0.redis;
        if (results.length !== count) throw new Error(`${p.name}: ${results.length} results for ${count} jobs`);
        if (r >= 0) {
          samples.get(p.name).push({
            ms: ms / count,
            self: (self.user + self.system) / 1000 / count,
            workers: workersMs === null ? null : workersMs / count,
            redis: redisMs === null ? null : redisMs / count,
          });
        }
      }
    }
    return samples;
  };

  /** Table rows from `compare`'s samples; `pairs`: [peer, its raw BullMQ baseline]. */
  const compareRows = (samples, pairs) =>
    [...samples].map(([name, s]) => {
      const ms = s.map((x) => x.ms);
      const base = pairs.find(([p]) => p === name)?.[1];
      const ratios = base === undefined ? [] : s.map((x, i) => x.ms / samples.get(base)[i].ms);
      const med = (k) => (s.some((x) => x[k] === null) ? null : median(s.map((x) => x[k])) * 1000);
      return {
        name,
        perSec: 1000 / median(ms),
        min: 1000 / Math.max(...ms),
        max: 1000 / Math.min(...ms),
        msPerJob: median(ms),
        ratio: ratios.length > 0 ? median(ratios) : null,
        ratioText: ratios.length > 0 ? `${median(ratios).toFixed(2)}x` : "-",
        ratioRange: ratios.length > 0 ? `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}` : "-",
        self: med("self"),
        workers: med("workers"),
        redis: med("redis"),
      };
    });

  const tinyRows = [];
  let batchGain = NaN;
  const cpuRows = [];
  let cmpRows = [];
  let c8Rows = [];
  const monitored = [];
  const peers = [];
  try {
    for (const n of [1, 2]) {
      const pool = new lib.ThreadPoolExecutor({ maxWorkers: n });
      tinyRows.push({ name: `ThreadPoolExecutor, ${n} thread${n > 1 ? "s" : ""}`, ...(await throughput(pool, noop, TINY)) });
      cpuRows.push({ name: `ThreadPoolExecutor, ${n} thread${n > 1 ? "s" : ""}`, ...(await throughput(pool, crunch, CPU, CPU_ITERS)) });
      await pool.shutdown();
    }

    // RedisExecutor against raw BullMQ, 1 and 2 worker processes each (concurrency 1, aio worker's
    // default), and the two crossed pairs (each side of the executor alone, against raw BullMQ's other
    // side), each peer on its own queue and workers (a queue's event stream is read by one caller only).
    await startWorkers("ex1", 1, "aio");
    await startWorkers("raw1", 1, "raw");
    await startWorkers("xraw1", 1, "raw");
    await startWorkers("xaio1", 1, "aio");
    await startWorkers("ex2", 2, "aio");
    await startWorkers("raw2", 2, "raw");
    const ex1 = execPeer("RedisExecutor, 1 worker", "ex1");
    const raw1 = await rawPeer("raw BullMQ, 1 worker", "raw1");
    const ex2 = execPeer("RedisExecutor, 2 workers", "ex2");
    peers.push(ex1, raw1);
    peers.push(execPeer("RedisExecutor caller, raw BullMQ worker", "xraw1"), await rawPeer("raw BullMQ producer, aio worker", "xaio1"));
    peers.push(ex2, await rawPeer("raw BullMQ, 2 workers", "raw2"));
    const pairs = [
      [ex1.name, raw1.name],
      ["RedisExecutor caller, raw BullMQ worker", raw1.name],
      ["raw BullMQ producer, aio worker", raw1.name],
      [ex2.name, "raw BullMQ, 2 workers"],
    ];
    // Redis commands per job: 100 jobs under MONITOR, 1 worker each, on the fresh queues (so that the
    // count holds no removal of earlier rounds' finished jobs).
    for (const p of [ex1, raw1]) {
      process.stderr.write(`  redis suite: ${MONITORED} jobs under MONITOR, ${p.name} ...\n`);
      monitored.push({ name: p.name, ...(await monitorQueue(url, p.queue, () => p.run(MONITORED))) });
    }
    cmpRows = compareRows(await compare(peers, TINY, cmpRounds), pairs);
    for (const row of cmpRows.filter((r) => r.name === ex1.name || r.name === ex2.name)) {
      tinyRows.push({ name: row.name.replace("worker", "local worker"), perSec: row.perSec, min: row.min, max: row.max });
    }
    for (const [p, n] of [
      [ex1, 1],
      [ex2, 2],
    ]) {
      cpuRows.push({ name: `RedisExecutor, ${n} local worker${n > 1 ? "s" : ""}`, ...(await throughput(p.ex, crunch, CPU, CPU_ITERS)) });
    }
    await Promise.all(peers.splice(0).map((p) => p.close()));
    await stopWorkers();

    // Tiny tasks are bound by Redis round trips per job: concurrency overlaps them (both peers alike).
    await startWorkers("ex2c8", 2, "aio", 8);
    await startWorkers("raw2c8", 2, "raw", 8);
    peers.push(execPeer("RedisExecutor, 2 workers, concurrency 8", "ex2c8"), await rawPeer("raw BullMQ, 2 workers, concurrency 8", "raw2c8"));
    c8Rows = compareRows(await compare(peers, TINY, c8Rounds), [["RedisExecutor, 2 workers, concurrency 8", "raw BullMQ, 2 workers, concurrency 8"]]);
    const c8 = c8Rows[0];
    tinyRows.push({ name: "RedisExecutor, 2 local workers, --concurrency 8", perSec: c8.perSec, min: c8.min, max: c8.max });
    await Promise.all(peers.splice(0).map((p) => p.close()));
    await stopWorkers();

    // Batching (issue 18, target 6): map's chunksize puts CHUNK items in one job, one round trip for all
    // of them; against one job per item on the same worker, rounds interleaved.
    await startWorkers("exmap", 1, "aio");
    const mapEx = new RedisExecutor({ connection: url, queue: "exmap", keepFinishedJobs: 1 });
    const items = Array.from({ length: TINY }, () => 0);
    const perItem = [];
    const chunked = [];
    for (let r = -1; r < cmpRounds; r++) {
      process.stderr.write(`  redis suite: map, ${TINY} items, one job each and chunksize ${CHUNK} ...
`);
      for (const [out, chunksize] of [
        [perItem, 1],
        [chunked, CHUNK],
      ]) {
        const t0 = process.hrtime.bigint();
        const n = await lib.run(async () => {
          let k = 0;
          for await (const _ of mapEx.map(noop, items, { chunksize })) k++;
          return k;
        });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (n !== TINY) throw new Error(`map: ${n} results for ${TINY} items`);
        if (r >= 0) out.push(TINY / (ms / 1000));
      }
    }
    await mapEx.shutdown();
    const mapRow = (name, xs) => ({ name, perSec: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
    tinyRows.push(mapRow("RedisExecutor, 1 local worker, map(), one job per item", perItem));
    tinyRows.push(mapRow(`RedisExecutor, 1 local worker, map(..., { chunksize: ${CHUNK} })`, chunked));
    batchGain = median(chunked) / median(perItem);
  } finally {
    await Promise.allSettled(peers.splice(0).map((p) => p.close()));
    await stopWorkers();
    redis.kill("SIGTERM");
    await new Promise((r) => redis.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
  const columns = [
    { key: "perSec", label: "median tasks/s", digits: 0 },
    { key: "min", label: "min", digits: 0 },
    { key: "max", label: "max", digits: 0 },
  ];
  ctx.table({
    title: `Redis executor: ${TINY.toLocaleString("en-US")} tiny tasks (noop) submitted at once, tasks per second`,
    columns,
    rows: tinyRows,
    ratio: { key: "perSec", baseline: tinyRows[0].name, label: "x 1 thread" },
    notes: [
      "each Redis job is a BullMQ job: added in bulk, taken, locked, completed, and reported through the queue's event stream",
      "(several Redis round trips per job); a worker with --concurrency n overlaps n jobs' round trips",
      `target (issue 18, 6): tiny-job throughput >= 2x one job per item: map with chunksize ${CHUNK} / one job per item = ${batchGain.toFixed(1)}x -> ${batchGain >= 2 ? "met" : "MISSED"}`,
    ],
  });

  const allCmp = [...cmpRows, ...c8Rows];
  ctx.table({
    title: `Redis executor against raw BullMQ: ${TINY.toLocaleString("en-US")} tiny jobs (noop) added at once, ${cmpRounds} interleaved rounds (${c8Rounds} for concurrency 8)`,
    columns: [
      { key: "perSec", label: "median jobs/s", digits: 0 },
      { key: "min", label: "min", digits: 0 },
      { key: "max", label: "max", digits: 0 },
      { key: "msPerJob", label: "ms/job", digits: 3 },
      { key: "ratioText", label: "x raw" },
      { key: "ratioRange", label: "x raw range" },
      { key: "self", label: "caller CPU us/job", digits: 0 },
      { key: "workers", label: "workers CPU us/job", digits: 0 },
      { key: "redis", label: "redis CPU us/job", digits: 0 },
    ],
    rows: allCmp,
    notes: [
      "x raw: per-job time over raw BullMQ's with as many workers, median (and range) of the ratios of same-round samples",
      "crossed rows (1 worker): the executor's caller with a raw BullMQ worker, and a raw BullMQ producer with an aio worker: each side's share",
      "raw BullMQ: Queue.addBulk of the same job data, results read from QueueEvents 'completed' (bench/lib/redis-bullmq-producer.mjs),",
      "  BullMQ Worker processes with the same concurrency returning a value of the same size (bench/lib/redis-bullmq-worker.mjs)",
      `CPU: medians over the rounds, from /proc (${1000 / CLK_TCK} ms ticks for the workers and redis-server); caller = this process`,
      `machine: ${ctx.cores} cores shared with other work; the workers, redis-server and the caller compete for them`,
    ],
  });
  const main = cmpRows.filter((r) => r.ratio !== null && r.name.startsWith("RedisExecutor, "));
  // (judged on the printed value, so that the line never reads "1.30x -> MISSED")
  const worst = Number(Math.max(...main.map((r) => r.ratio)).toFixed(2));
  const each = main.map((r) => `${r.name.replace("RedisExecutor, ", "")} ${r.ratio.toFixed(2)}x`);
  console.log(`  target: RedisExecutor per-job cost <= 1.3x raw BullMQ: ${worst.toFixed(2)}x -> ${worst <= 1.3 ? "met" : "MISSED"} (worse of ${each.join(", ")})`);

  // Commands per job under MONITOR.
  const kinds = new Set();
  for (const m of monitored) for (const k of m.client.keys()) kinds.add(k);
  const sum = (map) => [...map.values()].reduce((a, b) => a + b, 0);
  const rtCols = [...kinds].sort().map((k) => ({ key: k, label: k.replace("EVALSHA ", ""), digits: 2 }));
  ctx.table({
    title: `Redis commands per job: ${MONITORED} tiny jobs under MONITOR, 1 worker (client commands by kind; script-internal commands)`,
    columns: [...rtCols, { key: "clientAll", label: "client total", digits: 2 }, { key: "luaAll", label: "inside scripts", digits: 1 }],
    rows: monitored.map((m) => ({
      name: m.name,
      ...Object.fromEntries([...kinds].map((k) => [k, (m.client.get(k) ?? 0) / MONITORED])),
      clientAll: sum(m.client) / MONITORED,
      luaAll: sum(m.lua) / MONITORED,
    })),
    notes: [
      "addStandardJob: one per job, all of a batch in one pipeline (Queue.addBulk); moveToFinished: one per job, sequential on each worker",
      "(it completes the job and takes the next one); XREAD: the event reader's blocking reads (one brings many events);",
      "measured first, on fresh queues: a finished job's removal (removeOnComplete by age, done by a later job's moveToFinished) is not in it",
    ],
  });

  ctx.table({
    title: `Redis executor: ${CPU} CPU-bound tasks (crunch(${CPU_ITERS.toLocaleString("en-US")})) submitted at once, tasks per second`,
    columns,
    rows: cpuRows,
    ratio: { key: "perSec", baseline: cpuRows[0].name, label: "x 1 thread" },
    notes: [`machine: ${ctx.cores} cores shared with other work: figures are noisy; workers are separate processes (one job at a time each)`],
  });
}
