/**
 * CPython's test_locks.py, as behaviours of Lock, Event, Condition, Semaphore and Barrier (see
 * conformance/README.md). Tests that test/sync/*.test.ts already ports are mapped there, not repeated.
 */
import { describe, expect, it } from "vitest";
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  CancelledError,
  Condition,
  Event,
  Lock,
  RuntimeError,
  Semaphore,
  TimeoutError,
  createTask,
  gather,
  getRunningLoop,
  newEventLoop,
  run,
  sleep,
  wait,
  waitFor,
  type Task,
} from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };

/** CPython's RGX_REPR, without the `object at 0x...` part that JavaScript has no use for. */
const REPR =
  /^<(\w+) \[(set|unset|locked|unlocked|filling|draining|resetting|broken)(, value:\d)?(, waiters:\d+)?(, waiters:\d+\/\d+)?\]>$/;

describe("primitives are not awaitable (test_lock, test_lock_by_with_statement, test_semaphore, test_barrier)", () => {
  it("LockTests.test_lock / LockTests.test_lock_by_with_statement / SemaphoreTests.test_semaphore / BarrierTests.test_barrier: awaiting a primitive does not acquire it", async () => {
    await run(async () => {
      const prims = [new Lock(), new Condition(), new Semaphore(), new BoundedSemaphore(), new Barrier(2)];
      for (const p of prims) {
        // Not a thenable: `await p` (CPython's removed `with await lock`) is a no-op that yields p itself.
        expect("then" in p).toBe(false);
        expect(await p).toBe(p);
      }
      for (const p of prims.slice(0, 4) as Array<Lock | Condition | Semaphore>) expect(p.locked()).toBe(false);
      expect((prims[2] as Semaphore)._value).toBe(1);
      expect(String(prims[4])).toContain("filling");
    }, V);
  });
});

describe("Lock (test_locks LockTests)", () => {
  it("LockTests.test_repr: unlocked, locked", async () => {
    await run(async () => {
      const lock = new Lock();
      expect(String(lock)).toMatch(/\[unlocked\]>$/);
      expect(String(lock)).toMatch(REPR);
      await lock.acquire();
      expect(String(lock)).toMatch(/\[locked\]>$/);
      expect(String(lock)).toMatch(REPR);
    }, V);
  });

  it("LockTests.test_release_no_waiters: release without waiters unlocks", async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      expect(lock.locked()).toBe(true);
      lock.release();
      expect(lock.locked()).toBe(false);
    }, V);
  });
});

describe("Event (test_locks EventTests)", () => {
  it("EventTests.test_repr: unset, set, waiters", async () => {
    await run(async () => {
      const ev = new Event();
      expect(String(ev)).toMatch(/\[unset\]>$/);
      expect(REPR.exec(String(ev))?.[2]).toBe("unset");
      ev.set();
      expect(String(ev)).toMatch(/\[set\]>$/);
      expect(String(ev)).toMatch(REPR);
      ev.clear();
      const t = createTask(() => ev.wait());
      await sleep(0);
      expect(String(ev)).toContain("waiters:1");
      expect(String(ev)).toMatch(REPR);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
    }, V);
  });

  it("EventTests.test_wait: set() wakes waiters in order, after a task started meanwhile that finds the event set", async () => {
    await run(async () => {
      const ev = new Event();
      expect(ev.isSet()).toBe(false);
      const result: number[] = [];
      const c = (n: number) => async () => {
        if (await ev.wait()) result.push(n);
      };
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      await sleep(0);
      expect(result).toEqual([]);
      const t3 = createTask(c(3));
      ev.set();
      await sleep(0);
      expect(result).toEqual([3, 1, 2]);
      for (const t of [t1, t2, t3]) {
        expect(t.done()).toBe(true);
        expect(t.result()).toBeUndefined();
      }
    }, V);
  });

  it("EventTests.test_clear: set and clear flip isSet", async () => {
    await run(async () => {
      const ev = new Event();
      expect(ev.isSet()).toBe(false);
      ev.set();
      expect(ev.isSet()).toBe(true);
      ev.clear();
      expect(ev.isSet()).toBe(false);
    }, V);
  });
});

