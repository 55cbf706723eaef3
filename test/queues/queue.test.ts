import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  createTask,
  gather,
  getRunningLoop,
  run,
  sleep,
} from "../../src/index.js";

const py = (v: unknown): string =>
  Array.isArray(v) ? (v.length === 2 && typeof v[0] === "number" ? `(${v.map(py).join(", ")})` : `[${v.map(py).join(", ")}]`) : typeof v === "string" ? `'${v}'` : v === true ? "True" : v === false ? "False" : String(v);

describe("Queue, PriorityQueue, LifoQueue (CPython 3.13 semantics)", () => {
  it("matches CPython's transcript: bounded producer/consumer, cancelled getter and putter, shutdown, subclasses", async () => {
    const out: string[] = [];
    const p = (...a: unknown[]) => out.push(a.map((x) => (typeof x === "string" ? x : py(x))).join(" "));
    await run(
      async () => {
        let q = new Queue<number>(2);
        const prod = async () => {
          for (let i = 0; i < 5; i++) {
            await q.put(i);
            p("put", i);
          }
        };
        const cons = async () => {
          for (let i = 0; i < 5; i++) p("X", "got", await q.get());
        };
        await gather(createTask(prod), createTask(cons));

        const qs = new Queue<string>();
        const g1 = createTask(() => qs.get());
        const g2 = createTask(() => qs.get());
        await sleep(0);
        qs.putNowait("item");
        g1.cancel();
        await sleep(0);
        p("g1", g1.cancelled(), "g2 done", g2.done(), g2.done() && g2.result(), "qsize", qs.qsize());
        expect(await g2).toBe("item"); // the item was not lost

        const q1 = new Queue<string>(1);
        q1.putNowait("a");
        const p1 = createTask(() => q1.put("b"));
        const p2 = createTask(() => q1.put("c"));
        await sleep(0);
        p("got", q1.getNowait());
        p1.cancel();
        await sleep(0);
        p("p1", p1.cancelled(), "p2", p2.done(), "qsize", q1.qsize(), "items", q1._items.toArray());
        await p2;
        expect(q1.getNowait()).toBe("c");

        q = new Queue<number>();
        for (let i = 0; i < 3; i++) q.putNowait(i);
        const g = createTask(() => q.join());
        q.shutdown();
        try {
          q.putNowait(9);
        } catch (e) {
          if (e instanceof QueueShutDown) p("put after shutdown raises");
        }
        p("get", await q.get(), q.qsize());
        const q2 = new Queue<number>();
        const gg = createTask(() => q2.get());
        await sleep(0);
        q2.shutdown();
        try {
          await gg;
        } catch (e) {
          if (e instanceof QueueShutDown) p("blocked getter shutdown");
        }
        q.shutdown(true);
        p("after immediate", q.qsize(), q._unfinishedTasks);
        try {
          await q.get();
        } catch (e) {
          if (e instanceof QueueShutDown) p("get raises");
        }
        await sleep(0);
        p("join done", g.done());
        g.cancel();

        const q3 = new Queue<number>();
        try {
          q3.taskDone();
        } catch (e) {
          p("td", (e as Error).message.replace("taskDone", "task_done"));
        }

        const pq = new PriorityQueue<[number, string]>();
        for (const x of [[3, "c"], [1, "a"], [2, "b"], [1, "A"]] as Array<[number, string]>) pq.putNowait(x);
        p("pq", [0, 1, 2, 3].map(() => pq.getNowait()));
        const lq = new LifoQueue<number>();
        for (let i = 0; i < 3; i++) lq.putNowait(i);
        p("lq", [0, 1, 2].map(() => lq.getNowait()));

        const q4 = new Queue<number>();
        const c = (n: string) => async () => p(n, await q4.get());
        const ts = ["A", "B", "C"].map((n) => createTask(c(n)));
        await sleep(0);
        for (let i = 0; i < 3; i++) q4.putNowait(i);
        await gather(...ts);
      },
      { virtualTime: true },
    );
    expect(out.join(" | ")).toBe(
      "put 0 | put 1 | X got 0 | X got 1 | put 2 | put 3 | X got 2 | X got 3 | put 4 | X got 4 | " +
        "g1 True g2 done False False qsize 1 | got a | p1 True p2 False qsize 0 items [] | put after shutdown raises | " +
        "get 0 2 | blocked getter shutdown | after immediate 0 1 | get raises | join done False | " +
        "td task_done() called too many times | pq [(1, 'A'), (1, 'a'), (2, 'b'), (3, 'c')] | lq [2, 1, 0] | A 0 | B 1 | C 2",
    );
  });

  it("putNowait/getNowait throw QueueFull/QueueEmpty; qsize, empty, full, maxsize", () => {
    const q = new Queue<number>(1);
    expect(q.maxsize).toBe(1);
    expect(q.empty()).toBe(true);
    expect(() => q.getNowait()).toThrow(QueueEmpty);
    q.putNowait(1);
    expect(q.full()).toBe(true);
    expect(q.qsize()).toBe(1);
    expect(() => q.putNowait(2)).toThrow(QueueFull);
    expect(new Queue().full()).toBe(false);
    expect(() => new Queue(-1)).toThrow("Expected maxsize to be a non-negative integer, got -1 (number)");
    expect(() => new Queue(-1)).toThrow(RangeError);
    expect(() => new Queue("3" as never)).toThrow(TypeError);
    expect(() => q.shutdown("yes" as never)).toThrow('Expected immediate to be a boolean, got "yes" (string)');
  });

  it("taskDone and join: join resolves when every item was marked done; too many calls throw RangeError", async () => {
    await run(
      async () => {
        const q = new Queue<number>();
        await q.join(); // nothing unfinished: no wait
        for (let i = 0; i < 3; i++) q.putNowait(i);
        const worker = createTask(async () => {
          for (;;) {
            await q.get();
            await sleep(5);
            q.taskDone();
          }
        });
        await q.join();
        expect(getRunningLoop().time()).toBe(15);
        expect(() => q.taskDone()).toThrow(RangeError);
        worker.cancel();
      },
      { virtualTime: true },
    );
  });

  it("for await ends cleanly on shutdown after draining; shutdown(true) ends it at once", async () => {
    await run(
      async () => {
        const q = new Queue<number>(2);
        const seen: number[] = [];
        const consumer = createTask(async () => {
          for await (const n of q) {
            seen.push(n);
            q.taskDone();
          }
          return "ended";
        });
        for (let i = 0; i < 5; i++) await q.put(i);
        q.shutdown();
        expect(await consumer).toBe("ended");
        expect(seen).toEqual([0, 1, 2, 3, 4]);
        await expect(q.put(9)).rejects.toBeInstanceOf(QueueShutDown);

        const q2 = new Queue<number>();
        q2.putNowait(1);
        q2.putNowait(2);
        q2.shutdown(true);
        const got: number[] = [];
        for await (const n of q2) got.push(n);
        expect(got).toEqual([]);
        await q2.join(); // immediate shutdown counted the dropped items as done
      },
      { virtualTime: true },
    );
  });

  it("shutdown wakes blocked putters with QueueShutDown", async () => {
    await run(
      async () => {
        const q = new Queue<number>(1);
        q.putNowait(0);
        const putter = createTask(() => q.put(1));
        await sleep(0);
        expect(q.statistics().putters).toBe(1);
        q.shutdown();
        await expect(putter).rejects.toBeInstanceOf(QueueShutDown);
        expect(await q.get()).toBe(0); // items put before shutdown can still be got
        await expect(q.get()).rejects.toBeInstanceOf(QueueShutDown);
      },
      { virtualTime: true },
    );
  });

  it("a getter woken then cancelled does not lose the item: the next getter gets it", async () => {
    await run(
      async () => {
        const q = new Queue<string>();
        const a = createTask(() => q.get());
        const b = createTask(() => q.get());
        await sleep(0);
        q.putNowait("x");
        await sleep(0);
        expect(await a).toBe("x");
        q.putNowait("y"); // wakes b
        b.cancel(); // before b runs: "y" must stay queued
        q.putNowait("z");
        await expect(b).rejects.toBeInstanceOf(CancelledError);
        expect(q.qsize()).toBe(2);
        expect(q.getNowait()).toBe("y");
      },
      { virtualTime: true },
    );
  });

  it("statistics and toString", async () => {
    await run(
      async () => {
        const q = new Queue<number>(3);
        q.putNowait(1);
        const g = createTask(async () => {
          await q.get();
          return q.get();
        });
        await sleep(0);
        expect(q.statistics()).toEqual({ qsize: 0, maxsize: 3, getters: 1, putters: 0, unfinishedTasks: 1, shutdown: false });
        expect(String(q)).toBe("<Queue maxsize=3 qsize=0 _getters[1] tasks=1>");
        q.putNowait(2);
        expect(await g).toBe(2);
      },
      { virtualTime: true },
    );
  });

  it("PriorityQueue: Python order for numbers, strings and tuples; a custom compare; unorderable items throw", () => {
    const q = new PriorityQueue<unknown>();
    for (const x of [5, 1, 4, 2, 3]) q.putNowait(x);
    expect([1, 2, 3, 4, 5].map(() => q.getNowait())).toEqual([1, 2, 3, 4, 5]);
    const t = new PriorityQueue<[number, number[]]>();
    t.putNowait([1, [2, 1]]);
    t.putNowait([1, [2]]);
    t.putNowait([0, [9]]);
    expect([t.getNowait(), t.getNowait(), t.getNowait()]).toEqual([[0, [9]], [1, [2]], [1, [2, 1]]]);
    const byLen = new PriorityQueue<string>(0, { compare: (a, b) => b.length - a.length });
    for (const s of ["a", "ccc", "bb"]) byLen.putNowait(s);
    expect([byLen.getNowait(), byLen.getNowait(), byLen.getNowait()]).toEqual(["ccc", "bb", "a"]);
    const bad = new PriorityQueue<unknown>();
    bad.putNowait({});
    expect(() => bad.putNowait({})).toThrow("PriorityQueue cannot order an object (Object) and an object (Object)");
    expect(() => new PriorityQueue(0, { compare: 3 as never })).toThrow("Expected options.compare to be a function");
  });

  it("PriorityQueue: a put that cannot be ordered fails whole: the item is not stored, qsize() stays true", () => {
    const q = new PriorityQueue<unknown>();
    q.putNowait([1, { x: 1 }]);
    expect(() => q.putNowait([1, "a"])).toThrow(/PriorityQueue cannot order/);
    expect(q.qsize()).toBe(1);
    q.putNowait([5, "b"]);
    expect(q.qsize()).toBe(2);
    expect([q.getNowait(), q.getNowait()]).toEqual([[1, { x: 1 }], [5, "b"]]);
    expect(q.empty()).toBe(true);
  });

  it("PriorityQueue: a get whose compare throws loses no item (the heap is as it was)", () => {
    let strict = true;
    // (b and c are never compared by their puts, only by the sift of the first get)
    const q = new PriorityQueue<string>(0, {
      compare: (x, y) => {
        if (strict && [x, y].sort().join() === "b,c") throw new TypeError("b and c cannot be compared");
        return x < y ? -1 : x > y ? 1 : 0;
      },
    });
    for (const x of ["a", "b", "c"]) q.putNowait(x);
    expect(() => q.getNowait()).toThrow("b and c cannot be compared");
    expect(q.qsize()).toBe(3);
    strict = false;
    expect([q.getNowait(), q.getNowait(), q.getNowait()]).toEqual(["a", "b", "c"]);
  });

  it("PriorityQueue: with a compare that throws at random, no item is lost or duplicated, and gets come out in order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 9 }))), (ops) => {
        let calls = 0;
        let failAt = -1;
        const q = new PriorityQueue<number>(0, {
          compare: (x, y) => {
            if (calls++ === failAt) throw new RangeError("no");
            return x - y;
          },
        });
        const model: number[] = [];
        for (const [put, x, fail] of ops) {
          failAt = calls + fail; // (fails at one of the next compares, if this operation makes that many)
          if (put) {
            try {
              q.putNowait(x);
              model.push(x);
            } catch (e) {
              expect(e).toBeInstanceOf(RangeError);
            }
          } else if (model.length > 0) {
            try {
              const got = q.getNowait();
              model.sort((a, b) => a - b);
              expect(got).toBe(model.shift());
            } catch (e) {
              expect(e).toBeInstanceOf(RangeError);
            }
          }
          expect(q.qsize()).toBe(model.length);
        }
        failAt = -1;
        const rest: number[] = [];
        while (!q.empty()) rest.push(q.getNowait());
        expect(rest).toEqual([...model].sort((a, b) => a - b));
      }),
    );
  });

  it("PriorityQueue heap order holds over many random items", () => {
    const q = new PriorityQueue<number>();
    const xs = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1009);
    for (const x of xs) q.putNowait(x);
    const out: number[] = [];
    while (!q.empty()) out.push(q.getNowait());
    expect(out).toEqual([...xs].sort((a, b) => a - b));
  });

  it("a subclass overriding only the storage hooks changes the order", async () => {
    class EveryOtherQueue<T> extends Queue<T> {
      declare store: T[];
      protected override _init(): void {
        this.store = [];
      }
      protected override _put(item: T): void {
        this.store.push(item);
      }
      protected override _get(): T {
        return this.store.length > 1 ? this.store.splice(1, 1)[0]! : this.store.pop()!;
      }
    }
    await run(async () => {
      const q = new EveryOtherQueue<number>(3);
      for (const x of [1, 2, 3]) await q.put(x);
      expect(q.full()).toBe(true);
      expect([await q.get(), await q.get(), await q.get()]).toEqual([2, 3, 1]);
    });
  });

  it("the ring buffer grows past its initial capacity and keeps FIFO order", () => {
    const q = new Queue<number>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40; i++) q.putNowait(i);
      for (let i = 0; i < 25; i++) expect(q.getNowait()).toBe(i);
      for (let i = 25; i < 40; i++) expect(q.getNowait()).toBe(i);
    }
    expect(q.empty()).toBe(true);
  });
});
