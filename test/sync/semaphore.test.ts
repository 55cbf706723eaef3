import { describe, expect, it } from "vitest";
import { BoundedSemaphore, CancelledError, Semaphore, createTask, gather, run, sleep, taskGroup, waitFor } from "../../src/index.js";

describe("Semaphore and BoundedSemaphore (CPython 3.13 semantics)", () => {
  it("port of test_acquire_fifo_order: c1_1 c2_1 c3_1 c1_2 c2_2 c3_2", async () => {
    const result: string[] = [];
    await run(
      async () => {
        const sem = new Semaphore(1);
        const coro = (tag: string) => async () => {
          await sem.acquire();
          result.push(`${tag}_1`);
          await sleep(10);
          sem.release();
          await sem.acquire();
          result.push(`${tag}_2`);
          await sleep(10);
          sem.release();
        };
        await taskGroup((tg) => {
          tg.createTask(coro("c1"));
          tg.createTask(coro("c2"));
          tg.createTask(coro("c3"));
        });
      },
      { virtualTime: true },
    );
    expect(result).toEqual(["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);
  });

  it("port of test_acquire_fifo_order_2: a releaser re-acquiring queues behind existing waiters", async () => {
    const result: number[] = [];
    await run(
      async () => {
        const sem = new Semaphore(1);
        const t1 = createTask(async () => {
          await sem.acquire();
          result.push(1);
        });
        const t2 = createTask(async () => {
          await sem.acquire();
          result.push(2);
          sem.release();
          await sem.acquire();
          result.push(4);
        });
        const t3 = createTask(async () => {
          await sem.acquire();
          result.push(3);
        });
        await sleep(0);
        sem.release();
        sem.release();
        await gather(t1, t2, t3);
      },
      { virtualTime: true },
    );
    expect(result).toEqual([1, 2, 3, 4]);
  });

  it("port of test_acquire_fifo_order_3: a cancelled waiter is skipped", async () => {
    const result: number[] = [];
    await run(
      async () => {
        const sem = new Semaphore(0);
        const c = (n: number) => async () => {
          await sem.acquire();
          result.push(n);
        };
        const ts = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
        await sleep(0);
        ts[0]!.cancel();
        await sleep(0);
        sem.release();
        sem.release();
        await gather(...ts, { returnExceptions: true });
      },
      { virtualTime: true },
    );
    expect(result).toEqual([2, 3]);
  });

  it("port of test_acquire_fifo_order_4: a successful acquire wakes further waiters allowed by the value", async () => {
    const result: number[] = [];
    await run(
      async () => {
        const sem = new Semaphore(0);
        let t4: ReturnType<typeof createTask<void>> | null = null;
        const t1 = createTask(async () => {
          expect(sem._value).toBe(0);
          await sem.acquire();
          expect(sem._value).toBe(0);
          t4 = createTask(async () => {
            result.push(4);
          });
          result.push(1);
        });
        const t2 = createTask(async () => {
          sem.release();
          sem.release();
          sem.release();
          expect(sem._value).toBe(2);
          expect(sem.locked()).toBe(true);
          await sem.acquire();
          result.push(2);
        });
        const t3 = createTask(async () => {
          await sem.acquire();
          expect(sem.locked()).toBe(true);
          result.push(3);
        });
        await sleep(0);
        expect(sem._value).toBe(2);
        expect(sem.statistics().waiters).toBe(3);
        await sleep(0);
        await gather(t1, t2, t3, t4!);
      },
      { virtualTime: true },
    );
    expect(result).toEqual([1, 2, 3, 4]);
  });

  it("port of test_acquire_cancel_before_awoken: permits go to the next live waiter", async () => {
    await run(
      async () => {
        const sem = new Semaphore(0);
        const ts = [1, 2, 3, 4].map(() => createTask(() => sem.acquire()));
        await sleep(0);
        ts[0]!.cancel();
        ts[1]!.cancel();
        sem.release();
        await sleep(0);
        await sleep(0);
        expect(ts[2]!.done()).toBe(true);
        expect(ts[3]!.done()).toBe(false);
        ts[2]!.cancel();
        ts[3]!.cancel();
        await sleep(0);
      },
      { virtualTime: true },
    );
  });

  it("port of test_acquire_hang: a woken-then-cancelled waiter gives its permit back", async () => {
    await run(
      async () => {
        const sem = new Semaphore(0);
        const t1 = createTask(() => sem.acquire());
        const t2 = createTask(() => sem.acquire());
        await sleep(0);
        t1.cancel();
        sem.release();
        await sleep(0);
        await sleep(0);
        expect(sem.locked()).toBe(true);
        expect(t2.done()).toBe(true);
        expect(t1.cancelled()).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("port of test_acquire_no_hang: a waiter cancelled after being promised the permit returns it", async () => {
    await run(
      async () => {
        const sem = new Semaphore(1);
        const box: { t2?: ReturnType<typeof createTask<void>> } = {};
        const t1 = createTask(async () => {
          await sem.withPermit(() => sleep(0));
          box.t2!.cancel();
        });
        const t2 = (box.t2 = createTask(async () => {
          await sem.withPermit(() => {
            throw new Error("must not run");
          });
        }));
        const [r1, r2] = await gather(t1, t2, { returnExceptions: true });
        expect(r1).toBeUndefined();
        expect(r2).toBeInstanceOf(CancelledError);
        await waitFor(sem.acquire(), 1000);
      },
      { virtualTime: true },
    );
  });

  it("a woken waiter keeps newcomers out until it runs (no barging); locked() says so", async () => {
    const order: string[] = [];
    await run(
      async () => {
        const sem = new Semaphore(1);
        await sem.acquire();
        const w = createTask(async () => {
          await sem.acquire();
          order.push("waiter");
          sem.release();
        });
        await sleep(0);
        sem.release(); // promises the permit to w
        expect(sem.locked()).toBe(true);
        expect(sem.statistics()).toEqual({ value: 0, waiters: 1 });
        await sem.acquire(); // queues behind w
        order.push("main");
        sem.release();
        await w;
      },
      { virtualTime: true },
    );
    expect(order).toEqual(["waiter", "main"]);
  });

  it("BoundedSemaphore: over-release throws RangeError; statistics show the bound", async () => {
    await run(async () => {
      const sem = new BoundedSemaphore(2);
      expect(() => sem.release()).toThrow(RangeError);
      expect(() => sem.release()).toThrow("BoundedSemaphore released too many times");
      await sem.acquire();
      expect(sem.statistics()).toEqual({ value: 1, waiters: 0, bound: 2, held: 1 });
      sem.release();
      expect(() => sem.release()).toThrow("released too many times");
      expect(String(sem)).toBe("<BoundedSemaphore [unlocked, value:2]>");
    });
  });

  it("bad initial values are rejected with the argument named", () => {
    expect(() => new Semaphore(-1)).toThrow(RangeError);
    expect(() => new Semaphore(-1)).toThrow("Expected value to be a non-negative integer, got -1 (number)");
    expect(() => new Semaphore(1.5)).toThrow("Expected value to be a non-negative integer, got 1.5 (number)");
    expect(() => new Semaphore("2" as never)).toThrow(TypeError);
    expect(() => new BoundedSemaphore(NaN)).toThrow("got NaN (number)");
  });

  it("hold() and withPermit() release on scope exit", async () => {
    await run(async () => {
      const sem = new Semaphore(2);
      {
        await using _a = await sem.hold();
        await using _b = await sem.hold();
        expect(sem.locked()).toBe(true);
      }
      expect(sem._value).toBe(2);
      await expect(sem.withPermit(() => Promise.reject(new Error("x")))).rejects.toThrow("x");
      expect(sem._value).toBe(2);
    });
  });
});
