/**
 * CPython's test_tasks.py: shield, wait, asCompleted (see conformance/README.md).
 */
import { describe, expect, it } from "vitest";
import {
  ALL_COMPLETED,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  TimeoutError,
  asCompleted,
  createTask,
  gather,
  getRunningLoop,
  run,
  setEventLoop,
  shield,
  sleep,
  wait,
} from "../../src/index.js";
import { loopsClosedAfterEach, rejection, runBriefly } from "../core/helpers.js";

const newLoop = loopsClosedAfterEach();

describe("shield (test_tasks test_shield_*)", () => {
  it("test_shield_result", async () => {
    const loop = newLoop();
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    inner.setResult(42);
    expect(await loop.runUntilComplete(outer)).toBe(42);
  });

  it("test_shield_exception", async () => {
    const loop = newLoop();
    const inner = loop.createFuture();
    const outer = shield(inner);
    await runBriefly(loop);
    const exc = new Error("expected");
    inner.setException(exc);
    await runBriefly(loop);
    expect(outer.exception()).toBe(exc);
  });

  it("test_shield_cancel_inner: cancelling the inner future cancels the outer one", async () => {
    const loop = newLoop();
    const inner = loop.createFuture();
    const outer = shield(inner);
    await runBriefly(loop);
    inner.cancel();
    await runBriefly(loop);
    expect(outer.cancelled()).toBe(true);
  });

  it("test_shield_cancel_outer: cancelling the outer future leaves the inner one alone", async () => {
    const loop = newLoop();
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    await runBriefly(loop);
    outer.cancel();
    await runBriefly(loop);
    expect(outer.cancelled()).toBe(true);
    expect(inner.cancelled()).toBe(false);
    inner.setResult(1);
    await runBriefly(loop);
    expect(inner.result()).toBe(1);
  });

  it("test_shield_shortcut: shielding a done future gives its result", async () => {
    const loop = newLoop();
    const fut = loop.createFuture<number>();
    fut.setResult(42);
    expect(await loop.runUntilComplete(shield(fut))).toBe(42);
  });

  it("test_shield_effect: cancelling the awaiting task does not cancel the shielded work", async () => {
    const loop = newLoop();
    let proof = 0;
    const waiter = loop.createFuture<void>();
    const f = loop.createTask(async () => {
      await shield(async () => {
        await waiter;
        proof += 1;
      });
      proof += 100;
    });
    await runBriefly(loop);
    f.cancel();
    await expect(loop.runUntilComplete(f)).rejects.toBeInstanceOf(CancelledError);
    waiter.setResult();
    await runBriefly(loop);
    expect(proof).toBe(1);
  });

  it("test_shield_gather: a shielded gather survives the outer cancel", async () => {
    const loop = newLoop();
    setEventLoop(loop);
    const child1 = loop.createFuture<number>();
    const child2 = loop.createFuture<number>();
    const parent = gather(child1, child2);
    const outer = shield(parent);
    await runBriefly(loop);
    outer.cancel();
    await runBriefly(loop);
    expect(outer.cancelled()).toBe(true);
    child1.setResult(1);
    child2.setResult(2);
    await runBriefly(loop);
    expect(parent.result()).toEqual([1, 2]);
  });

  it("test_gather_shield: cancelling a gather of shields cancels the shields, not the children", async () => {
    const loop = newLoop();
    setEventLoop(loop);
    const child1 = loop.createFuture<number>();
    const child2 = loop.createFuture<number>();
    const inner1 = shield(child1);
    const inner2 = shield(child2);
    const parent = gather(inner1, inner2);
    await runBriefly(loop);
    parent.cancel();
    await runBriefly(loop);
    expect(parent.exception()).toBeInstanceOf(CancelledError);
    expect(inner1.cancelled()).toBe(true);
    expect(inner2.cancelled()).toBe(true);
    expect(child1.cancelled() || child2.cancelled()).toBe(false);
    child1.setResult(1);
    child2.setResult(2);
    await runBriefly(loop);
  });

  it("test_shield_coroutine_use_running_loop / _use_global_loop: a function is started on that loop", async () => {
    const loop = newLoop();
    const { outer } = await loop.runUntilComplete(async () => ({ outer: shield(async () => 42) }));
    expect(outer.getLoop()).toBe(loop);
    expect(await loop.runUntilComplete(outer)).toBe(42);
    const other = newLoop();
    setEventLoop(other);
    const o2 = shield(async () => 43);
    expect(o2.getLoop()).toBe(other);
    expect(await other.runUntilComplete(o2)).toBe(43);
  });
});

