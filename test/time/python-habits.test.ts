/**
 * Errors for Python habits (issue 16): the messages a newcomer from asyncio hits name the fix.
 * Timeouts say after how many milliseconds they expired (CPython's `TimeoutError` has an empty message),
 * and below 10 ms ask whether seconds were meant; code run outside every loop says where to call it.
 * All on virtual time.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, Future, RuntimeError, TimeoutError, createTask, failAfter, getRunningLoop, run, sleep, timeout, timeoutAt } from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };

/** The error of `p`, checked to be a `TimeoutError` that keeps its class, its name and its cause. */
async function timedOut(p: Promise<unknown>): Promise<TimeoutError> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(TimeoutError);
  expect((e as Error).name).toBe("TimeoutError");
  return e as TimeoutError;
}

describe("outside every loop, the error says where to call", () => {
  const WHERE = "call this inside await run(async () => { ... }) (the program's main function, and what it awaits or starts), or in a task or callback of a loop that runs loop.runUntilComplete(...)";

  it("getRunningLoop(), createTask(), sleep(), timeout(): no running event loop, and where one runs", async () => {
    for (const f of [() => getRunningLoop(), () => createTask(async () => 1), () => sleep(10)]) {
      expect(f).toThrow(RuntimeError);
      expect(f).toThrow(`no running event loop: ${WHERE}`);
    }
    await expect(timeout(10, () => 1)).rejects.toThrow(`no running event loop: ${WHERE}`);
  });

  it("new Future() with no loop: where to call it, or how to give it a loop", () => {
    expect(() => new Future()).toThrow(
      "There is no current event loop for new Future(): call it inside await run(async () => { ... }) or a loop's runUntilComplete(...), " +
        "or pass the loop ({ loop }), or make one current first (getEventLoop(), setEventLoop(loop))",
    );
  });

  it("timeoutAt() outside a task (in a loop's callback): where to await it", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const f = loop.createFuture<unknown>();
      loop.callSoon(() => void timeoutAt(10, () => 1).catch((e: unknown) => f.setResult(e)));
      const e = await f;
      expect(e).toBeInstanceOf(RuntimeError);
      expect((e as Error).message).toBe(
        "Timeout should be used inside a task: await it in the function given to await run(async () => { ... }) or in a task " +
          "(createTask(...)), not in a loop's callback or outside a loop",
      );
    }, V);
  });
});

