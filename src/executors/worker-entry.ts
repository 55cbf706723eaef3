/**
 * The program a pool's worker runs (a worker thread, or a child process started with `fork`).
 *
 * ## Approach
 * The worker receives batches of jobs and runs them one at a time, in order: a synchronous function
 * runs back to back with the next job (no event-loop turn between them), an async one is awaited before
 * the next starts. Results are collected in an outbox and sent before the next job starts: a finished
 * job's result never waits behind a job that may run long, die (`process.exit`, an uncaught error) or be
 * terminated by the pool (a cancelled job overrunning `cancelGrace`), as CPython's pools deliver each
 * result as its job ends. What still batches: the jobs skipped because they were cancelled before they
 * started. The exit paths (`process` `exit`, `uncaughtException`) send the outbox too.
 *
 * Cancelling a job that was sent but has not started: each job owns a slot in the shared control
 * buffer (threads). Before starting, the worker swaps the slot from `seq` to `-seq` with
 * `Atomics.compareExchange`; the pool cancels by swapping `seq` to `0`. Exactly one side wins, so a
 * cancelled job never runs and a started one is never reported as cancelled-before-start. Child
 * processes have no shared memory: their pool sends a job only to an idle process (no pipelining).
 *
 * Output: `process.stdout`/`stderr` writes are forwarded as messages on the same channel as results,
 * so a task's prints reach the parent before its result, in order.
 *
 * Calls back into the loop (`callLoop`, `callLoopSync`; the pool side is `portal.ts`): a `call` message
 * names the running job; an async call's answer is a `reply` message that settles its promise; a blocking
 * call (threads) waits with `Atomics.wait` on the control buffer's reply word and takes its answer from
 * the thread's reply port with `receiveMessageOnPort`, so nothing else this worker receives (jobs,
 * aborts, async replies) is consumed or reordered meanwhile.
 *
 * Rejected: running several async jobs concurrently in one worker (a pool of N workers would then run
 * more than N tasks at a time, unlike CPython); holding results across the next job to batch them (one
 * message per batch of tiny tasks, but a long job delayed the results before it, and a worker that died
 * or was terminated lost them: the pool failed jobs that had finished with `BrokenWorkerError`). The
 * message per result costs tiny tasks about twice their time (executors benchmark, 100,000 `x + 1` tasks:
 * 2-3.5 us per task held, 5.5-9.5 us flushed); holding results younger than 50 us kept the throughput
 * but still lost those held across a job the pool then terminated.
 *
 * @module
 */
import type { MessagePort } from "node:worker_threads";
const { isMainThread, parentPort, receiveMessageOnPort, workerData } = process.getBuiltinModule("node:worker_threads");
const { register } = process.getBuiltinModule("node:module");
import { describe } from "../core/check.js";
import { RuntimeError } from "../core/errors.js";
import {
  CTL_REPLY,
  CTL_SLOTS,
  JobFlags,
  ResultKind,
  SLOT_RING,
  deserializeError,
  serializeError,
  type FnSpec,
  type FromWorker,
  type PortalReply,
  type ToWorker,
  type WorkerInit,
} from "./protocol.js";
import {
  abortReasonFromCode,
  callLoop,
  callLoopSync,
  currentThread,
  pendingAbort,
  setWorkerState,
  sleepSync,
  taskSignal,
  throwIfCancelled,
  type WorkerState,
} from "./worker-api.js";

type Fn = (...args: unknown[]) => unknown;

const isChild = isMainThread;
if (isChild && typeof process.send !== "function") {
  throw new Error("worker-entry.js is started by asyncio-ts executors; it cannot run on its own");
}

const post: (m: FromWorker) => void = isChild
  ? (m) => {
      if (process.connected) process.send!(m);
    }
  : (m) => parentPort!.postMessage(m);

