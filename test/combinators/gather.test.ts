/**
 * CPython's test_tasks.py: gather (FutureGatherTests, CoroutineGatherTests, test_cancel_gather_*).
 */
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  Future,
  GatheringFuture,
  createTask,
  ensureFuture,
  gather,
  getRunningLoop,
  run,
  setEventLoop,
  sleep,
} from "../../src/index.js";
import { captureHandler, loopsClosedAfterEach, rejection, runBriefly, virtualLoop } from "../core/helpers.js";

const newLoop = loopsClosedAfterEach();

/** gather with its overloads erased, for argument lists built at run time. */
const gatherAny = gather as unknown as (...args: unknown[]) => GatheringFuture<unknown[]>;

/** Futures, or (CoroutineGatherTests) functions awaiting them. */
const wrappers = {
  futures: (fs: Future<unknown>[]) => fs,
  functions: (fs: Future<unknown>[]) => fs.map((f) => async () => await f),
};

describe.each(Object.entries(wrappers))("gather of %s (GatherTestsBase)", (_kind, wrap) => {
  it("test_success: results in argument order, done only when all are", async () => {
    for (const opts of [{}, { returnExceptions: false }, { returnExceptions: true }]) {
      const loop = newLoop();
      setEventLoop(loop);
      const [a, b, c] = [loop.createFuture(), loop.createFuture(), loop.createFuture()];
      const fut = gatherAny(...wrap([a!, b!, c!]), opts);
      const calls: unknown[] = [];
      fut.addDoneCallback((f) => calls.push(f));
      b!.setResult(1);
      a!.setResult(2);
      await runBriefly(loop);
      await runBriefly(loop);
      expect(calls).toEqual([]);
      expect(fut.done()).toBe(false);
      c!.setResult(3);
      await runBriefly(loop);
      await runBriefly(loop);
      expect(calls).toEqual([fut]);
      expect(fut.result()).toEqual([2, 1, 3]);
    }
  });

  it("test_one_exception: the first error fails the gather; later outcomes are ignored", async () => {
    const loop = newLoop();
    setEventLoop(loop);
    const [a, b, c, d, e] = Array.from({ length: 5 }, () => loop.createFuture());
    const fut = gatherAny(...wrap([a!, b!, c!, d!, e!]));
    const calls: unknown[] = [];
    fut.addDoneCallback((f) => calls.push(f));
    const exc = new RangeError("div");
    a!.setResult(1);
    b!.setException(exc);
    await runBriefly(loop);
    await runBriefly(loop);
    expect(fut.done()).toBe(true);
    expect(calls).toEqual([fut]);
    expect(fut.exception()).toBe(exc);
    c!.setResult(3);
    d!.cancel();
    e!.setException(new Error());
    e!.exception();
    await runBriefly(loop);
    await runBriefly(loop);
    expect(calls).toHaveLength(1);
  });

  it("test_return_exceptions: errors are collected as results", async () => {
    const loop = newLoop();
    setEventLoop(loop);
    const [a, b, c, d] = Array.from({ length: 4 }, () => loop.createFuture());
    const fut = gatherAny(...wrap([a!, b!, c!, d!]), { returnExceptions: true });
    const exc = new RangeError();
    const exc2 = new Error();
    b!.setResult(1);
    c!.setException(exc);
    a!.setResult(3);
    await runBriefly(loop);
    await runBriefly(loop);
    expect(fut.done()).toBe(false);
    d!.setException(exc2);
    await runBriefly(loop);
    await runBriefly(loop);
    expect(fut.result()).toEqual([3, 1, exc, exc2]);
  });
});

