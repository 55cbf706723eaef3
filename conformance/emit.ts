/**
 * The two emitters: a program description (`program.ts`) becomes a Python program and a TypeScript
 * program that do the same thing, statement for statement, in each language's ordinary asyncio style.
 *
 * Both programs lean on a small prelude of the same few helpers, written once per language:
 * `conformance/pyrun.py` (Python) and `conformance/run-ts.ts` (TypeScript):
 * - `p(text)` prints `<loop time in ms> <text>`;
 * - `fmt(value)` formats a result (`v:t3`, `None`, `True`, a list, an error as below);
 * - `exc(error)` formats an error by class name (`ValueError`, `CancelledError(msg)`,
 *   `ExceptionGroup[ValueError, KeyError]`), never by stack or message text that differs by language;
 * - `names(tasks)` lists task names sorted (for `wait`'s sets, which have no order);
 * - `outcome(task)` tells how a done task ended (`cancelled`, `raised <error>`, `returned <value>`);
 * - `T`, the tasks by name; `R`, the primitives and queues by name; `cleanup()`, which cancels the tasks still pending when `main` ends, in
 *   creation order, and waits for them (so `run()` never has to cancel leftovers in its unspecified
 *   order).
 *
 * The emitted TypeScript is plain JavaScript (no type annotations), so the test runs it without a
 * compiler through the `AsyncFunction` constructor.
 *
 * @module
 */
import { type Block, type Catch, type CatchCls, type Program, type Res, type Stmt, resKind } from "./program.js";

const q = (s: string): string => JSON.stringify(s);
/** Stream text as it appears in a printed line (a newline shown as a backslash and n, the same on both sides). */
const esc = (s: string): string => s.replace(/\n/g, "\\n");
/** Milliseconds as Python seconds; exact, since programs use multiples of 125 ms. */
const secs = (ms: number | null): string => (ms === null ? "None" : String(ms / 1000));

interface Ctx {
  /** name of the task whose body is being emitted */
  self: string;
  /** the program's coroutine form (see `Program.co`) */
  co?: boolean;
  /** the variable of the innermost `timeout` scope that uses it */
  cm?: string;
  /** counter for unique local names */
  n: { v: number };
}

/** True when a timeout's block uses its scope object (`reschedule`, `expired`). */
function usesScope(block: Block): boolean {
  return block.some((s) => s[0] === "reschedule" || s[0] === "expired");
}

// ------------------------------------------------------------------------------------------ Python

/** The Python program for `prog`: an `async def main()` (the prelude is in `pyrun.py`). */
export function emitPython(prog: Program): string {
  const out: string[] = [];
  const ctx: Ctx = { self: "main", n: { v: 0 }, co: prog.co === true };
  out.push(`# ${prog.id}`);
  out.push("async def main():");
  for (const r of prog.res ?? []) out.push(`    R[${q(r[0])}] = ${pyNewRes(r)}`);
  out.push("    try:");
  pyBlock(prog.main, 2, ctx, out);
  out.push('        p("main end")');
  out.push("    except BaseException as e:");
  out.push('        p("main raised " + exc(e))');
  out.push("    await cleanup()");
  return out.join("\n") + "\n";
}

/** Define an inline coroutine (`async def`) returning its own name; returns the name. */
function pyCoroutine(block: Block, ind: number, ctx: Ctx, out: string[], prefix: string): string {
  const pad = "    ".repeat(ind);
  const f = `${prefix}${++ctx.n.v}`;
  out.push(`${pad}async def ${f}():`);
  pyBlock(block, ind + 1, ctx, out);
  out.push(`${pad}    return ${q(f)}`);
  return f;
}

/** A coroutine handed to a combinator: an eager task in the coroutine form (see `Program.co`). */
function pyCall(f: string, ctx: Ctx): string {
  return ctx.co ? `eager(${f}())` : `${f}()`;
}

