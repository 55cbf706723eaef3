/**
 * Trio's nursery extras on TaskGroup: `tg.cancelScope` (nursery.cancel_scope) and `tg.start(fn)` with
 * `status.started(value)` (nursery.start / task_status.started). asyncio has no twin of either: Trio's
 * semantics rule, fitted to asyncio's TaskGroup (see the header of src/structured/task-group.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CancelScope,
  CancelledError,
  ExceptionGroup,
  RuntimeError,
  TaskGroup,
  TimeoutError,
  createTask,
  currentTask,
  getRunningLoop,
  openConnection,
  run,
  sleep,
  startServer,
  taskGroup,
  timeout,
  type Task,
} from "../../src/index.js";
import { TASK_STATUS_IGNORED, type TaskStatus } from "../../src/structured/task-status.js";
import { captureHandler, rejection } from "../core/helpers.js";

const V = { virtualTime: true };
const now = (): number => getRunningLoop().time();

/** A child that records how it ended, and cleans up for `cleanupMs` when cancelled. */
function child(log: string[], name: string, ms: number, cleanupMs = 0) {
  return async (): Promise<string> => {
    try {
      await sleep(ms);
      log.push(`${name} done`);
      return name;
    } catch (e) {
      if (e instanceof CancelledError) {
        if (cleanupMs > 0) await sleep(cleanupMs);
        log.push(`${name} cancelled at ${now()}`);
      }
      throw e;
    }
  };
}

