/**
 * Memory channels: Trio's `_tests/test_channel.py` ported (one `it` per Trio test, same steps, in our
 * style: `s.aclose()` is `s.close()`, `wait_all_tasks_blocked()` is `waitAllTasksBlocked()`, nurseries are
 * task groups), then what asyncio adds: cancellation arriving at every await point (a task's cancel, a
 * timeout, a CancelScope, a TaskGroup, an AbortSignal, and a cancel that arrives after the wake-up),
 * rendezvous ordering, clone/close counting, `for await`, `using`, bad input, both clocks, and a
 * fast-check property over random producers, consumers, cancellations and closes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CancelScope,
  CancelledError,
  taskGroup,
  TimeoutError,
  WouldBlock,
  createTask,
  gather,
  moveOnAfter,
  run,
  sleep,
  timeout,
  type Task,
} from "../../src/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { BrokenResourceError, ClosedResourceError, EndOfChannel } from "../../src/index.js";
import { MemoryReceiveChannel, MemorySendChannel, openMemoryChannel } from "../../src/toolkit/channel.js";

const vrun = <T>(fn: () => Promise<T>): Promise<T> => run(fn, { virtualTime: true });

/** The error a promise rejects with (fails the test if it fulfils). */
async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

const noop = (): void => undefined;

