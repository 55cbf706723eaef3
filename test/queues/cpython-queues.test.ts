/**
 * CPython's test_queues.py, as behaviours of Queue, LifoQueue and PriorityQueue (see
 * conformance/README.md). CPython's mixin tests run here on all three classes.
 */
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TimeoutError,
  createTask,
  Event,
  getRunningLoop,
  run,
  sleep,
  taskGroup,
  waitFor,
} from "../../src/index.js";

const V = { virtualTime: true };

const QUEUES = [Queue, LifoQueue, PriorityQueue] as const;

describe("Queue basics (test_queues QueueBasicTests)", () => {
  it("QueueBasicTests.test_repr / test_str: the string names the class and shows waiting getters and putters", async () => {
    await run(async () => {
      let q = new Queue<number>();
      expect(String(q).startsWith("<Queue")).toBe(true);

      const getter = await taskGroup(async (tg) => {
        const g = tg.createTask(() => q.get());
        await sleep(0);
        expect(String(q)).toContain("_getters[1]");
        q.putNowait(0);
        return [g] as const; // (a task returned alone would be awaited)
      });
      expect(await getter[0]).toBe(0);
      expect(String(q)).not.toContain("_getters");

      q = new Queue<number>(1);
      const putter = await taskGroup(async (tg) => {
        q.putNowait(1);
        const p = tg.createTask(() => q.put(2));
        await sleep(0);
        expect(String(q)).toContain("_putters[1]");
        q.getNowait();
        return [p] as const;
      });
      expect(putter[0].done()).toBe(true);

      q = new Queue<number>();
      q.putNowait(1);
      expect(String(q)).toBe("<Queue maxsize=0 qsize=1 tasks=1>"); // CPython shows the items: _queue=[1]
    }, V);
  });

  it("QueueBasicTests.test_empty: empty() until a put, and again after the get", async () => {
    await run(async () => {
      const q = new Queue<number>();
      expect(q.empty()).toBe(true);
      await q.put(1);
      expect(q.empty()).toBe(false);
      expect(await q.get()).toBe(1);
      expect(q.empty()).toBe(true);
    }, V);
  });

  it("QueueBasicTests.test_full: an unbounded queue is never full; a bounded one is at maxsize", async () => {
    await run(async () => {
      expect(new Queue<number>().full()).toBe(false);
      const q = new Queue<number>(1);
      await q.put(1);
      expect(q.full()).toBe(true);
    }, V);
  });

  it("QueueBasicTests.test_order: FIFO", async () => {
    await run(async () => {
      const q = new Queue<number>();
      for (const i of [1, 3, 2]) await q.put(i);
      const items = [await q.get(), await q.get(), await q.get()];
      expect(items).toEqual([1, 3, 2]);
    }, V);
  });

  it("QueueBasicTests.test_maxsize: a putter blocks at maxsize and resumes when a get frees a slot", async () => {
    await run(async () => {
      const q = new Queue<number>(2);
      expect(q.maxsize).toBe(2);
      const haveBeenPut: number[] = [];
      const t = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          await q.put(i);
          haveBeenPut.push(i);
        }
        return true;
      });
      await sleep(0);
      await sleep(0);
      expect(haveBeenPut).toEqual([0, 1]);
      expect(await q.get()).toBe(0);
      await sleep(0);
      expect(haveBeenPut).toEqual([0, 1, 2]);
      expect(await q.get()).toBe(1);
      expect(await q.get()).toBe(2);
      expect(t.done()).toBe(true);
      expect(t.result()).toBe(true);
    }, V);
  });
});

