/**
 * Type tests of the combinators: `npx tsc -p tsconfig.json --noEmit` checks them (vitest's
 * `expectTypeOf` is a no-op at run time; the tests also run, so the programs are real).
 *
 * What they pin: `wait` and `asCompleted` take awaitables of different result types in one iterable
 * (a task and a `sleep`, a queue's get and an event's wait), and hand back the input's own tasks typed
 * as such (`done.has(work)`, `t === a`, `t.getName()`), precise for homogeneous inputs; an explicit type
 * argument (`wait<unknown>(...)`, `asCompleted<string>(...)`) still means the result type.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type Future,
  type Task,
  Event,
  FIRST_COMPLETED,
  Queue,
  asCompleted,
  createTask,
  gatherAll,
  run,
  sleep,
  wait,
} from "../../src/index.js";

describe("wait: mixed element types", () => {
  it("wait([createTask(() => q.get()), createTask(() => ev.wait())]) typechecks, the sets hold the tasks", async () => {
    await run(
      async () => {
        const q = new Queue<number>();
        const ev = new Event();
        const getter = createTask(() => q.get());
        const waiter = createTask(() => ev.wait());
        q.putNowait(1);
        const [done, pending] = await wait([getter, waiter], { returnWhen: FIRST_COMPLETED });
        expectTypeOf(done).toEqualTypeOf<Set<Task<number> | Task<true>>>();
        expectTypeOf(pending).toEqualTypeOf<Set<Task<number> | Task<true>>>();
        expect(done.has(getter)).toBe(true);
        expect(pending.has(waiter)).toBe(true);
        waiter.cancel();
      },
      { virtualTime: true },
    );
  });

  it("wait([work, sleep(100)]) and wait(new Set([t1, t2])) typecheck", async () => {
    await run(
      async () => {
        const work = createTask(async () => {
          await sleep(10);
          return 42;
        });
        const stopper = createTask(async () => "stop");
        const [done] = await wait([work, sleep(100)], { returnWhen: FIRST_COMPLETED });
        expectTypeOf(done).toEqualTypeOf<Set<Task<number> | Future<void>>>();
        expect(done.has(work)).toBe(true);
        const [all] = await wait(new Set([work, stopper]));
        expectTypeOf(all).toEqualTypeOf<Set<Task<number> | Task<string>>>();
        expect(all.size).toBe(2);
        const [fns] = await wait([() => sleep(1), async () => "x"]);
        expectTypeOf(fns).toEqualTypeOf<Set<Task<void> | Task<string>>>();
      },
      { virtualTime: true },
    );
  });

  it("homogeneous inputs keep their precise type; an explicit type argument names the result type", async () => {
    await run(
      async () => {
        const t1 = createTask(async () => 1);
        const t2 = createTask(async () => 2);
        const [done] = await wait([t1, t2]);
        expectTypeOf(done).toEqualTypeOf<Set<Task<number>>>();
        const [d2] = await wait<unknown>([t1, t2]);
        expectTypeOf(d2).toEqualTypeOf<Set<Future<unknown>>>();
        const [d3] = await wait([Promise.resolve("p")]);
        expectTypeOf(d3).toEqualTypeOf<Set<Future<string>>>();
        expect([...d3][0]!.result()).toBe("p");
      },
      { virtualTime: true },
    );
  });
});

describe("asCompleted: mixed element types, and what next() yields", () => {
  it("asCompleted([work, sleep(5, 'x')]) typechecks", async () => {
    await run(
      async () => {
        const work = createTask(async () => {
          await sleep(10);
          return 42;
        });
        const seen: unknown[] = [];
        for await (const v of asCompleted([work, sleep(5, "x")])) seen.push(v);
        expect(seen).toHaveLength(2);
        const it = asCompleted([work, sleep(5, "x")]);
        expectTypeOf(it.next()).resolves.toEqualTypeOf<IteratorResult<Task<number> | Future<string>>>();
      },
      { virtualTime: true },
    );
  });

  it("it.next() yields the input task itself, typed as such: t === a, t.getName(), t.result()", async () => {
    await run(
      async () => {
        const a = createTask(() => sleep(10, "a"), { name: "a" });
        const b = createTask(() => sleep(20, "b"), { name: "b" });
        const names: string[] = [];
        const it = asCompleted([a, b]);
        for (let r = await it.next(); !r.done; r = await it.next()) {
          const t = r.value;
          expectTypeOf(t).toEqualTypeOf<Task<string>>();
          if (t === a) names.push("a first");
          names.push(`${t.getName()} ${t.result()}`);
        }
        expect(names).toEqual(["a first", "a a", "b b"]);
        // an explicit type argument names the result type, as before
        expectTypeOf(asCompleted<string>([a, b]).next()).resolves.toEqualTypeOf<IteratorResult<Future<string>>>();
      },
      { virtualTime: true },
    );
  });

  it("gatherAll takes mixed element types too", async () => {
    await run(
      async () => {
        const t = createTask(async () => 1);
        const r = await gatherAll([t, sleep(1, "s")]);
        expectTypeOf(r).toEqualTypeOf<Array<number | string>>();
        expect(r).toEqual([1, "s"]);
        expectTypeOf(await gatherAll<number>([t])).toEqualTypeOf<number[]>();
      },
      { virtualTime: true },
    );
  });
});
