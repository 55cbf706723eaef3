/**
 * Rate-limit suite: asyncio-ts `RateLimiter` (token bucket, sliding window) beside p-throttle 8 (its
 * default windowed algorithm and `strict`) and Effect 4's `RateLimiter` (`effect/persistence`, the
 * in-memory store: fixed window and token bucket, `onExceeded: "delay"`), in one run.
 *
 * 1. Overhead: the cost of one acquisition when the limit is never reached (a rate of 10^9 per ms):
 *    one task (fiber, async function) acquiring in a loop; asyncio-ts also through `withLimit(fn)`,
 *    the form comparable to p-throttle's throttled function and Effect's `withLimiter(effect)`; and,
 *    for information, p-throttle in an asyncio-ts task (where the loop's promise hooks tag every
 *    promise, as they do for asyncio-ts's own code). Figures are medians of ns per acquisition.
 * 2. Throughput at a fixed rate on the real clock: 20 concurrent callers for a fixed duration against
 *    1000 per second, as "100 per 100 ms" (windows) or "1 per ms, burst 10" (buckets). Reported: the
 *    grants per second achieved in whole 100 ms windows from the first grant, as a fraction of the
 *    rate, and the most grants seen in any 100 ms (sliding) window: at most 100 means the limit held in
 *    every window; the bucket allows 110 (its burst of 10 plus 100 refilled).
 *
 * Every case runs in a child process (this file, run as a script: `node bench/suites/ratelimit.mjs
 * CASE PEER ...`), so that no peer inherits another's heap or JIT state.
 *
 * Returns rows `{ name, nsPerOp, peer? }` (the overhead table).
 */
import { fileURLToPath, pathToFileURL } from "node:url";

const SELF = fileURLToPath(import.meta.url);

