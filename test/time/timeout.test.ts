/**
 * CPython's test_timeouts.py, as behaviours of timeout()/timeoutAt() (see conformance/README.md).
 */
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  ExceptionGroup,
  RuntimeError,
  Timeout,
  TimeoutError,
  createTask,
  currentTask,
  getRunningLoop,
  run,
  sleep,
  taskGroup,
  timeout,
  timeoutAt,
} from "../../src/index.js";
import type { VirtualClock } from "../../src/testing/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };

describe("timeout (test_timeouts TimeoutTests)", () => {
  it("test_timeout_basic: the body is cancelled and TimeoutError raised at the deadline", async () => {
    await run(async () => {
      let cm: Timeout | null = null;
      const e = await rejection(
        timeout(10, async (t) => {
          cm = t;
          await sleep(10_000);
        }),
      );
      expect(e).toBeInstanceOf(TimeoutError);
      expect(cm!.expired()).toBe(true);
      expect(getRunningLoop().time()).toBe(10);
    }, V);
  });

  it("test_timeout_at_basic: when() is the absolute deadline", async () => {
    await run(async () => {
      const deadline = getRunningLoop().time() + 10;
      let cm: Timeout | null = null;
      await expect(
        timeoutAt(deadline, async (t) => {
          cm = t;
          await sleep(10_000);
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      expect(cm!.expired()).toBe(true);
      expect(cm!.when()).toBe(deadline);
    }, V);
  });

  it("test_nested_timeouts: with equal deadlines only the outermost raises TimeoutError", async () => {
    await run(async () => {
      const deadline = getRunningLoop().time() + 10;
      let cancelled = false;
      let cm1: Timeout | null = null;
      let cm2: Timeout | null = null;
      await expect(
        timeoutAt(deadline, async (t1) => {
          cm1 = t1;
          try {
            await timeoutAt(deadline, async (t2) => {
              cm2 = t2;
              await sleep(10_000);
            });
          } catch (e) {
            if (e instanceof CancelledError) cancelled = true;
            throw e;
          }
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      expect(cancelled).toBe(true);
      expect(cm1!.expired()).toBe(true);
      expect(cm2!.expired()).toBe(true);
    }, V);
  });

  it("test_waiter_cancelled: the body sees CancelledError", async () => {
    await run(async () => {
      let cancelled = false;
      await expect(
        timeout(10, async () => {
          try {
            await sleep(10_000);
          } catch (e) {
            cancelled = e instanceof CancelledError;
            throw e;
          }
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      expect(cancelled).toBe(true);
    }, V);
  });

  it("test_timeout_not_called: a body that finishes in time returns its value", async () => {
    await run(async () => {
      let cm: Timeout | null = null;
      const r = await timeout(10_000, async (t) => {
        cm = t;
        await sleep(10);
        return "ok";
      });
      expect(r).toBe("ok");
      expect(cm!.expired()).toBe(false);
      expect(cm!.when()).toBe(10_000);
      expect(getRunningLoop().time()).toBe(10);
      expect(getRunningLoop()._nextTimerWhen()).toBeUndefined(); // the timer was cancelled
    }, V);
  });

  it("test_timeout_disabled / test_timeout_at_disabled: null means no deadline", async () => {
    await run(async () => {
      for (const make of [timeout, timeoutAt]) {
        let cm: Timeout | null = null;
        await make(null, async (t) => {
          cm = t;
          await sleep(10);
        });
        expect(cm!.expired()).toBe(false);
        expect(cm!.when()).toBeNull();
      }
    }, V);
  });

  it("test_timeout_zero: timeout(0) expires at the first await", async () => {
    await run(async () => {
      const t0 = getRunningLoop().time();
      let cm: Timeout | null = null;
      await expect(
        timeout(0, async (t) => {
          cm = t;
          await sleep(10_000);
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      expect(cm!.expired()).toBe(true);
      expect(cm!.when()).toBe(t0);
      expect(getRunningLoop().time()).toBe(t0);
    }, V);
  });

  it("test_timeout_zero_sleep_zero: even sleep(0) is interrupted", async () => {
    await run(async () => {
      await expect(timeout(0, () => sleep(0))).rejects.toBeInstanceOf(TimeoutError);
    }, V);
  });

  it("test_timeout_in_the_past_sleep_zero: a deadline in the past expires at once (timeoutAt; a negative ms is refused)", async () => {
    await run(async () => {
      await sleep(100);
      const now = getRunningLoop().time();
      let cm: Timeout | null = null;
      await expect(
        timeoutAt(now - 11, async (t) => {
          cm = t;
          await sleep(0);
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      expect(cm!.expired()).toBe(true);
      expect(cm!.when()).toBe(now - 11);
      await expect(timeout(-11, () => sleep(0))).rejects.toThrow(RangeError);
      await expect(timeout(-11, () => sleep(0))).rejects.toThrow("Expected ms to be a non-negative number of milliseconds or null, got -11 (number)");
      await expect(timeout(NaN, () => sleep(0))).rejects.toThrow(RangeError);
      await expect(timeoutAt(NaN, () => sleep(0))).rejects.toThrow(TypeError);
    }, V);
  });

  it("test_foreign_exception_passed: the body's own error passes through", async () => {
    await run(async () => {
      let cm: Timeout | null = null;
      const err = new Error("KeyError");
      const e = await rejection(
        timeout(10, (t) => {
          cm = t;
          throw err;
        }),
      );
      expect(e).toBe(err);
      expect(cm!.expired()).toBe(false);
    }, V);
  });

  it("test_timeout_exception_context: the TimeoutError's cause is the CancelledError", async () => {
    await run(async () => {
      const e = await rejection(
        timeout(10, async () => {
          try {
            throw new RangeError("1/0");
          } finally {
            await sleep(1000);
          }
        }),
      );
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as Error).cause).toBeInstanceOf(CancelledError);
    }, V);
  });

  it("test_foreign_exception_on_timeout / _2: an error raised while being cancelled wins over TimeoutError", async () => {
    await run(async () => {
      const crash = async (): Promise<void> => {
        try {
          await sleep(1000);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw new RangeError("1/0");
        }
      };
      const e = await rejection(timeout(10, crash));
      expect(e).toBeInstanceOf(RangeError);
      expect(currentTask()!.cancelling()).toBe(0);
      await sleep(0); // the task is not left cancelled
    }, V);
  });

  it("test_foreign_cancel_doesnt_timeout_if_not_expired: a cancel from elsewhere stays a CancelledError", async () => {
    let cm: Timeout | null = null;
    const e = await rejection(
      run(async () => {
        await timeout(10_000, async (t) => {
          cm = t;
          currentTask()!.cancel();
          await sleep(10_000);
        });
      }, V),
    );
    expect(e).toBeInstanceOf(CancelledError);
    expect(cm!.expired()).toBe(false);
  });

  it("test_outer_task_is_not_cancelled: a task that handled its TimeoutError ends normally", async () => {
    await run(async () => {
      const task = createTask(async () => {
        await expect(timeout(1, () => sleep(10_000))).rejects.toBeInstanceOf(TimeoutError);
      });
      await task;
      expect(task.cancelled()).toBe(false);
      expect(task.done()).toBe(true);
    }, V);
  });

  it("test_nested_timeouts_concurrent: only the outer deadline passed while the loop was busy", async () => {
    await run(async () => {
      const clock = getRunningLoop().clock as VirtualClock;
      let inner: unknown = null;
      const e = await rejection(
        timeout(2, async () => {
          try {
            await timeout(100, async () => {
              clock.advance(10); // crunch numbers for 10 ms without awaiting
              await sleep(1000);
            });
          } catch (err) {
            inner = err;
            throw err;
          }
        }),
      );
      expect(inner).toBeInstanceOf(CancelledError);
      expect(e).toBeInstanceOf(TimeoutError);
    }, V);
  });

  it("test_nested_timeouts_loop_busy: both deadlines passed; the inner sees CancelledError, the outer raises TimeoutError", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const clock = loop.clock as VirtualClock;
      const t0 = loop.time();
      let inner: unknown = null;
      let cancelling = -1;
      const e = await rejection(
        timeout(100, async () => {
          try {
            await timeout(10, async () => {
              clock.advance(100); // the loop is busy past both deadlines
              await sleep(1000);
            });
          } catch (err) {
            inner = err;
            cancelling = currentTask()!.cancelling();
            throw err;
          }
          await sleep(10_000);
        }),
      );
      expect(inner).toBeInstanceOf(CancelledError);
      expect(cancelling).toBe(1); // CPython 3.13 prints the same
      expect(e).toBeInstanceOf(TimeoutError);
      expect(loop.time()).toBe(t0 + 100);
    }, V);
  });

  it("test_reschedule: moving and disabling the deadline from another task", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<Timeout>();
      const deadline1 = loop.time() + 10;
      const deadline2 = deadline1 + 20;
      const task = createTask(() =>
        timeoutAt(deadline1, async (cm) => {
          fut.setResult(cm);
          await sleep(50);
        }),
      );
      const cm = await fut;
      expect(cm.when()).toBe(deadline1);
      cm.reschedule(deadline2);
      expect(cm.when()).toBe(deadline2);
      cm.reschedule(null);
      expect(cm.when()).toBeNull();
      task.cancel();
      await expect(task).rejects.toBeInstanceOf(CancelledError);
      expect(cm.expired()).toBe(false);
    }, V);
  });

  it("reschedule: a later deadline lets the body run longer; an earlier one cuts it short", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      expect(
        await timeout(10, async (cm) => {
          cm.reschedule(loop.time() + 100);
          await sleep(50);
          return "extended";
        }),
      ).toBe("extended");
      const t0 = loop.time();
      await expect(
        timeout(1000, async (cm) => {
          cm.reschedule(loop.time() + 5);
          await sleep(500);
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      expect(loop.time()).toBe(t0 + 5);
    }, V);
  });

  it("test_repr_active / _expired / _finished / _disabled", async () => {
    await run(async () => {
      await timeout(10, (cm) => expect(String(cm)).toBe("<Timeout [active] when=10>"));
      let cm1: Timeout | null = null;
      await expect(
        timeout(10, async (cm) => {
          cm1 = cm;
          await sleep(1000);
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      expect(String(cm1)).toBe("<Timeout [expired]>");
      let cm2: Timeout | null = null;
      await timeout(10, async (cm) => {
        cm2 = cm;
        await sleep(0);
      });
      expect(String(cm2)).toBe("<Timeout [finished]>");
      await timeout(null, (cm) => expect(String(cm)).toBe("<Timeout [active] when=null>"));
    }, V);
  });

  it("test_nested_timeout_in_finally: a timeout inside the cleanup of an expired one raises its own TimeoutError", async () => {
    await run(async () => {
      let inner: unknown = null;
      const outer = await rejection(
        timeout(10, async () => {
          try {
            await sleep(1000);
          } finally {
            inner = await rejection(timeout(10, () => sleep(10_000)));
          }
        }),
      );
      expect(inner).toBeInstanceOf(TimeoutError);
      expect((inner as Error).cause).toBeInstanceOf(CancelledError);
      expect(outer).toBeInstanceOf(TimeoutError);
      expect((outer as Error).cause).toBeInstanceOf(CancelledError);
      expect(getRunningLoop().time()).toBe(20);
    }, V);
  });

  it("test_timeout_after_cancellation: a timeout in the cleanup of a cancelled task works", async () => {
    await run(async () => {
      let e: unknown = null;
      try {
        currentTask()!.cancel();
        await sleep(1000);
      } catch {
        /* swallowed, without uncancel() */
      } finally {
        e = await rejection(timeout(0, () => sleep(1000)));
      }
      expect(e).toBeInstanceOf(TimeoutError);
    }, V);
  });

  it("test_cancel_in_timeout_after_cancellation: a new cancel inside it stays a CancelledError", async () => {
    await run(async () => {
      let e: unknown = null;
      try {
        currentTask()!.cancel();
        await sleep(1000);
      } catch {
        /* swallowed */
      } finally {
        e = await rejection(
          timeout(1000, async () => {
            currentTask()!.cancel();
            await sleep(2000);
          }),
        );
      }
      expect(e).toBeInstanceOf(CancelledError);
    }, V);
  });

  it("test_timeout_finished / _expired / _expiring / _not_entered: reschedule() only while active", async () => {
    await run(async () => {
      let cm: Timeout | null = null;
      await timeout(10, (t) => void (cm = t));
      expect(() => cm!.reschedule(20)).toThrow(RuntimeError);
      expect(() => cm!.reschedule(20)).toThrow(/finished/);
      await expect(
        timeout(10, async (t) => {
          cm = t;
          await sleep(1000);
        }),
      ).rejects.toBeInstanceOf(TimeoutError);
      expect(() => cm!.reschedule(20)).toThrow(/expired/);
      await timeout(10, async (t) => {
        await expect(sleep(1000)).rejects.toBeInstanceOf(CancelledError);
        expect(() => t.reschedule(20)).toThrow(/expiring/);
      }).catch((e: unknown) => {
        // the body returned normally after catching the cancellation: no TimeoutError either
        throw e;
      });
      expect(() => new Timeout(10).reschedule(20)).toThrow("Timeout has not been entered");
    }, V);
  });

  it("test_timeout_without_task: outside a task, a RuntimeError", async () => {
    await expect(timeout(10, () => 1)).rejects.toThrow("no running event loop");
    await expect(timeoutAt(10, () => 1)).rejects.toThrow("Timeout should be used inside a task");
    await run(async () => {
      const loop = getRunningLoop();
      const f = loop.createFuture<unknown>();
      loop.callSoon(() => {
        timeoutAt(10, () => 1).then(
          () => f.setResult(null),
          (e: unknown) => f.setResult(e),
        );
      });
      const e = await f;
      expect(e).toBeInstanceOf(RuntimeError);
      expect((e as Error).message).toMatch(/inside a task/);
    });
  });

  it("test_timeout_taskgroup: a child's cleanup error comes out as an ExceptionGroup, not a TimeoutError", async () => {
    await run(async () => {
      const e = await rejection(
        timeout(10, () =>
          taskGroup(async (tg) => {
            tg.createTask(async () => {
              try {
                await sleep(2000);
              } finally {
                // eslint-disable-next-line no-unsafe-finally
                throw new RangeError("1/0");
              }
            });
            try {
              throw new TypeError("ValueError");
            } finally {
              await sleep(1000);
            }
          }),
        ),
      );
      expect(e).toBeInstanceOf(ExceptionGroup);
      const eg = e as ExceptionGroup;
      expect(eg.exceptions).toHaveLength(1);
      expect(eg.exceptions[0]).toBeInstanceOf(RangeError);
      expect(currentTask()!.cancelling()).toBe(0);
      await sleep(0); // the task is not left with a pending cancellation
    }, V);
  });

  it("body must be a function", async () => {
    await run(async () => {
      await expect(timeout(10, 42 as never)).rejects.toThrow("Expected body to be a function, got 42 (number)");
    });
  });
});