describe("Queue.get (test_queues QueueGetTests)", () => {
  it("QueueGetTests.test_blocking_get: get returns a queued item", async () => {
    await run(async () => {
      const q = new Queue<number>();
      q.putNowait(1);
      expect(await q.get()).toBe(1);
    }, V);
  });

  it("QueueGetTests.test_get_with_putters: a get from a full queue wakes the waiting putter at once", async () => {
    await run(async () => {
      const q = new Queue<number>(1);
      await q.put(1);
      const putter = createTask(() => q.put(2));
      await sleep(0);
      const w = q._putters.first()!;
      expect(w.done()).toBe(false);
      expect(await q.get()).toBe(1);
      expect(w.done()).toBe(true); // woken by get(), before the putter runs
      expect(w.result()).toBeUndefined();
      await putter;
      expect(q.getNowait()).toBe(2);
    }, V);
  });

  it("QueueGetTests.test_blocking_get_wait: a get waits until a later putNowait", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const q = new Queue<number>();
      const started = new Event();
      let finished = false;
      const t = createTask(async () => {
        started.set();
        const res = await q.get();
        finished = true;
        return res;
      });
      await started.wait();
      expect(finished).toBe(false);
      loop.callLater(10, () => q.putNowait(1));
      expect(await t).toBe(1);
      expect(finished).toBe(true);
      expect(loop.time()).toBe(10);
    }, V);
  });

  it("QueueGetTests.test_nonblocking_get: getNowait returns a queued item", () => {
    const q = new Queue<number>();
    q.putNowait(1);
    expect(q.getNowait()).toBe(1);
  });

  it("QueueGetTests.test_nonblocking_get_exception: getNowait on an empty queue throws QueueEmpty", () => {
    expect(() => new Queue<number>().getNowait()).toThrow(QueueEmpty);
  });

  it("QueueGetTests.test_get_cancelled_race: a getter cancelled before any put does not take the item", async () => {
    await run(async () => {
      const q = new Queue<string>();
      const t1 = createTask(() => q.get());
      const t2 = createTask(() => q.get());
      await sleep(0);
      t1.cancel();
      await sleep(0);
      expect(t1.done()).toBe(true);
      await q.put("a");
      await sleep(0);
      expect(await t2).toBe("a");
    }, V);
  });

  it("QueueGetTests.test_get_with_waiting_putters: gets take the items of waiting putters in order", async () => {
    await run(async () => {
      const q = new Queue<string>(1);
      createTask(() => q.put("a"));
      createTask(() => q.put("b"));
      expect(await q.get()).toBe("a");
      expect(await q.get()).toBe("b");
    }, V);
  });

  it("QueueGetTests.test_why_are_getters_waiting: a producer and a consumer over a queue of one finish", async () => {
    await run(async () => {
      const q = new Queue<number>(1);
      const got: number[] = [];
      await taskGroup((tg) => {
        tg.createTask(async () => {
          for (let i = 0; i < 5; i++) await q.put(i);
        });
        tg.createTask(async () => {
          for (let i = 0; i < 5; i++) got.push(await q.get());
        });
      });
      expect(got).toEqual([0, 1, 2, 3, 4]);
      expect(q.statistics().getters).toBe(0);
    }, V);
  });

  it("QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters: a timed-out get leaves no getter", async () => {
    await run(async () => {
      const q = new Queue<number>(5);
      await expect(waitFor(() => q.get(), 100)).rejects.toBeInstanceOf(TimeoutError);
      expect(getRunningLoop().time()).toBe(100);
      expect(q._getters.size).toBe(0);
    }, V);
  });
});

