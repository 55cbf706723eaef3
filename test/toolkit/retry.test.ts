/**
 * retry() and repeat() (src/toolkit/retry.ts) on virtual time: attempts at exact loop times, the
 * RetryError with every attempt's error, shouldRetry / onRetry / retryAfter, cancellation arriving during
 * an attempt and during a wait (task.cancel(), timeout(), CancelScope, TaskGroup), AbortSignal, bad input,
 * the forms `fn` takes, the real clock, and fast-check properties over random schedules.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  CancelScope,
  createTask,
  currentTask,
  gather,
  getRunningLoop,
  moveOnAfter,
  run,
  RuntimeError,
  sleep,
  TaskGroup,
  timeout,
  TimeoutError,
} from "../../src/index.js";
import { repeat, retry, RetryError, type RetryInfo } from "../../src/toolkit/retry.js";
import {
  during,
  exponential,
  fibonacci,
  fixed,
  intersect,
  jittered,
  recurs,
  Schedule,
  seededRandom,
  spaced,
  union,
  upTo,
} from "../../src/toolkit/schedule.js";

const virtual = { virtualTime: true } as const;
const now = (): number => getRunningLoop().time();

/** A function failing its first `k` attempts (error `failure n`), then returning `ok n`; logs the loop time of each attempt. */
function failing(k: number, times: number[] = [], ms = 0): (n: number) => Promise<string> {
  return async (n) => {
    times.push(now());
    if (ms > 0) await sleep(ms);
    if (n <= k) throw new Error(`failure ${n}`);
    return `ok ${n}`;
  };
}

async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("retry: attempts at exact virtual times", () => {
  it("succeeds after k failures, waiting the schedule's delays", async () => {
    await run(async () => {
      const times: number[] = [];
      expect(await retry(failing(3, times), exponential(100).recurs(5))).toBe("ok 4");
      expect(times).toEqual([0, 100, 300, 700]);
      expect(now()).toBe(700);
    }, virtual);
  });

  it("the first attempt that succeeds ends the loop without waiting", async () => {
    await run(async () => {
      const times: number[] = [];
      expect(await retry(failing(0, times), spaced(1000))).toBe("ok 1");
      expect(times).toEqual([0]);
      expect(now()).toBe(0);
    }, virtual);
  });

  it("retry 5 times with exponential backoff up to 10 minutes: exact, in milliseconds of real time", async () => {
    await run(async () => {
      const start = now();
      const times: number[] = [];
      const policy = exponential(60_000).upTo(600_000).recurs(5);
      const e = await rejection(retry(failing(Infinity, times), policy));
      expect(e).toBeInstanceOf(RetryError);
      expect((e as RetryError).attempts).toBe(6);
      // 1, 2, 4, 8 minutes, then capped at 10
      expect(times.map((t) => t - start)).toEqual([0, 60_000, 180_000, 420_000, 900_000, 1_500_000]);
      expect(now() - start).toBe(1_500_000);
    }, virtual);
  });

  it("retry for at most 10 minutes (during) with fibonacci backoff: stops at the first decision after 10 minutes", async () => {
    await run(async () => {
      const times: number[] = [];
      const e = (await rejection(retry(failing(Infinity, times), fibonacci(60_000).intersect(during(600_000))))) as RetryError;
      // decisions at 0, 60, 120, 240, 420 s (go on), 720 s (> 600: stop)
      expect(times).toEqual([0, 60_000, 120_000, 240_000, 420_000, 720_000]);
      expect(e.attempts).toBe(6);
    }, virtual);
  });

  it("attempts that take time: spaced waits after each, fixed counts from each start", async () => {
    await run(async () => {
      let times: number[] = [];
      await rejection(retry(failing(Infinity, times, 30), spaced(100).recurs(2)));
      expect(times).toEqual([0, 130, 260]);
      times = [];
      const t0 = now();
      await rejection(retry(failing(Infinity, times, 30), fixed(100).recurs(2)));
      expect(times.map((t) => t - t0)).toEqual([0, 100, 200]);
      times = [];
      const t1 = now();
      await rejection(retry(failing(Infinity, times, 150), fixed(100).recurs(2)));
      expect(times.map((t) => t - t1)).toEqual([0, 150, 300]);
    }, virtual);
  });

  it("a delay of 0 still yields to the other tasks (no busy loop)", async () => {
    await run(async () => {
      const log: string[] = [];
      const other = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          log.push(`other ${i}`);
          await sleep(0);
        }
      });
      await rejection(
        retry((n) => {
          log.push(`attempt ${n}`);
          throw new Error("x");
        }, recurs(2)),
      );
      await other;
      expect(log).toEqual(["attempt 1", "other 0", "attempt 2", "other 1", "attempt 3", "other 2"]);
    }, virtual);
  });

  it("one schedule serves concurrent retries, each with its own attempts", async () => {
    await run(async () => {
      const policy = exponential(10).recurs(3);
      const a: number[] = [];
      const b: number[] = [];
      const ta = createTask(() => retry(failing(2, a), policy));
      await sleep(5);
      const tb = createTask(() => retry(failing(3, b), policy));
      expect(await ta).toBe("ok 3");
      expect(await tb).toBe("ok 4");
      expect(a).toEqual([0, 10, 30]);
      expect(b).toEqual([5, 15, 35, 75]);
    }, virtual);
  });
});

