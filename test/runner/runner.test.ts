/**
 * CPython's test_runners.py, as behaviours of run() and Runner (see conformance/README.md).
 */
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  EventLoop,
  KeyboardInterrupt,
  Runner,
  RuntimeError,
  createTask,
  currentTask,
  getRunningLoop,
  run,
  sleep,
  type ExceptionContext,
  type Task,
} from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };

describe("run() (test_runners RunTests)", () => {
  it("test_asyncio_run_return", async () => {
    expect(
      await run(async () => {
        await sleep(0);
        return 42;
      }),
    ).toBe(42);
  });

  it("test_asyncio_run_raises: main's error comes out of run()", async () => {
    const e = await rejection(
      run(async () => {
        await sleep(0);
        throw new TypeError("spam");
      }),
    );
    expect(e).toBeInstanceOf(TypeError);
    expect((e as Error).message).toBe("spam");
  });

  it("test_asyncio_run_only_coro: run() takes a function; a promise or a number is a clear TypeError", async () => {
    await expect(run(1 as never)).rejects.toThrow("Expected main to be a function returning a promise, got 1 (number)");
    const p = Promise.resolve(1);
    await expect(run(p as never)).rejects.toThrow("run() takes a function returning a promise, not a promise: write run(() => main())");
  });

  it("test_asyncio_run_debug: the debug option reaches the loop", async () => {
    expect(await run(async () => getRunningLoop().getDebug(), { debug: true })).toBe(true);
    expect(await run(async () => getRunningLoop().getDebug(), { debug: false })).toBe(false);
    expect(await run(async () => getRunningLoop().getDebug())).toBe(false);
  });

  it("test_asyncio_run_from_running_loop: run() inside a running loop is a RuntimeError", async () => {
    const e = await run(async () => await rejection(run(async () => 1)));
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as Error).message).toMatch(/cannot be called from a running event loop/);
  });

  it("test_asyncio_run_cancels_hanging_tasks: tasks left over are cancelled, and their finally blocks run", async () => {
    let lo!: Task<void>;
    const log: string[] = [];
    const r = await run(async () => {
      lo = createTask(async () => {
        try {
          await sleep(100);
          log.push("slept");
        } finally {
          log.push("finally");
        }
      });
      await sleep(0);
      return 123;
    }, V);
    expect(r).toBe(123);
    expect(lo.done()).toBe(true);
    expect(lo.cancelled()).toBe(true);
    expect(log).toEqual(["finally"]);
  });

  it("leftover tasks may await in their cleanup; the loop runs until they are done", async () => {
    const log: string[] = [];
    await run(async () => {
      createTask(async () => {
        try {
          await sleep(10_000);
        } finally {
          await sleep(50);
          log.push(`cleaned up at ${getRunningLoop().time()}`);
        }
      });
      await sleep(10);
    }, V);
    expect(log).toEqual(["cleaned up at 60"]);
  });

  it("test_asyncio_run_reports_hanging_tasks_errors: a leftover task failing in its cleanup is reported", async () => {
    const seen: ExceptionContext[] = [];
    let lo!: Task<void>;
    const err = new RangeError("1/0");
    expect(
      await run(async () => {
        getRunningLoop().setExceptionHandler((_l, c) => void seen.push(c));
        lo = createTask(async () => {
          try {
            await sleep(100);
          } catch {
            throw err;
          }
        });
        await sleep(0);
        return 123;
      }, V),
    ).toBe(123);
    expect(lo.done()).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.message).toBe("unhandled exception during run() shutdown");
    expect(seen[0]!.task).toBe(lo);
    expect(seen[0]!.exception).toBe(err);
  });

  it("test_asyncio_run_closes_gens_after_hanging_tasks_errors: leftovers are cleaned up when main fails too", async () => {
    const log: string[] = [];
    class FancyExit extends Error {}
    let lazy!: Task<void>;
    const e = await rejection(
      run(async () => {
        getRunningLoop().setExceptionHandler(() => {});
        lazy = createTask(async () => {
          try {
            for (;;) await sleep(1000);
          } finally {
            log.push("generator closed");
          }
        });
        await sleep(0);
        throw new FancyExit();
      }, V),
    );
    expect(e).toBeInstanceOf(FancyExit);
    expect(lazy.done()).toBe(true);
    expect(log).toEqual(["generator closed"]);
  });

  it("a main task that cancels itself ends run() with CancelledError", async () => {
    const e = await rejection(
      run(async () => {
        currentTask()!.cancel();
        await getRunningLoop().createFuture();
      }),
    );
    expect(e).toBeInstanceOf(CancelledError);
  });

  it("test_asyncio_run_loop_factory: run() uses the factory's loop, once", async () => {
    let calls = 0;
    let made: EventLoop | null = null;
    const factory = (): EventLoop => {
      calls++;
      made = new EventLoop(V);
      return made;
    };
    const inside = await run(async () => getRunningLoop(), { loopFactory: factory });
    expect(calls).toBe(1);
    expect(inside).toBe(made);
    expect(made!.isClosed()).toBe(true);
  });

  it("the loop is closed after run(), and its tasks are all done", async () => {
    let loop!: EventLoop;
    await run(async () => {
      loop = getRunningLoop();
      createTask(() => sleep(1000));
    }, V);
    expect(loop.isClosed()).toBe(true);
    expect(loop.isRunning()).toBe(false);
  });
});

