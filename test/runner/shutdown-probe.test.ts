/**
 * Findings of a probe of `run()`/`Runner` (stop 29): chains nobody awaited that were woken as `main` ended
 * or whose cleanup awaits foreign work, two `run()`s of one runner at once, `close()` during a `run()`, and
 * the keys of the "never retrieved" report. The CPython twins are in the comments.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, Runner, RuntimeError, createTask, fromPromise, getRunningLoop, run, sleep, type ExceptionContext } from "../../src/index.js";
import { rejection } from "../core/helpers.js";

const V = { virtualTime: true };


/** Node's unhandled rejections while `body` runs and for a few macrotasks after (Node reports them late). */
async function watchUnhandled<T>(body: () => Promise<T>): Promise<{ value: T; unhandled: unknown[] }> {
  const unhandled: unknown[] = [];
  const on = (reason: unknown): void => void unhandled.push(reason);
  process.on("unhandledRejection", on);
  try {
    const value = await body();
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    return { value, unhandled };
  } finally {
    process.off("unhandledRejection", on);
  }
}

/** The unhandled rejections other than the `CancelledError` run()'s end expects from a chain it ended. */
const unexpected = (reasons: unknown[]): string[] =>
  reasons.filter((r) => !(r instanceof CancelledError)).map((r) => (r instanceof Error ? `${r.name}: ${r.message.slice(0, 60)}` : String(r)));

describe("run()'s end and chains nobody awaited (rosetta: 'A call nobody awaits is part of the task that made it')", () => {
  // Twin (p16.py): create_task(heartbeat()) looping on sleep(0); main returns after 3 sleep(0)s:
  //   heartbeat caught CancelledError / main
  for (const n of [0, 3]) {
    it(`a heartbeat spinning on sleep(0), woken as main (${n} sleep(0)s) ends, is cancelled and waited for`, async () => {
      const caught: string[] = [];
      const { value, unhandled } = await watchUnhandled(() =>
        run(async () => {
          void (async () => {
            try {
              for (;;) await sleep(0);
            } catch (e) {
              caught.push((e as Error).constructor.name);
              throw e;
            }
          })();
          for (let i = 0; i < n; i++) await sleep(0);
          return "main";
        }, V),
      );
      expect(value).toBe("main");
      expect(caught).toEqual(["CancelledError"]);
      expect(unexpected(unhandled)).toEqual([]);
    });
  }

  it("a heartbeat on sleep(10) due with main's sleep(30) at the same virtual moment is cancelled and waited for", async () => {
    const log: string[] = [];
    const { value, unhandled } = await watchUnhandled(() =>
      run(async () => {
        void (async () => {
          try {
            for (;;) await sleep(10);
          } catch (e) {
            log.push(`caught ${(e as Error).constructor.name}`);
            throw e;
          } finally {
            log.push("finally");
          }
        })();
        await sleep(30);
        return "main";
      }, V),
    );
    expect(value).toBe("main");
    expect(log).toEqual(["caught CancelledError", "finally"]);
    expect(unexpected(unhandled)).toEqual([]);
  });

  it("a leftover chain whose finally awaits foreign work through fromPromise is waited for, and its CancelledError dropped", async () => {
    // (A raw foreign promise there is not seen: the chain is nobody's promise, so nothing tells its end
    // from a wait on foreign work; rosetta says to wrap it with fromPromise.)
    const log: string[] = [];
    const { value, unhandled } = await watchUnhandled(() =>
      run(async () => {
        void (async () => {
          try {
            for (;;) await sleep(10);
          } finally {
            log.push("finally");
            await fromPromise(new Promise<void>((resolve) => setTimeout(resolve, 20))); // (foreign work)
            log.push("finally after foreign");
          }
        })();
        await sleep(35);
        return "main";
      }, V),
    );
    expect(value).toBe("main");
    expect(log).toEqual(["finally", "finally after foreign"]); // (all of it before run() returned)
    expect(unexpected(unhandled)).toEqual([]);
  });
});

describe("Runner: run() and close() while a run() is in progress", () => {
  it("a second run() is refused before its main starts; the first run's result is kept", async () => {
    const runner = new Runner(V);
    const started: string[] = [];
    const a = runner.run(async () => {
      started.push("a");
      await sleep(10);
      return "a";
    });
    const b = runner.run(async () => {
      started.push("b");
      await sleep(10);
      return "b";
    });
    const e = await rejection(b);
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as Error).message).toMatch(/^Runner\.run\(\) cannot be called while another run\(\)/);
    expect(await a).toBe("a");
    expect(started).toEqual(["a"]);
    expect(await runner.run(async () => "c")).toBe("c");
    await runner.close();
  });

  it("close() during a run() is refused before it cancels anything; the run ends normally; close() then works", async () => {
    const runner = new Runner(V);
    const log: string[] = [];
    const p = runner.run(async () => {
      try {
        await sleep(100);
        log.push("slept");
        return "m";
      } finally {
        log.push("finally");
      }
    });
    const e = await rejection(runner.close());
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as Error).message).toMatch(/^Runner\.close\(\) cannot be called while its run\(\) is in progress/);
    expect(await p).toBe("m");
    expect(log).toEqual(["slept", "finally"]);
    expect(runner.getLoop().isClosed()).toBe(false);
    const loop = runner.getLoop();
    await runner.close();
    expect(loop.isClosed()).toBe(true);
    expect(() => runner.getLoop()).toThrow("Runner is closed");
  });
});

