/**
 * The measured programs of the core suite, each run in its own child process by
 * `bench/suites/core.mjs` (a clean heap, and a clean peak RSS):
 *
 *   node [--expose-gc] bench/lib/core-cases.mjs GROUP PEER N ROUNDS [WARMUP]
 *
 * GROUP is `spawn` (spawn + await of N trivial tasks; WARMUP warm-up rounds (default 5), then ROUNDS
 * timed rounds, each after untimed garbage of a random size (`gc-phase.mjs`: otherwise a child locks
 * onto one phase of the scavenges, and lands in a fast or a slow mode); reports each round and the mean
 * over all of them, which includes the rounds that paid for a full garbage collection: a median of a
 * few rounds of 100,000 tasks swings 2-5x with where the collections fall, and a single warm-up round
 * leaves Node 24 running unoptimised code),
 * `sleeps` (N concurrent 10 ms sleeps on the real clock; one round: wall time and peak RSS) or
 * `memory` (N started tasks blocked on one never-settled awaitable; heap bytes per task, needs
 * --expose-gc). PEER is `raw`, `rawAls`, `aio`, `aioTracer`, `effect`, or (spawn only) `aioCoro`
 * (`gather` of N promises of called async functions) and `rawInTask` (`Promise.all` of the same, in a task). The library is loaded from
 * the build (`dist/`, or the runner's snapshot of it). The result is one JSON line on stdout.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { resourceUsage } from "node:process";
import { pathToFileURL } from "node:url";
import { shiftNurseryPhase } from "./gc-phase.mjs";
import { installTaggingHook } from "./tagging-hook.mjs";

const [group, peer, nArg, roundsArg, warmupArg] = process.argv.slice(2);
const N = Number(nArg);
const ROUNDS = Number(roundsArg);
const WARMUP = warmupArg === undefined ? 5 : Number(warmupArg);

/** The build to measure: the runner's snapshot of dist/ (see run.mjs), else dist/ itself. */
const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;
const aio = await import(`${DIST}/src/index.js`);

async function loadEffect() {
  return import("effect");
}

async function trivial(i) {
  return i;
}

/** Run `main` on a fresh loop, with an empty tracer installed if asked (the tracing benchmark). */
async function onLoop(main, withTracer) {
  const loop = aio.newEventLoop();
  if (withTracer) {
    const { installTracer } = await import(`${DIST}/src/tracing/index.js`);
    installTracer(loop, {});
  }
  try {
    return await loop.runUntilComplete(main);
  } finally {
    loop.close();
  }
}

// ---------------------------------------------------------------- spawn + await

const als = new AsyncLocalStorage();

const spawnPeers = {
  /** Raw promises: call N async functions, await them with Promise.all. */
  raw: async () => {
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = trivial(i);
    return (await Promise.all(ps)).length;
  },
  /** The same, each call inside AsyncLocalStorage.run (what a task pays to know it is current). */
  rawAls: async () => {
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = als.run(i, trivial, i);
    return (await Promise.all(ps)).length;
  },
  /** asyncio-ts: createTask N times, then gather. */
  aio: () => onLoop(aioSpawnMain, false),
  /** asyncio-ts: gather of N promises of called async functions (each becomes a task owning its work). */
  aioCoro: () => onLoop(aioCoroMain, false),
  /** raw Promise.all of the same N promises, inside a task (the peer of aioCoro). */
  rawInTask: () => onLoop(rawInTaskMain, false),
  aioTracer: () => onLoop(aioSpawnMain, true),
  effect: null, // set below (needs the import)
};

async function aioSpawnMain() {
  const tasks = new Array(N);
  for (let i = 0; i < N; i++) tasks[i] = aio.createTask(() => trivial(i));
  return (await aio.gather(...tasks)).length;
}

async function aioCoroMain() {
  const ps = new Array(N);
  for (let i = 0; i < N; i++) ps[i] = trivial(i);
  return (await aio.gather(...ps)).length;
}

async function rawInTaskMain() {
  const ps = new Array(N);
  for (let i = 0; i < N; i++) ps[i] = trivial(i);
  return (await Promise.all(ps)).length;
}

// ---------------------------------------------------------------- concurrent sleeps

const sleepPeers = {
  raw: async () => {
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = (async () => new Promise((resolve) => setTimeout(resolve, 10)))();
    await Promise.all(ps);
  },
  aio: () =>
    aio.run(async () => {
      const tasks = new Array(N);
      for (let i = 0; i < N; i++) tasks[i] = aio.createTask(() => aio.sleep(10));
      // (gatherAll: a spread of 1,000,000 arguments exceeds V8's call stack before gather is called)
      await aio.gatherAll(tasks);
    }),
  effect: null,
};

// ---------------------------------------------------------------- memory per pending task

const gc = globalThis.gc;