/** The error `fn` throws synchronously. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("Trio's test_channel.py, ported", () => {
  it("test_channel: buffer of 2, nowait variants, close of each end", async () => {
    await vrun(async () => {
      expect(thrown(() => openMemoryChannel(1.5))).toBeInstanceOf(RangeError);
      expect((thrown(() => openMemoryChannel(-1)) as Error).message).toBe(
        "Expected maxBufferSize to be a non-negative integer or Infinity, got -1 (number)",
      );
      const [s, r] = openMemoryChannel<number | string | null>(2);
      s.sendNowait(1);
      await s.send(2);
      expect(thrown(() => s.sendNowait(null))).toBeInstanceOf(WouldBlock);
      expect(await r.receive()).toBe(1);
      expect(r.receiveNowait()).toBe(2);
      expect(thrown(() => r.receiveNowait())).toBeInstanceOf(WouldBlock);

      s.sendNowait("last");
      s.close();
      expect(await rejection(s.send("too late"))).toBeInstanceOf(ClosedResourceError);
      expect(thrown(() => s.sendNowait("too late"))).toBeInstanceOf(ClosedResourceError);
      expect(thrown(() => s.clone())).toBeInstanceOf(ClosedResourceError);
      s.close(); // idempotent

      expect(r.receiveNowait()).toBe("last");
      expect(await rejection(r.receive())).toBeInstanceOf(EndOfChannel);
      r.close();
      expect(await rejection(r.receive())).toBeInstanceOf(ClosedResourceError);
      expect(thrown(() => r.receiveNowait())).toBeInstanceOf(ClosedResourceError);
      r.close();
    });
  });

  it("test_553: a receive cancelled by a timeout leaves the channel usable", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<string>(1);
      expect(await moveOnAfter(10, () => r.receive())).toBe(undefined);
      expect(s.statistics().tasksWaitingReceive).toBe(0);
      await s.send("Test for PR #553");
      expect(r.receiveNowait()).toBe("Test for PR #553");
      expect(s.statistics().tasksWaitingReceive).toBe(0);
    });
  });

  it("test_channel_multiple_producers: clones, each closed by its producer, end the consumer's loop", async () => {
    await vrun(async () => {
      const [send, receive] = openMemoryChannel<number>(0);
      const got: number[] = [];
      await taskGroup(async (tg) => {
        {
          using sendChannel = send;
          for (let i = 0; i < 10; i++) {
            const mine = sendChannel.clone();
            tg.createTask(async () => {
              using ch = mine;
              for (let j = 3 * i; j < 3 * (i + 1); j++) await ch.send(j);
            });
          }
        }
        for await (const v of receive) got.push(v);
      });
      expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    });
  });

  it("test_channel_multiple_consumers: every consumer gets some, every value once", async () => {
    await vrun(async () => {
      const receivers = new Set<number>();
      const received: number[] = [];
      await taskGroup(async (tg) => {
        const [send, receive] = openMemoryChannel<number>(1);
        using s = send;
        for (let i = 0; i < 5; i++) {
          tg.createTask(async () => {
            for await (const v of receive) {
              receivers.add(i);
              received.push(v);
            }
          });
        }
        await waitAllTasksBlocked();
        for (let i = 0; i < 10; i++) await s.send(i);
      });
      expect(receivers).toEqual(new Set([0, 1, 2, 3, 4]));
      expect(received.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
  });

  for (const how of ["close()", "Symbol.asyncDispose"] as const) {
    const shut = async (end: MemorySendChannel<null> | MemoryReceiveChannel<null>) => {
      if (how === "close()") end.close();
      else await end[Symbol.asyncDispose]();
    };
    it(`test_close_basics / test_close_sync (${how}): each end's close reaches the waiters`, async () => {
      await vrun(async () => {
        // closing send -> other send gets ClosedResourceError
        let [s, r] = openMemoryChannel<null>(0);
        await taskGroup(async (tg) => {
          const t = tg.createTask(() => rejection(s.send(null)));
          await waitAllTasksBlocked();
          await shut(s);
          expect(await t).toBeInstanceOf(ClosedResourceError);
        });
        // and it's persistent
        expect(thrown(() => s.sendNowait(null))).toBeInstanceOf(ClosedResourceError);
        expect(await rejection(s.send(null))).toBeInstanceOf(ClosedResourceError);
        // and receive gets EndOfChannel
        expect(thrown(() => r.receiveNowait())).toBeInstanceOf(EndOfChannel);
        expect(await rejection(r.receive())).toBeInstanceOf(EndOfChannel);

        // closing receive -> send gets BrokenResourceError
        [s, r] = openMemoryChannel<null>(0);
        await taskGroup(async (tg) => {
          const t = tg.createTask(() => rejection(s.send(null)));
          await waitAllTasksBlocked();
          await shut(r);
          expect(await t).toBeInstanceOf(BrokenResourceError);
        });
        // and it's persistent
        expect(thrown(() => s.sendNowait(null))).toBeInstanceOf(BrokenResourceError);
        expect(await rejection(s.send(null))).toBeInstanceOf(BrokenResourceError);

        // closing receive -> other receive gets ClosedResourceError
        [s, r] = openMemoryChannel<null>(0);
        await taskGroup(async (tg) => {
          const t = tg.createTask(() => rejection(r.receive()));
          await waitAllTasksBlocked();
          await shut(r);
          expect(await t).toBeInstanceOf(ClosedResourceError);
        });
        // and it's persistent
        expect(thrown(() => r.receiveNowait())).toBeInstanceOf(ClosedResourceError);
        expect(await rejection(r.receive())).toBeInstanceOf(ClosedResourceError);
      });
    });
  }

  it("test_receive_channel_clone_and_close: broken only once every clone is closed", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<null>(10);
      const r2 = r.clone();
      const r3 = r.clone();
      s.sendNowait(null);
      r.close();
      {
        using _ = r2;
      }
      expect(thrown(() => r.clone())).toBeInstanceOf(ClosedResourceError);
      expect(thrown(() => r2.clone())).toBeInstanceOf(ClosedResourceError);
      s.sendNowait(null); // r3 is still open
      r3.close();
      expect(thrown(() => s.sendNowait(null))).toBeInstanceOf(BrokenResourceError);
    });
  });

  it("test_close_multiple_send_handles: closing one clone fails only its own waiters", async () => {
    await vrun(async () => {
      const [s1, r] = openMemoryChannel<string>(0);
      const s2 = s1.clone();
      await taskGroup(async (tg) => {
        const willClose = tg.createTask(() => rejection(s1.send("nope")));
        const willSucceed = tg.createTask(() => s2.send("ok"));
        await waitAllTasksBlocked();
        s1.close();
        expect(await r.receive()).toBe("ok");
        expect(await willClose).toBeInstanceOf(ClosedResourceError);
        await willSucceed;
      });
    });
  });

  it("test_close_multiple_receive_handles: closing one clone fails only its own waiters", async () => {
    await vrun(async () => {
      const [s, r1] = openMemoryChannel<string>(0);
      const r2 = r1.clone();
      await taskGroup(async (tg) => {
        const willClose = tg.createTask(() => rejection(r1.receive()));
        const willSucceed = tg.createTask(() => r2.receive());
        await waitAllTasksBlocked();
        r1.close();
        await s.send("ok");
        expect(await willClose).toBeInstanceOf(ClosedResourceError);
        expect(await willSucceed).toBe("ok");
      });
    });
  });

  it("test_inf_capacity: Infinity never blocks", async () => {
    await vrun(async () => {
      const [send, receive] = openMemoryChannel<number>(Infinity);
      {
        using s = send;
        for (let i = 0; i < 10; i++) s.sendNowait(i);
      }
      const got: number[] = [];
      for await (const i of receive) got.push(i);
      expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(receive.statistics().maxBufferSize).toBe(Infinity);
    });
  });

  it("test_statistics", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<null>(2);
      expect(s.statistics()).toEqual(r.statistics());
      expect(s.statistics()).toEqual({
        currentBufferUsed: 0,
        maxBufferSize: 2,
        openSendChannels: 1,
        openReceiveChannels: 1,
        tasksWaitingSend: 0,
        tasksWaitingReceive: 0,
      });
      s.sendNowait(null);
      expect(s.statistics().currentBufferUsed).toBe(1);
      const s2 = s.clone();
      expect(s.statistics().openSendChannels).toBe(2);
      s.close();
      expect(s2.statistics().openSendChannels).toBe(1);
      const r2 = r.clone();
      expect(s2.statistics().openReceiveChannels).toBe(2);
      r2.close();
      expect(s2.statistics().openReceiveChannels).toBe(1);

      await moveOnAfter(Infinity, async (scope) => {
        await taskGroup(async (tg) => {
          s2.sendNowait(null); // fill up the buffer
          expect(s.statistics().currentBufferUsed).toBe(2);
          tg.createTask(() => s2.send(null));
          tg.createTask(() => s2.send(null));
          await waitAllTasksBlocked();
          expect(s.statistics().tasksWaitingSend).toBe(2);
          scope.cancel();
        });
      });
      expect(s.statistics().tasksWaitingSend).toBe(0);
      expect(s.statistics().currentBufferUsed).toBe(2); // the cancelled sends delivered nothing

      // empty out the buffer again
      for (;;) {
        try {
          r.receiveNowait();
        } catch (e) {
          if (e instanceof WouldBlock) break;
          throw e;
        }
      }
      await moveOnAfter(Infinity, async (scope) => {
        await taskGroup(async (tg) => {
          tg.createTask(() => r.receive());
          await waitAllTasksBlocked();
          expect(s.statistics().tasksWaitingReceive).toBe(1);
          scope.cancel();
        });
      });
      expect(s.statistics().tasksWaitingReceive).toBe(0);
    });
  });

  it("test_channel_fairness: a waiting receiver owns the next value, a waiting sender the next room", async () => {
    await vrun(async () => {
      let [s, r] = openMemoryChannel<number | null>(1);
      s.sendNowait(1);
      expect(r.receiveNowait()).toBe(1);
      s.sendNowait(2);
      expect(r.receiveNowait()).toBe(2);

      // if someone else is waiting to receive, they "own" the item we send
      let result: number | null = null;
      await taskGroup(async (tg) => {
        tg.createTask(async () => {
          result = await r.receive();
        });
        await waitAllTasksBlocked();
        s.sendNowait(2);
        expect(thrown(() => r.receiveNowait())).toBeInstanceOf(WouldBlock);
      });
      expect(result).toBe(2);

      // and for send: room we free goes to the sender already waiting
      [s, r] = openMemoryChannel<number | null>(1);
      s.sendNowait(1);
      expect(thrown(() => s.sendNowait(null))).toBeInstanceOf(WouldBlock);
      await taskGroup(async (tg) => {
        tg.createTask(() => s.send(2));
        await waitAllTasksBlocked();
        expect(r.receiveNowait()).toBe(1);
        expect(thrown(() => s.sendNowait(3))).toBeInstanceOf(WouldBlock);
        expect(await r.receive()).toBe(2);
      });
    });
  });

  it("test_unbuffered: a rendezvous", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      expect(thrown(() => r.receiveNowait())).toBeInstanceOf(WouldBlock);
      expect(thrown(() => s.sendNowait(1))).toBeInstanceOf(WouldBlock);
      await taskGroup(async (tg) => {
        tg.createTask(() => s.send(1));
        expect(await r.receive()).toBe(1);
      });
      expect(thrown(() => r.receiveNowait())).toBeInstanceOf(WouldBlock);
    });
  });
});

describe("rendezvous (maxBufferSize 0)", () => {
  it("send completes only when a receiver has taken the value, in both arrival orders", async () => {
    await vrun(async () => {
      const log: string[] = [];
      const [s, r] = openMemoryChannel<string>(0);
      // sender first
      const sender = createTask(async () => {
        await s.send("a");
        log.push("sent a");
      });
      await sleep(5);
      log.push("receiving");
      expect(sender.done()).toBe(false);
      log.push(`got ${await r.receive()}`);
      await sender;
      // receiver first
      const receiver = createTask(async () => log.push(`got ${await r.receive()}`));
      await sleep(5);
      log.push("sending");
      await s.send("b"); // completes at once: the receiver was waiting, the value is its own
      log.push("sent b");
      await receiver;
      expect(log).toEqual(["receiving", "sent a", "got a", "sending", "sent b", "got b"]);
    });
  });

  it("senders deliver in the order they called send(), receivers are served in the order they called receive()", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      const senders = [0, 1, 2, 3].map((i) => createTask(() => s.send(i)));
      await waitAllTasksBlocked();
      const got: number[] = [];
      for (let i = 0; i < 4; i++) got.push(await r.receive());
      expect(got).toEqual([0, 1, 2, 3]);
      await gather(...senders);

      const who: string[] = [];
      const receivers = ["A", "B", "C"].map((n) => createTask(async () => who.push(`${n}${await r.receive()}`)));
      await waitAllTasksBlocked();
      for (let i = 0; i < 3; i++) s.sendNowait(i); // each has a waiting receiver
      await gather(...receivers);
      expect(who).toEqual(["A0", "B1", "C2"]);
      expect(thrown(() => s.sendNowait(9))).toBeInstanceOf(WouldBlock);
    });
  });

  it("ping-pong of many values keeps order and never buffers", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      let maxUsed = 0;
      const producer = createTask(async () => {
        using send = s;
        for (let i = 0; i < 1000; i++) {
          await send.send(i);
          maxUsed = Math.max(maxUsed, send.statistics().currentBufferUsed);
        }
      });
      const got: number[] = [];
      for await (const v of r) got.push(v);
      await producer;
      expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(maxUsed).toBe(0);
    });
  });
});

describe("clone and close counting", () => {
  it("EndOfChannel only once every send clone is closed and the buffer is drained", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(5);
      const s2 = s.clone();
      const s3 = s2.clone();
      s.sendNowait(1);
      s.close();
      s2.sendNowait(2);
      s2.close();
      expect(r.statistics().openSendChannels).toBe(1);
      const waiter = createTask(() => rejection(r.receive().then(() => r.receive()).then(() => r.receive())));
      await waitAllTasksBlocked();
      expect(waiter.done()).toBe(false); // s3 is open: the third receive waits
      s3.close();
      expect(await waiter).toBeInstanceOf(EndOfChannel);
      expect(r.statistics()).toMatchObject({ openSendChannels: 0, currentBufferUsed: 0, tasksWaitingReceive: 0 });
    });
  });

  it("closing the last receive end drops the buffered values and breaks every waiting sender", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(1);
      const r2 = r.clone();
      s.sendNowait(1);
      const waiting = [createTask(() => rejection(s.send(2))), createTask(() => rejection(s.clone().send(3)))];
      await waitAllTasksBlocked();
      r.close();
      await sleep(0);
      expect(waiting.every((t) => !t.done())).toBe(true);
      r2.close();
      for (const t of waiting) expect(await t).toBeInstanceOf(BrokenResourceError);
      expect(s.statistics()).toMatchObject({ currentBufferUsed: 0, openReceiveChannels: 0, tasksWaitingSend: 0 });
    });
  });

  it("a receiver woken with a value keeps it when its end is closed before it runs (as Trio)", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<string>(0);
      const t = createTask(() => r.receive());
      await waitAllTasksBlocked();
      s.sendNowait("mine");
      r.close(); // the last receive end, after the value was handed over
      expect(await t).toBe("mine");
    });
  });

  it("a sender woken for a slot and then closed before it runs delivers nothing, and the slot goes on", async () => {
    await vrun(async () => {
      const [s1, r] = openMemoryChannel<string>(1);
      const s2 = s1.clone();
      s1.sendNowait("first");
      const a = createTask(() => rejection(s1.send("from s1")));
      const b = createTask(() => s2.send("from s2"));
      await waitAllTasksBlocked();
      expect(r.receiveNowait()).toBe("first"); // a is woken with the slot
      s1.close(); // before a runs
      expect(await a).toBeInstanceOf(ClosedResourceError);
      await b;
      expect(r.receiveNowait()).toBe("from s2");
      expect(thrown(() => r.receiveNowait())).toBeInstanceOf(WouldBlock);
    });
  });

  it("using and await using close the end", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(1);
      {
        await using s2 = s.clone();
        await s2.send(1);
      }
      {
        using r2 = r.clone();
        expect(await r2.receive()).toBe(1);
      }
      expect(s.statistics()).toMatchObject({ openSendChannels: 1, openReceiveChannels: 1 });
    });
  });
});

describe("for await", () => {
  it("ends at EndOfChannel; break leaves the end open; ClosedResourceError propagates", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(Infinity);
      for (let i = 0; i < 5; i++) s.sendNowait(i);
      const first: number[] = [];
      for await (const v of r) {
        first.push(v);
        if (v === 2) break;
      }
      expect(first).toEqual([0, 1, 2]);
      s.close();
      const rest: number[] = [];
      for await (const v of r) rest.push(v);
      expect(rest).toEqual([3, 4]);

      const [s2, r2] = openMemoryChannel<number>(0);
      const loop = createTask(async () => {
        for await (const _ of r2) {
          /* nothing comes */
        }
      });
      await waitAllTasksBlocked();
      r2.close();
      expect(await rejection(loop)).toBeInstanceOf(ClosedResourceError);
      s2.close();
    });
  });

  it("a for await loop cancelled while waiting consumed nothing", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      const got: number[] = [];
      const scope = new CancelScope({ deadline: 10 });
      await scope.run(async () => {
        for await (const v of r) got.push(v);
      });
      expect(scope.cancelledCaught).toBe(true);
      const sender = createTask(() => s.send(7));
      expect(await r.receive()).toBe(7);
      await sender;
      expect(got).toEqual([]);
    });
  });
});