describe('"Task exception was never retrieved": the context', () => {
  // Twin (p10.py, CPython futures.py:97-102): the handler's context has keys exception, future, message.
  it("has the task under `future` (as CPython) and under `task`", async () => {
    const seen: ExceptionContext[] = [];
    let task: unknown;
    await run(async () => {
      getRunningLoop().setExceptionHandler((_l, c) => void seen.push(c));
      task = createTask(async () => {
        throw new Error("IMPORTANT task failure");
      });
      await sleep(1);
    }, V);
    const reports = seen.filter((c) => c.message === "Task exception was never retrieved");
    expect(reports).toHaveLength(1);
    expect(reports[0]!.future).toBe(task);
    expect(reports[0]!.task).toBe(task);
    expect((reports[0]!.exception as Error).message).toBe("IMPORTANT task failure");
  });
});

describe("run()'s wait for chains nobody awaited does not jump virtual time (stop 30's probe)", () => {
  // CPython twin: a task sleeping 1 s with a done callback, call_later(2, ...), main sleeps 0.01 and returns:
  // the task is cancelled at shutdown, the callback sees it, the 2 s timer never fires.
  it("a .then left on a task: shutdown cancels the task; a callLater(2000) does not fire, the clock stays put", async () => {
    const log: string[] = [];
    let end = -1;
    await run(async () => {
      const loop = getRunningLoop();
      loop.callLater(2000, () => log.push(`callLater fired at ${loop.time()}`));
      createTask(async () => {
        await sleep(1000);
      }).then(
        () => log.push("resolved"),
        (e: unknown) => log.push(`rejected ${(e as Error).constructor.name} at ${loop.time()}`),
      );
      await sleep(10);
      setImmediate(() => (end = loop.time()));
      return "main";
    }, V);
    expect(log).toEqual(["rejected CancelledError at 10"]);
    expect(end).toBe(10);
  });
});

describe("an async done callback that rejects is reported, not an unhandled rejection (stop 30's probe)", () => {
  // CPython twin: add_done_callback(async def cb) never runs cb's body ("coroutine was never awaited"); a
  // JavaScript async callback runs, and its rejection, which nobody else can read, goes to the handler as a
  // synchronous throw's does.
  it("addDoneCallback(async () => { throw }) on a task and on a future: the handler gets it, run() ends normally", async () => {
    const reports: ExceptionContext[] = [];
    const { value, unhandled } = await watchUnhandled(() =>
      run(async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
        const boom = async (): Promise<void> => {
          throw new Error("async done callback boom");
        };
        createTask(async () => 1).addDoneCallback(boom);
        const f = getRunningLoop().createFuture<number>();
        f.addDoneCallback(boom);
        f.setResult(2);
        await sleep(1);
        return "main";
      }, V),
    );
    expect(value).toBe("main");
    expect(unhandled).toEqual([]);
    expect(reports.map((r) => [r.message, (r.exception as Error).message])).toEqual([
      ["Exception in callback boom", "async done callback boom"],
      ["Exception in callback boom", "async done callback boom"],
    ]);
  });
});

describe("run()'s end runs what is still queued, as CPython's Runner.close() (stop 30's fuzz)", () => {
  // CPython 3.13 twin: other() does sleep(0), then call_soon(print, "callSoon left"), print("other done");
  // main creates it, sleeps 0 and returns -> "main returns", "other done", "callSoon left", "after run".
  // asyncio-ts dropped "callSoon left": no iteration ran after main's (no task left to cancel).
  it("a callback queued by a task in main's last iteration runs before run() returns", async () => {
    const log: string[] = [];
    await run(async () => {
      const other = async (): Promise<void> => {
        await sleep(0);
        getRunningLoop().callSoon(() => log.push("callSoon left"));
        log.push("other done");
      };
      createTask(other);
      await sleep(0);
      log.push("main returns");
    }, V);
    log.push("after run");
    expect(log).toEqual(["main returns", "other done", "callSoon left", "after run"]);
  });

  it("two runs in a row: the second main is Task-4, as CPython's (its shutdown runs two tasks)", async () => {
    const { currentTask } = await import("../../src/index.js");
    const { spawnSync } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
    // (a process of its own: task numbers count for the whole process)
    const program = `
      import { run, currentTask } from ${JSON.stringify(dist)};
      const main = async () => console.log(currentTask().getName());
      await run(main);
      await run(main);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000 });
    expect(r.stdout).toBe("Task-1\nTask-4\n");
    expect(currentTask()).toBeNull();
  });
});
