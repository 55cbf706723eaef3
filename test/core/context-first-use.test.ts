/**
 * The first use of a context in a process (`src/core/context.ts`, `EventLoop._contextStarts`): until then
 * tasks and callbacks take no copy of the context, so the first `set` or `enterWith` must not reach what
 * was scheduled before it. Each case runs in a fresh process (the first use happens once per process),
 * against the built package (`npm run build` first), and compares with its CPython 3.13 twin's output.
 * Then the rules for callbacks given a context, and a callback's errors.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ContextVar, Runner, copyContext, createTask, getRunningLoop, run, sleep, type ExceptionContext } from "../../src/index.js";

const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

function fresh(body: string, virtualTime: boolean): string {
  const program = `
    import { run, sleep, createTask, gather, getRunningLoop, ContextVar } from ${JSON.stringify(dist)};
    import { AsyncLocalStorage } from "node:async_hooks";
    const out = [];
    ${body.replace("RUN_OPTIONS", `{ virtualTime: ${virtualTime} }`)}
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000 });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as string;
}

describe("the first use of a context in a process reaches nothing scheduled before it", () => {
  for (const virtualTime of [false, true]) {
    const clock = virtualTime ? "virtual time" : "real clock";

    it(`test_context_1 in a fresh process: a task made before its creator's first set sees the old value (${clock})`, () => {
      // CPython 3.13: ['main nope', 'main yes', 'sub nope', 'main yes']. (Node 20 gave 'sub yes'.)
      const body = `
        const cvar = new ContextVar("cvar", { default: "nope" });
        await run(async () => {
          const sub = async () => { await sleep(10); out.push("sub " + cvar.get()); cvar.set("something else"); };
          out.push("main " + cvar.get());
          const subtask = createTask(sub);
          cvar.set("yes");
          out.push("main " + cvar.get());
          await subtask;
          out.push("main " + cvar.get());
        }, RUN_OPTIONS);`;
      expect(fresh(body, virtualTime)).toEqual(["main nope", "main yes", "sub nope", "main yes"]);
    });

    it(`requests handled by sibling tasks never inherit each other's value (${clock})`, () => {
      // CPython 3.13: '1: inherited None, now 1' ... (Node 20 gave 'inherited 1' for request 2)
      const body = `
        const requestId = new ContextVar("requestId", { default: null });
        async function handle(i) { const inherited = requestId.get(); requestId.set(i); await sleep(10 - i); return i + ": inherited " + inherited + ", now " + requestId.get(); }
        await run(async () => { out.push(...await gather(() => handle(1), () => handle(2), () => handle(3))); }, RUN_OPTIONS);`;
      expect(fresh(body, virtualTime)).toEqual(["1: inherited null, now 1", "2: inherited null, now 2", "3: inherited null, now 3"]);
    });

    it(`an AsyncLocalStorage first entered in a task: earlier tasks, callbacks and timers keep their own (${clock})`, () => {
      // The CPython twin (a ContextVar): tasks ['t1', 'none', 'none'], the early callback and main see 'none'.
      const body = `
        const als = new AsyncLocalStorage();
        await run(async () => {
          const t1 = createTask(async () => { als.enterWith("t1"); await sleep(2); return als.getStore(); });
          const t2 = createTask(async () => als.getStore());
          const t3 = createTask(async () => { await sleep(1); return als.getStore(); });
          getRunningLoop().callSoon(() => out.push("callSoon " + als.getStore()));
          getRunningLoop().callLater(1, () => out.push("callLater " + als.getStore()));
          out.push("tasks " + (await gather(t1, t2, t3)).join(","), "main " + als.getStore());
        }, RUN_OPTIONS);
        out.push("after run " + als.getStore());`;
      expect(fresh(body, virtualTime)).toEqual([
        "callSoon undefined",
        "callLater undefined",
        "tasks t1,,",
        "main undefined",
        "after run undefined",
      ]);
    });

    it(`an eager task's first enterWith stays in the eager task, not in its caller (${clock})`, () => {
      // CPython 3.13 (eager_start=True, a ContextVar): the caller sees 'dflt' throughout, the task 'eager'.
      const body = `
        const als = new AsyncLocalStorage();
        const v = () => als.getStore() ?? "dflt";
        await run(async () => {
          const t = createTask(async () => { als.enterWith("eager"); await sleep(1); return v(); }, { eagerStart: true });
          out.push("caller " + v());
          out.push("task " + (await t), "caller " + v());
        }, RUN_OPTIONS);`;
      expect(fresh(body, virtualTime)).toEqual(["caller dflt", "task eager", "caller dflt"]);
    });

    it(`a ContextVar made and set for the first time in an eager task's first step stays in the task (${clock})`, () => {
      // CPython 3.13 (eager_task_factory, the ContextVar made inside the task): main sees d, the task t.
      const body = `
        let cv;
        await run(async () => {
          const t = createTask(async () => { cv = new ContextVar("cv", { default: "d" }); cv.set("t"); await sleep(0); return cv.get(); }, { eagerStart: true });
          out.push("main " + cv.get());
          out.push("task " + (await t), "main " + cv.get());
        }, RUN_OPTIONS);`;
      expect(fresh(body, virtualTime)).toEqual(["main d", "task t", "main d"]);
    });

    it(`a callback's first set stays in the callback (${clock})`, () => {
      // CPython 3.13: cb2 sees dflt, the task made before sees dflt, main dflt.
      const body = `
        const v = new ContextVar("v", { default: "dflt" });
        await run(async () => {
          const loop = getRunningLoop();
          const t = createTask(async () => v.get());
          loop.callSoon(() => v.set("cb1"));
          loop.callSoon(() => out.push("cb2 " + v.get()));
          out.push("task " + (await t));
          await sleep(2);
          out.push("main " + v.get());
        }, RUN_OPTIONS);`;
      expect(fresh(body, virtualTime)).toEqual(["cb2 dflt", "task dflt", "main dflt"]);
    });
  }
});

describe("callbacks and contexts", () => {
  const v = new ContextVar<string>("cb-v", { default: "dflt" });

  it("a callback given a context runs as context.run(callback): what it sets stays in the context (CPython's Handle._run)", async () => {
    const seen: string[] = [];
    await run(
      async () => {
        const ctx = copyContext();
        ctx.run(() => v.set("c2"));
        const loop = getRunningLoop();
        loop.callSoon(() => v.set("cb-set"), { context: ctx });
        loop.callLater(1, () => seen.push(v.get()), { context: ctx });
        await sleep(2);
        seen.push(ctx.get(v), v.get());
      },
      { virtualTime: true },
    );
    expect(seen).toEqual(["cb-set", "cb-set", "dflt"]); // CPython 3.13: the same
  });

  it("a done callback runs in the context current when it was added, or as context.run(cb) when given one (CPython's add_done_callback)", async () => {
    const seen: string[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        const f = loop.createFuture<number>();
        v.set("at-add");
        f.addDoneCallback(() => seen.push(`future ${v.get()}`));
        v.set("at-resolve");
        await createTask(async () => {
          v.set("resolver-task");
          f.setResult(1);
        });
        v.set("before-task");
        const t = createTask(async () => {
          v.set("inside-task");
          await sleep(1);
        });
        t.addDoneCallback(() => seen.push(`task ${v.get()}`));
        const ctx = copyContext();
        const g = loop.createFuture<number>();
        const cb = (): void => void v.set("set-by-cb");
        g.addDoneCallback(cb, { context: ctx });
        g.setResult(2);
        await t;
        await sleep(1);
        seen.push(`ctx ${ctx.get(v)}`, `main ${v.get()}`);
        const h = loop.createFuture<number>();
        h.addDoneCallback(cb);
        expect(h.removeDoneCallback(cb)).toBe(1); // (found through the context's wrapper)
      },
      { virtualTime: true },
    );
    // CPython 3.13: future at-add, task before-task, ctx set-by-cb, main before-task
    expect(seen).toEqual(["future at-add", "task before-task", "ctx set-by-cb", "main before-task"]);
  });

  it("a task given a context sets its values in it, on every Node (CPython's task runs in that very Context)", async () => {
    const seen: string[] = [];
    await run(
      async () => {
        const ctx = copyContext();
        await createTask(
          async () => {
            v.set("task-sync");
            await sleep(1);
            seen.push(v.get());
          },
          { context: ctx },
        );
        seen.push(ctx.get(v));
      },
      { virtualTime: true },
    );
    // (it ran in a copy before: Node 20 wrote 'task-sync' into ctx, Node 24 did not, and neither wrote the
    // values set after an await)
    expect(seen).toEqual(["task-sync", "task-sync"]);
  });

  it("what reaches the context: the task's sets, before and after awaits, in awaited functions and chains; not its child tasks', callbacks' or another Context.run's", async () => {
    // CPython: a task given context=ctx runs in ctx, so ctx sees each set of its code; its child tasks and
    // call_soon callbacks run in copies and other.run(...) in other. (A difference by nature, rosetta: the
    // task's own reads follow Node's continuations, so the reset restores the value the task's code saw,
    // 'before-await', where CPython's task, sharing one context, would have seen 'in-awaited-fn'.)
    const seen: string[] = [];
    await run(
      async () => {
        const ctx = copyContext();
        const other = copyContext();
        const helper = async (): Promise<void> => {
          await sleep(1);
          v.set("in-awaited-fn");
        };
        await createTask(
          async () => {
            v.set("before-await");
            await sleep(1);
            seen.push(`ctx ${ctx.get(v)}`);
            await helper();
            seen.push(`ctx ${ctx.get(v)}`);
            await Promise.all([(async () => (await sleep(1), v.set("in-chain")))()]);
            seen.push(`ctx ${ctx.get(v)}`);
            await createTask(async () => {
              await sleep(1);
              v.set("child");
            });
            getRunningLoop().callSoon(() => v.set("callback"));
            await sleep(1);
            other.run(() => v.set("other"));
            seen.push(`ctx ${ctx.get(v)} other ${other.get(v)}`);
            const t = v.set("to-reset");
            seen.push(`ctx ${ctx.get(v)}`);
            v.reset(t); // (back to the task's own value: "before-await", see rosetta)
          },
          { context: ctx },
        );
        seen.push(`ctx ${ctx.get(v)}`);
      },
      { virtualTime: true },
    );
    expect(seen).toEqual(["ctx before-await", "ctx in-awaited-fn", "ctx in-chain", "ctx in-chain other other", "ctx to-reset", "ctx before-await"]);
  });

  it("the exception handler sees what the failing callback set, and an async callback's rejection reaches it", async () => {
    const reports: string[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_l, c: ExceptionContext) => reports.push(`${c.message}: ${String((c.exception as Error).message)} (v=${v.get()})`));
        loop.callSoon(function failing() {
          v.set("cb2");
          throw new Error("sync");
        });
        loop.callSoon(async function later() {
          await sleep(1);
          throw new Error("async");
        });
        await sleep(5);
      },
      { virtualTime: true },
    );
    // CPython 3.13 runs the handler in the handle's context: 'cb2'. (An async callback is refused by
    // CPython's call_soon in debug mode; here its rejection is not lost, nor does it crash the process.)
    expect(reports).toEqual(["Exception in callback failing: sync (v=cb2)", "Exception in callback later: async (v=dflt)"]);
  });
});

describe("a task's Context and a Runner's kept values (stop 30's probe of the write-back)", () => {
  it("a task given a context that sets one variable a million times keeps one pending store, not a million", async () => {
    const w = new ContextVar<number>("w", { default: -1 });
    const ctx = copyContext();
    await run(async () => {
      await createTask(
        async () => {
          for (let i = 0; i < 1_000_000; i++) w.set(i);
        },
        { context: ctx },
      );
    }, { virtualTime: true });
    expect((ctx as unknown as { _pending: Map<unknown, unknown> })._pending.size).toBe(1);
    expect(ctx.get(w)).toBe(999_999);
  });

  it("an eager task given a context, started inside another Context.run, writes its first step's sets to its own context (CPython: eager_start=True)", async () => {
    const w = new ContextVar<string>("w", { default: "none" });
    const seen: string[] = [];
    await run(async () => {
      const ctx = copyContext();
      const other = copyContext();
      const t = other.run(() =>
        createTask(
          async () => {
            w.set("eagerFirstStep");
          },
          { context: ctx, eagerStart: true },
        ),
      );
      await t;
      seen.push(`ctx ${ctx.get(w)} other ${other.get(w)}`);
    }, { virtualTime: true });
    expect(seen).toEqual(["ctx eagerFirstStep other none"]); // (it was "ctx none": the write was taken for other's)
  });

  it("a reused Runner: each run's main sees its caller's AsyncLocalStorage store, and the ContextVar values of the runs before", async () => {
    const { AsyncLocalStorage } = await import("node:async_hooks");
    const als = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    const runner = new Runner({ virtualTime: true });
    try {
      let w: ContextVar<string> | null = null;
      for (const req of ["req-1", "req-2", "req-3"]) {
        await als.run(req, () =>
          runner.run(async () => {
            w ??= new ContextVar<string>("made-in-run-1", { default: "none" }); // (first made inside run 1)
            seen.push(`${req}: store ${als.getStore()}, w ${w.get()}`);
            await sleep(1);
            w.set(req);
          }),
        );
      }
    } finally {
      await runner.close();
    }
    // (CPython's Runner keeps one context, so run 2 sees what run 1 set; the stores are Node's own: each
    // run's caller's. The third run saw the second's store before, and a variable first made in run 1 lost
    // run 1's value)
    expect(seen).toEqual(["req-1: store req-1, w none", "req-2: store req-2, w req-1", "req-3: store req-3, w req-2"]);
  });
});
