/**
 * RateLimiter (token bucket and sliding window) on virtual time: exact grant times, FIFO fairness with
 * mixed weights, tryAcquire, withLimit in every form, cancellation at every await point (nothing is
 * consumed by a cancelled waiter), AbortSignal, bad input, the real clock with tiny intervals, and a
 * fast-check property against an independent model of both algorithms.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CancelScope,
  CancelledError,
  RuntimeError,
  TimeoutError,
  createTask,
  gather,
  getRunningLoop,
  moveOnAfter,
  run,
  sleep,
  taskGroup,
  timeout,
  type Task,
} from "../../src/index.js";
import { RateLimiter, type RateLimiterOptions } from "../../src/toolkit/rate-limiter.js";
import { SlidingWindow, TokenBucket } from "../../src/toolkit/rate-policies.js";

const now = (): number => getRunningLoop().time();
const vt = <T>(fn: () => Promise<T>): Promise<T> => run(fn, { virtualTime: true });

/** Start `n` acquisitions of `weight` now, each recording the loop time at which it was granted. */
function acquireAll(limiter: RateLimiter, weights: number[]): PromiseLike<number[]> {
  return gather(...weights.map((w) => createTask(async () => (await limiter.acquire(w), now()))));
}

describe("RateLimiter: token bucket", () => {
  it("5 per 1000 ms, burst 5: five at once, the sixth at exactly 200 ms, then every 200 ms", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 5, perMs: 1000, burst: 5 });
      const times: number[] = [];
      for (let i = 0; i < 8; i++) {
        await limiter.acquire();
        times.push(now());
      }
      expect(times).toEqual([0, 0, 0, 0, 0, 200, 400, 600]);
    });
  });

  it("the same with concurrent tasks, and with gather of called async functions", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 5, perMs: 1000 });
      expect(await acquireAll(limiter, [1, 1, 1, 1, 1, 1, 1])).toEqual([0, 0, 0, 0, 0, 200, 400]);
      const b = new RateLimiter({ rate: 5, perMs: 1000 });
      const t0 = now();
      const one = async (): Promise<number> => {
        await b.acquire();
        return now() - t0;
      };
      expect(await gather(one(), one(), one(), one(), one(), one())).toEqual([0, 0, 0, 0, 0, 200]);
    });
  });

  it("burst below and above the rate; the bucket refills up to burst, never beyond", async () => {
    await vt(async () => {
      const small = new RateLimiter({ rate: 4, perMs: 1000, burst: 1 });
      expect(await acquireAll(small, [1, 1, 1])).toEqual([0, 250, 500]);
      const big = new RateLimiter({ rate: 2, perMs: 1000, burst: 4 });
      const t0 = now();
      const rel = (ts: number[]) => ts.map((t) => t - t0);
      expect(rel(await acquireAll(big, [1, 1, 1, 1, 1, 1]))).toEqual([0, 0, 0, 0, 500, 1000]);
      await sleep(60_000); // idle for a minute: full again (4 tokens), not 120
      const t1 = now();
      expect((await acquireAll(big, [1, 1, 1, 1, 1])).map((t) => t - t1)).toEqual([0, 0, 0, 0, 500]);
    });
  });

  it("weights take that many tokens; a weight equal to the burst waits for a full bucket", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 10, perMs: 1000, burst: 10 });
      expect(await acquireAll(limiter, [4, 6, 10, 3])).toEqual([0, 0, 1000, 1300]);
    });
  });

  it("statistics: available tokens (fractional), waiters, next grant, counters", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 5, perMs: 1000 });
      expect(limiter.statistics()).toEqual({
        algorithm: "token-bucket", capacity: 5, available: 5, tasksWaiting: 0, granted: 0, grantedWeight: 0, lastGrantAt: null, nextGrantAt: null,
      });
      await limiter.acquire(5);
      await sleep(100);
      expect(limiter.statistics().available).toBeCloseTo(0.5, 12);
      const t = createTask(() => limiter.acquire(2));
      await sleep(0);
      expect(limiter.statistics()).toMatchObject({ tasksWaiting: 1, nextGrantAt: 400, granted: 1, grantedWeight: 5, lastGrantAt: 0 });
      await t;
      expect(limiter.statistics()).toMatchObject({ tasksWaiting: 0, nextGrantAt: null, granted: 2, grantedWeight: 7, lastGrantAt: 400, available: 0 });
      expect(limiter.algorithm).toBe("token-bucket");
      expect(limiter.capacity).toBe(5);
      expect(String(limiter)).toBe("<RateLimiter 5 per 1000 ms, burst 5 with 0 waiting>");
    });
  });
});

