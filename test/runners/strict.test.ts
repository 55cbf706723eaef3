/**
 * `run(main, { strict: true })` and `new Runner({ strict: true })`: errors that asyncio only reports make
 * the run fail, after the normal shutdown. (The same, inside a real vitest process: runners.test.ts.)
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { CancelledError, createTask, EventLoop, ExceptionGroup, getRunningLoop, newEventLoop, run, Runner, sleep, type ExceptionContext } from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true } as const;

/** Inside a run: collect what the loop's exception handler receives (and print nothing). */
function capture(into: ExceptionContext[]): void {
  getRunningLoop().setExceptionHandler((_l, ctx) => {
    into.push(ctx);
  });
}

describe("run(main, { strict: true })", () => {
  it("without strict, an unawaited task's error is only reported (asyncio's behaviour)", async () => {
    const seen: ExceptionContext[] = [];
    await run(async () => {
      capture(seen);
      createTask(async () => {
        throw new Error("lost");
      });
      await sleep(10);
    }, V);
    expect(seen.map((c) => c.message)).toEqual(["Task exception was never retrieved"]);
  });

  it("rejects with the task's own error, after the whole shutdown, and still reports it", async () => {
    const seen: ExceptionContext[] = [];
    const lost = new Error("lost");
    const steps: string[] = [];
    let loop: EventLoop | null = null;
    const e = await rejection(
      run(
        async () => {
          loop = getRunningLoop();
          capture(seen);
          createTask(async () => {
            throw lost;
          });
          createTask(async () => {
            try {
              await sleep(60_000);
            } finally {
              steps.push("pending task cleaned up");
            }
          });
          await sleep(10);
          steps.push("main done");
        },
        { ...V, strict: true },
      ),
    );
    expect(e).toBe(lost);
    expect(steps).toEqual(["main done", "pending task cleaned up"]);
    expect(loop!.isClosed()).toBe(true);
    expect(seen.map((c) => c.message)).toEqual(["Task exception was never retrieved"]);
  });

  it("several: an ExceptionGroup of them in the order they failed, its message naming each", async () => {
    const e = await rejection(
      run(
        async () => {
          capture([]);
          createTask(async () => {
            await sleep(20);
            throw new RangeError("second");
          });
          createTask(async () => {
            await sleep(10);
            throw new TypeError("first");
          });
          await sleep(100);
        },
        { ...V, strict: true },
      ),
    );
    expect(e).toBeInstanceOf(ExceptionGroup);
    const g = e as ExceptionGroup;
    expect(g.exceptions.map((x) => (x as Error).message)).toEqual(["first", "second"]);
    expect(g.message).toBe("task exceptions nobody retrieved (strict mode) (2 sub-exceptions)\n  [1] TypeError: first\n  [2] RangeError: second");
  });

  it("main's own error wins (the others are reported, as without strict)", async () => {
    const seen: ExceptionContext[] = [];
    const e = await rejection(
      run(
        async () => {
          capture(seen);
          createTask(async () => {
            throw new Error("lost");
          });
          await sleep(10);
          throw new Error("main failed");
        },
        { ...V, strict: true },
      ),
    );
    expect((e as Error).message).toBe("main failed");
    expect(seen.map((c) => (c.exception as Error).message)).toEqual(["lost"]);
  });

  it("an error retrieved in any way, or a cancellation, does not fail the run", async () => {
    const v = await run(
      async () => {
        const a = createTask(async () => {
          throw new Error("awaited");
        });
        const b = createTask(async () => {
          throw new Error("asked for");
        });
        const c = createTask(() => sleep(1000));
        await sleep(10);
        c.cancel();
        await expect(a).rejects.toThrow("awaited");
        expect((b.exception() as Error).message).toBe("asked for");
        return "ok";
      },
      { ...V, strict: true },
    );
    expect(v).toBe("ok");
  });

  it("a future's unretrieved error counts too", async () => {
    const e = await rejection(
      run(
        async () => {
          capture([]);
          getRunningLoop().createFuture().setException(new Error("future error"));
          await sleep(0);
        },
        { ...V, strict: true },
      ),
    );
    expect((e as Error).message).toBe("future error");
  });

  it("a task that fails while shutdown cancels it fails the run", async () => {
    const seen: ExceptionContext[] = [];
    const e = await rejection(
      run(
        async () => {
          capture(seen);
          createTask(async () => {
            try {
              await sleep(60_000);
            } catch (err) {
              if (err instanceof CancelledError) throw new Error("cleanup failed");
            }
          });
          await sleep(10);
        },
        { ...V, strict: true },
      ),
    );
    expect((e as Error).message).toBe("cleanup failed");
    expect(seen.map((c) => c.message)).toEqual(["unhandled exception during run() shutdown"]);
  });

  it("a floating chain that rejects when shutdown ends it fails the run", async () => {
    const seen: ExceptionContext[] = [];
    const e = await rejection(
      run(
        async () => {
          capture(seen);
          await createTask(async () => {
            void (async () => {
              try {
                await sleep(60_000);
              } finally {
                // eslint-disable-next-line no-unsafe-finally
                throw new Error("floating chain failed");
              }
            })();
          });
          await sleep(10);
        },
        { ...V, strict: true },
      ),
    );
    expect((e as Error).message).toBe("floating chain failed");
    expect(seen.map((c) => c.message)).toEqual(["unhandled rejection during run() shutdown"]);
  });

  it("a failed task nobody holds is not lost to the garbage collector", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const e = await rejection(
      run(
        async () => {
          capture([]);
          createTask(async () => {
            throw new Error("collectable");
          });
          await sleep(10);
          for (let i = 0; i < 3; i++) {
            gc();
            await new Promise((r) => setImmediate(r)); // (finalization callbacks run between macrotasks)
          }
        },
        { ...V, strict: true },
      ),
    );
    expect((e as Error).message).toBe("collectable");
  });

  it("many failures retrieved and one not: exactly that one", async () => {
    const e = await rejection(
      run(
        async () => {
          capture([]);
          for (let i = 0; i < 3000; i++) {
            const f = getRunningLoop().createFuture();
            f.setException(new Error(`retrieved ${i}`));
            f.exception();
            if (i === 1500) getRunningLoop().createFuture().setException(new Error("the one"));
          }
          await sleep(0);
        },
        { ...V, strict: true },
      ),
    );
    expect((e as Error).message).toBe("the one");
  });

  it("with a loopFactory too", async () => {
    const e = await rejection(
      run(
        async () => {
          capture([]);
          createTask(async () => {
            throw new Error("lost");
          });
          await sleep(10);
        },
        { strict: true, loopFactory: () => newEventLoop(V) },
      ),
    );
    expect((e as Error).message).toBe("lost");
  });

  it("the option is checked", async () => {
    await expect(run(async () => 1, { strict: "yes" as never })).rejects.toThrow("Expected strict to be a boolean");
    await expect(run(async () => 1, { strictt: true } as never)).rejects.toThrow(/strict/);
  });
});

describe("new Runner({ strict: true })", () => {
  it("run() returns; close() throws what nobody retrieved across its runs", async () => {
    const runner = new Runner({ ...V, strict: true });
    let kept: PromiseLike<unknown> | null = null;
    expect(
      await runner.run(async () => {
        capture([]);
        createTask(async () => {
          throw new Error("never looked at");
        });
        kept = createTask(async () => {
          throw new Error("looked at in the next run");
        });
        await sleep(10);
        return 1;
      }),
    ).toBe(1);
    expect(await runner.run(async () => (await rejection(kept!)) instanceof Error)).toBe(true);
    const e = await rejection(runner.close());
    expect((e as Error).message).toBe("never looked at");
    expect(() => runner.getLoop()).toThrow("Runner is closed");
  });

  it("await using: the scope's exit throws them", async () => {
    const e = await rejection(
      (async () => {
        await using runner = new Runner({ ...V, strict: true });
        await runner.run(async () => {
          capture([]);
          createTask(async () => {
            throw new Error("lost in a scope");
          });
          await sleep(10);
        });
      })(),
    );
    expect((e as Error).message).toBe("lost in a scope");
  });
});
