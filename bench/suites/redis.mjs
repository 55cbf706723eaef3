/**
 * Redis executor suite: throughput of tiny and CPU-bound tasks through a `RedisExecutor` with 1 and 2
 * local `aio worker` processes (each running one job at a time), against the thread pool with 1 and 2
 * threads. Starts its own redis-server (Debian package) on a free loopback port, without persistence.
 *
 * Run: `npm run build && node bench/run.mjs redis` (add `--quick` for fewer rounds).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitFor(child, re, what) {
  return new Promise((resolve, reject) => {
    let out = "";
    const on = (b) => {
      out += b.toString();
      if (re.test(out)) resolve();
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.once("exit", (code) => reject(new Error(`${what} exited (${code}):\n${out}`)));
  });
}

export default async function redisSuite(ctx) {
  let redisServer;
  try {
    redisServer = execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    console.log("\nRedis executor: SKIPPED (redis-server is not installed: apt-get install -y redis-server)");
    return;
  }
  const lib = await import(pathToFileURL(join(ctx.root, "dist/src/index.js")).href);
  const { RedisExecutor } = await import(pathToFileURL(join(ctx.root, "dist/src/redis/index.js")).href);
  const tasks = join(ctx.root, "test/redis/fixtures/tasks.mjs");
  const aio = join(ctx.root, "dist/src/cli/aio.js");
  const dir = mkdtempSync(join(tmpdir(), "aio-bench-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = spawn(redisServer, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await waitFor(redis, /Ready to accept connections/, "redis-server");
  const workers = [];
  const startWorkers = async (n, queue, concurrency = 1) => {
    for (let i = 0; i < n; i++) {
      const args = [aio, "worker", "--redis", url, "--queue", queue, "--module", tasks, "--concurrency", String(concurrency)];
      const w = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      workers.push(w);
      await waitFor(w, /^ready$/m, "aio worker");
    }
  };
  const stopWorkers = async () => {
    await Promise.all(workers.splice(0).map((w) => new Promise((r) => (w.once("exit", r), w.kill("SIGTERM")))));
  };

  const TINY = ctx.quick ? 500 : 2000;
  const CPU = ctx.quick ? 16 : 32;
  const CPU_ITERS = 1_000_000; // about 10-50 ms of arithmetic per task on this machine (depending on its load)
  const noop = lib.moduleFunction(tasks, "noop");
  const crunch = lib.moduleFunction(tasks, "crunch");
  const rounds = ctx.quick ? 2 : 5;

  /** Tasks per second of `count` tasks submitted at once and gathered, on `ex`. */
  const throughput = async (ex, fn, count, arg) => {
    process.stderr.write(`  redis suite: ${count} x ${fn.name} ...\n`);
    const m = await ctx.measure(
      () => lib.run(async () => lib.gather(...Array.from({ length: count }, () => ex.submit(fn, arg)))),
      { rounds, warmup: 1 },
    );
    return { perSec: count / (m.median / 1000), min: count / (m.max / 1000), max: count / (m.min / 1000) };
  };

  const tinyRows = [];
  const cpuRows = [];
  try {
    for (const n of [1, 2]) {
      const pool = new lib.ThreadPoolExecutor({ maxWorkers: n });
      tinyRows.push({ name: `ThreadPoolExecutor, ${n} thread${n > 1 ? "s" : ""}`, ...(await throughput(pool, noop, TINY)) });
      cpuRows.push({ name: `ThreadPoolExecutor, ${n} thread${n > 1 ? "s" : ""}`, ...(await throughput(pool, crunch, CPU, CPU_ITERS)) });
      await pool.shutdown();
    }
    for (const n of [1, 2]) {
      const queue = `bench${n}`;
      await startWorkers(n, queue);
      const ex = new RedisExecutor({ connection: url, queue, keepFinishedJobs: 1 });
      tinyRows.push({ name: `RedisExecutor, ${n} local worker${n > 1 ? "s" : ""}`, ...(await throughput(ex, noop, TINY)) });
      cpuRows.push({ name: `RedisExecutor, ${n} local worker${n > 1 ? "s" : ""}`, ...(await throughput(ex, crunch, CPU, CPU_ITERS)) });
      await ex.shutdown();
      await stopWorkers();
    }
    // Tiny tasks are bound by Redis round trips per job: concurrency overlaps them.
    await startWorkers(2, "bench2c", 8);
    const ex = new RedisExecutor({ connection: url, queue: "bench2c", keepFinishedJobs: 1 });
    tinyRows.push({ name: "RedisExecutor, 2 local workers, --concurrency 8", ...(await throughput(ex, noop, TINY)) });
    await ex.shutdown();
    await stopWorkers();
  } finally {
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
