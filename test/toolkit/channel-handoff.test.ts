/**
 * Memory channels: a value handed to a waiting receiver whose cancellation arrives in the same step,
 * before the receiver runs (probe 29's finding: a rendezvous receiver in nested task groups inside
 * `timeout(1)`, a sender whose `sleep(1)` ends in the same step as the timeout).
 *
 * Trio (0.34, `trio/_channel.py`, `MemorySendChannel.send_nowait`: `reschedule(task, Value(value))`)
 * makes the hand-off final: the receiver's `receive()` returns the value and the cancellation comes at
 * its next checkpoint (twin: `[('buffer', 0), ('got', 1), ('cancelled', True), ('buffer', 0)]`). The
 * kernel here, as CPython's task with `_must_cancel`, throws `CancelledError` at the await that was woken
 * (`cancelAwait`, `REG_WAKE_CANCEL`), and a primitive must then pass what it was given on (CPython's
 * `Queue.get`, asyncio/queues.py: "if not self.empty() and not getter.cancelled(): self._wakeup_next").
 * Either side can be the one woken last, so one of three things must give (see channel.ts, "The hand-off
 * race"): the channel keeps "a cancelled send delivered nothing" and "a cancelled receive consumed
 * nothing", nothing is lost or duplicated, and the value given back may leave the buffer over its bound
 * until it is received (what these tests pin).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CancelledError, createTask, gather, run, sleep, taskGroup, timeout, TimeoutError, WouldBlock, type Task } from "../../src/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { openMemoryChannel } from "../../src/toolkit/channel.js";

const vrun = <T>(fn: () => Promise<T>): Promise<T> => run(fn, { virtualTime: true });

async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("a hand-off and the receiver's cancellation in the same step", () => {
  it("probe 29: receiver in nested task groups inside timeout(1), sender at 1 ms: nothing lost, the surplus drains first", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      const got: number[] = [];
      const receiver = createTask(() =>
        timeout(1, () =>
          taskGroup((tg0) => {
            tg0.createTask(() =>
              taskGroup((tg2) => {
                tg2.createTask(async () => {
                  got.push(await r.receive());
                });
              }),
            );
          }),
        ),
      );
      let firstSent = false;
      const sender = createTask(async () => {
        await sleep(1);
        await s.send(1);
        firstSent = true;
        await s.send(2);
      });
      expect(await rejection(receiver)).toBeInstanceOf(TimeoutError);
      expect(got).toEqual([]); // the cancelled receive consumed nothing
      expect(firstSent).toBe(true); // send(1) returned: the value was handed to the waiting receiver
      await waitAllTasksBlocked();
      // The value given back waits for the next receiver, first in line; no further value is let in
      // while it is there: the second send waits.
      expect(s.statistics()).toMatchObject({ currentBufferUsed: 1, maxBufferSize: 0, tasksWaitingSend: 1 });
      expect(thrown(() => s.sendNowait(3))).toBeInstanceOf(WouldBlock);
      expect(await r.receive()).toBe(1);
      expect(await r.receive()).toBe(2);
      await sender;
      expect(s.statistics()).toMatchObject({ currentBufferUsed: 0, tasksWaitingSend: 0, tasksWaitingReceive: 0 });
    });
  });

  it("minimal: sendNowait to a waiting receiver, then its cancel before it runs", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<string>(0);
      const a = createTask(() => r.receive());
      await waitAllTasksBlocked();
      s.sendNowait("v"); // handed to a: the send is complete
      a.cancel(); // same step, a has not run
      expect(await rejection(a)).toBeInstanceOf(CancelledError);
      expect(s.statistics().currentBufferUsed).toBe(1);
      expect(r.receiveNowait()).toBe("v");
      expect(s.statistics().currentBufferUsed).toBe(0);
    });
  });

  it("a send() that waited for the receiver, and the receiver cancelled as the sender delivers", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<string>(0);
      let rec: Task<string> | null = null;
      const snd = createTask(async () => {
        await s.send("v"); // woken with a slot by rec; delivers as it runs
        rec!.cancel(); // the receiver has not run since
      });
      await waitAllTasksBlocked();
      rec = createTask(() => r.receive());
      await snd;
      expect(await rejection(rec)).toBeInstanceOf(CancelledError);
      expect(r.receiveNowait()).toBe("v");
    });
  });
});

describe("property: same-step hand-offs and cancellations", () => {
  it("every value is received once, the rest in order; the surplus is at most the receivers cancelled after being handed one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 0, 1, 2),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        async (max, nReceivers, nValues, cancelMask) => {
          await vrun(async () => {
            const [s, r] = openMemoryChannel<number>(max);
            const rs = Array.from({ length: nReceivers }, () => createTask(() => r.receive()));
            await waitAllTasksBlocked();
            let sent = 0;
            while (sent < nValues) {
              try {
                s.sendNowait(sent);
              } catch (e) {
                if (e instanceof WouldBlock) break;
                throw e;
              }
              sent++;
            }
            let handedAndCancelled = 0;
            rs.forEach((t, i) => {
              if (cancelMask[i]) {
                if (i < Math.min(sent, nReceivers)) handedAndCancelled++;
                t.cancel();
              }
            });
            await waitAllTasksBlocked(); // the woken ones ran; a value given back went to the next in line
            expect(s.statistics().currentBufferUsed).toBeLessThanOrEqual(max + handedAndCancelled);
            for (const t of rs) t.cancel(); // the ones still parked (nothing handed to them)
            const results = await gather(...rs, { returnExceptions: true });
            const got: number[] = [];
            results.forEach((x, i) => {
              if (cancelMask[i]) expect(x).toBeInstanceOf(CancelledError);
              if (typeof x === "number") got.push(x);
              else expect(x).toBeInstanceOf(CancelledError);
            });
            const drained: number[] = [];
            for (;;) {
              try {
                drained.push(r.receiveNowait());
              } catch (e) {
                if (e instanceof WouldBlock) break;
                throw e;
              }
            }
            expect(drained).toEqual([...drained].sort((a, b) => a - b)); // what was left comes out in the order sent
            got.push(...drained);
            // every value sent received exactly once
            expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: sent }, (_, i) => i));
            expect(s.statistics()).toMatchObject({ currentBufferUsed: 0, tasksWaitingReceive: 0 });
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