describe("Queue.put (test_queues QueuePutTests)", () => {
  it("QueuePutTests.test_blocking_put: put on an unbounded queue does not block", async () => {
    await run(async () => {
      const q = new Queue<number>();
      await q.put(1);
      expect(await q.get()).toBe(1);
    }, V);
  });

  it("QueuePutTests.test_blocking_put_wait: a put on a full queue waits for a later getNowait", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const q = new Queue<number>(1);
      const started = new Event();
      let finished = false;
      loop.callLater(10, () => q.getNowait());
      const t = createTask(async () => {
        started.set();
        await q.put(1);
        await q.put(2);
        finished = true;
      });
      await started.wait();
      expect(finished).toBe(false);
      await t;
      expect(finished).toBe(true);
      expect(loop.time()).toBe(10);
      expect(q.getNowait()).toBe(2);
    }, V);
  });

  it("QueuePutTests.test_nonblocking_put: putNowait stores the item", () => {
    const q = new Queue<number>();
    q.putNowait(1);
    expect(q.getNowait()).toBe(1);
  });

  it("QueuePutTests.test_get_cancel_drop_one_pending_reader: a reader woken then cancelled does not drop the item", async () => {
    await run(async () => {
      const q = new Queue<number>();
      let reader = createTask(() => q.get());
      await sleep(0);
      q.putNowait(1);
      q.putNowait(2);
      reader.cancel();
      try {
        await reader;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        reader = createTask(() => q.get());
        await reader;
      }
      expect(reader.result()).toBe(1); // 2 would mean 1 was dropped
    }, V);
  });

  it("QueuePutTests.test_get_cancel_drop_many_pending_readers: the other readers get both items", async () => {
    await run(async () => {
      const q = new Queue<number>();
      const [reader2, reader3] = await taskGroup(async (tg) => {
        const reader1 = tg.createTask(() => q.get());
        const r2 = tg.createTask(() => q.get());
        const r3 = tg.createTask(() => q.get());
        await sleep(0);
        q.putNowait(1);
        q.putNowait(2);
        reader1.cancel();
        await expect(reader1).rejects.toBeInstanceOf(CancelledError);
        await r3;
        return [r2, r3] as const;
      });
      expect(new Set([reader2.result(), reader3.result()])).toEqual(new Set([1, 2]));
      expect(q.empty()).toBe(true);
    }, V);
  });

  it("QueuePutTests.test_put_cancel_drop: a putter woken then cancelled puts nothing; a retry puts once", async () => {
    await run(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      let writer = createTask(() => q.put(2));
      await sleep(0);
      expect(q.getNowait()).toBe(1);
      writer.cancel();
      try {
        await writer;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        writer = createTask(() => q.put(2));
        await writer;
      }
      expect(q.getNowait()).toBe(2);
      expect(q.qsize()).toBe(0);
    }, V);
  });

  it("QueuePutTests.test_nonblocking_put_exception: putNowait on a full queue throws QueueFull", () => {
    const q = new Queue<number>(1);
    q.putNowait(1);
    expect(() => q.putNowait(2)).toThrow(QueueFull);
  });

  it("QueuePutTests.test_float_maxsize: a fractional maxsize is an error (CPython accepts 1.3 and fills at 2)", async () => {
    expect(() => new Queue(1.3)).toThrow(RangeError);
    expect(() => new Queue(1.3)).toThrow("Expected maxsize to be a non-negative integer, got 1.3 (number)");
    await run(async () => {
      const q = new Queue<number>(2);
      await q.put(1);
      await q.put(2);
      expect(q.full()).toBe(true);
      expect(() => q.putNowait(3)).toThrow(QueueFull);
    }, V);
  });

  it("QueuePutTests.test_put_cancelled: a put task completes once its item is got", async () => {
    await run(async () => {
      const q = new Queue<number>();
      const t = createTask(async () => {
        await q.put(1);
        return true;
      });
      expect(await q.get()).toBe(1);
      expect(t.done()).toBe(true);
      expect(t.result()).toBe(true);
    }, V);
  });

  it("QueuePutTests.test_put_cancelled_race: a cancelled putter puts nothing; the others put in order", async () => {
    await run(async () => {
      const q = new Queue<string>(1);
      const putA = createTask(() => q.put("a"));
      const putB = createTask(() => q.put("b"));
      const putC = createTask(() => q.put("X"));
      await sleep(0);
      expect(putA.done()).toBe(true);
      expect(putB.done()).toBe(false);
      putC.cancel();
      await sleep(0);
      expect(putC.done()).toBe(true);
      expect(q.getNowait()).toBe("a");
      await sleep(0);
      expect(q.getNowait()).toBe("b");
      await putB;
      expect(q.empty()).toBe(true);
    }, V);
  });

  it("QueuePutTests.test_put_with_waiting_getters: a put hands the item to a waiting getter", async () => {
    await run(async () => {
      const q = new Queue<string>();
      const t = createTask(() => q.get());
      await sleep(0);
      await q.put("a");
      expect(await t).toBe("a");
    }, V);
  });

  it("QueuePutTests.test_why_are_putters_waiting: four putters on a queue of two all finish once a getter drains it", async () => {
    await run(async () => {
      const q = new Queue<number>(2);
      const got: number[] = [];
      await taskGroup((tg) => {
        tg.createTask(async () => {
          await sleep(0);
          for (let n = q.qsize(); n > 0; n--) got.push(q.getNowait());
        });
        for (const i of [0, 1, 2, 3]) tg.createTask(() => q.put(i));
      });
      expect(got).toEqual([0, 1]);
      expect([q.getNowait(), q.getNowait()]).toEqual([2, 3]);
    }, V);
  });

  it("QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters: a cancelled putter leaves no waiter", async () => {
    await run(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      const t = createTask(() => q.put(1));
      await sleep(0);
      expect(q._putters.size).toBe(1);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      expect(q._putters.size).toBe(0);
    }, V);
  });

  it("QueuePutTests.test_cancelled_put_silence_value_error_exception: a putter woken by getNowait then cancelled just ends cancelled", async () => {
    await run(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      const t = createTask(() => q.put(1));
      await sleep(0);
      q.getNowait(); // unlinks and wakes the putter
      expect(q._putters.size).toBe(0);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      expect(q.empty()).toBe(true);
    }, V);
  });
});

