/**
 * Property tests: random interleavings of acquire / hold / release / cancel / abort on Lock, Semaphore,
 * BoundedSemaphore and CapacityLimiter, checking the invariants that CPython's design guarantees:
 * permits never exceed the bound, no waiter is woken twice, no permit or wake-up is lost (every task
 * that is not cancelled finishes, and every permit is back at the end).
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BoundedSemaphore,
  CancelledError,
  CapacityLimiter,
  Lock,
  Semaphore,
  createTask,
  gather,
  run,
  sleep,
  timeout,
} from "../../src/index.js";
import { Waiter } from "../../src/sync/wait-queue.js";

/** Counts wake-ups of waiters that were already done (must stay 0). */
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

interface Primitive {
  acquire(signal: AbortSignal | undefined): PromiseLike<unknown>;
  release(): void;
  free(): number;
  waiters(): number;
}

const kinds = {
  lock: (): [Primitive, number] => {
    const l = new Lock();
    return [
      { acquire: (signal) => l.acquire({ signal }), release: () => l.release(), free: () => (l.locked() ? 0 : 1), waiters: () => l.statistics().waiters },
      1,
    ];
  },
  semaphore: (k: number): [Primitive, number] => {
    const s = new Semaphore(k);
    return [
      { acquire: (signal) => s.acquire({ signal }), release: () => s.release(), free: () => s._value, waiters: () => s.statistics().waiters },
      k,
    ];
  },
  bounded: (k: number): [Primitive, number] => {
    const s = new BoundedSemaphore(k);
    return [
      { acquire: (signal) => s.acquire({ signal }), release: () => s.release(), free: () => s._value, waiters: () => s.statistics().waiters },
      k,
    ];
  },
  limiter: (k: number): [Primitive, number] => {
    const c = new CapacityLimiter(k);
    return [
      { acquire: (signal) => c.acquire({ signal }), release: () => c.release(), free: () => c.availableTokens, waiters: () => c.statistics().tasksWaiting },
      k,
    ];
  },
};

const op = fc.record({
  before: fc.constantFrom(-1, 0, 1, 2), // -1: no await before acquiring
  hold: fc.constantFrom(-1, 0, 1, 3), // -1: release without awaiting
  // with a signal: the async path (abortable); without: the contended waiter is awaited directly
  signal: fc.boolean(),
});
const interrupt = fc.record({
  at: fc.integer({ min: 0, max: 12 }),
  yields: fc.integer({ min: 0, max: 3 }),
  task: fc.nat(),
  how: fc.constantFrom("cancel", "abort"),
});
const scenario = fc.record({
  kind: fc.constantFrom("lock", "semaphore", "bounded", "limiter") as fc.Arbitrary<keyof typeof kinds>,
  k: fc.integer({ min: 1, max: 3 }),
  tasks: fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
  interrupts: fc.array(interrupt, { maxLength: 4 }),
});

const pause = (n: number) => (n === 0 ? sleep(0) : sleep(n));

describe("sync primitives under random interleavings", () => {
  it("never exceed the bound, never wake a waiter twice, never lose a permit or a wake-up", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ kind, k, tasks, interrupts }) => {
        let maxHeld = 0;
        let bound = 0;
        await run(
          async () => {
            const [prim, b] = kinds[kind](k);
            bound = b;
            let held = 0;
            const controllers = tasks.map(() => new AbortController());
            const ts = tasks.map((ops, i) =>
              createTask(async () => {
                for (const o of ops) {
                  if (o.before >= 0) await pause(o.before);
                  await prim.acquire(o.signal && !controllers[i]!.signal.aborted ? controllers[i]!.signal : undefined);
                  held++;
                  maxHeld = Math.max(maxHeld, held);
                  try {
                    if (o.hold >= 0) await pause(o.hold);
                  } finally {
                    held--;
                    prim.release();
                  }
                }
              }),
            );
            const interrupter = createTask(async () => {
              for (const it of [...interrupts].sort((a, b) => a.at - b.at)) {
                await sleep(it.at);
                for (let y = 0; y < it.yields; y++) await sleep(0);
                const idx = it.task % ts.length;
                if (it.how === "cancel") ts[idx]!.cancel();
                else controllers[idx]!.abort(new Error("aborted"));
              }
            });
            // A lost wake-up shows as a task that never finishes: the timeout turns it into a failure.
            const results = await timeout(10_000, () => gather(...ts, interrupter, { returnExceptions: true }));
            for (const r of results) {
              if (r !== undefined && !(r instanceof CancelledError) && !(r instanceof Error && r.message === "aborted")) {
                throw r;
              }
            }
            expect(held).toBe(0);
            expect(prim.free()).toBe(bound);
            expect(prim.waiters()).toBe(0);
          },
          { virtualTime: true },
        );
        expect(maxHeld).toBeLessThanOrEqual(bound);
        expect(doubleWakes).toBe(0);
      }),
      { numRuns: 400 },
    );
  });
});
