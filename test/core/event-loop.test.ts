/**
 * The event loop's own behaviours (CPython's base_events semantics the task tests rely on), bad-input
 * errors, foreign promise awaits, and virtual time.
 */
import { describe, expect, it } from "vitest";
import {
  allTasks,
  CancelledError,
  EventLoop,
  RuntimeError,
  createTask,
  currentTask,
  fromPromise,
  getRunningLoop,
  newEventLoop,
  run,
  sleep,
  Task,
  type ExceptionContext,
} from "../../src/index.js";
import { RealClock, VirtualClock, advanceClock, waitAllTasksBlocked } from "../../src/testing/index.js";
import { rejection, runBriefly, virtualLoop } from "./helpers.js";

const V = { virtualTime: true };

describe("scheduling", () => {
  it("callSoon runs callbacks in FIFO order, with their arguments", async () => {
    const loop = virtualLoop();
    const got: unknown[] = [];
    loop.callSoon((a: number, b: string) => got.push([a, b]), 1, "x");
    loop.callSoon(() => got.push(2));
    await runBriefly(loop);
    expect(got).toEqual([[1, "x"], 2]);
    loop.close();
  });

  it("a callback scheduled by a callback runs in the next iteration, after what was already ready", async () => {
    const order: string[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      const t = createTask(async () => {
        order.push("task step 1");
        await sleep(0);
        order.push("task step 2");
      });
      loop.callSoon(() => {
        order.push("cb1");
        loop.callSoon(() => order.push("cb1's child"));
      });
      await t;
    });
    expect(order).toEqual(["task step 1", "cb1", "task step 2", "cb1's child"]);
  });

  it("a cancelled handle never runs", async () => {
    const loop = virtualLoop();
    const got: number[] = [];
    const h = loop.callSoon(() => got.push(1));
    const t = loop.callLater(10, () => got.push(2));
    h.cancel();
    t.cancel();
    expect(h.cancelled() && t.cancelled()).toBe(true);
    await loop.runUntilComplete(() => sleep(20));
    expect(got).toEqual([]);
    loop.close();
  });

  it("timers fire in deadline order, ties in CPython's heap order, at exact virtual times", async () => {
    const got: string[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      loop.callLater(20, () => got.push(`b@${loop.time()}`));
      loop.callLater(10, () => got.push(`a@${loop.time()}`));
      loop.callAt(20, () => got.push(`c@${loop.time()}`));
      const h = loop.callLater(5, () => got.push("x"));
      expect(h.when()).toBe(5);
      await sleep(30);
    }, V);
    // CPython 3.13 prints x, a, c, b: popping x and a reshapes its heap (heapq is not stable), so c,
    // scheduled after b for the same time, fires first (see src/core/timer-heap.ts).
    expect(got).toEqual(["x", "a@10", "c@20", "b@20"]);
  });

  it("callLater(Infinity) never fires; the loop does not wait for it", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      let fired = false;
      loop.callLater(Infinity, () => (fired = true));
      await sleep(1000);
      expect(fired).toBe(false);
    }, V);
  });

  it("an error in a callback goes to the exception handler and the loop goes on", async () => {
    const seen: ExceptionContext[] = [];
    const err = new Error("cb");
    const r = await run(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, c) => void seen.push(c));
      loop.callSoon(function failing() {
        throw err;
      });
      await sleep(0);
      await sleep(0);
      return "went on";
    });
    expect(r).toBe("went on");
    expect(seen).toHaveLength(1);
    expect(seen[0]!.message).toBe("Exception in callback failing");
    expect(seen[0]!.exception).toBe(err);
  });

  it("an exception handler that throws falls back to the default handler", async () => {
    const errors: unknown[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.join(" "));
    try {
      await run(async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler(() => {
          throw new Error("handler broke");
        });
        loop.callSoon(() => {
          throw new Error("cb");
        });
        await sleep(0);
        await sleep(0);
      });
    } finally {
      console.error = orig;
    }
    expect(errors.join("\n")).toContain("Unhandled error in exception handler");
  });

  it("stop() ends runForever after the current iteration; the rest runs next time", async () => {
    const loop = virtualLoop();
    const got: string[] = [];
    loop.callSoon(() => {
      got.push("a");
      loop.stop();
    });
    loop.callSoon(() => got.push("b")); // same iteration: still runs
    loop.callSoon(() => loop.callSoon(() => got.push("c"))); // next iteration: after the stop
    await loop.runForever();
    expect(got).toEqual(["a", "b"]);
    expect(loop.isRunning()).toBe(false);
    await runBriefly(loop);
    expect(got).toEqual(["a", "b", "c"]);
    loop.close();
  });

  it("runUntilComplete of a done future, of a function, of a foreign promise", async () => {
    const loop = virtualLoop();
    const f = loop.createFuture<number>();
    f.setResult(1);
    expect(await loop.runUntilComplete(f)).toBe(1);
    expect(await loop.runUntilComplete(async () => 2)).toBe(2);
    expect(await loop.runUntilComplete(Promise.resolve(3))).toBe(3);
    loop.close();
  });
});

