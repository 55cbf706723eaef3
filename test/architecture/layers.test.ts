/**
 * The layers of `src/`, checked from the imports (`docs/design.md`, "Layers"): no import circle, no import
 * from a lower layer to a higher one, the kernel entered through its face only, one owner for the
 * cancel state, and `src/index.ts` re-exporting only. Each rule is also checked against a breach made
 * on purpose, so that a rule that can no longer fail is noticed.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { breaches, importsOf, layerOf, modules, RANKS, runtimeCycles, type Edge } from "./imports.js";

const read = (m: string): string => readFileSync(new URL(`../../${m}`, import.meta.url), "utf8");

describe("layers", () => {
  it("src/ has no breach of the layer rules", () => {
    expect(breaches()).toEqual([]);
  });

  it("every folder of src/ has a layer", () => {
    const folders = new Set(modules().map(layerOf));
    for (const f of folders) expect(RANKS[f], `src/${f}/`).toBeTypeOf("number");
  });

  it("finds a circle and an upward import when there is one", () => {
    const edges: Edge[] = [
      { from: "src/a.ts", to: "src/b.ts", typeOnly: false },
      { from: "src/b.ts", to: "src/c.ts", typeOnly: false },
      { from: "src/c.ts", to: "src/a.ts", typeOnly: false },
      { from: "src/c.ts", to: "src/d.ts", typeOnly: true },
      { from: "src/d.ts", to: "src/c.ts", typeOnly: false },
    ];
    expect(runtimeCycles(edges)).toEqual([["src/a.ts", "src/b.ts", "src/c.ts", "src/a.ts"]]);
    expect(RANKS["core"]!).toBeLessThan(RANKS["sync"]!);
  });

  it("the executors' modules have no import circle, type-only imports included", () => {
    const mine = (m: string): boolean => m.startsWith("src/executors/") || m.startsWith("src/redis/");
    const edges = modules()
      .filter(mine)
      .flatMap(importsOf)
      .filter((e) => mine(e.to))
      .map((e) => ({ ...e, typeOnly: false }));
    expect(runtimeCycles(edges)).toEqual([]);
  });

  it("reads type-only imports as such", () => {
    const kernel = importsOf("src/core/task.ts");
    expect(kernel.find((e) => e.to === "src/core/event-loop.ts")?.typeOnly).toBe(true);
    expect(kernel.find((e) => e.to === "src/core/future.ts")?.typeOnly).toBe(false);
  });
});

describe("one owner for the cancel state", () => {
  const FIELDS = ["_numCancelsRequested", "_mustCancel", "_pendingCancelMessage", "_deferredCancels"];
  const writes = (text: string): string[] => {
    const out: string[] = [];
    for (const f of FIELDS) {
      const re = new RegExp(`(\\.${f}\\s*(=(?!=)|\\+\\+|--|\\+=|-=|\\?\\?=))|((\\+\\+|--)\\s*[\\w.]+\\.${f})`, "g");
      for (const m of text.matchAll(re)) out.push(m[0]);
    }
    return out;
  };

  it("only src/core/cancellation.ts writes a task's cancel counters, pending message and held-back requests", () => {
    const offenders = modules()
      .filter((m) => m !== "src/core/cancellation.ts")
      .flatMap((m) => writes(read(m)).map((w) => `${m}: ${w}`));
    expect(offenders).toEqual([]);
    expect(writes(read("src/core/cancellation.ts")).length).toBeGreaterThan(0);
    expect(writes("task._mustCancel = true; ++t._numCancelsRequested; x._deferredCancels ??= [];")).toHaveLength(3);
  });
});

describe("src/index.ts", () => {
  it("re-exports only", () => {
    const code = read("src/index.ts")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    const statements = code.split(";").map((s) => s.trim()).filter((s) => s !== "");
    for (const s of statements) expect(s, s).toMatch(/^export\s+(type\s+)?(\{[\s\S]*\}|\*)\s+from\s+"[^"]+"$/);
  });
});

describe("modules", () => {
  it("every module of src/ opens with a comment on what it is", () => {
    for (const m of modules()) expect(read(m).replace(/^#!.*\n/, "").trimStart().startsWith("/**"), m).toBe(true);
  });
});
