/**
 * How task identity travels with task code (src/task/current.ts): AsyncContextFrame frames where Node
 * has them (Node 24), lean promise hooks elsewhere (Node 20). The suite runs on one Node; these tests
 * also run the other mechanism, where this Node has it, in a child process (`ASYNCIO_TS_CONTEXT`).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { AsyncLocalStorage } from "node:async_hooks";
import { createTask, gather, run, sleep } from "../../src/index.js";
import { contextMechanism } from "../../src/task/current.js";

const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
const major = Number(process.versions.node.split(".")[0]);
const framesByDefault = major >= 24 && !process.execArgv.includes("--no-async-context-frame");

/** A program that fails unless every task knows itself after foreign awaits, with several detached at once. */
const program = `
  import { run, createTask, currentTask, gather, sleep, timeout, TimeoutError } from ${JSON.stringify(dist)};
  const foreign = (ms) => new Promise((r) => setTimeout(r, ms));
  await run(async () => {
    const names = Array.from({ length: 10 }, (_, i) => "w" + i);
    const got = await gather(...names.map((name, i) => createTask(async () => {
      await foreign(1 + (i % 3));
      const a = currentTask()?.getName();
      await sleep(1);
      await Promise.all([foreign(1), sleep(1)]);
      return a + "/" + currentTask()?.getName();
    }, { name })));
    if (got.join() !== names.map((n) => n + "/" + n).join()) throw new Error("wrong task: " + got.join());
    try {
      await timeout(10, async () => { await foreign(1); await sleep(10_000); });
      throw new Error("the timeout did not fire");
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
    }
  });
  const { contextMechanism } = await import(${JSON.stringify(dist.replace(/index\.js$/, "task/current.js"))});
  console.log("ok", contextMechanism);
`;

function runWith(mechanism: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], {
    encoding: "utf8",
    env: { ...process.env, ASYNCIO_TS_CONTEXT: mechanism },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("task identity across foreign awaits", () => {
  it(`uses ${framesByDefault ? "frames" : "promise hooks"} on this Node (${process.versions.node})`, () => {
    expect(contextMechanism).toBe(framesByDefault ? "frames" : "hooks");
  });

  it("promise hooks: tasks detached on foreign promises at once each resume as themselves", () => {
    expect(existsSync(dist), "build first (npm test does)").toBe(true);
    const r = runWith("hooks");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ok hooks\n");
  });

  it(framesByDefault ? "frames: the same program" : "frames: refused with a clear error where Node has none", () => {
    const r = runWith("frames");
    if (framesByDefault) {
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("ok frames\n");
    } else {
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("ASYNCIO_TS_CONTEXT=frames: this Node's AsyncLocalStorage is not built on AsyncContextFrame");
    }
  });

  it("tasks see the AsyncLocalStorage stores of the code that started the loop, and their own", async () => {
    const als = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    await als.run("outer", () =>
      run(async () => {
        seen.push(`main:${als.getStore()}`);
        const a = createTask(async () => {
          seen.push(`a:${als.getStore()}`);
          await sleep(1);
          seen.push(`a after sleep:${als.getStore()}`);
        });
        const b = createTask(() =>
          als.run("own", async () => {
            await sleep(1);
            seen.push(`b after sleep:${als.getStore()}`);
          }),
        );
        await gather(a, b);
      }, { virtualTime: true }),
    );
    expect(seen).toEqual(["main:outer", "a:outer", "a after sleep:outer", "b after sleep:own"]);
  });
});
