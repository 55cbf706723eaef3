/**
 * dumpTasks(): the live task tree with what each task waits on; debug mode's monitor (stalls, SIGUSR2,
 * slow steps).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  Barrier,
  BoundedSemaphore,
  CapacityLimiter,
  Condition,
  createTask,
  DeadlockError,
  currentTask,
  Event,
  gather,
  getRunningLoop,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  run,
  Semaphore,
  sleep,
  type EventLoop,
} from "../../src/index.js";
import { dumpTasks } from "../../src/tracing/index.js";
import { debugOutput } from "../../src/tracing/debug.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The 1-based line of this file that contains `text` (the first one). */
const lineOf = (text: string): number =>
  readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").findIndex((l) => l.includes(text)) + 1;

const origWrite = debugOutput.write;
afterEach(() => {
  debugOutput.write = origWrite;
});

describe("dumpTasks", () => {
  it("names the primitive and method every waiter waits in", async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const cond = new Condition();
      const full = new Queue<number>(1);
      await full.put(1);
      const limiter = new CapacityLimiter(1);
      await limiter.acquire();
      const bounded = new BoundedSemaphore(1);
      await bounded.acquire();
      const waits: Array<[string, () => PromiseLike<unknown>]> = [
        ["Lock.acquire", () => lock.acquire()],
        ["Event.wait", () => new Event().wait()],
        ["Condition.wait", async () => {
          await cond.acquire();
          await cond.wait();
        }],
        ["Semaphore.acquire", () => new Semaphore(0).acquire()],
        ["Queue.put", () => full.put(2)],
        ["Queue.get", () => new Queue().get()],
        ["Queue.join", () => full.join()],
        ["Barrier.wait", () => new Barrier(2).wait()],
        ["CapacityLimiter.acquire", () => limiter.acquire()],
        ["BoundedSemaphore.acquire", () => bounded.acquire()],
        ["PriorityQueue.get", () => new PriorityQueue<number>().get()],
        ["LifoQueue.get", () => new LifoQueue<number>().get()],
      ];
      const tasks = waits.map(([, fn]) => createTask(fn));
      await sleep(1);
      const children = dumpTasks({ print: false }).loops[0]!.roots[0]!.children;
      expect(children.map((c) => c.awaiting)).toEqual(waits.map(([label]) => [label]));
      for (const t of tasks) t.cancel();
    }, { virtualTime: true });
  });

  it("shows every live task as a tree with what it waits on", async () => {
    let dump: ReturnType<typeof dumpTasks> | null = null;
    await run(
      async function mainProgram() {
        const loop = getRunningLoop();
        const reply = loop.createFuture<string>();
        (reply as { _label?: string })._label = "Queue.get";
        const sleeper = createTask(async () => {
          await sleep(2000);
        }, { name: "sleeper" });
        const getter = createTask(async () => {
          await reply;
        }, { name: "getter" });
        const parent = createTask(async () => {
          const inner = createTask(async () => {
            await sleep(Infinity);
          }, { name: "inner" });
          await gather(inner, sleeper);
        }, { name: "parent" });
        await sleep(500);
        dump = dumpTasks({ print: false });
        parent.cancel();
        getter.cancel();
        await sleep(0);
        void currentTask;
      },
      { virtualTime: true, debug: true, name: "main" },
    );
    const d = dump!;
    expect(d.loops).toHaveLength(1);
    const loop = d.loops[0]!;
    expect(loop).toMatchObject({ time: 500, clock: "virtual", running: true, count: 5 });
    const main = loop.roots[0]!;
    expect(main).toMatchObject({ name: "main", fn: "mainProgram", state: "running", awaiting: [] });
    expect(main.children.map((c) => [c.name, c.state, c.awaiting])).toEqual([
      ["sleeper", "waiting", ["sleep until 2000 ms"]],
      ["getter", "waiting", ["Queue.get"]],
      ["parent", "waiting", ["gather(inner, sleeper)"]],
    ]);
    expect(main.children[2]!.children.map((c) => [c.name, c.awaiting])).toEqual([["inner", ["sleep forever"]]]);
    // debug mode: where each task was created, outside the library
    expect(main.children[0]!.createdAt).toMatch(/dump\.test\.ts:\d+:\d+/);
    const text = d.text.split("\n");
    expect(text[0]).toBe("Tasks of the running event loop at 500 ms (virtual time): 5 live");
    expect(text).toContain("└── main (mainProgram): running");
    expect(d.text).toMatch(/├── sleeper: waiting on sleep until 2000 ms\n/);
    expect(d.text).toMatch(/├── getter: waiting on Queue\.get\n/);
    expect(d.text).toMatch(/└── parent: waiting on gather\(inner, sleeper\)\n[^\n]*awaits at[^\n]*\n[^\n]*created at[^\n]*\n {8}└── inner: waiting on sleep forever/);
    // debug mode: where each waiting task awaits (the line of its await), oldest frame first
    expect(main.children[0]!.stack.at(-1)).toContain(`dump.test.ts:${lineOf("await sleep(2000);")}:`);
    expect(main.children[1]!.stack.at(-1)).toContain(`dump.test.ts:${lineOf("await reply;")}:`);
    expect(main.children[2]!.stack.at(-1)).toContain(`dump.test.ts:${lineOf("await gather(inner, sleeper);")}:`);
    expect(main.children[2]!.children[0]!.stack.at(-1)).toContain(`dump.test.ts:${lineOf("await sleep(Infinity);")}:`);
    // who waits for whom: inner and sleeper are awaited by parent (through its gather)
    expect(main.children[0]!.awaitedBy.map((w) => w.name)).toEqual(["parent"]);
    expect(main.children[2]!.children[0]!.awaitedBy.map((w) => w.name)).toEqual(["parent"]);
    expect(main.children[1]!.awaitedBy).toEqual([]);
  });

  it("prints to stderr by default, or to a function; reason first", async () => {
    let text = "";
    await run(async () => {
      dumpTasks({ print: (s) => (text = s), reason: "why" });
    }, { virtualTime: true });
    expect(text.split("\n").slice(0, 3)).toEqual(["why", "Tasks of the running event loop at 0 ms (virtual time): 1 live", "└── Task-" + text.split("└── Task-")[1]!.split("\n")[0]]);
    expect(text).toMatch(/└── Task-\d+: running/);
  });

  it("says when a task awaits a foreign promise", async () => {
    let text = "";
    await run(async () => {
      const t = createTask(async () => {
        // a plain promise settled by a loop callback (a real timer could fire before the dump on a loaded machine)
        await new Promise<void>((r) => getRunningLoop().callLater(5, () => r()));
      }, { name: "foreign" });
      await sleep(1);
      text = dumpTasks({ print: false }).text;
      await t;
    }, { virtualTime: true });
    expect(text).toMatch(/foreign: awaiting a promise that is not an asyncio-ts awaitable/);
  });

  it("rejects bad options, naming them", () => {
    expect(() => dumpTasks(null as never)).toThrow(/Expected options to be an object, got null/);
    expect(() => dumpTasks({ loop: 1 as never })).toThrow(/Expected options\.loop to be an EventLoop, got 1 \(number\)/);
    expect(() => dumpTasks({ print: "yes" as never })).toThrow(/Expected options\.print to be a boolean or a function/);
  });

  it("without a running loop, dumps nothing", () => {
    expect(dumpTasks({ print: false }).text).toMatch(/No event loop|Tasks of the stopped event loop/);
  });
});

