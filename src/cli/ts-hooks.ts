/**
 * Module hooks for `aio run` (registered with `node:module`'s `register`, run on Node's hooks thread).
 *
 * - `asyncio-ts` and `asyncio-ts/<sub>` resolve to the copy of the library that runs the command, so
 *   the program's loops are the ones the command instruments (one set of classes, one registry).
 * - `.ts`/`.mts` files are transpiled with the `typescript` package (looked up from the working
 *   directory, then from asyncio-ts's own folder): type annotations removed, nothing type-checked.
 *   TypeScript's ESM convention works: `import "./util.js"` finds `util.ts`.
 *
 * Rejected alternatives: depending on `tsx` or `esbuild` (the package has zero runtime dependencies;
 * the CLI should not add one for users who run JavaScript), and Node's own type stripping (Node >= 22.6
 * only; the package supports Node 20).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** What `register` passes: where the library's entry points are. */
export interface HooksData {
  /** subpath ("." , "./testing", "./tracing") → file URL */
  entries: Record<string, string>;
  cwd: string;
}

let data: HooksData = { entries: {}, cwd: process.cwd() };

type TsModule = {
  transpileModule(src: string, opts: unknown): { outputText: string };
  ModuleKind: Record<string, number>;
  ScriptTarget: Record<string, number>;
};
let ts: TsModule | null | undefined;

function loadTypescript(): TsModule | null {
  if (ts !== undefined) return ts;
  for (const base of [join(data.cwd, "noop.js"), fileURLToPath(import.meta.url)]) {
    try {
      ts = createRequire(base)("typescript") as TsModule;
      return ts;
    } catch {}
  }
  ts = null;
  return ts;
}

/** Node's `initialize` hook. */
export function initialize(d: HooksData): void {
  data = d;
}

type Resolved = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context?: unknown) => Promise<Resolved>;
type NextLoad = (url: string, context?: unknown) => Promise<{ format?: string | null; source?: unknown; shortCircuit?: boolean }>;

const TS_EXT = /\.(ts|mts|cts)$/;

/** Node's `resolve` hook. */
export async function resolve(specifier: string, context: { parentURL?: string }, next: NextResolve): Promise<Resolved> {
  if (specifier === "asyncio-ts" || specifier.startsWith("asyncio-ts/")) {
    const sub = specifier === "asyncio-ts" ? "." : `./${specifier.slice("asyncio-ts/".length)}`;
    const url = data.entries[sub];
    if (url !== undefined) return { url, format: "module", shortCircuit: true };
  }
  try {
    return await next(specifier, context);
  } catch (e) {
    const parent = context.parentURL ?? "";
    const relative = specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("file:");
    if (!relative || (e as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw e;
    // TypeScript's ESM convention: "./x.js" names ./x.ts; also allow extensionless imports from .ts files
    const candidates = /\.m?js$/.test(specifier)
      ? [specifier.replace(/\.js$/, ".ts").replace(/\.mjs$/, ".mts")]
      : TS_EXT.test(parent) && !/\.[a-z]+$/i.test(specifier)
        ? [`${specifier}.ts`, `${specifier}/index.ts`]
        : [];
    for (const c of candidates) {
      try {
        return await next(c, context);
      } catch {}
    }
    throw e;
  }
}

/** Node's `load` hook. */
export async function load(url: string, context: { format?: string | null }, next: NextLoad): Promise<{ format?: string | null; source?: unknown; shortCircuit?: boolean }> {
  if (!url.startsWith("file:") || !TS_EXT.test(new URL(url).pathname)) return next(url, context);
  const path = fileURLToPath(url);
  if (path.endsWith(".cts")) {
    throw new Error(`aio run: ${path}: CommonJS TypeScript (.cts) is not supported; use .ts or .mts (ES modules)`);
  }
  const typescript = loadTypescript();
  if (typescript === null) {
    throw new Error(
      `aio run: running a TypeScript file (${path}) needs the "typescript" package: install it next to your ` +
        "program (npm install --save-dev typescript), or compile the program to JavaScript and run the .js file",
    );
  }
  const src = await readFile(path, "utf8");
  const out = typescript.transpileModule(src, {
    fileName: path,
    compilerOptions: {
      module: typescript.ModuleKind["ESNext"],
      target: typescript.ScriptTarget["ES2022"],
      inlineSourceMap: true,
      inlineSources: true,
      verbatimModuleSyntax: false,
    },
  });
  return { format: "module", source: out.outputText, shortCircuit: true };
}
