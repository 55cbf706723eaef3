/**
 * Schedules (src/toolkit/schedule.ts): every constructor's delay sequence exactly, the combinators
 * (Effect's union/intersect semantics), jitter from a seeded source (in bounds, reproducible), custom
 * steps, and bad input in the project's wording. The retry loop that runs them is test/toolkit/retry.test.ts.
 */
import { describe, expect, it } from "vitest";
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
  whileError,
  whileResult,
  type ScheduleState,
} from "../../src/toolkit/schedule.js";

/** The state after attempt `attempt`, attempts instant, at loop time `now`. */
function at(attempt: number, over: Partial<ScheduleState> = {}): ScheduleState {
  return { attempt, now: 0, attemptStart: 0, elapsed: 0, error: undefined, result: undefined, ...over };
}

describe("constructors: delay sequences", () => {
  it("exponential(base, factor): base * factor^(n-1), factor 2 by default", () => {
    expect(exponential(100).delays(6)).toEqual([100, 200, 400, 800, 1600, 3200]);
    expect(exponential(100, 3).delays(4)).toEqual([100, 300, 900, 2700]);
    expect(exponential(100, 0.5).delays(3)).toEqual([100, 50, 25]);
    expect(exponential(0).delays(3)).toEqual([0, 0, 0]);
    expect(exponential(1).next(at(2000))).toBe(Infinity); // grows past what a double holds: wait for ever
  });

  it("fibonacci(one): one times 1, 1, 2, 3, 5, 8...", () => {
    expect(fibonacci(100).delays(10)).toEqual([100, 100, 200, 300, 500, 800, 1300, 2100, 3400, 5500]);
    expect(fibonacci(1).next(at(50))).toBe(12586269025);
    expect(fibonacci(1).next(at(1476))).toBeLessThan(Infinity);
    expect(fibonacci(1).next(at(1477))).toBe(Infinity);
  });

  it("spaced(ms): the same delay after each attempt ends, whatever the attempt took", () => {
    expect(spaced(250).delays(4)).toEqual([250, 250, 250, 250]);
    expect(spaced(250).delays(3, { attemptMs: 1000 })).toEqual([250, 250, 250]);
  });

  it("fixed(ms): the period counts from the start of the previous attempt; missed periods are not made up", () => {
    expect(fixed(100).delays(3)).toEqual([100, 100, 100]);
    expect(fixed(100).delays(3, { attemptMs: 30 })).toEqual([70, 70, 70]);
    expect(fixed(100).delays(3, { attemptMs: 100 })).toEqual([0, 0, 0]);
    expect(fixed(100).delays(2, { attemptMs: 250 })).toEqual([0, 0]);
    // an attempt that started at 1000 and ended at 1040: the next starts at 1100
    expect(fixed(100).next(at(5, { attemptStart: 1000, now: 1040, elapsed: 1040 }))).toBe(60);
  });

  it("recurs(n): n retries without delay, then stop; Infinity never stops", () => {
    expect(recurs(3).delays(10)).toEqual([0, 0, 0]);
    expect(recurs(0).delays(10)).toEqual([]);
    expect(recurs(Infinity).delays(5)).toEqual([0, 0, 0, 0, 0]);
    expect(recurs(2).next(at(2))).toBe(0);
    expect(recurs(2).next(at(3))).toBeNull();
  });

  it("during(ms): goes on until the elapsed time on the loop's clock exceeds ms", () => {
    expect(during(1000).next(at(1, { elapsed: 1000 }))).toBe(0);
    expect(during(1000).next(at(1, { elapsed: 1000.5 }))).toBeNull();
    expect(spaced(400).intersect(during(1000)).delays(10)).toEqual([400, 400, 400]);
    // the first attempt counts: it took 600 ms, so one 400 ms wait, and after the second attempt (at 1600) it stops
    expect(spaced(400).intersect(during(1000)).delays(10, { attemptMs: 600 })).toEqual([400]);
    expect(during(Infinity).delays(3, { attemptMs: 1e9 })).toEqual([0, 0, 0]);
  });

  it("whileError(p) / whileResult(p): go on (delay 0) while the predicate holds for the attempt's error / result", () => {
    const transient = whileError((e) => (e as Error).message === "busy");
    expect(transient.next(at(1, { error: new Error("busy") }))).toBe(0);
    expect(transient.next(at(1, { error: new Error("broken") }))).toBeNull();
    const notDone = whileResult((r) => r !== "done");
    expect(notDone.next(at(7, { result: "pending" }))).toBe(0);
    expect(notDone.next(at(7, { result: "done" }))).toBeNull();
  });
});

