/**
 * CPython's test_waitfor.py, as behaviours of waitFor (see conformance/README.md).
 */
import { describe, expect, it } from "vitest";
import { CancelledError, Event, Lock, Semaphore, TimeoutError, createTask, gather, getRunningLoop, run, shield, sleep, wait, waitFor } from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };

/** Runs for `ms` of loop time, ignoring cancellation (CPython's SlowTask). */
class SlowTask {
  static readonly MS = 200;
  exited = false;
  async run(): Promise<void> {
    const loop = getRunningLoop();
    const exitAt = loop.time() + SlowTask.MS;
    for (;;) {
      const left = exitAt - loop.time();
      if (left <= 0) break;
      try {
        await sleep(left);
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
      }
    }
    this.exited = true;
  }
}

describe("waitFor (test_waitfor AsyncioWaitForTest)", () => {
  it("test_asyncio_wait_for_cancelled: cancelling waitFor waits for the inner work to end", async () => {
    await run(async () => {
      const t = new SlowTask();
      const wf = createTask(() => waitFor(() => t.run(), SlowTask.MS * 2));
      await sleep(0);
      wf.cancel();
      await wait([wf]);
      expect(t.exited).toBe(true);
      expect(getRunningLoop().time()).toBe(SlowTask.MS);
    }, V);
  });

  it("test_asyncio_wait_for_timeout: on timeout, waitFor waits for the inner work to end", async () => {
    await run(async () => {
      const t = new SlowTask();
      // the inner work swallows the cancellation and returns: waitFor returns its result (GH-86296)
      await waitFor(() => t.run(), SlowTask.MS / 2);
      expect(t.exited).toBe(true);
      expect(getRunningLoop().time()).toBe(SlowTask.MS);
    }, V);
  });

  it("test_wait_for_timeout_less_then_0_or_0_future_done: a done future's result even with timeout 0", async () => {
    await run(async () => {
      const fut = getRunningLoop().createFuture<string>();
      fut.setResult("done");
      expect(await waitFor(fut, 0)).toBe("done");
    });
  });

  it("test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started: timeout 0 never starts a function", async () => {
    let started = false;
    await run(async () => {
      const e = await rejection(
        waitFor(async () => {
          started = true;
        }, 0),
      );
      expect(e).toBeInstanceOf(TimeoutError);
    });
    expect(started).toBe(false);
  });

  it("test_wait_for_timeout_less_then_0_or_0: timeout 0 cancels a running task, waits for it, then TimeoutError", async () => {
    await run(async () => {
      let running: boolean | null = null;
      const started = getRunningLoop().createFuture<void>();
      const fut = createTask(async () => {
        running = true;
        started.setResult();
        try {
          await sleep(10_000);
        } finally {
          running = false;
        }
        return "done";
      });
      await started;
      const e = await rejection(waitFor(fut, 0));
      expect(e).toBeInstanceOf(TimeoutError);
      expect(fut.cancelled()).toBe(true);
      expect(running).toBe(false);
      // negative timeouts are refused (asyncio-ts: negative delays are errors)
      await expect(waitFor(fut, -1)).rejects.toThrow(RangeError);
      await expect(waitFor(fut, NaN)).rejects.toThrow(RangeError);
    }, V);
  });

  it("test_wait_for: the awaited task is cancelled on timeout", async () => {
    await run(async () => {
      let running: boolean | null = null;
      const fut = createTask(async () => {
        running = true;
        try {
          await sleep(300_000);
        } finally {
          running = false;
        }
        return "done";
      });
      await expect(waitFor(fut, 100)).rejects.toBeInstanceOf(TimeoutError);
      expect(fut.cancelled()).toBe(true);
      expect(running).toBe(false);
      expect(getRunningLoop().time()).toBe(100);
    }, V);
  });

  it("test_wait_for_blocking: timeout null waits as long as it takes", async () => {
    await run(async () => {
      expect(await waitFor(async () => "done", null)).toBe("done");
      expect(await waitFor(() => sleep(1_000_000, "late"), null)).toBe("late");
    }, V);
  });

  it("test_wait_for_race_condition: a result set just before the deadline is returned", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<string>();
      const p = waitFor(fut, 200);
      loop.callSoon(() => fut.setResult("ok"));
      expect(await p).toBe("ok");
    }, V);
  });

  it("test_wait_for_cancellation_race_condition: an inner function that handles the timeout's cancel returns its value", async () => {
    await run(async () => {
      const r = await waitFor(async () => {
        await expect(sleep(1000)).rejects.toBeInstanceOf(CancelledError);
        return 1;
      }, 10);
      expect(r).toBe(1);
    }, V);
  });

  it("test_wait_for_waits_for_task_cancellation: TimeoutError only after the task's cleanup", async () => {
    await run(async () => {
      let taskDone = false;
      const inner = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          await sleep(5);
          throw e;
        } finally {
          taskDone = true;
        }
      });
      const e = await rejection(waitFor(inner, 5));
      expect(taskDone).toBe(true);
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as Error).cause).toBeInstanceOf(CancelledError);
      expect(getRunningLoop().time()).toBe(10);
    }, V);
  });

  it("test_wait_for_waits_for_task_cancellation_w_timeout_0", async () => {
    await run(async () => {
      let taskDone = false;
      const inner = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          await sleep(5);
          throw e;
        } finally {
          taskDone = true;
        }
      });
      await sleep(5);
      const e = await rejection(waitFor(inner, 0));
      expect(taskDone).toBe(true);
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as Error).cause).toBeInstanceOf(CancelledError);
    }, V);
  });

  it("test_wait_for_reraises_exception_during_cancellation: an error from the cleanup wins", async () => {
    class FooException extends Error {}
    await run(async () => {
      const inner = createTask(async () => {
        try {
          await sleep(200);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw new FooException();
        }
      });
      await expect(waitFor(inner, 5)).rejects.toBeInstanceOf(FooException);
    }, V);
  });

  for (const timeout of [null, 60_000]) {
    it(`test_cancel_${timeout === null ? "blocking_" : ""}wait_for: cancelling waitFor cancels the awaited task`, async () => {
      await run(async () => {
        const loop = getRunningLoop();
        const task = createTask(async () => {
          await loop.createFuture();
        });
        const w = createTask(() => waitFor(task, timeout));
        loop.callSoon(() => w.cancel());
        await expect(w).rejects.toBeInstanceOf(CancelledError);
        expect(task.cancelled()).toBe(true);
      }, V);
    });
  }

  it("test_wait_for_cancel_suppressed: a function that swallows the cancel and returns a value wins", async () => {
    await run(async () => {
      const r = await waitFor(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) return 42;
          throw e;
        }
        return 0;
      }, 100);
      expect(r).toBe(42);
    }, V);
  });

  it("test_wait_for_issue86296: an outer cancel after the inner task finished still cancels the caller", async () => {
    await run(async () => {
      const inner = createTask(async () => "done");
      let reachedEnd = false;
      const task = createTask(async () => {
        await waitFor(inner, 100_000);
        await sleep(1000);
        reachedEnd = true;
      });
      expect(task.done()).toBe(false);
      await sleep(0);
      task.cancel();
      await expect(task).rejects.toBeInstanceOf(CancelledError);
      expect(inner.done()).toBe(true);
      expect(await inner).toBe("done");
      expect(reachedEnd).toBe(false);
    }, V);
  });

  it("bad arguments are clear errors", async () => {
    await run(async () => {
      await expect(waitFor(sleep(1), "10" as never)).rejects.toThrow('Expected ms to be a non-negative number of milliseconds or null, got "10" (string)');
      await expect(waitFor(42 as never, 10)).rejects.toThrow(TypeError);
    }, V);
  });
});

