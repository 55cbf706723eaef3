import { describe, expect, it } from "vitest";
import {
  CancelledError,
  Condition,
  Lock,
  RuntimeError,
  TimeoutError,
  createTask,
  gather,
  getRunningLoop,
  run,
  sleep,
  timeout,
} from "../../src/index.js";

describe("Condition (CPython 3.13 semantics)", () => {
  it("port of test_notify: notify(1) wakes the oldest; notify(n) the n oldest", async () => {
    await run(
      async () => {
        const cond = new Condition();
        const result: number[] = [];
        const c = (n: number) => async () => {
          await cond.acquire();
          if (await cond.wait()) {
            result.push(n);
            cond.release();
          }
          return true;
        };
        const ts = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
        await sleep(0);
        expect(result).toEqual([]);
        await cond.acquire();
        cond.notify(1);
        cond.release();
        await sleep(0);
        expect(result).toEqual([1]);
        await cond.acquire();
        cond.notify(1);
        cond.notify(2048);
        cond.release();
        await sleep(0);
        expect(result).toEqual([1, 2, 3]);
        expect(ts.map((t) => t.result())).toEqual([true, true, true]);
      },
      { virtualTime: true },
    );
  });

  it("notify(2) wakes the two oldest waiters; notifyAll the rest", async () => {
    const out: string[] = [];
    await run(
      async () => {
        const cond = new Condition();
        const ts = ["A", "B", "C", "D"].map((n) =>
          createTask(() =>
            cond.withLock(async () => {
              await cond.wait();
              out.push(n);
            }),
          ),
        );
        await sleep(0);
        expect(cond.statistics()).toEqual({ locked: false, waiters: 4, lockWaiters: 0 });
        await cond.withLock(() => cond.notify(2));
        for (let i = 0; i < 3; i++) await sleep(0);
        expect(out).toEqual(["A", "B"]);
        await cond.withLock(() => cond.notifyAll());
        await gather(...ts);
      },
      { virtualTime: true },
    );
    expect(out).toEqual(["A", "B", "C", "D"]);
  });

  it("wait, notify and notifyAll without the lock throw RuntimeError", async () => {
    await run(async () => {
      const cond = new Condition();
      await expect(cond.wait()).rejects.toThrow(RuntimeError);
      await expect(cond.wait()).rejects.toThrow("cannot wait on un-acquired lock");
      await expect(cond.waitFor(() => false)).rejects.toThrow("cannot wait on un-acquired lock");
      expect(() => cond.notify()).toThrow("cannot notify on un-acquired lock");
      expect(() => cond.notifyAll()).toThrow("cannot notify on un-acquired lock");
      expect(() => new Condition({} as Lock)).toThrow("Expected lock to be a Lock, got an object (Object)");
      await cond.acquire();
      expect(() => cond.notify(-1)).toThrow(RangeError);
      expect(() => cond.notify(-1)).toThrow("Expected n to be a non-negative integer or Infinity, got -1 (number)");
    });
  });

  it("waitFor returns the predicate's truthy value; the lock is held again after wait", async () => {
    await run(
      async () => {
        const cond = new Condition();
        const items: number[] = [];
        const consumer = createTask(() =>
          cond.withLock(async () => {
            const v = await cond.waitFor(() => items.shift());
            expect(cond.locked()).toBe(true);
            return v;
          }),
        );
        await sleep(1);
        await cond.withLock(() => cond.notifyAll()); // spurious: predicate still false
        await sleep(1);
        expect(consumer.done()).toBe(false);
        await cond.withLock(() => {
          items.push(9);
          cond.notify();
        });
        expect(await consumer).toBe(9);
      },
      { virtualTime: true },
    );
  });

  it("an explicit lock is shared", async () => {
    await run(async () => {
      const lock = new Lock();
      const cond = new Condition(lock);
      await lock.acquire();
      expect(cond.locked()).toBe(true);
      cond.release();
      expect(lock.locked()).toBe(false);
    });
  });

  it("port of test_wait_cancel_after_notify: cancelled while re-acquiring, the lock is held on exit", async () => {
    await run(
      async () => {
        const cond = new Condition();
        let waited = false;
        let lockedInFinally: boolean | null = null;
        const waiter = createTask(() =>
          cond.withLock(async () => {
            waited = true;
            try {
              await cond.wait();
            } finally {
              lockedInFinally = cond.locked();
            }
          }),
        );
        await sleep(0);
        await cond.acquire();
        cond.notify();
        await sleep(0); // the waiter now waits for the lock
        waiter.cancel();
        await sleep(0);
        cond.release();
        await sleep(0);
        expect(waiter.cancelled()).toBe(true);
        expect(waited).toBe(true);
        expect(lockedInFinally).toBe(true);
        expect(cond.locked()).toBe(false);
      },
      { virtualTime: true },
    );
  });

  it("port of test_wait_cancel_contested: a notified waiter cancelled while the lock is contended still returns", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const cond = new Condition();
        await cond.acquire();
        const waitTask = createTask(() => cond.wait());
        await sleep(0);
        expect(cond.locked()).toBe(false);
        await cond.acquire();
        cond.notify();
        loop.callSoon(() => waitTask.cancel());
        loop.callSoon(() => cond.release());
        try {
          await waitTask;
        } catch (e) {
          if (!(e instanceof CancelledError)) throw e;
        }
        expect(cond.locked()).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("port of test_cancelled_error_wakeup / re_aquire: the task's own CancelledError comes out of wait", async () => {
    for (const phase of ["wakeup", "reacquire"] as const) {
      await run(
        async () => {
          const cond = new Condition();
          let wake = false;
          let raised: unknown = null;
          const task = createTask(() =>
            cond.withLock(async () => {
              try {
                await cond.waitFor(() => wake);
              } catch (e) {
                raised = e;
                throw e;
              }
            }),
          );
          await sleep(0);
          if (phase === "reacquire") {
            await cond.acquire();
            wake = true;
            cond.notify();
            await sleep(0);
            task.cancel("foo");
            cond.release();
          } else {
            task.cancel("foo");
          }
          let err: unknown = null;
          try {
            await task;
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(CancelledError);
          expect((err as Error).message).toBe("foo");
          expect(raised).toBeInstanceOf(CancelledError);
          expect((raised as Error).message).toBe("foo");
          expect(task.cancelled()).toBe(true);
          expect(cond.locked()).toBe(false);
        },
        { virtualTime: true },
      );
    }
  });

  for (const relock of [false, true]) {
    it(`port of test_cancelled_wakeup${relock ? "_relock" : ""}: a notify racing a cancel is not lost`, async () => {
      await run(
        async () => {
          const cond = new Condition();
          let state = 0;
          const consumer = () =>
            cond.withLock(async () => {
              for (;;) {
                await cond.waitFor(() => state !== 0);
                if (state < 0) return;
                state -= 1;
              }
            });
          const c = [createTask(consumer), createTask(consumer)];
          await sleep(0);
          await cond.withLock(async () => {
            state += 1;
            cond.notify(1);
            if (relock) await sleep(0);
            c[0]!.cancel();
            try {
              await timeout(10, () => cond.waitFor(() => state === 0));
            } catch (e) {
              if (!(e instanceof TimeoutError)) throw e;
            }
            expect(state).toBe(0);
            state = -1;
            cond.notifyAll();
          });
          await c[1];
        },
        { virtualTime: true },
      );
    });
  }
});
