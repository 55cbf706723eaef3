/**
 * Cancel scopes (Trio's model on asyncio's cancellation): CancelScope, moveOnAfter, moveOnAt,
 * failAfter, shield. Level-triggered: every await in a cancelled scope fails until the scope exits.
 */
import { describe, expect, it } from "vitest";
import {
  CancelScope,
  CancelledError,
  RuntimeError,
  TimeoutError,
  createTask,
  currentTask,
  failAfter,
  getRunningLoop,
  moveOnAfter,
  moveOnAt,
  run,
  sleep,
  taskGroup,
  timeout,
} from "../../src/index.js";
import { rejection } from "./helpers.js";

const V = { virtualTime: true };
const now = (): number => getRunningLoop().time();

describe("CancelScope", () => {
  it("scope.cancel() cancels the body's current await; the scope catches it and the task goes on", async () => {
    await run(async () => {
      const scope = new CancelScope();
      getRunningLoop().callLater(50, () => scope.cancel());
      const r = await scope.run(async () => {
        await sleep(1000);
        return "finished";
      });
      expect(r).toBeUndefined();
      expect(scope.cancelCalled).toBe(true);
      expect(scope.cancelledCaught).toBe(true);
      expect(now()).toBe(50);
      expect(currentTask()!.cancelling()).toBe(0);
      await sleep(10); // not cancelled any more
      expect(now()).toBe(60);
    }, V);
  });

  it("level-triggered: a body that swallows CancelledError is cancelled again at every await", async () => {
    await run(async () => {
      const caught: number[] = [];
      await moveOnAfter(10, async () => {
        for (let i = 0; i < 3; i++) {
          try {
            await sleep(1000);
          } catch (e) {
            if (e instanceof CancelledError) caught.push(now());
            else throw e;
          }
        }
        await sleep(0); // a bare yield is cancelled too
        caught.push(-1); // never reached
      });
      expect(caught).toEqual([10, 10, 10]);
      expect(now()).toBe(10);
    }, V);
  });

  it("compare task.cancel(): edge-triggered, a swallowed CancelledError lets the body go on", async () => {
    await run(async () => {
      const t = createTask(async () => {
        try {
          await sleep(1000);
        } catch {
          /* swallowed */
        }
        await sleep(10);
        return now();
      });
      await sleep(5);
      t.cancel();
      expect(await t).toBe(15);
    }, V);
  });

  it("moveOnAfter: in time, the body's value; late, undefined at the deadline", async () => {
    await run(async () => {
      expect(await moveOnAfter(100, () => sleep(10, "quick"))).toBe("quick");
      expect(now()).toBe(10);
      expect(await moveOnAfter(100, () => sleep(1000, "slow"))).toBeUndefined();
      expect(now()).toBe(110);
    }, V);
  });

  it("moveOnAt: an absolute deadline; one in the past cancels at the first await", async () => {
    await run(async () => {
      await sleep(100);
      expect(await moveOnAt(150, () => sleep(1000, "x"))).toBeUndefined();
      expect(now()).toBe(150);
      expect(await moveOnAt(0, () => sleep(1000, "x"))).toBeUndefined();
      expect(now()).toBe(150);
    }, V);
  });

  it("failAfter: TimeoutError when late, the value when in time", async () => {
    await run(async () => {
      expect(await failAfter(100, () => sleep(10, "ok"))).toBe("ok");
      const e = await rejection(failAfter(100, () => sleep(1000)));
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as Error).message).toBe("failAfter(100) expired");
      expect(now()).toBe(110);
      expect(currentTask()!.cancelling()).toBe(0);
    }, V);
  });

  it("a cancellation from outside (task.cancel) is not caught by the scope", async () => {
    await run(async () => {
      const scope = new CancelScope({ deadline: 1000 });
      const t = createTask(() => scope.run(() => sleep(5000)));
      await sleep(10);
      t.cancel();
      expect(await rejection(t)).toBeInstanceOf(CancelledError);
      expect(scope.cancelledCaught).toBe(false);
      expect(t.cancelled()).toBe(true);
    }, V);
  });

  it("a scope cancelled and cancelled from outside at once: the outside cancellation wins", async () => {
    await run(async () => {
      const scope = new CancelScope();
      const t = createTask(() => scope.run(() => sleep(5000)));
      await sleep(10);
      scope.cancel();
      t.cancel();
      expect(await rejection(t)).toBeInstanceOf(CancelledError);
      expect(scope.cancelledCaught).toBe(false);
    }, V);
  });

  it("the body's own errors pass through", async () => {
    await run(async () => {
      const err = new Error("own");
      const scope = new CancelScope({ deadline: 100 });
      expect(
        await rejection(
          scope.run(async () => {
            await sleep(10);
            throw err;
          }),
        ),
      ).toBe(err);
      expect(scope.cancelledCaught).toBe(false);
    }, V);
  });

  it("an error raised while the scope is cancelled passes through instead of being swallowed", async () => {
    await run(async () => {
      const err = new RangeError("cleanup failed");
      expect(
        await rejection(
          moveOnAfter(10, async () => {
            try {
              await sleep(1000);
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw err;
            }
          }),
        ),
      ).toBe(err);
      expect(currentTask()!.cancelling()).toBe(0);
    }, V);
  });

  it("nested scopes: cancelling the inner one leaves the outer one running", async () => {
    await run(async () => {
      const outer = new CancelScope();
      const inner = new CancelScope();
      const r = await outer.run(async () => {
        await inner.run(async () => {
          getRunningLoop().callLater(10, () => inner.cancel());
          await sleep(1000);
        });
        await sleep(5);
        return "outer went on";
      });
      expect(r).toBe("outer went on");
      expect(inner.cancelledCaught).toBe(true);
      expect(outer.cancelledCaught).toBe(false);
      expect(now()).toBe(15);
    }, V);
  });

  it("nested scopes: cancelling the outer one cancels the inner body; only the outer catches it", async () => {
    await run(async () => {
      const outer = new CancelScope({ deadline: 10 });
      const inner = new CancelScope({ deadline: 1000 });
      const log: string[] = [];
      await outer.run(async () => {
        try {
          await inner.run(() => sleep(5000));
        } catch (e) {
          log.push(`inner let ${(e as Error).name} through`);
          throw e;
        }
        log.push("unreachable");
      });
      expect(inner.cancelledCaught).toBe(false);
      expect(outer.cancelledCaught).toBe(true);
      expect(log).toEqual(["inner let CancelledError through"]);
      expect(now()).toBe(10);
    }, V);
  });

  it("a scope cancelled before it is entered cancels the body's first await", async () => {
    await run(async () => {
      const scope = new CancelScope();
      scope.cancel();
      const log: string[] = [];
      await scope.run(async () => {
        log.push("ran");
        await sleep(100);
        log.push("after");
      });
      expect(log).toEqual(["ran"]);
      expect(scope.cancelledCaught).toBe(true);
      expect(now()).toBe(0);
    }, V);
  });

  it("setting the deadline while the scope runs reschedules it", async () => {
    await run(async () => {
      const scope = new CancelScope({ deadline: 1000 });
      await scope.run(async (s) => {
        s.deadline = now() + 20;
        await sleep(500);
      });
      expect(now()).toBe(20);
      const later = new CancelScope({ deadline: now() + 10 });
      const r = await later.run(async (s) => {
        s.deadline = Infinity;
        return await sleep(50, "no deadline");
      });
      expect(r).toBe("no deadline");
    }, V);
  });

  it("a scope is entered once, inside a task; bad arguments are clear errors", async () => {
    await expect(new CancelScope().run(() => 1)).rejects.toThrow("CancelScope must be used inside a task");
    await run(async () => {
      const s = new CancelScope();
      await s.run(() => 1);
      await expect(s.run(() => 1)).rejects.toThrow(RuntimeError);
      await expect(s.run(() => 1)).rejects.toThrow("A CancelScope can be entered only once");
      expect(() => new CancelScope({ deadline: NaN })).toThrow("Expected deadline to be a number, got NaN (number)");
      await expect(moveOnAfter(-1, () => 1)).rejects.toThrow("Expected ms to be a non-negative number of milliseconds, got -1 (number)");
      await expect(failAfter(NaN, () => 1)).rejects.toThrow(RangeError);
      await expect(new CancelScope().run(42 as never)).rejects.toThrow("Expected body to be a function, got 42 (number)");
    });
  });
});