describe("RateLimiter: sliding window", () => {
  it("3 per 1000 ms: a grant counts until exactly windowMs later", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ limit: 3, windowMs: 1000 });
      expect(await acquireAll(limiter, [1, 1, 1, 1, 1, 1, 1])).toEqual([0, 0, 0, 1000, 1000, 1000, 2000]);
    });
  });

  it("staggered grants leave the window one by one", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ limit: 3, windowMs: 1000 });
      const times: number[] = [];
      for (const gap of [0, 300, 300, 0, 0, 0]) {
        await sleep(gap);
        await limiter.acquire();
        times.push(now());
      }
      expect(times).toEqual([0, 300, 600, 1000, 1300, 1600]);
      expect(limiter.statistics()).toMatchObject({ algorithm: "sliding-window", capacity: 3, available: 0 });
      await sleep(1000);
      expect(limiter.statistics().available).toBe(3);
    });
  });

  it("weights: the oldest entries that must leave decide the time", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ limit: 5, windowMs: 1000 });
      await limiter.acquire(2);
      await sleep(100);
      await limiter.acquire(2);
      await sleep(100);
      // 4 in the window: a weight of 3 needs the first 2 to leave (at 1000), a weight of 5 all (1100 ...)
      expect(await acquireAll(limiter, [3, 5])).toEqual([1000, 2000]);
    });
  });
});

describe("RateLimiter: FIFO fairness", () => {
  for (const [name, opts, heavyAt, tryAtEnd] of [
    ["token bucket", { rate: 1, perMs: 100, burst: 5 }, 400, false], // lights at 500, 600, 700
    ["sliding window", { limit: 5, windowMs: 500 }, 500, true], // lights at 1000: 2 units left
  ] as Array<[string, RateLimiterOptions, number, boolean]>) {
    it(`${name}: a heavy waiter at the head is not overtaken by light ones, nor by tryAcquire`, async () => {
      await vt(async () => {
        const limiter = new RateLimiter(opts);
        await limiter.acquire(4); // one token (or one unit of window) left
        const order: string[] = [];
        const heavy = createTask(async () => (await limiter.acquire(5), order.push(`heavy@${now()}`)));
        await sleep(0);
        const lights = [1, 2, 3].map((i) => createTask(async () => (await limiter.acquire(1), order.push(`light${i}@${now()}`))));
        await sleep(0);
        expect(limiter.tryAcquire(1)).toBe(false); // a unit is free, but the heavy waiter is first
        expect(limiter.statistics().tasksWaiting).toBe(4);
        await gather(heavy, ...lights);
        expect(order.map((s) => s.split("@")[0])).toEqual(["heavy", "light1", "light2", "light3"]);
        expect(order[0]).toBe(`heavy@${heavyAt}`);
        expect(limiter.tryAcquire(1)).toBe(tryAtEnd);
      });
    });
  }

  it("grants every waiter the limit allows at the same instant, in arrival order", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ limit: 4, windowMs: 100 });
      const order: number[] = [];
      await gather(...[2, 1, 1, 3, 1].map((w, i) => createTask(async () => (await limiter.acquire(w), order.push(i)))));
      expect(order).toEqual([0, 1, 2, 3, 4]);
    });
  });
});

describe("RateLimiter: tryAcquire", () => {
  it("takes when allowed, never waits, returns false otherwise", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 2, perMs: 100 });
      expect(limiter.tryAcquire()).toBe(true);
      expect(limiter.tryAcquire(2)).toBe(false); // one left: all or nothing
      expect(limiter.tryAcquire()).toBe(true);
      expect(limiter.tryAcquire()).toBe(false);
      expect(now()).toBe(0);
      await sleep(50);
      expect(limiter.tryAcquire()).toBe(true);
      expect(limiter.statistics().granted).toBe(3);
      const w = new RateLimiter({ limit: 1, windowMs: 10 });
      expect(w.tryAcquire()).toBe(true);
      expect(w.tryAcquire()).toBe(false);
      await sleep(10);
      expect(w.tryAcquire()).toBe(true);
    });
  });

  it("works outside a running loop (on the default loop's clock) and in callbacks", async () => {
    const limiter = new RateLimiter({ limit: 2, windowMs: 60_000 });
    expect(limiter.tryAcquire()).toBe(true);
    await limiter.acquire();
    expect(limiter.tryAcquire()).toBe(false);
    await vt(async () => {
      const l2 = new RateLimiter({ limit: 1, windowMs: 10 });
      const results: boolean[] = [];
      getRunningLoop().callLater(5, () => results.push(l2.tryAcquire(), l2.tryAcquire()));
      await sleep(10);
      expect(results).toEqual([true, false]);
    });
  });
});

