/**
 * Call graphs (Python 3.14's `capture_call_graph` / `format_call_graph` / `print_call_graph`): who awaits
 * whom through every structure a task can wait in, on both clocks.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  captureCallGraph,
  createTask,
  currentTask,
  formatCallGraph,
  futureAddToAwaitedBy,
  futureDiscardFromAwaitedBy,
  gather,
  getRunningLoop,
  printCallGraph,
  run,
  shield,
  sleep,
  Task,
  taskGroup,
  type Future,
  type FutureCallGraph,
} from "../../src/index.js";

const here = fileURLToPath(import.meta.url);
const source = readFileSync(here, "utf8").split("\n");
const lineOf = (text: string): number => source.findIndex((l) => l.includes(text)) + 1;

/** The graph as nested names: a task by its name, another future by its class. */
function shape(g: FutureCallGraph): unknown {
  const name = g.future instanceof Task ? g.future.getName() : g.future.constructor.name;
  return g.awaitedBy.length === 0 ? name : { [name]: g.awaitedBy.map(shape) };
}
const fns = (g: FutureCallGraph): string[] => g.callStack.map((e) => e.frame.functionName);

const clocks = [
  ["virtual", { virtualTime: true }],
  ["real", { virtualTime: false }],
] as const;

describe.each(clocks)("captureCallGraph on the %s clock", (_, clock) => {
  it("a task-group child is awaited by the group's task, while the body runs and while it exits", async () => {
    const seen: FutureCallGraph[] = [];
    await run(async function main() {
      await taskGroup(async (tg) => {
        tg.createTask(async function test() {
          seen.push(captureCallGraph()!); // capture-in-test
          await sleep(10);
          seen.push(captureCallGraph()!);
        }, { name: "test" });
        await sleep(1);
      });
    }, { ...clock, name: "main" });
    for (const g of seen) expect(shape(g)).toEqual({ test: ["main"] });
    expect(fns(seen[0]!)).toEqual(["test"]);
    expect(seen[0]!.callStack[0]!.frame).toMatchObject({ fileName: here, lineNumber: lineOf("// capture-in-test") });
  });

  it("gather's children are awaited by its future, awaited by the task; a shield's inner by the shield", async () => {
    await run(async () => {
      let fromChild: FutureCallGraph | null = null;
      const child = createTask(async () => {
        await sleep(5);
        fromChild = captureCallGraph();
      }, { name: "child" });
      const parent = createTask(() => gather(child, sleep(20)), { name: "parent" });
      const inner = createTask(() => sleep(50), { name: "inner" });
      const guard = createTask(() => shield(inner), { name: "guard" });
      const direct = createTask(async () => await inner, { name: "direct" });
      const all = createTask(() => Promise.all([inner, sleep(30)]), { name: "all" });
      await sleep(1);
      expect(shape(captureCallGraph(inner)!)).toEqual({ inner: [{ ShieldFuture: ["guard"] }, "direct", "all"] });
      await sleep(10);
      expect(shape(fromChild!)).toEqual({ child: [{ GatheringFuture: ["parent"] }] });
      await Promise.all([parent, guard, direct, all]);
    }, clock);
  });

  it("the graph of a plain future and of a task that nobody awaits; a cycle stays finite", async () => {
    await run(async () => {
      const fut = getRunningLoop().createFuture<void>();
      expect(shape(captureCallGraph(fut)!)).toEqual("Future");
      // (a cycle of tasks awaiting each other cannot be cancelled, in CPython either: RecursionError)
      const x = getRunningLoop().createFuture<void>();
      const y = getRunningLoop().createFuture<void>();
      futureAddToAwaitedBy(x, y);
      futureAddToAwaitedBy(y, x);
      // each future appears once on a path
      expect(shape(captureCallGraph(x)!)).toEqual({ Future: ["Future"] });
      expect(formatCallGraph(x).split("\n").filter((l) => l.includes("* Future"))).toHaveLength(2);
    }, clock);
  });

  it("futureAddToAwaitedBy links a user's own intermediate future; discard removes the link", async () => {
    await run(async function main() {
      const relay = getRunningLoop().createFuture<void>();
      const me = currentTask()!;
      futureAddToAwaitedBy(relay, me);
      futureAddToAwaitedBy(relay, me); // (a set: once)
      expect(shape(captureCallGraph(relay)!)).toEqual({ Future: ["main"] });
      futureDiscardFromAwaitedBy(relay, me);
      futureDiscardFromAwaitedBy(relay, me); // (gone already: ignored)
      expect(shape(captureCallGraph(relay)!)).toEqual("Future");
      expect(() => futureAddToAwaitedBy({} as Future<unknown>, me)).toThrow(new TypeError("Expected future to be a Future or Task, got an object (Object)"));
      expect(() => futureDiscardFromAwaitedBy(relay, null as unknown as Future<unknown>)).toThrow(/Expected waiter to be a Future or Task, got null/);
    }, { ...clock, name: "main" });
  });

  it("limit keeps the entries nearest the call (positive) or the outermost (negative); 0 keeps none; depth skips", async () => {
    await run(async function main() {
      async function a(): Promise<FutureCallGraph[]> {
        return await b();
      }
      async function b(): Promise<FutureCallGraph[]> {
        await sleep(1);
        return [captureCallGraph()!, captureCallGraph(null, { limit: 1 })!, captureCallGraph(null, { limit: -1 })!, captureCallGraph(null, { limit: 0 })!, captureCallGraph(null, { depth: 2 })!];
      }
      const [all, near, far, none, deeper] = await a();
      expect(fns(all!)).toEqual(["b", "a", "main"]);
      expect(fns(near!)).toEqual(["b"]);
      expect(fns(far!)).toEqual(["main"]);
      expect(fns(none!)).toEqual([]);
      expect(fns(deeper!)).toEqual(["a", "main"]);
    }, clock);
  });

  it("in debug mode, other tasks' stacks are where they await", async () => {
    await run(async function main() {
      const t = createTask(async function waiter() {
        await sleep(100); // waiter-await
      }, { name: "waiter" });
      await sleep(1);
      const g = captureCallGraph(t)!;
      expect(g.callStack.map((e) => [e.frame.functionName, e.frame.lineNumber])).toEqual([["waiter", lineOf("// waiter-await")]]);
      t.cancel();
    }, { ...clock, debug: true });
  });

  it("outside a task: null from a loop's callback, RuntimeError outside any loop", async () => {
    await run(async () => {
      let fromCallback: unknown = "unset";
      getRunningLoop().callSoon(() => {
        fromCallback = captureCallGraph();
      });
      await sleep(0);
      expect(fromCallback).toBeNull();
    }, clock);
    expect(() => captureCallGraph()).toThrow(/captureCallGraph\(\) was called outside a running event loop and no future to describe was given/);
  });
});

