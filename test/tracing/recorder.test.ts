/**
 * The trace recorder and its renderers (terminal, Chrome trace) on the seed's programs, plus executor
 * lanes from the executor hooks, several loops in one trace, and the task cap.
 */
import { describe, expect, it } from "vitest";
import { createTask, getRunningLoop, newEventLoop, run, sleep } from "../../src/index.js";
import {
  TraceRecorder,
  installTracer,
  instrumentNewLoops,
  renderHtmlTimeline,
  renderTerminalTimeline,
  toChromeTrace,
  type ExecutorJob,
} from "../../src/tracing/index.js";
import { EXPECTED, resolveWaits, seedCells, traceCell } from "./seed-traces.js";

const cells = await seedCells();

describe("the seed's programs: each trace has a lane per task, labelled awaits and printed lines", () => {
  for (const { cell, main } of cells) {
    it(cell.id, async () => {
      const { trace, lines } = await traceCell(main);
      const spec = EXPECTED[cell.id]!;
      expect(trace.clock).toBe("virtual");
      expect(trace.tasks.map((t) => t.fn)).toEqual(spec.map((s) => s.fn));
      spec.forEach((s, i) => {
        const t = trace.tasks[i]!;
        expect(t.waits.map((w) => w.label), `${cell.id} ${t.name}'s awaits`).toEqual(resolveWaits(s, trace));
        expect(trace.marks.filter((m) => m.task === t.id).map((m) => m.text), `${cell.id} ${t.name}'s lines`).toEqual(s.prints);
        expect(t.state).toBe("finished");
        expect(t.steps.length).toBe(t.waits.length + 1);
        // steps and waits alternate and never overlap
        t.waits.forEach((w, k) => {
          expect(w.start).toBeGreaterThanOrEqual(t.steps[k]![0]);
          expect(w.end).toBe(t.steps[k + 1]![0]);
        });
      });
      expect(trace.marks.map((m) => m.text)).toEqual(lines);
      // children point at the task that created them
      for (const t of trace.tasks.slice(1)) expect(t.parent).toBe(trace.tasks[0]!.id);

      const text = renderTerminalTimeline(trace, { width: 100 });
      for (const t of trace.tasks) expect(text).toContain(t.fn ? `${t.fn} (${t.name})` : t.name);

      const chrome = toChromeTrace(trace);
      const names = chrome.traceEvents.filter((e) => e.name === "thread_name").map((e) => e.args!["name"]);
      for (const t of trace.tasks) expect(names).toContain(t.fn ? `${t.fn} (${t.name})` : t.name);
      const prints = chrome.traceEvents.filter((e) => e.cat === "print");
      expect(prints.map((e) => e.args!["printed"])).toEqual(lines);
      for (const e of chrome.traceEvents) if (e.ph === "X") expect(e.dur).toBeGreaterThanOrEqual(0);
      const awaits = chrome.traceEvents.filter((e) => e.cat === "await").map((e) => e.name);
      expect(awaits).toEqual(trace.tasks.flatMap((t) => t.waits.map((w) => `await ${w.label}`)));
      expect(JSON.parse(JSON.stringify(chrome))).toEqual(chrome);
    });
  }
});

describe("renderTerminalTimeline", () => {
  it("labels waits inline and prints each task's lines under its lane (In [22])", async () => {
    const { trace } = await traceCell(cells.find((c) => c.cell.id === "In [22]")!.main);
    const text = renderTerminalTimeline(trace, { width: 100 });
    const rows = text.split("\n");
    expect(rows[0]).toContain("(virtual time)");
    const fetch = rows.findIndex((r) => r.startsWith("fetchData"));
    expect(rows[fetch]).toContain("sleep until 2000 ms");
    expect(rows[fetch + 1]).toMatch(/start fetching +done fetching/);
    const numbers = rows.findIndex((r) => r.startsWith("printNumbers"));
    expect(rows[numbers + 1]!.trim().split(/\s+/)).toEqual("0123456789".split(""));
    expect(renderTerminalTimeline(trace, { width: 100, marks: false }).split("\n")).toHaveLength(4);
  });

  it("marks a cancelled task", async () => {
    const rec = new TraceRecorder();
    const stop = instrumentNewLoops(() => rec.instrument());
    await run(async () => {
      createTask(() => sleep(10_000), { name: "sleeper" });
      await sleep(500);
    }, { virtualTime: true });
    stop();
    const trace = rec.trace();
    expect(trace.tasks[1]!.state).toBe("cancelled");
    expect(renderTerminalTimeline(trace, { width: 60 })).toMatch(/sleeper .*✕/);
  });

  it("rejects a bad trace, naming it", () => {
    expect(() => renderTerminalTimeline(null as never)).toThrow(/Expected trace to be a Trace/);
    expect(() => toChromeTrace({} as never)).toThrow(/Expected trace to be a Trace/);
    expect(() => renderHtmlTimeline(3 as never)).toThrow(/Expected trace to be a Trace .*got 3 \(number\)/);
  });
});

