/**
 * Every ```ts example in the TSDoc of src/ is a program that runs: each is transpiled and run in a child
 * process against the built library (`npm test` builds first), and must exit with code 0 within its
 * time limit. Examples that cannot run unattended (they wait for Ctrl-C, need a server) are fenced as
 * "```ts no-run" and only typechecked by eye.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sourceFiles(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

interface Example {
  file: string;
  line: number;
  code: string;
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const file of sourceFiles(join(root, "src"))) {
    const lines = readFileSync(file, "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (/^\s*\*\s*```ts\s*$/.test(lines[i]!)) {
        const body: string[] = [];
        let j = i + 1;
        for (; j < lines.length && !/^\s*\*\s*```/.test(lines[j]!); j++) body.push(lines[j]!.replace(/^\s*\* ?/, ""));
        out.push({ file: relative(root, file), line: i + 1, code: body.join("\n") });
        i = j;
      }
    }
  }
  return out;
}

const all = examples();
// The examples import the package by name; a file inside the package resolves it to dist/ through the
// package's own "exports" (self-reference).
const dir = join(root, "dist", "doc-examples");
mkdirSync(dir, { recursive: true });

describe("TSDoc examples run", () => {
  it("there are examples to run", () => {
    expect(all.length).toBeGreaterThan(40);
  });
  it.each(all.map((e) => [`${e.file}:${e.line}`, e] as const))("%s", (_name, ex) => {
    const js = ts.transpileModule(ex.code, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const path = join(dir, `${ex.file.replace(/[/.]/g, "_")}_${ex.line}.mjs`);
    writeFileSync(path, js);
    const r = spawnSync(process.execPath, [path], { cwd: root, encoding: "utf8", timeout: 20_000 });
    expect(r.status, `${ex.file}:${ex.line}\n${ex.code}\n--- stderr:\n${r.stderr}`).toBe(0);
  });
});