let state: WorkerState;
let control: Int32Array | null = null;
const fns = new Map<number, Fn>();
const specs = new Map<number, FnSpec>();
/** Flattened local queue `[seq, fnId, args, flags, ...]` from `head`. */
let queue: unknown[] = [];
let head = 0;
let draining = false;
/** Invariant: set once an uncaught error is ending the worker: no job starts after it. */
let dying = false;
/** Invariant: the results `[seq, kind, value, ...]` not yet sent; sent before the next job starts, when the queue runs dry, and on exit. */
let outbox: unknown[] = [];
/** Invariant: the async portal calls sent and not yet answered, by call id: their promise's settlers. */
const pendingCalls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
/** Invariant: the id of the last portal call sent (ids are never reused). */
let callIds = 0;
/** Invariant: the thread's end of its reply channel for `callLoopSync` (set at start); null in a child process or without portal functions. */
let replyPort: MessagePort | null = null;

function flush(): void {
  if (outbox.length === 0) return;
  const r = outbox;
  outbox = [];
  try {
    post({ t: "results", r });
  } catch (e) {
    // Some result cannot be cloned: send them one by one, replacing the offenders by an error.
    for (let i = 0; i < r.length; i += 3) {
      try {
        post({ t: "results", r: [r[i], r[i + 1], r[i + 2]] });
      } catch (err) {
        const te = new TypeError(`The task's result cannot be sent back from the worker: ${String((err as Error).message ?? err)}`);
        post({ t: "results", r: [r[i], ResultKind.Error, serializeError(te)] });
      }
    }
    void e;
  }
}

let tsLoaderRegistered = false;

async function resolveFn(spec: FnSpec): Promise<Fn> {
  if (spec.kind === "source") {
    const make = new Function(
      "sleepSync",
      "currentThread",
      "taskSignal",
      "throwIfCancelled",
      "callLoop",
      "callLoopSync",
      `"use strict"; return (${spec.source});`,
    ) as (...api: unknown[]) => unknown;
    const f = make(sleepSync, currentThread, taskSignal, throwIfCancelled, callLoop, callLoopSync);
    if (typeof f !== "function") throw new TypeError(`The inline task function ${spec.name} did not evaluate to a function`);
    return f as Fn;
  }
  if (/\.(m|c)?ts$/.test(spec.url) && !tsLoaderRegistered) {
    tsLoaderRegistered = true;
    register(new URL("../executors/ts-loader.js", import.meta.url)); // from src/: the same file from a bundle's chunk (bundle.mjs)
  }
  const mod = (await import(spec.url)) as Record<string, unknown>;
  const f = mod[spec.name];
  if (typeof f !== "function") {
    throw new TypeError(`Module ${spec.url} has no exported function ${JSON.stringify(spec.name)} (got ${typeof f})`);
  }
  return f as Fn;
}

/** Say what a ReferenceError of an inline function means. */
function explain(err: unknown, spec: FnSpec | undefined): unknown {
  if (spec?.kind !== "source" || !(err instanceof ReferenceError)) return err;
  const m = /^(\S+) is not defined/.exec(err.message);
  if (m === null || !spec.source.includes(m[1]!)) return err;
  const v = m[1]!;
  const imported = /^__(vi|vite_ssr)_import_\d+__$/.test(v) ? " (an imported binding)" : "";
  err.message =
    `${v} is not defined: the inline task function ${spec.name} uses a variable from its outer scope${imported}, ` +
    "which does not exist in the worker. Pass the value as an argument, or export the function from a module and use moduleFunction()";
  return err;
}

function runSync(fn: Fn, args: unknown, flags: number): unknown {
  if ((flags & JobFlags.Chunk) !== 0) {
    const list = args as unknown[][];
    const out: unknown[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) out[i] = fn(...list[i]!);
    return out;
  }
  return fn(...(args as unknown[]));
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}