describe("retry: the error after the last attempt", () => {
  it("is a RetryError (an AggregateError) with every attempt's error, oldest first; cause is the last", async () => {
    await run(async () => {
      const thrown: Error[] = [];
      const e = await rejection(
        retry((n) => {
          const err = new Error(`failure ${n}`);
          thrown.push(err);
          throw err;
        }, spaced(10).recurs(2)),
      );
      expect(e).toBeInstanceOf(RetryError);
      expect(e).toBeInstanceOf(AggregateError);
      const r = e as RetryError;
      expect(r.name).toBe("RetryError");
      expect(r.errors).toEqual(thrown);
      expect(r.errors[0]).toBe(thrown[0]);
      expect(r.cause).toBe(thrown[2]);
      expect(r.attempts).toBe(3);
      expect(r.message).toBe("Gave up after 3 attempts (schedule intersect(spaced(10), recurs(2)) ended); last error: Error: failure 3");
    }, virtual);
  });

  it("recurs(0): one attempt; non-Error values are kept as they were thrown", async () => {
    await run(async () => {
      const e = (await rejection(retry(() => Promise.reject("plain string"), recurs(0)))) as RetryError;
      expect(e.errors).toEqual(["plain string"]);
      expect(e.cause).toBe("plain string");
      expect(e.message).toBe('Gave up after 1 attempt (schedule recurs(0) ended); last error: "plain string" (string)');
    }, virtual);
  });

  it("a schedule that retries for ever keeps the most recent 1,000 errors and counts every attempt", async () => {
    await run(async () => {
      const e = (await rejection(retry((n) => Promise.reject(n), recurs(1499)))) as RetryError;
      expect(e.attempts).toBe(1500);
      expect(e.errors.length).toBe(1000);
      expect(e.errors[0]).toBe(501);
      expect(e.cause).toBe(1500);
    }, virtual);
  });

  it("RetryError can be made by hand, and checks its errors", () => {
    const e = new RetryError([new Error("a"), new TypeError("b")]);
    expect(e.attempts).toBe(2);
    expect(e.message).toBe("Gave up after 2 attempts; last error: TypeError: b");
    expect(() => new RetryError([])).toThrow("Expected errors to be a non-empty array, got an array (length 0)");
  });
});

