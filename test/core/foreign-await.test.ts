/**
 * Awaits that are not asyncio-ts awaitables: foreign promises, Promise.all / Promise.race over our
 * futures. The loop keeps running other tasks, and a cancellation is never lost.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, TimeoutError, createTask, currentTask, fromPromise, gather, run, sleep, timeout } from "../../src/index.js";
import { recorder } from "../helpers/record.js";

const foreign = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("foreign awaits", () => {
  it("a task awaiting a foreign promise does not block the others, and knows who it is afterwards", async () => {
    const { p, plain } = recorder();
    await run(async () => {
      // A foreign promise settled by a real timer that b starts: a timer started by a could fire before
      // the loop lets a's step go and runs b (Node's timers phase runs before its check phase).
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const a = createTask(
        async () => {
          await gate;
          p(`a resumed as ${currentTask()?.getName()}`);
        },
        { name: "A" },
      );
      const b = createTask(async () => {
        p("b runs while a waits");
        setTimeout(release, 1);
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

  it("many tasks detached on foreign promises at once each resume as themselves, cancellable and timed out", async () => {
    await run(async () => {
      const names = Array.from({ length: 20 }, (_, i) => `w${i}`);
      const workers = names.map((name, i) =>
        createTask(
          async () => {
            await foreign(1 + (i % 3)); // all of them wait on foreign timers at the same time
            const before = currentTask()?.getName();
            await sleep(1); // one of ours, attributed to this task
            await foreign(1);
            return `${before}/${currentTask()?.getName()}`;
          },
          { name },
        ),
      );
      expect(await gather(...workers)).toEqual(names.map((n) => `${n}/${n}`));

      // A timeout around a foreign await followed by one of ours still fires...
      await expect(
        timeout(20, async () => {
          await foreign(1);
          await sleep(10_000);
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      // ...and cancelling several detached tasks reaches each at its next await of ours.
      const sleepers = names.slice(0, 5).map(() =>
        createTask(async () => {
          await foreign(2);
          await sleep(10_000);
        }),
      );
      await sleep(1);
      for (const t of sleepers) t.cancel();
      const outcomes = await gather(...sleepers, { returnExceptions: true });
      expect(outcomes.every((o) => o instanceof CancelledError)).toBe(true);
    });
  });
});
