/**
 * `task.getStack()` / `task.printStack()` (CPython's `get_stack` / `print_stack`): the frames of what a
 * task is doing, in every form a task can wait in, on both clocks.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createTask, currentTask, getRunningLoop, Lock, Queue, run, sleep, type StackFrame, type Task } from "../../src/index.js";

const here = fileURLToPath(import.meta.url);
const source = readFileSync(here, "utf8").split("\n");
/** The 1-based line of this file that contains `text` (the first one after line `after`). */
const lineOf = (text: string, after = 0): number => source.findIndex((l, i) => i >= after && l.includes(text)) + 1;
const at = (frames: StackFrame[]): string[] => frames.map((f) => `${f.functionName}:${f.fileName === here ? f.lineNumber : f.fileName}`);

async function leaf(): Promise<void> {
  await sleep(1000); // leaf-await
}
async function middle(): Promise<void> {
  await leaf(); // middle-await
}
async function outer(): Promise<void> {
  await middle(); // outer-await
}
async function twice(): Promise<void> {
  await sleep(10);
  await sleep(1000); // twice-await
}
async function caller(): Promise<void> {
  await twice(); // caller-await
}

const clocks = [
  ["virtual", { virtualTime: true }],
  ["real", { virtualTime: false }],
] as const;

describe.each(clocks)("getStack on the %s clock", (_, clock) => {
  it("a suspended task: its async functions at their awaits, oldest first (debug mode)", async () => {
    await run(async () => {
      const t = createTask(outer);
      await sleep(1);
      expect(at(t.getStack())).toEqual([
        `outer:${lineOf("// outer-await")}`,
        `middle:${lineOf("// middle-await")}`,
        `leaf:${lineOf("// leaf-await")}`,
      ]);
      // limit keeps the newest frames of a stack
      expect(at(t.getStack({ limit: 1 }))).toEqual([`leaf:${lineOf("// leaf-await")}`]);
      expect(t.getStack({ limit: 0 })).toEqual([]);
      t.cancel();
    }, { ...clock, debug: true });
  });

  it("after a resumption: the awaiters are async frames", async () => {
    await run(async () => {
      const t = createTask(caller);
      await sleep(0); // (t's first sleep starts before ours: on the real clock a stall between them could reorder them)
      await sleep(20); // twice() has resumed once: caller() is suspended in its await of it
      const s = t.getStack();
      expect(at(s)).toEqual([`caller:${lineOf("// caller-await")}`, `twice:${lineOf("// twice-await")}`]);
      expect(s.map((f) => f.isAsync)).toEqual([true, false]);
      t.cancel();
    }, { ...clock, debug: true });
  });

  it("every form of wait: a lock, a queue, another task, Promise.all, a direct then, a future", async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const q = new Queue<number>();
      const fut = getRunningLoop().createFuture<void>();
      const other = createTask(() => sleep(10_000));
      const tasks: Array<[Task<unknown>, string]> = [
        [createTask(async function onLock() { await lock.acquire(); }), "// lock-line"], // lock-line
        [createTask(async function onQueue() { await q.get(); }), "// queue-line"], // queue-line
        [createTask(async function onTask() { await other; }), "// task-line"], // task-line
        [createTask(async function onAll() { await Promise.all([fut, sleep(5000)]); }), "// all-line"], // all-line
        [createTask(function onThen() { return new Promise<void>((r) => void fut.then(() => r())); }, { name: "then" }), "// then-line"], // then-line
        [createTask(async function onFut() { await fut; }), "// fut-line"], // fut-line
      ];
      await sleep(1);
      try {
        for (const [t, marker] of tasks) {
          const frames = t.getStack();
          // the newest frame of this file is the await; a primitive's own async method may be newer
          expect(frames.filter((f) => f.fileName === here).at(-1)?.lineNumber, marker).toBe(lineOf(marker));
          if (marker === "// queue-line") expect(frames.map((f) => f.functionName)).toContain("Queue.get");
          else expect(frames.at(-1)?.fileName, marker).toBe(here);
        }
      } finally {
        // (onThen waits on a promise of its own, which no cancellation reaches: the future ends it)
        fut.setResult();
        for (const [t] of tasks) if (t.getName() !== "then") t.cancel();
        other.cancel();
        lock.release();
      }
    }, { ...clock, debug: true });
  });

  it("the running task: its own frames down to the caller (no debug mode needed)", async () => {
    await run(async function main() {
      async function inner(): Promise<StackFrame[]> {
        await sleep(1);
        return currentTask()!.getStack(); // own-stack
      }
      const frames = await inner();
      expect(at(frames)).toEqual([`main:${lineOf("const frames = await inner();")}`, `inner:${lineOf("// own-stack")}`]);
      expect(frames[0]!.isAsync).toBe(true);
    }, clock);
  });

  it("a failed task: its exception's frames, oldest kept by limit; done and cancelled tasks: none", async () => {
    await run(async () => {
      async function thrower(): Promise<never> {
        await sleep(1);
        throw new Error("boom"); // throw-line
      }
      const failed = createTask(thrower);
      const ok = createTask(async () => 1);
      const cancelled = createTask(() => sleep(100));
      await sleep(0); // (the tasks' sleeps start before ours, as above)
      await sleep(5);
      cancelled.cancel();
      await sleep(0);
      await sleep(0);
      expect(failed.getStack().at(-1)).toMatchObject({ functionName: "thrower", fileName: here, lineNumber: lineOf("// throw-line") });
      expect(failed.getStack({ limit: 1 })).toHaveLength(1);
      expect(ok.getStack()).toEqual([]);
      expect(cancelled.getStack()).toEqual([]);
      failed.exception(); // (retrieved: no "never retrieved" report)
    }, clock);
  });

  it("without debug mode a waiting task has no recorded stack, and printStack says how to get one", async () => {
    await run(async () => {
      const t = createTask(outer, { name: "quiet" });
      await sleep(1);
      expect(t.getStack()).toEqual([]);
      let text = "";
      t.printStack({ file: { write: (s: string) => (text += s) } });
      expect(text).toBe(
        "No stack for <Task pending name='quiet'> (where a task waits is recorded in debug mode: run(main, { debug: true }) or ASYNCIO_TS_DEBUG=1)\n",
      );
      t.cancel();
    }, clock);
  });

  it("a task not started yet has no stack", async () => {
    await run(async () => {
      const t = createTask(outer, { name: "later" });
      expect(t.getStack()).toEqual([]);
      let text = "";
      t.printStack({ file: { write: (s: string) => (text += s) } });
      expect(text).toBe("No stack for <Task pending name='later'>\n");
      t.cancel();
    }, { ...clock, debug: true });
  });
});