describe("TaskGroup.cancelScope", () => {
  it("cancel() from inside the body: the body and every child are cancelled, the group returns normally", async () => {
    await run(async () => {
      const log: string[] = [];
      const tg = new TaskGroup();
      const r = await tg.run(async (g) => {
        g.createTask(child(log, "a", 1000));
        g.createTask(child(log, "b", 2000));
        await sleep(10);
        g.cancelScope.cancel();
        try {
          await sleep(1000);
        } catch (e) {
          log.push(`body ${(e as Error).constructor.name}`);
          throw e;
        }
        return "unreachable";
      });
      expect(r).toBeUndefined();
      expect(tg.cancelScope.cancelCalled).toBe(true);
      expect(tg.cancelScope.cancelledCaught).toBe(true);
      expect(log.sort()).toEqual(["a cancelled at 10", "b cancelled at 10", "body CancelledError"]);
      expect(currentTask()!.cancelling()).toBe(0);
      await sleep(5); // nothing left pending: the task goes on
      expect(now()).toBe(15);
    }, V);
  });

  it("cancel() from a child: the siblings and the body are cancelled, no error", async () => {
    await run(async () => {
      const log: string[] = [];
      const tg = new TaskGroup();
      await tg.run(async (g) => {
        g.createTask(child(log, "a", 1000));
        g.createTask(async () => {
          await sleep(30);
          g.cancelScope.cancel();
          log.push("canceller returns");
        });
        await sleep(1000);
      });
      expect(now()).toBe(30);
      expect(log).toEqual(["canceller returns", "a cancelled at 30"]);
      expect(tg.cancelScope.cancelledCaught).toBe(true);
    }, V);
  });

  it("cancel() from outside the group's task (another task, a loop callback)", async () => {
    await run(async () => {
      for (const from of ["task", "callback"] as const) {
        const log: string[] = [];
        const tg = new TaskGroup();
        const t0 = now();
        const owner = createTask(() =>
          tg.run(async (g) => {
            g.createTask(child(log, "a", 1000));
            await sleep(1000);
          }),
        );
        if (from === "task") {
          await sleep(20);
          tg.cancelScope.cancel();
        } else getRunningLoop().callLater(20, () => tg.cancelScope.cancel());
        expect(await owner).toBeUndefined();
        expect(owner.cancelling()).toBe(0);
        expect(now() - t0).toBe(20);
        expect(log).toEqual([`a cancelled at ${t0 + 20}`]);
      }
    }, V);
  });

  it("is level-triggered in the body: a swallowed CancelledError comes back at the next await", async () => {
    await run(async () => {
      let caught = 0;
      await taskGroup(async (g) => {
        g.cancelScope.cancel();
        for (let i = 0; i < 3; i++) {
          try {
            await sleep(100);
          } catch {
            caught++;
          }
        }
      });
      expect(caught).toBe(3);
      expect(now()).toBe(0);
    }, V);
  });

  it("children are cancelled once (asyncio's task.cancel()): their cleanup awaits run, and the group waits for them", async () => {
    for (const virtualTime of [true, false]) {
      await run(
        async () => {
          const log: string[] = [];
          const t0 = now();
          await taskGroup(async (g) => {
            g.createTask(child(log, "a", 1000, 5));
            g.createTask(child(log, "b", 1000, 10));
            await sleep(2);
            g.cancelScope.cancel();
          });
          expect(log.map((l) => l.split(" at ")[0])).toEqual(["a cancelled", "b cancelled"]);
          if (virtualTime) expect(now() - t0).toBe(12);
          else expect(now() - t0).toBeGreaterThanOrEqual(10);
        },
        { virtualTime },
      );
    }
  });

  it("a task created after cancel() is cancelled at birth; the body's result stands if the body finished", async () => {
    await run(async () => {
      let ran = false;
      let late!: Task<void>;
      const tg = new TaskGroup();
      const r = await tg.run((g) => {
        g.cancelScope.cancel();
        late = g.createTask(async () => {
          ran = true;
        });
        return 42;
      });
      expect(r).toBe(42);
      expect(late.cancelled()).toBe(true);
      expect(ran).toBe(false);
      expect(tg.cancelScope.cancelledCaught).toBe(true); // it cut a task short
    }, V);
  });

  it("cancelled while the group waits for its children: the body's result is returned", async () => {
    await run(async () => {
      const log: string[] = [];
      const tg = new TaskGroup();
      const r = await tg.run((g) => {
        g.createTask(child(log, "a", 1000));
        getRunningLoop().callLater(40, () => g.cancelScope.cancel());
        return "body";
      });
      expect(r).toBe("body");
      expect(tg.cancelScope.cancelledCaught).toBe(true);
      expect(log).toEqual(["a cancelled at 40"]);
    }, V);
  });

  it("a deadline on the group's scope, set inside the body or before run()", async () => {
    await run(async () => {
      const log: string[] = [];
      await taskGroup(async (g) => {
        g.cancelScope.deadline = now() + 50;
        g.createTask(child(log, "a", 1000));
        await sleep(1000);
      });
      expect(now()).toBe(50);
      const tg = new TaskGroup();
      tg.cancelScope.deadline = now() + 25;
      await tg.run(async (g) => {
        g.createTask(child(log, "b", 1000));
      });
      expect(now()).toBe(75);
      expect(log).toEqual(["a cancelled at 50", "b cancelled at 75"]);
      // a deadline that is not reached changes nothing
      const ok = await taskGroup(async (g) => {
        g.cancelScope.deadline = now() + 100;
        g.createTask(() => sleep(10));
        return "in time";
      });
      expect(ok).toBe("in time");
    }, V);
  });

  it("a deadline on the real clock (tiny ms)", async () => {
    await run(async () => {
      const log: string[] = [];
      const t0 = now();
      await taskGroup(async (g) => {
        g.cancelScope.deadline = now() + 5;
        g.createTask(child(log, "a", 10_000));
        await sleep(10_000);
      });
      expect(now() - t0).toBeGreaterThanOrEqual(4);
      expect(now() - t0).toBeLessThan(5000);
      expect(log.map((l) => l.split(" at ")[0])).toEqual(["a cancelled"]);
    });
  });

  it("a scope cancelled before run(): the body's first await fails, and the group returns normally", async () => {
    await run(async () => {
      const tg = new TaskGroup();
      tg.cancelScope.cancel();
      let reached = false;
      expect(
        await tg.run(async () => {
          await sleep(10);
          reached = true;
        }),
      ).toBeUndefined();
      expect(reached).toBe(false);
      expect(tg.cancelScope.cancelledCaught).toBe(true);
    }, V);
  });

  it("a cancellation from outside at the same time is not swallowed: CancelledError propagates", async () => {
    await run(async () => {
      const tg = new TaskGroup();
      const owner = createTask(() =>
        tg.run(async (g) => {
          g.createTask(() => sleep(1000));
          await sleep(1000);
        }),
      );
      await sleep(10);
      tg.cancelScope.cancel();
      owner.cancel();
      expect(await rejection(owner)).toBeInstanceOf(CancelledError);
      expect(owner.cancelled()).toBe(true);
    }, V);
  });

  it("a cancellation from outside during the wait for cancelled children is not lost", async () => {
    await run(async () => {
      const tg = new TaskGroup();
      const owner = createTask(() =>
        tg.run(async (g) => {
          g.createTask(child([], "slow cleanup", 1000, 100));
          await sleep(1); // (a task cancelled before its first step never runs: let it start)
          g.cancelScope.cancel();
        }),
      );
      await sleep(10); // the group waits for its cancelled child
      owner.cancel();
      expect(await rejection(owner)).toBeInstanceOf(CancelledError);
      expect(now()).toBe(101);
    }, V);
  });

  it("a child error and the scope's cancel: the error wins (ExceptionGroup), the count is back to 0", async () => {
    await run(async () => {
      const tg = new TaskGroup();
      const e = await rejection(
        tg.run(async (g) => {
          g.createTask(async () => {
            try {
              await sleep(1000);
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw new RangeError("cleanup failed");
            }
          });
          await sleep(10);
          g.cancelScope.cancel();
          await sleep(10);
        }),
      );
      expect(e).toBeInstanceOf(ExceptionGroup);
      expect((e as ExceptionGroup).exceptions.map((x) => (x as Error).message)).toEqual(["cleanup failed"]);
      expect(currentTask()!.cancelling()).toBe(0);
      await sleep(1); // no spurious CancelledError afterwards
    }, V);
  });

  it("shield: a cancellation of the parent task is held back until the group exits; the children run on", async () => {
    await run(async () => {
      const log: string[] = [];
      const owner = createTask(async () => {
        const tg = new TaskGroup();
        tg.cancelScope.shield = true;
        await tg.run(async (g) => {
          g.createTask(child(log, "a", 100));
          await sleep(50);
          log.push("body done");
        });
        log.push("after the group");
        await sleep(1); // the held-back cancellation arrives here
        log.push("unreachable");
      });
      await sleep(10);
      owner.cancel();
      expect(await rejection(owner)).toBeInstanceOf(CancelledError);
      expect(log).toEqual(["body done", "a done", "after the group"]);
    }, V);
  });

  it("a group inside a cancelled CancelScope waits for its children's cleanup (it no longer spins; virtual time moves)", async () => {
    await run(async () => {
      const log: string[] = [];
      const scope = new CancelScope();
      getRunningLoop().callLater(10, () => scope.cancel());
      await scope.run(() =>
        taskGroup(async (g) => {
          g.createTask(child(log, "a", 1000, 100));
          g.createTask(child(log, "b", 1000, 50));
        }),
      );
      expect(scope.cancelledCaught).toBe(true);
      expect(log).toEqual(["b cancelled at 60", "a cancelled at 110"]);
    }, V);
  });

  it("nested groups: cancelling the outer group's scope cancels the inner group's tasks; only the outer catches it", async () => {
    await run(async () => {
      const log: string[] = [];
      const outer = new TaskGroup();
      let inner!: TaskGroup;
      await outer.run(async (o) => {
        o.createTask(() =>
          (inner = new TaskGroup()).run(async (i) => {
            i.createTask(child(log, "grandchild", 1000));
            await sleep(1000);
          }),
        );
        await sleep(20);
        o.cancelScope.cancel();
        await sleep(1000); // fails: the outer group's task sees the CancelledError, which the scope catches
      });
      expect(log).toEqual(["grandchild cancelled at 20"]);
      expect(outer.cancelScope.cancelledCaught).toBe(true);
      expect(inner.cancelScope.cancelCalled).toBe(false);
    }, V);
  });

  it("after the group: cancel() does nothing, and the scope cannot be entered again", async () => {
    await run(async () => {
      const tg = new TaskGroup();
      await tg.run(() => undefined);
      tg.cancelScope.cancel();
      expect(tg.cancelScope.cancelledCaught).toBe(false);
      const e = await rejection(tg.cancelScope.run(() => 1));
      expect(e).toBeInstanceOf(RuntimeError);
      // a scope already entered on its own cannot be a group's
      const tg2 = new TaskGroup();
      await tg2.cancelScope.run(() => 1);
      expect(await rejection(tg2.run(() => 1))).toBeInstanceOf(RuntimeError);
    }, V);
  });
});