describe("RateLimiter: withLimit", () => {
  it("calls a function, a promise-returning function, an async function; returns their results", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 1, perMs: 100 });
      expect(await limiter.withLimit(() => 7)).toBe(7);
      expect(await limiter.withLimit(() => Promise.resolve("p"))).toBe("p");
      expect(await limiter.withLimit(async () => (await sleep(5), now()))).toBe(205);
      expect(await limiter.withLimit(() => now(), { weight: 1 })).toBe(300);
    });
  });

  it("an error of fn propagates, and the grant stays spent", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ limit: 1, windowMs: 100 });
      await expect(limiter.withLimit(() => { throw new Error("boom"); })).rejects.toThrow("boom");
      await expect(limiter.withLimit(async () => Promise.reject(new Error("later")))).rejects.toThrow("later");
      expect(now()).toBe(100);
      expect(limiter.statistics().granted).toBe(2);
    });
  });

  it("a cancellation while fn runs reaches fn (fast and slow paths); the grant was spent", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ limit: 2, windowMs: 100 });
      let cancelled = 0;
      const slow = async (): Promise<void> => {
        try {
          await sleep(1000);
        } catch (e) {
          cancelled++;
          throw e;
        }
      };
      // first use (the slow path), then granted at once (the fast path), with a future and an async function
      await expect(timeout(10, () => limiter.withLimit(() => sleep(1000)))).rejects.toThrow(TimeoutError);
      await expect(timeout(10, () => limiter.withLimit(() => sleep(1000)))).rejects.toThrow(TimeoutError);
      expect(limiter.tryAcquire()).toBe(false);
      await sleep(80);
      await expect(timeout(10, () => limiter.withLimit(slow))).rejects.toThrow(TimeoutError);
      await expect(timeout(10, () => limiter.withLimit(slow))).rejects.toThrow(TimeoutError);
      expect(cancelled).toBe(2);
      expect(now()).toBe(120);
      await sleep(100);
      const t = createTask(() => limiter.withLimit(slow)); // granted at once, cancelled in fn
      await sleep(0);
      t.cancel();
      await expect(t).rejects.toThrow(CancelledError);
      expect(cancelled).toBe(3);
      expect(limiter.statistics().granted).toBe(5);
    });
  });

  it("with a weight and a signal, in tasks and task groups", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 3, perMs: 300 });
      const order: string[] = [];
      await taskGroup(async (tg) => {
        tg.createTask(() => limiter.withLimit(() => order.push(`a${now()}`), { weight: 3 }));
        tg.createTask(() => limiter.withLimit(() => order.push(`b${now()}`), { weight: 2, signal: new AbortController().signal }));
      });
      expect(order).toEqual(["a0", "b200"]);
    });
  });
});

