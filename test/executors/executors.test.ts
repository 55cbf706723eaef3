/**
 * One suite, run against both backends (worker threads and child processes), with real workers.
 * No test asserts timings; sleeps only order events.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import {
  AsyncioError,
  BrokenExecutor,
  BrokenResourceError,
  BrokenWorkerError,
  CancelledError,
  ClosedResourceError,
  ConnectionResetError,
  EndOfChannel,
  ExceptionGroup,
  IncompleteReadError,
  LimitOverrunError,
  ProcessLookupError,
  ProcessPoolExecutor,
  RuntimeError,
  ThreadPoolExecutor,
  TimeoutError,
  gather,
  getRunningLoop,
  moduleFunction,
  run,
  sleep,
  taskGroup,
  toThread,
  waitFor,
  type Future,
  type PoolOptions,
} from "../../src/index.js";
import * as T from "./fixtures/tasks.js";

const fixtures = new URL("./fixtures/tasks.ts", import.meta.url);
const add = moduleFunction(fixtures, T.add);
const whoAmI = moduleFunction(fixtures, T.whoAmI);
const sleepy = moduleFunction(fixtures, T.sleepy);
const throwCustom = moduleFunction(fixtures, T.throwCustom);
const exitNow = moduleFunction(fixtures, T.exitNow);
const crashAtTopLevel = moduleFunction(fixtures, T.crashAtTopLevel);
const eatMemory = moduleFunction(fixtures, T.eatMemory);
const untilAborted = moduleFunction(fixtures, T.untilAborted);
const spin = moduleFunction(fixtures, T.spin);
const throwLibraryError = moduleFunction(fixtures, T.throwLibraryError);
const throwGroup = moduleFunction(fixtures, T.throwGroup);

const tmp = mkdtempSync(join(tmpdir(), "aio-exec-"));
let markers = 0;
const marker = (): string => join(tmp, `m${markers++}`);

function withoutKey<O extends object>(o: O | undefined, key: string): O | undefined {
  if (o === undefined || !(key in o)) return o;
  const copy = { ...o } as Record<string, unknown>;
  delete copy[key];
  return copy as O;
}

type Make = (o?: PoolOptions & { threadNamePrefix?: string; namePrefix?: string }) => ThreadPoolExecutor | ProcessPoolExecutor;
const backends: Array<[string, Make, string]> = [
  // (one suite for both: each pool takes its own name-prefix option; the other is an unknown option)
  ["threads", (o) => new ThreadPoolExecutor(withoutKey(o, "namePrefix")), "ThreadPoolExecutor"],
  ["processes", (o) => new ProcessPoolExecutor(withoutKey(o, "threadNamePrefix")), "ProcessPoolExecutor"],
];

describe.each(backends)("executor on %s", (kind, make, className) => {
  it("runs module functions (.ts) and inline functions, names workers as CPython, reuses idle workers", async () => {
    await using pool = make({ maxWorkers: 2 });
    expect(await pool.submit(add, 2, 3)).toBe(5);
    expect(await pool.submit((a: number, b: number) => a * b, 6, 7)).toBe(42);
    const name = await pool.submit(whoAmI);
    expect(name).toMatch(new RegExp(`^${className}-\\d+_0$`));
    for (let i = 0; i < 3; i++) expect(await pool.submit(whoAmI)).toBe(name); // one at a time: the idle worker
    expect(pool.statistics().workers).toBe(1);
    const named = make({ maxWorkers: 1, threadNamePrefix: "io", namePrefix: "io" });
    expect(await named.submit(() => currentThread().name)).toBe("io_0");
    await named.shutdown();
  });

  it("a future with a done callback, settled after its loop closed, still reaches code that awaits it, and the callback runs", async () => {
    // (the loop refused the callback: the settle threw, and the await outside run() hung for ever; the
    // CPython twin, a concurrent.futures.Future with add_done_callback inside asyncio.run: 'cb f', then 'f')
    const pool = make({ maxWorkers: 1 });
    const seen: string[] = [];
    let f!: Future<string>;
    await run(async () => {
      f = pool.submit(sleepy, 150);
      f.addDoneCallback((x) => seen.push(`cb ${typeof x.result()}`));
    });
    expect(typeof (await f)).toBe("string");
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(["cb string"]);
    await pool.shutdown();
  });

  it("shutdown({ cancelFutures: true }) after run() cancels a queued future with a done callback, and its callback runs", async () => {
    // (it threw 'Event loop is closed': the cancel scheduled the callback on the closed loop)
    const pool = make({ maxWorkers: 1 });
    const seen: string[] = [];
    let queued!: Future<string>;
    await run(async () => {
      pool.submit(sleepy, 150);
      queued = pool.submit(whoAmI);
      queued.addDoneCallback((x) => seen.push(`queued cb cancelled ${x.cancelled()}`));
    });
    await pool.shutdown({ cancelFutures: true });
    expect(queued.cancelled()).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(["queued cb cancelled true"]);
  });

  it("map yields results in input order, with and without chunks", async () => {
    await using pool = make({ maxWorkers: 2 });
    const xs = Array.from({ length: 25 }, (_, i) => i);
    for (const chunksize of [1, 4]) {
      const out: number[] = [];
      for await (const y of pool.map((x: number) => x * x, xs, { chunksize })) out.push(y);
      expect(out).toEqual(xs.map((x) => x * x));
    }
  });

  it("keeps an error's class name, message, stack, cause and data across the boundary", async () => {
    await using pool = make({ maxWorkers: 1 });
    const err = (await pool.submit(throwCustom).then(
      () => null,
      (e: unknown) => e,
    )) as Error & { code?: string };
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("MyError");
    expect(err.constructor.name).toBe("MyError");
    expect(err.message).toBe("custom failure");
    expect(err.stack).toContain("throwCustom");
    expect(err.code).toBe("E_MINE");
    expect(err.cause).toBeInstanceOf(RangeError);
    expect((err.cause as Error).message).toBe("root cause");
    const te = await pool.submit((o: { x: number } | null) => o!.x, null).then(() => null, (e: unknown) => e);
    expect(te).toBeInstanceOf(TypeError);
  });

  it("rebuilds an ExceptionGroup as the kernel's, with its sub-errors rebuilt the same way", async () => {
    await using pool = make({ maxWorkers: 1 });
    const g = (await pool.submit(throwGroup).then(() => null, (e: unknown) => e)) as ExceptionGroup;
    expect(g).toBeInstanceOf(ExceptionGroup);
    expect(g.rawMessage).toBe("two things failed");
    expect(g.message).toMatch(/^two things failed \(2 sub-exceptions\)/);
    expect(g.exceptions).toHaveLength(2);
    const [first, inner] = g.exceptions as [Error & { code?: string }, ExceptionGroup];
    expect(first.constructor.name).toBe("MyError");
    expect(first.code).toBe("E_MINE");
    expect(inner).toBeInstanceOf(ExceptionGroup);
    expect(inner.exceptions[0]).toBeInstanceOf(RangeError);
    const [match, rest] = g.split(RangeError);
    expect(match?.exceptions[0]).toBeInstanceOf(ExceptionGroup);
    expect(rest?.exceptions).toEqual([first]);
  });

  it("rebuilds the library's errors from above the kernel as themselves, with their data (streams, subprocesses, channels)", async () => {
    await using pool = make({ maxWorkers: 1 });
    const classes = [IncompleteReadError, LimitOverrunError, ConnectionResetError, ProcessLookupError, EndOfChannel, BrokenResourceError, ClosedResourceError];
    const got = new Map<string, Error & Record<string, unknown>>();
    for (const C of classes) got.set(C.name, (await pool.submit(throwLibraryError, C.name).then(() => null, (e: unknown) => e)) as Error & Record<string, unknown>);
    for (const C of classes) {
      const e = got.get(C.name)!;
      expect(e, C.name).toBeInstanceOf(C);
      expect(e).toBeInstanceOf(AsyncioError);
      expect(e.name).toBe(C.name);
    }
    const incomplete = got.get("IncompleteReadError")!;
    expect([Buffer.from(incomplete["partial"] as Uint8Array).toString(), incomplete["expected"], incomplete.message]).toEqual(["ab", 5, "2 bytes read on a total of 5 expected bytes"]);
    expect(got.get("LimitOverrunError")!["consumed"]).toBe(7);
    expect([got.get("ConnectionResetError")!["code"], got.get("ProcessLookupError")!["code"]]).toEqual(["ECONNRESET", "ESRCH"]);
  });

  it("an inline function that uses its outer scope fails with an error that says so", async () => {
    await using pool = make({ maxWorkers: 1 });
    const secret = 41;
    const err = (await pool.submit(() => secret + 1).then(() => null, (e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ReferenceError);
    expect(err.message).toMatch(/secret is not defined.*outer scope/);
  });

  it("rejects arguments that cannot be cloned at submit, and submit after shutdown", async () => {
    const pool = make({ maxWorkers: 1 });
    expect(() => pool.submit((f: unknown) => f, () => 1)).toThrow(/argument 1 of submit\(\).*cannot be cloned/);
    expect(() => pool.submit((s: unknown) => s, Symbol("x"))).toThrow(TypeError);
    expect(() => make({ maxWorkers: -1 })).toThrow("Expected maxWorkers to be a positive integer, got -1 (number)");
    await pool.shutdown();
    expect(() => pool.submit(add, 1, 2)).toThrow(RuntimeError);
    expect(() => pool.submit(add, 1, 2)).toThrow("cannot schedule new futures after shutdown");
  });

  it("cancelling a queued task removes it: it never runs", async () => {
    await using pool = make({ maxWorkers: 1 });
    const first = pool.submit(sleepy, 300);
    const m = marker();
    const second = pool.submit(sleepy, 0, m);
    await delay(50);
    expect(second.cancel()).toBe(true);
    expect(await first).toMatch(/_0$/);
    await expect(second).rejects.toBeInstanceOf(CancelledError);
    expect(await pool.submit(add, 1, 1)).toBe(2);
    expect(existsSync(m)).toBe(false);
    expect(pool.statistics()).toMatchObject({ cancelled: 1, queued: 0 });
  });

  it("cancelling a running task aborts its signal; the worker survives when the task returns", async () => {
    await using pool = make({ maxWorkers: 1, cancelGrace: 5000 });
    await pool.submit(whoAmI); // warm up: the worker is ready
    const f = pool.submit(untilAborted);
    await delay(300);
    expect(f.cancel()).toBe(true);
    await expect(f).rejects.toBeInstanceOf(CancelledError);
    const name = await pool.submit(whoAmI);
    expect(name).toMatch(/_0$/); // the same worker: it honoured the signal
    expect(pool.statistics().crashedWorkers).toBe(0);
  });

  it("cancelling a task that ignores its signal terminates the worker after the grace period and replaces it", async () => {
    await using pool = make({ maxWorkers: 1, cancelGrace: 100 });
    await pool.submit(whoAmI); // warm up: the worker is ready
    const f = pool.submit(spin);
    await delay(300);
    f.cancel();
    await expect(f).rejects.toBeInstanceOf(CancelledError);
    expect(await pool.submit(whoAmI)).toMatch(/_1$/);
    expect(pool.statistics()).toMatchObject({ workers: 1, crashedWorkers: 0 });
  });

  it("a blocking sleepSync is interrupted by cancellation (threads) or its worker replaced (processes)", async () => {
    await using pool = make({ maxWorkers: 1, cancelGrace: 200 });
    await pool.submit(whoAmI); // warm up: the worker is ready
    const f = pool.submit(sleepy, 60_000);
    await delay(200);
    f.cancel();
    await expect(f).rejects.toBeInstanceOf(CancelledError);
    expect(await pool.submit(whoAmI)).toMatch(kind === "threads" ? /_0$/ : /_1$/);
  });

  it("per-task timeouts count from the task's start, not from submission", async () => {
    await using pool = make({ maxWorkers: 1, cancelGrace: 200 });
    // (queuedLong's 50 ms run, its dispatch and its result have 750 ms of its timeout to spare on a loaded
    // machine; its wait in the queue, ~1000 ms, is longer than the timeout)
    const first = pool.submit(sleepy, 1000);
    const queuedLong = pool.submitWith({ timeout: 800 }, sleepy, 50); // waits ~1000 ms in the queue
    const tooSlow = pool.submitWith({ timeout: 100 }, sleepy, 60_000);
    expect(await first).toBeTypeOf("string");
    expect(await queuedLong).toBeTypeOf("string");
    const e = (await tooSlow.then(() => null, (x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toMatch(/timed out after 100 ms/);
    expect(await pool.submit(add, 2, 2)).toBe(4);
  });

  it("a worker that calls process.exit fails only its own task, is replaced, and nothing is lost", async () => {
    await using pool = make({ maxWorkers: 2 });
    const others = Array.from({ length: 6 }, (_, i) => pool.submit(sleepy, 20 + i));
    const bad = pool.submit(exitNow, 3);
    const e = (await bad.then(() => null, (x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(BrokenWorkerError);
    expect(e.message).toMatch(/exited with code 3/);
    expect((await Promise.all(others)).length).toBe(6); // gather needs a running loop; plain awaits do not
    expect(await pool.submit(add, 1, 2)).toBe(3);
    expect(pool.statistics().crashedWorkers).toBe(1);
  });

  it("a worker that throws at top level fails its task with BrokenWorkerError naming the cause", async () => {
    await using pool = make({ maxWorkers: 1 });
    const e = (await pool.submit(crashAtTopLevel).then(() => null, (x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(BrokenWorkerError);
    expect(e.message).toMatch(/uncaught Error: boom at top level/);
    expect((e.cause as Error).message).toBe("boom at top level");
    expect(await pool.submit(add, 2, 5)).toBe(7);
  });

  it("a worker that runs out of memory under resourceLimits fails its task and is replaced", async () => {
    await using pool = make({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } });
    const e = (await pool.submit(eatMemory).then(() => null, (x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(BrokenWorkerError);
    expect(e.message).toMatch(/out of memory/);
    expect(await pool.submit(add, 20, 22)).toBe(42);
  });

  it("a failing initializer breaks the pool: pending tasks fail and submit throws", async () => {
    const pool = make({
      maxWorkers: 1,
      initializer: () => {
        throw new Error("bad config");
      },
    });
    const e = (await pool.submit(add, 1, 2).then(() => null, (x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(BrokenExecutor);
    expect((e.cause as Error).message).toBe("bad config");
    expect(() => pool.submit(add, 1, 2)).toThrow(BrokenExecutor);
    await pool.shutdown();
  });

  it("shutdown waits for pending tasks; wait: false returns at once; cancelFutures cancels queued ones", async () => {
    const pool = make({ maxWorkers: 1 });
    const a = pool.submit(sleepy, 100);
    const b = pool.submit(add, 1, 1);
    await pool.shutdown();
    expect(a.done() && b.done()).toBe(true);
    expect(pool.statistics().workers).toBe(0);

    const pool2 = make({ maxWorkers: 1 });
    await pool2.submit(add, 0, 0);
    const c = pool2.submit(sleepy, 300);
    await delay(100); // c is running: cancelFutures does not touch it
    const d = pool2.submit(add, 2, 2);
    const s = pool2.shutdown({ wait: false, cancelFutures: true });
    expect(s.done()).toBe(true);
    expect(d.cancelled()).toBe(true);
    expect(await c).toBeTypeOf("string");
    await pool2.shutdown();
    expect(pool2.statistics().workers).toBe(0);
  });

  it("shutdown with a timeout never hangs on a task that never returns", async () => {
    const pool = make({ maxWorkers: 1 });
    const f = pool.submit(spin);
    await delay(200);
    await pool.shutdown({ timeout: 100 });
    expect(f.cancelled()).toBe(true);
    expect(pool.statistics().workers).toBe(0);
  });

  it("its futures work with run, runInExecutor, gather, waitFor, task groups and cancellation", async () => {
    await using pool = make({ maxWorkers: 2, cancelGrace: 200 });
    await run(async () => {
      const loop = getRunningLoop();
      expect(await gather(...[1, 2, 3].map((i) => loop.runInExecutor(pool, add, i, i)))).toEqual([2, 4, 6]);
      await expect(waitFor(loop.runInExecutor(pool, sleepy, 60_000), 100)).rejects.toBeInstanceOf(TimeoutError);
      const r = await taskGroup(async (tg) => {
        const t1 = tg.createTask(() => loop.runInExecutor(pool, add, 1, 2));
        const t2 = tg.createTask(() => loop.runInExecutor(pool, add, 3, 4));
        return [t1, t2];
      });
      expect(r.map((t) => t.result())).toEqual([3, 7]);
      // cancelling the awaiting task cancels the job
      const t = loop.createTask(() => loop.runInExecutor(pool, untilAborted));
      await sleep(300);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
    });
    expect(pool.statistics().cancelled).toBeGreaterThanOrEqual(2);
  });
});

/** Run tiny jobs until the pool's pipeline is deep (its measured pace makes it send many jobs at once). */
async function deepen(pool: ThreadPoolExecutor): Promise<void> {
  await Promise.all(Array.from({ length: 300 }, (_, i) => pool.submit((x: number) => x, i)));
}