export default async function ratelimit(ctx) {
  const N = ctx.quick ? 50_000 : 200_000;
  const rounds = ctx.quick ? 5 : 7;
  const batches = ctx.quick ? 2 : 3;
  const node = (...args) => () => ctx.runJson("node", [SELF, ...args.map(String)]);

  // ---------------------------------------------------------------- 1. overhead
  const peers = [
    { key: "aioBucket", name: "asyncio-ts RateLimiter token bucket: acquire()", run: node("overhead", "aioBucket", N, rounds) },
    { key: "aioWindow", name: "asyncio-ts RateLimiter sliding window: acquire()", run: node("overhead", "aioWindow", N, rounds) },
    { key: "aioWith", name: "asyncio-ts RateLimiter token bucket: withLimit(fn)", run: node("overhead", "aioWith", N, rounds) },
    { key: "pt", name: "p-throttle (windowed): throttled fn()", peer: "p-throttle", run: node("overhead", "pThrottle", N, rounds) },
    { key: "pts", name: "p-throttle strict: throttled fn()", peer: "p-throttle", run: node("overhead", "pThrottleStrict", N, rounds) },
    { key: "ptTask", name: "p-throttle (windowed), in an asyncio-ts task (info)", run: node("overhead", "pThrottleInTask", N, rounds) },
    { key: "eff", name: "Effect RateLimiter token bucket: withLimiter(effect)", peer: "Effect", run: node("overhead", "effect", N, rounds) },
  ];
  const { rows, get } = ctx.interleave(peers, batches);
  const notes = [
    `median of ${batches * rounds} rounds of ${N.toLocaleString("en-US")} acquisitions per peer (${batches} child process${batches > 1 ? "es" : ""} x ${rounds} rounds, after a warm-up round); the limit is never reached`,
    `withLimit(fn) vs p-throttle's throttled fn(): p-throttle / asyncio-ts = ${(get("pt") / get("aioWith")).toFixed(2)} (both in an asyncio-ts task: ${(get("ptTask") / get("aioWith")).toFixed(2)}); Effect / asyncio-ts = ${(get("eff") / get("aioWith")).toFixed(2)}`,
    "asyncio-ts code always runs in a task, where the loop's promise hooks tag every promise; the '(info)' row runs p-throttle there too",
  ];
  ctx.table({
    title: "rate limiter overhead: one acquisition that never waits (ns per acquisition)",
    columns: [
      { key: "nsPerOp", label: "median ns/op", digits: 0 },
      { key: "min", label: "min", digits: 0 },
      { key: "max", label: "max", digits: 0 },
    ],
    rows,
    ratio: { key: "nsPerOp", baseline: rows[0].name, label: "x asyncio-ts acquire()" },
    notes,
  });

  // ---------------------------------------------------------------- 2. throughput
  const durationMs = ctx.quick ? 600 : 2000;
  const tp = [
    // [peer, name, what the configuration allows in any 100 ms: the limit, or a bucket's burst + 100 refilled]
    ["aioWindow", "asyncio-ts sliding window, 100 per 100 ms", 100],
    ["pThrottleStrict", "p-throttle strict, 100 per 100 ms", 100],
    ["pThrottle", "p-throttle windowed, 100 per 100 ms", 100],
    ["effectFixed", "Effect fixed window, 100 per 100 ms", 100],
    ["aioBucket", "asyncio-ts token bucket, 1 per ms, burst 10", 110],
    ["effectBucket", "Effect token bucket, 100 per 100 ms (burst 100)", 200],
  ];
  const tpRows = tp.map(([peer, name, allowed]) => {
    const r = ctx.runJson("node", [SELF, "throughput", peer, String(durationMs)]);
    return { name, perSecond: r.perSecond, ofRate: (100 * r.perSecond) / 1000, maxIn100ms: r.maxInWindow, allowed };
  });
  ctx.table({
    title: `rate limiter throughput at 1000 per second on the real clock, 20 callers, ${durationMs} ms`,
    columns: [
      { key: "perSecond", label: "grants/s", digits: 0 },
      { key: "ofRate", label: "% of rate", digits: 1 },
      { key: "maxIn100ms", label: "max in any 100 ms", digits: 0 },
      { key: "allowed", label: "allowed", digits: 0 },
    ],
    rows: tpRows,
    notes: [
      "grants/s: grants in the whole 100 ms windows from the first grant, per second; 'max in any 100 ms' slides over every grant's time",
      "allowed: what the configuration permits in any 100 ms (a limit per window; a bucket's burst plus 100 refilled). Fixed windows (p-throttle's default, Effect's fixed-window) permit a window's worth on each side of a window edge, up to 200",
      "Effect's token bucket has no burst option (its burst is its limit); p-throttle decides on Date.now() (whole ms), so its strict mode may show one over at a window edge",
    ],
  });
  return rows.map(({ name, nsPerOp, peer }) => ({ name: `overhead: ${name}`, nsPerOp, ...(peer ? { peer } : {}) }));
}

// ==================================================================== child process cases

/** The build to measure: the runner's snapshot of dist/ (see run.mjs), else dist/ itself. */
const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;

const noop = () => 0;

/** A function that runs `n` acquisitions of `peer` (the limit never reached) and resolves when done. */
async function overheadRunner(peer) {
  if (peer.startsWith("aio")) {
    const { run, RateLimiter } = await import(`${DIST}/src/index.js`);
    const opts = peer === "aioWindow" ? { limit: 1_000_000_000, windowMs: 1000 } : { rate: 1_000_000_000, perMs: 1 };
    return (n) =>
      run(async () => {
        const limiter = new RateLimiter(opts);
        if (peer === "aioWith") for (let i = 0; i < n; i++) await limiter.withLimit(noop);
        else for (let i = 0; i < n; i++) await limiter.acquire();
      });
  }
  if (peer.startsWith("pThrottle")) {
    const pThrottle = (await import("p-throttle")).default;
    const loop = async (n) => {
      const throttled = pThrottle({ limit: 1_000_000_000, interval: 1000, strict: peer === "pThrottleStrict" })(noop);
      for (let i = 0; i < n; i++) await throttled();
    };
    if (peer !== "pThrottleInTask") return loop;
    // (the same code where asyncio-ts code runs: in a task, whose promises the loop's hooks tag)
    const { run } = await import(`${DIST}/src/index.js`);
    return (n) => run(() => loop(n));
  }
  const { Effect, Layer } = await import("effect");
  const { RateLimiter } = await import("effect/persistence");
  const layer = RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory));
  return (n) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const withLimiter = yield* RateLimiter.makeWithRateLimiter;
        const limited = withLimiter({ key: "k", limit: 1_000_000_000, window: "1 second", algorithm: "token-bucket", onExceeded: "delay" })(Effect.sync(noop));
        for (let i = 0; i < n; i++) yield* limited;
      }).pipe(Effect.provide(layer)),
    );
}

