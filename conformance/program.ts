/**
 * The differential harness's program description: a small tree of statements that both emitters
 * (`emit.ts`) turn into real programs, one in Python (run by CPython under a virtual clock to make the
 * golden traces) and one in TypeScript (run on asyncio-ts under virtual time by the test).
 *
 * A statement is a JSON tuple whose first element names it (compact: the golden files hold hundreds of
 * programs). Time is in integer milliseconds, always a multiple of 125 so that Python's float seconds
 * are exact in binary and ties between timers are real ties on both sides.
 *
 * Scoping rule (what keeps every generated program well defined): a task is referred to by its name
 * (`T["t3"]` / `T.t3`), only after the statement that spawns it, in the same block or a nested one,
 * including the bodies of tasks spawned later. So a task only awaits tasks created before it: awaits
 * never form a cycle.
 *
 * @module
 */

/** Errors a program raises itself (Python builtins; classes of the same name on the TypeScript side). */
export type ErrName = "ValueError" | "KeyError";

/** What an `except` clause catches. `Exception` is everything but `CancelledError`. */
export type CatchCls =
  | ErrName
  | "QueueEmpty"
  | "QueueFull"
  | "QueueShutDown"
  | "BrokenBarrierError"
  | "CancelledError"
  | "TimeoutError"
  | "ExceptionGroup"
  | "RuntimeError"
  | "Exception"
  | "BaseException";

/** `wait()`'s `return_when`. */
export type ReturnWhen = "FIRST_COMPLETED" | "FIRST_EXCEPTION" | "ALL_COMPLETED";

/** One `except` clause: the class, the handler, and whether the handler re-raises at its end. */
export type Catch = [cls: CatchCls, body: Block, reraise: boolean];

/** A statement. Every statement that awaits prints its outcome, prefixed by the running task's name. */
export type Stmt =
  | ["print", string]
  | ["sleep", number]
  /** start a task (in the task group `tg` when given) running `body`; it returns `"v:<name>"` */
  | ["spawn", string, Block, number | null]
  | ["await", string]
  | ["cancel", string, string | null]
  | ["gather", string[], boolean]
  | ["wait", string[], number | null, ReturnWhen]
  /** `wait_for` of a task, or of an inline coroutine (a block) */
  | ["waitFor", string | Block, number | null]
  /** `gather` of inline coroutines (blocks returning their own name), with `return_exceptions` */
  | ["gatherCo", Block[], boolean]
  /** `shield` of an inline coroutine */
  | ["shieldCo", Block]
  /** `async for f in as_completed([coroutines], timeout=...)`, printing each result */
  | ["asCompletedCo", Block[], number | null]
  | ["timeout", number | null, Block]
  /** `async for t in as_completed(tasks, timeout=...)`, printing each task's name as it finishes */
  | ["asCompleted", string[], number | null]
  /** `cm.reschedule(loop.time() + ms)` (`null`: no deadline) of the enclosing `timeout` (directly in its block) */
  | ["reschedule", number | null]
  /** print `cm.expired()` of the enclosing `timeout` (directly in its block) */
  | ["expired"]
  /** `loop.call_soon(p, text)` */
  | ["callSoon", string]
  /** `loop.call_later(ms, p, text)` */
  | ["callLater", number, string]
  /** `task.add_done_callback(...)`: prints the task's name and how it ended */
  | ["onDone", string]
  | ["shield", string]
  /** a task group, numbered so that spawns inside can name it */
  | ["tg", number, Block]
  | ["raise", ErrName]
  | ["try", Block, Catch[], Block | null]
  /** print `current_task().cancelling()` */
  | ["cancelling"]
  /** `current_task().cancel(msg)`: the next await raises */
  | ["cancelSelf", string | null]
  /** `current_task().uncancel()`, printing the new count */
  | ["uncancel"]
  // ---- synchronization primitives and queues (resources declared in `Program.res`)
  /** `async with` a Lock, Semaphore, BoundedSemaphore or Condition */
  | ["with", string, Block]
  /** a bare `release()` (for the errors of releasing too often) */
  | ["release", string]
  | ["evWait", string]
  | ["evSet", string]
  | ["evClear", string]
  /** `async with cond: await cond.wait()` */
  | ["condWait", string]
  /** `async with cond: cond.notify(n)` (`null`: `notify_all()`) */
  | ["condNotify", string, number | null]
  | ["barWait", string]
  | ["barAbort", string]
  | ["barReset", string]
  | ["put", string, string]
  | ["get", string]
  | ["putNowait", string, string]
  | ["getNowait", string]
  | ["taskDone", string]
  | ["join", string]
  | ["shutdown", string, boolean]
  /** print the resource's state (`locked()`, `is_set()`, `qsize()`, `n_waiting`/`broken`, `at_eof()`) */
  | ["state", string]
  // ---- a StreamReader fed by the program (`feed_data`), read by its tasks
  /** `reader.feed_data(text)` (ASCII text; ignored, and said so, once `feed_eof()` was called) */
  | ["feed", string, string]
  | ["feedEof", string]
  | ["readline", string]
  | ["readexactly", string, number]
  | ["readuntil", string, string]
  /** `read(n)`; -1 reads to the end of file */
  | ["read", string, number];

/** A sequence of statements. */
export type Block = Stmt[];

/**
 * A synchronization primitive or queue, created when `main` starts. The name's first letter tells the
 * kind: `L` Lock, `S` Semaphore(arg), `K` BoundedSemaphore(arg), `E` Event, `C` Condition, `B`
 * Barrier(arg parties), `Q` Queue(arg maxsize), `P` PriorityQueue(arg maxsize), `F` LifoQueue(arg maxsize),
 * `R` StreamReader(limit = arg) (fed by the program itself: no socket).
 */
export type Res = [name: string, arg: number];

/** A whole program: the body of `main`. */
export interface Program {
  /** A stable identifier (`hand/<name>` or `gen/<seed>`). */
  id: string;
  /** The body of the main task. */
  main: Block;
  /** Primitives and queues, created at the start of `main`. */
  res?: Res[];
  /**
   * The coroutine form: the TypeScript program hands the combinators the promises of called async
   * functions (`gather(f(), g())`, `waitFor(f(), ms)`) where the function form hands them the functions
   * (`gather(f, g)`). A JavaScript call runs the function up to its first await at once: the Python twin
   * models that with eager tasks (`asyncio.Task(coro, eager_start=True)`, 3.12+), and awaits
   * `wait_for(coro(), t)` inline as CPython does (eagerly for `t <= 0`, which makes a task).
   */
  co?: boolean;
}

/** The class of a resource, by the first letter of its name. */
export function resKind(
  name: string,
): "Lock" | "Semaphore" | "BoundedSemaphore" | "Event" | "Condition" | "Barrier" | "Queue" | "PriorityQueue" | "LifoQueue" | "StreamReader" {
  switch (name[0]) {
    case "L":
      return "Lock";
    case "S":
      return "Semaphore";
    case "K":
      return "BoundedSemaphore";
    case "E":
      return "Event";
    case "C":
      return "Condition";
    case "B":
      return "Barrier";
    case "Q":
      return "Queue";
    case "P":
      return "PriorityQueue";
    case "F":
      return "LifoQueue";
    case "R":
      return "StreamReader";
    default:
      throw new Error(`unknown resource ${name}`);
  }
}
