/**
 * The Redis executor's loading rules and helpers; needs no Redis server.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { ROOT } from "./harness.js";

vi.mock("bullmq", () => {
  throw new Error("Cannot find package 'bullmq' imported from the test");
});

describe("optional peer dependencies", () => {
  it("a clear error when bullmq or ioredis is missing", async () => {
    const { loadDeps } = await import("../../src/redis/deps.js");
    await expect(loadDeps()).rejects.toThrow(
      "RedisExecutor needs the optional peer dependencies bullmq and ioredis: npm install bullmq ioredis",
    );
  });

  it("the futures of an executor without its dependencies fail with that error", async () => {
    const { RedisExecutor } = await import("../../src/redis/executor.js");
    const { moduleFunction } = await import("../../src/executors/executor.js");
    const { run } = await import("../../src/index.js");
    await run(async () => {
      const ex = new RedisExecutor({ connection: "redis://127.0.0.1:1", queue: "q" });
      await expect(ex.submit(moduleFunction("/x/tasks.js", "f"))).rejects.toThrow(/npm install bullmq ioredis/);
      await ex.shutdown();
    });
  });

  it.skipIf(!existsSync(join(ROOT, "dist/src/redis/index.js")))("importing asyncio-ts or asyncio-ts/redis loads neither bullmq nor ioredis", () => {
    // A resolve hook that fails any import of bullmq or ioredis, then load both entry points.
    const hook = `export async function resolve(s, c, next) { if (/^(bullmq|ioredis)(\\/|$)/.test(s)) throw new Error("loaded " + s); return next(s, c); }`;
    const code = [
      `import { register } from "node:module";`,
      `register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hook)}));`,
      `await import(${JSON.stringify(join(ROOT, "dist/src/index.js"))});`,
      `const r = await import(${JSON.stringify(join(ROOT, "dist/src/redis/index.js"))});`,
      `console.log(typeof r.RedisExecutor);`,
    ].join("\n");
    const out = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
    expect(out.stderr).toBe("");
    expect(out.stdout.trim()).toBe("function");
  });
});

describe("helpers", () => {
  it("module names, password masking, job data checks", async () => {
    const { moduleNameOf, checkJobData, encodeValue } = await import("../../src/redis/wire.js");
    const { redactUrl } = await import("../../src/redis/deps.js");
    expect(moduleNameOf("file:///srv/app/dist/tasks.js")).toBe("tasks");
    expect(moduleNameOf("file:///srv/app/src/tasks.ts")).toBe("tasks");
    expect(moduleNameOf("file:///srv/app/work.mjs")).toBe("work");
    expect(redactUrl("redis://alice:secret@host:6379/0")).toBe("redis://alice:***@host:6379/0");
    expect(redactUrl("rediss://:secret@host:6379")).toBe("rediss://:***@host:6379");
    expect(redactUrl("redis://host:6379")).toBe("redis://host:6379");
    expect(checkJobData({ v: 1, m: "t", f: "f", a: encodeValue([], "args") })).toBeNull();
    expect(checkJobData({ v: 1, m: "t", f: "f", a: "", t: -5 })).toMatch(/invalid timeout -5/);
    expect(checkJobData("rm -rf /")).toMatch(/expected an object/);
  });
});
