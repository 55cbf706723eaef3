/**
 * Virtual time: a deadlock (every task blocked, no timer, no external work) fails fast with the task
 * dump instead of hanging. (Waits ~50 ms of real time for the check; asserts no duration.)
 */
import { describe, expect, it } from "vitest";
import { DeadlockError, EventLoop, createTask, getRunningLoop, sleep, type ExceptionContext } from "../../src/index.js";

describe("deadlock on virtual time", () => {
  it("is reported with the task dump, and the blocked tasks are cancelled", async () => {
    const loop = new EventLoop({ virtualTime: true, deadlockTimeout: 50 });
    const reports: ExceptionContext[] = [];
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    const main = loop.createTask(async () => {
      const never = getRunningLoop().createFuture<void>();
      await createTask(() => never, { name: "stuck-worker" });
    });
    const err = await loop.runUntilComplete(main).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeadlockError);
    expect((err as Error).message).toMatch(/deadlock on virtual time/);
    expect((err as Error).message).toMatch(/stuck-worker: waiting on Future/);
    expect(main.cancelled()).toBe(true);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.message).toMatch(/deadlock on virtual time/);
    expect(reports[0]!.message).toMatch(/stuck-worker: waiting on Future/);
    loop.close();
  });

  it("is not reported while a timer is pending, however far away", async () => {
    const loop = new EventLoop({ virtualTime: true, deadlockTimeout: 50 });
    const reports: ExceptionContext[] = [];
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    await loop.runUntilComplete(async () => {
      await sleep(86_400_000);
    });
    expect(reports).toEqual([]);
    expect(loop.time()).toBe(86_400_000);
    loop.close();
  });

  it("deadlockTimeout is validated", () => {
    expect(() => new EventLoop({ deadlockTimeout: 0 })).toThrow(
      "Expected deadlockTimeout to be a positive number of milliseconds, got 0 (number)",
    );
  });
});