describe("retry: shouldRetry, onRetry, retryAfter", () => {
  it("shouldRetry false stops at once and throws the error as it is", async () => {
    await run(async () => {
      const times: number[] = [];
      const seen: unknown[] = [];
      const notFound = new Error("404");
      const e = await rejection(
        retry(
          (n) => {
            times.push(now());
            throw n < 3 ? new Error("503") : notFound;
          },
          spaced(100).recurs(10),
          {
            shouldRetry: (err, attempt) => {
              seen.push([(err as Error).message, attempt]);
              return (err as Error).message !== "404";
            },
          },
        ),
      );
      expect(e).toBe(notFound);
      expect(times).toEqual([0, 100, 200]);
      expect(seen).toEqual([["503", 1], ["503", 2], ["404", 3]]);
    }, virtual);
  });

  it("shouldRetry may be async; a falsy answer stops", async () => {
    await run(async () => {
      let calls = 0;
      const e = await rejection(
        retry(failing(Infinity), recurs(5), {
          shouldRetry: async (_e, attempt) => {
            await sleep(10);
            return attempt < 2;
          },
        }).finally(() => calls++),
      );
      expect((e as Error).message).toBe("failure 2");
      expect(now()).toBe(20);
      expect(calls).toBe(1);
      expect((await rejection(retry(failing(Infinity), recurs(5), { shouldRetry: () => undefined as never })) as Error).message).toBe("failure 1");
    }, virtual);
  });

  it("onRetry sees each failed attempt that is retried, with the delay it will wait; not the last one", async () => {
    await run(async () => {
      const infos: RetryInfo[] = [];
      const e = (await rejection(retry(failing(Infinity, [], 5), exponential(100).recurs(3), { onRetry: (i) => void infos.push(i) }))) as RetryError;
      expect(infos.map(({ attempt, delay, elapsed }) => ({ attempt, delay, elapsed }))).toEqual([
        { attempt: 1, delay: 100, elapsed: 5 },
        { attempt: 2, delay: 200, elapsed: 110 },
        { attempt: 3, delay: 400, elapsed: 315 },
      ]);
      expect(infos.map((i) => i.error)).toEqual(e.errors.slice(0, 3));
    }, virtual);
  });

  it("an async onRetry is awaited before the wait; an error it throws ends retrying", async () => {
    await run(async () => {
      const times: number[] = [];
      expect(await retry(failing(1, times), spaced(100), { onRetry: () => sleep(50) })).toBe("ok 2");
      expect(times).toEqual([0, 150]);
      const boom = new Error("logger down");
      expect(
        await rejection(
          retry(failing(5), spaced(100), {
            onRetry: () => {
              throw boom;
            },
          }),
        ),
      ).toBe(boom);
    }, virtual);
  });

  it("Retry-After: an error's retryAfterMs replaces the schedule's delay (upTo does not cap it)", async () => {
    await run(async () => {
      const times: number[] = [];
      const infos: number[] = [];
      const r = await retry(
        (n) => {
          times.push(now());
          if (n === 1) throw Object.assign(new Error("429"), { retryAfterMs: 5000 });
          if (n === 2) throw new Error("503");
          return "ok";
        },
        exponential(100).upTo(1000).recurs(5),
        { onRetry: ({ delay }) => void infos.push(delay) },
      );
      expect(r).toBe("ok");
      expect(times).toEqual([0, 5000, 5200]);
      expect(infos).toEqual([5000, 200]);
    }, virtual);
  });

  it("Retry-After: a retryAfter option decides; undefined or null keeps the schedule's delay; a stop still stops", async () => {
    await run(async () => {
      const times: number[] = [];
      const asked: unknown[] = [];
      const e = await rejection(
        retry(failing(Infinity, times), spaced(100).recurs(3), {
          retryAfter: (err, attempt) => {
            asked.push([(err as Error).message, attempt]);
            return attempt === 1 ? 1000 : attempt === 2 ? undefined : null;
          },
        }),
      );
      expect(times).toEqual([0, 1000, 1100, 1200]);
      expect(asked).toEqual([["failure 1", 1], ["failure 2", 2], ["failure 3", 3]]); // not asked after the schedule stopped
      expect((e as RetryError).attempts).toBe(4);
    }, virtual);
  });

  it("Retry-After: a bad delay is reported in the project's wording", async () => {
    await run(async () => {
      const bad = Object.assign(new Error("429"), { retryAfterMs: -5 });
      expect(await rejection(retry(() => Promise.reject(bad), recurs(1)))).toEqual(
        new RangeError("Expected error.retryAfterMs to be a finite non-negative number of milliseconds, got -5 (number)"),
      );
      expect(await rejection(retry(failing(1), recurs(1), { retryAfter: () => "1s" as never }))).toEqual(
        new TypeError('Expected the delay retryAfter() returned to be a non-negative number of milliseconds, got "1s" (string)'),
      );
    }, virtual);
  });
});