describe("misuse is a clear error", () => {
  it("bad delays: negative, NaN, non-numbers", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      expect(() => loop.callLater(-1, () => {})).toThrow("Expected delay to be a non-negative number of milliseconds, got -1 (number)");
      expect(() => loop.callLater(NaN, () => {})).toThrow(RangeError);
      expect(() => loop.callAt(NaN, () => {})).toThrow(new RangeError("Expected when to be a number (a loop time in ms), got NaN (number)"));
      // (not a number: a TypeError, as the project's every other check; callLater("5") was a RangeError)
      expect(() => loop.callLater("5" as never, () => {})).toThrow(new TypeError('Expected delay to be a non-negative number of milliseconds, got "5" (string)'));
      expect(() => loop.callAt("5" as never, () => {})).toThrow(new TypeError('Expected when to be a number (a loop time in ms), got "5" (string)'));
      // (the twin of asyncio.Task(coro), allTasks(42), currentTask(42): internal errors before)
      expect(() => new Task(async () => 1, undefined, undefined as never)).toThrow(TypeError);
      expect(() => new Task(async () => 1, undefined, undefined as never)).toThrow(/use createTask\(fn\)/);
      expect(() => allTasks(42 as never)).toThrow(new TypeError("Expected loop to be an EventLoop, got 42 (number)"));
      expect(() => currentTask(42 as never)).toThrow(new TypeError("Expected loop to be an EventLoop, got 42 (number)"));
      expect(() => loop.callSoon(42 as never)).toThrow("Expected callback to be a function, got 42 (number)");
      expect(() => loop.callLater(10, "x" as never)).toThrow(TypeError);
      expect(() => sleep(-1)).toThrow("Expected ms to be a non-negative number of milliseconds, got -1 (number)");
      expect(() => sleep(NaN)).toThrow(RangeError);
      expect(() => sleep("10" as never)).toThrow('Expected ms to be a number, got "10" (string)');
    });
  });

  it("test_sleep_when_delay_is_nan: a task sleeping NaN fails with the error", async () => {
    await run(async () => {
      const t = createTask(() => sleep(NaN));
      expect(await rejection(t)).toBeInstanceOf(RangeError);
    });
  });

  it("running a running loop, closing a running loop, no running loop", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      await expect(loop.runForever()).rejects.toThrow("This event loop is already running");
      await expect(loop.runUntilComplete(async () => 1)).rejects.toThrow("This event loop is already running");
      expect(() => loop.close()).toThrow("Cannot close a running event loop");
      const other = virtualLoop();
      await expect(other.runUntilComplete(async () => 1)).rejects.toThrow(RuntimeError);
      other.close();
    });
    expect(() => getRunningLoop()).toThrow("no running event loop");
    expect(() => sleep(10)).toThrow("no running event loop");
  });

  it("closing twice is fine; a closed loop refuses to run", async () => {
    const loop = virtualLoop();
    loop.close();
    loop.close();
    expect(loop.isClosed()).toBe(true);
    await expect(loop.runForever()).rejects.toThrow("Event loop is closed");
  });

  it("bad loop options", () => {
    expect(() => new EventLoop({ slowCallbackDuration: -1 })).toThrow(RangeError);
    expect(() => new EventLoop(42 as never)).toThrow("Expected options to be an object, got 42 (number)");
    expect(() => new VirtualClock({ start: NaN })).toThrow(TypeError);
    expect(() => new VirtualClock().advance(-5)).toThrow(RangeError);
    // (a misspelt option would leave the clock jumping in a test meant to drive it by hand)
    expect(() => new VirtualClock({ autojmp: false } as never)).toThrow(/Unknown option "autojmp" of VirtualClock/);
    expect(() => new VirtualClock({ autojump: "false" } as never)).toThrow('Expected options.autojump to be a boolean, got "false" (string)');
  });
});