describe("wait (test_tasks test_wait_*)", () => {
  it("test_wait: all completed, at the time of the last; again without waiting", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(100));
    const b = loop.createTask(() => sleep(150));
    const foo = async (): Promise<number> => {
      const [done, pending] = await wait([b, a]);
      expect(done).toEqual(new Set([a, b]));
      expect(pending.size).toBe(0);
      return 42;
    };
    expect(await loop.runUntilComplete(foo)).toBe(42);
    expect(loop.time()).toBe(150);
    expect(await loop.runUntilComplete(foo)).toBe(42);
    expect(loop.time()).toBe(150);
  });

  it("test_wait_duplicate_coroutines: a task passed twice counts once", async () => {
    const [done, pending] = await run(async () => {
      const c = createTask(async () => "test");
      return await wait([c, c, createTask(async () => "spam")]);
    });
    expect(pending.size).toBe(0);
    expect(new Set([...done].map((f) => f.result()))).toEqual(new Set(["test", "spam"]));
  });

  it("test_wait_errors: an empty set and a bad returnWhen are errors", async () => {
    await run(async () => {
      await expect(wait([])).rejects.toThrow("Expected aws to hold at least one awaitable, got an empty iterable");
      const t = createTask(() => sleep(10));
      await expect(wait([t], { returnWhen: -1 as never })).rejects.toThrow(
        "Expected returnWhen to be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got -1 (number)",
      );
      t.cancel();
    });
  });

  it("test_wait_first_completed", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(10_000));
    const b = loop.createTask(() => sleep(100));
    const [done, pending] = await loop.runUntilComplete(() => wait([b, a], { returnWhen: FIRST_COMPLETED }));
    expect(done).toEqual(new Set([b]));
    expect(pending).toEqual(new Set([a]));
    expect(a.done()).toBe(false);
    expect(b.result()).toBeUndefined();
    expect(loop.time()).toBe(100);
    await loop.runUntilComplete(() => wait([a, b]));
    expect(loop.time()).toBe(10_000);
  });

  it("test_wait_really_done: futures done by the time wait returns are in done", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(0));
    const b = loop.createTask(async () => {
      await sleep(0);
      await sleep(0);
    });
    const [done] = await loop.runUntilComplete(() => wait([b, a], { returnWhen: FIRST_COMPLETED }));
    expect(done).toEqual(new Set([a, b]));
  });

  it("test_wait_first_exception: a task that already failed returns at once", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(10_000));
    const b = loop.createTask(async () => {
      throw new RangeError("err");
    });
    const [done, pending] = await loop.runUntilComplete(() => wait([b, a], { returnWhen: FIRST_EXCEPTION }));
    expect(done).toEqual(new Set([b]));
    expect(pending).toEqual(new Set([a]));
    expect(loop.time()).toBe(0);
    a.cancel();
    await loop.runUntilComplete(() => wait([a, b]));
  });

  it("test_wait_first_exception_in_wait: a failure during the wait", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(10_000));
    const b = loop.createTask(async () => {
      await sleep(10);
      throw new RangeError("err");
    });
    const [done, pending] = await loop.runUntilComplete(() => wait([b, a], { returnWhen: FIRST_EXCEPTION }));
    expect(done).toEqual(new Set([b]));
    expect(pending).toEqual(new Set([a]));
    expect(loop.time()).toBe(10);
    a.cancel();
    await loop.runUntilComplete(() => wait([a, b]));
  });

  it("FIRST_EXCEPTION with no failure waits for all", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(10));
    const b = loop.createTask(() => sleep(20));
    const [done] = await loop.runUntilComplete(() => wait([a, b], { returnWhen: FIRST_EXCEPTION }));
    expect(done.size).toBe(2);
    expect(loop.time()).toBe(20);
  });

  it("test_wait_with_exception: errors are not raised by wait", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(100));
    const b = loop.createTask(async () => {
      await sleep(150);
      throw new RangeError("really");
    });
    const foo = async (): Promise<void> => {
      const [done, pending] = await wait([b, a]);
      expect(done.size).toBe(2);
      expect(pending.size).toBe(0);
      expect([...done].filter((f) => f.exception() !== undefined)).toHaveLength(1);
    };
    await loop.runUntilComplete(foo);
    expect(loop.time()).toBe(150);
    await loop.runUntilComplete(foo);
    expect(loop.time()).toBe(150);
  });

  it("test_wait_with_timeout / test_wait_concurrent_complete: on timeout, wait returns what is done", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(100));
    const b = loop.createTask(() => sleep(150));
    const [done, pending] = await loop.runUntilComplete(() => wait([b, a], { timeout: 110 }));
    expect(done).toEqual(new Set([a]));
    expect(pending).toEqual(new Set([b]));
    expect(loop.time()).toBe(110);
    const [d2, p2] = await loop.runUntilComplete(() => wait([b], { timeout: 40 }));
    expect(d2).toEqual(new Set([b])); // b finishes at 150, exactly at the timeout
    expect(p2.size).toBe(0);
    expect(loop.time()).toBe(150);
  });

  it("test_wait_with_iterator_of_tasks / test_wait_generator: any iterable", async () => {
    await run(
      async () => {
        const a = createTask(() => sleep(100));
        const b = createTask(() => sleep(150));
        const [done] = await wait([b, a][Symbol.iterator]());
        expect(done).toEqual(new Set([a, b]));
        function* tasks() {
          for (let i = 0; i < 10; i++) yield createTask(async () => i);
        }
        const [d2, p2] = await wait(tasks(), { returnWhen: ALL_COMPLETED });
        expect(d2.size).toBe(10);
        expect(p2.size).toBe(0);
        expect(getRunningLoop().time()).toBe(150);
      },
      { virtualTime: true },
    );
  });

  it("test_wait_invalid_args: a single future is not an iterable of futures", async () => {
    await run(async () => {
      const f = getRunningLoop().createFuture();
      await expect(wait(f as never)).rejects.toThrow(TypeError);
      await expect(wait((async () => 1) as never)).rejects.toThrow(TypeError);
      await expect(wait([])).rejects.toThrow(RangeError);
      await expect(wait([f], { timeout: -1 })).rejects.toThrow(RangeError);
      await expect(wait([f], { timeout: NaN })).rejects.toThrow(RangeError);
      f.cancel();
    });
  });

  it("wait does not cancel the tasks it returns as pending", async () => {
    await run(
      async () => {
        const a = createTask(() => sleep(100, "a"));
        const [, pending] = await wait([a], { timeout: 10 });
        expect(pending.has(a)).toBe(true);
        expect(await a).toBe("a");
      },
      { virtualTime: true },
    );
  });
});