describe("retry: cancellation is never retried", () => {
  it("task.cancel() during an attempt: CancelledError, no further attempt", async () => {
    await run(async () => {
      const times: number[] = [];
      const t = createTask(() => retry(failing(Infinity, times, 100), spaced(10)));
      await sleep(150); // attempt 2 started at 110, runs until 210
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      await sleep(1000);
      expect(times).toEqual([0, 110]);
    }, virtual);
  });

  it("task.cancel() during a wait: CancelledError at once", async () => {
    await run(async () => {
      const times: number[] = [];
      const t = createTask(() => retry(failing(Infinity, times), spaced(1000)));
      await sleep(500);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      expect(now()).toBe(500);
      await sleep(5000);
      expect(times).toEqual([0]);
    }, virtual);
  });

  it("a CancelledError thrown by fn itself propagates at once", async () => {
    await run(async () => {
      let calls = 0;
      const e = await rejection(
        retry(() => {
          calls++;
          throw new CancelledError("from fn");
        }, recurs(5)),
      );
      expect(e).toBeInstanceOf(CancelledError);
      expect(calls).toBe(1);
    }, virtual);
  });

  it("timeout(ms, ...) around retry: TimeoutError at the deadline, during a wait or during an attempt", async () => {
    await run(async () => {
      const times: number[] = [];
      const t0 = now();
      const e = await rejection(timeout(250, () => retry(failing(Infinity, times), spaced(100))));
      expect(e).toBeInstanceOf(TimeoutError);
      expect(now() - t0).toBe(250);
      expect(times.map((t) => t - t0)).toEqual([0, 100, 200]); // cancelled in the wait after the third
      const t1 = now();
      const times2: number[] = [];
      const e2 = await rejection(timeout(250, () => retry(failing(Infinity, times2, 100), spaced(10))));
      expect(e2).toBeInstanceOf(TimeoutError);
      expect(now() - t1).toBe(250);
      expect(times2.map((t) => t - t1)).toEqual([0, 110, 220]); // cancelled in the third attempt
      expect(currentTask()!.cancelling()).toBe(0);
    }, virtual);
  });

  it("a per-attempt timeout inside fn is an ordinary failure, retried", async () => {
    await run(async () => {
      const e = (await rejection(retry(() => timeout(50, () => sleep(100)), spaced(10).recurs(2)))) as RetryError;
      expect(e.errors.map((x) => (x as Error).constructor)).toEqual([TimeoutError, TimeoutError, TimeoutError]);
      expect(now()).toBe(170);
      expect(await retry((n) => timeout(50, () => sleep(n === 3 ? 10 : 100, "fast")), spaced(10))).toBe("fast");
    }, virtual);
  });

  it("CancelScope: cancelling the scope stops the retry inside it, in a wait or in an attempt", async () => {
    await run(async () => {
      for (const attemptMs of [0, 100]) {
        const times: number[] = [];
        const scope = new CancelScope();
        const t0 = now();
        createTask(async () => {
          await sleep(150);
          scope.cancel();
        });
        const r = await scope.run(() => retry(failing(Infinity, times, attemptMs), spaced(100)));
        expect(r).toBeUndefined();
        expect(scope.cancelledCaught).toBe(true);
        expect(now() - t0).toBe(150);
        expect(times.map((t) => t - t0)).toEqual(attemptMs === 0 ? [0, 100] : [0]);
      }
      expect(await moveOnAfter(350, () => retry(failing(Infinity), spaced(100)))).toBeUndefined();
    }, virtual);
  });

  it("TaskGroup: a sibling's failure cancels the retry", async () => {
    await run(async () => {
      const times: number[] = [];
      const boom = new Error("sibling failed");
      const e = await rejection(
        new TaskGroup().run(async (tg) => {
          tg.createTask(() => retry(failing(Infinity, times), spaced(100)));
          tg.createTask(async () => {
            await sleep(250);
            throw boom;
          });
        }),
      );
      expect((e as AggregateError).errors).toEqual([boom]);
      expect(times).toEqual([0, 100, 200]);
      expect(now()).toBe(250);
    }, virtual);
  });
});

