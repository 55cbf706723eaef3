/**
 * Property test: random producers and consumers on a (bounded or unbounded) Queue, with random
 * cancellations and aborts of both. No item may be lost or duplicated: every item whose `put()`
 * succeeded is got exactly once (or is still in the queue at the end), no cancelled `put()` leaves an
 * item behind, and no waiter is woken twice.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CancelledError, LifoQueue, PriorityQueue, Queue, createTask, gather, run, sleep, timeout } from "../../src/index.js";
import { Waiter } from "../../src/sync/wait-queue.js";

let doubleWakes = 0;
const originalSetResult = Waiter.prototype.setResult;
beforeEach(() => {
  doubleWakes = 0;
  Waiter.prototype.setResult = function (this: Waiter<unknown>, v: unknown) {
    if (this.done()) doubleWakes++;
    return originalSetResult.call(this, v);
  };
});
afterEach(() => {
  Waiter.prototype.setResult = originalSetResult;
});

const interrupt = fc.record({
  at: fc.integer({ min: 0, max: 10 }),
  yields: fc.integer({ min: 0, max: 3 }),
  who: fc.nat(),
  how: fc.constantFrom("cancel", "abort"),
});
const scenario = fc.record({
  kind: fc.constantFrom("fifo", "lifo", "priority"),
  maxsize: fc.integer({ min: 0, max: 3 }),
  producers: fc.array(fc.array(fc.constantFrom(-1, 0, 1, 2), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 3 }),
  consumers: fc.array(fc.constantFrom(-1, 0, 1, 2), { minLength: 1, maxLength: 3 }),
  interrupts: fc.array(interrupt, { maxLength: 4 }),
});

const pause = (n: number) => (n === 0 ? sleep(0) : sleep(n));
const isInterruption = (r: unknown) => r === undefined || r instanceof CancelledError || (r instanceof Error && r.message === "aborted");

describe("Queue under random interleavings", () => {
  it("loses no item, duplicates no item, wakes no waiter twice", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ kind, maxsize, producers, consumers, interrupts }) => {
        const put: number[] = [];
        const got: number[] = [];
        const left: number[] = [];
        await run(
          async () => {
            const q = kind === "fifo" ? new Queue<number>(maxsize) : kind === "lifo" ? new LifoQueue<number>(maxsize) : new PriorityQueue<number>(maxsize);
            const actors = producers.length + consumers.length;
            const controllers = Array.from({ length: actors }, () => new AbortController());
            const opts = (i: number) => (controllers[i]!.signal.aborted ? undefined : { signal: controllers[i]!.signal });
            let next = 0;
            const ps = producers.map((pauses, i) =>
              createTask(async () => {
                for (const p of pauses) {
                  const item = next++;
                  if (p >= 0) await pause(p);
                  await q.put(item, opts(i));
                  put.push(item);
                }
              }),
            );
            const cs = consumers.map((p, j) =>
              createTask(async () => {
                for (;;) {
                  const item = await q.get(opts(producers.length + j));
                  got.push(item);
                  if (p >= 0) await pause(p);
                }
              }),
            );
            const all = [...ps, ...cs];
            const interrupter = createTask(async () => {
              for (const it of [...interrupts].sort((a, b) => a.at - b.at)) {
                await sleep(it.at);
                for (let y = 0; y < it.yields; y++) await sleep(0);
                const idx = it.who % actors;
                if (it.how === "cancel") all[idx]!.cancel();
                else controllers[idx]!.abort(new Error("aborted"));
              }
            });
            await timeout(10_000, async () => {
              // Producers end (or are interrupted); a producer blocked on a full queue with no consumer
              // left is released by shutdown below.
              await gather(interrupter);
              while (ps.some((t) => !t.done()) && cs.some((t) => !t.done())) await sleep(1);
              q.shutdown();
              const results = await gather(...all, { returnExceptions: true });
              for (const r of results) {
                if (!isInterruption(r) && r?.constructor?.name !== "QueueShutDown") throw r;
              }
            });
            while (!q.empty()) left.push(q.getNowait());
            expect(q.statistics()).toMatchObject({ getters: 0, putters: 0 });
          },
          { virtualTime: true },
        );
        const all = [...got, ...left].sort((a, b) => a - b);
        expect(all).toEqual([...put].sort((a, b) => a - b));
        expect(new Set(all).size).toBe(all.length);
        expect(doubleWakes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