describe("thread pool: nothing lost, every job not started can be cancelled", () => {
  it("a worker that calls process.exit keeps the results of the jobs it finished before", async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    await deepen(pool);
    const futs = Array.from({ length: 50 }, (_, i) =>
      pool.submit((k: number) => {
        if (k === 40) process.exit(1);
        return k;
      }, i),
    );
    await Promise.allSettled(futs);
    const got = futs.map((f) => (f.exception() == null ? f.result() : (f.exception() as Error).name));
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => (i === 40 ? "BrokenWorkerError" : i)));
  });

  it("a worker the pool terminates (a cancelled job ignored cancelGrace) keeps the results of the jobs it finished before", async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1, cancelGrace: 50 });
    await deepen(pool);
    const started = new Int32Array(new SharedArrayBuffer(4));
    const stuckFn = (sab: SharedArrayBuffer | null): number => {
      if (sab === null) return 0;
      Atomics.store(new Int32Array(sab), 0, 1);
      for (;;) Atomics.wait(new Int32Array(sab), 0, 1, 1000); // ignores its signal
    };
    expect(await pool.submit(stuckFn, null)).toBe(0); // (compiled in the worker: its start is not delayed)
    const fast = Array.from({ length: 20 }, (_, i) => pool.submit((x: number) => x, i));
    const stuck = pool.submit(stuckFn, started.buffer as SharedArrayBuffer);
    while (Atomics.load(started, 0) === 0) await delay(5);
    stuck.cancel();
    await Promise.allSettled(fast);
    expect(fast.map((f) => (f.exception() == null ? f.result() : String(f.exception())))).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await pool.submit(add, 1, 1)).toBe(2); // replaced
  });

  it("shutdown({ cancelFutures: true }) cancels the jobs sent to a worker's pipeline that have not started", async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    await deepen(pool);
    const sab = new SharedArrayBuffer(8); // [runs, gate]
    const words = new Int32Array(sab);
    const futs = Array.from({ length: 30 }, (_, i) =>
      pool.submit((k: number, s: SharedArrayBuffer) => {
        const w = new Int32Array(s);
        Atomics.add(w, 0, 1);
        while (Atomics.load(w, 1) === 0) Atomics.wait(w, 1, 0, 1000);
        return k;
      }, i, sab),
    );
    while (Atomics.load(words, 0) === 0) await delay(5); // the first job runs; the others wait in its pipeline
    const done = pool.shutdown({ cancelFutures: true });
    expect(futs.filter((f) => !f.cancelled()).length).toBe(1);
    Atomics.store(words, 1, 1);
    Atomics.notify(words, 1);
    await done;
    expect(Atomics.load(words, 0)).toBe(1); // the cancelled jobs never ran
    expect(futs[0]!.result()).toBe(0);
    expect(pool.statistics()).toMatchObject({ completed: 301, cancelled: 29, workers: 0 });
  });
});