describe("retry: AbortSignal", () => {
  it("an already aborted signal rejects with its reason; fn is never called", async () => {
    await run(async () => {
      let calls = 0;
      const reason = new Error("no");
      const e = await rejection(retry(() => calls++, recurs(3), { signal: AbortSignal.abort(reason) }));
      expect(e).toBe(reason);
      expect(calls).toBe(0);
    }, virtual);
  });

  it("an abort during a wait rejects with the reason at once; the task is not cancelled", async () => {
    await run(async () => {
      const ac = new AbortController();
      const reason = new Error("user gave up");
      const times: number[] = [];
      createTask(async () => {
        await sleep(250);
        ac.abort(reason);
      });
      const e = await rejection(retry(failing(Infinity, times), spaced(100), { signal: ac.signal }));
      expect(e).toBe(reason);
      expect(now()).toBe(250);
      expect(times).toEqual([0, 100, 200]);
      expect(currentTask()!.cancelling()).toBe(0);
      await sleep(1); // the task goes on normally
    }, virtual);
  });

  it("an abort during an attempt cancels the attempt's awaits and rejects with the reason", async () => {
    await run(async () => {
      const ac = new AbortController();
      const seen: string[] = [];
      createTask(async () => {
        await sleep(150);
        ac.abort("stop");
      });
      const e = await rejection(
        retry(
          async (n) => {
            try {
              await sleep(100);
            } catch (err) {
              seen.push(`attempt ${n}: ${(err as Error).name}`);
              throw err;
            }
            throw new Error("x");
          },
          spaced(10),
          { signal: ac.signal },
        ),
      );
      expect(e).toBe("stop");
      expect(seen).toEqual(["attempt 2: CancelledError"]);
      expect(now()).toBe(150);
    }, virtual);
  });

  it("an attempt that fails because of the abort itself rejects with the reason, not a RetryError", async () => {
    await run(async () => {
      const ac = new AbortController();
      const e = await rejection(
        retry(
          () => {
            ac.abort("why");
            throw new Error("aborted fetch");
          },
          recurs(0),
          { signal: ac.signal },
        ),
      );
      expect(e).toBe("why");
    }, virtual);
  });

  it("an attempt that ends with a value although the signal aborted keeps its value (too late)", async () => {
    await run(async () => {
      const ac = new AbortController();
      const r = await retry(
        async () => {
          ac.abort("late");
          try {
            await sleep(10);
          } catch {
            return "done anyway";
          }
          return "not cancelled?";
        },
        recurs(3),
        { signal: ac.signal },
      );
      expect(r).toBe("done anyway");
    }, virtual);
  });

  it("a signal that never aborts changes nothing, and is let go afterwards", async () => {
    await run(async () => {
      const ac = new AbortController();
      let listeners = 0;
      const add = ac.signal.addEventListener.bind(ac.signal);
      const remove = ac.signal.removeEventListener.bind(ac.signal);
      ac.signal.addEventListener = ((...a: Parameters<typeof add>) => {
        listeners++;
        add(...a);
      }) as typeof add;
      ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
        listeners--;
        remove(...a);
      }) as typeof remove;
      await rejection(retry(failing(Infinity), spaced(10).recurs(2), { signal: ac.signal }));
      await repeat(() => 1, spaced(10).recurs(2), { signal: ac.signal });
      expect(listeners).toBe(0);
      const times: number[] = [];
      const t0 = now();
      expect(await retry(failing(2, times), spaced(100), { signal: ac.signal })).toBe("ok 3");
      expect(times.map((t) => t - t0)).toEqual([0, 100, 200]);
      expect(listeners).toBe(0);
      ac.abort("after the end"); // no listener left: nothing happens
      await sleep(10);
    }, virtual);
  });
});