describe("shielding cancel scopes", () => {
  it("task.cancel() during a shielded scope is held back and delivered at the first await after it", async () => {
    await run(async () => {
      const log: string[] = [];
      const t = createTask(async () => {
        await new CancelScope({ shield: true }).run(async () => {
          await sleep(100);
          log.push(`saved at ${now()}`);
        });
        log.push("after shield");
        await sleep(1);
        log.push("unreachable");
      });
      await sleep(10);
      expect(t.cancel()).toBe(true);
      expect(await rejection(t)).toBeInstanceOf(CancelledError);
      expect(t.cancelled()).toBe(true);
      expect(log).toEqual(["saved at 100", "after shield"]);
    }, V);
  });

  it("an outer deadline does not interrupt the shielded scope; the outer scope catches it afterwards", async () => {
    await run(async () => {
      const log: string[] = [];
      const r = await moveOnAfter(10, async () => {
        await new CancelScope({ shield: true }).run(async () => {
          await sleep(100);
          log.push(`shielded work done at ${now()}`);
        });
        await sleep(1000);
        return "unreachable";
      });
      expect(r).toBeUndefined();
      expect(log).toEqual(["shielded work done at 100"]);
      expect(now()).toBe(100);
    }, V);
  });

  it("a timeout() expiring around a shielded scope raises TimeoutError after the shield exits", async () => {
    await run(async () => {
      const e = await rejection(
        timeout(10, async () => {
          await new CancelScope({ shield: true }).run(() => sleep(50));
          await sleep(1000);
        }),
      );
      expect(e).toBeInstanceOf(TimeoutError);
      expect(now()).toBe(50);
    }, V);
  });

  it("a shielded scope's own cancel() and deadline still work", async () => {
    await run(async () => {
      const s = new CancelScope({ shield: true, deadline: 20 });
      expect(await s.run(() => sleep(1000, "x"))).toBeUndefined();
      expect(s.cancelledCaught).toBe(true);
      expect(now()).toBe(20);
    }, V);
  });

  it("shield can be switched on while the scope runs", async () => {
    await run(async () => {
      const log: string[] = [];
      const t = createTask(() =>
        new CancelScope().run(async (s) => {
          s.shield = true;
          await sleep(50);
          log.push("protected");
        }),
      );
      await sleep(10);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      expect(log).toEqual(["protected"]);
    }, V);
  });

  it("several cancels held back by a shield are all delivered (cancelling() counts them)", async () => {
    await run(async () => {
      let count = -1;
      const t = createTask(async () => {
        await new CancelScope({ shield: true }).run(() => sleep(50));
        count = currentTask()!.cancelling();
        await sleep(1);
      });
      await sleep(10);
      t.cancel();
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      expect(count).toBe(2);
    }, V);
  });
});