describe("foreign promises", () => {
  it("a raw await of a foreign promise does not block the loop; the task's later awaits are cancellable", async () => {
    await run(async () => {
      let resolveForeign!: (v: string) => void;
      const foreign = new Promise<string>((r) => (resolveForeign = r));
      const log: string[] = [];
      const a = createTask(async () => {
        const v = await foreign; // not ours: the loop lets this step go
        log.push(`a got ${v}, current task is a: ${currentTask() === a}`);
        await sleep(1000);
        log.push("a slept");
      });
      const b = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          log.push(`b${i}`);
          await sleep(0);
        }
        resolveForeign("x"); // only possible if the loop kept running b while a waited
      });
      await b;
      while (log.length < 4) await sleep(0);
      a.cancel();
      expect(await rejection(a)).toBeInstanceOf(CancelledError);
      expect(log).toEqual(["b0", "b1", "b2", "a got x, current task is a: true"]);
    }, V);
  });

  it("a cancel during a raw foreign await takes effect at the task's next await of ours", async () => {
    await run(async () => {
      let resolveForeign!: () => void;
      const foreign = new Promise<void>((r) => (resolveForeign = r));
      const log: string[] = [];
      const a = createTask(async () => {
        await foreign;
        log.push("after foreign");
        await sleep(10);
        log.push("unreachable");
      });
      await sleep(0);
      await sleep(0);
      a.cancel();
      resolveForeign();
      expect(await rejection(a)).toBeInstanceOf(CancelledError);
      expect(log).toEqual(["after foreign"]);
    }, V);
  });

  it("fromPromise makes a foreign await cancellable at once", async () => {
    await run(async () => {
      const never = new Promise<void>(() => {});
      const a = createTask(() => fromPromise(never));
      await sleep(0); // (not sleep(5): a pending fromPromise holds virtual time, by design)
      await sleep(0);
      a.cancel();
      expect(await rejection(a)).toBeInstanceOf(CancelledError);
      await sleep(5); // the hold was released with the cancel: time moves again
      expect(getRunningLoop().time()).toBe(5);
    }, V);
  });

  it("fromPromise holds virtual time: the clock does not jump over a pending foreign promise", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const timer = createTask(() => sleep(1000, "timer"));
      const foreign = new Promise<string>((r) => setImmediate(() => setImmediate(() => setImmediate(() => r("io")))));
      expect(await fromPromise(foreign)).toBe("io");
      expect(loop.time()).toBe(0);
      expect(timer.done()).toBe(false);
      expect(await timer).toBe("timer");
      expect(loop.time()).toBe(1000);
    }, V);
  });

  it("fromPromise: bad input is a clear error", async () => {
    await run(async () => {
      expect(() => fromPromise(42 as never)).toThrow("Expected promise to be a promise, got 42 (number)");
    });
  });
});

describe("virtual time (asyncio-ts/testing)", () => {
  it("waitAllTasksBlocked() from two tasks at once: both return, each counting the other as blocked (Trio's rule)", async () => {
    for (const virtualTime of [true, false]) {
      const r = await run(
        async () => {
          const t0 = getRunningLoop().time();
          const sleeper = createTask(() => sleep(1000, "slept"));
          const a = createTask(() => waitAllTasksBlocked());
          await waitAllTasksBlocked();
          await a;
          const waited = getRunningLoop().time() - t0;
          return [sleeper.done(), await sleeper, waited < 1000];
        },
        { virtualTime },
      );
      expect(r).toEqual([false, "slept", true]);
    }
  });

  it("autojump: a program that sleeps for a day runs at once, with exact timestamps", async () => {
    const stamps: number[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      await sleep(86_400_000);
      stamps.push(loop.time());
      await Promise.all([sleep(1), sleep(2)]);
      stamps.push(loop.time());
    }, V);
    expect(stamps).toEqual([86_400_000, 86_400_002]);
  });

  it("VirtualClock({ autojump: false }) moves only with advanceClock", async () => {
    const loop = newEventLoop({ clock: new VirtualClock({ autojump: false }) });
    const r = await loop.runUntilComplete(async () => {
      const t = createTask(() => sleep(1000, "woke"));
      await waitAllTasksBlocked();
      expect(loop.time()).toBe(0);
      advanceClock(999);
      await waitAllTasksBlocked();
      expect(t.done()).toBe(false);
      advanceClock(1);
      const v = await t;
      return [v, loop.time()];
    });
    expect(r).toEqual(["woke", 1000]);
    loop.close();
  });

  it("advanceClock can be called from outside the loop", async () => {
    const clock = new VirtualClock({ autojump: false, start: 100 });
    const loop = newEventLoop({ clock });
    const t = loop.createTask(() => sleep(50, "done"));
    const p = loop.runUntilComplete(t);
    await new Promise((r) => setImmediate(r));
    expect(t.done()).toBe(false);
    advanceClock(50, loop);
    expect(await p).toBe("done");
    expect(loop.time()).toBe(150);
    loop.close();
  });

  it("advanceClock needs a VirtualClock", () => {
    const loop = newEventLoop({ clock: new RealClock() });
    expect(() => advanceClock(10, loop)).toThrow(TypeError);
    loop.close();
  });

  it("waitAllTasksBlocked returns once every other task is blocked", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<void>();
      const steps: number[] = [];
      const tasks = [0, 1, 2].map((i) =>
        createTask(async () => {
          for (let k = 0; k <= i * 3; k++) {
            steps.push(i);
            await sleep(0);
          }
          await fut;
        }),
      );
      await waitAllTasksBlocked();
      expect(steps.filter((s) => s === 2)).toHaveLength(7);
      expect(tasks.every((t) => !t.done())).toBe(true);
      expect(loop.time()).toBe(0);
      fut.setResult();
      await Promise.all(tasks);
    }, V);
  });
});
