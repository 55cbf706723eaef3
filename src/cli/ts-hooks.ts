/**
 * Module hooks for `aio run` (registered with `node:module`'s `register`, run on Node's hooks thread).
 *
 * - `asyncio-ts` and `asyncio-ts/<sub>` resolve to the copy of the library that runs the command, so
 *   the program's loops are the ones the command instruments (one set of classes, one registry).
 * - `.ts`/`.mts` files are transpiled with the `typescript` package (looked up from the working
 *   directory, then from asyncio-ts's own folder): type annotations removed, nothing type-checked; a
 *   syntax error is reported as `file:line:column` with the line (TypeScript's transpiler would otherwise
 *   repair it silently: `sleep(1;` ran as `sleep(1);`). Without the package, on a Node that strips types
 *   (`process.features.typescript`: Node >= 22.18, or 22.6 with `--experimental-strip-types`), Node's own
 *   type stripping loads them, as an ES module (it removes annotations only: enums, namespaces and
 *   parameter properties need the package). TypeScript's ESM convention works either way:
 *   `import "./util.js"` finds `util.ts`.
 * - The JavaScript files of the program are posted to `aio run` (`HooksData.port`), so that a syntax
 *   error Node reports without its place can be found (`run-script.ts`).
 *
 * Rejected alternatives: depending on `tsx` or `esbuild` (the package has zero runtime dependencies;
 * the CLI should not add one for users who run JavaScript), and Node's type stripping even when the
 * `typescript` package is there (it refuses enums and namespaces, which the package transpiles; and Node
 * 20 has none).
 *
 * @module
 */
const { readFile } = process.getBuiltinModule("node:fs/promises");
const { createRequire } = process.getBuiltinModule("node:module");
const { isAbsolute, join, relative } = process.getBuiltinModule("node:path");
const { fileURLToPath } = process.getBuiltinModule("node:url");
import type { MessagePort } from "node:worker_threads";

/** What `register` passes: where the library's entry points are. */
export interface HooksData {
  /** subpath ("." , "./testing", "./tracing") → file URL */
  entries: Record<string, string>;
  cwd: string;
  /** where the URLs of the program's JavaScript files are posted as they load */
  port?: MessagePort;
}

/**
 * A syntax error as `aio run` reports it: `aio run: bad.ts:4:16: SyntaxError: ')' expected.`, then the
 * line and a caret under the column; `file` is shown relative to `cwd` when it is below it.
 */
export function syntaxReport(o: { file: string; line: number; column: number; message: string; source?: string; cwd: string; hint?: string }): string {
  const rel = relative(o.cwd, o.file);
  const shown = rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : o.file;
  const lines = [`aio run: ${shown}:${o.line}:${o.column}: ${o.message}`];
  if (o.source !== undefined) {
    const n = String(o.line);
    const pad = " ".repeat(n.length);
    lines.push(`  ${n} | ${o.source.replace(/\t/g, " ")}`, `  ${pad} | ${" ".repeat(Math.max(0, o.column - 1))}^`);
  }
  if (o.hint !== undefined) lines.push(o.hint);
  return lines.join("\n");
}

let data: HooksData = { entries: {}, cwd: process.cwd() };

type TsDiagnostic = {
  category: number;
  code: number;
  start?: number;
  messageText: unknown;
  file?: { getLineAndCharacterOfPosition(pos: number): { line: number; character: number } };
};
type TsModule = {
  transpileModule(src: string, opts: unknown): { outputText: string; diagnostics?: readonly TsDiagnostic[] };
  flattenDiagnosticMessageText(text: unknown, newLine: string): string;
  ModuleKind: Record<string, number>;
  ScriptTarget: Record<string, number>;
  DiagnosticCategory: Record<string, number>;
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
  if (!url.startsWith("file:")) return next(url, context);
  const pathname = new URL(url).pathname;
  if (!TS_EXT.test(pathname)) {
    if (data.port !== undefined && /\.[cm]?js$/.test(pathname) && !pathname.includes("/node_modules/")) data.port.postMessage(url);
    return next(url, context);
  }
  const path = fileURLToPath(url);
  if (path.endsWith(".cts")) {
    throw new Error(`aio run: ${path}: CommonJS TypeScript (.cts) is not supported; use .ts or .mts (ES modules)`);
  }
  const typescript = loadTypescript();
  if (typescript === null) {
    // Node's own type stripping (an ES module, as the typescript path makes it)
    if (nodeStripsTypes()) return next(url, { ...context, format: "module-typescript" });
    throw new Error(
      `aio run: running a TypeScript file (${path}) needs the "typescript" package: install it next to your ` +
        "program (npm install --save-dev typescript), or run it on Node 22.18 or later (which strips types), " +
        "or compile the program to JavaScript and run the .js file",
    );
  }
  const src = await readFile(path, "utf8");
  const out = typescript.transpileModule(src, {
    fileName: path,
    reportDiagnostics: true,
    compilerOptions: {
      module: typescript.ModuleKind["ESNext"],
      target: typescript.ScriptTarget["ES2022"],
      inlineSourceMap: true,
      inlineSources: true,
      verbatimModuleSyntax: false,
    },
  });
  // (transpileModule reports syntax errors only; it would emit code for them all the same)
  const error = out.diagnostics?.find((d) => d.category === typescript.DiagnosticCategory["Error"] && d.file !== undefined && d.start !== undefined);
  if (error !== undefined) {
    const { line, character } = error.file!.getLineAndCharacterOfPosition(error.start!);
    const text = typescript.flattenDiagnosticMessageText(error.messageText, "\n");
    throw new SyntaxError(
      syntaxReport({ file: path, line: line + 1, column: character + 1, message: `SyntaxError: ${text} (TS${error.code})`, source: src.split(/\r?\n/)[line], cwd: data.cwd }),
    );
  }
  return { format: "module", source: out.outputText, shortCircuit: true };
}

/** Whether this Node strips TypeScript's types itself (Node >= 22.18; 22.6 with --experimental-strip-types). */
function nodeStripsTypes(): boolean {
  const f = (process.features as { typescript?: unknown }).typescript;
  return f === "strip" || f === "transform";
}
