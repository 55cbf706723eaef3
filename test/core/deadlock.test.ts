/**
 * Virtual time: a deadlock (every task blocked, no timer, no external work) fails fast with the task
 * dump instead of hanging. (Waits ~50 ms of real time for the check; asserts no duration.)
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DeadlockError, EventLoop, createTask, fromPromise, getRunningLoop, run, sleep, type ExceptionContext } from "../../src/index.js";

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

describe("a run() that can no longer progress says so (never Node's silent exit 13)", () => {
  const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
  const program = (body: string, virtualTime: boolean): string => `
    import { run, getRunningLoop, createTask, sleep, fromPromise } from ${JSON.stringify(dist)};
    await run(async () => { ${body} }, { virtualTime: ${virtualTime}, deadlockTimeout: 50 });
    console.log("returned");
  `;
  const cases: Array<[string, string, RegExp]> = [
    ["a raw foreign promise that never settles", "await new Promise(() => {});", /Task-1: awaiting a promise that is not an asyncio-ts awaitable/],
    [
      "a future nobody completes, and a task waiting on another",
      'createTask(() => getRunningLoop().createFuture(), { name: "stuck" }); await getRunningLoop().createFuture();',
      /stuck: waiting on Future/,
    ],
    ["a wrapped foreign promise that never settles", "await fromPromise(new Promise(() => {}));", /Task-1: waiting on a foreign promise created at/],
    [
      "gather of coroutine promises that wait on a future nobody completes",
      "const f = getRunningLoop().createFuture(); const a = async () => { await f; }; await Promise.all([a(), a()]);",
      /Task-1: waiting on Future and Future/,
    ],
  ];
  for (const virtualTime of [false, true]) {
    for (const [what, body, shows] of cases) {
      it(`${what} (${virtualTime ? "virtual time" : "real clock"}): DeadlockError with the task dump, exit code 1`, () => {
        const r = spawnSync(process.execPath, ["--input-type=module", "-e", program(body, virtualTime)], {
          encoding: "utf8",
          timeout: 30_000,
        });
        expect(r.status).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/DeadlockError: asyncio-ts: deadlock/);
        expect(r.stderr).toMatch(shows);
        // each line says something new: the loop stopping is told once, not again by run()'s shutdown
        expect(r.stderr.split("still deadlocked after cancelling").length - 1).toBeLessThanOrEqual(1);
        expect(r.stderr.split("Tasks of the running event loop").length - 1).toBeLessThanOrEqual(2); // (the report, and the error's message)
      });
    }
  }
});

describe("virtual time is not frozen for ever by foreign work", () => {
  it("a pending foreign promise holds the clock for holdTimeout, then the clock jumps and says so", async () => {
    const loop = new EventLoop({ virtualTime: true, holdTimeout: 20 });
    const reports: ExceptionContext[] = [];
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    const r = await loop.runUntilComplete(async () => {
      const never = fromPromise(new Promise<never>(() => {}));
      const winner = await Promise.race([never, sleep(500, "timer")]);
      never.cancel();
      return [winner, getRunningLoop().time()];
    });
    expect(r).toEqual(["timer", 500]);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.message).toMatch(/virtual time waited 20 ms of real time for work that is not asyncio-ts's/);
    loop.close();
  });

  it("a fromPromise still in flight is no deadlock on virtual time, whatever deadlockTimeout says", async () => {
    const r = await run(
      async () => {
        // (a real timer outside the loop settles it after 150 ms of real time; no timer of the loop pending)
        return await fromPromise(new Promise<string>((resolve) => setTimeout(() => resolve("done"), 150)));
      },
      { virtualTime: true, deadlockTimeout: 50, holdTimeout: 5000 },
    );
    expect(r).toBe("done");
  });

  it("holdTimeout is validated", () => {
    expect(() => new EventLoop({ holdTimeout: -1 })).toThrow(
      "Expected holdTimeout to be a positive number of milliseconds, got -1 (number)",
    );
  });
});

describe("the deadlock check looks again after the loop went on (it armed once only before)", () => {
  // (the check's timer saw that the loop had run an iteration since it was armed and gave up for good:
  // the next idle moment could not arm it while that timer was pending; found by a probe)
  it("an outside callSoonThreadsafe while the check waits: the deadlock is still reported", async () => {
    const loop = new EventLoop({ virtualTime: true, deadlockTimeout: 50 });
    loop.setExceptionHandler(() => {});
    const log: string[] = [];
    const main = loop.createTask(async () => {
      setTimeout(() => loop.callSoonThreadsafe(() => log.push("outside")), 10);
      await loop.createFuture<void>();
    });
    const err = await loop.runUntilComplete(main).then(
      () => null,
      (e: unknown) => e,
    );
    expect(log).toEqual(["outside"]);
    expect(err).toBeInstanceOf(DeadlockError);
    loop.close();
  });

  it("one task's two waits on a Barrier of three: reported", async () => {
    const { Barrier } = await import("../../src/index.js");
    const loop = new EventLoop({ virtualTime: true, deadlockTimeout: 50 });
    loop.setExceptionHandler(() => {});
    const main = loop.createTask(async () => {
      const b = new Barrier(3);
      const p1 = b.wait();
      const p2 = b.wait();
      p2.catch(() => {}); // (cancelled with p1 by the report)
      await p1;
    });
    const err = await loop.runUntilComplete(main).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeadlockError);
    loop.close();
  });
});

describe("runForever() that can no longer progress (stop 30's probe)", () => {
  // (it resolved as if stop() had been called, so its caller could not tell; the report said "code of
  // finished tasks still waits" with no such code)
  const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
  const cases: Array<[string, string, RegExp | null]> = [
    ["a task blocked on a future nobody completes", 'loop.createTask(async () => await loop.createFuture(), { name: "stuck" });', /stuck: waiting on Future/],
    ["nothing scheduled at all", "", null],
  ];
  for (const virtualTime of [false, true]) {
    for (const [what, body, shows] of cases) {
      it(`${what} (${virtualTime ? "virtual time" : "real clock"}): runForever() rejects with the DeadlockError, exit code 1`, () => {
        const program = `
          import { newEventLoop } from ${JSON.stringify(dist)};
          const loop = newEventLoop({ virtualTime: ${virtualTime}, deadlockTimeout: 50 });
          ${body}
          await loop.runForever();
          console.log("returned");`;
        const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000 });
        expect(r.stdout).toBe("");
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/DeadlockError: asyncio-ts: (still )?deadlock/);
        if (shows !== null) expect(r.stderr).toMatch(shows);
        expect(r.stderr).not.toMatch(/code of finished tasks/);
      });
    }
  }
});

describe("runForever() after a deadlock the program recovered from (stop 30's probe)", () => {
  it("the task catches the cancellation and calls stop(): runForever() resolves, as stop() makes it", async () => {
    const loop = new EventLoop({ virtualTime: true, deadlockTimeout: 50 });
    const reports: string[] = [];
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx.message));
    loop.createTask(async () => {
      try {
        await loop.createFuture<void>();
      } catch {
        await sleep(5);
        loop.stop();
      }
    });
    await expect(loop.runForever()).resolves.toBeUndefined(); // (it rejected with the DeadlockError)
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/deadlock on virtual time/);
    loop.close();
  });
});