describe("Condition (test_locks ConditionTests)", () => {
  it("ConditionTests.test_wait: a notified waiter runs only once the notifier releases the lock, one at a time", async () => {
    await run(async () => {
      const cond = new Condition();
      const result: number[] = [];
      const c = (n: number) => async () => {
        await cond.acquire();
        if (await cond.wait()) result.push(n);
        return true;
      };
      const ts = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
      await sleep(0);
      expect(result).toEqual([]);
      expect(cond.locked()).toBe(false);

      expect(await cond.acquire()).toBe(true);
      cond.notify();
      await sleep(0);
      expect(result).toEqual([]);
      expect(cond.locked()).toBe(true);

      cond.release();
      await sleep(0);
      expect(result).toEqual([1]);
      expect(cond.locked()).toBe(true); // t1 returned from wait() holding the lock

      cond.notify(2);
      await sleep(0);
      expect(result).toEqual([1]);
      expect(cond.locked()).toBe(true);

      cond.release();
      await sleep(0);
      expect(result).toEqual([1, 2]);
      expect(cond.locked()).toBe(true);

      cond.release();
      await sleep(0);
      expect(result).toEqual([1, 2, 3]);
      expect(cond.locked()).toBe(true);
      expect(ts.map((t) => t.result())).toEqual([true, true, true]);
    }, V);
  });

  it("ConditionTests.test_wait_cancel: a cancelled wait leaves no waiter and re-acquires the lock", async () => {
    await run(async () => {
      const cond = new Condition();
      await cond.acquire();
      const w = createTask(() => cond.wait());
      getRunningLoop().callSoon(() => w.cancel());
      await expect(w).rejects.toBeInstanceOf(CancelledError);
      expect(cond._waiters.size).toBe(0);
      expect(cond.statistics().waiters).toBe(0);
      expect(cond.locked()).toBe(true);
    }, V);
  });

  it("ConditionTests.test_wait_for_unacquired: a predicate already true returns without the lock; otherwise RuntimeError", async () => {
    await run(async () => {
      const cond = new Condition();
      expect(await cond.waitFor(() => [1, 2, 3])).toEqual([1, 2, 3]);
      await expect(cond.waitFor(() => false)).rejects.toBeInstanceOf(RuntimeError);
      expect(cond.locked()).toBe(false);
    }, V);
  });

  it("ConditionTests.test_repr: unlocked, locked, waiters:1, waiters:2", async () => {
    await run(async () => {
      const cond = new Condition();
      expect(String(cond)).toContain("unlocked");
      expect(String(cond)).toMatch(REPR);
      await cond.acquire();
      expect(String(cond)).toMatch(/\[locked\]>$/);
      cond.release();
      const w1 = createTask(() => cond.withLock(() => cond.wait()));
      const w2 = createTask(() => cond.withLock(() => cond.wait()));
      await sleep(0);
      await cond.acquire();
      expect(String(cond)).toBe("<Condition [locked, waiters:2]>");
      expect(String(cond)).toMatch(REPR);
      cond.notifyAll();
      cond.release();
      await gather(w1, w2);
      expect(String(cond)).toBe("<Condition [unlocked]>");
    }, V);
  });

  it("ConditionTests.test_context_manager: withLock and hold hold the lock in their scope", async () => {
    await run(async () => {
      const cond = new Condition();
      expect(cond.locked()).toBe(false);
      await cond.withLock(() => expect(cond.locked()).toBe(true));
      expect(cond.locked()).toBe(false);
      {
        await using _h = await cond.hold();
        expect(cond.locked()).toBe(true);
      }
      expect(cond.locked()).toBe(false);
    }, V);
  });

  it("ConditionTests.test_explicit_lock: a condition and its lock are one lock, however they were made", async () => {
    await run(async () => {
      const f = async (lock?: Lock, cond?: Condition) => {
        lock ??= new Lock();
        cond ??= new Condition(lock);
        expect(cond._lock).toBe(lock);
        expect([lock.locked(), cond.locked()]).toEqual([false, false]);
        await cond.withLock(() => expect([lock.locked(), cond.locked()]).toEqual([true, true]));
        expect([lock.locked(), cond.locked()]).toEqual([false, false]);
        await lock.withLock(() => expect([lock.locked(), cond.locked()]).toEqual([true, true]));
        expect([lock.locked(), cond.locked()]).toEqual([false, false]);
      };
      await f();
      await f(new Lock());
      const lock = new Lock();
      await f(lock, new Condition(lock));
    }, V);
  });

  it("ConditionTests.test_ambiguous_loops: a lock or condition bound to another loop refuses to wait on this one", async () => {
    const other = newEventLoop(V);
    try {
      await run(async () => {
        const lock = new Lock();
        lock._loop = other;
        await lock.withLock(async () => {
          // acquired on the fast path, without a loop; a contended acquire must wait and finds the mismatch
          const cond = new Condition(lock);
          await expect(cond.acquire()).rejects.toThrow(RuntimeError);
          await expect(cond.acquire()).rejects.toThrow("is bound to a different event loop");
        });

        const lock2 = new Lock();
        await lock2.withLock(async () => {
          const cond = new Condition(lock2);
          cond._loop = other;
          await expect(cond.wait()).rejects.toThrow("Condition is bound to a different event loop");
          expect(cond.locked()).toBe(true);
        });
        expect(lock2.locked()).toBe(false);
      }, V);
    } finally {
      other.close();
    }
  });

  it("ConditionTests.test_timeout_in_block: waitFor on cond.wait() times out, and the lock is held again", async () => {
    await run(async () => {
      const cond = new Condition();
      await cond.withLock(async () => {
        await expect(waitFor(() => cond.wait(), 500)).rejects.toBeInstanceOf(TimeoutError);
        expect(getRunningLoop().time()).toBe(500);
        expect(cond.locked()).toBe(true);
      });
      expect(cond.locked()).toBe(false);
    }, V);
  });

  for (const phase of ["wakeup", "re_aquire"] as const) {
    it(`ConditionTests.test_cancelled_error_${phase}: the very CancelledError instance thrown in wait comes out of the task`, async () => {
      await run(async () => {
        let wake = false;
        let raised: unknown = null;
        const cond = new Condition();
        const task = createTask(() =>
          cond.withLock(async () => {
            const err = await rejection(cond.waitFor(() => wake));
            expect(err).toBeInstanceOf(CancelledError);
            raised = err;
            throw err;
          }),
        );
        await sleep(0);
        if (phase === "re_aquire") {
          await cond.acquire();
          wake = true;
          cond.notify();
          await sleep(0); // the task now waits to re-acquire the lock
          task.cancel("foo");
          cond.release();
        } else {
          task.cancel("foo");
        }
        const err = await rejection(task);
        expect(err).toBeInstanceOf(CancelledError);
        expect((err as Error).message).toBe("foo");
        expect(err).toBe(raised);
      }, V);
    });
  }
});

