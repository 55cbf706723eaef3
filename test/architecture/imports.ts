/**
 * The import graph of `src/`, read from the sources (no build needed): for each module, what it
 * imports, and whether each import is erased at compile time (`import type`, or every name of it
 * marked `type`). Used by the layer test; `npx vite-node test/architecture/imports.ts` prints the graph
 * and every breach of the rules in `docs/design.md` ("Layers").
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** One import of a module: the module it names (a path under src/, with .ts) and whether it is type-only. */
export interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Every module of src/ (paths relative to the repository, e.g. `src/core/task.ts`). */
export function modules(): string[] {
  return walk(path.join(root, "src"))
    .map((p) => path.relative(root, p).split(path.sep).join("/"))
    .sort();
}

const IMPORT = /^(import|export)\s+(type\s+)?([^;]*?)\s+from\s+["'](\.[^"']+)["']/gms;
const DYNAMIC = /import\(\s*["'](\.[^"']+)["']\s*\)/g;

/** The imports of one module, relative ones only (packages and node: built-ins are not part of the layering). */
export function importsOf(mod: string): Edge[] {
  const text = readFileSync(path.join(root, mod), "utf8");
  const out: Edge[] = [];
  const resolve = (spec: string): string => path.posix.normalize(path.posix.join(path.posix.dirname(mod), spec)).replace(/\.js$/, ".ts");
  for (const m of text.matchAll(IMPORT)) {
    const clause = m[3]!;
    let typeOnly = m[2] !== undefined;
    if (!typeOnly && clause.trim().startsWith("{")) {
      const names = clause.replace(/[{}]/g, "").split(",").map((s) => s.trim()).filter((s) => s !== "");
      typeOnly = names.length > 0 && names.every((n) => n.startsWith("type "));
    }
    out.push({ from: mod, to: resolve(m[4]!), typeOnly });
  }
  for (const m of text.matchAll(DYNAMIC)) out.push({ from: mod, to: resolve(m[1]!), typeOnly: false });
  return out;
}

/** The layer of a module: its folder under src/ (`core`, `sync`...), or `index` for src/index.ts. */
export function layerOf(mod: string): string {
  const parts = mod.split("/");
  return parts.length > 2 ? parts[1]! : "index";
}

/**
 * The layers, bottom first. A module may import modules of its own layer and of lower ones, never of a
 * higher one; layers on the same rank do not import each other.
 */
export const RANKS: Record<string, number> = {
  core: 0,
  time: 1,
  sync: 1,
  tracing: 1,
  executors: 1,
  combinators: 2,
  structured: 2,
  queues: 2,
  streams: 2,
  runner: 3,
  subprocess: 3,
  toolkit: 3,
  testing: 4,
  redis: 4,
  cli: 5,
  index: 6,
};

/**
 * The kernel modules that code above it may import directly: its face, and two leaves (the error
 * classes, the argument checks) that worker-side code (`src/executors/protocol.ts`, `worker-api.ts`)
 * imports without loading the whole kernel into every worker.
 */
export const KERNEL_DOORS = ["src/core/index.ts", "src/core/errors.ts", "src/core/check.ts"];

/** Cycles among runtime imports (type-only imports are erased by the compiler), each as a list of modules. */
export function runtimeCycles(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.typeOnly) (next.get(e.from) ?? next.set(e.from, []).get(e.from)!).push(e.to);
  const cycles: string[][] = [];
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (m: string): void => {
    state.set(m, 1);
    stack.push(m);
    for (const n of next.get(m) ?? []) {
      const s = state.get(n);
      if (s === 1) cycles.push([...stack.slice(stack.indexOf(n)), n]);
      else if (s === undefined) visit(n);
    }
    stack.pop();
    state.set(m, 2);
  };
  for (const m of next.keys()) if (!state.has(m)) visit(m);
  return cycles;
}

/** Every breach of the layer rules, in words. */
export function breaches(): string[] {
  const mods = modules();
  const edges = mods.flatMap(importsOf);
  const out: string[] = [];
  const known = new Set(mods);
  for (const e of edges) {
    if (!e.to.startsWith("src/")) continue; // (the tour's examples, loaded by path)
    if (!known.has(e.to)) {
      out.push(`${e.from} imports ${e.to}, which does not exist`);
      continue;
    }
    const a = layerOf(e.from);
    const b = layerOf(e.to);
    const ra = RANKS[a];
    const rb = RANKS[b];
    if (ra === undefined) out.push(`${e.from}: the folder src/${a}/ has no layer (add it to RANKS and to docs/design.md)`);
    else if (rb === undefined) continue;
    else if (a !== b && rb >= ra) out.push(`${e.from} imports ${e.to}: ${a} (layer ${ra}) may not import ${b} (layer ${rb})`);
    if (a !== "core" && b === "core" && !KERNEL_DOORS.includes(e.to)) {
      out.push(`${e.from} imports ${e.to}: code above the kernel imports it through src/core/index.ts only`);
    }
  }
  for (const c of runtimeCycles(edges)) out.push(`import circle: ${c.join(" -> ")}`);
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const b = breaches();
  console.log(b.length === 0 ? "no breach" : b.join("\n"));
}