function pyBlock(block: Block, ind: number, ctx: Ctx, out: string[]): void {
  if (block.length === 0) {
    out.push(`${"    ".repeat(ind)}pass`);
    return;
  }
  for (const s of block) pyStmt(s, ind, ctx, out);
}

function pyCatchTest(cls: CatchCls): string {
  switch (cls) {
    case "CancelledError":
    case "QueueEmpty":
    case "QueueFull":
    case "QueueShutDown":
    case "BrokenBarrierError":
      return `asyncio.${cls}`;
    default:
      return cls;
  }
}

function pyNewRes([name, arg]: Res): string {
  const kind = resKind(name);
  switch (kind) {
    case "StreamReader":
      return `asyncio.StreamReader(limit=${arg})`;
    case "Semaphore":
    case "BoundedSemaphore":
    case "Barrier":
    case "Queue":
    case "PriorityQueue":
    case "LifoQueue":
      return `asyncio.${kind}(${arg})`;
    default:
      return `asyncio.${kind}()`;
  }
}

function pyState(name: string): string {
  const r = `R[${q(name)}]`;
  switch (resKind(name)) {
    case "Event":
      return `"set=" + fmt(${r}.is_set())`;
    case "Barrier":
      return `"waiting=" + str(${r}.n_waiting) + " broken=" + fmt(${r}.broken)`;
    case "Queue":
    case "PriorityQueue":
    case "LifoQueue":
      return `"qsize=" + str(${r}.qsize())`;
    case "StreamReader":
      return `"at_eof=" + fmt(${r}.at_eof())`;
    default:
      return `"locked=" + fmt(${r}.locked())`;
  }
}

