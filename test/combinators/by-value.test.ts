/**
 * Nothing is lost through any form: asyncio-ts operations passed by value to the combinators
 * (`waitFor(q.get(), ms)`, `waitFor(lock.acquire(), ms)`, `wait([q.put(x)], { timeout })`...), with
 * random deadlines, including 0 and deadlines that race the wake-up, behave as CPython's coroutines
 * would: an item is delivered or stays in the queue, a put is reported if and only if it happened, a lock,
 * a permit or a token is held by the caller or free. Property tests (fast-check) on virtual time.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Barrier,
  BrokenBarrierError,
  CancelledError,
  ThreadPoolExecutor,
  CapacityLimiter,
  Condition,
  Event,
  Lock,
  Queue,
  Semaphore,
  TimeoutError,
  createTask,
  ensureFuture,
  gather,
  getRunningLoop,
  run,
  shield,
  sleep,
  timeout,
  wait,
  waitFor,
} from "../../src/index.js";

/** How the caller hands the operation to a combinator with a deadline. */
const FORMS = [
  "waitFor-value",
  "waitFor-fn",
  "timeout",
  "wait-then-cancel",
  "gather-cancelled",
  "shield",
  "waitFor-gather",
  "waitFor-then",
  "gather-then-cancelled",
] as const;
type Form = (typeof FORMS)[number];

type Outcome<T> = { ok: true; value: T } | { ok: false };

/**
 * Run `op()` through `form` with deadline `d`; `{ ok: true }` when the operation's result reached us.
 * Timeouts and cancellations of the operation are `{ ok: false }`; anything else is rethrown.
 */
async function attempt<T>(form: Form, op: () => PromiseLike<T>, d: number): Promise<Outcome<T>> {
  const missed = (e: unknown): Outcome<T> => {
    if (e instanceof TimeoutError || e instanceof CancelledError) return { ok: false };
    throw e;
  };
  switch (form) {
    case "waitFor-value":
      return waitFor(op(), d).then((value) => ({ ok: true, value }), missed);
    case "waitFor-fn":
      return waitFor(() => op(), d).then((value) => ({ ok: true, value }), missed);
    case "timeout":
      return timeout(d, () => op()).then((value) => ({ ok: true, value }), missed);
    case "wait-then-cancel": {
      const f = ensureFuture(op());
      const [, pending] = await wait([f], { timeout: d });
      if (pending.size > 0) f.cancel();
      return Promise.resolve(f).then((value) => ({ ok: true, value }), missed);
    }
    case "gather-cancelled": {
      const g = gather(op());
      const timer = getRunningLoop().callLater(d, () => g.cancel());
      try {
        return { ok: true, value: (await g)[0] as T };
      } catch (e) {
        return missed(e);
      } finally {
        timer.cancel();
      }
    }
    case "waitFor-gather":
      // (the eager step of the gathered operation may finish it: with d = 0 the result still counts)
      return waitFor(gather(op()), d).then(([value]) => ({ ok: true, value: value as T }), missed);
    case "waitFor-then":
      // a promise derived from the operation (`q.get().then(f)`, `lock.acquire().then(f)`)
      return waitFor(op().then((v) => v), d).then((value) => ({ ok: true, value }), missed);
    case "gather-then-cancelled": {
      const g = gather(op().then((v) => v));
      const timer = getRunningLoop().callLater(d, () => g.cancel());
      try {
        return { ok: true, value: (await g)[0] as T };
      } catch (e) {
        return missed(e);
      } finally {
        timer.cancel();
      }
    }
    case "shield": {
      const inner = ensureFuture(op());
      try {
        return { ok: true, value: await waitFor(shield(inner), d) };
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
        // the shielded operation went on; now give up on it too: its result, if it came, is still ours
        inner.cancel();
        return Promise.resolve(inner).then((value) => ({ ok: true, value }), missed);
      }
    }
  }
}

/** Deadlines: 0 often, and values that coincide with the other actors' times (ties with wake-ups). */
const deadline = fc.constantFrom(0, 0, 5, 10, 10, 15, 20, 30);
const start = fc.constantFrom(0, 0, 5, 10, 15, 20);
const form = fc.constantFrom(...FORMS);
const actor = fc.record({ start, d: deadline, form, hold: fc.constantFrom(0, 5, 10) });
const RUNS = { numRuns: Number(process.env["PROPERTY_RUNS"] ?? 120) };