describe("LifoQueue and PriorityQueue order (test_queues LifoQueueTests, PriorityQueueTests)", () => {
  it("LifoQueueTests.test_order: newest first", async () => {
    await run(async () => {
      const q = new LifoQueue<number>();
      for (const i of [1, 3, 2]) await q.put(i);
      expect([await q.get(), await q.get(), await q.get()]).toEqual([2, 3, 1]);
    }, V);
  });

  it("PriorityQueueTests.test_order: smallest first", async () => {
    await run(async () => {
      const q = new PriorityQueue<number>();
      for (const i of [1, 3, 2]) await q.put(i);
      expect([await q.get(), await q.get(), await q.get()]).toEqual([1, 2, 3]);
    }, V);
  });
});

describe("join and taskDone (test_queues _QueueJoinTestMixin, on Queue, LifoQueue, PriorityQueue)", () => {
  it("_QueueJoinTestMixin.test_task_done_underflow: taskDone with nothing unfinished throws RangeError", () => {
    for (const Q of QUEUES) expect(() => new Q<number>().taskDone()).toThrow(RangeError);
  });

  it("_QueueJoinTestMixin.test_task_done: join returns once two workers have marked all 100 items done", async () => {
    for (const Q of QUEUES) {
      await run(async () => {
        const q = new Q<number>();
        for (let i = 0; i < 100; i++) q.putNowait(i);
        let accumulator = 0;
        let running = true;
        await taskGroup(async (tg) => {
          const tasks = [0, 1].map(() =>
            tg.createTask(async () => {
              while (running) {
                accumulator += await q.get();
                q.taskDone();
              }
            }),
          );
          await q.join();
          expect(accumulator).toBe(4950);
          running = false;
          for (let i = 0; i < tasks.length; i++) q.putNowait(0);
        });
        expect(q._unfinishedTasks).toBe(0);
      }, V);
    }
  });

  it("_QueueJoinTestMixin.test_join_empty_queue: join on a queue never put to returns at once, twice", async () => {
    for (const Q of QUEUES) {
      await run(async () => {
        const q = new Q<number>();
        const other = createTask(() => Promise.resolve());
        await q.join();
        await q.join();
        expect(other.done()).toBe(false); // did not yield
        await other;
      }, V);
    }
  });

  it("_QueueJoinTestMixin.test_format: the string shows maxsize and unfinished tasks", () => {
    for (const Q of QUEUES) {
      const q = new Q<number>();
      expect(String(q)).toBe(`<${Q.name} maxsize=0 qsize=0>`);
      q.putNowait(1);
      q.putNowait(2);
      q.getNowait();
      q.getNowait();
      expect(String(q)).toBe(`<${Q.name} maxsize=0 qsize=0 tasks=2>`);
    }
  });
});

