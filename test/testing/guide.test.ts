/**
 * Every ```ts example of docs/testing.md runs, against the built library (`npm test` builds first; the
 * examples import "asyncio-ts" by name, which a file inside the package resolves to dist/ through the
 * package's own "exports"): the ones that import `vitest` as the test files of one real vitest run (each
 * must pass), the ones that import `@jest/globals` as the test files of one real jest run (ESM, through
 * `--experimental-vm-modules`), the ones that import `node:test` under `node --test`, the others as plain
 * programs (exit code 0). Examples that cannot run unattended are fenced "```ts no-run".
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { node, root, runVitest, type VitestRun } from "../runners/spawn.js";

interface Example {
  line: number;
  code: string;
  kind: "vitest" | "jest" | "node:test" | "program";
}

function examples(markdown: string): { run: Example[]; noRun: number; fences: string[] } {
  const lines = markdown.split("\n");
  const run: Example[] = [];
  const fences: string[] = [];
  let noRun = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```(\S.*)?$/.exec(lines[i]!);
    if (open === null) continue;
    const info = (open[1] ?? "").trim();
    fences.push(info);
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j]!)) j++;
    const code = lines.slice(i + 1, j).join("\n");
    if (info === "ts") {
      const kind = /from "vitest"/.test(code) ? "vitest" : /from "@jest\/globals"/.test(code) ? "jest" : /from "node:test"/.test(code) ? "node:test" : "program";
      run.push({ line: i + 1, code, kind });
    } else if (info === "ts no-run") noRun++;
    i = j;
  }
  return { run, noRun, fences };
}

const guide = readFileSync(join(root, "docs", "testing.md"), "utf8");
const { run: all, noRun, fences } = examples(guide);
const dir = join(root, "dist", "doc-testing");
const vitestDir = join(dir, "vitest");
const specName = (e: Example): string => `testing-md-line-${e.line}.spec.ts`;
const toJs = (code: string): string =>
  ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;

describe("docs/testing.md", () => {
  it("has examples of every kind, each fenced ts (run) or ts no-run", () => {
    expect(all.filter((e) => e.kind === "vitest").length).toBeGreaterThanOrEqual(10);
    expect(all.filter((e) => e.kind === "node:test").length).toBeGreaterThanOrEqual(2);
    expect(all.filter((e) => e.kind === "program").length).toBeGreaterThanOrEqual(1);
    expect(all.filter((e) => e.kind === "jest").length).toBeGreaterThanOrEqual(2);
    expect(noRun).toBeGreaterThanOrEqual(1);
    for (const f of fences) expect(["ts", "ts no-run", ""]).toContain(f);
  });

  describe("the vitest examples, in a real vitest run", () => {
    let result: VitestRun;
    beforeAll(async () => {
      rmSync(vitestDir, { recursive: true, force: true });
      mkdirSync(vitestDir, { recursive: true });
      writeFileSync(
        join(vitestDir, "vitest.config.mjs"),
        'import { defineConfig } from "vitest/config";\nexport default defineConfig({ test: { include: ["*.spec.ts"], testTimeout: 10_000 } });\n',
      );
      for (const e of all) if (e.kind === "vitest") writeFileSync(join(vitestDir, specName(e)), e.code);
      result = await runVitest(vitestDir, "vitest.config.mjs");
    }, 120_000);

    it.each(all.filter((e) => e.kind === "vitest").map((e) => [`line ${e.line}`, e] as const))("%s", (_name, e) => {
      const mine = [...result.tests].filter(([name]) => name.startsWith(`${specName(e)} > `));
      expect(mine.length, `docs/testing.md:${e.line}: no test ran\n${result.child.out}`).toBeGreaterThan(0);
      for (const [name, t] of mine) expect(t.status, `docs/testing.md:${e.line}: ${name}\n${t.failureMessages.join("\n")}`).toBe("passed");
    });
  });

  describe("the jest examples, in a real jest run", () => {
    const jestDir = join(dir, "jest");
    let results: Map<string, { status: string; failureMessages: string[] }>;
    let out = "";
    beforeAll(async () => {
      rmSync(jestDir, { recursive: true, force: true });
      mkdirSync(jestDir, { recursive: true });
      for (const e of all) if (e.kind === "jest") writeFileSync(join(jestDir, `testing-md-line-${e.line}.test.mjs`), toJs(e.code));
      writeFileSync(join(jestDir, "jest.config.mjs"), 'export default { testMatch: ["**/*.test.mjs"], transform: {} };\n');
      const report = join(jestDir, "report.json");
      const r = await node(["--experimental-vm-modules", join(root, "node_modules", "jest", "bin", "jest.js"), "--config", join(jestDir, "jest.config.mjs"), "--rootDir", jestDir, "--ci", "--json", "--outputFile", report]);
      out = r.out;
      const json = JSON.parse(readFileSync(report, "utf8")) as { testResults: { name: string; assertionResults: { status: string; failureMessages: string[] }[] }[] };
      results = new Map();
      for (const f of json.testResults) for (const [i, t] of f.assertionResults.entries()) results.set(`${f.name}#${i}`, t);
    }, 120_000);

    it.each(all.filter((e) => e.kind === "jest").map((e) => [`line ${e.line}`, e] as const))("%s", (_name, e) => {
      const mine = [...results].filter(([name]) => name.startsWith(join(jestDir, `testing-md-line-${e.line}.test.mjs#`)));
      expect(mine.length, `docs/testing.md:${e.line}: no test ran\n${out}`).toBeGreaterThan(0);
      for (const [name, t] of mine) expect(t.status, `docs/testing.md:${e.line}: ${name}\n${t.failureMessages.join("\n")}`).toBe("passed");
    });
  });

  it.each(all.filter((e) => e.kind !== "vitest" && e.kind !== "jest").map((e) => [`line ${e.line} (${e.kind})`, e] as const))("%s", { timeout: 60_000 }, async (_name, e) => {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `testing-md-line-${e.line}.mjs`);
    writeFileSync(path, toJs(e.code));
    const r = await node(e.kind === "node:test" ? ["--test", "--test-reporter=tap", path] : [path], { timeoutMs: 30_000 });
    expect(r.code, `docs/testing.md:${e.line}\n${e.code}\n--- output:\n${r.out}`).toBe(0);
    if (e.kind === "node:test") expect(r.out).toMatch(/^# fail 0$/m);
  });
});