describe("scopes in other chains of the same task (Promise.all)", () => {
  it("a timeout still cleaning up in one chain is no outside cancellation for moveOnAfter or a task group in another", async () => {
    const out: string[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        const t0 = loop.time();
        const at = (): number => Math.round(loop.time() - t0);
        // chain A: a timeout expired at 10, cleaning up until 60
        const A = (): Promise<string> =>
          timeout(10, async () => {
            try {
              await sleep(100);
            } catch (e) {
              await sleep(50);
              throw e;
            }
          }).then(
            () => "A: none",
            (e: unknown) => `A: ${(e as Error).constructor.name} at ${at()}`,
          );
        const moved = async (): Promise<string> => {
          const r = await moveOnAfter(20, () => sleep(100, "slept"));
          return `moved on at ${at()}: ${String(r)}`;
        };
        out.push(...(await Promise.all([A(), moved()])));
        const group = async (): Promise<string> => {
          try {
            await taskGroup(async (tg) => {
              tg.createTask(async () => {
                await sleep(20);
                throw new Error("child");
              });
              await sleep(100);
            });
          } catch (e) {
            out.push(`group raised ${(e as Error).constructor.name} at ${at()}`);
          }
          await sleep(1); // (no cancellation left over for this chain)
          return `group chain went on at ${at()}`;
        };
        out.push(...(await Promise.all([A(), group()])));
        out.push(`cancelling ${currentTask()!.cancelling()}`);
      },
      { virtualTime: true },
    );
    expect(out).toEqual([
      "A: TimeoutError at 60",
      "moved on at 20: undefined",
      "group raised ExceptionGroup at 80",
      "A: TimeoutError at 120",
      "group chain went on at 81",
      "cancelling 0",
    ]);
  });
});

