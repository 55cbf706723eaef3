/**
 * How task identity travels with task code (src/core/current.ts): lean promise hooks, on every Node
 * (the suite runs on Node 20 and on Node 24). Also in a child process, where nothing else is loaded.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { AsyncLocalStorage } from "node:async_hooks";
import { createTask, gather, run, sleep } from "../../src/index.js";

const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

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
  console.log("ok");
`;

function runChild(): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("task identity across foreign awaits", () => {
  it("tasks detached on foreign promises at once each resume as themselves (child process)", () => {
    expect(existsSync(dist), "build first (npm test does)").toBe(true);
    const r = runChild();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ok\n");
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
