/**
 * Executors from a bundle: a program bundled with asyncio-ts inside (esbuild) has no worker entry beside
 * it. Its first executor job fails at once with an error that says what to ship (not "run npm run
 * build"), and runs once `ASYNCIO_TS_WORKER_ENTRY` names the package's worker entry.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-bundle-"));
const bundle = join(dir, "out", "bundle.mjs");

beforeAll(async () => {
  const app = join(dir, "app.mjs");
  writeFileSync(
    app,
    `import { run, ThreadPoolExecutor, getRunningLoop } from ${JSON.stringify(join(ROOT, "dist", "src", "index.js"))};\n` +
      "await run(async () => {\n  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });\n  try {\n" +
      "    console.log(await getRunningLoop().runInExecutor(ex, (a, b) => a + b, 2, 3));\n  } finally {\n    await ex.shutdown();\n  }\n});\n",
  );
  await build({ entryPoints: [app], bundle: true, platform: "node", format: "esm", outfile: bundle, logLevel: "silent" });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("executors in a bundle", () => {
  it("say what to ship instead of 'run npm run build'", () => {
    const r = spawnSync(process.execPath, [bundle], { encoding: "utf8", cwd: dir, env: { ...process.env, ASYNCIO_TS_WORKER_ENTRY: "" } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("which is not in this bundle");
    expect(r.stderr).toContain("ASYNCIO_TS_WORKER_ENTRY");
    expect(r.stderr).not.toContain("npm run build");
  }, 30_000);

  it("run with ASYNCIO_TS_WORKER_ENTRY pointing at the package's worker entry", () => {
    const entry = join(ROOT, "dist", "src", "executors", "worker-entry.js");
    const r = spawnSync(process.execPath, [bundle], { encoding: "utf8", cwd: dir, env: { ...process.env, ASYNCIO_TS_WORKER_ENTRY: entry } });
    expect(r.stdout).toBe("5\n");
    expect(r.status).toBe(0);
  }, 30_000);

  it("a wrong ASYNCIO_TS_WORKER_ENTRY is named in the error", () => {
    const r = spawnSync(process.execPath, [bundle], { encoding: "utf8", cwd: dir, env: { ...process.env, ASYNCIO_TS_WORKER_ENTRY: join(dir, "nope.js") } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("ASYNCIO_TS_WORKER_ENTRY names");
  }, 30_000);
});