function pyStmt(s: Stmt, ind: number, ctx: Ctx, out: string[]): void {
  const pad = "    ".repeat(ind);
  const w = (line: string): void => {
    out.push(pad + line);
  };
  const me = ctx.self;
  switch (s[0]) {
    case "print":
      w(`p(${q(`${me} ${s[1]}`)})`);
      return;
    case "sleep":
      w(`await asyncio.sleep(${secs(s[1])})`);
      return;
    case "spawn": {
      const [, name, body, tg] = s;
      w(`async def f_${name}():`);
      pyBlock(body, ind + 1, { self: name, n: ctx.n, co: ctx.co }, out);
      out.push(`${pad}    return ${q(`v:${name}`)}`);
      const creator = tg === null ? "asyncio" : `tg${tg}`;
      w(`T[${q(name)}] = ${creator}.create_task(f_${name}(), name=${q(name)})`);
      return;
    }
    case "await":
      w(`p(${q(`${me} await ${s[1]} -> `)} + fmt(await T[${q(s[1])}]))`);
      return;
    case "cancel": {
      const arg = s[2] === null ? "" : q(s[2]);
      w(`p(${q(`${me} cancel ${s[1]} -> `)} + fmt(T[${q(s[1])}].cancel(${arg})))`);
      return;
    }
    case "gather": {
      const args = s[1].map((n) => `T[${q(n)}]`).join(", ");
      const rex = s[2] ? ", return_exceptions=True" : "";
      w(`p(${q(`${me} gather -> `)} + fmt(await asyncio.gather(${args}${rex})))`);
      return;
    }
    case "wait": {
      const [, ns, timeout, when] = s;
      const args = ns.map((n) => `T[${q(n)}]`).join(", ");
      const v = `w${++ctx.n.v}`;
      w(`${v}d, ${v}p = await asyncio.wait([${args}], timeout=${secs(timeout)}, return_when=asyncio.${when})`);
      w(`p(${q(`${me} wait -> done=`)} + names(${v}d) + " pending=" + names(${v}p))`);
      return;
    }
    case "waitFor": {
      const [, target, ms] = s;
      if (typeof target === "string") {
        w(`p(${q(`${me} waitFor ${target} -> `)} + fmt(await asyncio.wait_for(T[${q(target)}], ${secs(ms)})))`);
      } else {
        const f = `wf${++ctx.n.v}`;
        w(`async def ${f}():`);
        pyBlock(target, ind + 1, ctx, out);
        out.push(`${pad}    return ${q(f)}`);
        // (the coroutine form with t <= 0: JavaScript ran the function's first part already)
        const arg = ctx.co && ms !== null && ms <= 0 ? `eager(${f}())` : `${f}()`;
        w(`p(${q(`${me} waitFor ${f} -> `)} + fmt(await asyncio.wait_for(${arg}, ${secs(ms)})))`);
      }
      return;
    }
    case "gatherCo": {
      const fs = s[1].map((b) => pyCoroutine(b, ind, ctx, out, "gc"));
      const rex = s[2] ? ", return_exceptions=True" : "";
      w(`p(${q(`${me} gather -> `)} + fmt(await asyncio.gather(${fs.map((f) => pyCall(f, ctx)).join(", ")}${rex})))`);
      return;
    }
    case "shieldCo": {
      const f = pyCoroutine(s[1], ind, ctx, out, "sc");
      w(`p(${q(`${me} shield ${f} -> `)} + fmt(await asyncio.shield(${pyCall(f, ctx)})))`);
      return;
    }
    case "asCompletedCo": {
      const fs = s[1].map((b) => pyCoroutine(b, ind, ctx, out, "ac"));
      const v = `acf${++ctx.n.v}`;
      w(`async for ${v} in asyncio.as_completed([${fs.map((f) => pyCall(f, ctx)).join(", ")}], timeout=${secs(s[2])}):`);
      w(`    p(${q(`${me} asCompleted -> `)} + fmt(await ${v}))`);
      return;
    }
    case "asCompleted": {
      const args = s[1].map((n) => `T[${q(n)}]`).join(", ");
      const v = `ac${++ctx.n.v}`;
      w(`async for ${v} in asyncio.as_completed([${args}], timeout=${secs(s[2])}):`);
      w(`    p(${q(`${me} asCompleted -> `)} + ${v}.get_name())`);
      return;
    }
    case "callSoon":
      w(`asyncio.get_running_loop().call_soon(p, ${q(`${me} callSoon ${s[1]}`)})`);
      return;
    case "callLater":
      w(`asyncio.get_running_loop().call_later(${secs(s[1])}, p, ${q(`${me} callLater ${s[2]}`)})`);
      return;
    case "onDone":
      w(`T[${q(s[1])}].add_done_callback(lambda t: p(${q(`${me} onDone ${s[1]} `)} + outcome(t)))`);
      return;
    case "timeout": {
      if (!usesScope(s[2])) {
        w(`async with asyncio.timeout(${secs(s[1])}):`);
        pyBlock(s[2], ind + 1, ctx, out);
        return;
      }
      const cm = `cm${++ctx.n.v}`;
      w(`async with asyncio.timeout(${secs(s[1])}) as ${cm}:`);
      pyBlock(s[2], ind + 1, { ...ctx, cm }, out);
      return;
    }
    case "reschedule":
      w(`${ctx.cm}.reschedule(${s[1] === null ? "None" : `asyncio.get_running_loop().time() + ${secs(s[1])}`})`);
      w(`p(${q(`${me} reschedule ${s[1] ?? "None"}`)})`);
      return;
    case "expired":
      w(`p(${q(`${me} expired=`)} + fmt(${ctx.cm}.expired()))`);
      return;
    case "shield":
      w(`p(${q(`${me} shield ${s[1]} -> `)} + fmt(await asyncio.shield(T[${q(s[1])}])))`);
      return;
    case "tg":
      w(`async with asyncio.TaskGroup() as tg${s[1]}:`);
      pyBlock(s[2], ind + 1, ctx, out);
      return;
    case "raise":
      w(`raise ${s[1]}(${q(s[1])})`);
      return;
    case "try": {
      const [, body, catches, fin] = s;
      w("try:");
      pyBlock(body, ind + 1, ctx, out);
      const e = catches.length > 0 ? `e${++ctx.n.v}` : "";
      for (const c of catches) pyCatch(c, e, ind, ctx, out);
      if (fin !== null) {
        w("finally:");
        pyBlock(fin, ind + 1, ctx, out);
      }
      return;
    }
    case "cancelling":
      w(`p(${q(`${me} cancelling=`)} + str(asyncio.current_task().cancelling()))`);
      return;
    case "cancelSelf": {
      const arg = s[1] === null ? "" : q(s[1]);
      w(`p(${q(`${me} cancelSelf -> `)} + fmt(asyncio.current_task().cancel(${arg})))`);
      return;
    }
    case "uncancel":
      w(`p(${q(`${me} uncancel -> `)} + str(asyncio.current_task().uncancel()))`);
      return;
    default:
      pySync(s, ind, ctx, out);
  }
}

