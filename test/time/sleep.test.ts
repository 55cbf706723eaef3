/**
 * CPython's test_tasks.py test_sleep*: sleep() under virtual time.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, createTask, getRunningLoop, run, sleep } from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };

describe("sleep (test_tasks test_sleep*)", () => {
  it("test_sleep: two half sleeps, the second returning a value", async () => {
    await run(async () => {
      const t = createTask(async () => {
        await sleep(50);
        return await sleep(50, "yeah");
      });
      expect(await t).toBe("yeah");
      expect(getRunningLoop().time()).toBe(100);
    }, V);
  });

  it("sleep(Infinity) never wakes, and can be cancelled", async () => {
    await run(async () => {
      const t = createTask(() => sleep(Infinity));
      await sleep(1_000_000);
      expect(t.done()).toBe(false);
      t.cancel();
      expect(await rejection(t)).toBeInstanceOf(CancelledError);
    }, V);
  });

  it("the timer starts when sleep() is called, not when it is awaited", async () => {
    await run(async () => {
      const s = sleep(100, "x");
      await sleep(60);
      expect(await s).toBe("x");
      expect(getRunningLoop().time()).toBe(100);
    }, V);
  });

  it("sleep(0) yields exactly one iteration to every ready task", async () => {
    const order: string[] = [];
    await run(async () => {
      const a = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          order.push(`a${i}`);
          await sleep(0);
        }
      });
      const b = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          order.push(`b${i}`);
          await sleep(0);
        }
      });
      await Promise.all([a, b]);
    });
    expect(order).toEqual(["a0", "b0", "a1", "b1", "a2", "b2"]);
  });

  it("a cancelled sleep(0) raises CancelledError in the task", async () => {
    await run(async () => {
      const t = createTask(async () => {
        for (;;) await sleep(0);
      });
      await sleep(0);
      await sleep(0);
      t.cancel("enough");
      const e = await rejection(t);
      expect(e).toBeInstanceOf(CancelledError);
      expect((e as Error).message).toBe("enough");
    });
  });
});
