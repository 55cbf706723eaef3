/**
 * Concurrency inside a task: the literal translations of asyncio programs that pass coroutines to the
 * combinators (`gather(a(), b())`, `waitFor(slow(), 500)`, `shield(a())`), compared line for line with
 * CPython running their Python twins (`twins/in_task.py`, output in `twins/in_task.golden.json`), on
 * virtual time (timestamps included) and on the real clock (order only; durations scaled down, no
 * timing asserted).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  Barrier,
  CancelledError,
  Condition,
  Event,
  Lock,
  Queue,
  Semaphore,
  TimeoutError,
  asCompleted,
  createTask,
  ensureFuture,
  gather,
  getRunningLoop,
  run,
  shield,
  sleep,
  taskGroup,
  timeout,
  waitFor,
} from "../../src/index.js";

const golden = JSON.parse(readFileSync(new URL("./twins/in_task.golden.json", import.meta.url), "utf8")) as Record<string, string[]>;

/** One run of a program: `u(ms)` scales a duration, `p(text)` records a line. */
interface Ctx {
  u: (ms: number) => number;
  p: (text: string) => void;
}

const name = (e: unknown): string => (e instanceof Error ? e.constructor.name : String(e));

function aFn({ u, p }: Ctx) {
  return async (n: string, ms: number): Promise<string> => {
    try {
      await sleep(u(ms));
      p(`done ${n}`);
      return n;
    } catch (e) {
      if (e instanceof CancelledError) p(`cancelled ${n}`);
      throw e;
    }
  };
}

