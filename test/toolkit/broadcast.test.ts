/**
 * Broadcast: every subscriber sees every message published after it subscribed, in order; the three
 * strategies drop exactly what they should; publishing is atomic (a cancelled publish reached nobody) and
 * FIFO; closing ends every subscription after it drained; cancellation at every await point; bad input;
 * a fast-check property over random publishers, subscribers, cancellations and unsubscribes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CancelledError, CancelScope, TimeoutError, WouldBlock, createTask, gather, getRunningLoop, run, sleep, timeout, type Task } from "../../src/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { Broadcast, type BroadcastStrategy, type Subscription } from "../../src/toolkit/broadcast.js";
import { openMemoryChannel } from "../../src/toolkit/channel.js";
import { ClosedResourceError, EndOfChannel } from "../../src/index.js";
import { dumpTasks } from "../../src/tracing/index.js";

const vrun = <T>(fn: () => Promise<T>): Promise<T> => run(fn, { virtualTime: true });
const noop = (): void => undefined;

async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

/** Everything a subscription holds now, without waiting. */
function drain<T>(sub: Subscription<T>): T[] {
  const out: T[] = [];
  for (;;) {
    try {
      out.push(sub.receiveNowait());
    } catch (e) {
      if (e instanceof WouldBlock || e instanceof EndOfChannel) return out;
      throw e;
    }
  }
}

describe("Broadcast: every subscriber, every message", () => {
  it("each subscriber gets every message published after it subscribed, in order", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(Infinity);
      const early = bc.subscribe();
      await bc.publish(1);
      const late = bc.subscribe();
      await bc.publish(2);
      bc.publishNowait(3);
      bc.close();
      const got = await gather(
        (async () => {
          const xs: number[] = [];
          for await (const x of early) xs.push(x);
          return xs;
        })(),
        (async () => {
          const xs: number[] = [];
          for await (const x of late) xs.push(x);
          return xs;
        })(),
      );
      expect(got).toEqual([
        [1, 2, 3],
        [2, 3],
      ]);
    });
  });

  it("a message published while nobody subscribes goes nowhere", async () => {
    await vrun(async () => {
      const bc = new Broadcast<string>(1);
      await bc.publish("lost");
      bc.publishNowait("lost too");
      const sub = bc.subscribe();
      bc.publishNowait("seen");
      expect(drain(sub)).toEqual(["seen"]);
    });
  });

  it("waiting receivers get messages as they are published, oldest receiver first", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(4);
      const sub = bc.subscribe();
      const workers = [sub.clone(), sub.clone()];
      sub.close();
      const got = workers.map((w, i) => createTask(async () => `${i}:${await w.receive()}`));
      await waitAllTasksBlocked();
      bc.publishNowait(10);
      bc.publishNowait(11);
      expect(await gather(...got)).toEqual(["0:10", "1:11"]);
    });
  });
});

describe('strategy "wait": backpressure from the slowest subscriber', () => {
  it("publish waits while a subscriber is full, and goes when it takes one", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(2);
      const fast = bc.subscribe();
      const slow = bc.subscribe();
      await bc.publish(1);
      await bc.publish(2);
      expect(drain(fast)).toEqual([1, 2]);
      expect(thrown(() => bc.publishNowait(3))).toBeInstanceOf(WouldBlock);
      const p = createTask(() => bc.publish(3));
      await waitAllTasksBlocked();
      expect(p.done()).toBe(false);
      expect(bc.statistics().tasksWaitingPublish).toBe(1);
      expect(slow.receiveNowait()).toBe(1);
      await p;
      expect(drain(fast)).toEqual([3]);
      expect(drain(slow)).toEqual([2, 3]);
    });
  });

  it("publishers go in the order they called publish(); a newcomer queues behind them", async () => {
    await vrun(async () => {
      const bc = new Broadcast<string>(1);
      const sub = bc.subscribe();
      bc.publishNowait("first");
      const ps = ["a", "b", "c"].map((m) => createTask(() => bc.publish(m)));
      await waitAllTasksBlocked();
      const got: string[] = [];
      for (let i = 0; i < 4; i++) {
        got.push(await sub.receive());
        if (i < 3) expect(thrown(() => bc.publishNowait("newcomer"))).toBeInstanceOf(WouldBlock); // the room is the next publisher's
      }
      await gather(...ps);
      expect(got).toEqual(["first", "a", "b", "c"]);
      bc.publishNowait("newcomer"); // nobody waits any more
    });
  });

  it("unsubscribing the slow subscriber lets the publishers go", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(1);
      const sub = bc.subscribe();
      const slow = bc.subscribe();
      bc.publishNowait(1);
      const p = createTask(() => bc.publish(2));
      await waitAllTasksBlocked();
      expect(sub.receiveNowait()).toBe(1);
      await sleep(0);
      expect(p.done()).toBe(false); // slow still holds 1
      slow.close();
      await p;
      expect(sub.receiveNowait()).toBe(2);
      expect(bc.statistics().subscribers).toBe(1);
    });
  });

  it("breaking out of a for await loop unsubscribes", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(1);
      const reader = createTask(async () => {
        for await (const x of bc.subscribe()) if (x === 2) break;
      });
      await waitAllTasksBlocked();
      for (let i = 1; i <= 5; i++) await bc.publish(i); // would wait forever if the reader stayed subscribed
      await reader;
      expect(bc.statistics().subscribers).toBe(0);
    });
  });
});

