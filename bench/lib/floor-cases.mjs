/**
 * Cases of bench/suites/floor.mjs (issue 18, target 1): the same programs on asyncio-ts and on the
 * minimal loop (`minimal-loop.mjs`), one case per child process.
 *
 * Usage: node bench/lib/floor-cases.mjs CASE PEER OPS ROUNDS [--hops]
 *   sleep0    -- two tasks take turns through `await sleep(0)`: ns per hand-off
 *   event     -- two tasks take turns through two Events (wait, clear, set the other's): ns per hand-off
 *   lock4 | lock100 -- 4 or 100 tasks: acquire, `await sleep(0)`, release: ns per cycle
 *   sem4 | sem100   -- the same with a Semaphore(2)
 *   queue     -- a producer and a consumer through a Queue(100): ns per item
 *   PEER: aio | minimal | minimalTagged (the minimal loop with every promise tagged by promise hooks, as
 *         issue 11's design needs: `tagging-hook.mjs`)
 * Prints one JSON object on the last line: { nsPerOp: [one figure per round] }, or with --hops
 * { hops }: microtasks per operation (promise reactions, counted by V8's `before` hook, and
 * `queueMicrotask` calls), counted over one round after a warm-up.
 */
import { pathToFileURL } from "node:url";
import * as mini from "./minimal-loop.mjs";
import { installTaggingHook } from "./tagging-hook.mjs";

const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;
const aio = await import(`${DIST}/src/index.js`);

const [, , kase, peer, opsArg, roundsArg, flag] = process.argv;
const OPS = Number(opsArg);
const ROUNDS = Number(roundsArg);

/** What a program needs of a runtime: asyncio-ts's names, or the minimal loop's. */
function api(which) {
  if (which === "aio") {
    return {
      run: (main) => aio.run(main),
      spawn: (fn) => aio.createTask(fn),
      join: (ts) => aio.gather(...ts),
      yield0: () => aio.sleep(0),
      event: () => new aio.Event(),
      lock: () => new aio.Lock(),
      sem: (n) => new aio.Semaphore(n),
      queue: (n) => new aio.Queue(n),
    };
  }
  const loop = new mini.Loop();
  return {
    run: (main) => loop.run(main),
    spawn: (fn) => new mini.Task(loop, fn),
    join: async (ts) => {
      for (const t of ts) await t;
    },
    yield0: () => mini.sleep0(loop),
    event: () => new mini.Event(loop),
    lock: () => new mini.Lock(loop),
    sem: (n) => new mini.Semaphore(loop, n),
    queue: (n) => new mini.Queue(loop, n),
  };
}

const programs = {
  sleep0: (a) => async () => {
    const w = async () => {
      for (let i = 0; i < OPS / 2; i++) await a.yield0();
    };
    await a.join([a.spawn(w), a.spawn(w)]);
  },
  event: (a) => async () => {
    const ea = a.event();
    const eb = a.event();
    const side = (mine, other) => async () => {
      for (let i = 0; i < OPS / 2; i++) {
        await mine.wait();
        mine.clear();
        other.set();
      }
    };
    const ts = [a.spawn(side(ea, eb)), a.spawn(side(eb, ea))];
    ea.set();
    await a.join(ts);
  },
  lock4: (a) => contended(a, a.lock(), 4),
  lock100: (a) => contended(a, a.lock(), 100),
  sem4: (a) => contended(a, a.sem(2), 4),
  sem100: (a) => contended(a, a.sem(2), 100),
  queue: (a) => async () => {
    const q = a.queue(100);
    const producer = async () => {
      for (let i = 0; i < OPS; i++) await q.put(i);
    };
    const consumer = async () => {
      for (let i = 0; i < OPS; i++) await q.get();
    };
    await a.join([a.spawn(producer), a.spawn(consumer)]);
  },
};

function contended(a, prim, tasks) {
  return async () => {
    const per = OPS / tasks;
    const w = async () => {
      for (let i = 0; i < per; i++) {
        await prim.acquire();
        await a.yield0();
        prim.release();
      }
    };
    const ts = [];
    for (let t = 0; t < tasks; t++) ts.push(a.spawn(w));
    await a.join(ts);
  };
}

const program = programs[kase];
if (program === undefined || (peer !== "aio" && peer !== "minimal" && peer !== "minimalTagged")) {
  console.error("usage: node bench/lib/floor-cases.mjs sleep0|event|lock4|lock100|sem4|sem100|queue aio|minimal|minimalTagged OPS ROUNDS [--hops]");
  process.exit(2);
}
if (peer === "minimalTagged") await installTaggingHook();
const once = () => {
  const a = api(peer === "minimalTagged" ? "minimal" : peer);
  return a.run(program(a));
};

for (let w = 0; w < 3; w++) await once();
if (flag === "--hops") {
  const { promiseHooks } = await import("node:v8");
  let n = 0;
  const stop = promiseHooks.createHook({ before: () => n++ });
  // (a queueMicrotask callback is a hop too, and runs no promise hook: count the calls)
  const qm = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (cb) => {
    n++;
    qm(cb);
  };
  await once();
  stop();
  globalThis.queueMicrotask = qm;
  console.log(JSON.stringify({ hops: n / OPS }));
} else {
  const nsPerOp = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    await once();
    nsPerOp.push(Number(process.hrtime.bigint() - t0) / OPS);
  }
  console.log(JSON.stringify({ nsPerOp }));
}
