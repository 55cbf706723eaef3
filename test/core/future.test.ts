/**
 * CPython's test_futures.py, as behaviours of our Future (see conformance/README.md).
 */
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  EventLoop,
  Future,
  InvalidStateError,
  RuntimeError,
  ensureFuture,
  fromPromise,
  getRunningLoop,
  isFuture,
  run,
  setEventLoop,
  sleep,
} from "../../src/index.js";
import { captureHandler, loopsClosedAfterEach, rejection, runBriefly, thrown, virtualLoop } from "./helpers.js";

const newLoop = loopsClosedAfterEach();

describe("Future state machine (test_futures BaseFutureTests)", () => {
  it("test_isfuture: futures and tasks are futures, other values are not", async () => {
    const loop = newLoop();
    const f = loop.createFuture();
    expect(isFuture(f)).toBe(true);
    expect(isFuture(Future)).toBe(false);
    expect(isFuture(1)).toBe(false);
    expect(isFuture(Promise.resolve(1))).toBe(false);
    expect(isFuture({ then() {} })).toBe(false);
    const t = loop.createTask(async () => 1);
    expect(isFuture(t)).toBe(true);
    await loop.runUntilComplete(t);
  });

  it("test_initial_state: pending, then cancelled", () => {
    const f = newLoop().createFuture();
    expect(f.cancelled()).toBe(false);
    expect(f.done()).toBe(false);
    f.cancel();
    expect(f.cancelled()).toBe(true);
  });

  it("test_constructor_use_running_loop: a future made in a task belongs to the running loop", async () => {
    const loop = newLoop();
    // (wrapped: an async function returning a thenable would adopt it)
    const { f } = await loop.runUntilComplete(async () => ({ f: new Future() }));
    expect(f.getLoop()).toBe(loop);
  });

  it("test_constructor_use_global_loop: outside a loop, the current loop (setEventLoop)", () => {
    const loop = newLoop();
    setEventLoop(loop);
    expect(new Future().getLoop()).toBe(loop);
  });

  it("test_future_cancel_message_getter: the message reaches the awaiter", async () => {
    const loop = newLoop();
    const f = loop.createFuture();
    f.cancel("my message");
    const e = await rejection(loop.runUntilComplete(f));
    expect(e).toBeInstanceOf(CancelledError);
    expect((e as Error).message).toBe("my message");
  });

  it("test_cancel: cancel() once, then result/exception throw CancelledError, setters throw InvalidStateError", () => {
    const f = newLoop().createFuture();
    expect(f.cancel()).toBe(true);
    expect(f.cancelled()).toBe(true);
    expect(f.done()).toBe(true);
    expect(thrown(() => f.result())).toBeInstanceOf(CancelledError);
    expect(thrown(() => f.exception())).toBeInstanceOf(CancelledError);
    expect(thrown(() => f.setResult(undefined))).toBeInstanceOf(InvalidStateError);
    expect(thrown(() => f.setException(new Error()))).toBeInstanceOf(InvalidStateError);
    expect(f.cancel()).toBe(false);
  });

  it("test_result: result before done is InvalidStateError; after setResult it is the value", () => {
    const f = newLoop().createFuture<number>();
    expect(thrown(() => f.result())).toBeInstanceOf(InvalidStateError);
    f.setResult(42);
    expect(f.cancelled()).toBe(false);
    expect(f.done()).toBe(true);
    expect(f.result()).toBe(42);
    expect(f.exception()).toBeUndefined();
    expect(thrown(() => f.setResult(1))).toBeInstanceOf(InvalidStateError);
    expect(thrown(() => f.setException(new Error()))).toBeInstanceOf(InvalidStateError);
    expect(f.cancel()).toBe(false);
  });

  it("test_exception: exception before done is InvalidStateError; result() rethrows the exception", () => {
    const exc = new TypeError("boom");
    const f = newLoop().createFuture();
    expect(thrown(() => f.exception())).toBeInstanceOf(InvalidStateError);
    f.setException(exc);
    expect(f.cancelled()).toBe(false);
    expect(f.done()).toBe(true);
    expect(thrown(() => f.result())).toBe(exc);
    expect(f.exception()).toBe(exc);
    expect(thrown(() => f.setResult(1))).toBeInstanceOf(InvalidStateError);
    expect(thrown(() => f.setException(new Error()))).toBeInstanceOf(InvalidStateError);
    expect(f.cancel()).toBe(false);
  });

  it("test_yield_from_twice: awaiting a done future again gives the same result without suspending", async () => {
    const loop = newLoop();
    const f = loop.createFuture<number>();
    const seen: unknown[] = [];
    const t = loop.createTask(async () => {
      seen.push("A");
      seen.push(["B", await f]);
      seen.push(["C", await f]);
    });
    await runBriefly(loop);
    expect(seen).toEqual(["A"]);
    f.setResult(42);
    await loop.runUntilComplete(t);
    expect(seen).toEqual(["A", ["B", 42], ["C", 42]]);
  });

  it("test_future_repr: the repr names the state and the result", () => {
    const loop = newLoop();
    const p = loop.createFuture<number>();
    expect(String(p)).toBe("<Future pending>");
    const c = loop.createFuture();
    c.cancel();
    expect(String(c)).toBe("<Future cancelled>");
    const r = loop.createFuture<number>();
    r.setResult(4);
    expect(String(r)).toBe("<Future finished result=4>");
    const e = loop.createFuture();
    e.setException(new RangeError("x"));
    expect(String(e)).toContain("exception=RangeError: x");
    e.exception();
  });
});