describe("RateLimiter: cancellation consumes nothing", () => {
  it("a cancelled waiter gives its place back: the next is granted as if it had never existed", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 1, perMs: 100, burst: 1 });
      await limiter.acquire();
      const b = createTask(() => limiter.acquire(), { name: "b" });
      const c = createTask(async () => (await limiter.acquire(), now()));
      await sleep(50);
      b.cancel();
      expect(await c).toBe(100); // not 200
      await expect(b).rejects.toThrow(CancelledError);
      expect(limiter.statistics().granted).toBe(2);
    });
  });

  it("a cancelled heavy head lets a light waiter behind it through at once", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 1, perMs: 100, burst: 5 });
      await limiter.acquire(5);
      const heavy = createTask(() => limiter.acquire(5));
      const light = createTask(async () => (await limiter.acquire(1), now()));
      await sleep(150);
      heavy.cancel();
      expect(await light).toBe(150); // allowed since 100, held back by the heavy head until it left
    });
  });

  it("timeout(), a CancelScope, moveOnAfter and an AbortSignal: nothing consumed", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ limit: 2, windowMs: 1000 });
      await limiter.acquire(2);
      await expect(timeout(100, () => limiter.acquire())).rejects.toThrow(TimeoutError);
      expect(await moveOnAfter(100, () => limiter.acquire(2))).toBeUndefined();
      const scope = new CancelScope();
      getRunningLoop().callLater(100, () => scope.cancel());
      expect(await scope.run(() => limiter.acquire())).toBeUndefined();
      const ac = new AbortController();
      getRunningLoop().callLater(100, () => ac.abort(new Error("stop")));
      await expect(limiter.acquire(1, { signal: ac.signal })).rejects.toThrow("stop");
      expect(now()).toBe(400);
      expect(limiter.statistics()).toMatchObject({ tasksWaiting: 0, granted: 1, grantedWeight: 2 });
      expect(await acquireAll(limiter, [1, 1, 1])).toEqual([1000, 1000, 2000]);
    });
  });

  it("an already aborted signal rejects at once with its reason; an abort after the grant is too late", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 1, perMs: 100, burst: 1 });
      await expect(limiter.acquire(1, { signal: AbortSignal.abort(new Error("early")) })).rejects.toThrow("early");
      expect(limiter.tryAcquire()).toBe(true);
      const ac = new AbortController();
      const t = createTask(async () => (await limiter.acquire(1, { signal: ac.signal }), now()));
      await sleep(0);
      getRunningLoop().callLater(100, () => ac.abort()); // the limiter's timer for 100 was armed first
      expect(await t).toBe(100);
    });
  });

  it("a waiter granted but cancelled before it resumed gives the grant back (exact refund)", async () => {
    for (const opts of [{ rate: 5, perMs: 1000, burst: 5 }, { limit: 5, windowMs: 1000 }] as RateLimiterOptions[]) {
      await vt(async () => {
        const limiter = new RateLimiter(opts);
        await limiter.acquire(4);
        const late: { a?: Task<unknown> } = {};
        // w0 (weight 5) heads the line; a (1) and b (2) wait behind it
        const w0 = createTask(async () => {
          try {
            await limiter.acquire(5);
          } catch (e) {
            // our leaving granted `a` (its future is done): cancel it before it resumes
            expect(limiter.statistics().tasksWaiting).toBe(1);
            late.a!.cancel();
            throw e;
          }
        });
        await sleep(0);
        const a = (late.a = createTask(() => limiter.acquire(1)));
        const b = createTask(async () => (await limiter.acquire(2), now()));
        await sleep(100);
        w0.cancel();
        await expect(w0).rejects.toThrow(CancelledError);
        await expect(a).rejects.toThrow(CancelledError);
        // Bucket: 1.5 tokens at 100 without `a`, so b (2) at 200; with a's token spent it would be 400.
        // Window: 1 unit free until 1000 without `a`: b at 1000; with `a` it would still be 1000, so
        // check the window's accounting instead: after b, one unit is left.
        const tb = await b;
        if ("rate" in opts) expect(tb).toBe(200);
        else {
          expect(tb).toBe(1000);
          expect(limiter.statistics().available).toBe(3);
        }
        expect(limiter.statistics().granted).toBe(2);
      });
    }
  });

  it("cancelled waiters in the middle of the line are skipped; the line stays FIFO", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ rate: 1, perMs: 10, burst: 1 });
      await limiter.acquire();
      const order: number[] = [];
      const ts = Array.from({ length: 6 }, (_, i) => createTask(async () => (await limiter.acquire(), order.push(i))));
      await sleep(0);
      ts[1]!.cancel();
      ts[3]!.cancel();
      await gather(...ts, { returnExceptions: true });
      expect(order).toEqual([0, 2, 4, 5]);
      expect(now()).toBe(40);
    });
  });
});

