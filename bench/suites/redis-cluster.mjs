/**
 * Redis Cluster suite: throughput of tiny jobs (`noop`) through a `RedisExecutor` against one Redis
 * master (a plain redis-server) and against a Redis Cluster of 3 masters (no replicas), with 2 and 4
 * local `aio worker` processes (`--concurrency 8` each), on one queue; then 3 queues (one per master on
 * the cluster, all on the single master otherwise), one worker each. Starts its own servers (Debian's
 * redis-server and redis-cli) on free loopback ports, without persistence, and removes them at the end.
 *
 * Besides jobs per second, the table shows the CPU time per second of run (from /proc, Linux) of the
 * busiest Redis process, of the workers, of the executor (this process) and of the whole machine: it
 * says which side the jobs wait for.
 *
 * Run: `npm run build && node bench/run.mjs redis-cluster` (add `--quick` for fewer rounds).
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLK_TCK, freePort, procCpuMs, waitFor } from "../lib/child-processes.mjs";

function cli(args) {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", args, { encoding: "utf8", timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(" ")}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

function which(cmd) {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far, or null where /proc cannot tell. */
function cpuSeconds(pid) {
  const ms = procCpuMs(pid);
  return ms === null ? null : ms / 1000;
}

/** CPU seconds used by the whole machine so far (all cores), or null. */
function machineSeconds() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK; // user, nice, system, irq, softirq, steal
  } catch {
    return null;
  }
}