// ------------------------------------------------------------------------------------------ cancellation

type Canceller = (t: Task<unknown>, ctl: AbortController) => void;
/** Ways a wait can be interrupted; each wraps `op` so that the interruption reaches it. */
const interruptions: Record<string, { wrap: (op: (signal?: AbortSignal) => Promise<unknown>) => { task: Task<unknown>; stop: Canceller } }> = {
  "task.cancel()": {
    wrap: (op) => ({ task: createTask(() => op()), stop: (t) => t.cancel() }),
  },
  "an AbortSignal": {
    wrap: (op) => {
      const ctl = new AbortController();
      return { task: createTask(() => op(ctl.signal)), stop: () => ctl.abort(new Error("aborted")) };
    },
  },
  "a CancelScope": {
    wrap: (op) => {
      let scope: CancelScope | null = null;
      const task = createTask(() =>
        new CancelScope().run(async (s) => {
          scope = s;
          await op();
        }),
      );
      return { task, stop: () => scope!.cancel() };
    },
  },
  "a TaskGroup whose sibling fails": {
    wrap: (op) => {
      let fail: (() => void) | null = null;
      const task = createTask(() =>
        taskGroup(async (tg) => {
          tg.createTask(() => op());
          await new Promise<void>((resolve) => (fail = resolve));
          throw new Error("sibling failed");
        }),
      );
      return { task, stop: () => fail!() };
    },
  },
};