describe("rate policies: refunds are exact", () => {
  it("token bucket: a refund replays the grants made after it (the clock moved on meanwhile)", () => {
    // burst 1, one token per 100 ms. A is granted at 0 (open: its waiter has not resumed); the loop is
    // slow, and at 150 B finds the bucket full again and takes the token; then A turns out cancelled.
    const b = new TokenBucket(1, 100, 1);
    const a = b.consume(1, 0, true);
    expect(b.readyAt(1, 150)).toBe(150);
    b.consume(1, 150, false);
    b.refund(a, 151);
    // Without A, B's grant at 150 leaves the bucket empty until 250. (Subtracting A's token from the
    // state would say 150: a second grant right after B's, twice the burst.)
    expect(b.readyAt(1, 151)).toBe(250);
    expect(b._journal).toEqual([]);
  });

  it("token bucket: refunds in the middle of several open grants; settled grants leave the journal", () => {
    const b = new TokenBucket(5, 1000, 5); // 200 ms per token
    const g1 = b.consume(2, 0, true);
    const g2 = b.consume(2, 0, true);
    const g3 = b.consume(1, 0, true);
    expect(b.readyAt(1, 0)).toBe(200);
    b.settle(g1);
    expect(b._journal.length).toBe(2);
    b.refund(g2, 0);
    expect(b.available(0)).toBe(2);
    expect(b.readyAt(3, 0)).toBe(200);
    b.settle(g3);
    expect(b._journal).toEqual([]);
    expect(b.available(1000)).toBe(5);
  });

  it("sliding window: a refund removes the grant's weight from its entry; an expired grant needs none", () => {
    const w = new SlidingWindow(3, 100);
    const a = w.consume(1, 0, true);
    w.consume(2, 0, false); // same time: one entry of weight 3
    expect(w.readyAt(1, 10)).toBe(100);
    w.refund(a, 10);
    expect(w.available(10)).toBe(1);
    expect(w.readyAt(1, 10)).toBe(10);
    const b = w.consume(1, 20, true);
    expect(w.available(110)).toBe(2); // the entry at 0 has left, b's stays until 120
    w.refund(b, 110);
    expect(w.available(110)).toBe(3);
    const c = w.consume(2, 200, true);
    w.consume(1, 250, false);
    expect(w.available(320)).toBe(2);
    w.refund(c, 320); // c left the window at 300: nothing to take back
    expect(w.available(320)).toBe(2);
    expect(w.readyAt(3, 320)).toBe(350);
  });
});

describe("RateLimiter: bad input", () => {
  it("options: a clear TypeError or RangeError naming the option", () => {
    const bad = (o: unknown) => () => new RateLimiter(o as RateLimiterOptions);
    expect(bad({ rate: 0, perMs: 1000 })).toThrow(new RangeError("Expected rate to be a positive integer, got 0 (number)"));
    expect(bad({ rate: -1, perMs: 1000 })).toThrow("Expected rate to be a positive integer, got -1 (number)");
    expect(bad({ rate: NaN, perMs: 1000 })).toThrow(RangeError);
    expect(bad({ rate: 1.5, perMs: 1000 })).toThrow("Expected rate to be a positive integer, got 1.5 (number)");
    expect(bad({ rate: "5", perMs: 1000 })).toThrow(new TypeError('Expected rate to be a positive integer, got "5" (string)'));
    expect(bad({ rate: 5, perMs: 0 })).toThrow(new RangeError("Expected perMs to be a finite positive number of milliseconds, got 0 (number)"));
    expect(bad({ rate: 5, perMs: Infinity })).toThrow(RangeError);
    expect(bad({ rate: 5, perMs: NaN })).toThrow(RangeError);
    expect(bad({ rate: 5 })).toThrow(new TypeError("Expected perMs to be a positive number of milliseconds, got undefined"));
    expect(bad({ rate: 5, perMs: 10, burst: 0 })).toThrow("Expected burst to be a positive integer, got 0 (number)");
    expect(bad({ limit: 0, windowMs: 10 })).toThrow("Expected limit to be a positive integer, got 0 (number)");
    expect(bad({ limit: 3, windowMs: -5 })).toThrow("Expected windowMs to be a finite positive number of milliseconds, got -5 (number)");
    expect(bad({ rate: 5, perMs: 10, interval: 5 })).toThrow(
      new TypeError('Unknown option "interval" of RateLimiter (known: rate, perMs, burst, limit, windowMs)'),
    );
    expect(bad({ limit: 5, window_ms: 10 })).toThrow("asyncio-ts spells options in camelCase, write windowMs");
    expect(bad({ rate: 5, perMs: 10, windowMs: 10 })).toThrow(
      new TypeError("RateLimiter takes { rate, perMs, burst? } (a token bucket) or { limit, windowMs } (a sliding window), not both: got rate, perMs, windowMs"),
    );
    expect(bad({})).toThrow("RateLimiter needs { rate, perMs } (a token bucket) or { limit, windowMs } (a sliding window)");
    expect(bad(undefined)).toThrow(TypeError);
    expect(bad(null)).toThrow("Expected options to be an object, got null");
    expect(bad(5)).toThrow("Expected options to be an object, got 5 (number)");
  });

  it("weights: rejections from acquire and withLimit, throws from tryAcquire; a weight above capacity is a RangeError", async () => {
    await vt(async () => {
      const bucket = new RateLimiter({ rate: 5, perMs: 1000 });
      const window = new RateLimiter({ limit: 3, windowMs: 1000 });
      await expect(bucket.acquire(6)).rejects.toThrow(
        new RangeError("Expected weight to be at most 5 (the bucket's burst), got 6 (number): it could never be granted"),
      );
      await expect(window.acquire(4)).rejects.toThrow("Expected weight to be at most 3 (the window's limit), got 4 (number)");
      expect(() => bucket.tryAcquire(6)).toThrow(RangeError);
      await expect(bucket.acquire(0)).rejects.toThrow("Expected weight to be a positive integer, got 0 (number)");
      await expect(bucket.acquire(-1)).rejects.toThrow(RangeError);
      await expect(bucket.acquire(NaN)).rejects.toThrow(RangeError);
      await expect(bucket.acquire(1.5)).rejects.toThrow(RangeError);
      await expect(bucket.acquire("2" as unknown as number)).rejects.toThrow(TypeError);
      expect(() => bucket.tryAcquire(0)).toThrow("Expected weight to be a positive integer, got 0 (number)");
      await expect(bucket.withLimit(() => 1, { weight: 9 })).rejects.toThrow(RangeError);
      await expect(bucket.withLimit(42 as unknown as () => number)).rejects.toThrow("Expected fn to be a function, got 42 (number)");
      await expect(bucket.withLimit(() => 1, { wieght: 2 } as never)).rejects.toThrow('Unknown option "wieght" of withLimit() (known: weight, signal)');
      await expect(bucket.acquire(1, { sginal: 1 } as never)).rejects.toThrow(TypeError);
      await expect(bucket.acquire(1, { signal: "x" as never })).rejects.toThrow("Expected options.signal to be an AbortSignal");
      expect(bucket.statistics().granted).toBe(0); // nothing was taken by a bad call
    });
  });
});

