/**
 * The portal: the pool side of `callLoop` / `callLoopSync` (`worker-api.ts`), by which a task running in
 * a worker calls back into the event loop that submitted it (Trio's `from_thread.run`, AnyIO's blocking
 * portal, CPython's `call_soon_threadsafe` / `run_coroutine_threadsafe` from a thread).
 *
 * ## Approach
 * A function cannot cross a thread or process boundary, so the pool is given, at construction, the
 * functions its workers may call (`portal: { name: fn }`, checked and copied there); a worker names one
 * and sends structured-cloned arguments. Each call:
 * - arrives as a `call` message on the job's channel, naming the running job (`seq`);
 * - runs as a task of the job's loop (`loop.createTask`, started in the async context the job was
 *   submitted in), so an async function may await queues, locks and sleeps there;
 * - is answered once, from the task's done callback: its result, or its error serialized as the job's
 *   own errors are. An async call's answer is a `reply` message on the job's channel; a blocking call's
 *   (threads) goes to the worker's reply port, and the control buffer's reply word is bumped and
 *   notified, which wakes the thread from `Atomics.wait`.
 *
 * Every call is answered, so no worker waits for ever on a loop that will not answer:
 * - refused at once (an error) when its job was cancelled or timed out (the job's own reason), when the
 *   job's loop is closed or not running, or when the name is unknown (the known names listed);
 * - cancelled on the loop when its job is aborted (its answer is then the job's reason, unless the
 *   function caught the cancellation and returned);
 * - answered with a `RuntimeError` when its loop closes before its task finished;
 * - dropped only when its worker died (nobody is left to answer).
 *
 * Virtual time: a job holds its loop's clock while it runs (`loop._hold()`), but a job waiting on its
 * loop must let the loop's timers run, or a portal function that sleeps would never wake (and a blocked
 * `callLoopSync` would wait for it for ever). So while any of a job's calls is in flight the job's hold
 * is *lent*: released, and taken back when the last call is answered (before the worker can continue).
 * A job with a timeout keeps an I/O mark meanwhile, so that its loop does not report a deadlock that the
 * timeout will end. The price: a job that does not await its call and computes on meanwhile does not
 * hold the clock for that while.
 *
 * ## Rejected alternatives
 * - A `SharedArrayBuffer`-only transport (arguments and results written into a shared ring, the worker
 *   spinning or waiting on it): arguments would be serialized by hand (no `Map`, `Date`, errors with
 *   causes), sizes bounded by the ring, and child processes share no memory; the messages already carry
 *   structured clones, and the shared word is used only to wake a blocked thread.
 * - Sending function source text from the worker to run on the loop: such code cannot reach the loop's
 *   state (its queues, its locks: the point of calling back), and running code a worker sends on the main
 *   thread widens what a compromised task can do; named functions chosen by the pool's owner do neither.
 * - Reading blocking replies from the job channel itself (`receiveMessageOnPort(parentPort)`): it would
 *   take the jobs, aborts and async replies queued there out of order; a separate port carries only the
 *   one reply the thread waits for.
 * - Running the function as a plain callback (`callSoon`): an async function's promise would be foreign
 *   work to the loop, and the call could not be cancelled with its job.
 * - Keeping the job's clock hold during a call: the virtual clock stops while the loop's function sleeps,
 *   so the call never ends, and the job with it.
 *
 * @module
 */
import { RuntimeError, describe, runInContext, type EventLoop, type Task } from "../core/index.js";
import { serializeError, unknownPortalFunction, type PortalCallMessage, type PortalReply } from "./protocol.js";
import { abortReasonFromCode } from "./worker-api.js";
import type { Job } from "./job.js";
import type { WorkerSlot } from "./worker-slot.js";