describe("a scope's body given up on a foreign await (nothing of ours to cancel)", () => {
  // (the scope stops waiting for it and raises; the body, resumed later by the foreign promise, was
  // cancelled: its next await of ours raises CancelledError, as the recorded request would, instead of
  // running on after the scope has raised)
  const scopes: Array<[string, (body: () => Promise<void>) => Promise<unknown>]> = [
    ["timeout", (body) => timeout(50, body)],
    ["moveOnAfter", (body) => moveOnAfter(50, body)],
    ["taskGroup (a child fails)", (body) =>
      taskGroup(async (tg) => {
        tg.createTask(async () => {
          await sleep(50);
          throw new Error("child failed");
        });
        await body();
      })],
  ];
  for (const [name, scope] of scopes) {
    it(`${name}: the body's code after the foreign await meets CancelledError at its next await`, async () => {
      const seen: string[] = [];
      await run(
        async () => {
          const loop = getRunningLoop();
          let resolveForeign!: (v: string) => void;
          const foreign = new Promise<string>((r) => (resolveForeign = r));
          try {
            await scope(async () => {
              const r = await foreign;
              seen.push(`body resumed with ${r} at ${loop.time()}`);
              try {
                await sleep(10);
                seen.push("body went on");
              } catch (e) {
                seen.push(`body's next await: ${(e as Error).constructor.name}`);
                throw e;
              }
            });
            seen.push(`scope returned at ${loop.time()}`);
          } catch (e) {
            seen.push(`scope raised ${(e as Error).constructor.name} at ${loop.time()}`);
          }
          await sleep(100);
          resolveForeign("response");
          await sleep(100);
          seen.push(`cancelling ${currentTask()!.cancelling()}`);
        },
        { virtualTime: true },
      );
      const raised = name === "moveOnAfter" ? "scope returned at 50" : `scope raised ${name === "timeout" ? "TimeoutError" : "ExceptionGroup"} at 50`;
      expect(seen).toEqual([raised, "body resumed with response at 150", "body's next await: CancelledError", "cancelling 0"]);
    });
  }
});

describe("a given-up body's cancellation is edge-triggered, as a cancelled CPython body's", () => {
  it("the first await after it resumes raises, also inside a nested scope; its cleanup may await after that", async () => {
    for (const nested of [false, true]) {
      const seen: string[] = [];
      await run(
        async () => {
          const loop = getRunningLoop();
          let resolveForeign!: () => void;
          const foreign = new Promise<void>((r) => (resolveForeign = r));
          await timeout(10, async () => {
            await foreign;
            try {
              if (nested) await new CancelScope().run(() => sleep(10));
              else await sleep(10);
              seen.push("went on");
            } catch (e) {
              seen.push(`first await: ${(e as Error).constructor.name}`);
              await sleep(5); // (cleanup)
              seen.push(`cleanup slept until ${loop.time()}`);
              throw e;
            }
          }).catch((e: unknown) => seen.push(`timeout: ${(e as Error).constructor.name} at ${loop.time()}`));
          await sleep(20);
          resolveForeign();
          await sleep(20);
        },
        { virtualTime: true },
      );
      expect(seen).toEqual(["timeout: TimeoutError at 10", "first await: CancelledError", "cleanup slept until 35"]);
    }
  });
});