async function drain(): Promise<void> {
  draining = true;
  try {
    while (head < queue.length && !dying) {
      const seq = queue[head] as number;
      const fnId = queue[head + 1] as number;
      const args = queue[head + 2];
      const flags = queue[head + 3] as number;
      head += 4;
      if (control !== null) {
        const slot = CTL_SLOTS + (seq % SLOT_RING);
        if (Atomics.compareExchange(control, slot, seq, -seq) !== seq) {
          outbox.push(seq, ResultKind.Skipped, null);
          continue;
        }
      }
      // (the results of the jobs before go first: this job may run long, die, or be terminated)
      flush();
      let fn = fns.get(fnId);
      const spec = specs.get(fnId);
      state.currentSeq = seq;
      state.controller = null;
      state.abortReason = undefined;
      try {
        if (fn === undefined) {
          flush();
          fn = await resolveFn(spec!);
          fns.set(fnId, fn);
        }
        if ((flags & JobFlags.ReportStart) !== 0) {
          flush();
          post({ t: "start", seq });
        }
        let v = runSync(fn, args, flags);
        if (isThenable(v)) {
          flush();
          v = await v;
        } else if ((flags & JobFlags.Chunk) !== 0 && (v as unknown[]).some(isThenable)) {
          flush();
          v = await Promise.all(v as unknown[]);
        }
        outbox.push(seq, ResultKind.Ok, v);
      } catch (e) {
        outbox.push(seq, ResultKind.Error, serializeError(explain(e, spec)));
      }
      state.currentSeq = 0;
      state.controller = null;
    }
    queue = [];
    head = 0;
    flush();
  } finally {
    draining = false;
  }
}

// -------------------------------------------------------------- portal calls (callLoop)

/** Send the running job's portal call; returns its id. Throws a `TypeError` naming an argument that cannot be sent. */
function sendCall(name: string, args: unknown[], sync: boolean): number {
  const what = `${sync ? "callLoopSync" : "callLoop"}(${JSON.stringify(name)})`;
  if (isChild && !process.connected) throw new RuntimeError(`${what}: the pool that started this worker is gone`);
  const id = ++callIds;
  flush(); // (the results of earlier jobs go first)
  try {
    post({ t: "call", seq: state.currentSeq, id, name, args, sync });
  } catch (e) {
    for (let i = 0; i < args.length; i++) {
      try {
        structuredClone(args[i]);
      } catch (e2) {
        throw new TypeError(
          `Cannot send argument ${i + 1} of ${what} to the loop: ${describe(args[i])} cannot be cloned (${(e2 as Error).message}). ` +
            "Arguments must be structured-cloneable: no functions, symbols, or class instances with private state",
        );
      }
    }
    throw new TypeError(`Cannot send ${what} to the loop: ${String((e as Error)?.message ?? e)}`);
  }
  return id;
}

function portalCall(name: string, args: unknown[]): Promise<unknown> {
  const id = sendCall(name, args, false);
  const p = new Promise<unknown>((resolve, reject) => pendingCalls.set(id, { resolve, reject }));
  // An answer nobody reads (a call the task did not await) is dropped, as an unread future's would be,
  // instead of an unhandled rejection that would kill the worker; whoever awaits the call still gets it.
  p.catch(() => {});
  return p;
}

function portalCallSync(name: string, args: unknown[]): unknown {
  const port = replyPort;
  const c = control;
  if (port === null || c === null) throw new RuntimeError(`callLoopSync(${JSON.stringify(name)}): this worker has no reply channel`);
  const id = sendCall(name, args, true);
  for (;;) {
    // (read the word before looking at the port: a reply posted after the look bumps it, so the wait
    // returns at once; a reply posted before it is found by the look)
    const seen = Atomics.load(c, CTL_REPLY);
    const got = receiveMessageOnPort(port);
    if (got !== undefined) {
      const r = got.message as PortalReply;
      if (r.id !== id) continue; // (cannot happen: one blocking call at a time per thread)
      if (r.ok) return r.v;
      throw deserializeError(r.v);
    }
    Atomics.wait(c, CTL_REPLY, seen);
  }
}