describe("combinators", () => {
  it("upTo(s, ms) caps each delay and stops when s stops", () => {
    expect(upTo(exponential(100), 500).delays(6)).toEqual([100, 200, 400, 500, 500, 500]);
    expect(exponential(100).upTo(500).recurs(2).delays(10)).toEqual([100, 200]);
    expect(upTo(spaced(100), 0).delays(2)).toEqual([0, 0]);
    expect(upTo(recurs(1), 100).delays(5)).toEqual([0]);
  });

  it("union: goes on while either goes on, with the shorter delay", () => {
    expect(union(spaced(100).recurs(2), spaced(300).recurs(4)).delays(10)).toEqual([100, 100, 300, 300]);
    expect(spaced(1000).union(exponential(10)).delays(9)).toEqual([10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(union(recurs(1), recurs(2), recurs(3)).delays(10)).toEqual([0, 0, 0]);
    expect(union(recurs(0), recurs(0)).delays(10)).toEqual([]);
    expect(union(fibonacci(10)).delays(4)).toEqual(fibonacci(10).delays(4));
  });

  it("intersect: goes on while both go on, with the longer delay", () => {
    expect(intersect(exponential(100), recurs(3)).delays(10)).toEqual([100, 200, 400]);
    expect(intersect(exponential(100), spaced(300)).delays(4)).toEqual([300, 300, 400, 800]);
    expect(intersect(spaced(100).recurs(5), spaced(50).recurs(2), spaced(10).recurs(9)).delays(10)).toEqual([100, 100]);
    expect(exponential(100).intersect(recurs(0)).delays(10)).toEqual([]);
  });

  it("the methods are the functions: recurs, during, whileError, whileResult intersect; upTo, jittered wrap", () => {
    const errState = (e: unknown): ScheduleState => at(1, { error: e });
    expect(spaced(100).recurs(2).delays(10)).toEqual(intersect(spaced(100), recurs(2)).delays(10));
    expect(spaced(100).during(250).delays(10)).toEqual([100, 100, 100]);
    const s = exponential(100).whileError((e) => e === "again");
    expect(s.next(errState("again"))).toBe(100);
    expect(s.next(errState("stop"))).toBeNull();
    expect(spaced(5).whileResult((r) => r === 1).next(at(1, { result: 1 }))).toBe(5);
    expect(exponential(100).jittered({ min: 1, max: 1 }).delays(3)).toEqual([100, 200, 400]);
  });

  it("a schedule keeps no state: one value gives every run the same sequence", () => {
    const s = fibonacci(10).upTo(50).intersect(recurs(6));
    expect(s.delays(10)).toEqual([10, 10, 20, 30, 50, 50]);
    expect(s.delays(10)).toEqual([10, 10, 20, 30, 50, 50]);
    expect(s.next(at(4))).toBe(30);
    expect(s.next(at(2))).toBe(10);
  });

  it("labels say what the schedule is", () => {
    expect(String(exponential(100))).toBe("exponential(100)");
    expect(String(exponential(100, 3))).toBe("exponential(100, 3)");
    expect(exponential(100).upTo(1000).recurs(5).label).toBe("intersect(upTo(exponential(100), 1000), recurs(5))");
    expect(String(union(spaced(1), fixed(2)))).toBe("union(spaced(1), fixed(2))");
    expect(String(jittered(fibonacci(3)))).toBe("jittered(fibonacci(3))");
    expect(String(during(5).intersect(whileError(function isBusy() { return true; })))).toBe("intersect(during(5), whileError(isBusy))");
    expect(String(new Schedule(() => null))).toBe("custom");
  });
});

describe("jitter and seeded random sources", () => {
  it("seededRandom(seed) is reproducible, differs between seeds, stays in [0, 1)", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const c = seededRandom(43);
    expect(Array.from({ length: 10 }, () => c())).not.toEqual(xs.slice(0, 10));
    // spread over the interval (not a constant, not stuck in one half)
    expect(Math.min(...xs)).toBeLessThan(0.01);
    expect(Math.max(...xs)).toBeGreaterThan(0.99);
    expect(xs.filter((x) => x < 0.5).length).toBeGreaterThan(400);
    expect(seededRandom(-1)()).toBe(seededRandom(2 ** 32 - 1)()); // only the low 32 bits count
  });

  it("jittered scales each delay by a factor in [min, max), 0.8 to 1.2 by default; reproducible with a seed", () => {
    const base = exponential(100).upTo(10_000);
    const a = jittered(base, { random: seededRandom(7) }).delays(50);
    const b = jittered(base, { random: seededRandom(7) }).delays(50);
    expect(a).toEqual(b);
    const plain = base.delays(50);
    a.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0.8 * plain[i]!);
      expect(d).toBeLessThan(1.2 * plain[i]!);
    });
    expect(new Set(a.map((d, i) => d / plain[i]!)).size).toBeGreaterThan(40); // really random
    const full = jittered(spaced(1000), { min: 0, max: 1, random: seededRandom(1) }).delays(200);
    expect(full.every((d) => d >= 0 && d < 1000)).toBe(true);
    expect(jittered(spaced(1000), { min: 1, max: 2, random: () => 0.5 }).delays(2)).toEqual([1500, 1500]);
    const m = jittered(spaced(10)).delays(100); // Math.random
    expect(m.every((d) => d >= 8 && d < 12)).toBe(true);
  });

  it("jitter draws nothing for a zero delay or a stop, and keeps both", () => {
    let calls = 0;
    const random = (): number => {
      calls++;
      return 0.5;
    };
    expect(jittered(recurs(3), { random }).delays(10)).toEqual([0, 0, 0]);
    expect(calls).toBe(0);
    expect(jittered(spaced(10).recurs(1), { random }).delays(10)).toEqual([10]);
    expect(calls).toBe(1);
  });

  it("a random source out of [0, 1] is reported", () => {
    const s = jittered(spaced(10), { random: () => 1.5 });
    expect(() => s.delays(1)).toThrow(RangeError);
    expect(() => s.delays(1)).toThrow("Expected options.random() of spaced(10)'s jitter to return a number in [0, 1), got 1.5 (number)");
    expect(() => jittered(spaced(10), { random: () => NaN }).delays(1)).toThrow(RangeError);
    expect(() => jittered(spaced(10), { random: (() => "0.5") as never }).delays(1)).toThrow("got \"0.5\" (string)");
  });
});