describe("dropping strategies drop exactly what they should", () => {
  it('"dropNewest" keeps the oldest messages and drops the new ones', async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(2, { strategy: "dropNewest" });
      const sub = bc.subscribe();
      for (let i = 1; i <= 5; i++) await bc.publish(i); // never waits
      expect(sub.statistics()).toMatchObject({ currentBufferUsed: 2, dropped: 3, strategy: "dropNewest" });
      expect(drain(sub)).toEqual([1, 2]);
      bc.publishNowait(6);
      expect(drain(sub)).toEqual([6]);
    });
  });

  it('"dropOldest" keeps the newest messages (sliding)', async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(2, { strategy: "dropOldest" });
      const sub = bc.subscribe();
      for (let i = 1; i <= 5; i++) bc.publishNowait(i);
      expect(sub.statistics()).toMatchObject({ currentBufferUsed: 2, dropped: 3, strategy: "dropOldest" });
      expect(drain(sub)).toEqual([4, 5]);
    });
  });

  it('"dropOldest" never drops a message already handed to a waiting receiver', async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(1, { strategy: "dropOldest" });
      const sub = bc.subscribe();
      const r = createTask(() => sub.receive());
      await waitAllTasksBlocked();
      bc.publishNowait(1); // handed to r (r has not run yet)
      bc.publishNowait(2); // buffered
      bc.publishNowait(3); // full: drops 2, not 1
      expect(await r).toBe(1);
      expect(drain(sub)).toEqual([3]);
      expect(sub.statistics().dropped).toBe(1);
    });
  });

  it('"dropOldest" keeps its limit when a receiver cancelled after a reservation gives its message back', async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(1, { strategy: "dropOldest" });
      const sub = bc.subscribe();
      const r = createTask(() => sub.receive());
      await waitAllTasksBlocked();
      bc.publishNowait(1); // handed to r
      bc.publishNowait(2); // buffered
      r.cancel(); // r gives 1 back: two unreserved messages, one over the limit
      await expect(r).rejects.toBeInstanceOf(CancelledError);
      bc.publishNowait(3); // drops 1 and 2: the buffer holds maxBufferSize messages again
      expect(sub.statistics()).toMatchObject({ currentBufferUsed: 1, dropped: 2 });
      expect(drain(sub)).toEqual([3]);
    });
  });

  it("per-subscriber strategies: a dropping subscriber never holds publishers back, a waiting one does", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(1);
      const latest = bc.subscribe({ strategy: "dropOldest" });
      const all = bc.subscribe({ maxBufferSize: 3 });
      const firsts = bc.subscribe({ maxBufferSize: 2, strategy: "dropNewest" });
      for (let i = 1; i <= 3; i++) bc.publishNowait(i);
      expect(thrown(() => bc.publishNowait(4))).toBeInstanceOf(WouldBlock); // `all` is full
      expect(drain(latest)).toEqual([3]);
      expect(drain(firsts)).toEqual([1, 2]);
      expect(drain(all)).toEqual([1, 2, 3]);
      expect([latest, all, firsts].map((s) => s.statistics().dropped)).toEqual([2, 0, 1]);
    });
  });
});

