/**
 * What `Future.then()` returns behaves as the promise it stands for, and loses nothing: an error
 * thrown in a callback whose result nobody observes is still an unhandled rejection (as with a native
 * promise). The last case runs in a child process, where Node's own unhandled-rejection report is seen.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { getRunningLoop, run, sleep } from "../../src/index.js";

const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

describe("Future.then()", () => {
  it("chains like a promise: values, thrown errors, returned promises, catch and finally", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const f = loop.createFuture<number>();
      loop.callSoon(() => f.setResult(20));
      expect(await f.then((v) => v + 1)).toBe(21);
      expect(await f.then((v) => Promise.resolve(v * 2))).toBe(40);
      await expect(
        f.then(() => {
          throw new TypeError("boom");
        }),
      ).rejects.toThrow("boom");
      const g = loop.createFuture<number>();
      loop.callSoon(() => g.setException(new RangeError("bad")));
      expect(await g.catch((e) => (e as Error).name)).toBe("RangeError");
      const order: string[] = [];
      await g.finally(() => order.push("finally")).catch(() => order.push("caught"));
      expect(order).toEqual(["finally", "caught"]);
      expect(await f.then(undefined, () => "never")).toBe(20);
      await expect(g.then((v) => v)).rejects.toThrow("bad");
      // observed later than the settlement: still the same outcome
      const late = f.then((v) => v * 3);
      await sleep(0);
      expect(await late).toBe(60);
    }, { virtualTime: true });
  });

  it("an error thrown in an unobserved then() callback is reported as an unhandled rejection", () => {
    expect(existsSync(dist), "build first (npm test does)").toBe(true);
    const program = `
      import { run, getRunningLoop, sleep } from ${JSON.stringify(dist)};
      process.on("unhandledRejection", (e) => { console.log("unhandled:", e.message); });
      await run(async () => {
        const f = getRunningLoop().createFuture();
        f.then(() => { throw new Error("lost?"); });
        f.setResult(1);
        await sleep(10);
      });
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 20_000 });
    expect(r.stdout).toBe("unhandled: lost?\n");
    expect(r.status).toBe(0);
  });
});