describe("printStack", () => {
  it("prints CPython's layout: header, frames with their source lines", async () => {
    await run(async () => {
      const t = createTask(outer, { name: "w" });
      await sleep(1);
      let text = "";
      t.printStack({ file: { write: (s: string) => (text += s) } });
      expect(text).toBe(
        "Stack for <Task pending name='w'> (most recent call last):\n" +
          `  File "${here}", line ${lineOf("// outer-await")}, in outer\n    await middle(); // outer-await\n` +
          `  File "${here}", line ${lineOf("// middle-await")}, in middle\n    await leaf(); // middle-await\n` +
          `  File "${here}", line ${lineOf("// leaf-await")}, in leaf\n    await sleep(1000); // leaf-await\n`,
      );
      t.cancel();
    }, { virtualTime: true, debug: true });
  });

  it("a failed task prints a traceback and the error; stderr by default", async () => {
    await run(async () => {
      const t = createTask(async function bad() {
        await sleep(1);
        throw new TypeError("wrong"); // bad-line
      }, { name: "bad" });
      await sleep(2);
      let text = "";
      t.printStack({ file: { write: (s: string) => (text += s) }, limit: 1 });
      expect(text).toMatch(/^Traceback for <Task finished name='bad' exception=TypeError: wrong> \(most recent call last\):\n {2}File "[^"]+", line \d+, in \S+\n[\s\S]*TypeError: wrong\n$/);
      const lines = text.split("\n");
      expect(lines.filter((l) => l.startsWith("  File "))).toHaveLength(1);
      const writes: string[] = [];
      const orig = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((s: string) => (writes.push(s), true)) as typeof process.stderr.write;
      try {
        t.printStack();
      } finally {
        process.stderr.write = orig;
      }
      expect(writes.join("")).toContain(`line ${lineOf("// bad-line")}, in bad`);
      t.exception();
    }, { virtualTime: true });
  });

  it("bad input is named", async () => {
    await run(async () => {
      const t = currentTask()!;
      expect(() => t.getStack({ limit: 1.5 })).toThrow(new TypeError("Expected limit to be an integer, got 1.5 (number)"));
      expect(() => t.getStack({ limit: "2" as unknown as number })).toThrow(/Expected limit to be an integer, got "2" \(string\)/);
      expect(() => t.getStack({ file: process.stdout } as never)).toThrow(/Unknown option "file" of getStack\(\)/);
      expect(() => t.printStack({ file: {} as never })).toThrow(/Expected options.file to have a write\(text\) method/);
      expect(() => t.printStack({ lmit: 2 } as never)).toThrow(/Unknown option "lmit" of printStack\(\)/);
      expect(() => t.getStack(null as never)).toThrow(/Expected options to be an object, got null/);
    }, { virtualTime: true });
  });
});
