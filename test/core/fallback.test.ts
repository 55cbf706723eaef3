/**
 * The kernel's fallback for runtimes without promise hooks (Bun; `src/core/current.ts`, "Runtimes"),
 * selected here on Node by `ASYNCIO_TS_PROMISE_HOOKS=none` (read once, when `promise-hooks.ts` is
 * imported: set before the dynamic import below, removed after it). Each test runs a program on the
 * fallback and states the rule: which task runs follows every await, a cancellation reaches every await
 * of the task's chains (`gather(a(), b())`, `Promise.all`), a scope covers the chains started in it, and
 * no work is taken over. The same programs run on Bun in `test/package/runtimes.test.ts`.
 * */
import { describe, expect, it } from "vitest";

process.env["ASYNCIO_TS_PROMISE_HOOKS"] = "none";
const aio = await import("../../src/index.js");
const { strandCarrier, inElementJob, takeOverError, cannotTakeOver } = await import("../../src/core/current.js");
delete process.env["ASYNCIO_TS_PROMISE_HOOKS"];
const { CancelledError, TimeoutError, Lock, Queue, createTask, currentTask, gather, run, sleep, timeout, waitFor, taskGroup, getRunningLoop, ContextVar } = aio;

/** Lines `[time] text`, printed in order. */
function recorder(): { p: (s: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, p: (s) => lines.push(`[${getRunningLoop().time()}] ${s}`) };
}

describe("the fallback (no promise hooks): an AsyncLocalStorage carries the strand", () => {
  it("is selected, and knows no element job nor any work to take over", () => {
    expect(strandCarrier()).toBe("als");
    expect(inElementJob()).toBe(false);
    expect(cannotTakeOver(Promise.resolve(1))).toBe(false); // (outside task code)
  });

  it("currentTask() follows every await: our sleeps, foreign promises, timers, a scope's body; null in callbacks", async () => {
    const { p, lines } = recorder();
    await run(
      async () => {
        const t = createTask(
          async () => {
            await sleep(5);
            p(`after sleep: ${currentTask()?.getName()}`);
            await new Promise((r) => setTimeout(r, 1));
            p(`after a foreign promise: ${currentTask()?.getName()}`);
            await timeout(50, async () => {
              await sleep(5);
              p(`in a timeout body: ${currentTask()?.getName()}`);
            });
            getRunningLoop().callSoon(() => p(`in a callback: ${String(currentTask())}`));
            await sleep(0);
          },
          { name: "worker" },
        );
        await t;
        p(`main: ${currentTask()?.getName()}`);
      },
      { virtualTime: true },
    );
    expect(lines).toEqual(["[5] after sleep: worker", "[5] after a foreign promise: worker", "[10] in a timeout body: worker", "[10] in a callback: null", "[10] main: Task-1"]);
  });

  it("cancelling a task reaches every await of gather(a(), b()) and Promise.all([a(), b()]) (both chains are its code)", async () => {
    const { p, lines } = recorder();
    const a = async (n: string, ms: number): Promise<string> => {
      try {
        await sleep(ms);
        return n;
      } catch (e) {
        p(`${n} ${(e as Error).name}`);
        throw e;
      }
    };
    await run(
      async () => {
        const g = createTask(async () => gather(a("g1", 10), a("g2", 30)));
        const all = createTask(async () => Promise.all([a("p1", 30), a("p2", 40)]));
        await sleep(20);
        g.cancel();
        all.cancel();
        for (const t of [g, all]) await t.then(undefined, (e: unknown) => p(`task ${(e as Error).name}`));
      },
      { virtualTime: true },
    );
    expect(lines).toEqual(["[20] g2 CancelledError", "[20] p1 CancelledError", "[20] p2 CancelledError", "[20] task CancelledError", "[20] task CancelledError"]);
  });

  it("a timeout covers the chains started in its body, not the caller's others", async () => {
    const { p, lines } = recorder();
    await run(
      async () => {
        const a = async (n: string, ms: number): Promise<void> => {
          try {
            await sleep(ms);
            p(`${n} done`);
          } catch (e) {
            p(`${n} ${(e as Error).name}`);
            throw e;
          }
        };
        const outside = a("outside", 40);
        try {
          await timeout(15, () => gather(a("in1", 10), a("in2", 20)));
        } catch (e) {
          p(`timeout: ${(e as Error).name}`);
        }
        await outside;
      },
      { virtualTime: true },
    );
    expect(lines).toEqual(["[10] in1 done", "[15] in2 CancelledError", "[15] timeout: TimeoutError", "[40] outside done"]);
  });

  it("TaskGroup, a Lock and a Queue under waitFor (functions and our awaitables), a ContextVar per task", async () => {
    const { p, lines } = recorder();
    const user = new ContextVar<string>("user", { default: "nobody" });
    await run(
      async () => {
        try {
          await taskGroup(async (tg) => {
            tg.createTask(async () => {
              user.set("ann");
              await sleep(10);
              p(`child sees ${user.get()}`);
            });
            tg.createTask(async () => {
              await sleep(20);
              throw new Error("boom");
            });
            tg.createTask(async () => {
              try {
                await sleep(100);
              } catch (e) {
                p(`sibling ${(e as Error).name}`);
                throw e;
              }
            });
          });
        } catch (e) {
          p(`group: ${(e as Error).name}, ${user.get()}`);
        }
        const lock = new Lock();
        await lock.acquire();
        await waitFor(lock.acquire(), 10).catch((e: unknown) => p(`lock: ${(e as Error).name}, locked ${lock.locked()}`));
        lock.release();
        const q = new Queue<number>();
        await waitFor(() => q.get(), 10).catch((e: unknown) => p(`queue: ${(e as Error).name}`));
        q.putNowait(7);
        p(`got ${await waitFor(() => q.get(), 10)}, left ${q.qsize()}`);
      },
      { virtualTime: true },
    );
    expect(lines).toEqual(["[10] child sees ann", "[20] sibling CancelledError", "[20] group: ExceptionGroup, nobody", "[30] lock: TimeoutError, locked true", "[40] queue: TimeoutError", "[40] got 7, left 0"]);
  });

  it("the work of gather(a()) stays the caller's code (no work is taken over): currentTask() there is the caller", async () => {
    let inside: string | undefined;
    let caller: string | undefined;
    await run(async () => {
      caller = currentTask()?.getName();
      const a = async (): Promise<void> => {
        await sleep(1);
        inside = currentTask()?.getName();
      };
      await gather(a());
    }, { virtualTime: true });
    expect(inside).toBe(caller);
  });

  it("the error of a combinator that cannot take a promise's work over names the form to write", () => {
    expect(takeOverError("shield could not protect it", "shield(() => work())").message).toBe(
      "Expected aw to be a function, a future or a task on this runtime (Node " +
        process.versions.node +
        '), got a promise: without promise hooks the work of a running async function cannot be taken over, so shield could not protect it. Pass the function instead: shield(() => work()) (README, "Runtimes")',
    );
  });
});

