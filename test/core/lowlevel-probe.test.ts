/**
 * Findings of the low-level probe (stop 29): `runCoroutineThreadsafe` at loop close, the default
 * exception handler and reprs given values `String()` cannot convert, `setException` of undefined/null
 * and of an Error class, a task that throws `undefined`, bad input to `Future`, and Future's repr.
 * Compared with CPython 3.13.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createTask,
  ensureFuture,
  Event,
  FIRST_EXCEPTION,
  Future,
  gather,
  getRunningLoop,
  InvalidStateError,
  newEventLoop,
  openConnection,
  run,
  runCoroutineThreadsafe,
  RuntimeError,
  shield,
  sleep,
  startServer,
  wait,
  type ExceptionContext,
} from "../../src/index.js";
import { rejection, thrown } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** What the default handler prints, collected (console.error is silenced). */
function captureStderr(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === "string" ? a : "<non-string>")).join(" "));
  });
  return lines;
}

describe("runCoroutineThreadsafe when the loop closes (probe l6, l7)", () => {
  it("rejects, as an outside await of the task does, when the loop closes with the task pending", async () => {
    captureStderr(); // ("Task was destroyed but it is pending!")
    const loop = newEventLoop({ virtualTime: true });
    const running = loop.runForever();
    let started!: () => void;
    const waiting = new Promise<void>((r) => (started = r));
    const p = runCoroutineThreadsafe(async () => {
      started();
      await new Event().wait(); // never set
    }, loop);
    await waiting;
    loop.stop();
    await running;
    loop.close();
    const e = await rejection(p);
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as Error).message).toMatch(/^Event loop is closed: task Task-\d+ will never finish$/);
  });

  it("rejects when called on a loop that never ran and is then closed", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const p = runCoroutineThreadsafe(async () => 1, loop);
    loop.close();
    const e = await rejection(p);
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as Error).message).toMatch(/^Event loop is closed: .*never start/);
  });

  it("resolves when the task ended but the loop stopped and closed before the done callback ran", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const running = loop.runForever();
    const p = runCoroutineThreadsafe(async () => {
      loop.stop(); // (the done callback is scheduled for the next iteration, which never comes)
      return 5;
    }, loop);
    await running;
    loop.close();
    expect(await p).toBe(5);
  });

  it("a promise nobody awaits, rejected at close, is no unhandled rejection (fire and forget)", async () => {
    captureStderr();
    const loop = newEventLoop({ virtualTime: true });
    runCoroutineThreadsafe(async () => 1, loop);
    loop.close();
    await new Promise((r) => setImmediate(r)); // (vitest fails the file on an unhandled rejection)
  });

  it("a function that throws undefined or null rejects the promise with that value (u1)", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const seen: ExceptionContext[] = [];
    loop.setExceptionHandler((_l, c) => void seen.push(c));
    const running = loop.runForever();
    try {
      const u = runCoroutineThreadsafe(async () => {
        throw undefined;
      }, loop);
      const n = runCoroutineThreadsafe(async () => {
        throw null;
      }, loop);
      const outcome = await Promise.allSettled([u, n]);
      expect(outcome).toEqual([
        { status: "rejected", reason: undefined },
        { status: "rejected", reason: null },
      ]);
    } finally {
      loop.stop();
      await running;
      loop.close();
    }
    expect(seen.map((c) => c.message)).toEqual([]);
  });
});