describe("nested scopes cancelled together, and a shield taken away (Trio's rules; the twins ran on Trio 0.34)", () => {
  it("an inner scope does not catch its own cancellation while an outer cancelled scope is visible: the outer one does", async () => {
    await run(async () => {
      const outer = new CancelScope();
      const inner = new CancelScope();
      const after: string[] = [];
      const r = await outer.run(async () => {
        await inner.run(async () => {
          inner.cancel();
          outer.cancel();
          await sleep(10);
        });
        after.push("after the inner scope (never runs in Trio)");
        return "outer body finished";
      });
      // (Trio: None True False)
      expect([r, outer.cancelledCaught, inner.cancelledCaught, after]).toEqual([undefined, true, false, []]);
    });
  });

  it("equal deadlines: failAfter around moveOnAfter raises (TooSlowError in Trio); moveOnAfter around a timeout moves on", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        createTask(() => sleep(10)); // (another timer pending: the order of the heap must not matter)
        await sleep(0);
        let failed = "";
        try {
          await failAfter(50, async () => {
            await moveOnAfter(50, () => sleep(100));
            return "body finished";
          });
        } catch (e) {
          failed = `${(e as Error).constructor.name} at ${loop.time()}`;
        }
        expect(failed).toBe("TimeoutError at 50");
        expect(await moveOnAfter(50, () => timeout(50, () => sleep(100)))).toBeUndefined();
      },
      { virtualTime: true },
    );
  });

  it("shield = false while the body waits: the cancelled scope around it cancels that await at once", async () => {
    const seen: string[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        const outer = new CancelScope();
        await outer.run(async () => {
          const sh = new CancelScope({ shield: true });
          await sh.run(async () => {
            loop.callLater(5, () => outer.cancel());
            loop.callLater(10, () => (sh.shield = false));
            try {
              await sleep(50);
              seen.push(`sleep completed at ${loop.time()}`);
            } catch (e) {
              seen.push(`sleep cancelled at ${loop.time()}`);
              throw e;
            }
          });
        });
        seen.push(`outer caught ${outer.cancelledCaught}, cancelling ${currentTask()!.cancelling()}`);
      },
      { virtualTime: true },
    );
    // (Trio: cancelled at 0.01, cancelled_caught True)
    expect(seen).toEqual(["sleep cancelled at 10", "outer caught true, cancelling 0"]);
  });

  it("shield = false inside an expired timeout or a failing task group: their request reaches the pending await at once", async () => {
    const scopes: Array<[string, (body: () => Promise<void>) => Promise<unknown>]> = [
      ["timeout", (body) => timeout(5, body)],
      ["taskGroup", (body) =>
        taskGroup(async (tg) => {
          tg.createTask(async () => {
            await sleep(5);
            throw new Error("child failed");
          });
          await body();
        })],
    ];
    for (const [name, scope] of scopes) {
      const seen: string[] = [];
      await run(
        async () => {
          const loop = getRunningLoop();
          try {
            await scope(async () => {
              const sh = new CancelScope({ shield: true });
              await sh.run(async () => {
                loop.callLater(10, () => (sh.shield = false));
                try {
                  await sleep(50);
                  seen.push(`sleep completed at ${loop.time()}`);
                } catch (e) {
                  seen.push(`sleep raised ${(e as Error).constructor.name} at ${loop.time()}`);
                  throw e;
                }
              });
            });
          } catch (e) {
            seen.push(`${name} raised ${(e as Error).constructor.name} at ${loop.time()}`);
          }
        },
        { virtualTime: true },
      );
      expect(seen).toEqual(["sleep raised CancelledError at 10", `${name} raised ${name === "timeout" ? "TimeoutError" : "ExceptionGroup"} at 10`]);
    }
  });

  it("shield = false releases a task.cancel() held back by the shield", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const sh = new CancelScope({ shield: true });
        const t = createTask(() =>
          sh.run(async () => {
            await sleep(50);
            return "finished";
          }),
        );
        await sleep(5);
        t.cancel();
        loop.callLater(5, () => (sh.shield = false));
        await expect(t).rejects.toBeInstanceOf(CancelledError);
        expect(loop.time()).toBe(10);
      },
      { virtualTime: true },
    );
  });
});

