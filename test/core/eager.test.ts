/**
 * Task factories and eager tasks (CPython 3.12's `eager_task_factory`, `create_eager_task_factory`,
 * `set_task_factory`; 3.14's `eager_start`): the first step runs inside `createTask`; a task that finishes
 * there is never scheduled. Compared with CPython 3.13 running the twins (`twins/eager.py`).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  Task,
  createEagerTaskFactory,
  createTask,
  currentTask,
  eagerTaskFactory,
  gather,
  getRunningLoop,
  newEventLoop,
  run,
  sleep,
  taskGroup,
  type TaskFunction,
} from "../../src/index.js";

const golden = JSON.parse(readFileSync(new URL("./twins/eager.golden.json", import.meta.url), "utf8")) as Record<string, string[]>;

type P = (text: string) => void;

const programs: Record<string, (p: P) => Promise<void>> = {
  "factory-order": async (p) => {
    const main = currentTask();
    const loop = getRunningLoop();
    loop.setTaskFactory(eagerTaskFactory);
    const work = async (n: string, ms: number): Promise<string> => {
      p(`${n} starts, own task ${currentTask() !== main ? "True" : "False"}`);
      if (ms > 0) await sleep(ms);
      p(`${n} ends`);
      return n;
    };
    const t1 = createTask(() => work("a", 0), { name: "A" });
    p("after a");
    const t2 = createTask(() => work("b", 10), { name: "B" });
    p("after b");
    const lazy = new Task(() => work("c", 0), { name: "C" }, loop); // (a Task made directly: not eager)
    p("after c");
    p(`results ${await t1} ${await t2} ${await lazy}`);
    p(`factory set ${loop.getTaskFactory() === eagerTaskFactory ? "True" : "False"}`);
    loop.setTaskFactory(null);
    const t3 = createTask(() => work("d", 0), { name: "D" });
    p("after d");
    await t3;
  },
  "eager-in-gather": async (p) => {
    getRunningLoop().setTaskFactory(eagerTaskFactory);
    const w = async (n: string, ms: number): Promise<string> => {
      p(`${n} start`);
      await sleep(ms);
      p(`${n} end`);
      return n;
    };
    const r = await gather(() => w("x", 20), () => w("y", 10));
    p(`gather ${r.join(",")}`);
    await taskGroup(async (tg) => {
      tg.createTask(() => w("g1", 5));
      p("after g1");
      tg.createTask(() => w("g2", 0));
      p("after g2");
    });
    p("group done");
  },
  "eager-cancelled": async (p) => {
    getRunningLoop().setTaskFactory(eagerTaskFactory);
    const w = async (): Promise<void> => {
      try {
        p("w start");
        await sleep(1000);
      } catch (e) {
        if (e instanceof CancelledError) p("w cancelled");
        throw e;
      }
    };
    const t = createTask(w);
    p(`cancel -> ${t.cancel() ? "True" : "False"}`);
    try {
      await t;
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      p("t CancelledError");
    }
  },
};

async function runProgram(key: string): Promise<string[]> {
  const lines: string[] = [];
  const loop = newEventLoop({ virtualTime: true });
  await loop.runUntilComplete(() => programs[key]!((text) => lines.push(`${loop.time()} ${text}`)));
  loop.close();
  return lines;
}

describe("eager tasks: CPython's order", () => {
  it("every program has a CPython twin", () => {
    expect(Object.keys(programs).sort()).toEqual(Object.keys(golden).sort());
  });
  for (const key of Object.keys(programs)) {
    it(key, async () => {
      expect(await runProgram(key)).toEqual(golden[key]);
    });
  }
});

describe("eagerStart and task factories", () => {
  it("createTask(fn, { eagerStart: true }) runs the first step at once; a task done there is never scheduled", async () => {
    await run(async () => {
      const order: string[] = [];
      let steps = 0;
      const t = createTask(
        async () => {
          steps++;
          order.push("first step");
          return 7;
        },
        { eagerStart: true },
      );
      order.push("after createTask");
      expect(await t).toBe(7);
      expect(steps).toBe(1);
      expect(order).toEqual(["first step", "after createTask"]);
    });
  });

  it("createEagerTaskFactory makes tasks of the given class; a bad factory or class is a TypeError", async () => {
    class Mine<T> extends Task<T> {}
    await run(async () => {
      const loop = getRunningLoop();
      loop.setTaskFactory(createEagerTaskFactory(Mine));
      const t = createTask(async () => "mine");
      expect(t).toBeInstanceOf(Mine);
      expect(await t).toBe("mine");
      loop.setTaskFactory((() => 5) as never);
      expect(() => createTask(async () => 1)).toThrow("Expected the task factory to return a Task, got 5 (number)");
      loop.setTaskFactory(null);
    });
    expect(() => newEventLoop().setTaskFactory(5 as never)).toThrow(/^Expected factory to be a function/);
    expect(() => createEagerTaskFactory(Object as never)).toThrow(/^Expected ctor to be Task or a subclass of it/);
    expect(() => createEagerTaskFactory((async () => 1) as unknown as never)).toThrow(TypeError);
  });

  it("eagerStart outside a running loop schedules the task as usual", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const order: string[] = [];
    const fn: TaskFunction<void> = async () => void order.push("ran");
    const t = loop.createTask(fn, { eagerStart: true });
    expect(order).toEqual([]);
    await loop.runUntilComplete(t);
    expect(order).toEqual(["ran"]);
    loop.close();
  });
});