function onMessage(m: ToWorker): void {
  if (m.t === "jobs") {
    if (m.defs !== undefined) for (const [id, spec] of m.defs) specs.set(id, spec);
    const jobs = m.jobs;
    for (let i = 0; i < jobs.length; i++) queue.push(jobs[i]);
    if (!draining && !dying) void drain();
  } else if (m.t === "abort") {
    if (state.currentSeq === m.seq) {
      const reason = pendingAbort(state) ?? abortReasonFromCode(m.code);
      state.abortReason = reason;
      if (state.controller !== null && !state.controller.signal.aborted) state.controller.abort(reason);
    }
  } else if (m.t === "reply") {
    const c = pendingCalls.get(m.id);
    if (c !== undefined) {
      pendingCalls.delete(m.id);
      if (m.ok) c.resolve(m.v);
      else c.reject(deserializeError(m.v));
    }
  } else if (m.t === "exit") {
    flush();
    replyPort?.close();
    if (isChild) process.disconnect();
    else closeParentPort();
  }
}

/**
 * End this worker thread: close its port to the pool (Node, Bun). Deno's `node:worker_threads` port has
 * no `close()` (measured with deno 2.9.6): there the worker closes itself as a web worker does
 * (`self.close()`), which the pool sees as the thread's exit, as on Node.
 */
function closeParentPort(): void {
  const port = parentPort as { close?: () => void } | null;
  if (typeof port?.close === "function") port.close();
  else if (typeof (globalThis as { close?: unknown }).close === "function") (globalThis as unknown as { close(): void }).close();
  else process.exit(0);
}

function forwardOutput(): void {
  for (const fd of [1, 2] as const) {
    const stream = fd === 1 ? process.stdout : process.stderr;
    (stream as unknown as { write: unknown }).write = (chunk: unknown, enc?: unknown, cb?: unknown): boolean => {
      const s = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof enc === "string" ? (enc as BufferEncoding) : "utf8");
      try {
        post({ t: "out", fd, s });
      } catch {
        // the channel is gone: nowhere to write
      }
      const done = typeof enc === "function" ? enc : cb;
      if (typeof done === "function") queueMicrotask(() => (done as () => void)());
      return true;
    };
  }
}

async function start(init: WorkerInit): Promise<void> {
  replyPort = init.replyPort ?? null;
  state = {
    name: init.name,
    control: init.control ? new Int32Array(init.control) : null,
    currentSeq: 0,
    controller: null,
    abortReason: undefined,
    portal: { names: init.portal ?? [], call: portalCall, callSync: isChild ? null : portalCallSync },
  };
  control = state.control;
  setWorkerState(state);
  forwardOutput();
  if (init.initializer !== null) {
    try {
      const f = await resolveFn(init.initializer);
      const r = f(...init.initargs);
      if (isThenable(r)) await r;
    } catch (e) {
      post({ t: "initFailed", error: serializeError(e) });
      return;
    }
  }
  post({ t: "ready" });
}

// The exit paths send the finished results first (a task's `process.exit()`, an uncaught error): the
// pool then fails only the job that was running (`seq` in the fatal message says which one).
process.on("exit", () => {
  try {
    flush();
  } catch {
    // The channel to the pool is gone: nothing can be sent from here.
  }
});
process.on("uncaughtException", (err) => {
  if (dying) return;
  dying = true; // (no job starts from now on)
  const code = isChild ? 70 : 1;
  try {
    flush();
    const m: FromWorker = { t: "fatal", error: serializeError(err), seq: state?.currentSeq ?? 0 };
    if (isChild && process.connected) {
      // (a child's IPC send is asynchronous: exit once it is written, or it may be lost)
      process.send!(m, () => process.exit(code));
      setTimeout(() => process.exit(code), 1000);
      return;
    }
    post(m);
  } catch {
    // The channel to the pool is gone: the exit below is all the pool will see (it reports the exit
    // code); nothing else can be done from here.
  }
  process.exit(code);
});

if (isChild) {
  // The parent is gone (or asked us to leave): do not linger on handles that task code left open.
  process.on("disconnect", () => process.exit(0));
  process.on("message", function first(m: unknown) {
    const msg = m as { t: string; init?: WorkerInit };
    if (msg.t === "init") {
      process.off("message", first);
      process.on("message", (x: unknown) => onMessage(x as ToWorker));
      void start(msg.init!);
    }
  });
} else {
  parentPort!.on("message", onMessage);
  void start(workerData as WorkerInit);
}
