/**
 * Retry suite: the overhead per attempt of asyncio-ts's `retry` against p-retry and Effect's
 * `Effect.retry` with a `Schedule`, in the same run, on a function that fails its first k attempts
 * (k = 10, then k = 0: a call that succeeds at once), with delays of 0 on the real clock: what is measured
 * is the retry machinery, not waiting.
 *
 * The peers do not do the same thing between attempts, and the table says so: asyncio-ts yields one loop
 * iteration even for a delay of 0 (`sleep(0)`: the other tasks run, and a cancellation or a timeout can
 * reach the loop), p-retry schedules no timer for a delay of 0 and retries back to back in microtasks,
 * Effect sleeps through its scheduler. A hand-written loop with `sleep(0)` on the same asyncio-ts loop is the
 * floor for a retry that yields. Each case runs in its own child process (`bench/lib/retry-cases.mjs`);
 * batches are interleaved; figures are medians of ns per attempt (per call for k = 0).
 *
 * Returns rows `{ name, nsPerOp, peer? }`.
 */
export default async function retry(ctx) {
  const batches = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 2 : 3;
  const all = [];
  for (const k of [10, 0]) {
    // Calls per round: about 100,000 attempts (30,000 with --quick); a tenth of that for the slowest peers
    // (Effect's 0 ms sleeps cost ~20 µs each; a p-retry call that succeeds at once, ~10-30 µs).
    const calls = Math.round((ctx.quick ? 30_000 : 100_000) / (k + 1));
    const node = (peer, ops = calls) => () => ctx.runJson("node", ["bench/lib/retry-cases.mjs", peer, String(k), String(ops), String(rounds)]);
    const peers = [
      { key: "aio", name: `asyncio-ts retry(fn, recurs(${k}))`, run: node("aio") },
      { key: "composed", name: `asyncio-ts retry, jittered(exponential(0).upTo(1000)).recurs(${k})`, run: node("aioComposed") },
      { key: "floor", name: "hand-written loop + sleep(0), same loop (floor)", peer: "floor", run: node("floor") },
      { key: "pr", name: `p-retry { retries: ${k}, minTimeout: 0 }`, peer: "p-retry", run: node("pRetry", k === 0 ? Math.ceil(calls / 10) : calls) },
      { key: "eff", name: `Effect.retry(Schedule.recurs(${k}))`, peer: "effect", run: node("effect", k === 0 ? calls : Math.ceil(calls / 10)) },
    ];
    const { rows, get } = ctx.interleave(peers, batches);
    const aio = get("aio");
    const notes = [
      `median of ${batches * rounds} rounds per peer (${batches} child process${batches > 1 ? "es" : ""} x ${rounds} rounds, after 3 warm-up rounds)`,
      `retry over the floor: ${(aio / get("floor")).toFixed(2)}x; p-retry / asyncio-ts = ${(get("pr") / aio).toFixed(2)}; Effect / asyncio-ts = ${(get("eff") / aio).toFixed(2)}`,
    ];
    if (k > 0) notes.push("asyncio-ts yields one loop iteration per retry (cancellable, fair); p-retry retries in microtasks without yielding");
    ctx.table({
      title: k === 0 ? "retry, the first attempt succeeds (ns per call)" : `retry, ${k} failures then success, delays of 0 (ns per attempt)`,
      columns: [
        { key: "nsPerOp", label: k === 0 ? "median ns/call" : "median ns/attempt", digits: 0 },
        { key: "min", label: "min", digits: 0 },
        { key: "max", label: "max", digits: 0 },
      ],
      rows,
      ratio: { key: "nsPerOp", baseline: rows[0].name, label: "x asyncio-ts" },
      notes,
    });
    for (const { name, nsPerOp, peer } of rows) all.push({ name: `k=${k}: ${name}`, nsPerOp, ...(peer ? { peer } : {}) });
  }
  return all;
}
