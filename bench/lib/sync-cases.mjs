/**
 * Cases of bench/suites/sync.mjs and bench/suites/queue.mjs, one per child process (clean heap, no JIT
 * state shared between peers).
 *
 * Usage: node bench/lib/sync-cases.mjs CASE PEER TASKS OPS ROUNDS
 *   lock | semaphore -- TASKS tasks share OPS acquire -> yield once -> release cycles (a semaphore
 *                       has max(2, TASKS / 4) permits); PEER: aio | asyncMutex | pLimit
 *   uncontended      -- one task, OPS acquire -> release cycles of a free Semaphore(2) (TASKS ignored):
 *                       the fast path; PEER: aio | asyncMutex | pLimit
 *   queue            -- OPS items through a bounded queue (maxsize 100), one producer, one consumer;
 *                       PEER: aio | handwritten (array + waiter futures on the same loop) | floor (no
 *                       queue: the awaits and task switches alone)
 * Prints one JSON object on the last line: { nsPerOp: [one figure per round] }.
 *
 * "Yield once" is each runtime's own way to let the other tasks run: `await sleep(0)` (one loop
 * iteration) for asyncio-ts, `await Promise.resolve()` (one microtask hop) for the promise-based peers.
 */
import { Mutex, Semaphore as AmSemaphore } from "async-mutex";
import pLimit from "p-limit";
import { pathToFileURL } from "node:url";

/** The build to measure: the runner's snapshot of dist/ (see run.mjs), else dist/ itself. */
const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;
const { Lock, Queue, Semaphore, createTask, gather, getRunningLoop, run, sleep } = await import(`${DIST}/src/index.js`);

const [, , kase, peer, tasksArg, opsArg, roundsArg] = process.argv;
const TASKS = Number(tasksArg);
const OPS = Number(opsArg);
const ROUNDS = Number(roundsArg);
const permits = Math.max(2, TASKS / 4);

// ------------------------------------------------------------------ lock / semaphore contention

async function aioCase(sem) {
  await run(async () => {
    const prim = sem ? new Semaphore(permits) : new Lock();
    const per = OPS / TASKS;
    const worker = async () => {
      for (let i = 0; i < per; i++) {
        await prim.acquire();
        await sleep(0);
        prim.release();
      }
    };
    const ts = [];
    for (let t = 0; t < TASKS; t++) ts.push(createTask(worker));
    await gather(...ts);
  });
}

async function asyncMutexCase(sem) {
  const prim = sem ? new AmSemaphore(permits) : new Mutex();
  const per = OPS / TASKS;
  const worker = async () => {
    for (let i = 0; i < per; i++) {
      // Mutex.acquire() resolves to the release function, Semaphore.acquire() to [value, release].
      const got = await prim.acquire();
      await Promise.resolve();
      (sem ? got[1] : got)();
    }
  };
  const ps = [];
  for (let t = 0; t < TASKS; t++) ps.push(worker());
  await Promise.all(ps);
}

async function pLimitCase(sem) {
  const limit = pLimit(sem ? permits : 1);
  const per = OPS / TASKS;
  const body = async () => {
    await Promise.resolve();
  };
  const worker = async () => {
    for (let i = 0; i < per; i++) await limit(body);
  };
  const ps = [];
  for (let t = 0; t < TASKS; t++) ps.push(worker());
  await Promise.all(ps);
}

// ------------------------------------------------------------------ uncontended fast path

async function aioFree() {
  await run(async () => {
    const s = new Semaphore(2);
    for (let i = 0; i < OPS; i++) {
      await s.acquire();
      s.release();
    }
  });
}

async function asyncMutexFree() {
  const s = new AmSemaphore(2);
  for (let i = 0; i < OPS; i++) {
    const [, release] = await s.acquire();
    release();
  }
}

async function pLimitFree() {
  const limit = pLimit(2);
  const body = () => undefined;
  for (let i = 0; i < OPS; i++) await limit(body);
}

// ------------------------------------------------------------------ bounded queue

async function aioQueue() {
  await run(async () => {
    const q = new Queue(100);
    const producer = createTask(async () => {
      for (let i = 0; i < OPS; i++) await q.put(i);
    });
    const consumer = createTask(async () => {
      let sum = 0;
      for (let i = 0; i < OPS; i++) sum += await q.get();
      return sum;
    });
    await gather(producer, consumer);
  });
}

/** The smallest bounded queue one would write by hand on the same loop: an array and waiter futures. */
class HandQueue {
  constructor(max) {
    this.max = max;
    this.items = [];
    this.head = 0;
    this.getters = [];
    this.putters = [];
  }
  size() {
    return this.items.length - this.head;
  }
  async put(item) {
    while (this.size() >= this.max) {
      const f = getRunningLoop().createFuture();
      this.putters.push(f);
      await f;
    }
    this.items.push(item);
    const g = this.getters.shift();
    if (g !== undefined) g.setResult(undefined);
  }
  async get() {
    while (this.size() === 0) {
      const f = getRunningLoop().createFuture();
      this.getters.push(f);
      await f;
    }
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    const p = this.putters.shift();
    if (p !== undefined) p.setResult(undefined);
    return item;
  }
}

async function handQueue() {
  await run(async () => {
    const q = new HandQueue(100);
    const producer = createTask(async () => {
      for (let i = 0; i < OPS; i++) await q.put(i);
    });
    const consumer = createTask(async () => {
      let sum = 0;
      for (let i = 0; i < OPS; i++) sum += await q.get();
      return sum;
    });
    await gather(producer, consumer);
  });
}

/**
 * No queue at all: what any queue on this loop pays at least. Per item the producer awaits a resolved
 * promise and the consumer awaits `Promise.resolve(i)` (the two awaits of a put and a get that do not
 * wait), and every 100 items each yields once to the loop (the task switches of a queue of maxsize 100).
 */
async function queueFloor() {
  const done = Promise.resolve();
  await run(async () => {
    const producer = createTask(async () => {
      for (let i = 0; i < OPS; i++) {
        await done;
        if (i % 100 === 99) await sleep(0);
      }
    });
    const consumer = createTask(async () => {
      let sum = 0;
      for (let i = 0; i < OPS; i++) {
        sum += await Promise.resolve(i);
        if (i % 100 === 99) await sleep(0);
      }
      return sum;
    });
    await gather(producer, consumer);
  });
}

// ------------------------------------------------------------------ driver

const cases = {
  lock: { aio: () => aioCase(false), asyncMutex: () => asyncMutexCase(false), pLimit: () => pLimitCase(false) },
  semaphore: { aio: () => aioCase(true), asyncMutex: () => asyncMutexCase(true), pLimit: () => pLimitCase(true) },
  uncontended: { aio: aioFree, asyncMutex: asyncMutexFree, pLimit: pLimitFree },
  queue: { aio: aioQueue, handwritten: handQueue, floor: queueFloor },
};
const fn = cases[kase]?.[peer];
if (fn === undefined) {
  console.error(`unknown case ${kase} / peer ${peer}`);
  process.exit(2);
}
// Warm-up: three rounds. The first timed round after a single warm-up round still ran ~1.7x slower than
// the rest (optimising compilation of the hot paths is not done yet), for every peer.
for (let w = 0; w < 3; w++) await fn();
const nsPerOp = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = process.hrtime.bigint();
  await fn();
  nsPerOp.push(Number(process.hrtime.bigint() - t0) / OPS);
}
console.log(JSON.stringify({ nsPerOp }));