describe("retry: the forms fn takes", () => {
  it("an async function, a function returning a plain value, a promise, a task, or throwing synchronously", async () => {
    await run(async () => {
      expect(await retry(async (n) => n * 10, recurs(0))).toBe(10);
      expect(await retry((n) => `plain ${n}`, recurs(0))).toBe("plain 1");
      expect(await retry((n) => (n < 3 ? Promise.reject(new Error("no")) : Promise.resolve("resolved")), spaced(5))).toBe("resolved");
      expect(await retry((n) => createTask(async () => (n < 2 ? Promise.reject(new Error("t")) : sleep(5, `task ${n}`))), spaced(5))).toBe("task 2");
      expect(
        await retry((n) => {
          if (n === 1) throw new Error("sync");
          return "second";
        }, spaced(5)),
      ).toBe("second");
      const fut = getRunningLoop().createFuture<string>();
      getRunningLoop().callLater(5, () => fut.setResult("future"));
      expect(await retry(() => fut, recurs(0))).toBe("future");
    }, virtual);
  });

  it("gather(retry(a), retry(b)): the promises of called retries run concurrently, and cancelling the gather reaches both", async () => {
    await run(async () => {
      const a: number[] = [];
      const b: number[] = [];
      expect(await gather(retry(failing(2, a), spaced(100)), retry(failing(1, b), spaced(30)))).toEqual(["ok 3", "ok 2"]);
      expect(a).toEqual([0, 100, 200]);
      expect(b).toEqual([0, 30]);
      const c: number[] = [];
      const d: number[] = [];
      const g = gather(retry(failing(Infinity, c), spaced(100)), retry(failing(Infinity, d), spaced(70)));
      await sleep(150);
      g.cancel();
      await expect(g).rejects.toBeInstanceOf(CancelledError);
      await sleep(1000);
      expect(c.map((t) => t - 200)).toEqual([0, 100]);
      expect(d.map((t) => t - 200)).toEqual([0, 70, 140]);
    }, virtual);
  });

  it("fn runs in the caller's task", async () => {
    await run(async () => {
      const me = currentTask();
      expect(await retry(() => currentTask() === me, recurs(0))).toBe(true);
      expect(await retry(async () => currentTask() === me, recurs(0))).toBe(true);
    }, virtual);
  });

  it("works on the real clock (tiny delays)", async () => {
    await run(async () => {
      const times: number[] = [];
      expect(await retry(failing(2, times), spaced(2))).toBe("ok 3");
      expect(times.length).toBe(3);
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(2);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(2);
      const ac = new AbortController();
      setTimeout(() => ac.abort("real abort"), 5);
      expect(await rejection(retry(failing(Infinity), spaced(1), { signal: ac.signal }))).toBe("real abort");
    });
  });
});

describe("retry / repeat: bad input", () => {
  it("reports bad arguments as rejections, in the project's wording", async () => {
    await run(async () => {
      const p = retry(5 as never, recurs(1)); // does not throw synchronously
      expect(await rejection(p)).toEqual(new TypeError("Expected fn to be a function, got 5 (number)"));
      expect(await rejection(retry(() => 1, 3 as never))).toEqual(
        new TypeError("Expected schedule to be a Schedule (exponential(100), spaced(1000).recurs(5)...), got 3 (number)"),
      );
      expect(((await rejection(retry(() => 1, { retries: 5 } as never))) as Error).message).toBe(
        "Expected schedule to be a Schedule (exponential(100), spaced(1000).recurs(5)...), got an object (Object): " +
          "p-retry's options ({ retries: 5, minTimeout: 1000 }) are a schedule here, exponential(1000).recurs(5)",
      );
      expect(((await rejection(retry(() => 1, recurs(1), { retries: 5 } as never))) as Error).message).toBe(
        'Unknown option "retries" of retry() (known: signal, shouldRetry, onRetry, retryAfter): ' +
          "p-retry's retries are a schedule here: retry(fn, exponential(1000).recurs(retries))",
      );
      expect(((await rejection(retry(() => 1, recurs(1), { onFailedAttempt: () => {} } as never))) as Error).message).toContain("onRetry here");
      expect(await rejection(retry(() => 1, recurs(1), { sigal: undefined } as never))).toEqual(
        new TypeError('Unknown option "sigal" of retry() (known: signal, shouldRetry, onRetry, retryAfter)'),
      );
      expect(await rejection(retry(() => 1, recurs(1), { should_retry: () => true } as never))).toEqual(
        new TypeError('Unknown option "should_retry" of retry() (known: signal, shouldRetry, onRetry, retryAfter): asyncio-ts spells options in camelCase, write shouldRetry'),
      );
      expect(await rejection(retry(() => 1, recurs(1), { onRetry: "log" as never }))).toEqual(new TypeError('Expected options.onRetry to be a function, got "log" (string)'));
      expect(await rejection(retry(() => 1, recurs(1), { signal: {} as never }))).toEqual(
        new TypeError("Expected options.signal to be an AbortSignal, got an object (Object)"),
      );
      expect(await rejection(retry(() => 1, recurs(1), 5 as never))).toEqual(new TypeError("Expected options to be an object, got 5 (number)"));
      expect(await rejection(repeat(() => 1, recurs(1), { onRetry: () => {} } as never))).toEqual(
        new TypeError('Unknown option "onRetry" of repeat() (known: signal)'),
      );
      expect(await rejection(repeat(null as never, recurs(1)))).toEqual(new TypeError("Expected fn to be a function, got null"));
    }, virtual);
  });

  it("a schedule's negative delay rejects the retry with a RangeError naming the schedule", async () => {
    await run(async () => {
      const bad = new Schedule(() => -1, "broken");
      expect(await rejection(retry(failing(5), bad))).toEqual(
        new RangeError("Expected the step of schedule broken to return a non-negative number of milliseconds or null (stop), got -1 (number)"),
      );
    }, virtual);
  });

  it("outside a running loop: a RuntimeError rejection saying where to call it", async () => {
    const p = retry(() => 1, recurs(1));
    expect(await rejection(p)).toEqual(new RuntimeError("retry() must be called with a running event loop: await it inside run(async () => { ... }) or a task"));
    expect(await rejection(repeat(() => 1, recurs(1)))).toBeInstanceOf(RuntimeError);
  });
});

