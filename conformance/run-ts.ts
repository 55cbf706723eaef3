/**
 * Run an emitted TypeScript program on asyncio-ts under virtual time and return its trace.
 *
 * The program (from `emitTs`) is the body of an async function; it is compiled once with the
 * `AsyncFunction` constructor, with the asyncio-ts API and the prelude (the twins of `pyrun.py`'s
 * helpers) as its parameters. Each run gets a fresh prelude (fresh `T`, fresh lines).
 *
 * @module
 */
import * as aio from "../src/index.js";

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<void>;

/** Errors the programs raise themselves (Python builtins). */
class ValueError extends Error {
  override name = "ValueError";
}
class KeyError extends Error {
  override name = "KeyError";
}

/** The result of one run. */
export interface TsRun {
  lines: string[];
  /** when the loop found a deadlock (every task blocked, no timer): how many lines were printed by then */
  deadlockAfter?: number;
  /** true if the program did not finish within the real-time limit */
  hung: boolean;
}

function exc(e: unknown): string {
  if (e instanceof aio.CancelledError) return `CancelledError(${e.message})`;
  if (e instanceof aio.ExceptionGroup) return `ExceptionGroup[${e.exceptions.map(exc).join(", ")}]`;
  // asyncio-ts throws RangeError where Python raises ValueError (docs/rosetta.md)
  if (e instanceof RangeError) return "ValueError";
  if (e instanceof Error) return e.name;
  return `non-error ${String(e)}`;
}

function fmt(x: unknown): string {
  if (x instanceof Error) return exc(x);
  if (Array.isArray(x)) return `[${x.map(fmt).join(", ")}]`;
  if (x === undefined || x === null) return "None";
  if (x === true) return "True";
  if (x === false) return "False";
  return String(x);
}

function names(tasks: Iterable<aio.Future<unknown>>): string {
  return [...tasks]
    .map((t) => (t as aio.Task<unknown>).getName())
    .sort()
    .join(",");
}

function outcome(t: aio.Future<unknown>): string {
  if (t.cancelled()) return "cancelled";
  const e = t.exception();
  if (e !== undefined) return `raised ${exc(e)}`;
  return `returned ${fmt(t.result())}`;
}

/** Bytes read from a stream as printed (a newline shown as a backslash and n, as `pyrun.py`'s `show`). */
function show(b: Uint8Array): string {
  return Buffer.from(b).toString("latin1").replace(/\n/g, "\\n");
}

/** `feed_data(text)`, unless the reader already had its end of file (then CPython would assert). */
function feed(r: aio.StreamReader, text: string): string {
  if (r._eof) return "ignored (eof)";
  r.feedData(Buffer.from(text, "latin1"));
  return "ok";
}

/**
 * `reader.readline()`, with the one documented difference translated (`docs/rosetta.md`): over the limit,
 * asyncio-ts raises `LimitOverrunError` where CPython raises `ValueError`, after the same consumption.
 */
async function readline(r: aio.StreamReader): Promise<Buffer> {
  try {
    return await r.readline();
  } catch (e) {
    if (e instanceof aio.LimitOverrunError) throw new ValueError(e.message);
    throw e;
  }
}

const API = {
  sleep: aio.sleep,
  createTask: aio.createTask,
  gather: aio.gather,
  wait: aio.wait,
  asCompleted: aio.asCompleted,
  waitFor: aio.waitFor,
  timeout: aio.timeout,
  shield: aio.shield,
  taskGroup: aio.taskGroup,
  currentTask: aio.currentTask,
  CancelledError: aio.CancelledError,
  TimeoutError: aio.TimeoutError,
  ExceptionGroup: aio.ExceptionGroup,
  RuntimeError: aio.RuntimeError,
  QueueEmpty: aio.QueueEmpty,
  QueueFull: aio.QueueFull,
  QueueShutDown: aio.QueueShutDown,
  BrokenBarrierError: aio.BrokenBarrierError,
  Lock: aio.Lock,
  Event: aio.Event,
  Condition: aio.Condition,
  Semaphore: aio.Semaphore,
  BoundedSemaphore: aio.BoundedSemaphore,
  Barrier: aio.Barrier,
  Queue: aio.Queue,
  PriorityQueue: aio.PriorityQueue,
  LifoQueue: aio.LifoQueue,
  StreamReader: aio.StreamReader,
  show,
  feed,
  readline,
  FIRST_COMPLETED: aio.FIRST_COMPLETED,
  FIRST_EXCEPTION: aio.FIRST_EXCEPTION,
  ALL_COMPLETED: aio.ALL_COMPLETED,
  ValueError,
  KeyError,
  exc,
  fmt,
  names,
  outcome,
  getRunningLoop: aio.getRunningLoop,
};

const PRELUDE_NAMES = ["p", "T", "R", "cleanup"];

/** Compile an emitted program into a function of the API and the prelude. */
export function compileTs(source: string): (...args: unknown[]) => Promise<void> {
  return new AsyncFunction(...Object.keys(API), ...PRELUDE_NAMES, source);
}

/**
 * Run the emitted program `source` on a fresh virtual-time loop. `deadlockTimeout`: how long (real ms)
 * the loop waits, every task blocked and no timer left, before it reports a deadlock and cancels them.
 */
export async function runTs(source: string, limitMs = 5000, deadlockTimeout?: number): Promise<TsRun> {
  const fn = compileTs(source);
  const lines: string[] = [];
  const T: Record<string, aio.Task<unknown>> = {};
  const R: Record<string, unknown> = {};
  const p = (text: string): void => {
    lines.push(`${Math.round(aio.getRunningLoop().time())} ${text}`);
  };
  const cleanup = async (): Promise<void> => {
    const left = Object.values(T).filter((t) => !t.done());
    if (left.length > 0) {
      p(`cleanup ${left.map((t) => t.getName()).join(",")}`);
      for (const t of left) t.cancel();
      await aio.gather(...left, { returnExceptions: true });
    }
    p("main exit");
  };
  let deadlockAfter: number | undefined;
  const main = async (): Promise<void> => {
    aio.getRunningLoop().setExceptionHandler((_loop, ctx) => {
      if (deadlockAfter === undefined && ctx.message.includes("deadlock on virtual time")) deadlockAfter = lines.length;
    });
    await fn(...Object.values(API), p, T, R, cleanup);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), limitMs);
  });
  try {
    const r = await Promise.race([aio.run(main, { virtualTime: true, ...(deadlockTimeout === undefined ? {} : { deadlockTimeout }) }).then(() => "ok" as const), hang]);
    return { lines, hung: r === "hung", ...(deadlockAfter === undefined ? {} : { deadlockAfter }) };
  } catch (e) {
    lines.push(`end raised ${exc(e)}`);
    return { lines, hung: false, ...(deadlockAfter === undefined ? {} : { deadlockAfter }) };
  } finally {
    clearTimeout(timer);
  }
}