describe("gather (FutureGatherTests, CoroutineGatherTests)", () => {
  it("test_constructor_empty_sequence_use_running_loop: gather() is done with []", async () => {
    const loop = newLoop();
    const { fut } = await loop.runUntilComplete(async () => ({ fut: gather() }));
    expect(fut).toBeInstanceOf(Future);
    expect(fut.getLoop()).toBe(loop);
    expect(fut.done()).toBe(true);
    expect(fut.result()).toEqual([]);
  });

  it("test_constructor_empty_sequence_use_global_loop: gather() outside a loop uses the current loop", () => {
    const loop = newLoop();
    setEventLoop(loop);
    const fut = gather();
    expect(fut.getLoop()).toBe(loop);
    expect(fut.result()).toEqual([]);
  });

  it("test_constructor_heterogenous_futures: futures of two loops are refused", () => {
    const l1 = newLoop();
    const l2 = newLoop();
    expect(() => gather(l1.createFuture(), l2.createFuture())).toThrow(/different loop/);
  });

  it("test_constructor_homogenous_futures: the gather belongs to its children's loop", () => {
    const other = newLoop();
    setEventLoop(newLoop());
    const children = [other.createFuture(), other.createFuture()];
    const fut = gather(...children);
    expect(fut.getLoop()).toBe(other);
    expect(fut.done()).toBe(false);
    for (const c of children) c.cancel();
  });

  it("test_constructor_use_running_loop / _use_global_loop: functions become tasks of that loop", async () => {
    const loop = newLoop();
    const { fut } = await loop.runUntilComplete(async () => ({ fut: gather(async () => "abc", async () => "abc") }));
    expect(fut.getLoop()).toBe(loop);
    expect(await loop.runUntilComplete(fut)).toEqual(["abc", "abc"]);
    const other = newLoop();
    setEventLoop(other);
    const g = gather(async () => "x");
    expect(g.getLoop()).toBe(other);
    expect(await other.runUntilComplete(g)).toEqual(["x"]);
  });

  it("test_one_cancellation: a cancelled child fails the gather with CancelledError; the gather is not cancelled", async () => {
    const loop = newLoop();
    const [a, b, c, d, e] = Array.from({ length: 5 }, () => loop.createFuture());
    const fut = gather(a!, b!, c!, d!, e!);
    a!.setResult(1);
    b!.cancel();
    await runBriefly(loop);
    expect(fut.done()).toBe(true);
    expect(fut.cancelled()).toBe(false);
    expect(fut.exception()).toBeInstanceOf(CancelledError);
    c!.setResult(3);
    d!.cancel();
    e!.setException(new Error());
    e!.exception();
  });

  it("test_result_exception_one_cancellation: with returnExceptions, cancelled children are CancelledErrors", async () => {
    const loop = newLoop();
    const [a, b, c, d, e, f] = Array.from({ length: 6 }, () => loop.createFuture());
    const fut = gather(a!, b!, c!, d!, e!, f!, { returnExceptions: true });
    a!.setResult(1);
    const zde = new RangeError();
    b!.setException(zde);
    c!.cancel();
    await runBriefly(loop);
    expect(fut.done()).toBe(false);
    d!.setResult(3);
    e!.cancel();
    const rte = new Error();
    f!.setException(rte);
    const res = (await loop.runUntilComplete(fut)) as unknown[];
    expect(res[2]).toBeInstanceOf(CancelledError);
    expect(res[4]).toBeInstanceOf(CancelledError);
    expect([res[0], res[1], res[3], res[5]]).toEqual([1, zde, 3, rte]);
  });

  it("test_duplicate_coroutines: the same function passed twice runs once", async () => {
    let runs = 0;
    const c = async (): Promise<string> => {
      runs++;
      return "abc";
    };
    const r = await run(async () => await gather(c, c, async () => "def", c));
    expect(r).toEqual(["abc", "abc", "def", "abc"]);
    expect(runs).toBe(1);
  });

  it("test_cancellation_broadcast: cancelling the task awaiting gather cancels every child", async () => {
    const loop = newLoop();
    let proof = 0;
    const waiter = loop.createFuture<void>();
    const inner = async (): Promise<void> => {
      await waiter;
      proof += 1;
    };
    const child1 = ensureFuture(inner, loop);
    const child2 = ensureFuture(inner, loop);
    let gatherer: GatheringFuture<unknown> | null = null;
    const f = loop.createTask(async () => {
      gatherer = gather(child1, child2);
      await gatherer;
      proof += 100;
    });
    await runBriefly(loop);
    expect(f.cancel()).toBe(true);
    await expect(loop.runUntilComplete(f)).rejects.toBeInstanceOf(CancelledError);
    expect(gatherer!.cancel()).toBe(false);
    expect(waiter.cancelled()).toBe(true);
    expect(child1.cancelled()).toBe(true);
    expect(child2.cancelled()).toBe(true);
    await runBriefly(loop);
    expect(proof).toBe(0);
  });

  it("cancelling a gather directly cancels the children and the gather fails with CancelledError(msg)", async () => {
    await run(
      async () => {
        const a = createTask(() => sleep(100));
        const b = createTask(() => sleep(200));
        const g = gather(a, b);
        await sleep(0);
        expect(g.cancel("stop")).toBe(true);
        const e = await rejection(g);
        expect(e).toBeInstanceOf(CancelledError);
        expect((e as Error).message).toBe("stop");
        expect(a.cancelled() && b.cancelled()).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("a cancelled gather with returnExceptions still fails with CancelledError(msg), without being cancelled itself", async () => {
    await run(
      async () => {
        const a = createTask(() => sleep(1000));
        const g = gather(a, { returnExceptions: true });
        await sleep(0);
        expect(g.cancel("m")).toBe(true);
        const e = await rejection(g);
        expect(e).toBeInstanceOf(CancelledError);
        expect((e as Error).message).toBe("m");
        expect(g.cancelled()).toBe(false); // CPython 3.13 prints the same
        expect(a.cancelled()).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("test_exception_marking: the errors of children after the first are marked seen", async () => {
    const loop = virtualLoop();
    const seen = captureHandler(loop);
    const a = loop.createFuture<void>();
    const b = loop.createFuture<void>();
    const inner = (f: Future<void>) => async () => {
      await f;
      throw new Error("should not be ignored");
    };
    const f = loop.createTask(async () => {
      await gather(inner(a), inner(b));
    });
    await runBriefly(loop);
    a.setResult();
    await runBriefly(loop);
    b.setResult();
    await runBriefly(loop);
    await runBriefly(loop);
    expect(f.exception()).toBeInstanceOf(Error);
    loop.close();
    expect(seen).toEqual([]);
  });

  it("test_issue46672: a bad argument is a TypeError and nothing else is reported", async () => {
    const loop = virtualLoop();
    const seen = captureHandler(loop);
    await loop.runUntilComplete(async () => {
      expect(() => gather(async () => "abc", 42 as never)).toThrow(TypeError);
      await sleep(0);
      await sleep(0);
    });
    loop.close();
    expect(seen).toEqual([]);
  });

  it("unknown options are rejected", async () => {
    await run(async () => {
      expect(() => gather(async () => 1, { returnException: true } as never)).toThrow('Unknown gather option "returnException"');
    });
  });

  it("test_cancel_gather_1: a gather whose children are all done refuses cancel()", async () => {
    const loop = newLoop();
    const fut = loop.createFuture<number>();
    const { g } = await loop.runUntilComplete(async () => ({ g: gather(async () => await fut) }));
    let cancelResult: boolean | null = null;
    fut.addDoneCallback(() => {
      cancelResult = g.cancel();
    });
    fut.setResult(42);
    await loop.runUntilComplete(g);
    expect(cancelResult).toBe(false);
    expect(g.cancelled()).toBe(false);
    expect(g.result()).toEqual([42]);
  });

  it("gather's children keep running after the first failure (3.12 semantics)", async () => {
    await run(
      async () => {
        const slow = createTask(() => sleep(100, "slow"));
        const e = await rejection(
          gather(async () => {
            throw new Error("fast");
          }, slow),
        );
        expect((e as Error).message).toBe("fast");
        expect(slow.done()).toBe(false);
        expect(await slow).toBe("slow");
        expect(getRunningLoop().time()).toBe(100);
      },
      { virtualTime: true },
    );
  });
});

describe("a cancelled gather(..., returnExceptions) raises the error of its last child in argument order (CPython's)", () => {
  // CPython 3.13 twin (stop 30's fuzz): A sleeps 1 s, B is cancelled with "mB" before it starts; x awaits
  // gather(A, B, return_exceptions=True); x is cancelled with "mX" -> x raises CancelledError('mB'); with B
  // finished (not cancelled): CancelledError() (no message); gather(B, A): 'mX'. (tasks.py's
  // _done_callback takes its loop variable over the children, the last one.) asyncio-ts gave "mX" for all.
  for (const [what, order, cancelB, message] of [
    ["B cancelled, gather(A, B)", "AB", true, "mB"],
    ["B finished, gather(A, B)", "AB", false, ""],
    ["B cancelled, gather(B, A)", "BA", true, "mX"],
  ] as const) {
    it(what, async () => {
      const got = await run(async () => {
        const A = createTask(() => sleep(1000), { name: "A" });
        const B = createTask(async () => 1, { name: "B" });
        if (cancelB) B.cancel("mB");
        await sleep(0);
        const X = createTask(() => (order === "AB" ? gather(A, B, { returnExceptions: true }) : gather(B, A, { returnExceptions: true })));
        await sleep(0);
        X.cancel("mX");
        try {
          await X;
          return "no error";
        } catch (e) {
          return e instanceof CancelledError ? `CancelledError '${e.message}'` : String(e);
        }
      }, { virtualTime: true });
      expect(got).toBe(`CancelledError '${message}'`);
    });
  }
});