async function overheadCase(peer, n, rounds) {
  const runN = await overheadRunner(peer);
  await runN(n); // warm-up
  const nsPerOp = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    await runN(n);
    nsPerOp.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return { nsPerOp };
}

const CALLERS = 20;

/**
 * Grant times (performance.now()) of CALLERS callers acquiring from `peer` for `durationMs` (counted
 * from when the limiter is ready), and the end time. A grant's time is taken where each peer grants:
 * when p-throttle calls the function, when Effect runs the effect, when asyncio-ts records the grant
 * (its timer callback), not when the caller resumes (a resumption may come late, shifting a time
 * across a window edge).
 */
async function throughputTimes(peer, durationMs) {
  const times = [];
  const stamp = () => times.push(performance.now());
  let end = 0;
  if (peer.startsWith("aio")) {
    const { run, gather, createTask, RateLimiter } = await import(`${DIST}/src/index.js`);
    await run(async () => {
      const limiter = new RateLimiter(peer === "aioWindow" ? { limit: 100, windowMs: 100 } : { rate: 1, perMs: 1, burst: 10 });
      const record = limiter._record.bind(limiter);
      limiter._record = (w, at, open) => (times.push(at), record(w, at, open)); // (the loop's time is performance.now())
      end = performance.now() + durationMs;
      const caller = async () => {
        while (performance.now() < end) await limiter.acquire();
      };
      await gather(...Array.from({ length: CALLERS }, () => createTask(caller)));
    });
  } else if (peer.startsWith("pThrottle")) {
    const pThrottle = (await import("p-throttle")).default;
    const throttled = pThrottle({ limit: 100, interval: 100, strict: peer === "pThrottleStrict" })(stamp);
    end = performance.now() + durationMs;
    const caller = async () => {
      while (performance.now() < end) await throttled();
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
  } else {
    const { Effect, Layer } = await import("effect");
    const { RateLimiter } = await import("effect/persistence");
    const layer = RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory));
    const algorithm = peer === "effectFixed" ? "fixed-window" : "token-bucket";
    await Effect.runPromise(
      Effect.gen(function* () {
        const withLimiter = yield* RateLimiter.makeWithRateLimiter;
        const limited = withLimiter({ key: "k", limit: 100, window: "100 millis", algorithm, onExceeded: "delay" })(Effect.sync(stamp));
        const caller = Effect.gen(function* () {
          while (performance.now() < end) yield* limited;
        });
        end = performance.now() + durationMs;
        yield* Effect.all(Array.from({ length: CALLERS }, () => caller), { concurrency: "unbounded" });
      }).pipe(Effect.provide(layer)),
    );
  }
  return { times, end };
}

async function throughputCase(peer, durationMs) {
  const { times, end } = await throughputTimes(peer, durationMs);
  times.sort((a, b) => a - b);
  // whole 100 ms windows from the first grant: a window's burst at the start is counted once
  const start = times[0];
  const windows = Math.max(1, Math.floor((end - start) / 100));
  const inWindows = times.filter((t) => t < start + windows * 100).length;
  let maxInWindow = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j] - times[i] >= 100) i++;
    maxInWindow = Math.max(maxInWindow, j - i + 1);
  }
  return { perSecond: (inWindows * 1000) / (windows * 100), maxInWindow };
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const [kase, peer, ...rest] = process.argv.slice(2);
  const out = kase === "overhead" ? await overheadCase(peer, Number(rest[0]), Number(rest[1])) : await throughputCase(peer, Number(rest[0]));
  console.log(JSON.stringify(out));
}