describe("by-value operations under combinators lose nothing", () => {
  it("Queue: every reported put is got exactly once or still queued; an unreported put did not happen", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.array(actor, { minLength: 1, maxLength: 4 }),
        fc.array(actor, { minLength: 1, maxLength: 4 }),
        async (maxsize, producers, consumers) => {
          const reported: number[] = [];
          const got: number[] = [];
          let left: number[] = [];
          await run(
            async () => {
              const q = new Queue<number>(maxsize);
              let next = 0;
              const ps = producers.map((a) =>
                createTask(async () => {
                  await sleep(a.start);
                  const item = next++;
                  const r = await attempt(a.form, () => q.put(item), a.d);
                  if (r.ok) reported.push(item);
                }),
              );
              const cs = consumers.map((a) =>
                createTask(async () => {
                  await sleep(a.start);
                  const r = await attempt(a.form, () => q.get(), a.d);
                  if (r.ok) got.push(r.value);
                }),
              );
              await gather(...ps, ...cs);
              await sleep(50);
              while (!q.empty()) left.push(q.getNowait());
              expect(q.statistics().getters + q.statistics().putters).toBe(0);
            },
            { virtualTime: true },
          );
          left = left.sort((a, b) => a - b);
          expect([...got, ...left].sort((a, b) => a - b)).toEqual([...reported].sort((a, b) => a - b));
        },
      ),
      RUNS,
    );
  });

  for (const kind of ["Lock", "Semaphore(2)", "CapacityLimiter(2)"] as const) {
    it(`${kind}: a permit is held by the caller after success, free otherwise; none leaks`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(actor, { minLength: 2, maxLength: 6 }), async (actors) => {
          await run(
            async () => {
              const cap = kind === "Lock" ? 1 : 2;
              const lock = new Lock();
              const sem = new Semaphore(2);
              const limiter = new CapacityLimiter(2);
              const acquire = (): PromiseLike<unknown> => (kind === "Lock" ? lock.acquire() : kind === "Semaphore(2)" ? sem.acquire() : limiter.acquire());
              const release = (): void => (kind === "Lock" ? lock.release() : kind === "Semaphore(2)" ? sem.release() : limiter.release());
              let holding = 0;
              await gather(
                ...actors.map((a) =>
                  createTask(async () => {
                    await sleep(a.start);
                    const r = await attempt(a.form, acquire, a.d);
                    if (!r.ok) return;
                    holding++;
                    expect(holding).toBeLessThanOrEqual(cap);
                    await sleep(a.hold);
                    holding--;
                    release();
                  }),
                ),
              );
              await sleep(50);
              if (kind === "Lock") expect(lock.statistics()).toEqual({ locked: false, waiters: 0 });
              else if (kind === "Semaphore(2)") expect(sem.statistics()).toEqual({ value: 2, waiters: 0 });
              else expect(limiter.statistics().borrowedTokens).toBe(0);
            },
            { virtualTime: true },
          );
        }),
        RUNS,
      );
    });
  }

  it("Event: a waiter returns true or misses; no waiter is left behind", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actor, { minLength: 1, maxLength: 5 }), start, async (actors, setAt) => {
        await run(
          async () => {
            const ev = new Event();
            const setter = createTask(async () => {
              await sleep(setAt);
              ev.set();
            });
            const results = await gather(
              ...actors.map((a) =>
                createTask(async () => {
                  await sleep(a.start);
                  return attempt(a.form, () => ev.wait(), a.d);
                }),
              ),
            );
            await setter;
            for (const r of results) if (r.ok) expect(r.value).toBe(true);
            await sleep(50);
            expect(ev.statistics().waiters).toBe(0);
          },
          { virtualTime: true },
        );
      }),
      RUNS,
    );
  });

  it("Condition: after wait() returns or misses, the caller holds the lock again; nothing is left locked", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actor, { minLength: 1, maxLength: 4 }), fc.array(start, { maxLength: 3 }), async (actors, notifies) => {
        await run(
          async () => {
            const cond = new Condition();
            const notifier = createTask(async () => {
              for (const t of notifies) {
                await sleep(t);
                await cond.acquire();
                cond.notify();
                cond.release();
              }
            });
            await gather(
              ...actors.map((a) =>
                createTask(async () => {
                  await sleep(a.start);
                  await cond.acquire();
                  try {
                    await attempt(a.form, () => cond.wait(), a.d);
                    expect(cond.locked()).toBe(true);
                  } finally {
                    cond.release();
                  }
                }),
              ),
            );
            await notifier;
            await sleep(50);
            expect(cond.statistics()).toEqual({ locked: false, waiters: 0, lockWaiters: 0 });
          },
          { virtualTime: true },
        );
      }),
      RUNS,
    );
  });

  it("Barrier: a waiter passes or misses; none is left counted as waiting", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actor, { minLength: 1, maxLength: 5 }), async (actors) => {
        await run(
          async () => {
            const b = new Barrier(2);
            await gather(
              ...actors.map((a) =>
                createTask(async () => {
                  await sleep(a.start);
                  try {
                    const r = await attempt(a.form, () => b.wait(), a.d);
                    if (r.ok) expect(r.value === 0 || r.value === 1).toBe(true);
                  } catch (e) {
                    if (!(e instanceof BrokenBarrierError)) throw e;
                  }
                }),
              ),
            );
            await sleep(50);
            expect(b.nWaiting).toBe(0);
          },
          { virtualTime: true },
        );
      }),
      RUNS,
    );
  });

  it("executor futures: a job that misses its deadline is cancelled and counted once; none is left queued", async () => {
    await run(
      async () => {
        await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
        const busy = pool.submit((ms: number) => {
          const end = Date.now() + ms;
          while (Date.now() < end);
          return "busy";
        }, 20);
        const queued = pool.submit(() => "queued");
        await expect(waitFor(queued, 0)).rejects.toBeInstanceOf(TimeoutError);
        expect(queued.cancelled()).toBe(true);
        expect(await waitFor(busy, null)).toBe("busy");
        const st = pool.statistics();
        expect(st.queued).toBe(0);
        expect(st.cancelled).toBe(1);
      },
      { virtualTime: true },
    );
  });
});
