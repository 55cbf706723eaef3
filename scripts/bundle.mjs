/**
 * The build's second step: `tsc -p tsconfig.build.json` writes the declarations (and the examples); this
 * script writes the library's JavaScript as a few bundled files in place of one file per source module
 * (`npm run build` runs both). Why: Node's ES loader pays for every file it loads (resolving, reading,
 * compiling, linking). `import "asyncio-ts"` of 88 ES modules cost 60 ms on Node 20; bundled into 17 files,
 * less than half of that; with the index in one file (below), Node 24 imports it in 22 ms against 34 for
 * the 17 files (bench/README.md, "Startup", has the runs).
 *
 * Three esbuild builds, all ES modules:
 * - **The kernel** (`src/core/`): its three doors, `core/index.js`, `core/errors.js` and `core/check.js`,
 *   and their shared chunks, all in `dist/src/core/`. `core/stack.ts` tells the kernel's stack frames from
 *   the user's by that folder.
 * - **The index and the worker side**: `main/index.js` holds everything the index needs above the kernel,
 *   in one file, except what the worker side needs too (the worker entry, its API, the loaders): that goes
 *   into chunks shared with them (`dist/src/chunks/`), so that a worker thread does not load the index.
 *   `main/index.js` also exports, under hidden names (`__aio_<path>`), each module it holds as a namespace.
 *   `dist/src/index.js` re-exports the public names only.
 * - **The other entry points** (`testing`, `tracing`, `redis`, the CLI), with chunks they share among
 *   themselves. A module they import that the index holds is not bundled again: it becomes a small module
 *   that reads the index's hidden namespace. So every module exists once, whichever entry loaded it: one
 *   current task, one set of classes, one of every table.
 * An import of the kernel stays an import of its door (`../core/index.js`) in every build.
 *
 * Invariant: every file this writes above the kernel sits exactly one folder below `dist/src/` (the index
 * is `main/index.js`, re-exported by `dist/src/index.js`), as every source file that finds another by
 * `import.meta.url` sits one folder below `src/` and writes the path from there
 * (`new URL("../executors/ts-loader.js", import.meta.url)`): so such a path means the same file from the
 * sources, from an entry and from a chunk; and so `../main/index.js` names the index from any of them. The
 * examples (`examples/`), the packages the library loads on demand (`typescript`, `bullmq`, `ioredis`) and
 * Node's built-ins stay imports.
 *
 * `BUNDLE_REPORT=1 node scripts/bundle.mjs` lists, for each output over 100 KB, the source modules that
 * weigh most in it.
 *
 * Rejected: one bundle per entry point (each would carry its own kernel: a task made through
 * `asyncio-ts/testing` would not be current for `asyncio-ts`); one build of every entry with shared
 * chunks (the previous build: the index was 17 files, one per set of entries sharing code, 12 ms more to
 * import on Node 24 than one file); the worker side inside the index too (a worker thread would load the
 * whole index, 0.5 MB, to run one function); bundling only the kernel (31 of the 85 modules: about a third
 * of the cost); minifying (Node 24, 11 alternating children: the index's import 22.1 ms unminified, 20.4
 * with whitespace and syntax minified, 21.2 fully: within the noise, for stack traces of one line);
 * shipping the sources for the ES loader to cache (Node 20 has no compile cache for ES modules;
 * `module.enableCompileCache` is Node 22.1+, and a library should not turn it on for the whole process).
 */
import { build } from "esbuild";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const out = join(root, "dist", "src");

/** The worker side: loaded by their path in worker threads and child processes (or as loader hooks). */
const WORKER_SIDE = {
  "cli/ts-hooks": "cli/ts-hooks.ts",
  "executors/worker-entry": "executors/worker-entry.ts",
  "executors/worker-api": "executors/worker-api.ts",
  "executors/ts-loader": "executors/ts-loader.ts",
};
/** The other entry points above the index, as `tsc` would name them under dist/src/. */
const OTHERS = {
  "testing/index": "testing/index.ts",
  "tracing/index": "tracing/index.ts",
  "redis/index": "redis/index.ts",
  "cli/aio": "cli/aio.ts",
};
const KERNEL_DOORS = ["index", "errors", "check"];
/** The index's file, as every other bundled file names it (each sits one folder below dist/src/). */
const MAIN = "../main/index.js";
const HIDDEN = "__aio_";
/**
 * The modules that the worker side and the files above it may each hold a copy of: their state is on
 * `globalThis` (`worker-api.ts`), or they have none but a cache (`protocol.ts`'s made-up error classes), or
 * their state is used on the loader's thread only (`ts-hooks.ts`: the CLI's copy formats syntax reports).
 */
