import { describe, expect, it } from "vitest";
import { Barrier, BrokenBarrierError, createTask, gather, run, sleep } from "../../src/index.js";

describe("Barrier (CPython 3.13 semantics)", () => {
  it("matches CPython's transcript: rounds, reset, abort, a cancelled waiter, draining", async () => {
    const out: string[] = [];
    const p = (...a: unknown[]) => out.push(a.map(String).join(" "));
    await run(
      async () => {
        const b = new Barrier(3);
        const w = async (n: string) => {
          p(n, await b.wait());
          p(n, await b.wait());
        };
        await gather(...["A", "B", "C"].map((n) => createTask(() => w(n))));

        const b2 = new Barrier(3);
        const w2 = async (n: string) => {
          try {
            const i = await b2.wait();
            p(n, "passed", i);
          } catch (e) {
            if (!(e instanceof BrokenBarrierError)) throw e;
            p(n, "broken");
          }
        };
        let ts = ["A", "B"].map((n) => createTask(() => w2(n)));
        await sleep(0);
        p("waiting", b2.nWaiting, b2.broken);
        await b2.reset();
        await gather(...ts);
        p("after reset", b2.nWaiting, b2.broken);
        await b2.abort();
        try {
          await b2.wait();
        } catch (e) {
          if (e instanceof BrokenBarrierError) p("aborted wait broken");
        }
        p("broken", b2.broken);
        await b2.reset();
        p("broken after reset", b2.broken);
        ts = ["A", "B"].map((n) => createTask(() => w2(n)));
        await sleep(0);
        ts[0]!.cancel();
        await sleep(0);
        p("after cancel", b2.nWaiting);
        ts.push(createTask(() => w2("C")));
        ts.push(createTask(() => w2("D")));
        await gather(...ts, { returnExceptions: true });
        p("cancelled", ts[0]!.cancelled());

        const b3 = new Barrier(2);
        const w3 = async (n: string) => p(n, "r1", await b3.wait());
        const t1 = createTask(() => w3("A"));
        const t2 = createTask(() => w3("B"));
        const t3 = createTask(() => w3("C"));
        await sleep(0);
        p("n_waiting", b3.nWaiting);
        await sleep(0);
        p("n_waiting", b3.nWaiting);
        const t4 = createTask(() => w3("D"));
        await gather(t1, t2, t3, t4);
      },
      { virtualTime: true },
    );
    expect(out.join(" | ")).toBe(
      "C 2 | A 0 | B 1 | A 2 | B 0 | C 1 | waiting 2 false | A broken | B broken | after reset 0 false | " +
        "aborted wait broken | broken true | broken after reset false | after cancel 1 | D passed 2 | B passed 1 | " +
        "C passed 1 | cancelled true | B r1 1 | n_waiting 0 | A r1 0 | n_waiting 0 | D r1 1 | C r1 0",
    );
  });

  it("parties, statistics, toString and bad input", async () => {
    expect(() => new Barrier(0)).toThrow(RangeError);
    expect(() => new Barrier(0)).toThrow("Expected parties to be a positive integer, got 0 (number)");
    expect(() => new Barrier("3" as never)).toThrow(TypeError);
    await run(
      async () => {
        const b = new Barrier(2);
        expect(b.parties).toBe(2);
        const t = createTask(() => b.wait());
        await sleep(0);
        expect(b.statistics()).toEqual({ parties: 2, nWaiting: 1, state: "filling" });
        expect(String(b)).toBe("<Barrier [filling, waiters:1/2]>");
        await b.wait();
        await t;
        await b.abort();
        expect(String(b)).toBe("<Barrier [broken]>");
      },
      { virtualTime: true },
    );
  });

  it("a single-party barrier passes at once with index 0", async () => {
    await run(async () => {
      const b = new Barrier(1);
      expect(await b.wait()).toBe(0);
      expect(await b.wait()).toBe(0);
    });
  });
});