describe("Unretrieved exceptions (test_futures test_tb_logger_*)", () => {
  function closeAndCollect(setup: (loop: EventLoop) => void): unknown[] {
    const loop = virtualLoop();
    const seen = captureHandler(loop);
    setup(loop);
    loop.close();
    return seen.map((c) => c.message);
  }

  it("test_tb_logger_abandoned: a pending future is not reported", () => {
    expect(closeAndCollect((l) => void l.createFuture())).toEqual([]);
  });

  it("test_tb_logger_not_called_after_cancel: cancel() on a failed future marks its error seen", () => {
    expect(
      closeAndCollect((l) => {
        const f = l.createFuture();
        f.setException(new Error("boom"));
        expect(f.cancel()).toBe(false);
      }),
    ).toEqual([]);
  });

  it("test_tb_logger_result_unretrieved / _retrieved: a result is never reported", () => {
    expect(closeAndCollect((l) => l.createFuture().setResult(42))).toEqual([]);
    expect(
      closeAndCollect((l) => {
        const f = l.createFuture();
        f.setResult(42);
        f.result();
      }),
    ).toEqual([]);
  });

  it("test_tb_logger_exception_unretrieved: an error nobody looked at is reported", () => {
    const loop = virtualLoop();
    const seen = captureHandler(loop);
    const err = new Error("boom");
    const f = loop.createFuture();
    f.setException(err);
    loop.close();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.message).toBe("Future exception was never retrieved");
    expect(seen[0]!.exception).toBe(err);
    expect(seen[0]!.future).toBe(f);
  });

  it("test_tb_logger_exception_retrieved / _result_retrieved: exception() or result() count as seen", () => {
    expect(
      closeAndCollect((l) => {
        const f = l.createFuture();
        f.setException(new Error("boom"));
        f.exception();
      }),
    ).toEqual([]);
    expect(
      closeAndCollect((l) => {
        const f = l.createFuture();
        f.setException(new Error("boom"));
        expect(() => f.result()).toThrow("boom");
      }),
    ).toEqual([]);
  });

  it("an awaited failed future counts as seen", async () => {
    const loop = virtualLoop();
    const seen = captureHandler(loop);
    const f = loop.createFuture();
    f.setException(new Error("boom"));
    await expect(loop.runUntilComplete(async () => await f)).rejects.toThrow("boom");
    loop.close();
    expect(seen).toEqual([]);
  });
});

