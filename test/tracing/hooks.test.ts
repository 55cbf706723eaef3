/**
 * The instrumentation hooks: composition, the derived onTaskScheduled, instrumenting every new loop,
 * and the process-wide defaults that `aio run` sets.
 */
import { afterEach, describe, expect, it } from "vitest";
import { EventLoop, createTask, getRunningLoop, newEventLoop, run, sleep, gather } from "../../src/index.js";
import { installTracer, instrumentNewLoops, type Instrument } from "../../src/tracing/index.js";
import { newLoopHooks } from "../../src/core/instruments.js";

afterEach(() => {
  delete process.env["ASYNCIO_TS_VIRTUAL_TIME"];
  delete process.env["ASYNCIO_TS_DEBUG"];
});

/** An instrument that logs every hook as "<time> <hook> <task>". */
function logger(log: string[]): Instrument {
  const at = (t: { _loop: EventLoop; getName(): string }, what: string): void => void log.push(`${t._loop.time()} ${what} ${t.getName()}`);
  return {
    onTaskCreated: (t) => at(t, "created"),
    onTaskScheduled: (t) => at(t, "scheduled"),
    onStepStart: (t) => at(t, "start"),
    onStepEnd: (t) => at(t, "end"),
    onTaskSuspended: (t, f) => at(t, `suspended(${f === null ? "yield" : f.constructor.name})`),
    onTaskDone: (t) => at(t, "done"),
  };
}

describe("installTracer", () => {
  it("reports a task's life in order: created, scheduled, steps, suspended, done", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const log: string[] = [];
    installTracer(loop, logger(log));
    await loop.runUntilComplete(async () => {
      await createTask(async () => {
        await sleep(100);
        await sleep(0);
      }, { name: "child" });
    });
    loop.close();
    const child = log.filter((l) => l.endsWith(" child"));
    expect(child).toEqual([
      "0 created child",
      "0 scheduled child",
      "0 start child",
      "0 suspended(SleepFuture) child",
      "0 end child",
      "100 scheduled child",
      "100 start child",
      "100 suspended(yield) child",
      "100 scheduled child",
      "100 end child",
      "100 start child",
      "100 done child",
      "100 end child",
    ]);
  });

  it("schedules every task waiting on one future once it completes", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const scheduled: string[] = [];
    installTracer(loop, { onTaskScheduled: (t) => scheduled.push(`${loop.time()} ${t.getName()}`) });
    await loop.runUntilComplete(async () => {
      const fut = getRunningLoop().createFuture<number>();
      const a = createTask(async () => await fut, { name: "a" });
      const b = createTask(async () => await fut, { name: "b" });
      getRunningLoop().callLater(50, () => fut.setResult(1));
      await gather(a, b);
    });
    loop.close();
    expect(scheduled.filter((s) => !s.includes("Task-"))).toEqual(["0 a", "0 b", "50 a", "50 b"]);
  });

  it("composes several instruments and removes them one by one; none left means no tracer", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const a: string[] = [];
    const b: string[] = [];
    const removeA = installTracer(loop, { onTaskCreated: (t) => a.push(t.getName()) });
    const removeB = installTracer(loop, { onTaskDone: (t) => b.push(t.getName()) });
    await loop.runUntilComplete(async () => {}, );
    removeA();
    await loop.runUntilComplete(async () => {});
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(2);
    removeB();
    expect(loop._tracer).toBeNull();
    loop.close();
  });

  it("rejects bad arguments, naming them", () => {
    expect(() => installTracer(null as never)).toThrow(/Expected loop to be an EventLoop, got null/);
    const loop = newEventLoop();
    expect(() => installTracer(loop, 3 as never)).toThrow(/Expected instruments\[0\] to be an object of hook functions, got 3 \(number\)/);
    loop.close();
    expect(() => instrumentNewLoops("x" as never)).toThrow(/Expected factory to be a function/);
  });
});

describe("instrumentNewLoops", () => {
  it("instruments every loop created while it is on, and only those", async () => {
    const names: string[] = [];
    const stop = instrumentNewLoops(() => ({ onTaskCreated: (t) => names.push(t.getName()) }));
    expect(newLoopHooks.list).not.toBeNull();
    await run(async () => {}, { virtualTime: true, name: "first" });
    await run(async () => {}, { virtualTime: true, name: "second" });
    stop();
    expect(newLoopHooks.list).toBeNull();
    await run(async () => {}, { virtualTime: true, name: "third" });
    expect(names).toEqual(["first", "second"]);
  });

  it("a factory may skip a loop by returning null", async () => {
    const seen: string[] = [];
    const stop = instrumentNewLoops((loop) => (loop.clock.virtual ? { onTaskCreated: (t) => seen.push(t.getName()) } : null));
    await run(async () => {}, { name: "real" });
    await run(async () => {}, { virtualTime: true, name: "virtual" });
    stop();
    expect(seen).toEqual(["virtual"]);
  });
});

describe("process-wide defaults", () => {
  it("ASYNCIO_TS_VIRTUAL_TIME=1 gives virtual time to loops whose options do not say", async () => {
    process.env["ASYNCIO_TS_VIRTUAL_TIME"] = "1";
    expect(new EventLoop().clock.virtual).toBe(true);
    expect(new EventLoop({ virtualTime: false }).clock.virtual).toBe(false);
    const t = await run(async () => {
      await sleep(60_000);
      return getRunningLoop().time();
    });
    expect(t).toBe(60_000);
  });

  it("ASYNCIO_TS_DEBUG=1 turns debug mode on", () => {
    process.env["ASYNCIO_TS_DEBUG"] = "1";
    expect(new EventLoop().getDebug()).toBe(true);
    expect(new EventLoop({ debug: false }).getDebug()).toBe(false);
  });

  it("rejects a bad blockedThreshold, naming it", () => {
    expect(() => new EventLoop({ blockedThreshold: 0 })).toThrow(/Expected blockedThreshold to be a positive number of milliseconds, got 0 \(number\)/);
  });
});