/** A fake executor that reports its jobs through the hooks, as src/executors will. */
async function fakeExecutorProgram(): Promise<void> {
  const loop = getRunningLoop();
  let seq = 0;
  const submit = (fn: string, ms: number, worker: string): Promise<unknown> => {
    const job: ExecutorJob = { loop, executor: "ThreadPoolExecutor-1", id: ++seq, fn, task: null };
    loop._tracer?.onExecutorJobQueued(job);
    const fut = loop.createFuture<void>();
    (fut as { _label?: string })._label = `executor job ${job.id} on ${worker}`;
    loop.callLater(10, () => loop._tracer?.onExecutorJobStarted(job, worker));
    loop.callLater(10 + ms, () => {
      loop._tracer?.onExecutorJobFinished(job, worker, "ok");
      fut.setResult();
    });
    return fut as unknown as Promise<unknown>;
  };
  const a = createTask(async function first() {
    await submit("blocking", 100, "ThreadPoolExecutor-1_0");
  });
  const b = createTask(async function second() {
    await submit("blocking", 200, "ThreadPoolExecutor-1_1");
  });
  await a;
  await b;
}

describe("executor hooks", () => {
  it("give one lane per worker with its jobs, and label the awaiting task's wait", async () => {
    const rec = new TraceRecorder();
    const stop = instrumentNewLoops(() => rec.instrument());
    await run(fakeExecutorProgram, { virtualTime: true });
    stop();
    const trace = rec.trace();
    expect(trace.workers!.map((w) => w.name)).toEqual(["ThreadPoolExecutor-1_0", "ThreadPoolExecutor-1_1"]);
    expect(trace.workers![1]!.jobs[0]).toMatchObject({ id: 2, fn: "blocking", queued: 0, start: 10, end: 210, outcome: "ok" });
    expect(trace.tasks.find((t) => t.fn === "first")!.waits[0]!.label).toBe("executor job 1 on ThreadPoolExecutor-1_0");
    const chrome = toChromeTrace(trace);
    expect(chrome.traceEvents.filter((e) => e.cat === "executor").map((e) => [e.name, e.ts, e.dur])).toEqual([
      ["blocking #1", 10_000, 100_000],
      ["blocking #2", 10_000, 200_000],
    ]);
    const text = renderTerminalTimeline(trace, { width: 80 });
    expect(text).toMatch(/ThreadPoolExecutor-1_1 +┣━* blocking #2 ━+/);
    const html = renderHtmlTimeline(trace);
    expect(html).toContain('data-kind="worker" data-name="ThreadPoolExecutor-1_0"');
  });
});

describe("TraceRecorder", () => {
  it("lays virtual loops one after the other in one trace", async () => {
    const rec = new TraceRecorder();
    const stop = instrumentNewLoops(() => rec.instrument());
    await run(async () => void (await sleep(100)), { virtualTime: true, name: "one" });
    await run(async () => void (await sleep(50)), { virtualTime: true, name: "two" });
    stop();
    const [one, two] = rec.trace().tasks;
    expect([one!.created, one!.done, two!.created, two!.done]).toEqual([0, 100, 100, 150]);
    expect(two!.waits[0]!.label).toBe("sleep until 150 ms");
  });

  it("records at most maxTasks tasks and counts the rest", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const rec = new TraceRecorder({ maxTasks: 3 });
    installTracer(loop, rec.instrument());
    await loop.runUntilComplete(async () => {
      for (let i = 0; i < 5; i++) await createTask(async () => {});
    });
    loop.close();
    expect(rec.trace().tasks).toHaveLength(3);
    expect(rec.trace().dropped).toBe(3);
    expect(() => new TraceRecorder({ maxTasks: -1 })).toThrow(/Expected maxTasks to be a non-negative number, got -1/);
  });

  it("captures console output as marks of the task that printed", async () => {
    const rec = new TraceRecorder();
    const stop = instrumentNewLoops(() => rec.instrument());
    const orig = console.log;
    const printed: string[] = [];
    console.log = (...a: unknown[]) => void printed.push(a.join(" "));
    const restore = rec.captureConsole();
    try {
      await run(async () => {
        await createTask(async () => {
          await sleep(30);
          console.log("from child\nsecond line");
        }, { name: "child" });
      }, { virtualTime: true });
    } finally {
      restore();
      console.log = orig;
      stop();
    }
    const trace = rec.trace();
    expect(printed).toEqual(["from child\nsecond line"]);
    expect(trace.marks).toEqual([
      { t: 30, text: "from child", task: 2 },
      { t: 30, text: "second line", task: 2 },
    ]);
  });
});
