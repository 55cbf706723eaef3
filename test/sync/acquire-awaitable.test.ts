/**
 * A contended `acquire()` of a Lock or Semaphore returns its waiter, which finishes the acquisition when
 * the waiting code resumes (no async function around it). These tests pin down that it behaves exactly as
 * the async function did, wherever the result goes: awaited by a task, awaited twice, handed to the
 * combinators (which wrap it in a task, as CPython wraps the coroutine), raced, or awaited from plain code.
 */
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  Lock,
  Semaphore,
  TimeoutError,
  createTask,
  gather,
  getRunningLoop,
  newEventLoop,
  run,
  shield,
  sleep,
  wait,
  waitFor,
} from "../../src/index.js";

const V = { virtualTime: true };

describe("a contended acquire() is awaitable anywhere", () => {
  it("gather(lock.acquire()) takes the lock, as CPython's gather does with the coroutine", async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      createTask(async () => {
        await sleep(10);
        lock.release();
      });
      const [got] = await gather(lock.acquire());
      expect(got).toBe(true);
      expect(lock.locked()).toBe(true);
      expect(lock.statistics().waiters).toBe(0);
      lock.release();
      expect(lock.locked()).toBe(false);
    }, V);
  });

  it("waitFor(sem.acquire(), ms) that times out loses no permit and leaves no waiter", async () => {
    await run(async () => {
      const sem = new Semaphore(1);
      await sem.acquire();
      await expect(waitFor(sem.acquire(), 50)).rejects.toBeInstanceOf(TimeoutError);
      expect(sem.statistics()).toEqual({ value: 0, waiters: 0 });
      sem.release();
      expect(sem.statistics()).toEqual({ value: 1, waiters: 0 });
      // and one that succeeds holds the permit
      const late = createTask(async () => {
        await sleep(10);
        sem.release();
      });
      await sem.acquire();
      expect(await waitFor(sem.acquire(), 50)).toBe(true);
      expect(sem.statistics()).toEqual({ value: 0, waiters: 0 });
      await late;
    }, V);
  });

  it("wait() and shield() take the permit once, for the task they wrap it in", async () => {
    await run(async () => {
      const sem = new Semaphore(1);
      await sem.acquire();
      getRunningLoop().callLater(5, () => sem.release());
      const [done, pending] = await wait([sem.acquire()]);
      expect(done.size).toBe(1);
      expect(pending.size).toBe(0);
      expect([...done][0]!.result()).toBe(true);
      expect(sem.statistics()).toEqual({ value: 0, waiters: 0 });
      getRunningLoop().callLater(5, () => sem.release());
      expect(await shield(sem.acquire())).toBe(true);
      expect(sem.statistics()).toEqual({ value: 0, waiters: 0 });
    }, V);
  });

  it("awaiting the same acquire() twice acquires once", async () => {
    await run(async () => {
      const sem = new Semaphore(2);
      await sem.acquire();
      await sem.acquire();
      const p = sem.acquire();
      getRunningLoop().callLater(5, () => sem.release());
      expect(await p).toBe(true);
      expect(await p).toBe(true);
      expect(sem.statistics()).toEqual({ value: 0, waiters: 0 });
      sem.release();
      sem.release();
      expect(sem.statistics()).toEqual({ value: 2, waiters: 0 });
    }, V);
  });

  it("a task cancelled while its acquire() waits, or after it was woken, gives the wake-up on", async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const order: string[] = [];
      const a = createTask(async () => {
        await lock.acquire();
        order.push("a");
        lock.release();
      });
      const b = createTask(async () => {
        await lock.acquire();
        order.push("b");
        lock.release();
      });
      await sleep(0); // both wait
      lock.release(); // wakes a
      a.cancel(); // before a runs: the wake-up goes to b
      await expect(a).rejects.toBeInstanceOf(CancelledError);
      await b;
      expect(order).toEqual(["b"]);
      expect(lock.locked()).toBe(false);
      expect(lock.statistics().waiters).toBe(0);
    }, V);
  });

  it("Promise.race of an acquire() and a timeout inside a task", async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      getRunningLoop().callLater(5, () => lock.release());
      const r = await Promise.race([lock.acquire(), sleep(100, "late")]);
      expect(r).toBe(true);
      expect(lock.locked()).toBe(true);
    }, V);
  });

  it("plain code outside any task can await a contended acquire()", async () => {
    const loop = newEventLoop(V);
    const lock = new Lock();
    const seen: unknown[] = [];
    await loop.runUntilComplete(async () => {
      await lock.acquire();
      // plain promise code (not a task) waits for the lock
      void Promise.resolve().then(async () => seen.push(await lock.acquire()));
      await sleep(5);
      lock.release();
      await sleep(5);
    });
    expect(seen).toEqual([true]);
    expect(lock.locked()).toBe(true);
    loop.close();
  });
});