describe("RateLimiter: loops and clocks", () => {
  it("on the real clock with tiny intervals: never more than the limit, at the grant times the limiter records", async () => {
    for (const opts of [{ rate: 1, perMs: 4, burst: 2 }, { limit: 2, windowMs: 5 }] as RateLimiterOptions[]) {
      const grants: Array<[number, number]> = [];
      await run(async () => {
        const limiter = new RateLimiter(opts);
        const record = limiter._record.bind(limiter);
        limiter._record = (w, at, open) => (grants.push([at, w]), record(w, at, open));
        const before = now();
        await acquireAll(limiter, [1, 2, 1, 1, 2, 1, 1]);
        expect(grants.length).toBe(7);
        expect(grants[0]![0]).toBeGreaterThanOrEqual(before);
      });
      expect(conforms(opts, grants)).toBe(true);
    }
  });

  it("a limiter used in a new run after the first loop closed starts afresh", async () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 1000 });
    await vt(async () => {
      await limiter.acquire();
      await sleep(10);
    });
    await vt(async () => {
      expect(limiter.statistics().available).toBe(1);
      expect(await acquireAll(limiter, [1, 1])).toEqual([0, 1000]);
    });
  });

  it("waiters say what they wait on", async () => {
    await vt(async () => {
      const limiter = new RateLimiter({ limit: 1, windowMs: 1000 });
      await limiter.acquire();
      const t = createTask(() => limiter.acquire());
      await sleep(0);
      expect(limiter._waiters.first()?._describe()).toBe("RateLimiter.acquire");
      t.cancel();
    });
  });

  it("a limiter bound to a running loop refuses another running loop", async () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 1000 });
    await vt(async () => {
      limiter.tryAcquire();
      const inner = (await import("../../src/index.js")).newEventLoop();
      try {
        await expect(inner.runUntilComplete(inner.createTask(() => limiter.acquire()))).rejects.toThrow(RuntimeError);
      } finally {
        inner.close();
      }
    }).catch((e: unknown) => {
      // (a loop cannot run inside another on this runtime: the check cannot be reached that way)
      if (!(e instanceof RuntimeError)) throw e;
    });
  });
});