describe("Semaphore (test_locks SemaphoreTests)", () => {
  it("SemaphoreTests.test_initial_value_zero: a semaphore of value 0 is locked", () => {
    expect(new Semaphore(0).locked()).toBe(true);
  });

  it("SemaphoreTests.test_repr: unlocked with value, locked, waiters", async () => {
    await run(async () => {
      const sem = new Semaphore();
      expect(String(sem)).toMatch(/\[unlocked, value:1\]>$/);
      expect(String(sem)).toMatch(REPR);
      await sem.acquire();
      expect(String(sem)).toMatch(/\[locked\]>$/);
      expect(String(sem)).not.toContain("waiters");
      expect(String(sem)).toMatch(REPR);
      const t1 = createTask(() => sem.acquire());
      await sleep(0);
      expect(String(sem)).toContain("waiters:1");
      const t2 = createTask(() => sem.acquire());
      await sleep(0);
      expect(String(sem)).toContain("waiters:2");
      expect(String(sem)).toMatch(REPR);
      t1.cancel();
      t2.cancel();
      await gather(t1, t2, { returnExceptions: true });
    }, V);
  });

  it("SemaphoreTests.test_acquire: releases promise permits to the oldest waiters; a newcomer queues behind them", async () => {
    await run(async () => {
      const sem = new Semaphore(3);
      const result: number[] = [];
      expect(await sem.acquire()).toBe(true);
      expect(await sem.acquire()).toBe(true);
      expect(sem.locked()).toBe(false);
      const c = (n: number) => async () => {
        await sem.acquire();
        result.push(n);
        return true;
      };
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      const t3 = createTask(c(3));
      await sleep(0);
      expect(result).toEqual([1]);
      expect(sem.locked()).toBe(true);
      expect(sem._waiters.size).toBe(2);
      expect(sem._value).toBe(0);

      const t4 = createTask(c(4));
      sem.release();
      sem.release();
      expect(sem._value).toBe(0);
      await sleep(0);
      expect(sem._value).toBe(0);
      expect(result.length).toBe(3);
      expect(sem.locked()).toBe(true);
      expect(sem._waiters.size).toBe(1);
      expect(t1.result()).toBe(true);
      const race = [t2, t3, t4];
      expect(race.filter((t) => t.done() && t.result()).length).toBe(2);
      expect(t4.done()).toBe(false); // FIFO: the newcomer is the one left waiting
      sem.release();
      await gather(...race);
    }, V);
  });

  it("SemaphoreTests.test_acquire_cancel: a cancelled acquire leaves no pending waiter", async () => {
    await run(async () => {
      const sem = new Semaphore();
      await sem.acquire();
      const acq = createTask(() => sem.acquire());
      getRunningLoop().callSoon(() => acq.cancel());
      await expect(acq).rejects.toBeInstanceOf(CancelledError);
      expect([...sem._waiters].every((w) => w.done())).toBe(true);
      expect(sem.statistics()).toEqual({ value: 0, waiters: 0 });
    }, V);
  });

  it("SemaphoreTests.test_release_no_waiters: release without waiters unlocks", async () => {
    await run(async () => {
      const sem = new Semaphore();
      await sem.acquire();
      expect(sem.locked()).toBe(true);
      sem.release();
      expect(sem.locked()).toBe(false);
    }, V);
  });
});

