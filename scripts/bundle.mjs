/**
 * The build's second step: `tsc -p tsconfig.build.json` writes the declarations (and the examples); this
 * script writes the library's JavaScript as a few bundled files in place of one file per source module
 * (`npm run build` runs both). Why: Node's ES loader pays for every file it loads (resolving, reading,
 * compiling, linking). `import "asyncio-ts"` of 88 ES modules cost 60 ms on Node 20; bundled into 17 files
 * (the previous layout), less than half of that; in the 4 files of this layout, Node 24 imports it in 17.7
 * ms against 27.5 for the 17 files in one run, 21.1 against 30.8 in another (`node
 * bench/lib/import-inside.mjs NODE 41 <both index.js>`: medians of alternating children, `import()`
 * timed inside each; bench/README.md, "Startup", has the whole programs).
 *
 * Seven esbuild builds in five steps, all ES modules:
 * - **The kernel** (`src/core/`), in `dist/src/core/`: `core/errors.js` holds `errors.ts` and `check.ts`
 *   (what the worker side needs), `core/index.js` the rest, importing `./errors.js`. `core/stack.ts` tells
 *   the kernel's stack frames from the user's by that folder.
 * - **What the index holds, and each module's members** (two builds that write nothing: esbuild's
 *   metafile lists the modules, and each module's exports).
 * - **The worker side** (the worker entry, its API, the loaders), with chunks shared among them, and its
 *   own copies of the few modules it shares with the index (`SHARED_WITH_WORKERS`): a worker thread does
 *   not load the index.
 * - **The other entry points** (`testing`, `tracing`, `redis`, the CLI), with chunks they share among
 *   themselves. A module they import that the index holds is not bundled again: it becomes a module that
 *   re-exports its members from `../main/index.js` under hidden names (`__aio_sync_lock$Lock`).
 * - **The index**, `main/index.js`: `src/index.ts` and everything it needs above the kernel, in one file,
 *   which also exports the hidden members that the other entry points turned out to import.
 *   `dist/src/index.js` re-exports its public names only.
 * So every module exists once per thread, whichever entry loaded it: one current task, one set of
 * classes, one of every table. An import of the kernel stays an import of its door in every build.
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
 * Rejected, each measured on Node 24 while choosing, on layouts built by hand for the purpose (medians of
 * 21-61 alternating children, `import()` timed inside by `bench/lib/import-inside.mjs`):
 * - One bundle per entry point: each would carry its own kernel (a task made through `asyncio-ts/testing`
 *   would not be current for `asyncio-ts`).
 * - One build of every entry with shared chunks (the previous layout): the index was 17 files, one per set
 *   of entries sharing code; 27.5 ms against 17.7.
 * - The kernel's three doors with shared chunks (5 files): 19.3 ms against 15.7 for the same code in one
 *   file; the kernel in two files costs nothing measurable.
 * - Each held module exported whole, as a namespace object: 28.4 ms against 26.7 for the same layout with
 *   none.
 * - The worker side's modules in chunks shared with the index (2 more files for the index): 26.7 ms
 *   against 22.3 without them. The worker side inside the index instead: a worker thread would load the
 *   whole index, 0.5 MB, to run one function.
 * - Minifying, stripping comments, dropping `keepNames`: none measurable (20.4-22.1 ms either way; the
 *   code, not its comments, is what V8 compiles), and stack traces of one line or renamed functions.
 * - Node's compile cache: `module.enableCompileCache` is Node 22.1+, and a library should not turn it on
 *   for the whole process (a user may: `NODE_COMPILE_CACHE=dir`).
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

/**
 * The markers around each file's code: inside somebody's bundle, every frame names the bundle's file, and
 * the lines between a file's two markers tell the package's frames from the user's (src/core/own-code.ts).
 * The first is a function, as a CommonJS bundle moves a module's functions above the rest of its code.
 */
function marks(part) {
  return {
    banner: { js: "function __aioCodeStart() { return new Error(); }" },
    footer: { js: `(globalThis[Symbol.for("asyncio-ts.code")] ??= []).push(["${part}", __aioCodeStart(), new Error()]);` },
  };
}

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
  ...marks("kernel"),
  plugins: [virtualEntry("asyncio-ts-errors", ["errors", "check"].map((d) => `export * from ${JSON.stringify(join(src, "core", `${d}.ts`))};`).join("\n"), join(src, "core"))],
});
const kernel = await build({
  ...common,
  splitting: false,
  entryPoints: { "core/index": join(src, "core", "index.ts") },
  ...marks("kernel"),
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
  ...marks("library"),
  plugins: [layering],
});
const onWorkerSide = new Set(Object.keys(workerSide.metafile.inputs));

// the other entry points, through the index; then the members they take from it
const others = await build({
  ...common,
  entryPoints: Object.fromEntries(Object.entries(OTHERS).map(([name, file]) => [name, join(src, file)])),
  ...marks("library"),
  plugins: [layering, throughMain(members)],
});
const copies = [...held, ...Object.keys(others.metafile.inputs)].filter((m) => onWorkerSide.has(m) && !SHARED_WITH_WORKERS.includes(m));
if (copies.length > 0) throw new Error(`${copies.join(", ")}: on the worker side and above it; a second copy is safe only for modules whose state is on globalThis (SHARED_WITH_WORKERS)`);
const byHidden = new Map([...members].flatMap(([m, names]) => names.map((n) => [hiddenName(m, n), [m, n]])));
if (byHidden.size !== [...members.values()].reduce((a, n) => a + n.length, 0)) throw new Error("two members of the index have one hidden name: rename one");
const used = new Map();
for (const file of Object.keys(others.metafile.outputs).filter((f) => f.endsWith(".js"))) {
  const text = readFileSync(join(root, file), "utf8");
  const read = [...text.matchAll(/(?:import|export)\s*\{([^}]*)\}\s*from\s*"\.\.\/main\/index\.js"/g)];
  if (read.length !== text.split(`"${MAIN}"`).length - 1) throw new Error(`${file} takes from the index in a form this script does not read: only import { ... } / export { ... }`);
  for (const m of read) {
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
  ...marks("library"),
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
