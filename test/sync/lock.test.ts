import { describe, expect, it } from "vitest";
import { CancelledError, Lock, RuntimeError, createTask, gather, getRunningLoop, newEventLoop, run, sleep } from "../../src/index.js";

describe("Lock (CPython 3.13 semantics)", () => {
  it("three tasks alternating on a lock run ABCABCABC (sleep inside the lock)", async () => {
    const out: string[] = [];
    await run(
      async () => {
        const lock = new Lock();
        const w = async (name: string) => {
          for (let i = 0; i < 3; i++) {
            await lock.withLock(async () => {
              out.push(name);
              await sleep(0);
            });
          }
        };
        await gather(createTask(() => w("A")), createTask(() => w("B")), createTask(() => w("C")));
      },
      { virtualTime: true },
    );
    expect(out.join("")).toBe("ABCABCABC");
  });

  it("a task that never yields while holding keeps re-acquiring an uncontended lock: AAABBBCCC", async () => {
    const out: string[] = [];
    await run(
      async () => {
        const lock = new Lock();
        const w = async (name: string) => {
          for (let i = 0; i < 3; i++) {
            await lock.acquire();
            out.push(name);
            lock.release();
          }
        };
        await gather(createTask(() => w("A")), createTask(() => w("B")), createTask(() => w("C")));
      },
      { virtualTime: true },
    );
    expect(out.join("")).toBe("AAABBBCCC");
  });

  it("a greedy re-acquire after release lands behind the existing waiter (no barging)", async () => {
    const out: string[] = [];
    await run(
      async () => {
        const lock = new Lock();
        await lock.acquire();
        const b = createTask(async () => {
          await lock.acquire();
          out.push("B");
          lock.release();
        });
        await sleep(0); // B waits
        lock.release(); // wakes B; B has not run yet
        expect(lock.locked()).toBe(false);
        const again = lock.acquire(); // main re-acquires at once: must queue behind B
        expect(lock.statistics()).toEqual({ locked: false, waiters: 2 });
        await again;
        out.push("main");
        lock.release();
        await b;
      },
      { virtualTime: true },
    );
    expect(out).toEqual(["B", "main"]);
  });

  it("port of test_acquire: waiters get the lock one release at a time, in FIFO order", async () => {
    await run(
      async () => {
        const lock = new Lock();
        const result: number[] = [];
        expect(await lock.acquire()).toBe(true);
        const c = (n: number) => async () => {
          if (await lock.acquire()) result.push(n);
          return true;
        };
        const t1 = createTask(c(1));
        const t2 = createTask(c(2));
        await sleep(0);
        expect(result).toEqual([]);
        lock.release();
        await sleep(0);
        expect(result).toEqual([1]);
        await sleep(0);
        expect(result).toEqual([1]);
        const t3 = createTask(c(3));
        lock.release();
        await sleep(0);
        expect(result).toEqual([1, 2]);
        lock.release();
        await sleep(0);
        expect(result).toEqual([1, 2, 3]);
        expect([t1.result(), t2.result(), t3.result()]).toEqual([true, true, true]);
      },
      { virtualTime: true },
    );
  });

  it("a cancelled waiter leaves the queue", async () => {
    await run(
      async () => {
        const lock = new Lock();
        await lock.acquire();
        const t = createTask(() => lock.acquire());
        getRunningLoop().callSoon(() => t.cancel());
        await expect(t).rejects.toBeInstanceOf(CancelledError);
        expect(lock.statistics().waiters).toBe(0);
        expect(lock.locked()).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("port of test_cancel_race: release skips a head waiter cancelled in the same step", async () => {
    await run(
      async () => {
        const lock = new Lock();
        const loop = getRunningLoop();
        const lockit = async (blocker: PromiseLike<unknown> | null) => {
          await lock.acquire();
          try {
            if (blocker !== null) await blocker;
          } finally {
            lock.release();
          }
        };
        const fa = loop.createFuture<void>();
        const ta = createTask(() => lockit(fa));
        await sleep(0);
        expect(lock.locked()).toBe(true);
        const tb = createTask(() => lockit(null));
        await sleep(0);
        expect(lock.statistics().waiters).toBe(1);
        const tc = createTask(() => lockit(null));
        await sleep(0);
        expect(lock.statistics().waiters).toBe(2);
        fa.setResult();
        tb.cancel();
        expect(lock._waiters.first()!.cancelled()).toBe(true);
        await sleep(0);
        expect(lock.locked()).toBe(false);
        expect(ta.done()).toBe(true);
        expect(tb.cancelled()).toBe(true);
        await tc;
      },
      { virtualTime: true },
    );
  });

  it("port of test_cancel_release_race: cancel + release in one callback takes the lock only once", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const lock = new Lock();
        let lockCount = 0;
        let callCount = 0;
        const lockit = async () => {
          callCount++;
          await lock.acquire();
          lockCount++;
        };
        await lock.acquire();
        const t1 = createTask(lockit);
        const t2 = createTask(lockit);
        const t3 = createTask(lockit);
        await sleep(0);
        loop.callSoon(() => {
          t1.cancel();
          lock.release();
        });
        await expect(t1).rejects.toBeInstanceOf(CancelledError);
        expect(lockCount).toBe(1);
        expect(callCount).toBe(3);
        expect(t1.cancelled() && t2.done()).toBe(true);
        t3.cancel();
        await sleep(0);
        expect(t3.cancelled()).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("port of test_finished_waiter_cancelled: a waiter woken then cancelled passes the wake-up on", async () => {
    await run(
      async () => {
        const lock = new Lock();
        await lock.acquire();
        const tb = createTask(() => lock.acquire());
        await sleep(0);
        expect(lock.statistics().waiters).toBe(1);
        const tc = createTask(() => lock.acquire());
        tb.cancel();
        lock.release();
        await sleep(0);
        expect(lock.locked()).toBe(true);
        expect(tb.cancelled()).toBe(true);
        await tc;
      },
      { virtualTime: true },
    );
  });

  it("a waiter cancelled after release() woke it hands the lock to the next waiter", async () => {
    const got: string[] = [];
    await run(
      async () => {
        const lock = new Lock();
        await lock.acquire();
        const b = createTask(async () => {
          await lock.acquire();
          got.push("B");
        });
        const c = createTask(async () => {
          await lock.acquire();
          got.push("C");
          lock.release();
        });
        await sleep(0);
        lock.release(); // wakes B
        b.cancel(); // B is cancelled before it runs
        await expect(b).rejects.toBeInstanceOf(CancelledError);
        await c;
        expect(lock.locked()).toBe(false);
      },
      { virtualTime: true },
    );
    expect(got).toEqual(["C"]);
  });

  it("releasing an unlocked lock throws RuntimeError", async () => {
    const lock = new Lock();
    expect(() => lock.release()).toThrow(RuntimeError);
    expect(() => lock.release()).toThrow("Lock is not acquired.");
  });

  it("an uncontended acquire does not yield", async () => {
    const out: string[] = [];
    await run(
      async () => {
        const lock = new Lock();
        const other = createTask(async () => {
          out.push("other");
        });
        await lock.acquire();
        out.push("main acquired");
        await other;
      },
      { virtualTime: true },
    );
    expect(out).toEqual(["main acquired", "other"]);
  });

  it("withLock releases when the body throws, and returns the body's value", async () => {
    await run(async () => {
      const lock = new Lock();
      await expect(
        lock.withLock(async () => {
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(lock.locked()).toBe(false);
      expect(await lock.withLock(() => 7)).toBe(7);
      await expect(lock.withLock(42 as never)).rejects.toThrow("Expected fn to be a function, got 42 (number)");
    });
  });

  it("await using releases the lock on scope exit, even on error", async () => {
    await run(async () => {
      const lock = new Lock();
      {
        await using held = await lock.hold();
        expect(lock.locked()).toBe(true);
        expect(held.held).toBe(true);
      }
      expect(lock.locked()).toBe(false);
      const body = async () => {
        await using _h = await lock.hold();
        throw new Error("inside");
      };
      await expect(body()).rejects.toThrow("inside");
      expect(lock.locked()).toBe(false);
      {
        using h = await lock.hold();
        h.release(); // early release; the scope exit does not release again
        expect(lock.locked()).toBe(false);
        await lock.acquire(); // someone else's hold
      }
      expect(lock.locked()).toBe(true);
    });
  });

  it("statistics and toString", async () => {
    await run(
      async () => {
        const lock = new Lock();
        expect(String(lock)).toBe("<Lock [unlocked]>");
        await lock.acquire();
        const t = createTask(() => lock.acquire());
        await sleep(0);
        expect(lock.statistics()).toEqual({ locked: true, waiters: 1 });
        expect(String(lock)).toBe("<Lock [locked, waiters:1]>");
        lock.release();
        await t;
      },
      { virtualTime: true },
    );
  });

  it("is bound to the loop of its first wait (CPython's _LoopBoundMixin); a closed loop's binding is dropped", async () => {
    const lock = new Lock();
    const a = newEventLoop({ virtualTime: true });
    const b = newEventLoop({ virtualTime: true });
    const { waiter } = await a.runUntilComplete(async () => {
      await lock.acquire();
      const t = createTask(() => lock.acquire());
      await sleep(0);
      return { waiter: t }; // wrapped: a task is thenable, returning it would wait for it
    });
    await expect(b.runUntilComplete(() => lock.acquire())).rejects.toThrow("Lock is bound to a different event loop");
    waiter.cancel();
    await a.runUntilComplete(async () => {
      await expect(waiter).rejects.toBeInstanceOf(CancelledError);
    });
    a.close();
    lock.release();
    await b.runUntilComplete(async () => {
      await lock.acquire();
      const t = createTask(() => lock.acquire());
      await sleep(0);
      lock.release();
      await t;
    });
    expect(lock._loop).toBe(b);
    b.close();
  });
});