describe("Barrier (test_locks BarrierTests)", () => {
  const N = 5;

  const makeTasks = <T>(n: number, fn: () => Promise<T>): Array<Task<T>> =>
    Array.from({ length: n }, () => createTask(fn));

  const gatherTasks = async <T>(n: number, fn: () => Promise<T>): Promise<T[]> => gather(...makeTasks(n, fn));

  it("BarrierTests.test_repr: filling with waiters, draining, resetting, broken", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      expect(String(barrier)).toMatch(REPR);
      expect(String(barrier)).toContain("filling");
      const waiters: Array<Task<number>> = [];
      const incr = 2;
      for (let i = 0; i < incr; i++) waiters.push(createTask(() => barrier.wait()));
      await sleep(0);
      expect(String(barrier)).toMatch(REPR);
      expect(String(barrier)).toContain(`waiters:${incr}/${N}`);
      expect(String(barrier)).toContain("filling");

      for (let i = barrier.parties - barrier.nWaiting; i > 0; i--) waiters.push(createTask(() => barrier.wait()));
      await sleep(0);
      expect(String(barrier)).toMatch(REPR);
      expect(String(barrier)).toContain("draining");

      for (let i = 0; i < incr; i++) waiters.push(createTask(() => barrier.wait()));
      await sleep(0);
      await barrier.reset();
      expect(String(barrier)).toMatch(REPR);
      expect(String(barrier)).toContain("resetting");

      for (let i = 0; i < incr; i++) waiters.push(createTask(() => barrier.wait()));
      await sleep(0);
      await barrier.abort();
      expect(String(barrier)).toMatch(REPR);
      expect(String(barrier)).toContain("broken");
      expect(barrier.broken).toBe(true);
      const outcomes = await gather(...waiters, { returnExceptions: true });
      expect(outcomes.slice(0, N)).toEqual([0, 1, 2, 3, 4]);
      expect(outcomes.slice(N).map((o) => o instanceof BrokenBarrierError)).toEqual([true, true, true, true]);
    }, V);
  });

  it("BarrierTests.test_barrier_parties: parties must be a positive integer", () => {
    expect(() => new Barrier(0)).toThrow(RangeError);
    expect(() => new Barrier(-4)).toThrow(RangeError);
    expect(new Barrier(N)).toBeInstanceOf(Barrier);
  });

  it("BarrierTests.test_context_manager: each of N tasks gets a distinct index; the barrier ends filling, not broken", async () => {
    await run(async () => {
      const barrier = new Barrier(3);
      const results: number[] = [];
      await gatherTasks(3, async () => {
        results.push(await barrier.wait());
      });
      expect(results.sort()).toEqual([0, 1, 2]);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_filling_one_task: a one-party barrier passes at once", async () => {
    await run(async () => {
      const barrier = new Barrier(1);
      expect(await barrier.wait()).toBe(0);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_filling_one_task_twice: two rounds of a one-party barrier, both index 0", async () => {
    await run(async () => {
      const barrier = new Barrier(1);
      const t1 = createTask(() => barrier.wait());
      await sleep(0);
      expect(barrier.nWaiting).toBe(0);
      const t2 = createTask(() => barrier.wait());
      await sleep(0);
      expect(t1.done() && t2.done()).toBe(true);
      expect(t1.result()).toBe(t2.result());
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_filling_task_by_task: nWaiting counts arrivals; the last arrival releases all", async () => {
    await run(async () => {
      const barrier = new Barrier(3);
      const t1 = createTask(() => barrier.wait());
      await sleep(0);
      expect(barrier.nWaiting).toBe(1);
      expect(String(barrier)).toContain("filling");
      const t2 = createTask(() => barrier.wait());
      await sleep(0);
      expect(barrier.nWaiting).toBe(2);
      expect(String(barrier)).toContain("filling");
      const t3 = createTask(() => barrier.wait());
      await sleep(0);
      await wait([t1, t2, t3]);
      expect([t1, t2, t3].map((t) => t.result()).sort()).toEqual([0, 1, 2]);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
      expect(getRunningLoop().time()).toBe(0);
    }, V);
  });

  it("BarrierTests.test_filling_tasks_wait_twice: N tasks pass the barrier twice", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results: boolean[] = [];
      await gatherTasks(N, async () => {
        await barrier.wait();
        results.push(true);
        await barrier.wait();
        results.push(false);
      });
      expect(results).toEqual([...Array<boolean>(N).fill(true), ...Array<boolean>(N).fill(false)]);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_filling_tasks_check_return_value: the second round's indices are 0..N-1", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const res = await gatherTasks(N, async () => {
        await barrier.wait();
        results1.push(true);
        const i = await barrier.wait();
        results2.push(true);
        return i;
      });
      expect(results1.length).toBe(N);
      expect(results2.length).toBe(N);
      expect([...res].sort()).toEqual([0, 1, 2, 3, 4]);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_draining_state: tasks leaving see draining, except the last one out (filling again)", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results: boolean[] = [];
      await gatherTasks(N, async () => {
        await barrier.wait();
        results.push(String(barrier).includes("draining"));
      });
      expect(results).toEqual([true, true, true, true, false]);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_blocking_tasks_while_draining: tasks arriving while the barrier drains wait for the next round", async () => {
    await run(async () => {
      const rewait = 2;
      const barrier = new Barrier(N);
      const barrierNowaiting = new Barrier(N - rewait);
      let rewaitN = rewait;
      const res = await gatherTasks(N, async () => {
        await barrier.wait();
        if (rewaitN > 0) {
          rewaitN--;
          return barrier.wait();
        }
        await barrierNowaiting.wait();
        return barrier.wait();
      });
      expect([...res].sort()).toEqual([0, 1, 2, 3, 4]);
      expect(barrier.nWaiting).toBe(0);
      expect(barrierNowaiting.nWaiting).toBe(0);
    }, V);
  });

  it("BarrierTests.test_filling_tasks_cancel_one: a cancelled waiter leaves the count; later arrivals fill the barrier", async () => {
    await run(async () => {
      const barrier = new Barrier(3);
      const results: boolean[] = [];
      const coro = async () => {
        await barrier.wait();
        results.push(true);
      };
      const t1 = createTask(coro);
      await sleep(0);
      expect(barrier.nWaiting).toBe(1);
      const t2 = createTask(coro);
      await sleep(0);
      expect(barrier.nWaiting).toBe(2);
      t1.cancel();
      await sleep(0);
      expect(barrier.nWaiting).toBe(1);
      await expect(t1).rejects.toBeInstanceOf(CancelledError);
      expect(t1.cancelled()).toBe(true);
      const t3 = createTask(coro);
      await sleep(0);
      expect(barrier.nWaiting).toBe(2);
      const t4 = createTask(coro);
      await gather(t2, t3, t4);
      expect(results).toEqual([true, true, true]);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_reset_barrier: resetting an idle barrier leaves it filling", async () => {
    await run(async () => {
      const barrier = new Barrier(1);
      const t = createTask(() => barrier.reset());
      await sleep(0);
      expect(t.done()).toBe(true);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
      expect(barrier.statistics().state).toBe("filling");
    }, V);
  });

  it("BarrierTests.test_reset_barrier_while_tasks_waiting: every waiter gets BrokenBarrierError", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results: boolean[] = [];
      const tasks = makeTasks(N - 1, async () => {
        try {
          await barrier.wait();
        } catch (e) {
          if (e instanceof BrokenBarrierError) results.push(true);
        }
      });
      await sleep(0);
      createTask(() => barrier.reset());
      await gather(...tasks);
      expect(results).toEqual([true, true, true, true]);
      expect(barrier.nWaiting).toBe(0);
      expect(String(barrier)).not.toContain("resetting");
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_reset_barrier_when_tasks_half_draining: a reset while some tasks are still leaving breaks only the next round's waiters", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const restOfTasks = Math.floor(N / 2);
      await gatherTasks(N, async () => {
        try {
          await barrier.wait();
        } catch (e) {
          if (!(e instanceof BrokenBarrierError)) throw e;
          results1.push(true);
          return;
        }
        if (restOfTasks === barrier._count) await barrier.reset();
      });
      // the tasks not yet out of wait() when the reset comes are broken
      expect(results1).toEqual(Array<boolean>(restOfTasks).fill(true));
      expect(barrier.nWaiting).toBe(0);
      expect(String(barrier)).not.toContain("resetting");
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_reset_barrier_when_tasks_half_draining_half_blocking: waiters broken by the reset meet the resetters in the next round", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blockingTasks = Math.floor(N / 2);
      let count = 0;
      await gatherTasks(N, async () => {
        try {
          await barrier.wait();
        } catch (e) {
          if (!(e instanceof BrokenBarrierError)) throw e;
          results1.push(true);
          await barrier.wait();
          return;
        }
        count++;
        if (count > blockingTasks) {
          await barrier.reset();
          await barrier.wait();
        } else {
          try {
            await barrier.wait();
          } catch (e) {
            if (!(e instanceof BrokenBarrierError)) throw e;
            results2.push(true);
          }
        }
      });
      expect(results1).toEqual(Array<boolean>(blockingTasks).fill(true));
      expect(results2).toEqual([]);
      expect(barrier.nWaiting).toBe(0);
      expect(String(barrier)).not.toContain("resetting");
      expect(barrier.broken).toBe(false);
    }, V);
  });

  it("BarrierTests.test_reset_barrier_while_tasks_waiting_and_waiting_again: broken waiters wait again and pass with a newcomer", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const tasks = makeTasks(N - 1, async () => {
        try {
          await barrier.wait();
        } catch (e) {
          if (!(e instanceof BrokenBarrierError)) throw e;
          results1.push(true);
        } finally {
          await barrier.wait();
          results2.push(true);
        }
      });
      createTask(() => barrier.reset());
      await sleep(0);
      const last = createTask(async () => {
        await barrier.wait();
        results2.push(true);
      });
      await gather(...tasks, last);
      expect(barrier.broken).toBe(false);
      expect(results1).toEqual(Array<boolean>(N - 1).fill(true));
      expect(results2).toEqual(Array<boolean>(N).fill(true));
      expect(barrier.nWaiting).toBe(0);
    }, V);
  });

  it("BarrierTests.test_reset_barrier_while_tasks_draining: a reset by the last task out does not break the next round", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      let count = 0;
      await gatherTasks(N, async () => {
        await barrier.wait();
        count++;
        if (count === N) {
          await barrier.reset();
          await barrier.wait();
        } else {
          try {
            await barrier.wait();
            results1.push(true);
          } catch {
            results2.push(true);
          }
        }
        await barrier.wait();
        results3.push(true);
      });
      expect(barrier.broken).toBe(false);
      expect(results1).toEqual(Array<boolean>(N - 1).fill(true));
      expect(results2).toEqual([]);
      expect(results3).toEqual(Array<boolean>(N).fill(true));
      expect(barrier.nWaiting).toBe(0);
    }, V);
  });

  it("BarrierTests.test_abort_barrier: abort breaks an idle barrier", async () => {
    await run(async () => {
      const barrier = new Barrier(1);
      createTask(() => barrier.abort());
      await sleep(0);
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(true);
      await expect(barrier.wait()).rejects.toBeInstanceOf(BrokenBarrierError);
    }, V);
  });

  it("BarrierTests.test_abort_barrier_when_tasks_half_draining_half_blocking: abort breaks the tasks still leaving and those already waiting again", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blockingTasks = Math.floor(N / 2);
      let count = 0;
      await gatherTasks(N, async () => {
        try {
          await barrier.wait();
        } catch (e) {
          if (!(e instanceof BrokenBarrierError)) throw e;
          results1.push(true);
          return;
        }
        count++;
        if (count > blockingTasks) {
          await barrier.abort();
        } else {
          try {
            await barrier.wait();
          } catch (e) {
            if (!(e instanceof BrokenBarrierError)) throw e;
            results2.push(true);
          }
        }
      });
      expect(barrier.broken).toBe(true);
      expect(results1).toEqual(Array<boolean>(blockingTasks).fill(true));
      expect(results2).toEqual(Array<boolean>(N - blockingTasks - 1).fill(true));
      expect(barrier.nWaiting).toBe(0);
      expect(String(barrier)).not.toContain("resetting");
    }, V);
  });

  it("BarrierTests.test_abort_barrier_when_exception: a task that fails and aborts breaks every other task's next wait", async () => {
    await run(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      await gatherTasks(N, async () => {
        try {
          const i = await barrier.wait();
          if (i === Math.floor(N / 2)) throw new RangeError("boom");
          await barrier.wait();
          results1.push(true);
        } catch (e) {
          if (e instanceof BrokenBarrierError) results2.push(true);
          else if (e instanceof RangeError) await barrier.abort();
          else throw e;
        }
      });
      expect(barrier.broken).toBe(true);
      expect(results1).toEqual([]);
      expect(results2).toEqual(Array<boolean>(N - 1).fill(true));
      expect(barrier.nWaiting).toBe(0);
    }, V);
  });

  it("BarrierTests.test_abort_barrier_when_exception_then_resetting: after abort and a synchronized reset, everyone passes again", async () => {
    await run(async () => {
      const barrier1 = new Barrier(N);
      const barrier2 = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      await gatherTasks(N, async () => {
        try {
          const i = await barrier1.wait();
          if (i === Math.floor(N / 2)) throw new RangeError("boom");
          await barrier1.wait();
          results1.push(true);
        } catch (e) {
          if (e instanceof BrokenBarrierError) results2.push(true);
          else if (e instanceof RangeError) await barrier1.abort();
          else throw e;
        }
        const i = await barrier2.wait();
        if (i === Math.floor(N / 2)) await barrier1.reset();
        await barrier2.wait();
        await barrier1.wait();
        results3.push(true);
      });
      expect(barrier1.broken).toBe(false);
      expect(results1).toEqual([]);
      expect(results2).toEqual(Array<boolean>(N - 1).fill(true));
      expect(results3).toEqual(Array<boolean>(N).fill(true));
      expect(barrier1.nWaiting).toBe(0);
    }, V);
  });
});