describe("close", () => {
  it("subscribers drain, then EndOfChannel; publish and subscribe throw ClosedResourceError", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(4);
      const sub = bc.subscribe();
      const waiting = bc.subscribe();
      const w = createTask(async () => [await waiting.receive(), await waiting.receive()]);
      await waitAllTasksBlocked();
      bc.publishNowait(1);
      bc.publishNowait(2);
      bc.close();
      bc.close(); // idempotent
      expect(drain(sub)).toEqual([1, 2]);
      expect(await rejection(sub.receive())).toBeInstanceOf(EndOfChannel);
      expect(thrown(() => sub.receiveNowait())).toBeInstanceOf(EndOfChannel);
      expect(await w).toEqual([1, 2]); // what was published before close still arrives
      expect(await rejection(waiting.receive())).toBeInstanceOf(EndOfChannel);
      expect((await rejection(bc.publish(3))) as Error).toMatchObject({
        name: "ClosedResourceError",
        message: "publish() on a Broadcast that was closed: it publishes nothing more; close it only when every publisher is done",
      });
      expect(thrown(() => bc.publishNowait(3))).toBeInstanceOf(ClosedResourceError);
      expect((thrown(() => bc.subscribe()) as Error).message).toBe(
        "subscribe() on a Broadcast that was closed: it publishes nothing more; subscribe before closing it",
      );
      expect(bc.statistics()).toEqual({ subscribers: 0, tasksWaitingPublish: 0, closed: true });
    });
  });

  it("a receiver waiting on an empty subscription ends at close; a publisher waiting fails", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(1);
      const empty = bc.subscribe({ strategy: "dropNewest" });
      const full = bc.subscribe();
      bc.publishNowait(1);
      const loop = createTask(async () => {
        const xs: number[] = [];
        for await (const x of empty) xs.push(x);
        return xs;
      });
      await waitAllTasksBlocked();
      const pub = createTask(() => bc.publish(2));
      await waitAllTasksBlocked();
      {
        using _bc = bc;
      }
      expect(await rejection(pub)).toBeInstanceOf(ClosedResourceError);
      expect(await loop).toEqual([1]);
      expect(drain(full)).toEqual([1]);
    });
  });
});

// ------------------------------------------------------------------------------------------ cancellation

describe("cancellation at every await point", () => {
  const ways: Record<string, (op: (signal?: AbortSignal) => Promise<unknown>) => { task: Task<unknown>; stop: () => void }> = {
    "task.cancel()": (op) => {
      const task = createTask(() => op());
      return { task, stop: () => task.cancel() };
    },
    "an AbortSignal": (op) => {
      const ctl = new AbortController();
      return { task: createTask(() => op(ctl.signal)), stop: () => ctl.abort(new Error("aborted")) };
    },
    "a CancelScope": (op) => {
      const scope = new CancelScope();
      return { task: createTask(() => scope.run(() => op())), stop: () => scope.cancel() };
    },
  };
  for (const [how, wrap] of Object.entries(ways)) {
    it(`a publish waiting for room, interrupted by ${how}, reached nobody`, async () => {
      await vrun(async () => {
        const bc = new Broadcast<string>(1);
        const sub = bc.subscribe();
        const other = bc.subscribe({ maxBufferSize: 4, strategy: "dropNewest" });
        bc.publishNowait("first");
        const { task, stop } = wrap((signal) => bc.publish("cancelled", signal === undefined ? undefined : { signal }));
        const next = createTask(() => bc.publish("next"));
        await waitAllTasksBlocked();
        stop();
        await task.then(noop, noop);
        expect(bc.statistics().tasksWaitingPublish).toBe(1);
        expect(await sub.receive()).toBe("first");
        await next;
        expect(drain(sub)).toEqual(["next"]);
        expect(drain(other)).toEqual(["first", "next"]);
      });
    });

    it(`a receive on a subscription, interrupted by ${how}, consumed nothing`, async () => {
      await vrun(async () => {
        const bc = new Broadcast<string>(1);
        const sub = bc.subscribe();
        const { task, stop } = wrap((signal) => sub.receive(signal === undefined ? undefined : { signal }));
        await waitAllTasksBlocked();
        stop();
        await task.then(noop, noop);
        bc.publishNowait("kept");
        expect(sub.receiveNowait()).toBe("kept");
      });
    });
  }

  it("a timeout around publish raises TimeoutError and publishes nothing", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(1);
      const sub = bc.subscribe();
      bc.publishNowait(1);
      expect(await rejection(timeout(10, () => bc.publish(2)))).toBeInstanceOf(TimeoutError);
      expect(drain(sub)).toEqual([1]);
    });
  });

  it("a publisher woken for its turn and cancelled before it runs passes the turn on", async () => {
    await vrun(async () => {
      const bc = new Broadcast<string>(1);
      const sub = bc.subscribe();
      bc.publishNowait("first");
      const a = createTask(() => bc.publish("a"));
      const b = createTask(() => bc.publish("b"));
      await waitAllTasksBlocked();
      expect(sub.receiveNowait()).toBe("first"); // wakes a
      a.cancel(); // before a runs
      expect(await rejection(a)).toBeInstanceOf(CancelledError);
      await b;
      expect(drain(sub)).toEqual(["b"]);
    });
  });

  it("a subscriber's receiver woken with a message and cancelled before it runs leaves it for the next", async () => {
    await vrun(async () => {
      const bc = new Broadcast<string>(1, { strategy: "dropNewest" });
      const sub = bc.subscribe();
      const r = createTask(() => sub.receive());
      await waitAllTasksBlocked();
      bc.publishNowait("m");
      r.cancel();
      await rejection(r);
      expect(sub.receiveNowait()).toBe("m");
    });
  });
});