describe("repeat", () => {
  it("runs fn, then again after each delay, until the schedule stops; returns the last result", async () => {
    await run(async () => {
      const times: number[] = [];
      const last = await repeat((n) => {
        times.push(now());
        return n * 2;
      }, spaced(100).recurs(3));
      expect(last).toBe(8);
      expect(times).toEqual([0, 100, 200, 300]);
    }, virtual);
  });

  it("fixed counts from each run's start; spaced from each run's end", async () => {
    await run(async () => {
      const runTimes: number[] = [];
      const work = async (): Promise<void> => {
        runTimes.push(now());
        await sleep(30);
      };
      await repeat(work, fixed(100).recurs(3));
      expect(runTimes).toEqual([0, 100, 200, 300]);
      runTimes.length = 0;
      const t0 = now();
      await repeat(work, spaced(100).recurs(2));
      expect(runTimes.map((t) => t - t0)).toEqual([0, 130, 260]);
    }, virtual);
  });

  it("polls until a result is ready (whileResult)", async () => {
    await run(async () => {
      const statuses = ["queued", "running", "running", "done", "never read"];
      const r = await repeat(() => statuses.shift()!, spaced(1000).whileResult((s) => s !== "done"));
      expect(r).toBe("done");
      expect(now()).toBe(3000);
      expect(statuses).toEqual(["never read"]);
    }, virtual);
  });

  it("an error of fn ends repeat at once", async () => {
    await run(async () => {
      const boom = new Error("boom");
      let runs = 0;
      expect(
        await rejection(
          repeat(() => {
            if (++runs === 3) throw boom;
          }, spaced(10)),
        ),
      ).toBe(boom);
      expect(runs).toBe(3);
    }, virtual);
  });

  it("cancellation and signals stop it, in a wait or in a run", async () => {
    await run(async () => {
      let runs = 0;
      const t = createTask(() => repeat(() => runs++, spaced(100)));
      await sleep(250);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
      expect(runs).toBe(3);
      expect(await rejection(timeout(250, () => repeat(() => sleep(60), spaced(10))))).toBeInstanceOf(TimeoutError);
      const ac = new AbortController();
      createTask(async () => {
        await sleep(150);
        ac.abort("enough");
      });
      expect(await rejection(repeat(() => sleep(100), spaced(10), { signal: ac.signal }))).toBe("enough");
      expect(await rejection(repeat(() => 1, spaced(10), { signal: AbortSignal.abort("before") }))).toBe("before");
    }, virtual);
  });
});

// ------------------------------------------------------------------ properties

/** A random schedule, as a recipe (built afresh for each use: a seeded jitter has a generator of its own). */
type Recipe = () => Schedule;

