/**
 * CPython's test_taskgroups.py, as behaviours of taskGroup/TaskGroup (see conformance/README.md).
 */
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  Event,
  ExceptionGroup,
  RuntimeError,
  TaskGroup,
  createTask,
  currentTask,
  getRunningLoop,
  run,
  sleep,
  taskGroup,
  type Task,
} from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };

class MyExc extends Error {}

/** The classes of a group's errors, as CPython's get_error_types. */
function errorTypes(e: unknown): Set<unknown> {
  expect(e).toBeInstanceOf(ExceptionGroup);
  return new Set((e as ExceptionGroup).exceptions.map((x) => (x as object).constructor));
}

const zeroDiv = async (ms: number): Promise<never> => {
  await sleep(ms);
  throw new RangeError("1/0");
};

describe("taskGroup (test_taskgroups TestTaskGroup)", () => {
  it("test_taskgroup_01: the group waits for its tasks", async () => {
    await run(async () => {
      let t1!: Task<number>, t2!: Task<number>;
      await taskGroup(async (g) => {
        t1 = g.createTask(() => sleep(100, 42));
        t2 = g.createTask(() => sleep(200, 11));
      });
      expect(t1.result()).toBe(42);
      expect(t2.result()).toBe(11);
      expect(getRunningLoop().time()).toBe(200);
    }, V);
  });

  it("test_taskgroup_02: tasks added later are waited for too", async () => {
    await run(async () => {
      let t1!: Task<number>, t2!: Task<number>;
      await taskGroup(async (g) => {
        t1 = g.createTask(() => sleep(100, 42));
        await sleep(150);
        t2 = g.createTask(() => sleep(200, 11));
      });
      expect(t1.result()).toBe(42);
      expect(t2.result()).toBe(11);
      expect(getRunningLoop().time()).toBe(350);
    }, V);
  });

  it("test_taskgroup_03: a child cancelled explicitly does not disturb the group", async () => {
    await run(async () => {
      let t1!: Task<number>, t2!: Task<number>;
      await taskGroup(async (g) => {
        t1 = g.createTask(() => sleep(1000, 42));
        await sleep(150);
        t1.cancel();
        t2 = g.createTask(() => sleep(200, 11));
      });
      expect(t1.cancelled()).toBe(true);
      expect(t2.result()).toBe(11);
    }, V);
  });

  it("test_taskgroup_04: a failing child cancels its siblings; the error comes out in an ExceptionGroup", async () => {
    await run(async () => {
      let num = 0;
      let t2Cancel = false;
      let t2!: Task<void>;
      const runner = async (): Promise<void> => {
        await taskGroup(async (g) => {
          g.createTask(() => zeroDiv(100));
          t2 = g.createTask(async () => {
            try {
              await sleep(1000);
            } catch (e) {
              t2Cancel = e instanceof CancelledError;
              throw e;
            }
            num += 1;
          });
        });
        num += 10;
      };
      const e = await rejection(createTask(runner));
      expect(errorTypes(e)).toEqual(new Set([RangeError]));
      expect((e as ExceptionGroup).rawMessage).toBe("unhandled errors in a TaskGroup");
      // (the message lists the sub-errors, so that a test runner shows what failed inside the group)
      expect((e as Error).message).toMatch(/^unhandled errors in a TaskGroup \(1 sub-exception\)\n {2}\[1\] RangeError: /);
      expect(num).toBe(0);
      expect(t2Cancel).toBe(true);
      expect(t2.cancelled()).toBe(true);
    }, V);
  });

  it("test_cancel_children_on_child_error: siblings and the body are cancelled; every error is collected", async () => {
    await run(async () => {
      let num = 0;
      let t2Cancel = false;
      let runnerCancel = false;
      const e = await rejection(
        createTask(async () => {
          await taskGroup(async (g) => {
            g.createTask(() => zeroDiv(100));
            g.createTask(() => zeroDiv(100));
            g.createTask(() => zeroDiv(100));
            g.createTask(async () => {
              try {
                await sleep(5000);
              } catch (err) {
                t2Cancel = true;
                throw err;
              }
              num += 1;
            });
            try {
              await sleep(10_000);
            } catch (err) {
              runnerCancel = true;
              throw err;
            }
          });
          num += 10;
        }),
      );
      expect(errorTypes(e)).toEqual(new Set([RangeError]));
      // on virtual time the three failures happen in the same iteration: all are collected
      expect((e as ExceptionGroup).exceptions).toHaveLength(3);
      expect(num).toBe(0);
      expect(t2Cancel).toBe(true);
      expect(runnerCancel).toBe(true);
    }, V);
  });

  it("test_cancellation: cancelling the parent cancels every child; the parent ends with CancelledError", async () => {
    await run(async () => {
      let num = 0;
      const r = createTask(() =>
        taskGroup(async (g) => {
          for (let i = 0; i < 5; i++)
            g.createTask(async () => {
              try {
                await sleep(5000);
              } catch (e) {
                num += 1;
                throw e;
              }
            });
        }),
      );
      await sleep(100);
      expect(r.done()).toBe(false);
      r.cancel();
      expect(await rejection(r)).toBeInstanceOf(CancelledError);
      expect(r.cancelled()).toBe(true);
      expect(num).toBe(5);
    }, V);
  });

  it("test_taskgroup_07: the body is cancelled too", async () => {
    await run(async () => {
      let num = 0;
      const r = createTask(() =>
        taskGroup(async (g) => {
          for (let i = 0; i < 5; i++)
            g.createTask(async () => {
              try {
                await sleep(5000);
              } catch (e) {
                num += 1;
                throw e;
              }
            });
          try {
            await sleep(10_000);
          } catch (e) {
            num += 10;
            throw e;
          }
        }),
      );
      await sleep(100);
      r.cancel();
      expect(await rejection(r)).toBeInstanceOf(CancelledError);
      expect(num).toBe(15);
    }, V);
  });

  it("test_taskgroup_08: children failing in their cleanup turn the parent's cancellation into an ExceptionGroup", async () => {
    await run(async () => {
      const r = createTask(() =>
        taskGroup(async (g) => {
          for (let i = 0; i < 5; i++)
            g.createTask(async () => {
              try {
                await sleep(10_000);
              } finally {
                // eslint-disable-next-line no-unsafe-finally
                throw new RangeError("1/0");
              }
            });
          await sleep(10_000);
        }),
      );
      await sleep(100);
      r.cancel();
      const e = await rejection(r);
      expect(errorTypes(e)).toEqual(new Set([RangeError]));
      expect((e as ExceptionGroup).exceptions).toHaveLength(5);
    }, V);
  });

  it("test_taskgroup_09 / _10: a failing body cancels the children (after an await, or before any)", async () => {
    await run(async () => {
      for (const awaitFirst of [true, false]) {
        let t1!: Task<number>, t2!: Task<number>;
        const e = await rejection(
          taskGroup(async (g) => {
            t1 = g.createTask(() => sleep(1000, 42));
            t2 = g.createTask(() => sleep(2000, 11));
            if (awaitFirst) await sleep(100);
            throw new RangeError("1/0");
          }),
        );
        expect(errorTypes(e)).toEqual(new Set([RangeError]));
        expect(t1.cancelled()).toBe(true);
        expect(t2.cancelled()).toBe(true);
      }
    }, V);
  });

  it("test_taskgroup_11 / _12: nested groups: the inner group's ExceptionGroup is an error of the outer group", async () => {
    await run(async () => {
      for (const outerChild of [false, true]) {
        const r = createTask(() =>
          taskGroup(async (g1) => {
            if (outerChild) g1.createTask(() => sleep(10_000));
            await taskGroup(async (g2) => {
              for (let i = 0; i < 5; i++)
                g2.createTask(async () => {
                  try {
                    await sleep(10_000);
                  } finally {
                    // eslint-disable-next-line no-unsafe-finally
                    throw new RangeError("1/0");
                  }
                });
              await sleep(10_000);
            });
          }),
        );
        await sleep(100);
        r.cancel();
        const e = await rejection(r);
        expect(errorTypes(e)).toEqual(new Set([ExceptionGroup]));
        expect(errorTypes((e as ExceptionGroup).exceptions[0])).toEqual(new Set([RangeError]));
      }
    }, V);
  });

  it("test_taskgroup_13: an outer child failing first cancels the inner group", async () => {
    await run(async () => {
      const crashAfter = async (ms: number): Promise<never> => {
        await sleep(ms);
        throw new TypeError(String(ms));
      };
      const e = await rejection(
        createTask(() =>
          taskGroup(async (g1) => {
            g1.createTask(() => crashAfter(100));
            await taskGroup(async (g2) => {
              g2.createTask(() => crashAfter(10_000));
            });
          }),
        ),
      );
      expect(errorTypes(e)).toEqual(new Set([TypeError]));
    }, V);
  });

  it("test_taskgroup_14: an inner child failing first: the outer group gets the inner ExceptionGroup", async () => {
    await run(async () => {
      const crashAfter = async (ms: number): Promise<never> => {
        await sleep(ms);
        throw new TypeError(String(ms));
      };
      const e = await rejection(
        createTask(() =>
          taskGroup(async (g1) => {
            g1.createTask(() => crashAfter(10_000));
            await taskGroup(async (g2) => {
              g2.createTask(() => crashAfter(100));
            });
          }),
        ),
      );
      expect(errorTypes(e)).toEqual(new Set([ExceptionGroup]));
      expect(errorTypes((e as ExceptionGroup).exceptions[0])).toEqual(new Set([TypeError]));
    }, V);
  });

  it("test_taskgroup_15 / _16: a child failing while the cancelled body cleans up: ExceptionGroup (also through a nested task)", async () => {
    await run(async () => {
      for (const nested of [false, true]) {
        const inner = (): Promise<void> =>
          taskGroup(async (g1) => {
            g1.createTask(() => zeroDiv(300));
            try {
              await sleep(10_000);
            } catch (e) {
              await sleep(500);
              throw e;
            }
          });
        const r = createTask(nested ? async () => await createTask(inner) : inner);
        await sleep(100);
        expect(r.done()).toBe(false);
        r.cancel();
        const e = await rejection(r);
        expect(errorTypes(e)).toEqual(new Set([RangeError]));
      }
    }, V);
  });

  it("test_taskgroup_17: an empty group: cancelling the body propagates CancelledError", async () => {
    await run(async () => {
      let num = 0;
      const r = createTask(() =>
        taskGroup(async () => {
          try {
            await sleep(10_000);
          } catch (e) {
            num += 10;
            throw e;
          }
        }),
      );
      await sleep(100);
      r.cancel();
      expect(await rejection(r)).toBeInstanceOf(CancelledError);
      expect(num).toBe(10);
    }, V);
  });

  it("test_taskgroup_18: a body turning its cancellation into another error gets an ExceptionGroup", async () => {
    await run(async () => {
      let num = 0;
      const r = createTask(() =>
        taskGroup(async () => {
          try {
            await sleep(10_000);
          } catch {
            num += 10;
            throw new MyExc();
          }
        }),
      );
      await sleep(100);
      r.cancel();
      const e = await rejection(r);
      expect(errorTypes(e)).toEqual(new Set([MyExc]));
      expect(num).toBe(10);
    }, V);
  });

  it("test_taskgroup_19: the body's error and the child's error are both in the group", async () => {
    await run(async () => {
      const e = await rejection(
        createTask(() =>
          taskGroup(async (g) => {
            g.createTask(() => zeroDiv(100));
            try {
              await sleep(10_000);
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw new MyExc();
            }
          }),
        ),
      );
      expect(errorTypes(e)).toEqual(new Set([MyExc, RangeError]));
    }, V);
  });

  it("test_taskgroup_22: cancelling the parent early propagates CancelledError", async () => {
    await run(async () => {
      const r = createTask(() =>
        taskGroup(async (g) => {
          g.createTask(() => sleep(1000, 42));
          g.createTask(() => sleep(2000, 11));
        }),
      );
      await sleep(50);
      r.cancel();
      expect(await rejection(r)).toBeInstanceOf(CancelledError);
    }, V);
  });

  it("test_taskgroup_23: finished children leave the group", async () => {
    await run(async () => {
      const live = new Set<Task<void>>();
      await taskGroup(async (g) => {
        for (let count = 0; count < 10; count++) {
          await sleep(100);
          const t = g.createTask(() => sleep(300));
          live.add(t);
          if (count === 5) expect([...live].filter((x) => !x.done()).length).toBeLessThan(5);
        }
        await sleep(1350);
        expect([...live].filter((x) => !x.done())).toHaveLength(0);
        expect(String(g)).not.toContain("tasks=");
      });
    }, V);
  });

  it("test_taskgroup_24: children can add children", async () => {
    await run(async () => {
      const started: number[] = [];
      await taskGroup(async (g) => {
        g.createTask(async () => {
          await sleep(100);
          g.createTask(async () => void started.push(await sleep(100, 1)));
          g.createTask(async () => void started.push(await sleep(200, 2)));
        });
      });
      expect(started).toEqual([1, 2]);
      expect(getRunningLoop().time()).toBe(300);
    }, V);
  });

  it("test_taskgroup_25: a group that keeps growing is stopped by a failure", async () => {
    await run(async () => {
      let nhydras = 0;
      const hydra = async (g: TaskGroup): Promise<void> => {
        nhydras++;
        await sleep(10);
        g.createTask(() => hydra(g));
        g.createTask(() => hydra(g));
      };
      const e = await rejection(
        taskGroup(async (g) => {
          g.createTask(() => hydra(g));
          g.createTask(async () => {
            while (nhydras < 10) await sleep(15);
            throw new RangeError("1/0");
          });
        }),
      );
      expect(errorTypes(e)).toEqual(new Set([RangeError]));
      expect(nhydras).toBeGreaterThanOrEqual(10);
    }, V);
  });

  it("test_taskgroup_task_name", async () => {
    await run(async () => {
      await taskGroup(async (g) => {
        const t = g.createTask(() => sleep(0), { name: "yolo" });
        expect(t.getName()).toBe("yolo");
      });
    });
  });

  it("test_taskgroup_no_create_task_after_failure: createTask while shutting down is a RuntimeError", async () => {
    await run(async () => {
      let refused: unknown = null;
      const e = await rejection(
        taskGroup(async (g) => {
          g.createTask(() => zeroDiv(1));
          g.createTask(async () => {
            try {
              await sleep(1000);
            } catch {
              refused = (() => {
                try {
                  g.createTask(() => zeroDiv(1));
                } catch (err) {
                  return err;
                }
                return null;
              })();
            }
          });
        }),
      );
      expect(errorTypes(e)).toEqual(new Set([RangeError]));
      expect(refused).toBeInstanceOf(RuntimeError);
      expect((refused as Error).message).toMatch(/is shutting down/);
    }, V);
  });

  it("test_taskgroup_context_manager_exit_raises: a cleanup error in the body joins the child's error; cancelling() back to 0", async () => {
    class CustomException extends Error {}
    await run(async () => {
      const task = currentTask()!;
      const e = await rejection(
        taskGroup(async (tg) => {
          try {
            tg.createTask(async () => {
              throw new CustomException();
            });
            await sleep(1000);
          } finally {
            // eslint-disable-next-line no-unsafe-finally
            throw new CustomException();
          }
        }),
      );
      expect(task.cancelling()).toBe(0);
      expect((e as ExceptionGroup).exceptions).toHaveLength(2);
      expect(errorTypes(e)).toEqual(new Set([CustomException]));
    }, V);
  });

  it("test_taskgroup_already_entered / _double_enter: a group runs once", async () => {
    await run(async () => {
      const tg = new TaskGroup();
      await tg.run(async () => {
        await expect(tg.run(async () => {})).rejects.toThrow(/has already been entered/);
      });
      await expect(tg.run(async () => {})).rejects.toThrow(/has already been entered/);
    });
  });

  it("test_taskgroup_finished / test_coro_closed_when_tg_closed: createTask after the group ended is a RuntimeError and never runs", async () => {
    await run(async () => {
      let ran = false;
      const tg = new TaskGroup();
      await tg.run(async () => {});
      expect(() =>
        tg.createTask(async () => {
          ran = true;
        }),
      ).toThrow(/is finished/);
      await sleep(0);
      expect(ran).toBe(false);
    });
  });

  it("test_taskgroup_not_entered: createTask before run() is a RuntimeError", () => {
    expect(() => new TaskGroup().createTask(async () => {})).toThrow(/has not been entered/);
  });

  it("test_taskgroup_without_parent_task: a group needs a task", async () => {
    await expect(taskGroup(async () => {})).rejects.toThrow(RuntimeError);
    await run(async () => {
      const loop = getRunningLoop();
      const f = loop.createFuture<unknown>();
      const tg = new TaskGroup();
      loop.callSoon(() => {
        tg.run(async () => {}).then(
          () => f.setResult(null),
          (e: unknown) => f.setResult(e),
        );
      });
      expect(String(await f)).toMatch(/parent task/);
      expect(() => tg.createTask(async () => {})).toThrow(/has not been entered/);
    });
  });

  it("test_cancelling_level_preserved: after a failed group the parent's cancelling() is back to 0", async () => {
    await run(async () => {
      await expect(
        taskGroup(async (tg) => {
          tg.createTask(async () => {
            await sleep(0);
            throw new RuntimeError();
          });
        }),
      ).rejects.toBeInstanceOf(ExceptionGroup);
      expect(currentTask()!.cancelling()).toBe(0);
    });
  });

  it("test_nested_groups_both_cancelled: inner and outer fail together; cancel counts stay balanced", async () => {
    await run(async () => {
      const raiseAfter = (Err: new () => Error) => async () => {
        await sleep(0);
        throw new Err();
      };
      let midCancelling = -1;
      const e = await rejection(
        taskGroup(async (outer) => {
          const inner = await rejection(
            taskGroup(async (innerTg) => {
              innerTg.createTask(raiseAfter(RuntimeError));
              outer.createTask(raiseAfter(TypeError));
            }),
          );
          expect(errorTypes(inner)).toEqual(new Set([RuntimeError]));
          midCancelling = currentTask()!.cancelling();
        }),
      );
      expect(midCancelling).toBe(1);
      expect(errorTypes(e)).toEqual(new Set([TypeError]));
      expect(currentTask()!.cancelling()).toBe(0);
    });
  });

  it("test_error_and_cancel: a child error and an outside cancel: the outer cancel is not lost", async () => {
    await run(async () => {
      const event = new Event();
      let afterGroupCancelling = -1;
      let reachedAfterSleep = false;
      const inner = async (): Promise<void> => {
        const e = await rejection(
          taskGroup(async (tg) => {
            tg.createTask(async () => {
              event.set();
              await sleep(0);
              throw new RuntimeError();
            });
            await sleep(1000);
            throw new Error("sleep in group should have been cancelled");
          }),
        );
        expect(errorTypes(e)).toEqual(new Set([RuntimeError]));
        afterGroupCancelling = currentTask()!.cancelling();
        await sleep(1000);
        reachedAfterSleep = true;
      };
      const t = createTask(inner);
      await event.wait();
      expect(t.cancelling()).toBe(0);
      t.cancel();
      expect(t.cancelling()).toBe(1);
      expect(await rejection(t)).toBeInstanceOf(CancelledError);
      expect(t.cancelled()).toBe(true);
      expect(afterGroupCancelling).toBe(1);
      expect(reachedAfterSleep).toBe(false);
    }, V);
  });

  it("the group's result is the body's result; body must be a function", async () => {
    await run(async () => {
      expect(await taskGroup(async (g) => (g.createTask(() => sleep(5)), "body"))).toBe("body");
      await expect(taskGroup(42 as never)).rejects.toThrow("Expected body to be a function, got 42 (number)");
    }, V);
  });

  it("createTask on a finished group is refused without reaching the exception handler", async () => {
    await run(async () => {
      const seen: string[] = [];
      getRunningLoop().setExceptionHandler((_l, c) => void seen.push(c.message));
      let group!: TaskGroup;
      await taskGroup(async (g) => {
        group = g;
      });
      expect(() => group.createTask(async () => {})).toThrow(/is finished/);
      expect(seen).toEqual([]);
    });
  });

  it("a body blocked on something nothing can interrupt is given up when a child fails: the group raises its errors", async () => {
    // (CPython cancels the body's await of a foreign future and raises the ExceptionGroup; the body's
    // promise here cannot be interrupted, so the group stops waiting for it)
    const reports: string[] = [];
    await run(
      async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx.message));
        let caught: unknown;
        try {
          await taskGroup(async (tg) => {
            tg.createTask(async () => {
              await sleep(10);
              throw new RangeError("child failed");
            });
            await new Promise(() => {}); // never settles
          });
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(ExceptionGroup);
        expect((caught as ExceptionGroup).exceptions.map((x) => (x as Error).message)).toEqual(["child failed"]);
        expect(getRunningLoop().time()).toBe(10);
      },
      { virtualTime: true },
    );
    expect(reports).toEqual([]);
  });
});