// CPython 3.12+'s wait_for awaits the awaitable inline (3.13 tasks.py:506 `async with timeouts.timeout(timeout):
// return await fut`): a primitive's wait wakes the caller in the same iteration as a plain await would.
describe("waitFor of a primitive's wait awaits it inline, as CPython's wait_for", () => {
  it("waitFor(ev.wait(), ms) wakes with the plain ev.wait() beside it (CPython 3.12/3.13: A, B, C)", async () => {
    // async def a(): await asyncio.wait_for(ev.wait(), 1); print("A waitFor(ev.wait())")
    // async def b(): await ev.wait(); print("B ev.wait()")
    // async def w(): return await ev.wait()
    // async def c(): await asyncio.wait_for(w(), 1); print("C waitFor(async wrapper)")
    // ts = [asyncio.create_task(x()) for x in (a, b, c)]; await asyncio.sleep(0); ev.set(); await asyncio.gather(*ts)
    const out: string[] = [];
    await run(async () => {
      const ev = new Event();
      const ts = [
        createTask(async () => {
          await waitFor(ev.wait(), 1000);
          out.push("A waitFor(ev.wait())");
        }),
        createTask(async () => {
          await ev.wait();
          out.push("B ev.wait()");
        }),
        createTask(async () => {
          await waitFor((async () => ev.wait())(), 1000);
          out.push("C waitFor(async wrapper)");
        }),
      ];
      await sleep(0);
      ev.set();
      await gather(...ts);
    }, V);
    expect(out).toEqual(["A waitFor(ev.wait())", "B ev.wait()", "C waitFor(async wrapper)"]);
  });

  it("waitFor(lock.acquire(), ms) and waitFor(sem.acquire(), ms), contended, wake in their queue's order (CPython 3.12/3.13)", async () => {
    // lock = asyncio.Lock(); sem = asyncio.Semaphore(0); await lock.acquire()
    // a: await asyncio.wait_for(lock.acquire(), 1); print("A ..."); lock.release()
    // b: await lock.acquire(); print("B ..."); lock.release()
    // c: await asyncio.wait_for(sem.acquire(), 1); print("C ...")
    // d: await sem.acquire(); print("D ...")
    // e: await asyncio.sleep(0); await asyncio.sleep(0); print("E ...")
    // tasks a-d; await asyncio.sleep(0); task e; lock.release(); sem.release(); sem.release(); gather
    const out: string[] = [];
    await run(async () => {
      const lock = new Lock();
      const sem = new Semaphore(0);
      await lock.acquire();
      const ts = [
        createTask(async () => {
          await waitFor(lock.acquire(), 1000);
          out.push("A waitFor(lock.acquire())");
          lock.release();
        }),
        createTask(async () => {
          await lock.acquire();
          out.push("B lock.acquire()");
          lock.release();
        }),
        createTask(async () => {
          await waitFor(sem.acquire(), 1000);
          out.push("C waitFor(sem.acquire())");
        }),
        createTask(async () => {
          await sem.acquire();
          out.push("D sem.acquire()");
        }),
      ];
      await sleep(0);
      ts.push(
        createTask(async () => {
          await sleep(0);
          await sleep(0);
          out.push("E two sleep(0)");
        }),
      );
      lock.release();
      sem.release();
      sem.release();
      await gather(...ts);
    }, V);
    expect(out).toEqual(["A waitFor(lock.acquire())", "C waitFor(sem.acquire())", "D sem.acquire()", "B lock.acquire()", "E two sleep(0)"]);
  });

  it("on expiry the inline wait is cancelled: TimeoutError, no waiter left, the lock or permit not lost", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const ev = new Event();
      await expect(waitFor(ev.wait(), 10)).rejects.toBeInstanceOf(TimeoutError);
      expect(ev.statistics().waiters).toBe(0);
      const lock = new Lock();
      await lock.acquire();
      await expect(waitFor(lock.acquire(), 10)).rejects.toBeInstanceOf(TimeoutError);
      expect(lock.locked()).toBe(true);
      lock.release();
      expect(lock.locked()).toBe(false);
      // a release at the deadline's own time: the permit is either taken or left, never lost
      const sem = new Semaphore(0);
      loop.callAt(loop.time() + 10, () => sem.release());
      let got = false;
      try {
        got = await waitFor(sem.acquire(), 10);
      } catch (e) {
        expect(e).toBeInstanceOf(TimeoutError);
      }
      expect(sem.locked()).toBe(got); // taken (0 left) or still there (1 left)
      expect(loop.time()).toBe(20 + 10);
    }, V);
  });

  it("cancelling the caller of waitFor(ev.wait(), ms) cancels the wait (CancelledError, not TimeoutError)", async () => {
    await run(async () => {
      const ev = new Event();
      const t = createTask(() => waitFor(ev.wait(), 1000));
      await sleep(5);
      t.cancel();
      expect(await rejection(t)).toBeInstanceOf(CancelledError);
      expect(ev.statistics().waiters).toBe(0);
    }, V);
  });
});

