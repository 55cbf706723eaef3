/**
 * Module hooks that let a worker import TypeScript task modules that have no compiled twin (see
 * `resolve.ts`): `.ts` files are transpiled with the `typescript` package (type-stripping only, no type
 * check), and a relative `./x.js` import that does not exist falls back to `./x.ts`, as TypeScript's
 * NodeNext resolution allows. Registered by the worker entry on the first `.ts` module it imports.
 *
 * @module
 */
const { createHash } = process.getBuiltinModule("node:crypto");
const { mkdir, readFile, stat, writeFile } = process.getBuiltinModule("node:fs/promises");
const { tmpdir } = process.getBuiltinModule("node:os");
const { join } = process.getBuiltinModule("node:path");
const { fileURLToPath } = process.getBuiltinModule("node:url");

/** Transpiled modules are cached on disk (keyed by path, size and mtime): loading `typescript` costs ~1 s per worker. */
const cacheDir = join(tmpdir(), "asyncio-ts-ts-cache");

type Next<C, R> = (specifier: string, context: C) => Promise<R>;
interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
interface LoadResult {
  format: string;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}

let tsPromise: Promise<typeof import("typescript")> | null = null;

function typescript(): Promise<typeof import("typescript")> {
  tsPromise ??= import("typescript").then(
    (m) => ((m as { default?: typeof import("typescript") }).default ?? m) as typeof import("typescript"),
    () => {
      throw new Error(
        "asyncio-ts: a worker must import a TypeScript module that has no compiled .js twin, and the " +
          "`typescript` package is not installed: build the module (tsc) or install typescript",
      );
    },
  );
  return tsPromise;
}

/** @internal */
export async function resolve(specifier: string, context: { parentURL?: string }, next: Next<unknown, ResolveResult>): Promise<ResolveResult> {
  try {
    return await next(specifier, context);
  } catch (e) {
    const rel = specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("file:");
    if (rel && /\.(m|c)?js$/.test(specifier) && context.parentURL?.match(/\.(m|c)?ts$/)) {
      return await next(specifier.replace(/js$/, "ts"), context);
    }
    throw e;
  }
}

/** @internal */
export async function load(url: string, context: unknown, next: Next<unknown, LoadResult>): Promise<LoadResult> {
  if (!url.startsWith("file:") || !/\.(m|c)?ts$/.test(url)) return next(url, context);
  const path = fileURLToPath(url);
  const st = await stat(path);
  const key = createHash("sha1").update(`${path}\0${st.size}\0${st.mtimeMs}`).digest("hex");
  const cached = join(cacheDir, `${key}.js`);
  try {
    return { format: url.endsWith(".cts") ? "commonjs" : "module", source: await readFile(cached, "utf8"), shortCircuit: true };
  } catch {
    // not cached yet
  }
  const ts = await typescript();
  const source = await readFile(path, "utf8");
  const out = ts.transpileModule(source, {
    fileName: path,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      sourceMap: false,
      inlineSourceMap: true,
      verbatimModuleSyntax: false,
    },
  });
  try {
    await mkdir(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, out.outputText);
    const { rename } = await import("node:fs/promises");
    await rename(tmp, cached);
  } catch {
    // caching is best effort
  }
  return { format: url.endsWith(".cts") ? "commonjs" : "module", source: out.outputText, shortCircuit: true };
}
