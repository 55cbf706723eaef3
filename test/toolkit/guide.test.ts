/**
 * Every ```ts example of docs/toolkit.md runs, against the built library (`npm test` builds first):
 * each is transpiled and run in a child process, and must exit with code 0 having printed something
 * (what each prints is in the guide beside it). Blocks fenced "```ts no-run" (a Redis server, the
 * network) are only typechecked by eye.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const guide = readFileSync(join(root, "docs", "toolkit.md"), "utf8").split("\n");

interface Example {
  line: number;
  code: string;
}

const examples: Example[] = [];
for (let i = 0; i < guide.length; i++) {
  if (guide[i] === "```ts") {
    const body: string[] = [];
    let j = i + 1;
    for (; j < guide.length && guide[j] !== "```"; j++) body.push(guide[j]!);
    examples.push({ line: i + 1, code: body.join("\n") });
    i = j;
  }
}
const dir = join(root, "dist", "toolkit-guide");
mkdirSync(dir, { recursive: true });

describe("docs/toolkit.md", () => {
  it("has examples, and no section left to write", () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
    expect(guide.join("\n")).not.toMatch(/_SECTION\b/);
  });
  it.each(examples.map((e) => [`line ${e.line}`, e] as const))("the example at %s runs", (_name, ex) => {
    const js = ts.transpileModule(ex.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const path = join(dir, `toolkit_md_${ex.line}.mjs`);
    writeFileSync(path, js);
    const r = spawnSync(process.execPath, [path], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(r.status, `docs/toolkit.md:${ex.line}\n--- stderr:\n${r.stderr}`).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
  });
});