function pySync(s: Stmt, ind: number, ctx: Ctx, out: string[]): void {
  const pad = "    ".repeat(ind);
  const w = (line: string): void => {
    out.push(pad + line);
  };
  const me = ctx.self;
  const id = s[1] as string;
  const r = `R[${q(id)}]`;
  const said = (what: string): void => w(`p(${q(`${me} ${what}`)})`);
  switch (s[0]) {
    case "with":
      w(`async with ${r}:`);
      pyBlock(s[2], ind + 1, ctx, out);
      return;
    case "release":
      w(`${r}.release()`);
      said(`release ${id}`);
      return;
    case "evWait":
    case "barWait":
      w(`p(${q(`${me} ${s[0]} ${id} -> `)} + fmt(await ${r}.wait()))`);
      return;
    case "evSet":
      w(`${r}.set()`);
      said(`evSet ${id}`);
      return;
    case "evClear":
      w(`${r}.clear()`);
      said(`evClear ${id}`);
      return;
    case "condWait":
      w(`async with ${r}:`);
      w(`    p(${q(`${me} condWait ${id} -> `)} + fmt(await ${r}.wait()))`);
      return;
    case "condNotify":
      w(`async with ${r}:`);
      w(`    ${r}.${s[2] === null ? "notify_all()" : `notify(${s[2]})`}`);
      said(`condNotify ${id} ${s[2] ?? "all"}`);
      return;
    case "barAbort":
      w(`await ${r}.abort()`);
      said(`barAbort ${id}`);
      return;
    case "barReset":
      w(`await ${r}.reset()`);
      said(`barReset ${id}`);
      return;
    case "put":
      w(`await ${r}.put(${q(s[2])})`);
      said(`put ${id} ${s[2]}`);
      return;
    case "putNowait":
      w(`${r}.put_nowait(${q(s[2])})`);
      said(`putNowait ${id} ${s[2]}`);
      return;
    case "get":
      w(`p(${q(`${me} get ${id} -> `)} + fmt(await ${r}.get()))`);
      return;
    case "getNowait":
      w(`p(${q(`${me} getNowait ${id} -> `)} + fmt(${r}.get_nowait()))`);
      return;
    case "taskDone":
      w(`${r}.task_done()`);
      said(`taskDone ${id}`);
      return;
    case "join":
      w(`await ${r}.join()`);
      said(`join ${id}`);
      return;
    case "shutdown":
      w(`${r}.shutdown(${s[2] ? "True" : "False"})`);
      said(`shutdown ${id}`);
      return;
    case "state":
      w(`p(${q(`${me} state ${id} `)} + ${pyState(id)})`);
      return;
    case "feed":
      w(`p(${q(`${me} feed ${id} ${esc(s[2])} -> `)} + feed(${r}, ${q(s[2])}))`);
      return;
    case "feedEof":
      w(`${r}.feed_eof()`);
      said(`feedEof ${id}`);
      return;
    case "readline":
      w(`p(${q(`${me} readline ${id} -> `)} + show(await ${r}.readline()))`);
      return;
    case "readexactly":
      w(`p(${q(`${me} readexactly ${id} ${s[2]} -> `)} + show(await ${r}.readexactly(${s[2]})))`);
      return;
    case "readuntil":
      w(`p(${q(`${me} readuntil ${id} ${esc(s[2])} -> `)} + show(await ${r}.readuntil(${q(s[2])}.encode())))`);
      return;
    case "read":
      w(`p(${q(`${me} read ${id} ${s[2]} -> `)} + show(await ${r}.read(${s[2]})))`);
      return;
  }
}