// ---------------------------------------------------------------- property

/** An independent model: the earliest time >= t at which `w` conforms after `grants` (time-ordered). */
function modelReadyAt(opts: RateLimiterOptions, grants: Array<[number, number]>, w: number, t: number): number {
  if ("rate" in opts) {
    // (sigma, rho) conformance: for every j, sum of weights from grant j on, plus w, within burst + rate*(t - t_j)/perMs
    const burst = opts.burst ?? opts.rate;
    const interval = opts.perMs / opts.rate;
    let at = t;
    let suffix = 0;
    for (let j = grants.length - 1; j >= 0; j--) {
      suffix += grants[j]![1];
      at = Math.max(at, grants[j]![0] + (suffix + w - burst) * interval);
    }
    return at;
  }
  // window: smallest at >= t with (weights in (at - windowMs, at]) + w <= limit
  const cands = [t, ...grants.map(([g]) => g + opts.windowMs).filter((x) => x > t)].sort((a, b) => a - b);
  for (const c of cands) {
    const inWindow = grants.filter(([g]) => g > c - opts.windowMs && g <= c).reduce((s, [, x]) => s + x, 0);
    if (inWindow + w <= opts.limit) return c;
  }
  throw new Error("unreachable");
}

/** The limit holds for a set of (time, weight) grants. */
function conforms(opts: RateLimiterOptions, grants: Array<[number, number]>): boolean {
  const g = [...grants].sort((a, b) => a[0] - b[0]);
  for (let j = 0; j < g.length; j++) {
    let sum = 0;
    for (let k = j; k < g.length; k++) {
      sum += g[k]![1];
      if ("rate" in opts) {
        const burst = opts.burst ?? opts.rate;
        if (sum > burst + ((g[k]![0] - g[j]![0]) * opts.rate) / opts.perMs + 1e-9) return false;
      } else if (g[k]![0] - g[j]![0] < opts.windowMs && sum > opts.limit) return false;
    }
  }
  return true;
}

const limiterOptions: fc.Arbitrary<RateLimiterOptions> = fc.oneof(
  fc.record({ rate: fc.integer({ min: 1, max: 4 }), mult: fc.integer({ min: 1, max: 30 }), burst: fc.integer({ min: 1, max: 6 }) }).map(
    ({ rate, mult, burst }) => ({ rate, perMs: rate * mult, burst }), // an integer interval: exact times
  ),
  fc.record({ limit: fc.integer({ min: 1, max: 6 }), windowMs: fc.integer({ min: 1, max: 60 }) }),
);

const arrival = fc.record({
  at: fc.integer({ min: 0, max: 120 }),
  weight: fc.integer({ min: 1, max: 6 }),
  // how it may leave early: a task cancel, a timeout, an abort, at `after` ms after arriving; or a
  // tryAcquire (at a half-integer time, so that it never ties with a grant or a cancellation)
  how: fc.constantFrom("stay", "stay", "stay", "cancel", "timeout", "abort", "try"),
  after: fc.integer({ min: 0, max: 80 }),
});

