/**
 * The `{ signal }` option of every wait, inside and outside tasks.
 */
import { describe, expect, it } from "vitest";
import {
  Barrier,
  CancelledError,
  CapacityLimiter,
  Condition,
  Event,
  Lock,
  Queue,
  Semaphore,
  createTask,
  currentTask,
  getRunningLoop,
  run,
  sleep,
  timeout,
} from "../../src/index.js";

/** Abort `ac` from another task after `ms` of virtual time. */
function abortLater(ac: AbortController, ms: number, reason: unknown = new Error("gave up")): void {
  createTask(async () => {
    await sleep(ms);
    ac.abort(reason);
  });
}

describe("AbortSignal option", () => {
  it("an aborted lock wait rejects with the signal's reason, is not a task cancellation, and passes the lock on", async () => {
    await run(
      async () => {
        const lock = new Lock();
        await lock.acquire();
        const ac = new AbortController();
        const reason = new Error("gave up");
        const a = createTask(async () => {
          try {
            await lock.acquire({ signal: ac.signal });
            return "acquired";
          } catch (e) {
            return { e, cancelling: currentTask()!.cancelling() };
          }
        });
        const b = createTask(async () => {
          await lock.acquire();
          return "b acquired";
        });
        await sleep(0);
        lock.release(); // wakes a...
        ac.abort(reason); // ...which is aborted before it runs, too late: a still gets the lock
        expect(await a).toBe("acquired");
        lock.release();
        expect(await b).toBe("b acquired");
        lock.release();

        // Aborted while still waiting: rejects with the reason; the next waiter gets the lock.
        await lock.acquire();
        const ac2 = new AbortController();
        const c = createTask(async () => {
          try {
            await lock.acquire({ signal: ac2.signal });
            return "acquired";
          } catch (e) {
            return { e, cancelling: currentTask()!.cancelling() };
          }
        });
        const d = createTask(() => lock.acquire());
        await sleep(0);
        ac2.abort(reason);
        expect(await c).toEqual({ e: reason, cancelling: 0 });
        lock.release();
        await d;
        expect(lock.statistics()).toEqual({ locked: true, waiters: 0 });
      },
      { virtualTime: true },
    );
  });

  it("an already aborted signal rejects at once, even when the primitive is free", async () => {
    await run(async () => {
      const signal = AbortSignal.abort(new Error("early"));
      await expect(new Lock().acquire({ signal })).rejects.toThrow("early");
      await expect(new Semaphore(1).acquire({ signal })).rejects.toThrow("early");
      const ev = new Event();
      ev.set();
      await expect(ev.wait({ signal })).rejects.toThrow("early");
      const q = new Queue<number>();
      q.putNowait(1);
      await expect(q.get({ signal })).rejects.toThrow("early");
      expect(q.qsize()).toBe(1);
      await expect(q.put(2, { signal })).rejects.toThrow("early");
      expect(q.qsize()).toBe(1);
      await expect(new Lock().acquire({ signal: "x" as never })).rejects.toThrow(
        'Expected options.signal to be an AbortSignal, got "x" (string)',
      );
      await expect(new Lock().acquire(3 as never)).rejects.toThrow("Expected options to be an object, got 3 (number)");
    });
  });

  it("semaphore: an aborted waiter does not lose a permit", async () => {
    await run(
      async () => {
        const sem = new Semaphore(1);
        await sem.acquire();
        const ac = new AbortController();
        abortLater(ac, 5);
        const aborted = createTask(() => sem.acquire({ signal: ac.signal }));
        const other = createTask(() => sem.acquire());
        await expect(aborted).rejects.toThrow("gave up");
        expect(getRunningLoop().time()).toBe(5);
        sem.release();
        await other;
        sem.release();
        expect(sem._value).toBe(1);
      },
      { virtualTime: true },
    );
  });

  it("event, condition, barrier, queue, join and capacity limiter waits can be aborted", async () => {
    await run(
      async () => {
        const mk = () => {
          const ac = new AbortController();
          abortLater(ac, 3);
          return { signal: ac.signal };
        };
        await expect(new Event().wait(mk())).rejects.toThrow("gave up");

        const cond = new Condition();
        await cond.acquire();
        await expect(cond.wait(mk())).rejects.toThrow("gave up");
        expect(cond.locked()).toBe(true); // held again after an aborted wait
        cond.release();

        const barrier = new Barrier(2);
        await expect(barrier.wait(mk())).rejects.toThrow("gave up");
        expect(barrier.nWaiting).toBe(0);
        expect(barrier.broken).toBe(false);

        const q = new Queue<number>(1);
        await expect(q.get(mk())).rejects.toThrow("gave up");
        q.putNowait(1);
        await expect(q.put(2, mk())).rejects.toThrow("gave up");
        await expect(q.join(mk())).rejects.toThrow("gave up");
        expect(q.statistics()).toMatchObject({ qsize: 1, getters: 0, putters: 0 });

        const limiter = new CapacityLimiter(1);
        limiter.acquireOnBehalfOfNowait("x");
        await expect(limiter.acquire(mk())).rejects.toThrow("gave up");
        expect(limiter.statistics().tasksWaiting).toBe(0);
        expect(getRunningLoop().time()).toBe(21);
      },
      { virtualTime: true },
    );
  });

  it("code outside tasks (plain callbacks and promise chains) can wait on primitives", async () => {
    const log: string[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        const lock = new Lock();
        const q = new Queue<string>();
        await lock.acquire();
        const done = loop.createFuture<void>();
        loop.callSoon(() => {
          expect(currentTask()).toBeNull();
          void (async () => {
            await lock.acquire();
            log.push("outside got lock");
            lock.release();
            log.push(`outside got ${await q.get()}`);
            const ac = new AbortController();
            loop.callLater(5, () => ac.abort(new Error("outside abort")));
            try {
              await q.get({ signal: ac.signal });
            } catch (e) {
              log.push((e as Error).message);
            }
            done.setResult();
          })();
        });
        await sleep(1);
        log.push("task releases");
        lock.release();
        await sleep(1);
        q.putNowait("item");
        await done;
        expect(q.statistics().getters).toBe(0);
      },
      { virtualTime: true },
    );
    expect(log).toEqual(["task releases", "outside got lock", "outside got item", "outside abort"]);
  });

  describe("a task cancelled during an aborted wait gets CancelledError, never the signal's reason", () => {
    // (code that rethrows CancelledError and carries on after an AbortError would otherwise swallow the
    // cancellation: the task would finish normally with cancelling() at 1)
    const waits: Array<[string, () => { hold(): Promise<void>; wait(signal: AbortSignal): PromiseLike<unknown> }]> = [
      ["Lock.acquire", () => {
        const lock = new Lock();
        return { hold: async () => void (await lock.acquire()), wait: (signal) => lock.acquire({ signal }) };
      }],
      ["Semaphore.acquire", () => {
        const sem = new Semaphore(0);
        return { hold: async () => undefined, wait: (signal) => sem.acquire({ signal }) };
      }],
      ["Event.wait", () => {
        const ev = new Event();
        return { hold: async () => undefined, wait: (signal) => ev.wait({ signal }) };
      }],
      ["Queue.get", () => {
        const q = new Queue<number>();
        return { hold: async () => undefined, wait: (signal) => q.get({ signal }) };
      }],
    ];
    for (const [name, make] of waits) {
      it(`${name}: aborted, then the task cancelled in the same step`, async () => {
        await run(
          async () => {
            const prim = make();
            await prim.hold();
            const ac = new AbortController();
            const seen: string[] = [];
            const t = createTask(async () => {
              try {
                await prim.wait(ac.signal);
              } catch (e) {
                if (e instanceof CancelledError) throw e;
                seen.push(`abandoned: ${(e as Error).name}`);
              }
              await sleep(10);
              return "finished normally";
            });
            await sleep(0);
            ac.abort();
            expect(t.cancel()).toBe(true);
            await expect(t).rejects.toBeInstanceOf(CancelledError);
            expect(t.cancelled()).toBe(true);
            expect(seen).toEqual([]);
          },
          { virtualTime: true },
        );
      });
    }

    it("Condition.wait: aborted, then the task cancelled while it re-acquires the lock", async () => {
      await run(
        async () => {
          const cond = new Condition();
          const ac = new AbortController();
          const seen: string[] = [];
          const t = createTask(async () => {
            await cond.acquire();
            try {
              await cond.wait({ signal: ac.signal });
            } catch (e) {
              if (e instanceof CancelledError) throw e;
              seen.push(`abandoned: ${(e as Error).name}`);
            } finally {
              cond.release();
            }
            await sleep(10);
            return "finished normally";
          });
          await sleep(0);
          await cond.acquire(); // (held: t's wait, once abandoned, waits to re-acquire)
          ac.abort();
          await sleep(100);
          expect(t.cancel()).toBe(true);
          await sleep(100);
          cond.release();
          await expect(t).rejects.toBeInstanceOf(CancelledError);
          expect(seen).toEqual([]);
          expect(cond.locked()).toBe(false);
        },
        { virtualTime: true },
      );
    });

    it("an abort alone still gives the signal's reason, and a cancel taken back (uncancel) does too", async () => {
      await run(
        async () => {
          const lock = new Lock();
          await lock.acquire();
          const ac = new AbortController();
          const t = createTask(async () => {
            try {
              await lock.acquire({ signal: ac.signal });
              return "acquired";
            } catch (e) {
              return e instanceof CancelledError ? "cancelled" : `abandoned: ${(e as Error).message}`;
            }
          });
          await sleep(0);
          ac.abort(new Error("gave up"));
          t.cancel();
          t.uncancel();
          expect(await t).toBe("abandoned: gave up");
          expect(lock.locked()).toBe(true);
        },
        { virtualTime: true },
      );
    });
  });

  it("a scope in another chain of the task, still cleaning up, is no cancellation of an aborted wait: it gives the signal's reason", async () => {
    const seen: string[] = [];
    await run(
      async () => {
        const q = new Queue<number>();
        const ac = new AbortController();
        getRunningLoop().callLater(10, () => ac.abort(new Error("gave up waiting")));
        await Promise.all([
          timeout(5, async () => {
            try {
              await sleep(100);
            } finally {
              await sleep(20);
            }
          }).catch((e: unknown) => seen.push(`X: ${(e as Error).constructor.name}`)),
          q.get({ signal: ac.signal }).catch((e: unknown) => seen.push(`Y: ${(e as Error).message}`)),
        ]);
      },
      { virtualTime: true },
    );
    expect(seen).toEqual(["Y: gave up waiting", "X: TimeoutError"]);
  });
});