describe("custom schedules", () => {
  it("new Schedule(step, label): the step decides; next() checks what it returns", () => {
    const linear = new Schedule(({ attempt }) => (attempt <= 3 ? attempt * 100 : null), "linear");
    expect(linear.delays(10)).toEqual([100, 200, 300]);
    expect(linear.intersect(spaced(150)).delays(10)).toEqual([150, 200, 300]);
    expect(() => new Schedule(() => -1).next(at(1))).toThrow(
      "Expected the step of schedule custom to return a non-negative number of milliseconds or null (stop), got -1 (number)",
    );
    expect(() => new Schedule(() => NaN, "nan").next(at(1))).toThrow(RangeError);
    expect(() => new Schedule((() => undefined) as never, "forgot").next(at(1))).toThrow(
      "Expected the step of schedule forgot to return a delay in milliseconds or null (stop), got undefined",
    );
    expect(() => union(spaced(1), new Schedule(() => -5)).next(at(1))).toThrow(RangeError);
  });

  it("the state reaches the step as the driver gives it", () => {
    const seen: ScheduleState[] = [];
    new Schedule((s) => {
      seen.push(s);
      return s.attempt < 3 ? 10 : null;
    }).delays(10, { attemptMs: 5 });
    expect(seen).toEqual([
      { attempt: 1, now: 5, attemptStart: 0, elapsed: 5, error: undefined, result: undefined },
      { attempt: 2, now: 20, attemptStart: 15, elapsed: 20, error: undefined, result: undefined },
      { attempt: 3, now: 35, attemptStart: 30, elapsed: 35, error: undefined, result: undefined },
    ]);
  });
});