function pyCatch(c: Catch, e: string, ind: number, ctx: Ctx, out: string[]): void {
  const pad = "    ".repeat(ind);
  const [cls, body, reraise] = c;
  out.push(`${pad}except ${pyCatchTest(cls)} as ${e}:`);
  out.push(`${pad}    p(${q(`${ctx.self} caught ${cls} `)} + exc(${e}))`);
  for (const s of body) pyStmt(s, ind + 1, ctx, out);
  if (reraise) out.push(`${pad}    raise`);
}

// ------------------------------------------------------------------------------------------ TypeScript

/**
 * The TypeScript program for `prog`: the body of an async function that has the asyncio-ts API and the
 * prelude in scope (see `run-ts.ts`).
 */
export function emitTs(prog: Program): string {
  const out: string[] = [];
  const ctx: Ctx = { self: "main", n: { v: 0 }, co: prog.co === true };
  out.push(`// ${prog.id}`);
  for (const r of prog.res ?? []) out.push(`R[${q(r[0])}] = ${tsNewRes(r)};`);
  out.push("try {");
  tsBlock(prog.main, 1, ctx, out);
  out.push('  p("main end");');
  out.push("} catch (e) {");
  out.push('  p("main raised " + exc(e));');
  out.push("}");
  out.push("await cleanup();");
  return out.join("\n") + "\n";
}

function tsBlock(block: Block, ind: number, ctx: Ctx, out: string[]): void {
  for (const s of block) tsStmt(s, ind, ctx, out);
}

function tsNewRes([name, arg]: Res): string {
  const kind = resKind(name);
  switch (kind) {
    case "StreamReader":
      return `new StreamReader({ limit: ${arg} })`;
    case "Semaphore":
    case "BoundedSemaphore":
    case "Barrier":
    case "Queue":
    case "PriorityQueue":
    case "LifoQueue":
      return `new ${kind}(${arg})`;
    default:
      return `new ${kind}()`;
  }
}

function tsState(name: string): string {
  const r = `R[${q(name)}]`;
  switch (resKind(name)) {
    case "Event":
      return `"set=" + fmt(${r}.isSet())`;
    case "Barrier":
      return `"waiting=" + ${r}.nWaiting + " broken=" + fmt(${r}.broken)`;
    case "Queue":
    case "PriorityQueue":
    case "LifoQueue":
      return `"qsize=" + ${r}.qsize()`;
    case "StreamReader":
      return `"at_eof=" + fmt(${r}.atEof())`;
    default:
      return `"locked=" + fmt(${r}.locked())`;
  }
}

function tsCatchTest(cls: CatchCls, e: string): string {
  switch (cls) {
    case "Exception":
      return `!(${e} instanceof CancelledError)`;
    case "BaseException":
      return "true";
    case "ValueError":
      // asyncio-ts throws RangeError where Python raises ValueError (docs/rosetta.md)
      return `(${e} instanceof ValueError || ${e} instanceof RangeError)`;
    default:
      return `${e} instanceof ${cls}`;
  }
}

/** Define an inline async function returning its own name; returns the name. */
function tsCoroutine(block: Block, ind: number, ctx: Ctx, out: string[], prefix: string): string {
  const pad = "  ".repeat(ind);
  const f = `${prefix}${++ctx.n.v}`;
  out.push(`${pad}const ${f} = async () => {`);
  tsBlock(block, ind + 1, ctx, out);
  out.push(`${pad}  return ${q(f)};`);
  out.push(`${pad}};`);
  return f;
}