const SHARED_WITH_WORKERS = ["src/executors/protocol.ts", "src/executors/worker-api.ts", "src/cli/ts-hooks.ts"];

/** esbuild's options for every build. */
const common = {
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  outdir: out,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
  legalComments: "none",
  metafile: true,
  // class and function names are part of the API (`err.name`, `constructor.name` in messages and stacks)
  keepNames: true,
};

/** A source file's path from the project's root, `/`-separated, with the `.ts` a `.js` import names. */
function sourcePath(importer, path) {
  return relative(root, join(dirname(importer), path)).split(sep).join("/").replace(/\.js$/, ".ts");
}

/** The hidden name under which the index exports a member of a module it holds (`__aio_sync_lock$Lock`). */
function hiddenName(module, member) {
  return `${HIDDEN}${module.slice("src/".length).replace(/\.ts$/, "").replace(/[^A-Za-z0-9]/g, "_")}$${member}`;
}

/** Imports of the kernel from above it stay imports of its door; the examples stay imports. */
const layering = {
  name: "asyncio-ts-layers",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.importer === "" || args.namespace !== "file") return undefined;
      const target = join(dirname(args.importer), args.path);
      const rel = relative(src, target).split(sep).join("/");
      if (rel.startsWith("../examples/")) return { path: args.path, external: true };
      if (!rel.startsWith("core/") || relative(src, args.importer).startsWith(`core${sep}`)) return undefined;
      const door = rel.slice("core/".length).replace(/\.(js|ts)$/, "");
      if (!KERNEL_DOORS.includes(door)) throw new Error(`${args.importer} imports ${args.path}: above the kernel, import its doors only`);
      return { path: door === "index" ? "../core/index.js" : "../core/errors.js", external: true };
    });
  },
};