describe("bad input", () => {
  it("durations: a finite non-negative number of milliseconds", () => {
    expect(() => exponential(-1)).toThrow(new RangeError("Expected baseMs to be a finite non-negative number of milliseconds, got -1 (number)"));
    expect(() => exponential("100" as never)).toThrow(new TypeError('Expected baseMs to be a non-negative number of milliseconds, got "100" (string)'));
    expect(() => exponential(Infinity)).toThrow(RangeError);
    expect(() => fibonacci(NaN)).toThrow("Expected oneMs to be a finite non-negative number of milliseconds, got NaN (number)");
    expect(() => spaced(-5)).toThrow("Expected ms to be a finite non-negative number of milliseconds, got -5 (number)");
    expect(() => fixed(undefined as never)).toThrow(TypeError);
    expect(() => during(-1)).toThrow("Expected ms to be a non-negative number of milliseconds, got -1 (number)");
    expect(() => upTo(spaced(1), -1)).toThrow(RangeError);
  });

  it("counts, factors, predicates, schedules, options", () => {
    expect(() => exponential(100, 0)).toThrow(new RangeError("Expected factor to be a positive finite number, got 0 (number)"));
    expect(() => exponential(100, Infinity)).toThrow(RangeError);
    expect(() => exponential(100, "2" as never)).toThrow(TypeError);
    expect(() => recurs(-1)).toThrow(new RangeError("Expected n to be a non-negative integer or Infinity, got -1 (number)"));
    expect(() => recurs(1.5)).toThrow(RangeError);
    expect(() => recurs("3" as never)).toThrow(TypeError);
    expect(() => whileError("x" as never)).toThrow(new TypeError('Expected predicate to be a function, got "x" (string)'));
    expect(() => whileResult(undefined as never)).toThrow(TypeError);
    expect(() => union()).toThrow(new TypeError("Expected union() to be given at least one schedule, got none"));
    expect(() => intersect(spaced(1), 5 as never)).toThrow(
      new TypeError("Expected schedules[1] to be a Schedule (exponential(100), spaced(1000).recurs(5)...), got 5 (number)"),
    );
    expect(() => upTo({ retries: 5 } as never, 100)).toThrow("p-retry's options ({ retries: 5, minTimeout: 1000 }) are a schedule here");
    expect(() => new Schedule("x" as never)).toThrow('Expected step to be a function, got "x" (string)');
    expect(() => new Schedule(() => 0, 5 as never)).toThrow("Expected label to be a string, got 5 (number)");
  });

  it("jitter options and seeds", () => {
    expect(() => jittered(spaced(1), { min: 2, max: 1 })).toThrow(new RangeError("Expected min to be at most max, got min 2 and max 1"));
    expect(() => jittered(spaced(1), { min: -1 })).toThrow(new RangeError("Expected options.min to be a non-negative finite number, got -1 (number)"));
    expect(() => jittered(spaced(1), { max: "2" as never })).toThrow(TypeError);
    expect(() => jittered(spaced(1), { random: 0.5 as never })).toThrow(new TypeError("Expected options.random to be a function, got 0.5 (number)"));
    expect(() => jittered(spaced(1), { seed: 1 } as never)).toThrow('Unknown option "seed" of jittered() (known: min, max, random)');
    expect(() => seededRandom(1.5)).toThrow(new RangeError("Expected seed to be an integer, got 1.5 (number)"));
    expect(() => seededRandom("1" as never)).toThrow(TypeError);
  });

  it("delays(): a count and known options", () => {
    expect(() => spaced(1).delays(-1)).toThrow(RangeError);
    expect(() => spaced(1).delays(2, { attempt: 5 } as never)).toThrow('Unknown option "attempt" of delays() (known: attemptMs)');
    expect(() => spaced(1).delays(2, { attemptMs: -5 })).toThrow(RangeError);
  });
});
