/**
 * Scale: nothing is lost with 10^5 tasks. A run() that ends with 150,000 tasks still pending cancels
 * them all and runs their finally blocks (no stack overflow from a spread of 150,000 arguments);
 * gatherAll takes lists too long to spread into a call.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, createTask, gather, gatherAll, getRunningLoop, run, sleep } from "../../src/index.js";

describe("scale", () => {
  it("run() cancels 150,000 pending tasks and runs every finally block", async () => {
    const N = 150_000;
    let cleaned = 0;
    let cancelled = 0;
    const reports: string[] = [];
    await run(
      async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx.message));
        for (let i = 0; i < N; i++) {
          createTask(async () => {
            try {
              await sleep(1e9);
            } catch (e) {
              if (e instanceof CancelledError) cancelled++;
              throw e;
            } finally {
              cleaned++;
            }
          });
        }
        await sleep(0);
      },
      { virtualTime: true },
    );
    expect(cleaned).toBe(N);
    expect(cancelled).toBe(N);
    expect(reports).toEqual([]);
  }, 60_000);

  it("gatherAll over 200,000 awaitables; gather of an array says how to write it", async () => {
    await run(
      async () => {
        const r = await gatherAll(Array.from({ length: 200_000 }, (_, i) => sleep(1 + (i % 7), i)));
        expect(r.length).toBe(200_000);
        expect(r[123_456]).toBe(123_456);
        expect(() => gather([sleep(1)] as never)).toThrow(
          "gather() takes the awaitables as arguments, not an array: write gather(...list) (for very long lists, gatherAll(list)), got an array (length 1)",
        );
      },
      { virtualTime: true },
    );
  }, 60_000);
});
