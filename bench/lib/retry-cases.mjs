/**
 * Cases of bench/suites/retry.mjs, one per child process (clean heap, no JIT state shared between peers).
 *
 * Usage: node bench/lib/retry-cases.mjs PEER K OPS ROUNDS
 *   OPS calls of retry on a function that fails its first K attempts (K = 0: succeeds at once), with
 *   delays of 0 on the real clock, so the figure is the retry machinery's overhead per attempt.
 *   PEER: aio         -- asyncio-ts retry(fn, recurs(K)) inside one run()
 *         aioComposed -- asyncio-ts retry(fn, jittered(exponential(0).upTo(1000)).recurs(K)): a composed schedule
 *         floor       -- a hand-written for loop: try { await fn(n) } catch { await sleep(0) }, same loop (the least
 *                        any retry that yields between attempts can cost on asyncio-ts)
 *         pRetry      -- p-retry: pRetry(fn, { retries: K, minTimeout: 0 }) (no timer for a delay of 0: it
 *                        retries back to back, without yielding to the event loop)
 *         effect      -- Effect 4: Effect.retry(Effect.suspend(...fail K times...), Schedule.recurs(K)), OPS of them
 *                        in one Effect.runPromise (Effect's own failure, no promise per attempt)
 * Prints one JSON object on the last line: { nsPerOp: [ns per attempt, one figure per round] }.
 */
import pRetry from "p-retry";
import { Effect, Schedule } from "effect";
import { pathToFileURL } from "node:url";

/** The build to measure: the runner's snapshot of dist/ (see run.mjs), else dist/ itself. */
const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;
// (from the package's index: the bundled build has no file per module)
const { run, sleep, retry, exponential, jittered, recurs, seededRandom } = await import(`${DIST}/src/index.js`);

const [, , peer, kArg, opsArg, roundsArg] = process.argv;
const K = Number(kArg);
const OPS = Number(opsArg);
const ROUNDS = Number(roundsArg);
/** One error for every failure: making an Error (its stack) would cost more than the retry itself. */
const ERR = new Error("transient");
const fn = async (n) => {
  if (n <= K) throw ERR;
  return n;
};

async function aio(schedule) {
  await run(async () => {
    for (let i = 0; i < OPS; i++) await retry(fn, schedule);
  });
}

async function floor() {
  const once = async () => {
    for (let n = 1; ; n++) {
      try {
        return await fn(n);
      } catch (e) {
        if (n > K) throw e;
        await sleep(0);
      }
    }
  };
  await run(async () => {
    for (let i = 0; i < OPS; i++) await once();
  });
}

async function pRetryCase() {
  // (one options object for every call: p-retry copies it anyway, and a literal per call would only add garbage)
  const options = { retries: K, minTimeout: 0 };
  for (let i = 0; i < OPS; i++) await pRetry(fn, options);
}

async function effectCase() {
  const program = Effect.gen(function* () {
    for (let i = 0; i < OPS; i++) {
      let n = 0;
      yield* Effect.retry(
        Effect.suspend(() => (++n <= K ? Effect.fail(ERR) : Effect.succeed(n))),
        Schedule.recurs(K),
      );
    }
  });
  await Effect.runPromise(program);
}

const cases = {
  aio: () => aio(recurs(K)),
  aioComposed: () => aio(jittered(exponential(0).upTo(1000), { random: seededRandom(1) }).recurs(K)),
  floor,
  pRetry: pRetryCase,
  effect: effectCase,
};
const body = cases[peer];
if (body === undefined) {
  console.error(`unknown peer ${peer}`);
  process.exit(2);
}
// Warm-up: three rounds (as bench/lib/sync-cases.mjs: the first rounds run before the hot paths are optimised).
for (let w = 0; w < 3; w++) await body();
const nsPerOp = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = process.hrtime.bigint();
  await body();
  nsPerOp.push(Number(process.hrtime.bigint() - t0) / (OPS * (K + 1)));
}
console.log(JSON.stringify({ nsPerOp }));