describe("Runner (test_runners RunnerTests)", () => {
  it("test_non_debug / test_debug", async () => {
    for (const debug of [false, true]) {
      const runner = new Runner({ debug });
      expect(runner.getLoop().getDebug()).toBe(debug);
      await runner.close();
    }
  });

  it("test_custom_factory: getLoop() is the factory's loop", async () => {
    const loop = new EventLoop(V);
    const runner = new Runner({ loopFactory: () => loop });
    expect(runner.getLoop()).toBe(loop);
    await runner.close();
    expect(loop.isClosed()).toBe(true);
  });

  it("test_run: run, then close: the runner and its loop are closed", async () => {
    let loop!: EventLoop;
    {
      await using runner = new Runner();
      expect(
        await runner.run(async () => {
          await sleep(0);
          return "done";
        }),
      ).toBe("done");
      loop = runner.getLoop();
      var closedRunner = runner; // eslint-disable-line no-var
    }
    expect(() => closedRunner.getLoop()).toThrow("Runner is closed");
    expect(loop.isClosed()).toBe(true);
  });

  it("test_run_non_coro / test_run_future: Runner.run takes a function", async () => {
    const runner = new Runner();
    await expect(runner.run(123 as never)).rejects.toThrow(TypeError);
    const fut = runner.getLoop().createFuture();
    await expect(runner.run(fut as never)).rejects.toThrow(/not a promise/);
    fut.cancel();
    await runner.close();
  });

  it("test_explicit_close / test_double_close: close() closes the loop; a second close() does nothing", async () => {
    const runner = new Runner();
    const loop = runner.getLoop();
    await runner.close();
    expect(() => runner.getLoop()).toThrow("Runner is closed");
    expect(loop.isClosed()).toBe(true);
    await runner.close();
    expect(loop.isClosed()).toBe(true);
  });

  it("test_second_with_block_raises: a closed runner does not run anything", async () => {
    const ret: number[] = [];
    const runner = new Runner();
    await runner.run(async () => void ret.push(1));
    await runner.close();
    await expect(runner.run(async () => void ret.push(2))).rejects.toThrow("Runner is closed");
    expect(ret).toEqual([1]);
  });

  it("tasks left by one Runner.run() go on in the next run on the same loop", async () => {
    const runner = new Runner(V);
    const log: string[] = [];
    await runner.run(async () => {
      createTask(async () => {
        await sleep(10);
        log.push("background");
      });
    });
    await runner.run(() => sleep(20));
    expect(log).toEqual(["background"]);
    await runner.close();
  });

  it("test_recursive_run: Runner.run from inside the runner's loop is a RuntimeError", async () => {
    const runner = new Runner();
    let inner: unknown = null;
    await runner.run(async () => {
      inner = await rejection(runner.run(async () => 1));
    });
    expect(inner).toBeInstanceOf(RuntimeError);
    expect((inner as Error).message).toMatch(/cannot be called from a running event loop/);
    await runner.close();
  });

  it("Runner.close() cancels what is left and lets it clean up", async () => {
    const runner = new Runner(V);
    const log: string[] = [];
    await runner.run(async () => {
      createTask(async () => {
        try {
          await sleep(1000);
        } finally {
          log.push("cleanup");
        }
      });
    });
    expect(log).toEqual([]);
    await runner.close();
    expect(log).toEqual(["cleanup"]);
  });
});

describe("Ctrl-C (test_runners test_interrupt_*)", () => {
  const canHandle = process.listenerCount("SIGINT") === 0;

  it.runIf(canHandle)("test_interrupt_wait: SIGINT cancels the main task, which cleans up; run() throws KeyboardInterrupt", async () => {
    let fut!: ReturnType<EventLoop["createFuture"]>;
    let sawCancel = false;
    const e = await rejection(
      run(async () => {
        fut = getRunningLoop().createFuture();
        getRunningLoop().callLater(100, () => process.emit("SIGINT"));
        try {
          await fut;
        } catch (err) {
          sawCancel = err instanceof CancelledError;
          throw err;
        }
      }, V),
    );
    expect(sawCancel).toBe(true);
    expect(e).toBeInstanceOf(KeyboardInterrupt);
    expect(fut.cancelled()).toBe(true);
    expect(process.listenerCount("SIGINT")).toBe(0);
  });

  it.runIf(canHandle)("test_interrupt_call_soon: a task busy on sleep(0) is interrupted too", async () => {
    const e = await rejection(
      run(async () => {
        // (virtual time never passes while a task is always ready: interrupt from a callback)
        getRunningLoop().callSoon(() => process.emit("SIGINT"));
        for (;;) await sleep(0);
      }, V),
    );
    expect(e).toBeInstanceOf(KeyboardInterrupt);
  });

  it.runIf(canHandle)("test_interrupt_cancelled_task: a main task already cancelled by someone else ends with CancelledError", async () => {
    const e = await rejection(
      run(async () => {
        const main = currentTask()!;
        createTask(async () => {
          await sleep(0);
          main.cancel();
          process.emit("SIGINT");
        });
        await sleep(10_000);
      }, V),
    );
    expect(e).toBeInstanceOf(CancelledError);
    expect(e).not.toBeInstanceOf(KeyboardInterrupt);
  });
});