const programs: Record<string, (c: Ctx) => Promise<void>> = {
  "timeout-promise-all": async (c) => {
    const a = aFn(c);
    try {
      await timeout(c.u(75), () => Promise.all([a("x", 100), a("y", 50)]));
    } catch (e) {
      c.p(`caught ${name(e)}`);
    }
  },
  "waitfor-beside-sibling": async (c) => {
    const a = aFn(c);
    const r = await Promise.allSettled([waitFor(a("x", 100), c.u(75)), a("y", 150)]);
    c.p(`results ${r.map((x) => (x.status === "fulfilled" ? x.value : name(x.reason))).join(",")}`);
  },
  "cancel-task-promise-all": async (c) => {
    const a = aFn(c);
    const t = createTask(async () => await Promise.all([a("x", 100), a("y", 50)]));
    await sleep(c.u(75));
    t.cancel();
    try {
      await t;
    } catch (e) {
      c.p(`task ${name(e)}`);
    }
  },
  "gather-in-gather-cancelled": async (c) => {
    const a = aFn(c);
    const g = gather(gather(a("x", 100), a("y", 50)), a("z", 200));
    await sleep(c.u(75));
    g.cancel();
    try {
      await g;
    } catch (e) {
      c.p(`gather ${name(e)}`);
    }
  },
  gather: async (c) => {
    const a = aFn(c);
    c.p(`result ${(await gather(a("x", 100), a("y", 50))).join(",")}`);
  },
  "timeout-gather": async (c) => {
    const a = aFn(c);
    try {
      await timeout(c.u(75), () => gather(a("x", 100), a("y", 50)));
    } catch (e) {
      c.p(`caught ${name(e)}`);
    }
  },
  "cancel-gathering-task": async (c) => {
    const a = aFn(c);
    const t = createTask(async () => await gather(a("x", 100), a("y", 50)));
    await sleep(c.u(75));
    t.cancel();
    try {
      await t;
    } catch (e) {
      c.p(`task ${name(e)}`);
    }
  },
  "waitfor-cleanup": async (c) => {
    const slow = async (): Promise<void> => {
      try {
        await sleep(c.u(10_000));
      } catch (e) {
        c.p("cleanup start");
        await sleep(c.u(250));
        c.p("cleanup end");
        throw e;
      }
    };
    try {
      await waitFor(slow(), c.u(500));
    } catch (e) {
      c.p(`caught ${name(e)}`);
    }
  },
  shield: async (c) => {
    const a = aFn(c);
    let inner: PromiseLike<string> | null = null;
    const t = createTask(async () => {
      inner = ensureFuture(a("s", 100));
      await shield(inner);
    });
    await sleep(c.u(50));
    t.cancel();
    try {
      await t;
    } catch (e) {
      c.p(`task ${name(e)}`);
    }
    c.p(`inner ${await inner!}`);
  },
  "as-completed": async (c) => {
    const a = aFn(c);
    for await (const f of asCompleted([a("x", 100), a("y", 50)])) c.p(`next ${await f}`);
  },
  "nested-gather-timeout": async (c) => {
    const a = aFn(c);
    const pair = async (tag: string) => await gather(a(`${tag}1`, 50), a(`${tag}2`, 150));
    try {
      await timeout(c.u(100), () => gather(pair("p"), pair("q")));
    } catch (e) {
      c.p(`caught ${name(e)}`);
    }
  },
  lock: async (c) => {
    const lock = new Lock();
    const w = async (n: string) => {
      await lock.withLock(async () => {
        c.p(`${n} has the lock`);
        await sleep(c.u(50));
      });
      return n;
    };
    c.p(`result ${(await gather(w("a"), w("b"), w("c"))).join(",")}`);
  },
  semaphore: async (c) => {
    const sem = new Semaphore(2);
    const w = async (n: string) => {
      await sem.acquire();
      try {
        c.p(`${n} in`);
        await sleep(c.u(50));
        c.p(`${n} out`);
      } finally {
        sem.release();
      }
    };
    await gather(w("a"), w("b"), w("c"));
  },
  queue: async (c) => {
    const q = new Queue<number | null>(1);
    const producer = async () => {
      for (let i = 0; i < 3; i++) {
        await q.put(i);
        c.p(`put ${i}`);
      }
      await q.put(null);
    };
    const consumer = async () => {
      for (let item = await q.get(); item !== null; item = await q.get()) {
        c.p(`got ${item}`);
        await sleep(c.u(50));
      }
    };
    await gather(producer(), consumer());
  },
  event: async (c) => {
    const ev = new Event();
    const waiter = async (n: string) => {
      await ev.wait();
      c.p(`${n} woke`);
    };
    const setter = async () => {
      await sleep(c.u(50));
      ev.set();
      c.p("set");
    };
    await gather(waiter("a"), waiter("b"), setter());
  },
  condition: async (c) => {
    const cond = new Condition();
    const items: number[] = [];
    const consumer = async (n: string) => {
      await cond.acquire();
      try {
        await cond.waitFor(() => items.length > 0);
        c.p(`${n} took ${items.pop()}`);
      } finally {
        cond.release();
      }
    };
    const producer = async () => {
      for (let i = 0; i < 2; i++) {
        await sleep(c.u(50));
        await cond.acquire();
        items.push(i);
        cond.notify();
        cond.release();
      }
    };
    await gather(consumer("a"), consumer("b"), producer());
  },
  barrier: async (c) => {
    const b = new Barrier(3);
    const w = async (n: string, ms: number) => {
      await sleep(c.u(ms));
      const i = await b.wait();
      c.p(`${n} passed`);
      return i;
    };
    const r = await gather(w("a", 50), w("b", 100), w("c", 150));
    c.p(`indices [${[...r].sort().join(", ")}]`);
  },
  "timeout-lock": async (c) => {
    const lock = new Lock();
    const holder = async () => lock.withLock(() => sleep(c.u(100)));
    const impatient = async () => {
      try {
        await timeout(c.u(50), () => lock.withLock(() => c.p("impatient got it")));
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
        c.p(`impatient timed out, locked=${lock.locked() ? "True" : "False"}`);
      }
    };
    const patient = async () => lock.withLock(() => c.p("patient got it"));
    await gather(holder(), impatient(), patient());
    c.p(`locked=${lock.locked() ? "True" : "False"}`);
  },
  "taskgroup-gather": async (c) => {
    const a = aFn(c);
    try {
      await taskGroup(async (tg) => {
        tg.createTask(async () => {
          await sleep(c.u(50));
          throw new RangeError("boom");
        });
        await gather(a("x", 100), a("y", 25));
      });
    } catch (e) {
      c.p(`caught ${name(e)}`);
    }
  },
};

async function runProgram(key: string, virtualTime: boolean): Promise<string[]> {
  const lines: string[] = [];
  const scale = 1; // (the real clock at full durations: gaps of 25 ms, and ties, as in CPython's twin)
  const reports: unknown[] = [];
  await run(
    async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, ctx) => reports.push(ctx.message));
      const t0 = loop.time();
      await programs[key]!({
        u: (ms) => ms * scale,
        p: (text) => lines.push(virtualTime ? `${Math.round(loop.time() - t0)} ${text}` : text),
      });
    },
    { virtualTime },
  );
  // (nothing reported: no held clock, no lost error)
  expect(reports).toEqual([]);
  return lines;
}

describe("concurrency inside a task: the promise forms print CPython's lines", () => {
  it("every program has a CPython twin", () => {
    expect(Object.keys(programs).sort()).toEqual(Object.keys(golden).sort());
  });
  for (const key of Object.keys(programs)) {
    it(`${key}, virtual time (with CPython's timestamps)`, async () => {
      expect(await runProgram(key, true)).toEqual(golden[key]);
    });
    // (on the real clock a stall of the machine can reorder timers that CPython's twin has due together or
    // a few ms apart, as it would CPython's: a retry covers that, as for In [22] in test/cli/tour.test.ts)
    it(`${key}, real clock (CPython's order)`, { retry: 2 }, async () => {
      expect(await runProgram(key, false)).toEqual(golden[key]!.map((l) => l.slice(l.indexOf(" ") + 1)));
    });
  }
});
