/**
 * CPython's test_tasks.py: cancellation semantics (see conformance/README.md).
 */
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  Task,
  TimeoutError,
  createTask,
  currentTask,
  getRunningLoop,
  run,
  sleep,
  wait,
} from "../../src/index.js";
import { loopsClosedAfterEach, rejection, runBriefly } from "./helpers.js";

const newLoop = loopsClosedAfterEach();

describe("cancel() (test_tasks BaseTaskTests)", () => {
  it("test_task_cancel_message_getter: the message of cancel() is the CancelledError's message", async () => {
    const loop = newLoop();
    const t = loop.createTask(async () => {});
    t.cancel("my message");
    const e = await rejection(loop.runUntilComplete(t));
    expect(e).toBeInstanceOf(CancelledError);
    expect((e as Error).message).toBe("my message");
  });

  it("test_cancelling: each cancel() counts; a cancelled task ends cancelled", async () => {
    const loop = newLoop();
    const t = loop.createTask(() => sleep(10_000));
    expect(t.cancelling()).toBe(0);
    expect(t.cancel()).toBe(true);
    expect(t.cancelling()).toBe(1);
    expect(t.cancel()).toBe(true); // still pending: the request is counted again
    expect(t.cancelling()).toBe(2);
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(t.cancelled()).toBe(true);
  });

  it("test_uncancel_basic: uncancel() lets a task that caught the cancellation go on", async () => {
    const loop = newLoop();
    const t = loop.createTask(async () => {
      try {
        await sleep(10_000);
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        currentTask()!.uncancel();
        await sleep(10_000);
      }
    });
    await loop.runUntilComplete(() => sleep(10));
    expect(t.cancel()).toBe(true);
    expect(t.cancelling()).toBe(1);
    expect(t.cancelled()).toBe(false);
    await loop.runUntilComplete(() => sleep(10));
    expect(t.cancelling()).toBe(0);
    expect(t.cancelled()).toBe(false);
    expect(t.cancel()).toBe(true);
    expect(t.cancelling()).toBe(1);
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(t.cancelled()).toBe(true);
    t.uncancel(); // no effect on a done task's state
    expect(t.cancelled()).toBe(true);
    expect(t.done()).toBe(true);
  });

  it("test_uncancel_structured_blocks: a hand-made timeout with cancel()/uncancel() lets the outer code go on", async () => {
    async function requestWithTimeout(sleepMs: number, timeoutMs: number): Promise<[boolean, boolean, boolean, number]> {
      const task = currentTask()!;
      const loop = getRunningLoop();
      let timedOut = false;
      let finished = false;
      const h = loop.callLater(timeoutMs, () => {
        timedOut = true;
        task.cancel();
      });
      try {
        try {
          await sleep(sleepMs);
          finished = true;
        } catch (e) {
          h.cancel();
          if (timedOut && task.uncancel() === 0 && e instanceof CancelledError) throw new TimeoutError();
          throw e;
        } finally {
          h.cancel();
        }
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
        expect(timedOut).toBe(true);
      }
      await sleep(0); // outer code, not affected by the timeout
      return [timedOut, finished, true, task.cancelling()];
    }
    await run(
      async () => {
        expect(await createTask(() => requestWithTimeout(10_000, 100))).toEqual([true, false, true, 0]);
        expect(await createTask(() => requestWithTimeout(0, 10_000))).toEqual([false, true, true, 0]);
      },
      { virtualTime: true },
    );
  });

  it("test_uncancel_resets_must_cancel: uncancel() drops a request not yet delivered", async () => {
    const loop = newLoop();
    const fut = loop.createFuture<void>();
    const t = loop.createTask(async () => {
      await fut;
      return 42;
    });
    await runBriefly(loop);
    fut.setResult(); // the task is now runnable, no longer waiting
    t.cancel();
    expect(t.cancelling()).toBe(1);
    t.uncancel();
    expect(t.cancelling()).toBe(0);
    expect(await loop.runUntilComplete(t)).toBe(42);
  });

  it("test_cancel: cancelling a sleeping task through callSoon", async () => {
    const loop = newLoop();
    const t = loop.createTask(async () => {
      await sleep(10_000);
      return 12;
    });
    loop.callSoon(() => t.cancel());
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(t.done()).toBe(true);
    expect(t.cancelled()).toBe(true);
    expect(t.cancel()).toBe(false);
    expect(loop.time()).toBe(0); // the 10 s sleep was abandoned
  });

  it("test_cancel_with_message_then_future_result: result() of a task cancelled with a message", async () => {
    for (const [args, expected] of [
      [[], ""],
      [[undefined], ""],
      [["my message"], "my message"],
    ] as const) {
      const loop = newLoop();
      const outer = loop.createTask(async () => {
        const inner = createTask(() => sleep(10_000));
        await sleep(0);
        inner.cancel(...(args as unknown as [string?]));
        await wait([inner]);
        inner.result();
      });
      const e = await rejection(loop.runUntilComplete(outer));
      expect(e).toBeInstanceOf(CancelledError);
      expect((e as Error).message).toBe(expected);
      expect(outer.cancelled()).toBe(true); // a CancelledError leaving a task cancels it
    }
  });

  it("test_cancel_with_message_then_future_exception: exception() of a cancelled task throws CancelledError(msg)", async () => {
    const loop = newLoop();
    const outer = loop.createTask(async () => {
      const inner = createTask(() => sleep(10_000));
      await sleep(0);
      inner.cancel("my message");
      await wait([inner]);
      inner.exception();
    });
    const e = await rejection(loop.runUntilComplete(outer));
    expect(e).toBeInstanceOf(CancelledError);
    expect((e as Error).message).toBe("my message");
  });

  it("test_cancellation_exception_context: a CancelledError can be the cause of another error", async () => {
    const loop = newLoop();
    const fut = loop.createFuture<void>();
    const outer = loop.createTask(async () => {
      const inner = createTask(async () => {
        fut.setResult();
        await sleep(10_000);
      });
      await fut;
      getRunningLoop().callSoon(() => inner.cancel("msg"));
      try {
        await inner;
      } catch (ex) {
        throw new Error("cancelled", { cause: ex });
      }
    });
    const e = (await rejection(loop.runUntilComplete(outer))) as Error;
    expect(e.message).toBe("cancelled");
    expect(e.cause).toBeInstanceOf(CancelledError);
    expect((e.cause as Error).message).toBe("msg");
    expect(outer.cancelled()).toBe(false);
  });

  it("test_cancel_with_message_before_starting_task: a task cancelled before it starts never runs", async () => {
    let started = false;
    const loop = newLoop();
    const outer = loop.createTask(async () => {
      const inner = createTask(async () => {
        started = true;
        await sleep(10_000);
      });
      inner.cancel("my message");
      await wait([inner]);
      inner.exception();
    });
    const e = await rejection(loop.runUntilComplete(outer));
    expect((e as Error).message).toBe("my message");
    expect(started).toBe(false);
  });

  it("test_cancel_yield: cancelled between sleep(0)s", async () => {
    const loop = newLoop();
    let after = false;
    const t = loop.createTask(async () => {
      await sleep(0);
      await sleep(0);
      after = true;
      return 12;
    });
    await runBriefly(loop);
    t.cancel();
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(t.cancelled()).toBe(true);
    expect(after).toBe(false);
    expect(t.cancel()).toBe(false);
  });

  it("test_cancel_inner_future: cancelling the awaited future cancels the task", async () => {
    const loop = newLoop();
    const f = loop.createFuture<void>();
    const t = loop.createTask(async () => {
      await f;
      return 12;
    });
    await runBriefly(loop);
    f.cancel();
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(f.cancelled()).toBe(true);
    expect(t.cancelled()).toBe(true);
  });

  it("test_cancel_both_task_and_inner_future", async () => {
    const loop = newLoop();
    const f = loop.createFuture<void>();
    const t = loop.createTask(async () => {
      await f;
      return 12;
    });
    await runBriefly(loop);
    f.cancel();
    t.cancel();
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(t.done()).toBe(true);
    expect(f.cancelled()).toBe(true);
    expect(t.cancelled()).toBe(true);
  });

  it("test_cancel_task_catching: a task that catches CancelledError and returns is not cancelled", async () => {
    const loop = newLoop();
    const fut1 = loop.createFuture<void>();
    const fut2 = loop.createFuture<void>();
    const t = loop.createTask(async () => {
      await fut1;
      try {
        await fut2;
      } catch (e) {
        if (e instanceof CancelledError) return 42;
        throw e;
      }
      return 0;
    });
    await runBriefly(loop);
    fut1.setResult();
    await runBriefly(loop);
    t.cancel();
    expect(fut2.cancelled()).toBe(true); // the waited-on future is cancelled at once
    expect(await loop.runUntilComplete(t)).toBe(42);
    expect(t.cancelled()).toBe(false);
  });

  it("test_cancel_task_ignoring: a task that swallows CancelledError awaits on normally", async () => {
    const loop = newLoop();
    const fut1 = loop.createFuture<void>();
    const fut2 = loop.createFuture<void>();
    const fut3 = loop.createFuture<number>();
    const t = loop.createTask(async () => {
      await fut1;
      try {
        await fut2;
      } catch {
        /* ignored */
      }
      return await fut3;
    });
    await runBriefly(loop);
    fut1.setResult();
    await runBriefly(loop);
    t.cancel();
    expect(fut2.cancelled()).toBe(true);
    await runBriefly(loop);
    expect(fut3.cancelled()).toBe(false);
    fut3.setResult(42);
    expect(await loop.runUntilComplete(t)).toBe(42);
    expect(fut3.cancelled()).toBe(false);
    expect(t.cancelled()).toBe(false);
  });

  it("test_cancel_current_task: a task cancelling itself is cancelled at its next await", async () => {
    const loop = newLoop();
    let reached = false;
    const t: Task<number> = loop.createTask(async () => {
      t.cancel();
      await sleep(100_000);
      reached = true;
      return 12;
    });
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(t.cancelled()).toBe(true);
    expect(reached).toBe(false);
    expect(loop.time()).toBe(0);
    expect(t.cancel()).toBe(false);
  });

  it("test_cancel_at_end: a task cancelled in its last step ends cancelled even though it returned", async () => {
    const loop = newLoop();
    const t: Task<number> = loop.createTask(async () => {
      t.cancel();
      return 12;
    });
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(t.cancelled()).toBe(true);
    expect(t.cancel()).toBe(false);
  });

  it("test_cancel_awaited_task: a self-cancelled task cancels the next task it awaits", async () => {
    const loop = newLoop();
    const fut = loop.createFuture<void>();
    let nested: Task<void> | null = null;
    const t: Task<void> = loop.createTask(async () => {
      nested = createTask(async () => {
        await fut;
      });
      await sleep(0);
      t.cancel();
      await nested;
    });
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(t.cancelled()).toBe(true);
    expect(nested!.cancelled()).toBe(true);
    expect(fut.cancelled()).toBe(true);
  });

  it("test_cancel_traceback_for_future_result: the CancelledError carries a stack", async () => {
    const loop = newLoop();
    const e = await rejection(
      loop.runUntilComplete(async () => {
        const t = createTask(() => sleep(10_000));
        await sleep(0);
        t.cancel();
        await t;
      }),
    );
    expect(e).toBeInstanceOf(CancelledError);
    expect(typeof (e as Error).stack).toBe("string");
  });

  it("test_stop_while_run_in_complete: stop() before the task is done fails runUntilComplete; the task can go on later", async () => {
    const loop = newLoop();
    let x = 0;
    const t = loop.createTask(async () => {
      while (x < 10) {
        await sleep(100);
        x++;
        if (x === 2) getRunningLoop().stop();
      }
    });
    const e = await rejection(loop.runUntilComplete(t));
    expect((e as Error).message).toBe("Event loop stopped before Future completed.");
    expect(t.done()).toBe(false);
    expect(x).toBe(2);
    expect(loop.time()).toBe(200);
    t.cancel();
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
  });

  it("test_sleep_cancel: cancelling a sleeping task cancels the sleep's timer", async () => {
    const loop = newLoop();
    const t = loop.createTask(() => sleep(10_000, "yeah"));
    await runBriefly(loop);
    expect(loop._nextTimerWhen()).toBe(10_000);
    t.cancel();
    await runBriefly(loop);
    expect(t.cancelled()).toBe(true);
    expect(loop._nextTimerWhen()).toBeUndefined();
  });

  it("test_task_cancel_sleeping_task: cancel through callLater", async () => {
    const loop = newLoop();
    const r = await loop.runUntilComplete(async () => {
      const sleeper = createTask(() => sleep(5_000_000));
      getRunningLoop().callLater(100, () => sleeper.cancel());
      try {
        await sleeper;
      } catch (e) {
        if (e instanceof CancelledError) return "cancelled";
        throw e;
      }
      return "slept in";
    });
    expect(r).toBe("cancelled");
    expect(loop.time()).toBe(100);
  });

  it("test_task_cancel_waiter_future: cancel() cancels the future the task waits on", async () => {
    const loop = newLoop();
    const fut = loop.createFuture<void>();
    const t = loop.createTask(async () => {
      await fut;
    });
    await runBriefly(loop);
    t.cancel();
    await runBriefly(loop);
    await expect(loop.runUntilComplete(t)).rejects.toBeInstanceOf(CancelledError);
    expect(fut.cancelled()).toBe(true);
  });

  it("test_baseexception_during_cancel: an error thrown while handling a cancellation fails the task", async () => {
    const loop = newLoop();
    const err = new Error("exit");
    const t = loop.createTask(async () => {
      try {
        await sleep(10_000);
      } catch (e) {
        if (e instanceof CancelledError) throw err;
      }
    });
    await runBriefly(loop);
    t.cancel();
    expect(t.done()).toBe(false);
    await expect(loop.runUntilComplete(t)).rejects.toBe(err);
    expect(t.cancelled()).toBe(false);
    expect(t.exception()).toBe(err);
  });

  it("test_yield_future_passes_cancel: cancelling outer cancels the inner function's await", async () => {
    const loop = newLoop();
    let proof = 0;
    const waiter = loop.createFuture<void>();
    async function inner(): Promise<void> {
      try {
        await waiter;
      } catch (e) {
        proof += 1;
        throw e;
      }
      throw new Error("got past the waiter");
    }
    const f = loop.createTask(async () => {
      try {
        await inner();
      } catch (e) {
        if (e instanceof CancelledError) proof += 100;
        else throw e;
        return;
      }
      proof += 10;
    });
    await runBriefly(loop);
    f.cancel();
    await loop.runUntilComplete(f);
    expect(proof).toBe(101);
    expect(waiter.cancelled()).toBe(true);
  });

  it("test_yield_wait_does_not_shield_cancel: cancelling a task in wait() leaves the waited task running", async () => {
    const loop = newLoop();
    let proof = 0;
    const waiter = loop.createFuture<void>();
    const f = loop.createTask(async () => {
      await wait([
        createTask(async () => {
          await waiter;
          proof += 1;
        }),
      ]);
      proof += 100;
    });
    await runBriefly(loop);
    f.cancel();
    await expect(loop.runUntilComplete(f)).rejects.toBeInstanceOf(CancelledError);
    waiter.setResult();
    await runBriefly(loop);
    expect(proof).toBe(1);
  });

  it("test_cancel_gather_2: cancelling a task looping on gather propagates the message", async () => {
    const { gather } = await import("../../src/index.js");
    for (const [args, expected] of [
      [[], ""],
      [["my message"], "my message"],
    ] as const) {
      const e = await rejection(
        run(
          async () => {
            const qwe = createTask(async () => {
              for (let time = 0; time <= 1000; time += 50) await gather(sleep(50), { returnExceptions: true });
            });
            await sleep(200);
            qwe.cancel(...(args as unknown as [string?]));
            await qwe;
          },
          { virtualTime: true },
        ),
      );
      expect(e).toBeInstanceOf(CancelledError);
      expect((e as Error).message).toBe(expected);
    }
  });
});

describe("cancellation of tasks awaiting several things", () => {
  it("uncancel() before the first step drops the pending request: the task runs (3.13)", async () => {
    await run(async () => {
      const t = createTask(async () => "ran");
      t.cancel();
      t.uncancel();
      expect(await t).toBe("ran");
    });
  });

  it("Promise.all of our futures inside a task: cancel() cancels every awaited future", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const f1 = loop.createFuture();
        const f2 = loop.createFuture();
        const t = createTask(() => Promise.all([f1, f2]));
        await sleep(0);
        t.cancel();
        expect(await rejection(t)).toBeInstanceOf(CancelledError);
        expect(f1.cancelled() && f2.cancelled()).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("after Promise.race of two sleeps, the task's next await is still cancellable", async () => {
    await run(
      async () => {
        const t = createTask(async () => {
          const r = await Promise.race([sleep(10, "a"), sleep(20, "b")]);
          await sleep(1000);
          return r;
        });
        await sleep(15);
        t.cancel();
        expect(await rejection(t)).toBeInstanceOf(CancelledError);
        expect(getRunningLoop().time()).toBe(15);
      },
      { virtualTime: true },
    );
  });
});