describe("cancellation at every await point", () => {
  for (const [how, { wrap }] of Object.entries(interruptions)) {
    it(`a send waiting for room, interrupted by ${how}, delivered nothing`, async () => {
      await vrun(async () => {
        for (const max of [0, 1]) {
          const [s, r] = openMemoryChannel<string>(max);
          if (max === 1) s.sendNowait("fill");
          const { task, stop } = wrap((signal) => s.send("cancelled", signal === undefined ? undefined : { signal }));
          await waitAllTasksBlocked();
          stop(task, new AbortController());
          await task.then(noop, noop); // a CancelScope catches its own cancellation: the task ends quietly
          expect(s.statistics().tasksWaitingSend).toBe(0);
          if (max === 1) expect(r.receiveNowait()).toBe("fill");
          const later = createTask(() => s.send("later"));
          expect(await r.receive()).toBe("later");
          await later;
          expect(thrown(() => r.receiveNowait())).toBeInstanceOf(WouldBlock);
        }
      });
    });

    it(`a receive waiting for a value, interrupted by ${how}, consumed nothing`, async () => {
      await vrun(async () => {
        for (const max of [0, 1]) {
          const [s, r] = openMemoryChannel<string>(max);
          const { task, stop } = wrap((signal) => r.receive(signal === undefined ? undefined : { signal }));
          await waitAllTasksBlocked();
          stop(task, new AbortController());
          await task.then(noop, noop); // a CancelScope catches its own cancellation: the task ends quietly
          expect(r.statistics().tasksWaitingReceive).toBe(0);
          const sender = createTask(() => s.send("kept"));
          expect(await r.receive()).toBe("kept");
          await sender;
        }
      });
    });
  }

  it("a timeout() around send and receive raises TimeoutError and leaves the channel intact", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      expect(await rejection(timeout(5, () => s.send(1)))).toBeInstanceOf(TimeoutError);
      expect(await rejection(timeout(5, () => r.receive()))).toBeInstanceOf(TimeoutError);
      expect(s.statistics()).toMatchObject({ tasksWaitingSend: 0, tasksWaitingReceive: 0, currentBufferUsed: 0 });
    });
  });

  it("a receiver cancelled after it was handed a value gives it to the next waiting receiver", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<string>(0);
      const a = createTask(() => r.receive());
      const b = createTask(() => r.receive());
      await waitAllTasksBlocked();
      s.sendNowait("v"); // handed to a
      a.cancel(); // before a runs
      expect(await rejection(a)).toBeInstanceOf(CancelledError);
      expect(await b).toBe("v");
    });
  });

  it("with no other receiver, the value goes back first in line (order kept)", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(1);
      const a = createTask(() => r.receive());
      await waitAllTasksBlocked();
      s.sendNowait(1); // handed to a
      s.sendNowait(2); // buffered
      a.cancel();
      await rejection(a);
      expect(s.statistics().currentBufferUsed).toBe(2); // over the bound by the value given back
      expect(thrown(() => s.sendNowait(3))).toBeInstanceOf(WouldBlock);
      expect(r.receiveNowait()).toBe(1);
      expect(r.receiveNowait()).toBe(2);
    });
  });

  it("a sender cancelled after it was woken for a slot delivered nothing; the slot goes to the next sender", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<string>(1);
      s.sendNowait("first");
      const a = createTask(() => s.send("a"));
      const b = createTask(() => s.send("b"));
      await waitAllTasksBlocked();
      expect(r.receiveNowait()).toBe("first"); // a is woken with the slot
      a.cancel(); // before it runs
      expect(await rejection(a)).toBeInstanceOf(CancelledError);
      await b;
      expect(r.receiveNowait()).toBe("b");
      expect(thrown(() => r.receiveNowait())).toBeInstanceOf(WouldBlock);
    });
  });

  it("rendezvous: a sender woken for a waiting receiver and cancelled before it runs hands the receiver on", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<string>(0);
      const a = createTask(() => s.send("a"));
      const b = createTask(() => s.send("b"));
      await waitAllTasksBlocked();
      const rec = createTask(() => r.receive());
      await sleep(0); // rec parks and wakes a with itself as a's slot; a has not run yet
      a.cancel();
      expect(await rejection(a)).toBeInstanceOf(CancelledError);
      expect(await rec).toBe("b");
      await b;
      expect(thrown(() => r.receiveNowait())).toBeInstanceOf(WouldBlock);
    });
  });

  it("rendezvous: a sender woken for a receiver that then leaves waits again, first in line", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<string>(0);
      const a = createTask(() => s.send("a"));
      await waitAllTasksBlocked();
      const rec = createTask(() => r.receive()); // wakes a with this receiver as its slot
      await sleep(0); // rec parks and wakes a; a has not run yet
      rec.cancel();
      const b = createTask(() => s.send("b"));
      await waitAllTasksBlocked();
      expect(a.done()).toBe(false);
      expect(s.statistics().tasksWaitingSend).toBe(2);
      expect(await r.receive()).toBe("a"); // a kept its place ahead of b
      expect(await r.receive()).toBe("b");
      await gather(a, b);
      await rejection(rec);
    });
  });

  it("send and receive called as promises of async functions inside gather", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      const produce = async () => {
        for (let i = 0; i < 3; i++) await s.send(i);
        s.close();
      };
      const consume = async () => {
        const out: number[] = [];
        for await (const v of r) out.push(v);
        return out;
      };
      const [, got] = await gather(produce(), consume());
      expect(got).toEqual([0, 1, 2]);

      // cancelling the gather reaches the waits inside it
      const [s2, r2] = openMemoryChannel<number>(0);
      const g = gather(s2.send(1), s2.send(2));
      await sleep(0);
      g.cancel();
      await rejection(g);
      expect(s2.statistics().tasksWaitingSend).toBe(0);
      expect(thrown(() => r2.receiveNowait())).toBeInstanceOf(WouldBlock);
    });
  });
});