describe("foreign promises (test_futures test_wrap_future*, DuckTests)", () => {
  it("test_wrap_future: fromPromise gives a future with the promise's result", async () => {
    const v = await run(async () => {
      const f = fromPromise(Promise.resolve("oi"));
      expect(isFuture(f)).toBe(true);
      return await f;
    });
    expect(v).toBe("oi");
  });

  it("test_wrap_future_future: fromPromise of a future is the future itself", () => {
    const loop = newLoop();
    const f = loop.createFuture();
    expect(fromPromise(f)).toBe(f);
    expect(ensureFuture(f)).toBe(f);
  });

  it("test_wrap_future_use_running_loop / _use_global_loop: the wrapper belongs to the running or current loop", async () => {
    const loop = newLoop();
    const inner = await loop.runUntilComplete(async () => fromPromise(Promise.resolve(1)).getLoop());
    expect(inner).toBe(loop);
    setEventLoop(loop);
    const f = fromPromise(new Promise(() => {}));
    expect(f.getLoop()).toBe(loop);
    f.cancel();
  });

  it("test_wrap_future_cancel: cancelling the wrapper stops the await; the promise itself goes on", async () => {
    let resolve!: (v: string) => void;
    const p = new Promise<string>((r) => (resolve = r));
    await run(async () => {
      const f = fromPromise(p);
      f.cancel();
      expect(f.cancelled()).toBe(true);
      await expect(f).rejects.toBeInstanceOf(CancelledError);
      resolve("late");
      expect(await p).toBe("late");
      expect(f.cancelled()).toBe(true);
    });
  });

  it("DuckTests test_ensure_future: a thenable becomes a future", async () => {
    const v = await run(async () => {
      const thenable = { then: (ok: (v: number) => void) => ok(7) } as unknown as PromiseLike<number>;
      const f = ensureFuture(thenable);
      expect(isFuture(f)).toBe(true);
      return await f;
    });
    expect(v).toBe(7);
  });

  it("a failed foreign promise fails the wrapper with the same error", async () => {
    const err = new Error("nope");
    await run(async () => {
      await expect(fromPromise(Promise.reject(err))).rejects.toBe(err);
    });
  });
});