describe("values String() cannot convert (probe eh2, rp2)", () => {
  it("the default handler reports a callback that threw a null-prototype object, and the run goes on", async () => {
    const lines = captureStderr();
    const result = await run(
      async () => {
        getRunningLoop().callSoon(() => {
          throw Object.create(null);
        });
        await sleep(1);
        return "ok";
      },
      { virtualTime: true },
    );
    expect(result).toBe("ok");
    expect(lines.join("\n")).toContain("[Object: null prototype] {}");
  });

  it("an error whose stack and message cannot be read prints <exception str() failed> (CPython's words)", async () => {
    const lines = captureStderr();
    const bad = new Error("x");
    for (const k of ["stack", "message", "name"]) {
      Object.defineProperty(bad, k, {
        get() {
          throw new Error("no " + k);
        },
      });
    }
    await run(
      async () => {
        getRunningLoop().callSoon(() => {
          throw bad;
        });
        await sleep(1);
      },
      { virtualTime: true },
    );
    expect(lines.join("\n")).toContain("<exception str() failed>");
  });

  it("the default handler never throws: a failure inside it is reported as CPython's 'Exception in default exception handler'", async () => {
    const lines = captureStderr();
    await run(
      async () => {
        const loop = getRunningLoop();
        const evil = {
          _repr(): string {
            throw new Error("repr failed");
          },
        };
        expect(() => loop.callExceptionHandler({ message: "m", future: evil as never })).not.toThrow();
        expect(() => loop.defaultExceptionHandler({ message: "m", future: evil as never })).not.toThrow();
      },
      { virtualTime: true },
    );
    expect(lines.join("\n")).toContain("Exception in default exception handler");
    expect(lines.join("\n")).toContain("repr failed");
  });

  it("setResult/setException twice on a future holding such a value is InvalidStateError; its repr works", async () => {
    const lines = captureStderr();
    await run(
      async () => {
        const f = new Future();
        f.setResult(Object.create(null));
        expect(thrown(() => f.setResult(2))).toBeInstanceOf(InvalidStateError);
        expect(String(f)).toBe("<Future finished result=[Object: null prototype] {}>");
        const g = new Future();
        g.setException(Object.create(null));
        expect(thrown(() => g.setException(1))).toBeInstanceOf(InvalidStateError);
        expect(String(g)).toBe("<Future finished exception=[Object: null prototype] {}>");
        g.exception();
        // unretrieved task failures with such values reach the default handler without crashing
        createTask(async () => {
          throw Object.create(null);
        });
        createTask(async () => {
          throw Symbol("sym");
        });
        await sleep(1);
      },
      { virtualTime: true },
    );
    const out = lines.join("\n");
    expect(out).toContain("Task exception was never retrieved");
    expect(out).toContain("Symbol(sym)");
  });
});

describe("setException of undefined, null, an Error class; a task that throws undefined (probe u1, f1)", () => {
  it("setException(undefined) or (null) called directly is a TypeError naming the argument; the future stays pending", async () => {
    await run(
      async () => {
        const f = new Future();
        const e = thrown(() => f.setException(undefined));
        expect(e).toBeInstanceOf(TypeError);
        expect((e as Error).message).toBe("Expected exception to be an error or a thrown value other than undefined, got undefined");
        expect((thrown(() => f.setException(null)) as Error).message).toMatch(/^Expected exception to be .*, got null$/);
        expect(f.done()).toBe(false);
        f.setException("a string may be thrown in JavaScript");
        expect(f.exception()).toBe("a string may be thrown in JavaScript");
      },
      { virtualTime: true },
    );
  });

  it("setException(TypeError) stores an instance, as CPython instantiates an exception class", async () => {
    await run(
      async () => {
        const f = new Future();
        f.setException(TypeError);
        expect(f.exception()).toBeInstanceOf(TypeError);
      },
      { virtualTime: true },
    );
  });

  it("wait(FIRST_EXCEPTION) returns as soon as a task throws undefined (CPython returns at the first exception)", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const a = createTask(async () => {
          await sleep(5);
          throw undefined;
        });
        const b = createTask(async () => {
          await sleep(50);
          return "b";
        });
        const [done, pending] = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
        expect(loop.time()).toBe(5);
        expect([...done]).toEqual([a]);
        expect([...pending]).toEqual([b]);
        expect(a.exception()).toBe(undefined);
        expect(thrown(() => a.result())).toBe(undefined);
        await b;
      },
      { virtualTime: true },
    );
  });

  it("a server's handler that throws undefined is reported and its connection closed (real socket)", async () => {
    const seen: ExceptionContext[] = [];
    await run(async () => {
      getRunningLoop().setExceptionHandler((_l, c) => void seen.push(c));
      const server = await startServer(async () => {
        throw undefined;
      }, "127.0.0.1", 0);
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0]!.port);
      expect((await reader.read()).length).toBe(0); // (EOF: the server closed it)
      writer.close();
      server.close();
      await server.waitClosed();
    });
    expect(seen.map((c) => [c.message, c.exception])).toEqual([["Unhandled exception in clientConnected", undefined]]);
  });

  it("gather, shield and ensureFuture pass a thrown undefined on as a failure", async () => {
    await run(
      async () => {
        const boom = async (): Promise<never> => {
          await sleep(1);
          throw undefined;
        };
        expect(await gather(createTask(boom)).then(() => "resolved", (e: unknown) => ["rejected", e])).toEqual(["rejected", undefined]);
        expect(await shield(createTask(boom)).then(() => "resolved", (e: unknown) => ["rejected", e])).toEqual(["rejected", undefined]);
        const f = ensureFuture(Promise.reject(undefined));
        expect(await Promise.resolve(f).then(() => "resolved", (e: unknown) => ["rejected", e])).toEqual(["rejected", undefined]);
      },
      { virtualTime: true },
    );
  });
});