describe("bad input and misuse", () => {
  it("maxBufferSize is a non-negative integer or Infinity", () => {
    for (const [v, cls, msg] of [
      [-1, RangeError, "got -1 (number)"],
      [1.5, RangeError, "got 1.5 (number)"],
      [NaN, RangeError, "got NaN (number)"],
      [-Infinity, RangeError, "got -Infinity (number)"],
      ["1", TypeError, 'got "1" (string)'],
      [undefined, TypeError, "got undefined"],
    ] as const) {
      const e = thrown(() => openMemoryChannel(v as number)) as Error;
      expect(e).toBeInstanceOf(cls);
      expect(e.message).toBe(`Expected maxBufferSize to be a non-negative integer or Infinity, ${msg}`);
    }
  });

  it("bad options are rejections of send() and receive(), with the project's wording", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      const e1 = (await rejection(s.send(1, { sigal: 1 } as never))) as Error;
      expect(e1).toBeInstanceOf(TypeError);
      expect(e1.message).toMatch(/Unknown option "sigal" of a wait \(known: signal\)/);
      const e2 = (await rejection(r.receive({ signal: "x" } as never))) as Error;
      expect(e2.message).toBe('Expected options.signal to be an AbortSignal, got "x" (string)');
      const e3 = await rejection(r.receive({ signal: AbortSignal.abort(new Error("already")) }));
      expect((e3 as Error).message).toBe("already");
      expect(s.statistics()).toMatchObject({ tasksWaitingSend: 0, tasksWaitingReceive: 0 });
    });
  });

  it("the errors say what happened and what to do", async () => {
    await vrun(async () => {
      const [s, r] = openMemoryChannel<number>(0);
      expect((thrown(() => s.sendNowait(1)) as Error).message).toBe(
        "sendNowait() cannot deliver now: no receiver is waiting (maxBufferSize 0: a rendezvous), or other senders wait first; await send() to wait for room",
      );
      expect((thrown(() => r.receiveNowait()) as Error).message).toBe("receiveNowait() found no value ready; await receive() to wait for one");
      const r2 = r.clone();
      r2.close();
      expect((await rejection(r2.receive())) as Error).toMatchObject({
        name: "ClosedResourceError",
        message:
          "receive() on a MemoryReceiveChannel that was closed: this end is finished; give each consumer its own clone() and close each clone when that consumer is done",
      });
      s.close();
      expect((await rejection(r.receive())) as Error).toMatchObject({
        name: "EndOfChannel",
        message:
          "receive() on a channel whose send ends are all closed and whose buffer is empty: no value will come; stop receiving (for await ends here by itself)",
      });
      const [s3, r3] = openMemoryChannel<number>(0);
      r3.close();
      expect((await rejection(s3.send(1))) as Error).toMatchObject({
        name: "BrokenResourceError",
        message: "send() on a channel whose receive ends are all closed: nobody will receive this value; stop producing and close this send end",
      });
    });
  });
});

