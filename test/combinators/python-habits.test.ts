/**
 * Errors for Python habits (issue 16) in the combinators: `waitFor` and `asCompleted` say after how many
 * milliseconds they timed out (CPython's `TimeoutError` has an empty message) and below 10 ms ask whether
 * seconds were meant; `gather` takes the awaitables as arguments and `wait`/`asCompleted` one iterable,
 * and each says so when given the other shape; options spelt as in Python name the camelCase spelling.
 * All on virtual time.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, TimeoutError, asCompleted, createTask, gather, gatherAll, getRunningLoop, run, sleep, wait, waitFor } from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };

async function timedOut(p: Promise<unknown>): Promise<TimeoutError> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(TimeoutError);
  expect((e as Error).name).toBe("TimeoutError");
  return e as TimeoutError;
}

const HALF = "Timed out after 0.5 ms (waitFor(..., 0.5): asyncio-ts counts milliseconds; for half a second write waitFor(..., 500))";

describe("waitFor's TimeoutError says after how many ms", () => {
  it("waitFor(aw, 0.5) asks for waitFor(aw, 500), whatever aw is (a promise, a function, a task, a future)", async () => {
    await run(async () => {
      const slow = async (): Promise<void> => {
        await sleep(1000);
      };
      expect((await timedOut(waitFor(slow(), 0.5))).message).toBe(HALF);
      expect((await timedOut(waitFor(slow, 0.5))).message).toBe(HALF);
      expect((await timedOut(waitFor(createTask(slow), 0.5))).message).toBe(HALF);
      expect((await timedOut(waitFor(getRunningLoop().createFuture(), 0.5))).message).toBe(HALF);
      const e = await timedOut(waitFor(sleep(1000), 0.5));
      expect(e.message).toBe(HALF);
      expect(e.cause).toBeInstanceOf(CancelledError);
    }, V);
  });

  it("waitFor(aw, 0) and waitFor(aw, 100): the delay only", async () => {
    await run(async () => {
      expect((await timedOut(waitFor(createTask(() => sleep(1000)), 0))).message).toBe("Timed out after 0 ms");
      expect((await timedOut(waitFor(sleep(1000), 100))).message).toBe("Timed out after 100 ms");
    }, V);
  });
});

describe("asCompleted's TimeoutError says after how many ms", () => {
  const drain = async (timeout: number): Promise<void> => {
    for await (const f of asCompleted([sleep(1000)], { timeout })) await f;
  };
  it("asCompleted(aws, { timeout: 0.5 }) asks for { timeout: 500 }; 100 ms says the delay", async () => {
    await run(async () => {
      expect((await timedOut(drain(0.5))).message).toBe(
        "Timed out after 0.5 ms (asCompleted(aws, { timeout: 0.5 }): asyncio-ts counts milliseconds; for half a second write asCompleted(aws, { timeout: 500 }))",
      );
      expect((await timedOut(drain(100))).message).toBe("Timed out after 100 ms");
    }, V);
  });
});

describe("the shape of the arguments: gather takes them spread, wait and asCompleted one iterable", () => {
  it("gather(set) and gather(generator): write gather(...list)", async () => {
    await run(async () => {
      const a = createTask(() => sleep(1, "a"));
      const b = createTask(() => sleep(1, "b"));
      const msg = (got: string): string =>
        `gather() takes the awaitables as arguments, not an iterable: write gather(...list) (for very long lists, gatherAll(list)), got ${got}`;
      expect(() => gather(new Set([a, b]) as never)).toThrow(TypeError);
      expect(() => gather(new Set([a, b]) as never)).toThrow(msg("an object (Set)"));
      expect(() => gather((function* () { yield a; })() as never)).toThrow(msg("an object"));
      expect(() => gather([a, b] as never, { returnExceptions: true })).toThrow("gather() takes the awaitables as arguments, not an array: write gather(...list)");
      expect(await gather(...new Set([a, b]))).toEqual(["a", "b"]);
    }, V);
  });

  it("wait(a, b) and wait(a): write wait([a, b]), as CPython's asyncio.wait takes an iterable", async () => {
    await run(async () => {
      const a = createTask(() => sleep(1));
      const b = createTask(() => sleep(1));
      const hint = ": wait() takes the awaitables in one iterable, as CPython's asyncio.wait does: write wait([a, b]), not wait(a, b)";
      await expect(wait(a as never, b as never)).rejects.toThrow(TypeError);
      await expect(wait(a as never, b as never)).rejects.toThrow(`Expected aws to be an iterable of futures or tasks, got an object (Task)${hint}`);
      await expect(wait(a as never)).rejects.toThrow(hint);
      await expect(wait((async () => {}) as never)).rejects.toThrow(`got a function (anonymous)${hint}`);
      await expect(wait(5 as never)).rejects.toThrow(/^Expected aws to be an iterable of futures or tasks, got 5 \(number\)$/);
      await wait([a, b]);
    }, V);
  });

  it("asCompleted(a, b): write asCompleted([a, b]), as CPython's asyncio.as_completed takes an iterable", async () => {
    await run(async () => {
      const a = createTask(() => sleep(1));
      const b = createTask(() => sleep(1));
      expect(() => asCompleted(a as never, b as never)).toThrow(TypeError);
      expect(() => asCompleted(a as never, b as never)).toThrow(
        "Expected aws to be an iterable of awaitables, got an object (Task): asCompleted() takes the awaitables in one iterable, " +
          "as CPython's asyncio.as_completed does: write asCompleted([a, b]), not asCompleted(a, b)",
      );
      await wait([a, b]);
    }, V);
  });

  it("gatherAll(a, b): write gatherAll([a, b]), or gather(a, b)", async () => {
    await run(async () => {
      const a = createTask(() => sleep(1));
      const b = createTask(() => sleep(1));
      expect(() => gatherAll(a as never, b as never)).toThrow(
        "Expected aws to be an iterable of awaitables, got an object (Task): gatherAll() takes the awaitables in one iterable: " +
          "write gatherAll([a, b]), not gatherAll(a, b) (or gather(a, b))",
      );
      expect(() => gatherAll(5 as never)).toThrow(/^Expected aws to be an iterable of awaitables, got 5 \(number\)$/);
      await gatherAll([a, b]);
    }, V);
  });

  it("a timeout given where the options go: write { timeout: ms }", async () => {
    await run(async () => {
      const a = createTask(() => sleep(1));
      await expect(wait([a], 500 as never)).rejects.toThrow("Expected options to be an object, got 500 (number): write wait(aws, { timeout: 500 })");
      expect(() => asCompleted([a], 500 as never)).toThrow("Expected options to be an object, got 500 (number): write asCompleted(aws, { timeout: 500 })");
      await a;
    }, V);
  });
});

describe("options spelt as in Python name the camelCase spelling", () => {
  it("wait(aws, { return_when }) and gather(..., { return_exceptions })", async () => {
    await run(async () => {
      const a = createTask(() => sleep(1));
      await expect(wait([a], { return_when: "FIRST_COMPLETED" } as never)).rejects.toThrow(
        'Unknown option "return_when" of wait() (known: timeout, returnWhen): asyncio-ts spells options in camelCase, write returnWhen',
      );
      expect(() => gather(a, { return_exceptions: true } as never)).toThrow(
        'Unknown gather option "return_exceptions" (known: returnExceptions): asyncio-ts spells options in camelCase, write returnExceptions',
      );
      // a misspelling that is no Python spelling gets no hint
      await expect(wait([a], { timout: 5 } as never)).rejects.toThrow(/^Unknown option "timout" of wait\(\) \(known: timeout, returnWhen\)$/);
      await a;
    }, V);
  });
});
