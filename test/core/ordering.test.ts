import { describe, expect, it } from "vitest";
import { createTask, gather, getRunningLoop, run, sleep, waitFor } from "../../src/index.js";
import { recorder } from "../helpers/record.js";

describe("step ordering matches CPython 3.13", () => {
  it("e1: workers interleaving on sleep(0), gathered out of order", async () => {
    const { p, plain } = recorder();
    async function worker(name: string, n: number): Promise<string> {
      for (let i = 0; i < n; i++) {
        p(`${name}${i}`);
        await sleep(0);
      }
      return name;
    }
    await run(
      async () => {
        p("main start");
        const t1 = createTask(() => worker("A", 3));
        const t2 = createTask(() => worker("B", 2));
        p(`tasks created; A done? ${t1.done() ? "True" : "False"}`);
        await sleep(0);
        p("main after sleep(0)");
        const r = await gather(t2, t1);
        p(`gather: ['${r[0]}', '${r[1]}']`);
      },
      { virtualTime: true },
    );
    expect(plain().join(" / ")).toBe(
      "main start / tasks created; A done? False / A0 / B0 / main after sleep(0) / A1 / B1 / A2 / gather: ['B', 'A']",
    );
  });

  it("e17: a task awaiting a pending task resumes one iteration after it finishes", async () => {
    const { p, plain } = recorder();
    await run(
      async () => {
        const tb = createTask(async () => {
          p("B step1");
          await sleep(0);
          p("B step2 (returns)");
        });
        const ta = createTask(async () => {
          p("A awaits pending B");
          await tb;
          p("A resumed");
        });
        const tc = createTask(async () => {
          for (let i = 0; i < 4; i++) {
            p(`C${i}`);
            await sleep(0);
          }
        });
        await gather(ta, tc);
      },
      { virtualTime: true },
    );
    expect(plain().join(" | ")).toBe("B step1 | A awaits pending B | C0 | B step2 (returns) | C1 | A resumed | C2 | C3");
  });

  it("a task that calls fut.then(cb) without awaiting keeps running: no callback or other task runs inside its code", async () => {
    const { p, plain } = recorder();
    await run(
      async () => {
        const loop = getRunningLoop();
        const a = createTask(async () => {
          await sleep(0);
          const f = loop.createFuture<number>();
          void f.then(() => p("cb"));
          p("A1"); // before X and C, which are ready behind this step in the same iteration
          f.setResult(1);
          await sleep(0);
          p("A2");
        });
        await sleep(0); // A's first step has run; its next step is ready
        loop.callSoon(() => p("X"));
        createTask(async () => p("C"));
        await a;
      },
      { virtualTime: true },
    );
    expect(plain().join(" ")).toBe("A1 X C cb A2");
  });

  it("gather and waitFor of sleep(0) run each sleep in a task of its own, as CPython (same iterations)", async () => {
    const { p, plain } = recorder();
    await run(
      async () => {
        const t = createTask(async () => {
          for (let i = 0; i < 5; i++) {
            p(`o${i}`);
            await sleep(0);
          }
        });
        p("g start");
        const r = await gather(sleep(0, "x"), sleep(0, "y"));
        p(`g ${r[0]}${r[1]}`);
        p(`w ${await waitFor(sleep(0, "z"), 1000)}`);
        await t;
      },
      { virtualTime: true },
    );
    // CPython 3.13 prints: g start o0 o1 o2 o3 g xy o4 w z
    expect(plain().join(" ")).toBe("g start o0 o1 o2 o3 g xy o4 w z");
  });
});