describe("task dumps name the wait", () => {
  it("send, receive, publish and a subscription's receive", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      const [, r2] = openMemoryChannel<number>(0);
      const bc = new Broadcast<number>(1);
      const sub = bc.subscribe();
      bc.publishNowait(1);
      const quiet = new Broadcast<number>(1).subscribe();
      const waits: Array<[string, () => PromiseLike<unknown>]> = [
        ["MemorySendChannel.send", () => s.send(1)],
        ["MemoryReceiveChannel.receive", () => r2.receive()],
        ["Broadcast.publish", () => bc.publish(2)],
        ["Subscription.receive", () => quiet.receive()],
      ];
      const tasks = waits.map(([, fn]) => createTask(fn));
      await waitAllTasksBlocked();
      const children = dumpTasks({ print: false }).loops[0]!.roots[0]!.children;
      expect(children.map((c) => c.awaiting)).toEqual(waits.map(([label]) => [label]));
      for (const t of tasks) t.cancel();
      await gather(...tasks, { returnExceptions: true });
      r.close();
      sub.close();
    });
  });
});

describe("bad input", () => {
  it("maxBufferSize is a positive integer or Infinity, strategy one of three", () => {
    expect((thrown(() => new Broadcast(0)) as Error).message).toBe("Expected maxBufferSize to be a positive integer or Infinity, got 0 (number)");
    expect(thrown(() => new Broadcast(0))).toBeInstanceOf(RangeError);
    expect(thrown(() => new Broadcast("4" as never))).toBeInstanceOf(TypeError);
    const e = thrown(() => new Broadcast(4, { strategy: "drop" as BroadcastStrategy })) as Error;
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('Expected strategy to be "wait", "dropNewest" or "dropOldest", got "drop" (string)');
    expect(thrown(() => new Broadcast(4, { strategy: 1 as never }))).toBeInstanceOf(TypeError);
    expect((thrown(() => new Broadcast(4, { stratgy: "wait" } as never)) as Error).message).toBe(
      'Unknown option "stratgy" of new Broadcast() (known: strategy)',
    );
    const bc = new Broadcast<number>(4);
    expect((thrown(() => bc.subscribe({ max_buffer_size: 1 } as never)) as Error).message).toBe(
      'Unknown option "max_buffer_size" of subscribe() (known: maxBufferSize, strategy): asyncio-ts spells options in camelCase, write maxBufferSize',
    );
    expect(thrown(() => bc.subscribe({ maxBufferSize: -1 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => bc.subscribe({ strategy: "latest" as never }))).toBeInstanceOf(RangeError);
    expect(bc.statistics().subscribers).toBe(0);
  });

  it("bad options of publish are a rejection", async () => {
    await vrun(async () => {
      const bc = new Broadcast<number>(1);
      const e = (await rejection(bc.publish(1, { signal: 5 } as never))) as Error;
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toBe("Expected options.signal to be an AbortSignal, got 5 (number)");
    });
  });
});

describe("on the real clock", () => {
  it("a fast and a slow subscriber see every message", async () => {
    const got = await run(async () => {
      const bc = new Broadcast<number>(2);
      const read = (delay: number) => {
        const sub = bc.subscribe();
        return createTask(async () => {
          const xs: number[] = [];
          for await (const x of sub) {
            xs.push(x);
            await sleep(delay);
          }
          return xs;
        });
      };
      const readers = [read(0), read(1)];
      for (let i = 0; i < 8; i++) await bc.publish(i);
      bc.close();
      return gather(...readers);
    });
    expect(got).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 1, 2, 3, 4, 5, 6, 7],
    ]);
  });
});