describe("a TimeoutError says after how many ms, and below 10 ms asks whether seconds were meant", () => {
  it("timeout(0.5, ...): the message asks for timeout(500, ...); instanceof, name and cause are kept", async () => {
    await run(async () => {
      const e = await timedOut(timeout(0.5, () => sleep(1000)));
      expect(e.message).toBe("Timed out after 0.5 ms (timeout(0.5, ...): asyncio-ts counts milliseconds; for half a second write timeout(500, ...))");
      expect(e.cause).toBeInstanceOf(CancelledError);
      expect(getRunningLoop().time()).toBe(0.5);
    }, V);
  });

  it("timeout(ms, ...) for other delays: 1 and 2.5 ms ask, 0 and 10 ms and more only say the delay", async () => {
    await run(async () => {
      expect((await timedOut(timeout(1, () => sleep(1000)))).message).toBe(
        "Timed out after 1 ms (timeout(1, ...): asyncio-ts counts milliseconds; for 1 second write timeout(1000, ...))",
      );
      expect((await timedOut(timeout(2.5, () => sleep(1000)))).message).toBe(
        "Timed out after 2.5 ms (timeout(2.5, ...): asyncio-ts counts milliseconds; for 2.5 seconds write timeout(2500, ...))",
      );
      expect((await timedOut(timeout(0, () => sleep(1000)))).message).toBe("Timed out after 0 ms");
      expect((await timedOut(timeout(10, () => sleep(1000)))).message).toBe("Timed out after 10 ms");
      expect((await timedOut(timeout(250, () => sleep(1000)))).message).toBe("Timed out after 250 ms");
    }, V);
  });

  it("timeoutAt(deadline, ...): after how long since the scope was entered, and the deadline in loop time", async () => {
    await run(async () => {
      await sleep(100);
      expect((await timedOut(timeoutAt(150, () => sleep(1000)))).message).toBe("Timed out after 50 ms (timeoutAt(150, ...), the scope entered at loop time 100)");
      const now = getRunningLoop().time(); // 150
      expect((await timedOut(timeoutAt(now + 0.5, () => sleep(1000)))).message).toBe(
        "Timed out after 0.5 ms (timeoutAt(150.5, ...), the scope entered at loop time 150: asyncio-ts counts milliseconds, loop.time() too; " +
          "for half a second write timeoutAt(loop.time() + 500, ...))",
      );
      expect((await timedOut(timeoutAt(100, () => sleep(1000)))).message).toBe(
        "Timed out at once (timeoutAt(100, ...), the scope entered at loop time 150.5, after that deadline)",
      );
    }, V);
  });

  it("a deadline moved by reschedule(): the message names it", async () => {
    await run(async () => {
      const e = await timedOut(
        timeout(1000, async (cm) => {
          cm.reschedule(getRunningLoop().time() + 30);
          await sleep(5000);
        }),
      );
      expect(e.message).toBe("Timed out after 30 ms (reschedule(30), the scope entered at loop time 0)");
    }, V);
  });

  it("reschedule(loop.time() + 0.5) later in the scope: the hint counts from the reschedule, not from the entry", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const e = await timedOut(
        timeout(1000, async (cm) => {
          await sleep(8);
          cm.reschedule(loop.time() + 0.5); // meant: half a second from now
          await sleep(10_000);
        }),
      );
      expect(e.message).toBe(
        "Timed out after 8.5 ms (reschedule(8.5), the scope entered at loop time 0: asyncio-ts counts milliseconds, loop.time() too; " +
          "for half a second write reschedule(loop.time() + 500))",
      );
      // reschedule(loop.time()): expire now, no delay was given, so no seconds were meant
      const e2 = await timedOut(
        timeout(1000, async (cm) => {
          await sleep(3);
          cm.reschedule(loop.time());
          await sleep(10_000);
        }),
      );
      expect(e2.message).toBe("Timed out after 3 ms (reschedule(11.5), the scope entered at loop time 8.5)");
      // a short delay from the entry but not from the reschedule: no hint
      const e3 = await timedOut(
        timeout(1000, async (cm) => {
          await sleep(5);
          cm.reschedule(loop.time() - 2);
          await sleep(10_000);
        }),
      );
      expect(e3.message).toBe("Timed out after 3 ms (reschedule(14.5), the scope entered at loop time 11.5)");
    }, V);
  });

  it("timeoutAt(NaN) and reschedule(NaN) say that NaN is not a number", async () => {
    await run(async () => {
      await expect(timeoutAt(NaN, () => sleep(0))).rejects.toThrow(
        new TypeError("Expected deadline to be a number of ms (loop time) or null, got NaN (not a number)"),
      );
      await timeout(100, (cm) => {
        expect(() => cm.reschedule(NaN)).toThrow(new TypeError("Expected when to be a number of ms (loop time) or null, got NaN (not a number)"));
        expect(() => cm.reschedule("5" as never)).toThrow(new TypeError('Expected when to be a number of ms (loop time) or null, got "5" (string)'));
      });
    }, V);
  });

  it("failAfter(ms, ...): below 10 ms it asks whether seconds were meant (its message is otherwise unchanged)", async () => {
    await run(async () => {
      expect((await timedOut(failAfter(0.5, () => sleep(1000)))).message).toBe(
        "failAfter(0.5) expired after 0.5 ms (asyncio-ts counts milliseconds; for half a second write failAfter(500, ...))",
      );
      expect((await timedOut(failAfter(100, () => sleep(1000)))).message).toBe("failAfter(100) expired");
    }, V);
  });
});