describe("debug mode", () => {
  it("reports a stalled loop: the hung task, and what it waits on", async () => {
    const stalled = /no task has run for .* and nothing the loop knows of can wake them/;
    const out: string[] = [];
    debugOutput.write = (s) => void out.push(s);
    let loop: EventLoop | null = null;
    await run(
      async () => {
        loop = getRunningLoop();
        const never = loop.createFuture();
        (never as { _label?: string })._label = "Lock.acquire";
        const stuck = createTask(async function waitsForever() {
          await never;
        }, { name: "stuck" });
        // the loop has nothing to do; the monitor's real-time checks notice (no timing asserted; on a
        // loaded machine a late check of the monitor may first report "the event loop was blocked")
        const until = Date.now() + 10_000;
        while (!out.some((s) => stalled.test(s)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        stuck.cancel();
      },
      { debug: true, blockedThreshold: 40 },
    );
    const report = out.find((s) => stalled.test(s));
    expect(report, out.join("\n")).toBeDefined();
    expect(report).toMatch(/stuck \(waitsForever\): waiting on Lock\.acquire/);
    expect(loop!.isClosed()).toBe(true);
  });

  it("prints the dump on SIGUSR2", async () => {
    const received = /^asyncio-ts: SIGUSR2 received\n/;
    const out: string[] = [];
    debugOutput.write = (s) => void out.push(s);
    await run(
      async () => {
        createTask(() => sleep(5000), { name: "napper" });
        await sleep(0);
        process.kill(process.pid, "SIGUSR2");
        // (on a loaded machine a late check of the monitor may first report "the event loop was blocked")
        const until = Date.now() + 10_000;
        while (!out.some((s) => received.test(s)) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      },
      { debug: true },
    );
    const dump = out.find((s) => received.test(s));
    expect(dump, out.join("\n")).toBeDefined();
    expect(dump).toMatch(/napper: waiting on sleep until \d+ ms/);
    expect(process.listenerCount("SIGUSR2")).toBe(0);
  });

  it("warns about a slow step and reports the blocked loop", async () => {
    const out: string[] = [];
    debugOutput.write = (s) => void out.push(s);
    const handled: string[] = [];
    await run(
      async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => void handled.push(ctx.message));
        await createTask(async function hog() {
          const end = performance.now() + 120;
          while (performance.now() < end) {
            /* block the thread */
          }
        });
        await new Promise((r) => setTimeout(r, 30)); // let the monitor's late timer fire
      },
      { debug: true, slowCallbackDuration: 50, blockedThreshold: 60 },
    );
    expect(handled.some((m) => /^Executing <Task .*> took \d+\.\d{3} seconds$/.test(m))).toBe(true);
    expect(out.some((s) => /the event loop was blocked for/.test(s))).toBe(true);
  });
});

describe("dumpTasks({ maxTasks }) and the deadlock report of many tasks", () => {
  it("lists maxTasks tasks and counts the rest", async () => {
    const text = await run(
      async () => {
        for (let i = 0; i < 10; i++) createTask(() => sleep(1000), { name: `s${i}` });
        await sleep(0);
        return dumpTasks({ print: false, maxTasks: 4 }).text;
      },
      { virtualTime: true },
    );
    const lines = text.trimEnd().split("\n");
    expect(lines.filter((l) => /(├|└)── /.test(l))).toHaveLength(4);
    expect(lines.at(-1)).toBe("... and 7 more task(s), not listed (dumpTasks() lists every task)");
  });

  it("rejects a bad maxTasks", async () => {
    await run(async () => {
      expect(() => dumpTasks({ print: false, maxTasks: -1 })).toThrow("Expected options.maxTasks to be a non-negative integer or Infinity, got -1 (number)");
    });
  });

  it("a deadlock of 5,000 tasks reports 100 of them and the count of the rest", async () => {
    const err = await run(
      async () => {
        const ev = new Event();
        const ts = Array.from({ length: 5000 }, () => createTask(() => ev.wait()));
        await gather(...ts);
      },
      { virtualTime: true, deadlockTimeout: 10 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlockError);
    const lines = (err as Error).message.split("\n");
    expect(lines.filter((l) => /(├|└)── /.test(l))).toHaveLength(100); // (the main task and 99 of its children)
    expect(lines.at(-1)).toBe("... and 4,901 more task(s), not listed (dumpTasks() lists every task)");
  });
});