describe("asCompleted (test_tasks test_as_completed_*)", () => {
  it("test_as_completed: yields in completion order", async () => {
    const loop = newLoop();
    const res = await loop.runUntilComplete(async () => {
      const sleeper = (dt: number, x: string) => () => sleep(dt, x);
      const values: string[] = [];
      for await (const f of asCompleted([sleeper(10, "b"), sleeper(150, "c"), sleeper(10, "a")])) values.push(await f);
      return values;
    });
    expect(loop.time()).toBe(150);
    expect(res.slice(0, 2).sort()).toEqual(["a", "b"]);
    expect(res[2]).toBe("c");
  });

  it("test_as_completed_same_tasks_in_as_out: futures and tasks come out as they went in", async () => {
    await run(async () => {
      const tb = createTask(async () => "b");
      const td = createTask(async () => "d");
      const fa = getRunningLoop().createFuture<string>();
      fa.setResult("a");
      const out = new Set<Future<string>>();
      for await (const f of asCompleted<string>([tb, fa, td])) out.add(f as unknown as Future<string>); // (TS types for-await elements as awaited)
      expect(out).toEqual(new Set([tb, fa, td]));
    });
  });

  it("test_as_completed_with_timeout: TimeoutError once the time is up", async () => {
    const loop = newLoop();
    const a = loop.createTask(() => sleep(100, "a"));
    const b = loop.createTask(() => sleep(150, "b"));
    const values = await loop.runUntilComplete(async () => {
      const out: unknown[] = [];
      try {
        for await (const f of asCompleted([a, b], { timeout: 120 })) out.push([1, await f]);
      } catch (e) {
        out.push([2, e]);
      }
      return out;
    });
    expect(values).toHaveLength(2);
    expect(values[0]).toEqual([1, "a"]);
    expect((values[1] as unknown[])[0]).toBe(2);
    expect((values[1] as unknown[])[1]).toBeInstanceOf(TimeoutError);
    expect(loop.time()).toBe(120);
    await loop.runUntilComplete(() => wait([a, b]));
  });

  it("test_as_completed_with_unused_timeout: a timeout that does not expire changes nothing", async () => {
    const loop = newLoop();
    await loop.runUntilComplete(async () => {
      for await (const f of asCompleted([() => sleep(10, "a")], { timeout: 1000 })) expect(await f).toBe("a");
    });
    expect(loop.time()).toBe(10);
    expect(loop._nextTimerWhen()).toBeUndefined(); // the timeout's timer was cancelled
  });

  it("test_as_completed_resume_iterator: the iterator can be resumed after a break", async () => {
    const collected = await run(async () => {
      const it = asCompleted([0, 1, 2, 3].map((i) => async () => i));
      const out: number[] = [];
      let n = 0;
      for await (const f of it) {
        out.push(await f);
        if (++n === 2) break;
      }
      expect(out).toHaveLength(2);
      for await (const f of it) out.push(await f);
      return out;
    });
    expect([...collected].sort()).toEqual([0, 1, 2, 3]);
  });

  it("test_as_completed_concurrent: the yielded futures can be awaited together", async () => {
    await run(
      async () => {
        const futs: Future<string>[] = [];
        for await (const f of asCompleted<string>([() => sleep(50, "a"), () => sleep(50, "b")])) futs.push(f as unknown as Future<string>);
        expect(futs).toHaveLength(2);
        const [done] = await wait(futs);
        expect(new Set([...done].map((f) => f.result()))).toEqual(new Set(["a", "b"]));
      },
      { virtualTime: true },
    );
  });

  it("test_as_completed_duplicate_coroutines: a duplicate is yielded once", async () => {
    const result = await run(async () => {
      const c = async (): Promise<string> => "ham";
      const out: string[] = [];
      for await (const f of asCompleted([c, c, async () => "spam"])) out.push(await f);
      return out;
    });
    expect(new Set(result)).toEqual(new Set(["ham", "spam"]));
    expect(result).toHaveLength(2);
  });

  it("test_as_completed_coroutine_use_running_loop", async () => {
    await run(async () => {
      const futs: Future<number>[] = [];
      for await (const f of asCompleted<number>([async () => 42])) futs.push(f as unknown as Future<number>);
      expect(futs).toHaveLength(1);
      expect(futs[0]!.getLoop()).toBe(getRunningLoop());
      expect(await futs[0]!).toBe(42);
    });
  });

  it("test_as_completed_invalid_args: a future or a function is not an iterable", async () => {
    await run(async () => {
      const f = getRunningLoop().createFuture();
      expect(() => asCompleted(f as never)).toThrow(TypeError);
      expect(() => asCompleted((async () => 1) as never)).toThrow(TypeError);
      expect(() => asCompleted([f], { timeout: -5 })).toThrow(RangeError);
      f.cancel();
    });
  });

  it("an error of one awaitable comes out when its future is awaited, not from the iteration", async () => {
    await run(
      async () => {
        const out: string[] = [];
        for await (const f of asCompleted([
          async () => {
            await sleep(10);
            throw new Error("bad");
          },
          () => sleep(20, "good"),
        ])) {
          try {
            out.push(await f);
          } catch (e) {
            out.push((e as Error).message);
          }
        }
        expect(out).toEqual(["bad", "good"]);
      },
      { virtualTime: true },
    );
  });

  // CPython 3.13's _AsCompletedIterator queues the done futures (tasks.py:578 `self._done = queues.Queue()`,
  // :630 `f = await self._done.get()`): each waiting __anext__ gets one, in the order they asked.
  it("two consumers of one iterator each get their own results (CPython 3.13's twin: ac2.py)", async () => {
    const lines = await run(
      async () => {
        const out: string[] = [];
        const ts = [30, 10, 20].map((ms, i) => createTask(() => sleep(ms, `t${i}`)));
        const it = asCompleted(ts);
        const worker = async (name: string): Promise<void> => {
          for (let r = await it.next(); r.done !== true; r = await it.next()) out.push(`${name} got ${r.value.result()}`);
          out.push(`${name} end`);
        };
        await gather(worker("w1"), worker("w2"));
        out.push("all done");
        return out;
      },
      { virtualTime: true },
    );
    // CPython 3.13: w1 got t1, w2 got t2, w2 end, w1 got t0, w1 end, all done
    expect(lines).toEqual(["w1 got t1", "w2 got t2", "w2 end", "w1 got t0", "w1 end", "all done"]);
  });

  it("gather(it.next(), it.next()) gets both results, then the iteration ends (CPython 3.13's twin: ac1.py)", async () => {
    await run(
      async () => {
        const a = createTask(() => sleep(10, "a"));
        const b = createTask(() => sleep(20, "b"));
        const it = asCompleted([a, b]);
        const [x, y] = await gather(it.next(), it.next());
        expect([x.value, y.value]).toEqual([a, b]);
        expect(await it.next()).toEqual({ done: true, value: undefined });
      },
      { virtualTime: true },
    );
  });

  it("a cancelled waiting next() loses no result: the next waiter gets it, and the iteration still yields all", async () => {
    await run(
      async () => {
        const a = createTask(() => sleep(10, "a"));
        const b = createTask(() => sleep(20, "b"));
        const it = asCompleted([a, b]);
        const n1 = createTask(() => it.next());
        const n2 = createTask(() => it.next());
        await sleep(0);
        n1.cancel();
        expect(await rejection(n1)).toBeInstanceOf(CancelledError);
        expect((await n2).value).toBe(a);
        // (CPython 3.13 counts the cancelled __anext__ as a step of the iteration (tasks.py:602
        // `self._todo_left -= 1` before the await) and ends it here, leaving b in its queue, never yielded:
        // asyncio-ts gives the step back, so nothing is lost)
        expect((await it.next()).value).toBe(b);
        expect((await it.next()).done).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("a next() woken and then cancelled before it runs passes the result to the next waiter (queues.py:196)", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const fa = loop.createFuture<string>();
        const fb = loop.createFuture<string>();
        const it = asCompleted([fa, fb]);
        const n1 = createTask(() => it.next());
        const n2 = createTask(() => it.next());
        await sleep(0); // both wait
        fa.setResult("a"); // its done callback, next iteration, wakes n1
        await sleep(0); // runs after that callback, before n1 resumes
        n1.cancel();
        expect(await rejection(n1)).toBeInstanceOf(CancelledError);
        expect((await n2).value).toBe(fa);
        fb.setResult("b");
        expect((await it.next()).value).toBe(fb);
        expect((await it.next()).done).toBe(true);
      },
      { virtualTime: true },
    );
  });

  it("cancelling the task iterating asCompleted stops the iteration", async () => {
    await run(
      async () => {
        const t = createTask(async () => {
          for await (const f of asCompleted([() => sleep(1000)])) await f;
        });
        await sleep(10);
        t.cancel();
        expect(await rejection(t)).toBeInstanceOf(CancelledError);
      },
      { virtualTime: true },
    );
  });
});
