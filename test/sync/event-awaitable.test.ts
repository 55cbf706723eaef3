/**
 * A blocked `Event.wait()` returns its waiter, which unlinks itself when the waiting code resumes (no
 * async function around it, as a contended `Lock.acquire()`). These tests pin down that it behaves as the
 * async function did and as CPython's `Event.wait()` coroutine does, wherever it goes: handed to `gather`,
 * `waitFor`, `wait` and `shield` (which wrap it in a task), raced, awaited twice, awaited in
 * `Promise.all` inside a task or by plain code, and cancelled while it waits or after `set()` woke it. The
 * scenarios with a CPython twin (`twins/event.py`, its output in `twins/event.golden.json`) print the
 * same lines, on both clocks.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CancelledError, createTask, Event, gather, getRunningLoop, newEventLoop, run, shield, sleep, TimeoutError, wait, waitFor } from "../../src/index.js";

const golden = JSON.parse(readFileSync(new URL("./twins/event.golden.json", import.meta.url), "utf8")) as Record<string, string[]>;
const clocks = [
  ["virtual time", true],
  ["real clock", false],
] as const;

/** Python's str() of what the scenarios print. */
const py = (x: unknown): string => (x === true ? "True" : x === false ? "False" : Array.isArray(x) ? `[${x.map(py).join(", ")}]` : String(x));

function logger(out: Record<string, string[]>, name: string): (...a: unknown[]) => void {
  const lines: string[] = [];
  out[name] = lines;
  return (...a) => void lines.push(a.map(py).join(" "));
}

const waiters = (ev: Event): number => ev.statistics().waiters;

async function scenarios(out: Record<string, string[]>): Promise<void> {
  {
    const p = logger(out, "gather");
    const ev = new Event();
    getRunningLoop().callLater(10, () => ev.set());
    const r = await gather(ev.wait(), ev.wait());
    p("gather", r, "waiters", waiters(ev));
  }
  {
    const p = logger(out, "waitFor");
    const ev = new Event();
    try {
      await waitFor(ev.wait(), 50);
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      p("timeout", "waiters", waiters(ev));
    }
    getRunningLoop().callLater(10, () => ev.set()); // (a timeout far from it: on the real clock a stall could fire both at once)
    p("waitFor", await waitFor(ev.wait(), 5000), "waiters", waiters(ev));
  }
  {
    const p = logger(out, "wait+shield");
    const ev = new Event();
    getRunningLoop().callLater(5, () => ev.set());
    const [done, pending] = await wait([ev.wait()]);
    p("wait", done.size, pending.size, [...done].map((f) => f.result()));
    ev.clear();
    getRunningLoop().callLater(5, () => ev.set());
    p("shield", await shield(ev.wait()), "waiters", waiters(ev));
  }
  {
    const p = logger(out, "cancel");
    const ev = new Event();
    const waiter = async (name: string): Promise<void> => {
      const r = await ev.wait();
      p(name, "woke", r);
    };
    const a = createTask(() => waiter("a"));
    const b = createTask(() => waiter("b"));
    await sleep(5);
    a.cancel();
    try {
      await a;
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      p("a cancelled", "waiters", waiters(ev));
    }
    ev.set();
    await b;
    p("waiters", waiters(ev));
  }
  {
    const p = logger(out, "cancel after set");
    const ev = new Event();
    const t = createTask(async () => {
      try {
        const r = await ev.wait();
        p("woke", r);
      } catch (e) {
        p("cancelled at the await");
        throw e;
      }
    });
    await sleep(0);
    ev.set();
    t.cancel();
    try {
      await t;
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      p("task cancelled", "waiters", waiters(ev));
    }
  }
}

describe.each(clocks)("a blocked Event.wait() is awaitable anywhere (%s)", (_name, virtualTime) => {
  it("gather, waitFor, wait, shield and cancellation print what CPython prints (twins/event.py)", async () => {
    const out: Record<string, string[]> = {};
    await run(() => scenarios(out), { virtualTime });
    expect(out).toEqual(golden);
  });

  it("Promise.all and Promise.race inside a task; awaited twice; a task cancelled in Promise.all leaves no waiter", async () => {
    await run(async () => {
      const ev = new Event();
      getRunningLoop().callLater(5, () => ev.set());
      expect(await Promise.all([ev.wait(), ev.wait(), sleep(1, "s")])).toEqual([true, true, "s"]);
      ev.clear();
      getRunningLoop().callLater(5, () => ev.set());
      expect(await Promise.race([ev.wait(), sleep(100, "late")])).toBe(true);
      ev.clear();
      const w = ev.wait();
      getRunningLoop().callLater(5, () => ev.set());
      expect(await w).toBe(true);
      expect(await w).toBe(true);
      ev.clear();
      const t = createTask(() => Promise.all([ev.wait(), ev.wait()]));
      await sleep(1);
      expect(waiters(ev)).toBe(2);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      expect(waiters(ev)).toBe(0);
      // a signal abandons the wait and rejects with its reason, leaving no waiter
      const ac = new AbortController();
      const aborted = ev.wait({ signal: ac.signal });
      getRunningLoop().callLater(1, () => ac.abort(new Error("stop")));
      await expect(aborted).rejects.toThrow("stop");
      expect(waiters(ev)).toBe(0);
    }, { virtualTime });
  });

  it("plain code outside any task can await a blocked wait()", async () => {
    const loop = newEventLoop({ virtualTime });
    const ev = new Event();
    const seen: unknown[] = [];
    await loop.runUntilComplete(async () => {
      void Promise.resolve().then(async () => seen.push(await ev.wait()));
      await sleep(5);
      expect(seen).toEqual([]);
      ev.set();
      await sleep(1);
      expect(seen).toEqual([true]);
      expect(waiters(ev)).toBe(0);
    });
    loop.close();
  });
});
