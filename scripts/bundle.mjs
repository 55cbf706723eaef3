/**
 * The build's second step: `tsc -p tsconfig.build.json` writes the declarations (and the examples); this
 * script writes the library's JavaScript as a few bundled files in place of one file per source module
 * (`npm run build` runs both). Why: `import "asyncio-ts"` of 88 ES modules cost 60 ms on Node 20, whose
 * loader pays per module (resolving, reading, compiling); bundled, the same code imports in less than half
 * of that (bench/README.md, "The bundled build", has the figures of both).
 *
 * Two esbuild builds, both ES modules with shared chunks (`splitting`):
 * - **The kernel** (`src/core/`): its three doors, `core/index.js`, `core/errors.js` and `core/check.js`,
 *   and their shared chunks, all in `dist/src/core/`. `core/stack.ts` tells the kernel's stack frames from
 *   the user's by that folder.
 * - **Everything above it**: one entry per file that is loaded by its path (the index, `testing`,
 *   `tracing`, `redis`, the CLI, the worker entry, the loaders), each where `tsc` would write it, and their
 *   shared chunks in `dist/src/chunks/`. An import of the kernel stays an import of its door
 *   (`../core/index.js`), so every entry point, in every thread, shares one copy of the kernel: one current
 *   task, one set of error classes.
 *
 * Invariant: every file this writes above the kernel sits exactly one folder below `dist/src/` (the index
 * is `main/index.js`, re-exported by a one-line `dist/src/index.js`), as every source file that finds
 * another by `import.meta.url` sits one folder below `src/` and writes the path from there
 * (`new URL("../executors/ts-loader.js", import.meta.url)`): so such a path means the same file from the
 * sources, from an entry and from a chunk. The examples (`examples/`), the packages the library loads on
 * demand (`typescript`, `bullmq`, `ioredis`) and Node's built-ins stay imports.
 *
 * `BUNDLE_REPORT=1 node scripts/bundle.mjs` lists, for each output over 100 KB, the source modules that
 * weigh most in it.
 *
 * Rejected: one bundle per entry point (each would carry its own kernel: a task made through
 * `asyncio-ts/testing` would not be current for `asyncio-ts`); bundling only the kernel (31 of the 85
 * modules: about a third of the cost); shipping the sources for the ES loader to cache (Node 20 has no
 * compile cache for ES modules; `module.enableCompileCache` is Node 22.1+).
 */
import { build } from "esbuild";
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const out = join(root, "dist", "src");

/** The files loaded by their path (not only imported), as `tsc` would name them under dist/src/. */
const ENTRIES = {
  "main/index": "index.ts",
  "testing/index": "testing/index.ts",
  "tracing/index": "tracing/index.ts",
  "redis/index": "redis/index.ts",
  "cli/aio": "cli/aio.ts",
  "cli/ts-hooks": "cli/ts-hooks.ts",
  "executors/worker-entry": "executors/worker-entry.ts",
  "executors/worker-api": "executors/worker-api.ts",
  "executors/ts-loader": "executors/ts-loader.ts",
};
const KERNEL_DOORS = ["index", "errors", "check"];

/** esbuild's options for both builds. */
const common = {
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  outdir: out,
  logLevel: "warning",
  legalComments: "none",
  metafile: true,
  // class and function names are part of the API (`err.name`, `constructor.name` in messages and stacks)
  keepNames: true,
};

/** Imports of the kernel from above it stay imports of its door; the examples stay imports. */
const layering = {
  name: "asyncio-ts-layers",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.importer === "") return undefined;
      const target = join(dirname(args.importer), args.path);
      const rel = relative(src, target).split(sep).join("/");
      if (rel.startsWith("../examples/")) return { path: args.path, external: true };
      if (!rel.startsWith("core/") || relative(src, args.importer).startsWith(`core${sep}`)) return undefined;
      const door = rel.slice("core/".length).replace(/\.(js|ts)$/, "");
      if (!KERNEL_DOORS.includes(door)) throw new Error(`${args.importer} imports ${args.path}: above the kernel, import its doors only`);
      return { path: `../core/${door}.js`, external: true };
    });
  },
};

/** Every .js file tsc wrote under dist/src (replaced by the bundle's). */
function compiledFiles(dir) {
  const files = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files.push(...compiledFiles(p));
    else if (name.endsWith(".js") || name.endsWith(".js.map")) files.push(p);
  }
  return files;
}

if (!existsSync(out)) throw new Error(`${out} is missing: run tsc -p tsconfig.build.json first`);
for (const f of compiledFiles(out)) rmSync(f);
rmSync(join(out, "chunks"), { recursive: true, force: true });

const kernel = await build({
  ...common,
  entryPoints: Object.fromEntries(KERNEL_DOORS.map((d) => [`core/${d}`, join(src, "core", `${d}.ts`)])),
  chunkNames: "core/chunk-[hash]",
});
const upper = await build({
  ...common,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, join(src, file)])),
  chunkNames: "chunks/[name]-[hash]",
  plugins: [layering],
  banner: { js: "" },
});
writeFileSync(join(out, "index.js"), 'export * from "./main/index.js";\n');
if (process.env.BUNDLE_REPORT) {
  for (const r of [kernel, upper]) {
    for (const [file, o] of Object.entries(r.metafile.outputs)) {
      if (o.bytes < 100000) continue;
      console.log(file, o.bytes);
      for (const [input, i] of Object.entries(o.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 25)) console.log("  ", i.bytesInOutput, input);
    }
  }
}