/** What the combinator is handed: the promise of the call (coroutine form) or the function. */
function tsArg(f: string, ctx: Ctx): string {
  return ctx.co ? `${f}()` : f;
}

function tsStmt(s: Stmt, ind: number, ctx: Ctx, out: string[]): void {
  const pad = "  ".repeat(ind);
  const w = (line: string): void => {
    out.push(pad + line);
  };
  const me = ctx.self;
  switch (s[0]) {
    case "print":
      w(`p(${q(`${me} ${s[1]}`)});`);
      return;
    case "sleep":
      w(`await sleep(${s[1]});`);
      return;
    case "spawn": {
      const [, name, body, tg] = s;
      w(`const f_${name} = async () => {`);
      tsBlock(body, ind + 1, { self: name, n: ctx.n, co: ctx.co }, out);
      w(`  return ${q(`v:${name}`)};`);
      w("};");
      const creator = tg === null ? "createTask" : `tg${tg}.createTask`;
      w(`T[${q(name)}] = ${creator}(f_${name}, { name: ${q(name)} });`);
      return;
    }
    case "await":
      w(`p(${q(`${me} await ${s[1]} -> `)} + fmt(await T[${q(s[1])}]));`);
      return;
    case "cancel": {
      const arg = s[2] === null ? "" : q(s[2]);
      w(`p(${q(`${me} cancel ${s[1]} -> `)} + fmt(T[${q(s[1])}].cancel(${arg})));`);
      return;
    }
    case "gather": {
      const args = s[1].map((n) => `T[${q(n)}]`).join(", ");
      const rex = s[2] ? ", { returnExceptions: true }" : "";
      w(`p(${q(`${me} gather -> `)} + fmt(await gather(${args}${rex})));`);
      return;
    }
    case "wait": {
      const [, ns, timeout, when] = s;
      const args = ns.map((n) => `T[${q(n)}]`).join(", ");
      const v = `w${++ctx.n.v}`;
      w(`const [${v}d, ${v}p] = await wait([${args}], { timeout: ${timeout === null ? "null" : timeout}, returnWhen: ${when} });`);
      w(`p(${q(`${me} wait -> done=`)} + names(${v}d) + " pending=" + names(${v}p));`);
      return;
    }
    case "waitFor": {
      const [, target, ms] = s;
      const t = ms === null ? "null" : String(ms);
      if (typeof target === "string") {
        w(`p(${q(`${me} waitFor ${target} -> `)} + fmt(await waitFor(T[${q(target)}], ${t})));`);
      } else {
        const f = `wf${++ctx.n.v}`;
        w(`const ${f} = async () => {`);
        tsBlock(target, ind + 1, ctx, out);
        w(`  return ${q(f)};`);
        w("};");
        w(`p(${q(`${me} waitFor ${f} -> `)} + fmt(await waitFor(${tsArg(f, ctx)}, ${t})));`);
      }
      return;
    }
    case "gatherCo": {
      const fs = s[1].map((b) => tsCoroutine(b, ind, ctx, out, "gc"));
      const rex = s[2] ? ", { returnExceptions: true }" : "";
      w(`p(${q(`${me} gather -> `)} + fmt(await gather(${fs.map((f) => tsArg(f, ctx)).join(", ")}${rex})));`);
      return;
    }
    case "shieldCo": {
      const f = tsCoroutine(s[1], ind, ctx, out, "sc");
      w(`p(${q(`${me} shield ${f} -> `)} + fmt(await shield(${tsArg(f, ctx)})));`);
      return;
    }
    case "asCompletedCo": {
      const fs = s[1].map((b) => tsCoroutine(b, ind, ctx, out, "ac"));
      const v = `acf${++ctx.n.v}`;
      w(`for await (const ${v} of asCompleted([${fs.map((f) => tsArg(f, ctx)).join(", ")}], { timeout: ${s[2] === null ? "null" : s[2]} })) {`);
      w(`  p(${q(`${me} asCompleted -> `)} + fmt(await ${v}));`);
      w("}");
      return;
    }
    case "asCompleted": {
      const args = s[1].map((n) => `T[${q(n)}]`).join(", ");
      const v = `ac${++ctx.n.v}`;
      w(`for await (const ${v} of asCompleted([${args}], { timeout: ${s[2] === null ? "null" : s[2]} })) {`);
      w(`  p(${q(`${me} asCompleted -> `)} + ${v}.getName());`);
      w("}");
      return;
    }
    case "callSoon":
      w(`getRunningLoop().callSoon(p, ${q(`${me} callSoon ${s[1]}`)});`);
      return;
    case "callLater":
      w(`getRunningLoop().callLater(${s[1]}, p, ${q(`${me} callLater ${s[2]}`)});`);
      return;
    case "onDone":
      w(`T[${q(s[1])}].addDoneCallback((t) => p(${q(`${me} onDone ${s[1]} `)} + outcome(t)));`);
      return;
    case "timeout": {
      if (!usesScope(s[2])) {
        w(`await timeout(${s[1] === null ? "null" : s[1]}, async () => {`);
        tsBlock(s[2], ind + 1, ctx, out);
        w("});");
        return;
      }
      const cm = `cm${++ctx.n.v}`;
      w(`await timeout(${s[1] === null ? "null" : s[1]}, async (${cm}) => {`);
      tsBlock(s[2], ind + 1, { ...ctx, cm }, out);
      w("});");
      return;
    }
    case "reschedule":
      w(`${ctx.cm}.reschedule(${s[1] === null ? "null" : `getRunningLoop().time() + ${s[1]}`});`);
      w(`p(${q(`${me} reschedule ${s[1] ?? "None"}`)});`);
      return;
    case "expired":
      w(`p(${q(`${me} expired=`)} + fmt(${ctx.cm}.expired()));`);
      return;
    case "shield":
      w(`p(${q(`${me} shield ${s[1]} -> `)} + fmt(await shield(T[${q(s[1])}])));`);
      return;
    case "tg":
      w(`await taskGroup(async (tg${s[1]}) => {`);
      tsBlock(s[2], ind + 1, ctx, out);
      w("});");
      return;
    case "raise":
      w(`throw new ${s[1]}(${q(s[1])});`);
      return;
    case "try": {
      const [, body, catches, fin] = s;
      w("try {");
      tsBlock(body, ind + 1, ctx, out);
      if (catches.length > 0) {
        const e = `e${++ctx.n.v}`;
        w(`} catch (${e}) {`);
        catches.forEach((c, i) => tsCatch(c, e, i === 0, ind + 1, ctx, out));
        w(`  else throw ${e};`);
      }
      if (fin !== null) {
        w("} finally {");
        tsBlock(fin, ind + 1, ctx, out);
      }
      if (catches.length === 0 && fin === null) w("} finally {");
      w("}");
      return;
    }
    case "cancelling":
      w(`p(${q(`${me} cancelling=`)} + currentTask().cancelling());`);
      return;
    case "cancelSelf": {
      const arg = s[1] === null ? "" : q(s[1]);
      w(`p(${q(`${me} cancelSelf -> `)} + fmt(currentTask().cancel(${arg})));`);
      return;
    }
    case "uncancel":
      w(`p(${q(`${me} uncancel -> `)} + currentTask().uncancel());`);
      return;
    default:
      tsSync(s, ind, ctx, out);
  }
}