// ------------------------------------------------------------------------------------------ property

const subscriberArb = fc.record({
  strategy: fc.constantFrom<BroadcastStrategy>("wait", "wait", "dropNewest", "dropOldest"),
  max: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(Infinity)),
  pauses: fc.array(fc.constantFrom(-1, 0, 1, 3), { minLength: 1, maxLength: 4 }),
  leaveAt: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
});
const scenario = fc.record({
  publishers: fc.array(fc.array(fc.constantFrom(-1, 0, 1, 2), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
  subscribers: fc.array(subscriberArb, { minLength: 1, maxLength: 4 }),
  cancels: fc.array(fc.record({ at: fc.integer({ min: 0, max: 15 }), yields: fc.integer({ min: 0, max: 3 }), who: fc.nat() }), { maxLength: 4 }),
});

describe("property: random publishers, subscribers, cancellations and unsubscribes on virtual time", () => {
  it("a subscriber that stays gets every published message in order (minus what its strategy drops); a cancelled publish reaches nobody", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ publishers, subscribers, cancels }) => {
        const published: number[] = []; // in the order the publishes completed
        const cancelled = new Set<number>();
        const received: number[][] = subscribers.map(() => []);
        const dropped: number[] = subscribers.map(() => 0);
        const stayed: boolean[] = subscribers.map(() => true);
        await vrun(async () => {
          const bc = new Broadcast<number>(1);
          const subs = subscribers.map((s) => bc.subscribe({ maxBufferSize: s.max, strategy: s.strategy }));
          const readers = subscribers.map((s, j) =>
            createTask(async () => {
              const sub = subs[j]!;
              const start = getRunningLoop().time();
              for (let k = 0; ; k++) {
                let x: number;
                try {
                  x = await sub.receive();
                } catch (e) {
                  if (e instanceof EndOfChannel) break;
                  throw e;
                }
                received[j]!.push(x);
                if (s.leaveAt !== undefined && getRunningLoop().time() - start >= s.leaveAt) {
                  stayed[j] = false;
                  sub.close();
                  break;
                }
                const p = s.pauses[k % s.pauses.length]!;
                if (p >= 0) await sleep(p);
              }
              dropped[j] = sub.statistics().dropped;
            }),
          );
          const pubs = publishers.map((pauses, i) =>
            createTask(async () => {
              for (let k = 0; k < pauses.length; k++) {
                const m = i * 100 + k;
                if (pauses[k]! >= 0) await sleep(pauses[k]!);
                try {
                  await bc.publish(m);
                } catch (e) {
                  cancelled.add(m);
                  throw e;
                }
                published.push(m);
              }
            }),
          );
          const driver = createTask(async () => {
            for (const c of [...cancels].sort((a, b) => a.at - b.at)) {
              await sleep(c.at);
              for (let y = 0; y < c.yields; y++) await sleep(0);
              pubs[c.who % pubs.length]!.cancel();
            }
          });
          await driver;
          for (const r of await gather(...pubs, { returnExceptions: true })) {
            if (r !== undefined && !(r instanceof CancelledError)) throw r;
          }
          bc.close();
          await gather(...readers);
          expect(bc.statistics().tasksWaitingPublish).toBe(0);
        });
        for (let j = 0; j < subscribers.length; j++) {
          const got = received[j]!;
          for (const m of got) expect(cancelled.has(m)).toBe(false);
          // a subsequence of the published messages, in publish order
          let i = 0;
          for (const m of got) {
            while (i < published.length && published[i] !== m) i++;
            expect(i).toBeLessThan(published.length);
            i++;
          }
          if (stayed[j]) {
            if (subscribers[j]!.strategy === "wait") expect(got).toEqual(published);
            else expect(got.length + dropped[j]!).toBe(published.length);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