function heapUsed() {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const memoryPeers = {
  raw: async () => {
    let release;
    const blocker = new Promise((resolve) => (release = resolve));
    const before = heapUsed();
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = (async () => { await blocker; })();
    const after = heapUsed();
    release();
    await Promise.all(ps);
    return (after - before) / N;
  },
  /**
   * The floor under issue 18's target 3: an async function suspended in `await` of a thenable, an object
   * whose `then` keeps the callbacks (as a Future's does: a task's await must reach the future, which is
   * how a cancellation arrives at the await point, CPython's semantics), one thenable per function, made
   * before the measurement. `rawThenableTagged` adds what issue 11's design needs on every promise: the
   * promise hooks that tag it with the strand whose code made it (a symbol property, two for a promise
   * without a parent; `tagging-hook.mjs`), installed by `main` below. Neither has a task object, a result subscription or a scheduler.
   */
  rawThenable: async () => {
    class Thenable {
      constructor() {
        this.r = null;
        this.j = null;
      }
      then(r, j) {
        this.r = r;
        this.j = j;
      }
    }
    const ts = new Array(N).fill(null).map(() => new Thenable());
    const before = heapUsed();
    const ps = new Array(N).fill(null);
    for (let i = 0; i < N; i++) {
      const t = ts[i];
      ps[i] = (async () => {
        await t;
      })();
    }
    await new Promise((resolve) => setTimeout(resolve, 10)); // (the thenables' jobs run)
    const after = heapUsed();
    for (const t of ts) t.r(undefined);
    await Promise.all(ps);
    return (after - before) / N;
  },
  aio: () =>
    aio.run(async () => {
      const fut = aio.getRunningLoop().createFuture();
      const before = heapUsed();
      const tasks = new Array(N);
      for (let i = 0; i < N; i++) tasks[i] = aio.createTask(async () => { await fut; });
      await aio.sleep(0); // every task has started and is suspended on fut
      const after = heapUsed();
      fut.setResult(undefined);
      await aio.gather(...tasks);
      return (after - before) / N;
    }),
  effect: null,
};

// ---------------------------------------------------------------- Effect (effect@4: Effect.forkChild is v3's Effect.fork)

if (peer === "effect") {
  const { Effect, Fiber, Deferred } = await loadEffect();
  spawnPeers.effect = () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const fibers = new Array(N);
        for (let i = 0; i < N; i++) fibers[i] = yield* Effect.forkChild(Effect.succeed(i));
        return (yield* Fiber.joinAll(fibers)).length;
      }),
    );
  sleepPeers.effect = () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const fibers = new Array(N);
        for (let i = 0; i < N; i++) fibers[i] = yield* Effect.forkChild(Effect.sleep("10 millis"));
        yield* Fiber.joinAll(fibers);
      }),
    );
  memoryPeers.effect = () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const d = yield* Deferred.make();
        const before = heapUsed();
        const fibers = new Array(N);
        for (let i = 0; i < N; i++) fibers[i] = yield* Effect.forkChild(Deferred.await(d));
        yield* Effect.yieldNow; // every fiber has started and is suspended on d
        const after = heapUsed();
        yield* Deferred.succeed(d, undefined);
        yield* Fiber.joinAll(fibers);
        return (after - before) / N;
      }),
    );
}

// ---------------------------------------------------------------- main

/**
 * A peer named `<peer>Tagged` is `<peer>` run under the tagging hook (`tagging-hook.mjs`): the floor of
 * issue 11's design (`rawTagged`, `rawThenableTagged`).
 */
async function main() {
  const tagged = peer.endsWith("Tagged");
  if (tagged) await installTaggingHook();
  const base = tagged ? peer.slice(0, -"Tagged".length) : peer;
  if (group === "spawn") {
    const fn = spawnPeers[base];
    for (let w = 0; w < WARMUP; w++) await fn();
    const nsPerTask = [];
    for (let r = 0; r < ROUNDS; r++) {
      shiftNurseryPhase(); // (untimed: the rounds meet the scavenges at random phases, see gc-phase.mjs)
      const t0 = process.hrtime.bigint();
      await fn();
      nsPerTask.push(Number(process.hrtime.bigint() - t0) / N);
    }
    const meanNsPerTask = nsPerTask.reduce((a, b) => a + b, 0) / ROUNDS;
    return { nsPerTask, meanNsPerTask };
  }
  if (group === "sleeps") {
    const baseRssKiB = resourceUsage().maxRSS;
    const t0 = process.hrtime.bigint();
    await sleepPeers[base]();
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return { wallMs, maxRssKiB: resourceUsage().maxRSS, baseRssKiB };
  }
  if (group === "memory") {
    if (typeof gc !== "function") throw new Error("the memory group needs node --expose-gc");
    return { bytesPerTask: await memoryPeers[base]() };
  }
  throw new Error(`unknown group ${group}`);
}

console.log(JSON.stringify({ ...(await main()), node: process.versions.node }));