describe("done callbacks (test_futures BaseFutureDoneCallbackTests)", () => {
  function setup(): { loop: EventLoop; f: Future<string>; bag: number[]; cb: (n: number) => (f: Future<string>) => void } {
    const loop = newLoop();
    const bag: number[] = [];
    return { loop, f: loop.createFuture<string>(), bag, cb: (n) => () => void bag.push(n) };
  }

  it("test_callbacks_remove_first_callback", async () => {
    const { loop, f, bag, cb } = setup();
    const [cb1, cb2, cb3] = [cb(42), cb(17), cb(100)];
    f.addDoneCallback(cb1);
    f.addDoneCallback(cb2);
    f.addDoneCallback(cb3);
    f.removeDoneCallback(cb1);
    f.removeDoneCallback(cb1);
    f.setResult("foo");
    expect(bag).toEqual([]);
    await runBriefly(loop);
    expect(bag).toEqual([17, 100]);
    expect(f.result()).toBe("foo");
  });

  it("test_callbacks_remove_first_and_second_callback", async () => {
    const { loop, f, bag, cb } = setup();
    const [cb1, cb2, cb3] = [cb(42), cb(17), cb(100)];
    f.addDoneCallback(cb1);
    f.addDoneCallback(cb2);
    f.addDoneCallback(cb3);
    f.removeDoneCallback(cb1);
    f.removeDoneCallback(cb2);
    f.removeDoneCallback(cb1);
    f.setResult("foo");
    await runBriefly(loop);
    expect(bag).toEqual([100]);
  });

  it("test_callbacks_remove_third_callback", async () => {
    const { loop, f, bag, cb } = setup();
    const [cb1, cb2, cb3] = [cb(42), cb(17), cb(100)];
    f.addDoneCallback(cb1);
    f.addDoneCallback(cb2);
    f.addDoneCallback(cb3);
    f.removeDoneCallback(cb3);
    f.removeDoneCallback(cb3);
    f.setResult("foo");
    await runBriefly(loop);
    expect(bag).toEqual([42, 17]);
  });

  it("test_callbacks_invoked_on_set_result: in registration order, through the loop", async () => {
    const { loop, f, bag, cb } = setup();
    f.addDoneCallback(cb(42));
    f.addDoneCallback(cb(17));
    f.setResult("foo");
    expect(bag).toEqual([]); // scheduled, not called synchronously
    await runBriefly(loop);
    expect(bag).toEqual([42, 17]);
  });

  it("test_callbacks_invoked_on_set_exception", async () => {
    const { loop, f, bag, cb } = setup();
    f.addDoneCallback(cb(100));
    const exc = new Error();
    f.setException(exc);
    await runBriefly(loop);
    expect(bag).toEqual([100]);
    expect(f.exception()).toBe(exc);
  });

  it("callbacks run on cancel too, and receive the future", async () => {
    const loop = newLoop();
    const f = loop.createFuture();
    const got: unknown[] = [];
    f.addDoneCallback((x) => got.push(x));
    f.cancel();
    await runBriefly(loop);
    expect(got).toEqual([f]);
  });

  it("test_remove_done_callback: removeDoneCallback returns how many registrations it removed", async () => {
    const { loop, f, bag, cb } = setup();
    const [cb1, cb2, cb3] = [cb(1), cb(2), cb(3)];
    f.addDoneCallback(cb1);
    f.addDoneCallback(cb2);
    expect(f.removeDoneCallback(cb2)).toBe(1);
    expect(f.removeDoneCallback(cb3)).toBe(0);
    f.addDoneCallback(cb2);
    for (let i = 0; i < 5; i++) f.addDoneCallback(cb1);
    expect(f.removeDoneCallback(cb1)).toBe(6);
    f.setResult("foo");
    await runBriefly(loop);
    expect(bag).toEqual([2]);
  });

  it("test_schedule_callbacks_list_mutation_1: removing callbacks from a running callback does not unschedule them", async () => {
    const loop = newLoop();
    const f = loop.createFuture<number>();
    const calls: string[] = [];
    const other = (): void => void calls.push("other");
    f.addDoneCallback((x) => {
      calls.push("mut");
      expect(x.removeDoneCallback(other)).toBe(0);
    });
    f.addDoneCallback(other);
    f.addDoneCallback(other);
    f.setResult(1);
    await runBriefly(loop);
    expect(calls).toEqual(["mut", "other", "other"]);
  });

  it("a callback added to a done future is scheduled, not called synchronously", async () => {
    const loop = newLoop();
    const f = loop.createFuture<number>();
    f.setResult(1);
    const got: number[] = [];
    f.addDoneCallback((x) => got.push(x.result()));
    expect(got).toEqual([]);
    await runBriefly(loop);
    expect(got).toEqual([1]);
  });

  it("a callback that throws is reported to the exception handler and the others still run", async () => {
    const loop = newLoop();
    const seen = captureHandler(loop);
    const f = loop.createFuture<number>();
    const err = new Error("cb");
    const got: number[] = [];
    f.addDoneCallback(() => {
      throw err;
    });
    f.addDoneCallback(() => got.push(1));
    f.setResult(1);
    await runBriefly(loop);
    expect(got).toEqual([1]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.exception).toBe(err);
    expect(seen[0]!.message).toMatch(/^Exception in callback/);
  });

  it("addDoneCallback rejects a non-function with a clear error", () => {
    const f = newLoop().createFuture();
    expect(() => f.addDoneCallback(42 as never)).toThrow("Expected fn to be a function, got 42 (number)");
  });
});

describe("awaiting futures across loops", () => {
  it("test_other_loop_future: a task awaiting another loop's future fails with RuntimeError", async () => {
    const loop = newLoop();
    const other = newLoop();
    const fut = other.createFuture();
    const e = await rejection(loop.runUntilComplete(async () => await fut));
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as Error).message).toMatch(/Task .* got Future attached to a different loop/);
  });

  it("awaiting a pending future of a closed loop from outside any task is a clear error", async () => {
    const loop = virtualLoop();
    const f = loop.createFuture();
    loop.close();
    const e = await rejection(f);
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as Error).message).toMatch(/event loop is closed/);
  });

  it("a future awaited from outside any task is delivered when its loop runs", async () => {
    const loop = newLoop();
    const f = loop.createFuture<string>();
    const outside = (async () => await f)();
    await loop.runUntilComplete(async () => {
      await sleep(5);
      f.setResult("x");
      await sleep(0);
    });
    expect(await outside).toBe("x");
  });

  it("getRunningLoop inside a future's callback is the future's loop", async () => {
    const loop = newLoop();
    const f = loop.createFuture<number>();
    let inside: EventLoop | null = null;
    f.addDoneCallback(() => {
      inside = getRunningLoop();
    });
    f.setResult(1);
    await runBriefly(loop);
    expect(inside).toBe(loop);
  });
});