describe("bad input to Future (probe f1)", () => {
  it("an unknown option, a loop that is not one, options that are not an object: TypeErrors naming them", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        expect(() => new Future({ lop: loop } as never)).toThrow(TypeError);
        expect(() => new Future({ lop: loop } as never)).toThrow(/Unknown option "lop" of new Future\(\) \(known: loop\)/);
        expect(() => new Future({ loop: 42 } as never)).toThrow(/^Expected loop to be an EventLoop, got 42 \(number\)$/);
        expect(() => new Future(null as never)).toThrow(/^Expected options to be an object, got null$/);
        expect(new Future({ loop }).getLoop()).toBe(loop);
        expect(new Future({}).getLoop()).toBe(loop);
      },
      { virtualTime: true },
    );
  });

  it("cancel(42) is a TypeError naming msg, as Task.cancel; the future stays pending", async () => {
    await run(
      async () => {
        const f = new Future();
        expect(() => f.cancel(42 as never)).toThrow(/^Expected msg to be a string, got 42 \(number\)$/);
        expect(f.done()).toBe(false);
        expect(f.cancel("ok")).toBe(true);
        expect(f.cancel(42 as never)).toBe(false); // (done: as Task.cancel, false before the check)
      },
      { virtualTime: true },
    );
  });
});

describe("Future's repr shows values readably and bounded, as CPython's reprlib (probe rp)", () => {
  it("strings quoted, objects and arrays inspected, long ones cut in the middle", async () => {
    await run(
      async () => {
        const mk = (v: unknown): string => {
          const f = new Future();
          f.setResult(v);
          return String(f);
        };
        expect(mk("x")).toBe("<Future finished result='x'>");
        expect(mk({ a: 1 })).toBe("<Future finished result={ a: 1 }>");
        expect(mk([1, 2])).toBe("<Future finished result=[ 1, 2 ]>");
        expect(mk(null)).toBe("<Future finished result=null>");
        expect(mk(undefined)).toBe("<Future finished result=undefined>");
        // CPython: <Future finished result='yyyyyyyyyyyy...yyyyyyyyyyyyy'>
        expect(mk("y".repeat(100))).toBe(`<Future finished result='${"y".repeat(12)}...${"y".repeat(13)}'>`);
        const big = mk(Array.from({ length: 100 }, (_, i) => i));
        expect(big).toContain("more items");
        expect(big.length).toBeLessThan(120);
        expect(mk({ k: "v".repeat(1000), deep: { a: { b: { c: { d: 1 } } } } }).length).toBeLessThan(120);
        const e = new Future();
        e.setException(new TypeError("bad"));
        expect(String(e)).toBe("<Future finished exception=TypeError: bad>");
        e.exception();
      },
      { virtualTime: true },
    );
  });
});