describe("RateLimiter under random arrivals, weights and cancellations", () => {
  it("never exceeds the limit, serves FIFO, and grants each waiter exactly when the model says", async () => {
    await fc.assert(
      fc.asyncProperty(limiterOptions, fc.array(arrival, { minLength: 1, maxLength: 14 }), async (opts, arrivals) => {
        const cap = "rate" in opts ? (opts.burst ?? opts.rate) : opts.limit;
        const xs = arrivals.map((a) => ({ ...a, weight: Math.min(a.weight, cap) }));
        /** How each call ended: granted or not, when, and (granted) the order of its grant. */
        interface Outcome { i: number; granted: boolean; at: number; grantSeq: number }
        const outcomes: Outcome[] = [];
        /** The calls of `acquire`, in the order they were made (the line's order), with their time. */
        const line: Array<{ i: number; at: number }> = [];
        const isLeave = (e: unknown) => e instanceof CancelledError || e instanceof TimeoutError || (e as Error).message === "aborted";
        await vt(async () => {
          const limiter = new RateLimiter(opts);
          // Number the grants as the limiter makes them (a waiter may resume after a newcomer that was
          // granted at once in the same instant: the order of resumption is not the order of grants).
          const seqOf = new WeakMap<object, number>();
          let grantSeq = 0;
          const record = limiter._record.bind(limiter);
          limiter._record = (w, at, open) => {
            const g = record(w, at, open);
            seqOf.set(g, ++grantSeq);
            return g;
          };
          const acquire = async (i: number, signal?: AbortSignal): Promise<number> => {
            line.push({ i, at: now() });
            const n = grantSeq;
            const p = limiter.acquire(xs[i]!.weight, signal === undefined ? undefined : { signal });
            if (grantSeq !== n) {
              const mine = grantSeq; // granted at once
              return (await p, mine);
            }
            const req = limiter._waiters._tail!._payload as { grant: object | null };
            await p;
            return seqOf.get(req.grant!)!;
          };
          const tasks = xs.map((x, i) =>
            createTask(async () => {
              await sleep(x.at);
              if (x.how === "try") {
                await sleep(0.5);
                const n = grantSeq;
                const ok = limiter.tryAcquire(x.weight);
                outcomes.push({ i, granted: ok, at: now(), grantSeq: ok ? grantSeq : n });
                return;
              }
              let p: Promise<number | undefined>;
              if (x.how === "timeout") p = timeout(x.after, () => acquire(i));
              else if (x.how === "abort") {
                const ac = new AbortController();
                getRunningLoop().callLater(x.after, () => ac.abort(new Error("aborted")));
                p = acquire(i, ac.signal);
              } else p = acquire(i);
              try {
                const grantSeq = (await p)!;
                outcomes.push({ i, granted: true, at: now(), grantSeq });
              } catch (e) {
                if (isLeave(e)) outcomes.push({ i, granted: false, at: now(), grantSeq: -1 });
                throw e;
              }
            }),
          );
          xs.forEach((x, i) => {
            if (x.how === "cancel") getRunningLoop().callLater(x.at + x.after, () => tasks[i]!.cancel());
          });
          const rs = await gather(...tasks, { returnExceptions: true });
          rs.forEach((r, i) => {
            if (r instanceof Error && !isLeave(r)) throw r;
            if (xs[i]!.how === "stay") expect(r).toBeUndefined(); // every waiter that stays is granted
          });
          expect(limiter.statistics().tasksWaiting).toBe(0);
        });
        const byI = new Map(outcomes.map((o) => [o.i, o]));
        for (const { i } of line) expect(byI.has(i)).toBe(true); // every call in line ended
        const granted = outcomes.filter((o) => o.granted).sort((a, b) => a.grantSeq - b.grantSeq);
        // 1. the limit is never exceeded
        expect(conforms(opts, granted.map((o) => [o.at, xs[o.i]!.weight])), JSON.stringify({ outcomes, line })).toBe(true);
        // 2. waiters are granted in the order they called acquire
        const served = granted.filter((o) => xs[o.i]!.how !== "try").map((o) => o.i);
        expect(served).toEqual(line.map((l) => l.i).filter((i) => byI.get(i)!.granted));
        // 3. each grant comes exactly when it is due: once every earlier waiter has left the line (granted
        //    or gone) and the model allows it given every grant before it
        for (let k = 0; k < granted.length; k++) {
          const o = granted[k]!;
          if (xs[o.i]!.how === "try") continue;
          const before = granted.slice(0, k).map((g) => [g.at, xs[g.i]!.weight] as [number, number]);
          const pos = line.findIndex((l) => l.i === o.i);
          const head = Math.max(line[pos]!.at, ...line.slice(0, pos).map((l) => byI.get(l.i)!.at));
          expect(o.at).toBe(modelReadyAt(opts, before, xs[o.i]!.weight, head));
        }
        // 4. a tryAcquire succeeds exactly when nobody is in line and the model allows it (checked when
        //    nothing else happened at that instant, whose order relative to it would matter)
        for (const o of outcomes) {
          if (xs[o.i]!.how !== "try" || outcomes.some((p) => p !== o && p.at === o.at)) continue;
          const before = granted.filter((g) => g.at < o.at).map((g) => [g.at, xs[g.i]!.weight] as [number, number]);
          const lineEmpty = line.every((l) => l.at > o.at || byI.get(l.i)!.at < o.at);
          expect(o.granted).toBe(lineEmpty && modelReadyAt(opts, before, xs[o.i]!.weight, o.at) === o.at);
        }
      }),
      { numRuns: 300 },
    );
  });
});
