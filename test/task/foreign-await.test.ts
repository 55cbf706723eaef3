/**
 * Awaits that are not asyncio-ts awaitables: foreign promises, Promise.all / Promise.race over our
 * futures. The loop keeps running other tasks, and a cancellation is never lost.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, createTask, currentTask, fromPromise, run, sleep } from "../../src/index.js";
import { recorder } from "../helpers/record.js";

const foreign = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("foreign awaits", () => {
  it("a task awaiting a foreign promise does not block the others, and knows who it is afterwards", async () => {
    const { p, plain } = recorder();
    await run(async () => {
      const a = createTask(
        async () => {
          await foreign(5);
          p(`a resumed as ${currentTask()?.getName()}`);
        },
        { name: "A" },
      );
      const b = createTask(async () => {
        p("b runs while a waits");
      });
      await b;
      await a;
    });
    expect(plain()).toEqual(["b runs while a waits", "a resumed as A"]);
  });

  it("a cancel requested during a foreign await lands at the task's next asyncio-ts await", async () => {
    const { p, plain } = recorder();
    await run(async () => {
      const a = createTask(async () => {
        await foreign(5);
        p("after the foreign await");
        try {
          await sleep(1000);
          p("not cancelled");
        } catch (e) {
          p(`caught ${(e as Error).constructor.name} ${(e as Error).message}`);
          throw e;
        }
      });
      await sleep(0);
      await sleep(0);
      expect(a.cancel("stop")).toBe(true);
      expect(a.signal.aborted).toBe(true);
      await expect(a).rejects.toBeInstanceOf(CancelledError);
      expect(a.cancelled()).toBe(true);
    });
    expect(plain()).toEqual(["after the foreign await", "caught CancelledError stop"]);
  });

  it("fromPromise makes a foreign await cancellable at once", async () => {
    await run(async () => {
      let settled = false;
      const never = new Promise<void>(() => {});
      const t = createTask(async () => {
        await fromPromise(never);
        settled = true;
      });
      await sleep(0);
      await sleep(0);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      expect(settled).toBe(false);
    }, { virtualTime: true });
  });

  it("Promise.all over our futures: a cancel before any settles cancels them all", async () => {
    await run(async () => {
      const a = sleep(100, "a");
      const b = sleep(200, "b");
      const t = createTask(() => Promise.all([a, b]));
      await sleep(50);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
    }, { virtualTime: true });
  });

  it("Promise.race losers do not swallow a later cancel (it lands at the next await)", async () => {
    const { p, plain } = recorder();
    await run(async () => {
      const t = createTask(async () => {
        p(`race ${await Promise.race([sleep(10, "fast"), sleep(1000, "slow")])}`);
        await foreign(5);
        try {
          await sleep(5000);
          p("not cancelled");
        } catch (e) {
          p(`cancelled: ${e instanceof CancelledError}`);
          throw e;
        }
      });
      await sleep(15);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
    }, { virtualTime: true });
    expect(plain()).toEqual(["race fast", "cancelled: true"]);
  });
});