const leaf: fc.Arbitrary<Recipe> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0.5, 1, 1.5, 2, 3)).map(([b, f]) => () => exponential(b, f)),
  fc.integer({ min: 0, max: 500 }).map((o) => () => fibonacci(o)),
  fc.integer({ min: 0, max: 1000 }).map((ms) => () => spaced(ms)),
  fc.integer({ min: 0, max: 1000 }).map((ms) => () => fixed(ms)),
  fc.integer({ min: 0, max: 6 }).map((n) => () => recurs(n)),
  fc.integer({ min: 0, max: 5000 }).map((ms) => () => during(ms)),
);

const recipe: fc.Arbitrary<Recipe> = fc.letrec<{ node: Recipe }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.tuple(tie("node"), tie("node")).map(([a, b]) => () => union(a(), b())),
    fc.tuple(tie("node"), tie("node")).map(([a, b]) => () => intersect(a(), b())),
    fc.tuple(tie("node"), fc.integer({ min: 0, max: 2000 })).map(([a, ms]) => () => upTo(a(), ms)),
    fc
      .tuple(tie("node"), fc.integer(), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true }))
      .map(([a, seed, lo, span]) => () => jittered(a(), { min: lo, max: lo + span, random: seededRandom(seed) })),
  ),
})).node;

describe("properties (fast-check)", () => {
  it("delays are non-negative, attempts never exceed recurs(n) + 1, and the loop ends at the sum of the delays", async () => {
    await fc.assert(
      fc.asyncProperty(recipe, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 40 }), async (make, n, attemptMs) => {
        await run(async () => {
          let attempts = 0;
          const delays: number[] = [];
          const t0 = now();
          const e = await rejection(
            retry(
              async () => {
                attempts++;
                if (attemptMs > 0) await sleep(attemptMs);
                throw new Error("always");
              },
              make().intersect(recurs(n)),
              { onRetry: ({ delay }) => void delays.push(delay) },
            ),
          );
          expect(e).toBeInstanceOf(RetryError);
          expect(attempts).toBeLessThanOrEqual(n + 1);
          expect((e as RetryError).attempts).toBe(attempts);
          expect(delays.length).toBe(attempts - 1);
          for (const d of delays) expect(d).toBeGreaterThanOrEqual(0);
          expect(now() - t0).toBeCloseTo(delays.reduce((a, b) => a + b, 0) + attempts * attemptMs, 6);
        }, virtual);
      }),
      { numRuns: 150 },
    );
  });

  it("retry waits exactly the delays schedule.delays() lists (same seed), whatever the attempts take", async () => {
    await fc.assert(
      fc.asyncProperty(recipe, fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 40 }), async (make, n, attemptMs) => {
        const expected = make().intersect(recurs(n)).delays(100, { attemptMs });
        await run(async () => {
          const delays: number[] = [];
          await rejection(
            retry(
              async () => {
                if (attemptMs > 0) await sleep(attemptMs);
                throw new Error("always");
              },
              make().intersect(recurs(n)),
              { onRetry: ({ delay }) => void delays.push(delay) },
            ),
          );
          expect(delays).toEqual(expected);
        }, virtual);
      }),
      { numRuns: 150 },
    );
  });

  it("a function failing k times succeeds at attempt k + 1 when the schedule allows it, else gives up after recurs(n) + 1", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 500 }), async (k, n, base) => {
        await run(async () => {
          const times: number[] = [];
          const policy = jittered(exponential(base), { random: seededRandom(k * 31 + n) }).recurs(n);
          const outcome = await retry(failing(k, times), policy).then(
            (v) => v,
            (e: unknown) => e,
          );
          if (k <= n) expect(outcome).toBe(`ok ${k + 1}`);
          else expect((outcome as RetryError).attempts).toBe(n + 1);
          expect(times.length).toBe(Math.min(k, n) + 1);
        }, virtual);
      }),
      { numRuns: 100 },
    );
  });

  it("whileError stops at the first error it refuses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), async (transient) => {
        await run(async () => {
          const e = (await rejection(
            retry((n) => Promise.reject({ transient: transient[n - 1] ?? false }), spaced(7).whileError((x) => (x as { transient: boolean }).transient)),
          )) as RetryError;
          const firstRefused = transient.indexOf(false);
          expect(e.attempts).toBe(firstRefused === -1 ? transient.length + 1 : firstRefused + 1);
          expect(now()).toBe(7 * (e.attempts - 1));
        }, virtual);
      }),
      { numRuns: 60 },
    );
  });
});

