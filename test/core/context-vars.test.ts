/**
 * Context per task, as CPython's contextvars (`src/core/context.ts`): every `AsyncLocalStorage` store and
 * `ContextVar` is copied into a task when it is created; values set in a task stay in it; callbacks run in
 * the context they were scheduled in. Cases ported from CPython's `Lib/test/test_context.py`
 * (`ContextTest`) and `test_tasks.py` (`test_context_1`, `test_context_3`, `test_context_4`), checked
 * against CPython 3.13 (the expected values are CPython's), plus one `AsyncLocalStorage` per request across
 * 1,000 concurrent request tasks, as OpenTelemetry uses it. The suite runs on Node 20 and Node 24, whose
 * `AsyncLocalStorage` are built differently (async hooks, async context frames).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import {
  ContextVar,
  Context,
  RuntimeError,
  Token,
  copyContext,
  createTask,
  gather,
  getRunningLoop,
  run,
  sleep,
  taskGroup,
} from "../../src/index.js";

describe("ContextVar and Context (test_context.py)", () => {
  it("test_context_var_new_1, test_context_var_repr: a name is a string", () => {
    expect(() => new ContextVar(1 as never)).toThrow("Expected name to be a string, got 1 (number)");
    const c = new ContextVar<number>("a");
    expect(c.name).toBe("a");
    expect(String(c)).toBe('<ContextVar name="a">');
  });

  it("test_context_getset_1: get, set, tokens, reset; a token is used once", () => {
    const c = new ContextVar<number>("c");
    expect(() => c.get()).toThrow(/has no value in this context \(LookupError\)/);
    expect(c.get(42)).toBe(42);
    const ctx = copyContext();
    ctx.run(() => {
      const t = c.set(42);
      expect(t).toBeInstanceOf(Token);
      expect(t.var).toBe(c);
      expect(t.oldValue).toBe(Token.MISSING);
      expect(c.get()).toBe(42);
      const t2 = c.set(43);
      expect(t2.oldValue).toBe(42);
      expect(c.get()).toBe(43);
      c.reset(t2);
      expect(c.get()).toBe(42);
      expect(() => c.reset(t2)).toThrow(RuntimeError);
      c.reset(t);
      expect(() => c.get()).toThrow(/LookupError/);
    });
    expect(() => new ContextVar<number>("d").reset(c.set(1) as never)).toThrow(/Expected token to be a Token of ContextVar "d"/);
  });

  it("test_context_getset_2/3: the default, and a default given to get", () => {
    const v1 = new ContextVar<string>("v1", { default: "dflt" });
    expect(v1.get()).toBe("dflt");
    expect(v1.get("given")).toBe("given");
    const v2 = new ContextVar<number | undefined>("v2", { default: undefined });
    expect(v2.get()).toBeUndefined();
  });

  it("test_context_run_1/4: run calls the function in the context; what it sets stays there, even when it throws", () => {
    const v = new ContextVar<string>("v", { default: "outer" });
    const ctx = copyContext();
    expect(ctx.run((a: number, b: number) => a + b, 1, 2)).toBe(3);
    expect(() =>
      ctx.run(() => {
        v.set("inner");
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(v.get()).toBe("outer");
    expect(ctx.run(() => v.get())).toBe("inner");
    expect(ctx.get(v)).toBe("inner");
  });

  it("test_context_run_5: a context already entered cannot be entered again", () => {
    const ctx = copyContext();
    expect(() => ctx.run(() => ctx.run(() => 1))).toThrow("cannot enter context: <Context> is already entered");
    expect(() => ctx.run(5 as never)).toThrow("Expected fn to be a function, got 5 (number)");
    expect(copyContext()).toBeInstanceOf(Context);
  });
});

describe("tasks carry their context (test_tasks.py)", () => {
  it("test_context_1: a task sees the context of its creation, not its creator's later sets", async () => {
    const cvar = new ContextVar<string>("cvar", { default: "nope" });
    const seen: string[] = [];
    await run(
      async () => {
        const sub = async (): Promise<void> => {
          await sleep(10);
          seen.push(`sub ${cvar.get()}`);
          cvar.set("something else");
        };
        seen.push(`main ${cvar.get()}`);
        const subtask = createTask(sub);
        cvar.set("yes");
        seen.push(`main ${cvar.get()}`);
        await subtask;
        seen.push(`main ${cvar.get()}`);
      },
      { virtualTime: true },
    );
    expect(seen).toEqual(["main nope", "main yes", "sub nope", "main yes"]);
  });

  it("test_context_3: ten tasks each set the variable; none sees another's", async () => {
    const cvar = new ContextVar<number>("cvar", { default: -1 });
    const results: number[] = [];
    await run(
      async () => {
        const fut = async (i: number): Promise<void> => {
          await sleep(10 - i);
          cvar.set(i);
          await sleep(i);
          results.push(cvar.get());
        };
        await gather(...Array.from({ length: 10 }, (_, i) => () => fut(i)));
        expect(cvar.get()).toBe(-1);
      },
      { virtualTime: true },
    );
    expect(results.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("test_context_4 (3.11): createTask(fn, { context }) runs the task in that context", async () => {
    const cvar = new ContextVar<string>("cvar");
    await run(
      async () => {
        const ctx = copyContext();
        ctx.run(() => cvar.set("in ctx"));
        const t = createTask(async () => {
          await sleep(1);
          return cvar.get("none");
        }, { context: ctx });
        expect(await t).toBe("in ctx");
        expect(cvar.get("none")).toBe("none");
        expect(() => createTask(async () => 1, { context: {} as never })).toThrow("Expected context to be a Context (copyContext()), got an object (Object)");
      },
      { virtualTime: true },
    );
  });

  it("callSoon, callLater, callAt run in the context they were scheduled in, or in the one given", async () => {
    const cvar = new ContextVar<string>("cvar", { default: "loop" });
    const seen: string[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        cvar.set("main");
        loop.callSoon(() => seen.push(`soon ${cvar.get()}`));
        const ctx = copyContext();
        ctx.run(() => cvar.set("given"));
        loop.callSoon((x: string) => seen.push(`soon with ${x} ${cvar.get()}`), "arg", { context: ctx });
        loop.callLater(5, () => seen.push(`later ${cvar.get()}`), { context: ctx });
        loop.callAt(loop.time() + 6, () => {
          seen.push(`at ${cvar.get()}`);
          cvar.set("changed by a callback");
        });
        loop.callLater(7, () => seen.push(`last ${cvar.get()}`));
        await sleep(10);
        expect(() => loop.callSoon(() => {}, { context: 5 as never })).toThrow("Expected context to be a Context (copyContext()), got 5 (number)");
      },
      { virtualTime: true },
    );
    // (a callback's own sets stay in its copy: "last" still sees "main")
    expect(seen).toEqual(["soon main", "soon with arg given", "later given", "at main", "last main"]);
  });
});

describe("AsyncLocalStorage in tasks, as CPython's contextvars", () => {
  it("the issue's three cases: a task made inside als.run sees the value; enterWith stays in its task; a child keeps the copy made when it was created", async () => {
    const als = new AsyncLocalStorage<string>();
    let got: unknown[] = [];
    await run(
      async () => {
        const t1 = als.run("req-42", () => createTask(async () => als.getStore()));
        const x = createTask(async () => {
          als.enterWith("set-by-X");
          await sleep(10);
          return als.getStore();
        });
        const y = createTask(async () => {
          await sleep(5);
          return als.getStore();
        });
        const parent = createTask(async () => {
          als.enterWith("before");
          const child = createTask(async () => {
            await sleep(1);
            return als.getStore();
          });
          als.enterWith("after");
          return await child;
        });
        got = await gather(t1, x, y, parent);
      },
      { virtualTime: true },
    );
    expect(got).toEqual(["req-42", "set-by-X", undefined, "before"]);
  });

  it("one AsyncLocalStorage store per request across 1,000 concurrent request tasks: no request sees another's", async () => {
    const span = new AsyncLocalStorage<{ traceId: string }>();
    const mismatches: string[] = [];
    let checked = 0;
    const check = (where: string, want: string): void => {
      checked++;
      const got = span.getStore()?.traceId;
      if (got !== want) mismatches.push(`${where}: ${String(got)} instead of ${want}`);
    };
    await run(
      async () => {
        const handle = async (i: number): Promise<void> => {
          const id = `trace-${i}`;
          await span.run({ traceId: id }, async () => {
            check("start", id);
            await sleep(i % 7);
            // work of the request in tasks it creates, a group, and a gather
            await taskGroup(async (tg) => {
              tg.createTask(async () => {
                await sleep(i % 3);
                check("child", id);
              });
              tg.createTask(async () => check("child 2", id));
            });
            await gather(
              async () => {
                await sleep(1);
                check("gathered", id);
              },
              sleep(2),
            );
            check("end", id);
          });
        };
        await gather(...Array.from({ length: 1000 }, (_, i) => () => handle(i)));
        expect(span.getStore()).toBeUndefined();
      },
      { virtualTime: true },
    );
    expect(mismatches).toEqual([]);
    expect(checked).toBe(5000);
  });
});