describe("the fallback's combinators", () => {
  const work = async (): Promise<string> => {
    await sleep(10);
    return "w";
  };

  it("shield(a()) throws and waitFor(a(), ms) rejects with a TypeError naming the function form; the function forms work", async () => {
    const out: string[] = [];
    await run(async () => {
      const w = work();
      expect(() => aio.shield(w)).toThrow(TypeError);
      expect(() => aio.shield(w)).toThrow("Pass the function instead: shield(() => work())");
      await expect(waitFor(w, 5)).rejects.toThrow("Pass the function instead: waitFor(() => work(), ms)");
      await w;
      out.push(await aio.shield(() => work()), await waitFor(() => work(), 50));
      await expect(waitFor(() => work(), 5)).rejects.toBeInstanceOf(TimeoutError);
    }, { virtualTime: true });
    expect(out).toEqual(["w", "w"]);
  });

  it("Promise.race([task, sleep(10)]): cancelling the racer later does not cancel the task that lost", async () => {
    const { p, lines } = recorder();
    await run(
      async () => {
        const u = createTask(() => sleep(100, "u"), { name: "U" });
        const racer = createTask(async () => {
          p(`race: ${await Promise.race([u, sleep(10, "s")])}`);
          await sleep(1000);
        });
        await sleep(20);
        racer.cancel();
        await racer.then(undefined, (e: unknown) => p(`racer ${(e as Error).name}`));
        p(`u: ${await u}, cancelled ${u.cancelled()}`);
      },
      { virtualTime: true },
    );
    expect(lines).toEqual(["[10] race: s", "[20] racer CancelledError", "[100] u: u, cancelled false"]);
  });

  it("an await of a task (one chain) is still cancelled with the awaiting task, as in CPython", async () => {
    let inner: unknown = null;
    await run(async () => {
      const u = createTask(async () => {
        try {
          await sleep(100);
        } catch (e) {
          inner = e;
          throw e;
        }
      });
      const t = createTask(async () => u);
      await sleep(10);
      t.cancel();
      await t.then(undefined, () => undefined);
      expect(u.cancelled()).toBe(true);
    }, { virtualTime: true });
    expect(inner).toBeInstanceOf(CancelledError);
  });

  it("a cancelled task's gather(a(), b()) waits for the chains' cleanup (CPython's order); gather(...).cancel() alone stops waiting at once", async () => {
    const { p, lines } = recorder();
    const a = async (n: string, ms: number): Promise<string> => {
      try {
        await sleep(ms);
        p(`done ${n}`);
        return n;
      } catch (e) {
        p(`${n} ${(e as Error).name}`);
        throw e;
      } finally {
        await sleep(1);
        p(`cleanup ${n}`);
      }
    };
    await run(async () => {
      try {
        await timeout(15, () => gather(a("t1", 10), a("t2", 20)));
      } catch (e) {
        p(`timeout ${(e as Error).name}`);
      }
      const t = createTask(() => gather(a("c1", 10), a("c2", 20)));
      await sleep(15);
      t.cancel();
      try {
        await t;
      } catch (e) {
        p(`task ${(e as Error).name}`);
      }
      const g = gather(a("g1", 10));
      await sleep(5);
      g.cancel();
      try {
        await g;
      } catch (e) {
        p(`gather ${(e as Error).name}`);
      }
      await sleep(20);
    }, { virtualTime: true });
    expect(lines).toEqual([
      "[10] done t1",
      "[11] cleanup t1",
      "[15] t2 CancelledError",
      "[16] cleanup t2",
      "[16] timeout TimeoutError",
      "[26] done c1",
      "[27] cleanup c1",
      "[31] c2 CancelledError",
      "[32] cleanup c2",
      "[32] task CancelledError",
      // (the combinator alone: it stops waiting, and the work, the caller's code, goes on: README "Runtimes")
      "[37] gather CancelledError",
      "[42] done g1",
      "[43] cleanup g1",
    ]);
  });

  it("gather(a(), b()) of the caller's promises does not hold virtual time (no warning, no real second)", async () => {
    const warnings: unknown[] = [];
    await run(async () => {
      getRunningLoop().setExceptionHandler((_l, ctx) => warnings.push(ctx.message));
      expect(await gather(work(), work())).toEqual(["w", "w"]);
      expect(getRunningLoop().time()).toBe(10);
    }, { virtualTime: true });
    expect(warnings).toEqual([]);
  });
});
