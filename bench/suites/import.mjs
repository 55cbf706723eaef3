/**
 * Import suite: what `import "asyncio-ts"` costs a program at start-up, beside tinypool, Piscina, p-limit
 * and Effect (issue 16's target: at most 40 ms on Node 20).
 *
 * Each import is timed in a fresh child process (`performance.now()` around `await import(name)`: Node's
 * own start-up is left out), peers taking turns, `batches` rounds of 3 children each; the table shows the
 * median and the spread (min-max) per peer. Every package is imported by its name, as a program would,
 * from a scratch folder laid out like an installed project: asyncio-ts is a copy of the build under test
 * (its `package.json` and `dist/src`), the peers are links to this repository's `node_modules`.
 *
 * Extra rows: asyncio-ts under Node 24 (`bench/.node24`, installed by `bench/run.mjs`; or the Node given in
 * `ASYNCIO_BENCH_NODE24`), and the kernel alone (`dist/src/core/index.js`, not importable by users: the
 * floor that the modules above it start from). `ASYNCIO_BENCH_IMPORT_BASE=<another dist>` adds that build
 * as "baseline" rows, interleaved with the others (before/after a change: a build of the older commit,
 * see "How to run" for making one).
 *
 * The figures depend on the machine's load more than most: other processes slow file reads and module
 * compilation alike. Run it on an idle machine, and compare rows of the same run.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findNode24, scratchProject } from "../lib/scratch-project.mjs";

/** The target of issue 16, in ms, on Node 20. */
const TARGET_MS = 40;
const PEERS = ["tinypool", "piscina", "p-limit", "effect"];

const CHILD = `
const spec = process.argv[2];
const t0 = performance.now();
await import(spec);
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms }));
`;

export default async function importSuite(ctx) {
  const project = scratchProject(ctx, PEERS);
  const scratch = project.dir;
  const pkg = join(scratch, "node_modules", "asyncio-ts");
  try {
    const child = join(scratch, "import-one.mjs");
    writeFileSync(child, CHILD);

    const node24 = findNode24(ctx.root);
    const children = 3;
    const batches = ctx.quick ? 4 : 15;
    const once = (node, spec) => {
      const r = spawnSync(node, [child, spec], { cwd: scratch, encoding: "utf8", timeout: 60_000 });
      if (r.status !== 0) throw new Error(`${spec}: ${r.error?.message ?? `exit ${r.status}`}\n${r.stderr}`);
      const lines = r.stdout.trim().split("\n");
      return JSON.parse(lines[lines.length - 1]).ms;
    };
    const peer = (key, name, node, spec, optional = false) => ({
      key,
      name,
      optional,
      run: () => ({ nsPerOp: Array.from({ length: children }, () => once(node, spec)) }),
    });
    const hasBase = project.hasBase;
    const peers = [
      peer("aio", `asyncio-ts (Node ${ctx.nodeVersion})`, process.execPath, "asyncio-ts"),
      ...(hasBase ? [peer("base", `asyncio-ts, baseline build (Node ${ctx.nodeVersion})`, process.execPath, "asyncio-ts-base")] : []),
      ...(node24 === null ? [] : [peer("aio24", `asyncio-ts (Node ${node24.version})`, node24.path, "asyncio-ts", true)]),
      ...(node24 === null || !hasBase ? [] : [peer("base24", `asyncio-ts, baseline build (Node ${node24.version})`, node24.path, "asyncio-ts-base", true)]),
      peer("kernel", "asyncio-ts kernel alone (src/core)", process.execPath, pathToFileURL(join(pkg, "dist", "src", "core", "index.js")).href),
      ...project.peers.map((p) => peer(p, p, process.execPath, p, true)),
    ];
    // One untimed round: the first reads of the files come from the disk, not the page cache.
    for (const p of peers) {
      try {
        p.run();
      } catch {
        // (an optional peer that fails is reported by interleave below)
      }
    }
    const { rows, get } = ctx.interleave(peers, batches);
    const aio = get("aio");
    ctx.table({
      title: `Import: \`await import(name)\` in a fresh process, ms (median of ${batches * children} children per row; lower is better)`,
      columns: [
        { key: "nsPerOp", label: "median ms", digits: 1 },
        { key: "min", label: "min", digits: 1 },
        { key: "max", label: "max", digits: 1 },
      ],
      rows,
      ratio: { key: "nsPerOp", baseline: `asyncio-ts (Node ${ctx.nodeVersion})`, label: "x asyncio-ts" },
      notes: [
        `target (issue 16): asyncio-ts <= ${TARGET_MS} ms on Node 20: ${
          aio === undefined ? "-" : `${aio.toFixed(1)} ms, ${ctx.nodeVersion.startsWith("20.") ? (aio <= TARGET_MS ? "met" : "missed") : "not Node 20: not judged"}`
        }`,
        `${ctx.cores} cores; peers interleaved; Node's own start-up is not included`,
        ...(node24 === null ? ["(no Node 24: run `node bench/run.mjs` once to install it into bench/.node24, or set ASYNCIO_BENCH_NODE24)"] : []),
      ],
    });
  } finally {
    project.remove();
  }
}