describe("process pool: a job that never started is not failed by its worker's death", () => {
  it("a timer left by the job before kills the process: the next job, sent but not started, runs on a new process", async () => {
    await using pool = new ProcessPoolExecutor({ maxWorkers: 1 });
    const m = marker();
    expect(
      await pool.submit(() => {
        setImmediate(() => {
          // (runs right after this job's result is sent, before the next job can arrive; which waits)
          const end = Date.now() + 200;
          while (Date.now() < end);
          throw new Error("leftover timer");
        });
        return "A";
      }),
    ).toBe("A");
    const b = pool.submit((path: string) => {
      process.getBuiltinModule("node:fs").writeFileSync(path, "ran");
      return currentThread().name;
    }, m);
    expect(await b).toMatch(/_1$/); // ran once, on the replacement
    expect(existsSync(m)).toBe(true);
    expect(pool.statistics().crashedWorkers).toBe(1);
  });
});

describe("default executor", () => {
  it("runInExecutor(null) and toThread use a ThreadPoolExecutor that run() shuts down", async () => {
    const names = await run(async () => {
      const a = await getRunningLoop().runInExecutor(null, whoAmI);
      const b = await toThread((x: number) => x + 1, 1);
      return [a, b];
    });
    expect(names[0]).toMatch(/^ThreadPoolExecutor-\d+_0$/);
    expect(names[1]).toBe(2);
  });

  it("after shutdownDefaultExecutor, toThread and runInExecutor(null) throw as CPython's", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      expect(await toThread((x: number) => x + 1, 1)).toBe(2);
      await loop.shutdownDefaultExecutor();
      // CPython: Lib/asyncio/base_events.py:556 (_check_default_executor), from run_in_executor(None, ...)
      expect(() => toThread((x: number) => x, 1)).toThrow(new RuntimeError("Executor shutdown has been called"));
      expect(() => loop.runInExecutor(null, (x: number) => x, 1)).toThrow(new RuntimeError("Executor shutdown has been called"));
    });
  });

  it("setDefaultExecutor replaces it", async () => {
    const r = await run(async () => {
      getRunningLoop().setDefaultExecutor(new ThreadPoolExecutor({ maxWorkers: 1, threadNamePrefix: "mine" }));
      return await toThread(whoAmI);
    });
    expect(r).toBe("mine_0");
  });

  it("a virtual-time loop does not jump its clock over an executor job", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const t0 = loop.time();
        let fired = false;
        loop.callLater(10_000, () => (fired = true));
        await toThread(sleepy, 100);
        expect(loop.time()).toBe(t0);
        expect(fired).toBe(false);
      },
      { virtualTime: true },
    );
  });
});