/**
 * The functions a pool's workers may call on the loop with `callLoop(name, ...args)` /
 * `callLoopSync(name, ...args)`: the `portal` option of `ThreadPoolExecutor` and `ProcessPoolExecutor`.
 * Each runs as a task of the loop that submitted the calling task; it may be async. Arguments and results
 * must be structured-cloneable.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor, run, callLoop, type PortalFunctions } from "asyncio-ts";
 * await run(async () => {
 *   const seen: string[] = [];
 *   const portal: PortalFunctions = { log: (line: string) => void seen.push(line) };
 *   await using pool = new ThreadPoolExecutor({ maxWorkers: 1, portal });
 *   await pool.submit(async () => { await callLoop("log", "hello from a worker"); });
 *   console.log(seen); // [ "hello from a worker" ]
 * });
 * ```
 */
export type PortalFunctions = Record<string, (...args: any[]) => unknown>;

type PortalFn = (...args: unknown[]) => unknown;

/** Check the `portal` option: an object whose values are functions (null/undefined: none). @internal */
export function checkPortal(portal: unknown): Map<string, PortalFn> {
  const fns = new Map<string, PortalFn>();
  if (portal === undefined || portal === null) return fns;
  if (typeof portal !== "object" || Array.isArray(portal) || portal instanceof Map) {
    throw new TypeError(`Expected portal to be an object of functions ({ name: fn }), got ${describe(portal)}`);
  }
  for (const name of Object.keys(portal)) {
    const fn = (portal as Record<string, unknown>)[name];
    if (typeof fn !== "function") throw new TypeError(`Expected portal.${name} to be a function, got ${describe(fn)}`);
    fns.set(name, fn as PortalFn);
  }
  return fns;
}

/** One portal call being served. */
class PortalCall {
  /** Invariant: true once answered (or dropped): it is then out of `Portal._calls`, and answered never again. */
  done = false;
  /** Invariant: the call's task on the loop, once made; null before (and if it could not be made). */
  task: Task<unknown> | null = null;
  /** Invariant: unregisters the close hook on `loop` (answers the call if the loop closes first); null once answered. */
  unhook: (() => void) | null = null;
  constructor(
    readonly id: number,
    readonly name: string,
    readonly job: Job,
    readonly worker: WorkerSlot<Job>,
    readonly sync: boolean,
    readonly loop: EventLoop,
  ) {}
}

/** Lend the job's clock hold to its calls: the first call in flight releases it. */
function lend(j: Job, loop: EventLoop): void {
  if (j.calls++ > 0 || !j.held) return;
  j.held = false;
  j.lent = true;
  // (its timeout will still fire: no deadlock to report meanwhile)
  if (j.timer !== null) j.lentIo = loop._ioBegin(false);
  loop._release();
}

/** A call of the job was answered: the last one takes the hold back, unless the job settled meanwhile. */
function giveBack(j: Job, loop: EventLoop): void {
  if (--j.calls > 0 || !j.lent) return;
  j.lent = false;
  j.lentIo?._release();
  j.lentIo = null;
  j.held = true;
  loop._hold();
}

/** The pool's portal: its functions, and the calls being served. @internal */
export class Portal {
  /** Invariant: the functions given at construction, by name (a copy: later changes to the option object do not count). */
  private readonly _fns: Map<string, PortalFn>;
  /** The names of the functions, sent to each worker (it checks a name before sending a call). */
  readonly names: string[];
  /** Invariant: the calls made and not yet answered, each `!done`, its job's `calls` counting it. */
  private readonly _calls = new Set<PortalCall>();

  constructor(fns: Map<string, PortalFn>) {
    this._fns = fns;
    this.names = [...fns.keys()];
  }

  /** True when the pool has portal functions. */
  get enabled(): boolean {
    return this._fns.size > 0;
  }

