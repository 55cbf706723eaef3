/**
 * The seed's In [34]: 20 blocking tasks on 4 worker threads through runInExecutor and gather. Its
 * interleaving is not deterministic; the test checks the structure: every task starts and finishes once,
 * on a thread named `ThreadPoolExecutor-<k>_<0..3>`, never more than 4 at a time, results in order.
 */
import { describe, expect, it, vi } from "vitest";
import { run } from "../../src/index.js";
import { main } from "../../examples/seed/in34.js";

describe("seed In [34]", () => {
  it("runs 20 tasks on 4 threads, at most 4 at a time, results in order", async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
      out.push(...String(chunk).split("\n").filter((l) => l.length > 0));
      return true;
    });
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      out.push(args.map(String).join(" "));
    });
    try {
      await run(main);
    } finally {
      spy.mockRestore();
      log.mockRestore();
    }
    const started = new Map<number, string>();
    const finished = new Set<number>();
    let running = 0;
    let most = 0;
    for (const line of out.slice(0, -1)) {
      const m = /^Thread (ThreadPoolExecutor-\d+_[0-3]): (Starting task: (\d+)\.\.\.|Finished task (\d+)!)$/.exec(line);
      expect(m, line).not.toBeNull();
      if (m![3] !== undefined) {
        const i = Number(m![3]);
        expect(started.has(i)).toBe(false);
        started.set(i, m![1]!);
        most = Math.max(most, ++running);
      } else {
        const i = Number(m![4]);
        expect(started.get(i)).toBe(m![1]); // finished on the thread it started on
        expect(finished.has(i)).toBe(false);
        finished.add(i);
        running--;
      }
    }
    expect(started.size).toBe(20);
    expect(finished.size).toBe(20);
    expect(most).toBeLessThanOrEqual(4);
    expect(new Set(started.values()).size).toBe(4);
    expect(out.at(-1)).toBe(`Finished processing, got results: [${Array.from({ length: 20 }, (_, i) => i).join(", ")}]`);
  });
});
