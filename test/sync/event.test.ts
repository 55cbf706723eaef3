import { describe, expect, it } from "vitest";
import { CancelledError, Event, createTask, gather, getRunningLoop, run, sleep } from "../../src/index.js";

describe("Event (CPython 3.13 semantics)", () => {
  it("wait blocks until set; every waiter wakes; a set event does not block", async () => {
    await run(
      async () => {
        const ev = new Event();
        const woke: string[] = [];
        const ts = ["a", "b", "c"].map((n) =>
          createTask(async () => {
            expect(await ev.wait()).toBe(true);
            woke.push(n);
          }),
        );
        await sleep(5);
        expect(woke).toEqual([]);
        expect(ev.statistics()).toEqual({ set: false, waiters: 3 });
        ev.set();
        expect(ev.isSet()).toBe(true);
        await gather(...ts);
        expect(woke).toEqual(["a", "b", "c"]);
        expect(getRunningLoop().time()).toBe(5);
        expect(await ev.wait()).toBe(true);
        expect(ev.statistics().waiters).toBe(0);
      },
      { virtualTime: true },
    );
  });

  it("port of test_clear_with_waiters: set then clear in the same step still wakes every waiter", async () => {
    await run(
      async () => {
        const ev = new Event();
        const result: number[] = [];
        const t = createTask(async () => {
          if (await ev.wait()) result.push(1);
          return true;
        });
        const t2 = createTask(async () => {
          if (await ev.wait()) result.push(2);
          return true;
        });
        await sleep(0);
        ev.set();
        ev.clear();
        expect(ev.isSet()).toBe(false);
        ev.set();
        ev.set();
        expect(ev.statistics().waiters).toBe(2);
        await sleep(0);
        expect(result).toEqual([1, 2]);
        expect(ev.statistics().waiters).toBe(0);
        expect(t.result()).toBe(true);
        expect(t2.result()).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("a waiter woken by set() returns even if clear() ran before it resumed", async () => {
    await run(
      async () => {
        const ev = new Event();
        const t = createTask(() => ev.wait());
        await sleep(0);
        ev.set();
        ev.clear();
        expect(await t).toBe(true);
        expect(ev.isSet()).toBe(false);
        // A new waiter blocks again.
        const t2 = createTask(() => ev.wait());
        await sleep(3);
        expect(t2.done()).toBe(false);
        t2.cancel();
        await expect(t2).rejects.toBeInstanceOf(CancelledError);
      },
      { virtualTime: true },
    );
  });

  it("a cancelled waiter leaves the queue; set() later wakes the others", async () => {
    await run(
      async () => {
        const ev = new Event();
        const a = createTask(() => ev.wait());
        const b = createTask(() => ev.wait());
        await sleep(0);
        a.cancel();
        await expect(a).rejects.toBeInstanceOf(CancelledError);
        expect(ev.statistics().waiters).toBe(1);
        ev.set();
        expect(await b).toBe(true);
        expect(String(ev)).toBe("<Event [set]>");
      },
      { virtualTime: true },
    );
  });
});