describe("shutdown (test_queues _QueueShutdownTestMixin, on Queue, LifoQueue, PriorityQueue)", () => {
  const allRaiseShutdown = async (q: Queue<string>): Promise<void> => {
    await expect(q.put("data")).rejects.toBeInstanceOf(QueueShutDown);
    expect(() => q.putNowait("data")).toThrow(QueueShutDown);
    await expect(q.get()).rejects.toBeInstanceOf(QueueShutDown);
    expect(() => q.getNowait()).toThrow(QueueShutDown);
  };

  it("_QueueShutdownTestMixin.test_format: the string says shutdown", () => {
    for (const Q of QUEUES) {
      const q = new Q<number>();
      q.shutdown();
      expect(String(q)).toBe(`<${Q.name} maxsize=0 qsize=0 shutdown>`);
    }
  });

  it("_QueueShutdownTestMixin.test_shutdown_empty: a blocked get throws QueueShutDown; join returns; put and get throw", async () => {
    for (const Q of QUEUES) {
      await run(async () => {
        const q = new Q<string>();
        const getTask = createTask(() => q.get());
        await sleep(0);
        q.shutdown(false);
        expect(q.qsize()).toBe(0);
        await q.join();
        await sleep(0);
        expect(getTask.done()).toBe(true);
        await expect(getTask).rejects.toBeInstanceOf(QueueShutDown);
        await allRaiseShutdown(q);
      }, V);
    }
  });

  it("_QueueShutdownTestMixin.test_shutdown_nonempty: a blocked put throws; the queued item can still be got; join waits for taskDone", async () => {
    for (const Q of QUEUES) {
      await run(async () => {
        const q = new Q<string>(1);
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        const putTask = createTask(() => q.put("data2"));
        await sleep(0);
        expect(putTask.done()).toBe(false);
        q.shutdown(false);
        expect(q.qsize()).toBe(1);
        await sleep(0);
        expect(putTask.done()).toBe(true);
        await expect(putTask).rejects.toBeInstanceOf(QueueShutDown);
        expect(await q.get()).toBe("data");
        await sleep(0);
        expect(joinTask.done()).toBe(false);
        await allRaiseShutdown(q);
        q.taskDone();
        await sleep(0);
        expect(joinTask.done()).toBe(true);
        await joinTask;
        expect(() => q.taskDone()).toThrow(RangeError);
      }, V);
    }
  });

  it("_QueueShutdownTestMixin.test_shutdown_immediate: the items are dropped and counted done; join returns", async () => {
    for (const Q of QUEUES) {
      await run(async () => {
        const q = new Q<string>();
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        q.shutdown(true);
        expect(q.qsize()).toBe(0);
        await sleep(0);
        expect(joinTask.done()).toBe(true);
        await joinTask;
        await allRaiseShutdown(q);
        expect(() => q.taskDone()).toThrow(RangeError);
      }, V);
    }
  });

  it("_QueueShutdownTestMixin.test_shutdown_immediate_with_unfinished: an item got but not marked done keeps join waiting", async () => {
    for (const Q of QUEUES) {
      await run(async () => {
        const q = new Q<string>();
        q.putNowait("data");
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        expect(await q.get()).toBe("data");
        q.shutdown(true);
        expect(q.qsize()).toBe(0);
        await sleep(0);
        expect(joinTask.done()).toBe(false);
        await allRaiseShutdown(q);
        q.taskDone();
        expect(() => q.taskDone()).toThrow(RangeError);
        await sleep(0);
        expect(joinTask.done()).toBe(true);
        await joinTask;
      }, V);
    }
  });
});