export default async function redisClusterSuite(ctx) {
  const redisServer = which("redis-server");
  if (redisServer === null || which("redis-cli") === null) {
    console.log("\nRedis Cluster: SKIPPED (redis-server and redis-cli are needed: apt-get install -y redis-server)");
    return;
  }
  const lib = await import(pathToFileURL(join(ctx.root, "dist/src/index.js")).href);
  const { RedisExecutor } = await import(pathToFileURL(join(ctx.root, "dist/src/redis/index.js")).href);
  const tasks = join(ctx.root, "test/redis/fixtures/tasks.mjs");
  const aio = join(ctx.root, "dist/src/cli/aio.js");
  const dir = mkdtempSync(join(tmpdir(), "aio-bench-redis-cluster-"));
  const servers = [];
  const workers = [];

  const startServer = async (port, extra) => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no", ...extra];
    const p = spawn(redisServer, args, { stdio: ["ignore", "pipe", "pipe"] });
    servers.push(p);
    await waitFor(p, /Ready to accept connections/, `redis-server on ${port}`);
    return p;
  };
  const startWorkers = async (n, connArgs, queues) => {
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const args = [aio, "worker", ...connArgs, "--queue", queues[i % queues.length], "--module", tasks, "--concurrency", "8"];
        const w = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
        workers.push(w);
        await waitFor(w, /^ready$/m, "aio worker");
      }),
    );
  };
  const stopWorkers = () =>
    Promise.all(workers.splice(0).map((w) => new Promise((r) => (w.exitCode !== null ? r() : (w.once("exit", r), w.kill("SIGTERM"))))));

  const TINY = ctx.quick ? 1000 : 3000;
  const rounds = ctx.quick ? 3 : 7;
  const noop = lib.moduleFunction(tasks, "noop");
  const rows = [];

  /** Jobs per second of TINY jobs submitted at once, spread over the queues' executors, and the CPU use. */
  const measure = async (name, executors, redisPids) => {
    process.stderr.write(`  redis-cluster suite: ${name} ...\n`);
    const per = Math.ceil(TINY / executors.length);
    const batch = () => lib.run(async () => lib.gather(...executors.flatMap((ex) => Array.from({ length: per }, () => ex.submit(noop)))));
    await batch(); // warm-up
    const cpu0 = [...redisPids.map(cpuSeconds), ...workers.map((w) => cpuSeconds(w.pid))];
    const self0 = process.cpuUsage();
    const machine0 = machineSeconds();
    const t0 = process.hrtime.bigint();
    const samples = [];
    for (let i = 0; i < rounds; i++) {
      const s = process.hrtime.bigint();
      await batch();
      samples.push(Number(process.hrtime.bigint() - s) / 1e9);
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu1 = [...redisPids.map(cpuSeconds), ...workers.map((w) => cpuSeconds(w.pid))];
    const self = process.cpuUsage(self0);
    const machine1 = machineSeconds();
    const used = cpu1.map((c, i) => (c === null || cpu0[i] === null ? null : (c - cpu0[i]) / wall));
    const redisUse = used.slice(0, redisPids.length);
    const workerUse = used.slice(redisPids.length);
    const jobs = per * executors.length;
    rows.push({
      name,
      perSec: jobs / ctx.median(samples),
      min: jobs / Math.max(...samples),
      max: jobs / Math.min(...samples),
      redisCpu: redisUse.includes(null) ? null : 100 * Math.max(...redisUse),
      workerCpu: workerUse.includes(null) ? null : 100 * workerUse.reduce((a, b) => a + b, 0),
      // jobs/s at which the busiest master would be busy all the time, if its work grows with the jobs
      ceiling: redisUse.includes(null) || Math.max(...redisUse) <= 0 ? null : jobs / ctx.median(samples) / Math.max(...redisUse),
      selfCpu: (100 * (self.user + self.system)) / 1e6 / wall,
      machineCpu: machine0 === null || machine1 === null ? null : (100 * (machine1 - machine0)) / wall,
    });
  };

  try {
    // One master: a plain redis-server.
    const port = await freePort();
    const single = await startServer(port, []);
    const url = `redis://127.0.0.1:${port}`;
    // Three masters, no replicas.
    const ports = [await freePort(), await freePort(), await freePort()];
    const nodes = await Promise.all(
      ports.map((p) => startServer(p, ["--cluster-enabled", "yes", "--cluster-config-file", join(dir, `nodes-${p}.conf`)])),
    );
    await cli(["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"]);
    for (let i = 0; ; i++) {
      const states = await Promise.all(ports.map((p) => cli(["-p", String(p), "CLUSTER", "INFO"])));
      if (states.every((s) => /cluster_state:ok/.test(s))) break;
      if (i > 200) throw new Error("the cluster did not reach cluster_state:ok");
      await new Promise((r) => setTimeout(r, 50));
    }
    const clusterUrls = ports.map((p) => `redis://127.0.0.1:${p}`);
    // Three queue names whose hash tags fall on the three masters of the cluster.
    const slots = JSON.parse(await cli(["-p", String(ports[0]), "--json", "CLUSTER", "SLOTS"]));
    const masterOf = async (tag) => {
      const slot = Number(await cli(["-p", String(ports[0]), "CLUSTER", "KEYSLOT", tag]));
      return slots.find(([lo, hi]) => slot >= lo && slot <= hi)[2][1];
    };
    const spread = new Map();
    for (let i = 0; spread.size < 3; i++) {
      const home = await masterOf(`q${i}`);
      if (!spread.has(home)) spread.set(home, `{q${i}}`);
    }
    const threeQueues = [...spread.values()];

    const topologies = [
      { label: "1 master", conn: () => url, args: ["--redis", url], pids: [single.pid] },
      { label: "3-master cluster", conn: () => ({ cluster: clusterUrls }), args: ["--cluster", clusterUrls.join(",")], pids: nodes.map((n) => n.pid) },
    ];
    let q = 0;
    for (const t of topologies) {
      for (const n of [2, 4]) {
        const queue = `{bench${q++}}`; // (a tagged name: valid on both; one queue is one slot)
        await startWorkers(n, t.args, [queue]);
        const ex = new RedisExecutor({ connection: t.conn(), queue, keepFinishedJobs: 1 });
        await measure(`${t.label}, 1 queue, ${n} workers`, [ex], t.pids);
        await ex.shutdown();
        await stopWorkers();
      }
    }
    for (const t of topologies) {
      // the same three queue names: on the cluster they live on three masters
      await startWorkers(3, t.args, threeQueues);
      const exs = threeQueues.map((queue) => new RedisExecutor({ connection: t.conn(), queue, keepFinishedJobs: 1 }));
      await measure(`${t.label}, 3 queues, 3 workers (1 per queue)`, exs, t.pids);
      await Promise.all(exs.map((ex) => ex.shutdown()));
      await stopWorkers();
    }
  } finally {
    await stopWorkers();
    await Promise.all(servers.map((s) => new Promise((r) => (s.exitCode !== null ? r() : (s.once("exit", r), s.kill("SIGTERM"))))));
    rmSync(dir, { recursive: true, force: true });
  }
  ctx.table({
    title: `Redis Cluster: ${TINY.toLocaleString("en-US")} tiny jobs (noop) submitted at once, jobs per second (median of ${rounds} rounds)`,
    columns: [
      { key: "perSec", label: "median jobs/s", digits: 0 },
      { key: "min", label: "min", digits: 0 },
      { key: "max", label: "max", digits: 0 },
      { key: "redisCpu", label: "busiest Redis %CPU", digits: 0 },
      { key: "ceiling", label: "jobs/s at 100% of it (est.)", digits: 0 },
      { key: "workerCpu", label: "workers %CPU", digits: 0 },
      { key: "selfCpu", label: "executor %CPU", digits: 0 },
      { key: "machineCpu", label: `machine %CPU (of ${ctx.cores * 100})`, digits: 0 },
    ],
    rows,
    ratio: { key: "perSec", baseline: rows[0].name, label: "x 1 master, 2 workers" },
    notes: [
      "workers: local aio worker processes, --concurrency 8 each; the executor runs in this process; all on one machine",
      `machine: ${ctx.cores} cores shared by the Redis servers, the workers and the executor: %CPU is CPU time per second of run (100 = one core)`,
      "one queue is one hash slot, served by one master: the other masters of a cluster carry none of its load",
      "est.: jobs/s x 100 / busiest Redis %CPU, the rate at which that master would be saturated (an extrapolation, not a measurement)",
    ],
  });
}
