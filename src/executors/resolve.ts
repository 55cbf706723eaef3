/**
 * Finding code for workers: the worker entry file, and TypeScript task modules.
 *
 * ## Approach
 * Node 20 workers cannot load `.ts` files. A `.ts` module (tests under vitest, `tsx` users) is mapped
 * to its compiled twin: for `<dir>/<rel>.ts`, the first ancestor `<dir>` that has
 * `<dir>/dist/<rel>.js` (this project's `outDir` layout), provided the twin is not older than the
 * source. Without a fresh twin the `.ts` URL is kept and the worker registers a small loader
 * (`ts-loader.ts`) that transpiles TypeScript with the `typescript` package, which must then be
 * installed.
 *
 * Workers always start from the compiled entry, `dist/src/executors/worker-entry.js`, found the same
 * way from the sources, or named by `ASYNCIO_TS_WORKER_ENTRY` (a program bundled with asyncio-ts inside
 * has no such file beside it). A clear error says what to do when it is missing: build the checkout, or,
 * from a bundle, keep asyncio-ts external or set the variable.
 *
 * Rejected: `tsx`/`ts-node` as a dependency (heavy, and not needed once built); requiring users to point
 * at `.js` files themselves (breaks `moduleFunction(import.meta.url, fn)` under vitest).
 *
 * @module
 */
const { existsSync, statSync } = process.getBuiltinModule("node:fs");
const { dirname, join, relative, sep } = process.getBuiltinModule("node:path");
const { fileURLToPath, pathToFileURL } = process.getBuiltinModule("node:url");
import { RuntimeError } from "../core/index.js";

const TS_EXT = /\.(m|c)?ts$/;

/** The compiled twin of a `.ts` file, or null. @internal */
export function compiledTwin(tsPath: string): string | null {
  const jsRel = (p: string): string => p.replace(TS_EXT, (_m, x: string | undefined) => `.${x ?? ""}js`);
  let dir = dirname(tsPath);
  for (;;) {
    const rel = relative(dir, tsPath);
    if (!rel.startsWith(`dist${sep}`)) {
      const cand = join(dir, "dist", jsRel(rel));
      if (existsSync(cand)) {
        try {
          if (statSync(cand).mtimeMs + 1 >= statSync(tsPath).mtimeMs) return cand;
        } catch {
          // A file vanished between existsSync and stat (a rebuild): take the compiled twin; if it is
          // gone too, importing it fails with a clear "cannot find module".
          return cand;
        }
        return null; // stale: let the loader compile the source
      }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

const resolvedCache = new Map<string, string>();

/** Map a module URL for a worker: `.ts` to its fresh compiled twin when there is one. @internal */
export function resolveModuleUrl(url: string): string {
  if (!url.startsWith("file:")) return url;
  const hit = resolvedCache.get(url);
  if (hit !== undefined) return hit;
  let out = url;
  const path = fileURLToPath(url);
  if (TS_EXT.test(path)) {
    const twin = compiledTwin(path);
    if (twin !== null) out = pathToFileURL(twin).href;
  }
  resolvedCache.set(url, out);
  return out;
}

let entryPath: string | null = null;

/** Absolute path of the compiled worker entry. @internal */
export function workerEntryPath(): string {
  if (entryPath !== null) return entryPath;
  const given = process.env["ASYNCIO_TS_WORKER_ENTRY"];
  if (given !== undefined && given !== "") {
    if (!existsSync(given)) {
      throw new RuntimeError(`ASYNCIO_TS_WORKER_ENTRY names ${JSON.stringify(given)}, which does not exist: point it at asyncio-ts's dist/src/executors/worker-entry.js`);
    }
    return (entryPath = given);
  }
  const url: unknown = import.meta.url; // undefined in a CommonJS bundle
  const here = typeof url === "string" ? fileURLToPath(url) : "a CommonJS bundle";
  let p: string | null;
  if (typeof url !== "string") {
    p = null;
  } else if (TS_EXT.test(here)) {
    const ts = join(dirname(here), "worker-entry.ts");
    p = compiledTwin(ts);
    if (p === null) {
      // a stale twin is still the best we have for the entry; find it without the freshness check
      let dir = dirname(ts);
      for (;;) {
        const cand = join(dir, "dist", relative(dir, ts).replace(TS_EXT, ".js"));
        if (existsSync(cand)) {
          p = cand;
          break;
        }
        const up = dirname(dir);
        if (up === dir) break;
        dir = up;
      }
    }
  } else {
    // this code sits in dist/src/main/ or dist/src/chunks/ (the bundled build, bundle.mjs) or
    // dist/src/executors/ (a build by tsc alone)
    p = join(dirname(here), "..", "executors", "worker-entry.js");
  }
  if (p === null || !existsSync(p)) {
    const bundled = !/[\\/](executors[\\/]resolve\.(js|ts)|src[\\/](main|chunks)[\\/][^\\/]+\.js)$/.test(here);
    throw new RuntimeError(
      bundled
        ? "asyncio-ts executors start their workers from its worker entry (dist/src/executors/worker-entry.js), which is not in " +
          `this bundle (${here}): mark asyncio-ts as external in the bundler (esbuild --external:asyncio-ts, webpack externals) and ` +
          "ship node_modules/asyncio-ts beside the bundle, or set ASYNCIO_TS_WORKER_ENTRY to the path of that package's dist/src/executors/worker-entry.js"
        : "asyncio-ts executors need the compiled worker entry (dist/src/executors/worker-entry.js), which is missing: in a checkout of " +
          "asyncio-ts, run `npm run build`; in an installed package, reinstall asyncio-ts",
    );
  }
  entryPath = p;
  return p;
}