describe("on the real clock", () => {
  it("a producer and a consumer with tiny sleeps pass every value in order", async () => {
    const got = await run(async () => {
      const [s, r] = openMemoryChannel<number>(1);
      const producer = createTask(async () => {
        using send = s;
        for (let i = 0; i < 20; i++) {
          await send.send(i);
          if (i % 5 === 0) await sleep(1);
        }
      });
      const out: number[] = [];
      for await (const v of r) {
        out.push(v);
        if (v % 7 === 0) await sleep(0.5);
      }
      await producer;
      const late = await rejection(timeout(2, () => r.receive()));
      expect(late).toBeInstanceOf(EndOfChannel);
      return out;
    });
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

// ------------------------------------------------------------------------------------------ property

const action = fc.oneof(
  fc.record({ kind: fc.constant("cancel" as const), at: fc.integer({ min: 0, max: 12 }), yields: fc.integer({ min: 0, max: 3 }), who: fc.nat() }),
  fc.record({ kind: fc.constant("abort" as const), at: fc.integer({ min: 0, max: 12 }), yields: fc.integer({ min: 0, max: 3 }), who: fc.nat() }),
  fc.record({ kind: fc.constant("closeSender" as const), at: fc.integer({ min: 0, max: 12 }), yields: fc.integer({ min: 0, max: 3 }), who: fc.nat() }),
  fc.record({ kind: fc.constant("closeReceiver" as const), at: fc.integer({ min: 0, max: 12 }), yields: fc.integer({ min: 0, max: 3 }), who: fc.nat() }),
);
const scenario = fc.record({
  max: fc.oneof(fc.constantFrom(0, 0, 1, 2, 3), fc.constant(Infinity)),
  // a step of a producer or consumer: sleep this long before (producer) or after (consumer) its operation;
  // -1: no sleep; -2: no sleep, and right after the operation cancel a task on the other side (the one it
  // may just have woken: a cancellation that lands between a wake-up and the run)
  producers: fc.array(fc.array(fc.constantFrom(-2, -1, 0, 1, 2), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
  consumers: fc.array(fc.array(fc.constantFrom(-2, -1, 0, 1, 2), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
  actions: fc.array(action, { maxLength: 6 }),
});

describe("property: random producers, consumers, cancellations and closes on virtual time", () => {
  it("every value sent successfully is received exactly once, in order per sender; no cancelled send delivers", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ max, producers, consumers, actions }) => {
        /** per producer: values whose send() returned, in order */
        const sent: number[][] = producers.map(() => []);
        /** values whose send() failed (cancelled, aborted, closed, broken) */
        const failed = new Set<number>();
        /** per consumer: values received, in order */
        const received: number[][] = consumers.map(() => []);
        let droppedAtBreak = 0;
        await vrun(async () => {
          const [send, receive] = openMemoryChannel<number>(max);
          const sends = producers.map(() => send.clone());
          const receives = consumers.map(() => receive.clone());
          send.close();
          receive.close();
          /** close a receive end; the last one drops what is buffered: count it (reserved values included) */
          const closeReceiver = (end: MemoryReceiveChannel<number>) => {
            if (end.statistics().openReceiveChannels === 1 && !end._closed) droppedAtBreak = end._state._buf.length;
            end.close();
          };
          const controllers = [...producers, ...consumers].map(() => new AbortController());
          const opts = (i: number) => (controllers[i]!.signal.aborted ? undefined : { signal: controllers[i]!.signal });
          let cs: Task<unknown>[] = [];
          const ps = producers.map((pauses, i) =>
            createTask(async () => {
              try {
                for (let k = 0; k < pauses.length; k++) {
                  const value = i * 100 + k;
                  if (pauses[k]! >= 0) await sleep(pauses[k]!);
                  try {
                    await sends[i]!.send(value, opts(i));
                  } catch (e) {
                    failed.add(value);
                    throw e;
                  }
                  sent[i]!.push(value);
                  if (pauses[k] === -2) cs[k % cs.length]!.cancel();
                }
              } finally {
                sends[i]!.close();
              }
            }),
          );
          cs = consumers.map((pauses, j) =>
            createTask(async () => {
              try {
                for (let k = 0; ; k++) {
                  const v = await receives[j]!.receive(opts(producers.length + j));
                  received[j]!.push(v);
                  const p = pauses[k % pauses.length]!;
                  if (p === -2) ps[k % ps.length]!.cancel();
                  if (p >= 0) await sleep(p);
                }
              } finally {
                closeReceiver(receives[j]!);
              }
            }),
          );
          const all = [...ps, ...cs];
          const driver = createTask(async () => {
            for (const a of [...actions].sort((x, y) => x.at - y.at)) {
              await sleep(a.at);
              for (let y = 0; y < a.yields; y++) await sleep(0);
              if (a.kind === "cancel") all[a.who % all.length]!.cancel();
              else if (a.kind === "abort") controllers[a.who % controllers.length]!.abort(new Error("aborted"));
              else if (a.kind === "closeSender") sends[a.who % sends.length]!.close();
              else closeReceiver(receives[a.who % receives.length]!);
            }
          });
          await driver;
          // producers end, or wait for a consumer that is gone (cancelled before it started, so its end
          // was never closed): closing the ends left open then breaks them
          while (ps.some((t) => !t.done()) && cs.some((t) => !t.done())) await sleep(1);
          if (cs.every((t) => t.done())) for (const end of receives) closeReceiver(end);
          const results = await gather(...all, { returnExceptions: true });
          for (const r of results) {
            const ok =
              r === undefined ||
              r instanceof EndOfChannel ||
              r instanceof ClosedResourceError ||
              r instanceof BrokenResourceError ||
              r instanceof CancelledError ||
              (r instanceof Error && r.message === "aborted");
            if (!ok) throw r;
          }
          // a consumer cancelled before it started never closed its end: what it would have received is left
          for (const end of receives) closeReceiver(end);
          const st = send.statistics();
          expect(st).toMatchObject({ tasksWaitingSend: 0, tasksWaitingReceive: 0, openSendChannels: 0, openReceiveChannels: 0 });
          expect(send._state._buf.length).toBe(0);
        });
        const got = received.flat();
        // received exactly once
        expect(new Set(got).size).toBe(got.length);
        // no failed send delivered
        for (const v of got) expect(failed.has(v)).toBe(false);
        // every received value was sent successfully, and per consumer the values of a sender are in order
        const ok = new Set(sent.flat());
        for (const v of got) expect(ok.has(v)).toBe(true);
        for (const mine of received) {
          for (let p = 0; p < producers.length; p++) {
            const seq = mine.filter((v) => Math.floor(v / 100) === p);
            expect(seq).toEqual([...seq].sort((a, b) => a - b));
          }
        }
        // every value sent successfully was received, except those dropped when the last receiver closed
        const missing = sent.flat().filter((v) => !got.includes(v));
        expect(missing.length).toBeLessThanOrEqual(droppedAtBreak);
        // and a sender's values are received as a prefix of what it sent (the dropped ones are its last)
        for (let p = 0; p < producers.length; p++) {
          const mine = got.filter((v) => Math.floor(v / 100) === p).sort((a, b) => a - b);
          expect(mine).toEqual(sent[p]!.slice(0, mine.length));
        }
      }),
      { numRuns: 500 },
    );
  });
});