  /**
   * Serve a call of worker `w`'s running job `j` (null: no job of `w` has that seq any more): start it
   * on the job's loop, or refuse it at once.
   */
  serve(w: WorkerSlot<Job>, j: Job | null, m: PortalCallMessage): void {
    const what = `${m.sync ? "callLoopSync" : "callLoop"}(${JSON.stringify(m.name)})`;
    if (j === null || j.state !== "sent") {
      this._send(w, m.id, m.name, m.sync, false, new RuntimeError(`${what}: the task that made the call has ended`));
      return;
    }
    if (j.aborted !== 0) {
      this._send(w, m.id, m.name, m.sync, false, abortReasonFromCode(j.aborted));
      return;
    }
    const fn = this._fns.get(m.name);
    if (fn === undefined) {
      this._send(w, m.id, m.name, m.sync, false, unknownPortalFunction(what, m.name, this.names));
      return;
    }
    const loop = j.future._loop;
    if (loop.isClosed() || !loop.isRunning()) {
      const why = loop.isClosed()
        ? "the event loop that submitted the task is closed"
        : "the event loop that submitted the task is not running (submit the task from code running on the loop, inside run())";
      this._send(w, m.id, m.name, m.sync, false, new RuntimeError(`${what}: ${why}`));
      return;
    }
    const call = new PortalCall(m.id, m.name, j, w, m.sync, loop);
    this._calls.add(call);
    lend(j, loop);
    call.unhook = loop._onClose(() => this._answer(call, false, new RuntimeError(`${what}: the event loop was closed before the call finished`)));
    const args = m.args;
    const start = (): Task<unknown> => loop.createTask(() => fn(...args), { name: `${what} from ${w.name}` });
    let task: Task<unknown>;
    try {
      task = j.ctx === null ? start() : runInContext(j.ctx, start, undefined);
    } catch (e) {
      // (a task factory of the loop's that throws)
      this._answer(call, false, e);
      return;
    }
    call.task = task;
    task.addDoneCallback((t) => {
      let ok = true;
      let v: unknown;
      try {
        v = t.result();
      } catch (e) {
        ok = false;
        // (cancelled because its job was aborted: the job's reason, as for a call made after)
        v = t.cancelled() && call.job.aborted !== 0 ? abortReasonFromCode(call.job.aborted) : e;
      }
      this._answer(call, ok, v);
    });
  }

  /** The running job `j` was cancelled or timed out (`j.aborted` set): cancel its calls on the loop. */
  abortJob(j: Job): void {
    if (j.calls === 0) return;
    for (const call of [...this._calls]) {
      if (call.job === j) this._cancel(call);
    }
  }

  /** Worker `w` died: its calls have nobody to answer; cancel them on the loop. */
  workerGone(w: WorkerSlot<Job>): void {
    if (this._calls.size === 0) return;
    for (const call of [...this._calls]) {
      if (call.worker === w) this._cancel(call);
    }
  }

  private _cancel(call: PortalCall): void {
    if (call.task === null || call.loop.isClosed()) return;
    call.task.cancel();
  }

  /** Answer `call` once: end its clock lending and send the outcome. */
  private _answer(call: PortalCall, ok: boolean, value: unknown): void {
    if (call.done) return;
    call.done = true;
    this._calls.delete(call);
    call.unhook?.();
    call.unhook = null;
    giveBack(call.job, call.loop);
    this._send(call.worker, call.id, call.name, call.sync, ok, value);
  }

  /** Send an answer to worker `w` (nothing if it died); a result that cannot be cloned becomes a `TypeError`. */
  private _send(w: WorkerSlot<Job>, id: number, name: string, sync: boolean, ok: boolean, value: unknown): void {
    if (w.dead) return;
    const post = (m: PortalReply): void => (sync ? w.bw.postSyncReply(m) : w.bw.post(m));
    try {
      post(ok ? { t: "reply", id, ok: true, v: value } : { t: "reply", id, ok: false, v: serializeError(value) });
      return;
    } catch (e) {
      if (!ok) return; // (a serialized error always clones: the channel is closing, the worker with it)
      const te = new TypeError(`The result of portal function ${name} cannot be sent to the worker: ${String((e as Error)?.message ?? e)}`);
      try {
        post({ t: "reply", id, ok: false, v: serializeError(te) });
      } catch {
        // The channel is closing (the worker is exiting): its exit settles its job.
      }
    }
  }
}

