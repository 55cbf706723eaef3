/**
 * Channels suite (issue 17): 100,000 items from one producer task to one consumer task through a memory
 * channel (`openMemoryChannel`) of buffer 0 (rendezvous), 1 and 64, against asyncio-ts's `Queue` of the
 * same bound (a `Queue` has no rendezvous: buffer 0 is compared with `Queue(1)`, the nearest) and
 * Effect's `Queue.bounded`; then a `Broadcast` to two subscribers against Effect's `PubSub.bounded`.
 * Target of the issue: channels within 1.2x of `Queue`.
 *
 * Every case runs in its own child process: this file is also the child (`node bench/suites/channels.mjs
 * CASE N ROUNDS`, printing `{ nsPerOp: [...] }`), so the suite needs no file in bench/lib. Peers are
 * interleaved batch by batch (`ctx.interleave`); figures are medians of ns per item, after 3 warm-up
 * rounds in each child.
 */
import { pathToFileURL, fileURLToPath } from "node:url";

const N = 100_000;
const WARMUP = 3;

// ------------------------------------------------------------------------------------------ the suite

export default async function channels(ctx) {
  const batches = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 3 : 5;
  const self = fileURLToPath(import.meta.url);
  const peer = (key, name, extra = {}) => ({ key, name, ...extra, run: () => ctx.runJson("node", [self, key, String(N), String(rounds)]) });

  const notes = [`median of ${batches * rounds} rounds of ${N.toLocaleString("en-US")} items per row (${batches} child process(es) x ${rounds} rounds, after ${WARMUP} warm-up rounds)`];
  const rowsOut = [];
  for (const [size, queueSize] of [
    [0, 1],
    [1, 1],
    [64, 64],
  ]) {
    const { rows, get } = ctx.interleave(
      [
        peer(`channel-${size}`, `openMemoryChannel(${size})`),
        peer(`queue-${queueSize}`, `asyncio-ts Queue(${queueSize})`, { peer: "asyncio-ts Queue" }),
        peer(`effectQueue-${queueSize}`, `Effect Queue.bounded(${queueSize})`, { peer: "Effect" }),
      ],
      batches,
    );
    const ratio = get(`channel-${size}`) / get(`queue-${queueSize}`);
    ctx.table({
      title: `channel of buffer ${size} vs queues of bound ${queueSize}: 1 producer + 1 consumer, ${N.toLocaleString("en-US")} items (ns per item)`,
      columns: [
        { key: "nsPerOp", label: "median ns/item", digits: 0 },
        { key: "min", label: "min", digits: 0 },
        { key: "max", label: "max", digits: 0 },
      ],
      rows,
      ratio: { key: "nsPerOp", baseline: rows[0].name, label: "x channel" },
      notes: [...notes, `target: channel within 1.2x of Queue(${queueSize}): channel / Queue = ${ratio.toFixed(2)} -> ${ratio <= 1.2 ? "met" : "MISSED"}`],
    });
    rowsOut.push(...rows);
  }

  const { rows } = ctx.interleave(
    [
      peer("broadcast-64", "asyncio-ts Broadcast(64), 2 subscribers"),
      peer("effectPubSub-64", "Effect PubSub.bounded(64), 2 subscribers", { peer: "Effect" }),
    ],
    batches,
  );
  ctx.table({
    title: `broadcast, 1 publisher + 2 subscribers (strategy "wait", buffer 64), ${N.toLocaleString("en-US")} messages (ns per message)`,
    columns: [
      { key: "nsPerOp", label: "median ns/msg", digits: 0 },
      { key: "min", label: "min", digits: 0 },
      { key: "max", label: "max", digits: 0 },
    ],
    rows,
    ratio: { key: "nsPerOp", baseline: rows[0].name, label: "x Broadcast" },
    notes,
  });
  rowsOut.push(...rows);
  return rowsOut.map(({ name, nsPerOp, peer }) => ({ name, nsPerOp, ...(peer ? { peer } : {}) }));
}

// ------------------------------------------------------------------------------------------ the child

async function child(kase, n, rounds) {
  const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;
  const aio = await import(`${DIST}/src/index.js`);
  const { openMemoryChannel, Broadcast } = aio;
  const [what, sizeArg] = kase.split("-");
  const size = Number(sizeArg);

  const onLoop = (main) => aio.run(main);
  const cases = {
    channel: () =>
      onLoop(async () => {
        const [send, receive] = openMemoryChannel(size);
        const producer = aio.createTask(async () => {
          for (let i = 0; i < n; i++) await send.send(i);
          send.close();
        });
        let sum = 0;
        for (let i = 0; i < n; i++) sum += await receive.receive();
        await producer;
        return sum;
      }),
    queue: () =>
      onLoop(async () => {
        const q = new aio.Queue(size);
        const producer = aio.createTask(async () => {
          for (let i = 0; i < n; i++) await q.put(i);
        });
        let sum = 0;
        for (let i = 0; i < n; i++) sum += await q.get();
        await producer;
        return sum;
      }),
    broadcast: () =>
      onLoop(async () => {
        const bc = new Broadcast(size);
        const readers = [bc.subscribe(), bc.subscribe()].map((sub) =>
          aio.createTask(async () => {
            let sum = 0;
            for (let i = 0; i < n; i++) sum += await sub.receive();
            return sum;
          }),
        );
        for (let i = 0; i < n; i++) await bc.publish(i);
        await aio.gather(...readers);
      }),
    effectQueue: null,
    effectPubSub: null,
  };
  if (what.startsWith("effect")) {
    const { Effect, Fiber, Queue, PubSub } = await import("effect");
    cases.effectQueue = () =>
      Effect.runPromise(
        Effect.gen(function* () {
          const q = yield* Queue.bounded(size);
          const producer = yield* Effect.forkChild(
            Effect.gen(function* () {
              for (let i = 0; i < n; i++) yield* Queue.offer(q, i);
            }),
          );
          let sum = 0;
          for (let i = 0; i < n; i++) sum += yield* Queue.take(q);
          yield* Fiber.join(producer);
          return sum;
        }),
      );
    cases.effectPubSub = () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const ps = yield* PubSub.bounded(size);
            const subs = [yield* PubSub.subscribe(ps), yield* PubSub.subscribe(ps)];
            const readers = [];
            for (const sub of subs) {
              readers.push(
                yield* Effect.forkChild(
                  Effect.gen(function* () {
                    let sum = 0;
                    for (let i = 0; i < n; i++) sum += yield* PubSub.take(sub);
                    return sum;
                  }),
                ),
              );
            }
            for (let i = 0; i < n; i++) yield* PubSub.publish(ps, i);
            yield* Fiber.joinAll(readers);
          }),
        ),
      );
  }
  const fn = cases[what];
  if (typeof fn !== "function") throw new Error(`unknown case ${kase}`);
  const nsPerOp = [];
  for (let r = 0; r < WARMUP + rounds; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (r >= WARMUP) nsPerOp.push(ns);
  }
  console.log(JSON.stringify({ nsPerOp }));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [kase, nArg, roundsArg] = process.argv.slice(2);
  await child(kase, Number(nArg), Number(roundsArg));
}
