import { describe, expect, it } from "vitest";
import { CancelledError, CapacityLimiter, RuntimeError, WouldBlock, createTask, gather, run, sleep } from "../../src/index.js";

describe("CapacityLimiter (Trio semantics on asyncio)", () => {
  it("limits concurrency, hands tokens out FIFO, reports borrowers", async () => {
    const log: string[] = [];
    await run(
      async () => {
        const limiter = new CapacityLimiter(2);
        const job = (n: string) => async () => {
          await limiter.acquire();
          log.push(`${n}+${limiter.borrowedTokens}`);
          await sleep(10);
          limiter.release();
        };
        const ts = ["a", "b", "c", "d"].map((n) => createTask(job(n), { name: n }));
        await sleep(1);
        const st = limiter.statistics();
        expect(st.borrowedTokens).toBe(2);
        expect(st.totalTokens).toBe(2);
        expect(st.tasksWaiting).toBe(2);
        expect(st.borrowers).toEqual([ts[0], ts[1]]);
        expect(limiter.availableTokens).toBe(0);
        await gather(...ts);
        expect(limiter.borrowedTokens).toBe(0);
      },
      { virtualTime: true },
    );
    expect(log).toEqual(["a+1", "b+2", "c+2", "d+2"]);
  });

  it("a borrower cannot hold two tokens; only a holder can release", async () => {
    await run(async () => {
      const limiter = new CapacityLimiter(3);
      await limiter.acquire();
      await expect(limiter.acquire()).rejects.toThrow(RuntimeError);
      await expect(limiter.acquire()).rejects.toThrow("already holding one of this CapacityLimiter's tokens");
      limiter.release();
      expect(() => limiter.release()).toThrow("this borrower isn't holding any of this CapacityLimiter's tokens");
      limiter.acquireOnBehalfOfNowait("job1");
      expect(() => limiter.releaseOnBehalfOf("job2")).toThrow(RuntimeError);
      limiter.releaseOnBehalfOf("job1");
    });
  });

  it("acquireNowait throws WouldBlock when no token is free, or when others wait", async () => {
    await run(
      async () => {
        const limiter = new CapacityLimiter(1);
        limiter.acquireOnBehalfOfNowait("x");
        expect(() => limiter.acquireOnBehalfOfNowait("y")).toThrow(WouldBlock);
        const waiter = createTask(() => limiter.acquireOnBehalfOf("w"));
        await sleep(0);
        limiter.releaseOnBehalfOf("x"); // handed straight to "w": no barging
        expect(limiter.statistics().borrowers).toEqual(["w"]);
        expect(() => limiter.acquireOnBehalfOfNowait("y")).toThrow(WouldBlock);
        await waiter;
        limiter.releaseOnBehalfOf("w");
        limiter.acquireNowait();
        limiter.release();
      },
      { virtualTime: true },
    );
  });

  it("a waiter handed a token but cancelled before running hands it on", async () => {
    await run(
      async () => {
        const limiter = new CapacityLimiter(1);
        limiter.acquireOnBehalfOfNowait("main");
        const a = createTask(() => limiter.acquireOnBehalfOf("a"));
        const b = createTask(() => limiter.acquireOnBehalfOf("b"));
        await sleep(0);
        limiter.releaseOnBehalfOf("main"); // token to a
        a.cancel(); // a never runs with it
        await expect(a).rejects.toBeInstanceOf(CancelledError);
        await b;
        expect(limiter.statistics().borrowers).toEqual(["b"]);
      },
      { virtualTime: true },
    );
  });

  it("raising totalTokens wakes waiters; lowering lets holders finish", async () => {
    await run(
      async () => {
        const limiter = new CapacityLimiter(1);
        limiter.acquireOnBehalfOfNowait(1);
        const ts = [2, 3, 4].map((n) => createTask(() => limiter.acquireOnBehalfOf(n)));
        await sleep(0);
        limiter.totalTokens = 3;
        expect(limiter.borrowedTokens).toBe(3);
        await gather(ts[0]!, ts[1]!);
        limiter.totalTokens = 1;
        expect(limiter.availableTokens).toBe(-2);
        limiter.releaseOnBehalfOf(1);
        limiter.releaseOnBehalfOf(2);
        expect(ts[2]!.done()).toBe(false);
        limiter.releaseOnBehalfOf(3);
        await ts[2];
        expect(limiter.statistics().borrowers).toEqual([4]);
      },
      { virtualTime: true },
    );
  });

  it("validates totalTokens; Infinity is allowed", () => {
    expect(() => new CapacityLimiter(0)).toThrow("Expected totalTokens to be a positive integer or Infinity, got 0 (number)");
    expect(() => new CapacityLimiter(1.5)).toThrow(RangeError);
    expect(() => new CapacityLimiter("1" as never)).toThrow(TypeError);
    expect(new CapacityLimiter(Infinity).availableTokens).toBe(Infinity);
  });

  it("outside a task, acquire() needs a borrower; hold() and withPermit() work", async () => {
    const limiter = new CapacityLimiter(1);
    await expect(limiter.acquire()).rejects.toThrow("outside a task has no borrower");
    expect(() => limiter.release()).toThrow("use releaseOnBehalfOf(borrower)");
    await run(async () => {
      {
        await using _t = await limiter.hold();
        expect(limiter.borrowedTokens).toBe(1);
      }
      expect(await limiter.withPermit(() => limiter.borrowedTokens)).toBe(1);
      expect(limiter.borrowedTokens).toBe(0);
    });
  });
});