function tsSync(s: Stmt, ind: number, ctx: Ctx, out: string[]): void {
  const pad = "  ".repeat(ind);
  const w = (line: string): void => {
    out.push(pad + line);
  };
  const me = ctx.self;
  const id = s[1] as string;
  const r = `R[${q(id)}]`;
  const said = (what: string): void => w(`p(${q(`${me} ${what}`)});`);
  const scope = (name: string): string => {
    const k = resKind(name);
    return k === "Semaphore" || k === "BoundedSemaphore" ? "withPermit" : "withLock";
  };
  switch (s[0]) {
    case "with":
      w(`await ${r}.${scope(id)}(async () => {`);
      tsBlock(s[2], ind + 1, ctx, out);
      w("});");
      return;
    case "release":
      w(`${r}.release();`);
      said(`release ${id}`);
      return;
    case "evWait":
    case "barWait":
      w(`p(${q(`${me} ${s[0]} ${id} -> `)} + fmt(await ${r}.wait()));`);
      return;
    case "evSet":
      w(`${r}.set();`);
      said(`evSet ${id}`);
      return;
    case "evClear":
      w(`${r}.clear();`);
      said(`evClear ${id}`);
      return;
    case "condWait":
      w(`await ${r}.withLock(async () => {`);
      w(`  p(${q(`${me} condWait ${id} -> `)} + fmt(await ${r}.wait()));`);
      w("});");
      return;
    case "condNotify":
      w(`await ${r}.withLock(async () => {`);
      w(`  ${r}.${s[2] === null ? "notifyAll()" : `notify(${s[2]})`};`);
      w("});");
      said(`condNotify ${id} ${s[2] ?? "all"}`);
      return;
    case "barAbort":
      w(`await ${r}.abort();`);
      said(`barAbort ${id}`);
      return;
    case "barReset":
      w(`await ${r}.reset();`);
      said(`barReset ${id}`);
      return;
    case "put":
      w(`await ${r}.put(${q(s[2])});`);
      said(`put ${id} ${s[2]}`);
      return;
    case "putNowait":
      w(`${r}.putNowait(${q(s[2])});`);
      said(`putNowait ${id} ${s[2]}`);
      return;
    case "get":
      w(`p(${q(`${me} get ${id} -> `)} + fmt(await ${r}.get()));`);
      return;
    case "getNowait":
      w(`p(${q(`${me} getNowait ${id} -> `)} + fmt(${r}.getNowait()));`);
      return;
    case "taskDone":
      w(`${r}.taskDone();`);
      said(`taskDone ${id}`);
      return;
    case "join":
      w(`await ${r}.join();`);
      said(`join ${id}`);
      return;
    case "shutdown":
      w(`${r}.shutdown(${s[2] ? "true" : "false"});`);
      said(`shutdown ${id}`);
      return;
    case "state":
      w(`p(${q(`${me} state ${id} `)} + ${tsState(id)});`);
      return;
    case "feed":
      w(`p(${q(`${me} feed ${id} ${esc(s[2])} -> `)} + feed(${r}, ${q(s[2])}));`);
      return;
    case "feedEof":
      w(`${r}.feedEof();`);
      said(`feedEof ${id}`);
      return;
    case "readline":
      w(`p(${q(`${me} readline ${id} -> `)} + show(await readline(${r})));`);
      return;
    case "readexactly":
      w(`p(${q(`${me} readexactly ${id} ${s[2]} -> `)} + show(await ${r}.readexactly(${s[2]})));`);
      return;
    case "readuntil":
      w(`p(${q(`${me} readuntil ${id} ${esc(s[2])} -> `)} + show(await ${r}.readuntil(${q(s[2])})));`);
      return;
    case "read":
      w(`p(${q(`${me} read ${id} ${s[2]} -> `)} + show(await ${r}.read(${s[2]})));`);
      return;
  }
}

function tsCatch(c: Catch, e: string, first: boolean, ind: number, ctx: Ctx, out: string[]): void {
  const pad = "  ".repeat(ind);
  const [cls, body, reraise] = c;
  out.push(`${pad}${first ? "" : "else "}if (${tsCatchTest(cls, e)}) {`);
  out.push(`${pad}  p(${q(`${ctx.self} caught ${cls} `)} + exc(${e}));`);
  tsBlock(body, ind + 1, ctx, out);
  if (reraise) out.push(`${pad}  throw ${e};`);
  out.push(`${pad}}`);
}