/** An entry point whose source is `contents` (resolved from `resolveDir`). */
function virtualEntry(name, contents, resolveDir) {
  return {
    name,
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${name}$`) }, () => ({ path: name, namespace: name }));
      b.onLoad({ filter: /.*/, namespace: name }, () => ({ contents, resolveDir, loader: "ts" }));
    },
  };
}

/** The index's entry: the public API, and under hidden names the members of its modules that others use. */
function mainEntry(used) {
  const lines = [`export * from ${JSON.stringify(join(src, "index.ts"))};`];
  for (const [module, members] of used) lines.push(`export { ${members.map((n) => `${n} as ${hiddenName(module, n)}`).join(", ")} } from ${JSON.stringify(join(root, module))};`);
  return virtualEntry("asyncio-ts-main", lines.join("\n"), src);
}

/** Above the index: a module the index holds becomes one that re-exports its members from the index. */
function throughMain(members) {
  return {
    name: "asyncio-ts-through-main",
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.namespace === "asyncio-ts-door") return { path: args.path, external: true };
        if (args.importer === "") return undefined;
        const module = sourcePath(args.importer, args.path);
        return members.has(module) ? { path: module, namespace: "asyncio-ts-door" } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: "asyncio-ts-door" }, (args) => ({
        contents: `export { ${members.get(args.path).map((n) => `${hiddenName(args.path, n)} as ${n}`).join(", ")} } from ${JSON.stringify(MAIN)};`,
        loader: "js",
      }));
    },
  };
}

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

// the kernel: its errors and checks in one file, the rest in another that imports it
const kernelErrors = await build({
  ...common,
  splitting: false,
  entryPoints: { "core/errors": "asyncio-ts-errors" },
  plugins: [virtualEntry("asyncio-ts-errors", ["errors", "check"].map((d) => `export * from ${JSON.stringify(join(src, "core", `${d}.ts`))};`).join("\n"), join(src, "core"))],
});
const kernel = await build({
  ...common,
  splitting: false,
  entryPoints: { "core/index": join(src, "core", "index.ts") },
  plugins: [
    {
      name: "asyncio-ts-kernel-errors",
      setup(b) {
        b.onResolve({ filter: /^\.\/(errors|check)\.js$/ }, (args) => (dirname(args.importer) === join(src, "core") ? { path: "./errors.js", external: true } : undefined));
      },
    },
  ],
});
const twice = Object.keys(kernel.metafile.inputs).filter((m) => m in kernelErrors.metafile.inputs);
if (twice.length > 0) throw new Error(`${twice.join(", ")} would be in both core/index.js and core/errors.js: import them through ./errors.js or ./check.js only`);

// the modules the index holds above the kernel, and the members each exports (esbuild's own reading)
const probe = await build({ ...common, entryPoints: [join(src, "index.ts")], splitting: false, write: false, outdir: undefined, outfile: join(out, "probe.js"), plugins: [layering] });
const held = Object.keys(probe.metafile.inputs).filter((m) => m.startsWith("src/") && m.endsWith(".ts") && m !== "src/index.ts" && !m.startsWith("src/core/"));
const listed = await build({ ...common, entryPoints: held, bundle: false, splitting: false, write: false, outdir: join(root, "probe"), outbase: root, keepNames: false });
const members = new Map(held.map((m) => [m, listed.metafile.outputs[`probe/${m.replace(/\.ts$/, ".js")}`].exports]));

// the worker side: its own copy of the little it shares with the index (whose state is on globalThis)
const workerSide = await build({
  ...common,
  entryPoints: Object.fromEntries(Object.entries(WORKER_SIDE).map(([name, file]) => [name, join(src, file)])),
  plugins: [layering],
});
const onWorkerSide = new Set(Object.keys(workerSide.metafile.inputs));

// the other entry points, through the index; then the members they take from it
const others = await build({
  ...common,
  entryPoints: Object.fromEntries(Object.entries(OTHERS).map(([name, file]) => [name, join(src, file)])),
  plugins: [layering, throughMain(members)],
});
const copies = [...held, ...Object.keys(others.metafile.inputs)].filter((m) => onWorkerSide.has(m) && !SHARED_WITH_WORKERS.includes(m));
if (copies.length > 0) throw new Error(`${copies.join(", ")}: on the worker side and above it; a second copy is safe only for modules whose state is on globalThis (SHARED_WITH_WORKERS)`);
const byHidden = new Map([...members].flatMap(([m, names]) => names.map((n) => [hiddenName(m, n), [m, n]])));
if (byHidden.size !== [...members.values()].reduce((a, n) => a + n.length, 0)) throw new Error("two members of the index have one hidden name: rename one");
const used = new Map();
for (const file of Object.keys(others.metafile.outputs).filter((f) => f.endsWith(".js"))) {
  const text = readFileSync(join(root, file), "utf8");
  for (const m of text.matchAll(/(?:import|export)\s*\{([^}]*)\}\s*from\s*"\.\.\/main\/index\.js"/g)) {
    for (const spec of m[1].split(",").map((x) => x.trim().split(/\s+as\s+/)[0]).filter((x) => x !== "")) {
      const [module, member] = byHidden.get(spec) ?? [];
      if (module === undefined) throw new Error(`${file} imports ${spec} from the index, which has no such member`);
      if (!used.has(module)) used.set(module, new Set());
      used.get(module).add(member);
    }
  }
}

const main = await build({
  ...common,
  splitting: false,
  entryPoints: { "main/index": "asyncio-ts-main" },
  plugins: [mainEntry([...used].map(([m, s]) => [m, [...s].sort()])), layering],
});
const publicNames = main.metafile.outputs["dist/src/main/index.js"].exports.filter((k) => !k.startsWith(HIDDEN));
writeFileSync(join(out, "index.js"), `export {\n${publicNames.map((n) => `  ${n},\n`).join("")}} from "./main/index.js";\n`);
if (process.env.BUNDLE_REPORT) {
  for (const r of [kernelErrors, kernel, workerSide, main, others]) {
    for (const [file, o] of Object.entries(r.metafile.outputs)) {
      if (o.bytes < 100000) continue;
      console.log(file, o.bytes);
      for (const [input, i] of Object.entries(o.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 25)) console.log("  ", i.bytesInOutput, input);
    }
  }
}