describe("formatCallGraph / printCallGraph", () => {
  it("render CPython's layout", async () => {
    let text = "";
    let printed = "";
    await run(async function main() {
      await taskGroup(async (tg) => {
        tg.createTask(async function test() {
          text = formatCallGraph(); // format-line
          printCallGraph(null, { file: { write: (s: string) => (printed += s) } });
        }, { name: "test" });
      });
    }, { virtualTime: true, name: "main" });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^\* Task\(name='test', id=0x[0-9a-f]+\)$/);
    expect(lines[1]).toBe("  + Call stack:");
    expect(lines[2]).toBe(`  |   File '${here}', line ${lineOf("// format-line")}, in test()`);
    expect(lines[3]).toBe("  + Awaited by:");
    expect(lines[4]).toMatch(/^ {4}\* Task\(name='main', id=0x[0-9a-f]+\)$/);
    expect(printed.split("\n")[0]).toBe(lines[0]);
    expect(printed.endsWith("\n")).toBe(true);
  });

  it("print to stdout by default; empty text without a task; bad options are named", async () => {
    const writes: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    await run(async () => {
      process.stdout.write = ((s: string) => (writes.push(s), true)) as typeof process.stdout.write;
      try {
        printCallGraph();
      } finally {
        process.stdout.write = orig;
      }
      let fromCallback = "unset";
      getRunningLoop().callSoon(() => (fromCallback = formatCallGraph()));
      await sleep(0);
      expect(fromCallback).toBe("");
      expect(() => captureCallGraph(null, { limit: 1.5 })).toThrow(new TypeError("Expected limit to be an integer, got 1.5 (number)"));
      expect(() => captureCallGraph(null, { depth: -1 })).toThrow(/Expected depth to be a non-negative integer, got -1/);
      expect(() => captureCallGraph(null, { file: process.stdout } as never)).toThrow(/Unknown option "file" for captureCallGraph\(\)/);
      expect(() => printCallGraph(null, { file: {} as never })).toThrow(/Expected options.file to have a write\(text\) method/);
      expect(() => captureCallGraph({} as Future<unknown>)).toThrow(/Expected future to be a Future or Task, got an object/);
    }, { virtualTime: true, name: "main" });
    expect(writes.join("")).toMatch(/^\* Task\(name='main', id=0x[0-9a-f]+\)\n/);
  });
});