describe("TaskGroup.start and TaskStatus.started", () => {
  it("returns the value given to started(); the task goes on in the group, which waits for it", async () => {
    await run(async () => {
      const log: string[] = [];
      let task!: Task<unknown>;
      await taskGroup(async (tg) => {
        const v = await tg.start(
          async (status: TaskStatus<number>) => {
            task = currentTask()!;
            await sleep(10);
            status.started(7);
            await sleep(50);
            log.push(`served at ${now()}`);
          },
          { name: "server" },
        );
        log.push(`started ${v} at ${now()}`);
      });
      expect(log).toEqual(["started 7 at 10", "served at 60"]);
      expect(task.getName()).toBe("server");
      expect(task.done()).toBe(true);
    }, V);
  });

  it("the forms users write: an inline async arrow, started() with no value, a sync function", async () => {
    await run(async () => {
      await taskGroup(async (tg) => {
        const none = await tg.start(async (status) => {
          status.started();
          await sleep(1);
        });
        expect(none).toBeUndefined();
        const n = await tg.start<number>(async (status) => status.started(3));
        expect(n).toBe(3);
        const s = await tg.start((status: TaskStatus<string>) => status.started("sync"));
        expect(s).toBe("sync");
        const eager = await tg.start((status: TaskStatus<string>) => status.started("eager"), { eagerStart: true });
        expect(eager).toBe("eager");
      });
    }, V);
  });

  it("readiness for real: start() returns when a server listens (127.0.0.1, port 0)", async () => {
    await run(async () => {
      const tg = new TaskGroup();
      await tg.run(async (g) => {
        const port = await g.start(async (status: TaskStatus<number>) => {
          const server = await startServer(
            async (_reader, writer) => {
              writer.write("hello\n");
              writer.close();
            },
            "127.0.0.1",
            0,
          );
          status.started(server.sockets[0]!.port);
          await server.serveForever();
        });
        expect(port).toBeGreaterThan(0);
        const [reader, writer] = await openConnection("127.0.0.1", port);
        expect(String(await timeout(5000, () => reader.readline()))).toBe("hello\n");
        writer.close();
        g.cancelScope.cancel(); // stops serveForever: the group returns normally
      });
      expect(tg.cancelScope.cancelledCaught).toBe(true);
    });
  });

  it("fn failing before started(): start() throws its error, the group is not broken", async () => {
    await run(async () => {
      const log: string[] = [];
      const r = await taskGroup(async (tg) => {
        tg.createTask(child(log, "sibling", 100));
        const e = await rejection(
          tg.start(async () => {
            await sleep(10);
            throw new RangeError("bind failed");
          }),
        );
        expect(e).toBeInstanceOf(RangeError);
        expect((e as Error).message).toBe("bind failed");
        return "body goes on";
      });
      expect(r).toBe("body goes on");
      expect(log).toEqual(["sibling done"]);
    }, V);
  });

  it("fn returning before started(): start() throws a RuntimeError that says so", async () => {
    await run(async () => {
      await taskGroup(async (tg) => {
        const e = await rejection(tg.start(async () => sleep(5), { name: "forgetful" }));
        expect(e).toBeInstanceOf(RuntimeError);
        expect((e as Error).message).toBe("forgetful returned without calling status.started() (TaskGroup.start)");
      });
    }, V);
  });

  it("fn failing after started(): an ordinary child failure (ExceptionGroup, siblings cancelled)", async () => {
    await run(async () => {
      const log: string[] = [];
      const e = await rejection(
        taskGroup(async (tg) => {
          tg.createTask(child(log, "sibling", 1000));
          await tg.start(async (status) => {
            status.started();
            await sleep(10);
            throw new RangeError("crashed later");
          });
          await sleep(1000);
        }),
      );
      expect(e).toBeInstanceOf(ExceptionGroup);
      expect((e as ExceptionGroup).exceptions.map((x) => (x as Error).message)).toEqual(["crashed later"]);
      expect(log).toEqual(["sibling cancelled at 10"]);
    }, V);
  });

  it("started() twice is a RuntimeError (in the task); started() after the task ended too", async () => {
    await run(async () => {
      let second: unknown;
      let kept!: TaskStatus;
      await taskGroup(async (tg) => {
        await tg.start(async (status) => {
          status.started();
          try {
            status.started();
          } catch (e) {
            second = e;
          }
        });
        await rejection(
          tg.start(async (status) => {
            kept = status;
          }),
        );
      });
      expect(second).toBeInstanceOf(RuntimeError);
      expect((second as Error).message).toBe("called started() twice on the same TaskStatus");
      expect(() => kept.started()).toThrow("called started() after its task ended");
    }, V);
  });

  it("the caller cancelled while it waits: the task is cancelled, start() waits for its cleanup, then throws", async () => {
    await run(async () => {
      const log: string[] = [];
      await taskGroup(async (tg) => {
        const caller = createTask(() =>
          tg.start(async () => {
            await child(log, "starting", 1000, 30)();
          }),
        );
        await sleep(10);
        caller.cancel();
        expect(await rejection(caller)).toBeInstanceOf(CancelledError);
        expect(now()).toBe(40); // start() returned after the task's cleanup
        expect(log).toEqual(["starting cancelled at 40"]);
      });
    }, V);
  });

  it("a timeout around start(): TimeoutError, and the task is cancelled", async () => {
    await run(async () => {
      const log: string[] = [];
      await taskGroup(async (tg) => {
        const e = await rejection(timeout(20, () => tg.start(child(log, "never ready", 1000))));
        expect(e).toBeInstanceOf(TimeoutError);
        expect(log).toEqual(["never ready cancelled at 20"]);
      });
    }, V);
  });

  it("the caller cancelled, the task failing in its cleanup: start() throws the task's error", async () => {
    await run(async () => {
      await taskGroup(async (tg) => {
        const caller = createTask(() =>
          tg.start(async () => {
            try {
              await sleep(1000);
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw new RangeError("cleanup failed");
            }
          }),
        );
        await sleep(10);
        caller.cancel();
        const e = await rejection(caller);
        expect(e).toBeInstanceOf(RangeError);
      });
    }, V);
  });

  it("the caller cancelled, the task calls started() anyway: it stays in the group, start() throws CancelledError", async () => {
    await run(async () => {
      const log: string[] = [];
      await taskGroup(async (tg) => {
        const caller = createTask(() =>
          tg.start(async (status) => {
            try {
              await sleep(1000);
            } catch {
              status.started(); // ignores the cancellation
              await sleep(50);
              log.push(`stubborn done at ${now()}`);
            }
          }),
        );
        await sleep(10);
        caller.cancel();
        expect(await rejection(caller)).toBeInstanceOf(CancelledError);
        expect(now()).toBe(10);
      });
      expect(log).toEqual(["stubborn done at 60"]);
    }, V);
  });

  it("the caller inside a cancelled CancelScope: start() still waits for the task's cleanup (no spin)", async () => {
    await run(async () => {
      const log: string[] = [];
      await taskGroup(async (tg) => {
        await moveOn(20, () => tg.start(child(log, "starting", 1000, 30)));
        expect(log).toEqual(["starting cancelled at 50"]);
      });
    }, V);
  });

  it("the group's cancellation does not reach a task before started() (it is start()'s caller's); it does after", async () => {
    await run(async () => {
      const log: string[] = [];
      let caller!: Task<void>;
      await taskGroup(async (tg) => {
        // start() called by a task outside the group, which the group's cancellation does not reach
        caller = createTask(() =>
          tg.start(async (status) => {
            await sleep(30);
            log.push(`ready at ${now()}`);
            status.started();
            await child(log, "served", 1000)();
          }),
        );
        await sleep(10);
        tg.cancelScope.cancel();
      });
      expect(log).toEqual(["ready at 30", "served cancelled at 30"]);
      expect(caller.result()).toBeUndefined();
    }, V);
  });

  it("a sibling failing while the body waits in start(): the body is cancelled, start() cancels its task", async () => {
    await run(async () => {
      const log: string[] = [];
      const e = await rejection(
        taskGroup(async (tg) => {
          tg.createTask(async () => {
            await sleep(10);
            throw new RangeError("sibling failed");
          });
          await tg.start(child(log, "starting", 1000));
        }),
      );
      expect(e).toBeInstanceOf(ExceptionGroup);
      expect((e as ExceptionGroup).exceptions.map((x) => (x as Error).message)).toEqual(["sibling failed"]);
      expect(log).toEqual(["starting cancelled at 10"]);
    }, V);
  });

  it("the group's scope cancelled while the body waits in start(): the task is cancelled, the group returns normally", async () => {
    await run(async () => {
      const log: string[] = [];
      const tg = new TaskGroup();
      await tg.run(async (g) => {
        g.createTask(async () => {
          await sleep(15);
          g.cancelScope.cancel();
        });
        await g.start(child(log, "starting", 1000, 5));
      });
      expect(log).toEqual(["starting cancelled at 20"]);
      expect(tg.cancelScope.cancelledCaught).toBe(true);
      expect(currentTask()!.cancelling()).toBe(0);
    }, V);
  });

  it("start() on a group that is not entered, finished, or shutting down: RuntimeError (a rejection)", async () => {
    await run(async () => {
      const fresh = new TaskGroup();
      expect(await rejection(fresh.start(async (s) => s.started()))).toBeInstanceOf(RuntimeError);
      let done!: TaskGroup;
      await taskGroup((tg) => {
        done = tg;
      });
      const e1 = await rejection(done.start(async (s) => s.started()));
      expect(String(e1)).toContain("is finished");
      let e2: unknown;
      await rejection(
        taskGroup(async (tg) => {
          tg.createTask(async () => {
            throw new RangeError("boom");
          });
          try {
            await sleep(10);
          } finally {
            e2 = await rejection(tg.start(async (s) => s.started()));
          }
        }),
      );
      expect(String(e2)).toContain("is shutting down");
    }, V);
  });

  it("start() while the group waits for its children (called by a child): allowed, as in Trio", async () => {
    await run(async () => {
      const got: number[] = [];
      await taskGroup((tg) => {
        tg.createTask(async () => {
          await sleep(10);
          got.push(await tg.start<number>(async (s) => s.started(now())));
        });
      });
      expect(got).toEqual([10]);
    }, V);
  });

  it("bad input: start(notAFunction) rejects with a TypeError naming fn; an unknown option is refused", async () => {
    await run(async () => {
      await taskGroup(async (tg) => {
        const e = await rejection(tg.start(42 as never));
        expect(e).toBeInstanceOf(TypeError);
        expect((e as Error).message).toContain("Expected fn to be a function");
        const e2 = await rejection(tg.start(async (s) => s.started(), { nmae: "x" } as never));
        expect(e2).toBeInstanceOf(TypeError);
        // outside a task (a loop's callback): start() cannot wait there
        const fut = getRunningLoop().createFuture<unknown>();
        getRunningLoop().callSoon(() => {
          tg.start(async (s) => s.started()).then(
            () => fut.setResult("resolved"),
            (e: unknown) => fut.setResult(e),
          );
        });
        const e3 = await fut;
        expect(e3).toBeInstanceOf(RuntimeError);
        expect(String(e3)).toContain("start() must be awaited inside a task");
      });
    }, V);
  });

  it("nothing is lost: a task's failure before started() is never reported as unretrieved", async () => {
    await run(async () => {
      const seen = captureHandler(getRunningLoop());
      await taskGroup(async (tg) => {
        await rejection(
          tg.start(async () => {
            throw new RangeError("x");
          }),
        );
      });
      await sleep(1);
      expect(seen).toEqual([]);
    }, V);
  });

  it("TASK_STATUS_IGNORED: call a function written for start() directly", async () => {
    await run(async () => {
      async function serve(status: TaskStatus<number>): Promise<string> {
        status.started(1);
        status.started(2); // ignored, as Trio's
        await sleep(1);
        return "served";
      }
      expect(await serve(TASK_STATUS_IGNORED)).toBe("served");
    }, V);
  });
});