describe("waitFor and shield (test_waitfor WaitForShieldTests)", () => {
  it("test_zero_timeout: the shield is cancelled, the task runs on", async () => {
    await run(async () => {
      const task = createTask(() => sleep(10, "done"));
      const shielded = shield(task);
      await expect(waitFor(shielded, 0)).rejects.toBeInstanceOf(TimeoutError);
      expect(task.done()).toBe(false);
      expect(shielded.cancelled()).toBe(true);
      await sleep(100);
      expect(task.done()).toBe(true);
    }, V);
  });

  it("test_none_timeout: no limit, the shielded task completes", async () => {
    await run(async () => {
      const task = createTask(() => sleep(100, "done"));
      await waitFor(shield(task), null);
      expect(task.done()).toBe(true);
      expect(await task).toBe("done");
    }, V);
  });

  it("test_shielded_timeout: the timeout cancels the shield, not the task", async () => {
    await run(async () => {
      const task = createTask(() => sleep(100, "done"));
      await expect(waitFor(shield(task), 10)).rejects.toBeInstanceOf(TimeoutError);
      expect(task.done()).toBe(false);
      expect(task.cancelled()).toBe(false);
      expect(await task).toBe("done");
      expect(getRunningLoop().time()).toBe(100);
    }, V);
  });
});
