/**
 * Follow-ups of the stop-28 fixes: `setException` checked on every future class (the library relays a
 * thrown value through `_relayException`), a failure of `undefined` seen as a failure everywhere (a
 * `TaskGroup.start` function, a pipe's reader), the default exception handler's lines as CPython's
 * `default_exception_handler` prints them, Handle reprs, and debug mode's slow-callback report.
 */
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createTask,
  ensureFuture,
  gather,
  getRunningLoop,
  JobQueue,
  newEventLoop,
  run,
  setEventLoop,
  shield,
  sleep,
  StreamReader,
  taskGroup,
  ThreadPoolExecutor,
  type ExceptionContext,
  type TaskStatus,
} from "../../src/index.js";
import { PipeFeed } from "../../src/subprocess/pipe-reader.js";
import { thrown } from "./helpers.js";

/** What `p` settled with: `["resolved", value]` or `["rejected", error]`. */
function outcome(p: PromiseLike<unknown>): Promise<unknown[]> {
  return Promise.resolve(p).then(
    (v) => ["resolved", v],
    (e: unknown) => ["rejected", e],
  );
}

/** Keep busy for `ms` of real time (a slow callback). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe("setException(undefined | null) is refused on every future class; the library's relays pass it on", () => {
  it("a gather's future and a shield's future refuse undefined and null as a plain future does (and instantiate an Error class)", async () => {
    await run(
      async () => {
        const g = gather(createTask(() => sleep(10)));
        expect(thrown(() => g.setException(undefined))).toBeInstanceOf(TypeError);
        expect((thrown(() => g.setException(null)) as Error).message).toMatch(/^Expected exception to be .*, got null$/);
        expect(g.done()).toBe(false);
        g.setException(RangeError);
        expect(g.exception()).toBeInstanceOf(RangeError);
        const s = shield(createTask(() => sleep(10)));
        expect(thrown(() => s.setException(undefined))).toBeInstanceOf(TypeError);
        expect(s.done()).toBe(false);
        await sleep(20);
      },
      { virtualTime: true },
    );
  });

  it("gather, shield and ensureFuture of a function that throws undefined fail with undefined (no hang, no TypeError)", async () => {
    await run(
      async () => {
        const boom = async (): Promise<never> => {
          await sleep(1);
          throw undefined;
        };
        const boomNow = (): never => {
          throw undefined;
        };
        expect(await outcome(gather(boom))).toEqual(["rejected", undefined]);
        expect(await outcome(gather(boomNow))).toEqual(["rejected", undefined]);
        expect(await outcome(gather(createTask(boom), sleep(5)))).toEqual(["rejected", undefined]);
        expect(await outcome(shield(boom))).toEqual(["rejected", undefined]);
        expect(await outcome(ensureFuture(boom))).toEqual(["rejected", undefined]);
        expect(await outcome(ensureFuture(Promise.reject(null)))).toEqual(["rejected", null]);
        const t = createTask(boom);
        expect((thrown(() => t.setException(new Error("x"))) as Error).constructor.name).toBe("RuntimeError"); // tasks refuse it anyway
        expect(await outcome(t)).toEqual(["rejected", undefined]);
      },
      { virtualTime: true },
    );
  });

  it("a job that throws undefined fails its JobFuture with undefined", async () => {
    await run(
      async () => {
        const q = new JobQueue();
        const job = q.add(async () => {
          await sleep(1);
          throw undefined;
        });
        expect(await outcome(job)).toEqual(["rejected", undefined]);
      },
      { virtualTime: true },
    );
  });

  it("a thread pool's job that throws undefined fails its future with undefined", async () => {
    await run(async () => {
      await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      expect(await outcome(pool.submit(() => {
        throw undefined;
      }))).toEqual(["rejected", undefined]);
    });
  });

  it("a pool's failed job reaches code that awaits it without run()", { timeout: 10_000 }, async () => {
    const loop = newEventLoop();
    setEventLoop(loop);
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const [how, e] = await outcome(pool.submit(() => {
        throw new RangeError("x");
      }));
      expect([how, String(e)]).toEqual(["rejected", "RangeError: x"]);
    } finally {
      await pool.shutdown();
      loop.close();
      setEventLoop(null);
    }
  });

  // (ExecutorFuture overrides `_relayException` as it overrides `setException`, telling code that awaits
  // without run(); ThreadPoolExecutor._settle and RedisExecutor._settle relay every failure with it)
  it("a pool's job that throws undefined reaches code that awaits it without run()", { timeout: 10_000 }, async () => {
    const loop = newEventLoop();
    setEventLoop(loop);
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      expect(await outcome(pool.submit(() => {
        throw undefined;
      }))).toEqual(["rejected", undefined]);
    } finally {
      await pool.shutdown();
      loop.close();
      setEventLoop(null);
    }
  });

  it("StreamReader.setException(undefined) wakes the waiting read with undefined", async () => {
    await run(
      async () => {
        const r = new StreamReader();
        const read = createTask(() => r.read(10));
        await sleep(1);
        r.setException(undefined);
        expect(await outcome(read)).toEqual(["rejected", undefined]);
        expect(await outcome(r.read(1))).toEqual(["rejected", undefined]);
      },
      { virtualTime: true },
    );
  });
});

describe("a failure of undefined is a failure (TaskGroup.start, a pipe's reader)", () => {
  it("tg.start(fn) whose fn throws undefined before started() fails start() with undefined", async () => {
    const seen: unknown[] = [];
    await run(
      async () => {
        await taskGroup(async (tg) => {
          seen.push(
            await outcome(
              tg.start(async (_status: TaskStatus<number>) => {
                await sleep(1);
                throw undefined;
              }),
            ),
          );
          seen.push(
            await outcome(
              tg.start((_status: TaskStatus<number>) => {
                throw null;
              }),
            ),
          );
        });
      },
      { virtualTime: true },
    );
    expect(seen).toEqual([
      ["rejected", undefined],
      ["rejected", null],
    ]);
  });

  it("a pipe's error does not replace a reader's failure of undefined", async () => {
    await run(
      async () => {
        const pipe = new PassThrough();
        const reader = new StreamReader();
        const feed = new PipeFeed(getRunningLoop(), reader, [pipe]);
        reader.setException(undefined);
        pipe.emit("error", new Error("EPIPE"));
        expect(await outcome(reader.read(1))).toEqual(["rejected", undefined]);
        expect(reader._failed).toBe(true);
        feed.destroy();
      },
      { virtualTime: true },
    );
  });
});

describe("the default exception handler prints every key of the context, as CPython's", () => {
  let lines: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    lines = [];
  });
  function capture(): void {
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
  }

  it("other keys, sorted, as `key: repr(value)`; undefined values are absent keys", async () => {
    await run(
      async () => {
        capture();
        getRunningLoop().defaultExceptionHandler({ message: "extra keys", foo: 1, transport: "T", zeta: [1, 2], alpha: null, skipped: undefined });
      },
      { virtualTime: true },
    );
    // CPython 3.13: loop.default_exception_handler({'message': 'extra keys', 'foo': 1, 'transport': 'T',
    // 'zeta': [1, 2], 'alpha': None}) logs these lines (base_events.py, `default_exception_handler`)
    expect(lines.join("\n").split("\n")).toEqual(["extra keys", "alpha: null", "foo: 1", "transport: 'T'", "zeta: [ 1, 2 ]"]);
  });

  it("a handle key shows the handle's repr; the exception comes last", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        capture();
        function cb(): void {}
        const h = loop.callSoon(cb);
        loop.defaultExceptionHandler({ message: "with handle", handle: h, foo: "bar", exception: new RangeError("bad") });
        h.cancel();
      },
      { virtualTime: true },
    );
    const out = lines.join("\n").split("\n");
    expect(out.slice(0, 3)).toEqual(["with handle", "foo: 'bar'", "handle: <Handle cb()>"]);
    expect(out[3]).toBe("RangeError: bad");
  });

  it("a context without a message says `Unhandled exception in event loop`", async () => {
    await run(
      async () => {
        capture();
        getRunningLoop().callExceptionHandler({ exception: new RangeError("nomsg") } as ExceptionContext);
      },
      { virtualTime: true },
    );
    const out = lines.join("\n").split("\n");
    expect(out[0]).toBe("Unhandled exception in event loop");
    expect(out[1]).toBe("RangeError: nomsg");
  });

  it("a handler that throws: the context it was given is printed too (`context: {...}`)", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        capture();
        loop.setExceptionHandler(() => {
          throw new RangeError("handler broke");
        });
        loop.callExceptionHandler({ message: "given", exception: new TypeError("orig"), foo: 1 });
        loop.setExceptionHandler(null);
      },
      { virtualTime: true },
    );
    const out = lines.join("\n").split("\n");
    expect(out[0]).toBe("Unhandled error in exception handler");
    expect(out[1]).toBe("context: { message: 'given', exception: TypeError: orig, foo: 1 }");
    expect(out[2]).toBe("RangeError: handler broke");
  });

  it("a task and a future both printed, the same one once", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        capture();
        const f = loop.createFuture();
        loop.defaultExceptionHandler({ message: "fut", future: f, other: 3 });
        const t = createTask(() => sleep(1), { name: "T1" });
        loop.defaultExceptionHandler({ message: "task", future: t, task: t });
        loop.defaultExceptionHandler({ message: "named", name: "Task-9" });
        await t;
      },
      { virtualTime: true },
    );
    const out = lines.join("\n").split("\n");
    expect(out.slice(0, 3)).toEqual(["fut", "future: <Future pending>", "other: 3"]);
    expect(out[3]).toBe("task");
    expect(out[4]).toBe("task: <Task pending name='T1'>");
    expect(out.slice(5)).toEqual(["named", "task: Task-9"]);
  });
});

describe("Handle and TimerHandle reprs (CPython's `<Handle cb()>`)", () => {
  it("a handle, a cancelled one, a timer handle, an anonymous callback", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        function tick(): void {}
        const h = loop.callSoon(tick);
        expect(String(h)).toBe("<Handle tick()>");
        h.cancel();
        expect(String(h)).toBe("<Handle cancelled>");
        const t = loop.callLater(12.5, tick);
        expect(String(t)).toBe("<TimerHandle when=12.5 tick()>");
        t.cancel();
        expect(String(t)).toBe("<TimerHandle cancelled when=12.5>");
        const a = loop.callSoon((() => () => {})());
        expect(String(a)).toBe("<Handle anonymous()>");
        a.cancel();
      },
      { virtualTime: true },
    );
  });
});

describe("debug mode reports slow callbacks, not only slow task steps", () => {
  it("callSoon, callLater and done callbacks that run longer than slowCallbackDuration are reported", async () => {
    const seen: ExceptionContext[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_l, c) => void seen.push(c));
        function slowSoon(): void {
          busy(60);
        }
        function slowLater(): void {
          busy(60);
        }
        function slowDone(): void {
          busy(60);
        }
        loop.callSoon(slowSoon);
        loop.callLater(5, slowLater);
        const f = loop.createFuture();
        f.addDoneCallback(slowDone);
        f.setResult(1);
        await sleep(10);
      },
      { virtualTime: true, debug: true, slowCallbackDuration: 50 },
    );
    const messages = seen.map((c) => c.message);
    expect(messages.some((m) => /^Executing <Handle slowSoon\(\)> took \d+\.\d{3} seconds$/.test(m))).toBe(true);
    expect(messages.some((m) => /^Executing <TimerHandle when=5 slowLater\(\)> took \d+\.\d{3} seconds$/.test(m))).toBe(true);
    expect(messages.some((m) => /^Executing <Handle slowDone\(\)> took \d+\.\d{3} seconds$/.test(m))).toBe(true);
    expect(seen.find((c) => c.message.includes("slowSoon"))!.handle).toBeDefined();
  });

  it("not in debug mode: no report", async () => {
    const seen: ExceptionContext[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_l, c) => void seen.push(c));
        loop.callSoon(() => busy(60));
        await sleep(1);
      },
      { virtualTime: true, slowCallbackDuration: 50 },
    );
    expect(seen).toEqual([]);
  });
});