declare function currentThread(): { name: string };

describe("tracing", () => {
  it("reports each job queued, started on a named worker, and finished", async () => {
    const { installTracer } = await import("../../src/tracing/index.js");
    const events: string[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      installTracer(loop, {
        onExecutorJobQueued: (j) => events.push(`queued ${j.id} ${j.fn}`),
        onExecutorJobStarted: (j, w) => events.push(`started ${j.id} ${w}`),
        onExecutorJobFinished: (j, w, outcome) => events.push(`finished ${j.id} ${w} ${outcome}`),
      });
      await using pool = new ThreadPoolExecutor({ maxWorkers: 1, threadNamePrefix: "traced" });
      await loop.runInExecutor(pool, add, 1, 2);
    });
    expect(events).toEqual(["queued 1 add", "started 1 traced_0", "finished 1 traced_0 ok"]);
  });
});

describe("inline functions", () => {
  it("are compiled once per worker even when a new function object is made per task", async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const out = await Promise.all([1, 2, 3].map((i) => pool.submit((x: number) => x * 2, i)));
    expect(out).toEqual([2, 4, 6]);
    expect((pool as unknown as { _fnIds: Map<string, number> })._fnIds.size).toBe(1);
  });
});

describe("currentThread() outside a pool", () => {
  it("is MainThread on the main thread and Thread-<threadId> in a worker thread of the program's own", async () => {
    const { currentThread: here } = await import("../../src/index.js");
    expect(here()).toEqual({ name: "MainThread", isMainThread: true });
    const dist = new URL("../../dist/src/index.js", import.meta.url).href;
    const { Worker } = await import("node:worker_threads");
    const code = `import { parentPort, threadId } from "node:worker_threads";
      import { currentThread } from ${JSON.stringify(dist)};
      parentPort.postMessage({ info: currentThread(), threadId });`;
    const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
    const got = await new Promise<{ info: unknown; threadId: number }>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    await w.terminate();
    expect(got.info).toEqual({ name: `Thread-${got.threadId}`, isMainThread: false });
  });
});