describe("TaskGroup.cancelScope and start() under random timings (property)", () => {
  // Times: children's durations and the body's are multiples of 10, the cancellation odd: no ties.
  const child_ = fc.record({ d: fc.integer({ min: 1, max: 20 }), c: fc.integer({ min: 0, max: 5 }) });
  const starter = fc.record({ r: fc.integer({ min: 1, max: 20 }), d: fc.integer({ min: 1, max: 20 }), c: fc.integer({ min: 0, max: 5 }) });
  const scenario = fc.record({
    children: fc.array(child_, { maxLength: 4 }),
    starters: fc.array(starter, { maxLength: 3 }),
    body: fc.integer({ min: 0, max: 20 }),
    cancelAt: fc.option(fc.integer({ min: 0, max: 25 }), { nil: undefined }),
    how: fc.constantFrom("deadline", "callback", "child"),
  });

  it("every task ends when expected, the group ends with the last of them, normally, its requests taken back", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ children, starters, body, cancelAt, how }) => {
        const C = cancelAt === undefined ? Infinity : cancelAt * 10 + 5;
        const ends: number[] = [];
        const expected: number[] = [];
        for (const { d, c } of children) expected.push(d * 10 < C ? d * 10 : C + c * 10);
        for (const { r, d, c } of starters) {
          const ready = r * 10;
          // before started(): cancelled by start() (its caller, a child, is cancelled); after: by the group
          expected.push(ready < C ? (ready + d * 10 < C ? ready + d * 10 : C + c * 10) : C + c * 10);
        }
        const bodyEnd = body * 10 < C ? body * 10 : C;
        await run(async () => {
          const tg = new TaskGroup();
          if (how === "deadline" && C !== Infinity) tg.cancelScope.deadline = C;
          if (how === "callback" && C !== Infinity) getRunningLoop().callAt(C, () => tg.cancelScope.cancel());
          const timed = (d: number, c: number, status?: TaskStatus) => async (): Promise<void> => {
            try {
              if (status !== undefined) {
                await sleep(d);
                status.started();
                return;
              }
              await sleep(d);
            } catch (e) {
              if (c > 0) await sleep(c);
              throw e;
            } finally {
              ends.push(now());
            }
          };
          const r = await tg.run(async (g) => {
            if (how === "child" && C !== Infinity) {
              g.createTask(async () => {
                await sleep(C);
                g.cancelScope.cancel();
              });
            }
            for (const { d, c } of children) g.createTask(timed(d * 10, c * 10));
            for (const { r: rd, d, c } of starters) {
              g.createTask(async () => {
                await g.start(async (status: TaskStatus) => {
                  await timed(rd * 10, c * 10, status)();
                  await timed(d * 10, c * 10)();
                });
              });
            }
            await sleep(body * 10);
            return "body";
          });
          expect(r).toBe(bodyEnd < C ? "body" : undefined);
          // the scope caught its cancellation if it cut anything short: the body, a task, a starter's caller,
          // or the child that cancels it (cancelled while it runs, it ends cancelled: asyncio's rule)
          const cut =
            C !== Infinity &&
            (how === "child" || bodyEnd === C || children.some(({ d }) => d * 10 > C) || starters.some(({ r, d }) => (r + d) * 10 > C));
          expect(tg.cancelScope.cancelledCaught).toBe(cut);
          expect(currentTask()!.cancelling()).toBe(0);
          expect(now()).toBe(Math.max(bodyEnd, how === "child" && C !== Infinity ? C : 0, ...expected));
        }, V);
        // a starter's end is recorded twice (ready, then done) when it was ready before the cancellation
        const last = [...ends].sort((a, b) => a - b);
        expect(last.at(-1) ?? 0).toBe(Math.max(0, ...expected));
      }),
      { numRuns: 150 },
    );
  });
});

