/**
 * One executors benchmark case per process: `node bench/lib/executors-cases.mjs <case> <workers> <n> <rounds>`.
 * Prints `{ usPerTask: [...] }` (one sample per round) as JSON on its last line. Pools are started and
 * warmed up before timing; each round submits `n` tasks at once and waits for all of them.
 */
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";

const [, , which, wArg, nArg, rArg] = process.argv;
const W = Number(wArg);
const N = Number(nArg);
const ROUNDS = Number(rArg);
const workerFile = new URL("./executors-worker.mjs", import.meta.url);

async function timeRounds(runOnce) {
  await runOnce(Math.min(N, 2000)); // warm-up: workers started, code hot
  const us = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    await runOnce(N);
    us.push(((performance.now() - t0) * 1000) / N);
  }
  return us;
}

async function aio(kind) {
  const lib = await import("../../dist/src/index.js");
  const Pool = kind === "process" ? lib.ProcessPoolExecutor : lib.ThreadPoolExecutor;
  const pool = new Pool({ maxWorkers: W });
  const inc = lib.moduleFunction(workerFile, "inc");
  const us = await timeRounds(async (n) => {
    const fs = new Array(n);
    for (let i = 0; i < n; i++) fs[i] = pool.submit(inc, i);
    await Promise.all(fs);
  });
  await pool.shutdown();
  return us;
}

async function piscina() {
  const { Piscina } = await import("piscina");
  const pool = new Piscina({ filename: fileURLToPath(workerFile), minThreads: W, maxThreads: W, idleTimeout: 60_000 });
  const us = await timeRounds(async (n) => {
    const ps = new Array(n);
    for (let i = 0; i < n; i++) ps[i] = pool.run(i);
    await Promise.all(ps);
  });
  await pool.destroy();
  return us;
}

async function tinypool() {
  const { Tinypool } = await import("tinypool");
  const pool = new Tinypool({ filename: workerFile.href, minThreads: W, maxThreads: W });
  const us = await timeRounds(async (n) => {
    const ps = new Array(n);
    for (let i = 0; i < n; i++) ps[i] = pool.run(i);
    await Promise.all(ps);
  });
  await pool.destroy();
  return us;
}

async function workerpoolCase() {
  const workerpool = (await import("workerpool")).default;
  const pool = workerpool.pool(fileURLToPath(new URL("./executors-workerpool.cjs", import.meta.url)), {
    minWorkers: W,
    maxWorkers: W,
    workerType: "thread",
  });
  const us = await timeRounds(async (n) => {
    const ps = new Array(n);
    for (let i = 0; i < n; i++) ps[i] = pool.exec("inc", [i]);
    await Promise.all(ps);
  });
  await pool.terminate();
  return us;
}

/** The floor: W raw workers, one postMessage per task, all sent up front (pipelined), one reply each. */
async function floor() {
  const src = `const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage([m[0], m[1] + 1]));`;
  const workers = Array.from({ length: W }, () => new Worker(src, { eval: true }));
  const us = await timeRounds(
    (n) =>
      new Promise((resolve) => {
        const results = new Array(n);
        let left = n;
        const onMsg = (m) => {
          results[m[0]] = m[1];
          if (--left === 0) {
            for (const w of workers) w.off("message", onMsg);
            resolve();
          }
        };
        for (const w of workers) w.on("message", onMsg);
        for (let i = 0; i < n; i++) workers[i % W].postMessage([i, i]);
      }),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  return us;
}

/** 64 CPU-bound tasks of ~20 ms: one thread vs a `workers`-worker ThreadPoolExecutor, same n, rounds interleaved. */
async function cpuCase() {
  const { cpu } = await import(workerFile.href);
  for (let i = 0; i < 20; i++) cpu(100_000); // warm up the JIT before calibrating
  let n = 100_000;
  for (;;) {
    const t0 = performance.now();
    cpu(n);
    const dt = performance.now() - t0;
    if (dt > 20) {
      n = Math.round((n * 20) / dt);
      break;
    }
    n *= 2;
  }
  const TASKS = 64;
  const lib = await import("../../dist/src/index.js");
  const pool = new lib.ThreadPoolExecutor({ maxWorkers: W });
  const ref = lib.moduleFunction(workerFile, "cpu");
  await Promise.all(Array.from({ length: W * 4 }, () => pool.submit(ref, n)));
  const single = [];
  const pooled = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    for (let i = 0; i < TASKS; i++) cpu(n);
    single.push(performance.now() - t0);
    t0 = performance.now();
    await Promise.all(Array.from({ length: TASKS }, () => pool.submit(ref, n)));
    pooled.push(performance.now() - t0);
  }
  await pool.shutdown();
  return { single, pooled, speedup: single.map((s, i) => s / pooled[i]) };
}

const cases = { aio: () => aio("thread"), aioProcess: () => aio("process"), piscina, tinypool, workerpool: workerpoolCase, floor, cpu: cpuCase };
const out = await cases[which]();
console.log(JSON.stringify(which === "cpu" ? out : { usPerTask: out }));
process.exit(0);
