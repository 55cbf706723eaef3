/**
 * currentEffectiveDeadline() (Trio's current_effective_deadline): the earliest deadline of the cancel
 * scopes and timeouts enclosing the calling code, Infinity for none, -Infinity inside a cancelled
 * CancelScope; a shield hides what is outside it; a TaskGroup's scopes enclose its tasks, a plain
 * createTask's do not; outside a task, a RuntimeError (Trio raises outside a task too).
 */
import { describe, expect, it } from "vitest";
import {
  CancelScope,
  CancelledError,
  RuntimeError,
  TaskGroup,
  createTask,
  failAfter,
  gather,
  getRunningLoop,
  moveOnAfter,
  run,
  sleep,
  taskGroup,
  timeout,
  timeoutAt,
  waitFor,
} from "../../src/index.js";
import { currentEffectiveDeadline } from "../../src/core/index.js";
import type { TaskStatus } from "../../src/structured/task-status.js";
import { thrown } from "./helpers.js";

const V = { virtualTime: true };
const now = (): number => getRunningLoop().time();
/** The effective deadline, relative to now (ms left; Infinity / -Infinity as they are). */
const left = (): number => currentEffectiveDeadline() - now();

describe("currentEffectiveDeadline", () => {
  it("is Infinity with no scope around the code, in run()'s function and in a task", async () => {
    await run(async () => {
      expect(currentEffectiveDeadline()).toBe(Infinity);
      await sleep(10);
      expect(currentEffectiveDeadline()).toBe(Infinity);
      expect(await createTask(async () => currentEffectiveDeadline())).toBe(Infinity);
    }, V);
  });

  it("timeout(ms): now + ms, after awaits too; timeoutAt: its deadline; timeout(null): none", async () => {
    await run(async () => {
      await timeout(500, async () => {
        expect(left()).toBe(500);
        await sleep(100);
        expect(left()).toBe(400);
      });
      const at = now() + 250;
      await timeoutAt(at, () => expect(currentEffectiveDeadline()).toBe(at));
      await timeout(null, () => expect(currentEffectiveDeadline()).toBe(Infinity));
      expect(currentEffectiveDeadline()).toBe(Infinity);
    }, V);
  });

  it("nested timeouts and scopes: the earliest wins, whichever is inside", async () => {
    await run(async () => {
      await timeout(500, async () => {
        await timeout(100, () => expect(left()).toBe(100));
        await timeout(900, () => expect(left()).toBe(500));
        await new CancelScope({ deadline: now() + 50 }).run(async () => {
          expect(left()).toBe(50);
          await moveOnAfter(30, () => expect(left()).toBe(30));
          await failAfter(300, () => expect(left()).toBe(50));
        });
        expect(left()).toBe(500);
      });
    }, V);
  });

  it("moving a deadline moves the answer: Timeout.reschedule, CancelScope.deadline", async () => {
    await run(async () => {
      await timeout(500, async (t) => {
        t.reschedule(now() + 40);
        expect(left()).toBe(40);
        t.reschedule(null);
        expect(currentEffectiveDeadline()).toBe(Infinity);
      });
      await new CancelScope().run(async (scope) => {
        expect(currentEffectiveDeadline()).toBe(Infinity);
        scope.deadline = now() + 70;
        expect(left()).toBe(70);
        scope.deadline = Infinity;
        expect(currentEffectiveDeadline()).toBe(Infinity);
      });
    }, V);
  });

  it("-Infinity inside a cancelled CancelScope (the next await fails), its deadline passed or cancel() called", async () => {
    await run(async () => {
      const seen: number[] = [];
      await new CancelScope({ deadline: now() + 20 }).run(async () => {
        try {
          await sleep(1000);
        } catch (e) {
          expect(e).toBeInstanceOf(CancelledError);
          seen.push(currentEffectiveDeadline());
          throw e;
        }
      });
      await new CancelScope().run(async (scope) => {
        await timeout(1000, async () => {
          scope.cancel();
          seen.push(currentEffectiveDeadline()); // the inner timeout is not cancelled, the outer scope is
        });
      });
      expect(seen).toEqual([-Infinity, -Infinity]);
    }, V);
  });

  it("an expired timeout() gives its deadline, not -Infinity (asyncio's cancellation is delivered once)", async () => {
    await run(async () => {
      const t0 = now();
      let inside = NaN;
      await expect(
        timeout(30, async () => {
          try {
            await sleep(1000);
          } catch (e) {
            inside = currentEffectiveDeadline();
            await sleep(5); // edge-triggered: this await does not fail
            throw e;
          }
        }),
      ).rejects.toThrow("Timed out");
      expect(inside).toBe(t0 + 30);
    }, V);
  });

  it("a shield hides the deadlines and cancellations outside it, not its own", async () => {
    await run(async () => {
      await timeout(100, async () => {
        await new CancelScope({ shield: true }).run(async () => {
          expect(currentEffectiveDeadline()).toBe(Infinity);
          await timeout(300, () => expect(left()).toBe(300));
        });
        await new CancelScope({ shield: true, deadline: now() + 400 }).run(() => expect(left()).toBe(400));
        // a shield switched on while the scope runs
        await new CancelScope().run(async (scope) => {
          expect(left()).toBe(100);
          scope.shield = true;
          expect(currentEffectiveDeadline()).toBe(Infinity);
        });
      });
      await new CancelScope().run(async (outer) => {
        outer.cancel();
        expect(currentEffectiveDeadline()).toBe(-Infinity);
        await new CancelScope({ shield: true }).run(async () => {
          expect(currentEffectiveDeadline()).toBe(Infinity);
          await sleep(10); // shielded: this await does not fail
        });
      });
    }, V);
  });

  it("every promise chain of a scope's body sees the scope; a chain that outlives the scope does not", async () => {
    await run(async () => {
      let late: Promise<number> | undefined;
      const seen = await timeout(200, async () => {
        const chain = async (ms: number): Promise<number> => {
          await sleep(ms);
          return left();
        };
        late = (async () => {
          await sleep(500);
          return currentEffectiveDeadline();
        })();
        return await Promise.all([chain(10), chain(20)]);
      });
      expect(seen).toEqual([190, 180]);
      // the chain that outlived the timeout runs on in the enclosing code: no deadline there
      expect(await late).toBe(Infinity);
    }, V);
  });

  it("waitFor(aw, ms): the awaited work sees the deadline; gather's tasks are tasks of their own", async () => {
    await run(async () => {
      const probe = async (): Promise<number> => {
        await sleep(5);
        return left();
      };
      expect(await waitFor(probe(), 100)).toBe(95);
      await timeout(100, async () => {
        // gather makes a task of each (CPython): a plain task is not bound by its creator's timeout
        expect(await gather(probe())).toEqual([Infinity]);
      });
    }, V);
  });

  it("a plain createTask inside a timeout has no deadline (asyncio's tasks are independent)", async () => {
    await run(async () => {
      await timeout(100, async () => {
        const t = createTask(async () => currentEffectiveDeadline());
        expect(await t).toBe(Infinity);
      });
    }, V);
  });

  it("a TaskGroup's tasks see the group's cancel scope and what encloses the group, up to a shield", async () => {
    await run(async () => {
      const seen: Record<string, number> = {};
      await timeout(500, async () => {
        await taskGroup(async (tg) => {
          seen.body = left();
          tg.createTask(async () => {
            seen.child = left();
          });
          await sleep(0);
          tg.cancelScope.deadline = now() + 100;
          tg.createTask(async () => {
            seen.childAfter = left();
          });
          seen.bodyAfter = left();
        });
        const tg = new TaskGroup();
        tg.cancelScope.shield = true;
        await tg.run(async (g) => {
          g.createTask(async () => {
            seen.shielded = currentEffectiveDeadline();
          });
        });
      });
      expect(seen).toEqual({ body: 500, child: 500, childAfter: 100, bodyAfter: 100, shielded: Infinity });
    }, V);
  });

  it("a task of a TaskGroup whose scope is cancelled sees -Infinity; a nested group's task sees the outer group's", async () => {
    await run(async () => {
      const seen: number[] = [];
      await taskGroup(async (outer) => {
        outer.cancelScope.deadline = now() + 300;
        outer.createTask(() =>
          taskGroup(async (inner) => {
            inner.createTask(async () => {
              seen.push(left());
              try {
                await sleep(1000);
              } catch {
                seen.push(currentEffectiveDeadline());
              }
            });
          }),
        );
      });
      expect(seen).toEqual([300, -Infinity]);
    }, V);
  });

  it("a task of tg.start() sees its caller's scopes until started(), the group's after", async () => {
    await run(async () => {
      const seen: number[] = [];
      await taskGroup(async (tg) => {
        tg.cancelScope.deadline = now() + 1000;
        await timeout(50, () =>
          tg.start(async (status: TaskStatus) => {
            seen.push(left());
            status.started();
            seen.push(left());
          }),
        );
      });
      expect(seen).toEqual([50, 1000]);
    }, V);
  });

  it("outside a task: a RuntimeError (at top level, and in a loop's callback)", async () => {
    expect(thrown(() => currentEffectiveDeadline())).toBeInstanceOf(RuntimeError);
    await run(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<unknown>();
      await timeout(100, async () => {
        loop.callSoon(() => fut.setResult(thrown(() => currentEffectiveDeadline())));
        const e = await fut;
        expect(e).toBeInstanceOf(RuntimeError);
        expect(String(e)).toContain("must be called inside a task");
      });
    }, V);
  });

  it("on the real clock: deadlines are loop times (performance-based ms)", async () => {
    await run(async () => {
      // (a generous deadline: the body's few ms must not outlast it on a loaded machine)
      await timeout(60_000, async () => {
        const d = currentEffectiveDeadline();
        expect(d).toBeGreaterThan(now());
        expect(d).toBeLessThanOrEqual(now() + 60_000);
        await sleep(2);
        expect(currentEffectiveDeadline()).toBe(d);
        await moveOnAfter(1, async () => {
          expect(left()).toBeLessThanOrEqual(1);
          await sleep(50);
        });
        expect(currentEffectiveDeadline()).toBe(d);
      });
    });
  });
});