describe("TaskGroup.cancelScope and a cancellation from outside, under random timings (property)", () => {
  // Times: durations multiples of 10, the scope's cancellation ends in 5, the outside one in 7: no ties.
  const scenario = fc.record({
    children: fc.array(fc.record({ d: fc.integer({ min: 1, max: 20 }), c: fc.integer({ min: 0, max: 5 }) }), { maxLength: 4 }),
    starters: fc.array(fc.record({ r: fc.integer({ min: 1, max: 20 }), d: fc.integer({ min: 1, max: 20 }), c: fc.integer({ min: 0, max: 5 }) }), { maxLength: 2 }),
    body: fc.integer({ min: 0, max: 20 }),
    cancelAt: fc.option(fc.integer({ min: 0, max: 25 }), { nil: undefined }),
    outsideAt: fc.integer({ min: 0, max: 30 }),
  });

  it("the outside cancellation propagates exactly when it reaches the group; the tasks are cancelled once", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ children, starters, body, cancelAt, outsideAt }) => {
        const C = cancelAt === undefined ? Infinity : cancelAt * 10 + 5;
        const O = outsideAt * 10 + 7;
        // the group's end when its tasks are cut at K (the first cancellation: they are cut there, once)
        const endWith = (K: number): number => {
          const ends = [Math.min(body * 10, K)];
          for (const { d, c } of children) ends.push(d * 10 < K ? d * 10 : K + c * 10);
          for (const { r, d, c } of starters) ends.push(r * 10 < K && (r + d) * 10 < K ? (r + d) * 10 : K + c * 10);
          return Math.max(...ends);
        };
        const reached = O < endWith(C); // the outside cancellation came while the group ran
        const groupEnd = endWith(Math.min(C, O));
        await run(async () => {
          const outcome: { at?: number; error?: unknown; cancelling?: number } = {};
          const owner = createTask(async () => {
            const tg = new TaskGroup();
            if (C !== Infinity) tg.cancelScope.deadline = C;
            const timed = (d: number, c: number) => async (): Promise<void> => {
              try {
                await sleep(d);
              } catch (e) {
                if (c > 0) await sleep(c);
                throw e;
              }
            };
            try {
              await tg.run(async (g) => {
                for (const { d, c } of children) g.createTask(timed(d * 10, c * 10));
                for (const { r, d, c } of starters) {
                  g.createTask(() =>
                    g.start(async (status: TaskStatus) => {
                      await timed(r * 10, c * 10)();
                      status.started();
                      await timed(d * 10, c * 10)();
                    }),
                  );
                }
                await sleep(body * 10);
              });
            } catch (e) {
              outcome.error = e;
            }
            outcome.at = now();
            outcome.cancelling = currentTask()!.cancelling();
            if (outcome.error !== undefined) throw outcome.error;
            await sleep(1000); // the outside cancellation ends the task here if it came after the group
          });
          getRunningLoop().callAt(O, () => owner.cancel());
          await rejection(owner);
          expect(outcome.at).toBe(groupEnd);
          if (reached) {
            expect(outcome.error).toBeInstanceOf(CancelledError);
            expect(outcome.cancelling).toBe(1);
          } else {
            expect(outcome.error).toBeUndefined();
            expect(outcome.cancelling).toBe(0);
          }
        }, V);
      }),
      { numRuns: 150 },
    );
  });
});

/** moveOnAfter through a CancelScope (kept local: the test reads as Trio's `with move_on_after(ms)`). */
async function moveOn<T>(ms: number, body: () => Promise<T>): Promise<T | undefined> {
  return await new CancelScope({ deadline: now() + ms }).run(body);
}
