/**
 * User async generators consumed with `for await` inside tasks, under every way a task is cancelled
 * (`task.cancel()`, `timeout`, `waitFor`, a failing `TaskGroup` sibling, a `CancelScope`), and at run()'s
 * end: where `CancelledError` / `TimeoutError` arrive, that the generator's `finally` runs, that no queue
 * item is lost and no lock or semaphore stays held.
 *
 * Each section gives its Python twin (run with `PYENV_VERSION=3.13.0 python3`; 3.12.1 prints the same) and
 * what CPython 3.13 printed. The twins time with the real clock: their stamps are rounded to 10 ms. Where
 * asyncio-ts's order differs by nature, the test asserts asyncio-ts's order and names the rosetta row:
 * - "shutdown_asyncgens" (docs/rosetta.md, the row on `loop.shutdown_asyncgens()`): leaving `for await` by
 *   `break` or by an error calls `return()` at once, so the generator's `finally` runs before the loop's
 *   caller goes on; CPython throws `GeneratorExit` into it later, in a task of the loop's finalizer.
 *   `return()` throws nothing into the generator, so its `catch` does not run (no "caught GeneratorExit").
 */
import { describe, expect, it } from "vitest";
import {
  CancelScope,
  Lock,
  Queue,
  Semaphore,
  TimeoutError,
  createTask,
  getRunningLoop,
  run,
  sleep,
  taskGroup,
  timeout,
  waitFor,
} from "../../src/index.js";

const name = (e: unknown): string => (e instanceof Error ? e.constructor.name : String(e));
const py = (b: boolean): string => (b ? "True" : "False");
const list = (xs: readonly unknown[]): string => `[${xs.map(String).join(", ")}]`;

type Log = (text: string) => void;

/**
 * Run `body` on virtual time; `p` records a line stamped with the loop time since the start. Returns the
 * lines; fails if the loop's exception handler was called (a lost error, a stuck clock).
 */
async function logged(body: (p: Log) => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const reports: unknown[] = [];
  await run(
    async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, ctx) => reports.push(ctx.message));
      const t0 = loop.time();
      await body((text) => void lines.push(`${Math.round(loop.time() - t0)} ${text}`));
    },
    { virtualTime: true },
  );
  expect(reports).toEqual([]);
  return lines;
}

/** Take every item left in `q`. */
function drain<T>(q: Queue<T>): T[] {
  const left: T[] = [];
  while (q.qsize() > 0) left.push(q.getNowait());
  return left;
}

/** Every item put was delivered or is still in the queue, each once. */
function expectNothingLost(delivered: readonly number[], left: readonly number[], put: readonly number[]): void {
  expect([...delivered, ...left].sort()).toEqual([...put].sort());
}

// ---------------------------------------------------------------------------------------------------------
// 1. A generator that yields `await q.get()`, consumed in a task, cancelled by each mechanism at each point.
// ---------------------------------------------------------------------------------------------------------
//
// Python twin (one function, called for every mechanism and point; after each call the program sleeps
// 0.5 s so that the async-generator finalizer's task has run, then prints the lines):
//
//   async def scenario(mech, point):
//       loop = asyncio.get_running_loop(); t0 = loop.time(); lines = []
//       def p(s): lines.append(f"{int(round((loop.time() - t0) * 1000, -1))} {s}")
//       q = asyncio.Queue()
//       put = [1, 2] if point == "body" else [1]
//       for x in put: q.put_nowait(x)
//       delivered = []
//       async def items():
//           try:
//               while True:
//                   x = await q.get()
//                   p(f"gen got {x}")
//                   yield x
//           except BaseException as e:
//               p(f"gen caught {type(e).__name__}"); raise
//           finally:
//               p("gen finally")
//       async def consumer():
//           try:
//               async for x in items():
//                   delivered.append(x); p(f"consumer item {x}")
//                   await asyncio.sleep(0.1 if point == "body" else 0.02)
//           except BaseException as e:
//               p(f"consumer caught {type(e).__name__}"); raise
//       def late_put():
//           q.put_nowait(7); put.append(7)
//       async def cancel_at_50(cancel):
//           await asyncio.sleep(0.05)
//           if point == "race": late_put()
//           cancel()
//       try:
//           if mech == "cancel":
//               t = asyncio.create_task(consumer())
//               await cancel_at_50(t.cancel)
//               await t
//           elif mech == "timeout":
//               async with asyncio.timeout(0.05):
//                   if point == "race": loop.call_later(0.05, late_put)
//                   await consumer()
//           elif mech == "waitFor":
//               if point == "race": loop.call_later(0.05, late_put)
//               await asyncio.wait_for(consumer(), 0.05)
//           elif mech == "taskGroup":
//               async with asyncio.TaskGroup() as tg:
//                   tg.create_task(consumer())
//                   async def failing():
//                       await asyncio.sleep(0.05)
//                       if point == "race": late_put()
//                       raise RuntimeError("boom")
//                   tg.create_task(failing())
//           elif mech == "cancelScope":   # asyncio's nearest: a timeout(None) moved to now
//               cm = None
//               async def body():
//                   nonlocal cm
//                   try:
//                       async with asyncio.timeout(None) as c:
//                           cm = c
//                           await consumer()
//                   except TimeoutError:
//                       p("scope caught")
//               t = asyncio.create_task(body())
//               await cancel_at_50(lambda: cm.reschedule(loop.time()))
//               await t
//           p("main returned")
//       except BaseException as e:
//           p(f"main caught {type(e).__name__}")
//       await asyncio.sleep(0)
//       left = []
//       while q.qsize(): left.append(q.get_nowait())
//       p(f"delivered {delivered} left {left} put {put}")
//       return lines
//
// CPython 3.13 prints, for every mechanism, "0 gen got 1", "0 consumer item 1", then:
// - point gen-await ("genwait"): "50 gen caught CancelledError", "50 gen finally", "50 consumer caught
//   CancelledError", the outcome ("50 main caught CancelledError" / "TimeoutError" / "TimeoutError" /
//   "ExceptionGroup" / "50 scope caught", "50 main returned"), "50 delivered [1] left [] put [1]".
// - point body: "50 consumer caught CancelledError", the outcome, then, at a moment of the finalizer's
//   choosing, "50 gen caught GeneratorExit", "50 gen finally" (cancel, cancelScope: after the outcome;
//   timeout, waitFor: after the "delivered" line; taskGroup: before the outcome), and
//   "50 delivered [1] left [2] put [1, 2]". asyncio-ts: "50 gen finally" first (rosetta
//   "shutdown_asyncgens"), no GeneratorExit.
// - point put-and-cancel ("race": an item put in the same synchronous run as the cancel; for timeout and
//   waitFor, put by a timer due at the deadline): cancel, timeout, waitFor as gen-await, with
//   "50 delivered [1] left [7] put [1, 7]" (the woken getter is cancelled, the item stays queued).
//   taskGroup: "50 gen got 7", "50 consumer item 7", "50 consumer caught CancelledError",
//   "50 gen caught GeneratorExit", "50 gen finally", "50 main caught ExceptionGroup",
//   "50 delivered [1, 7] left [] put [1, 7]" (the group cancels the consumer one step later, so it
//   receives 7 first). cancelScope: the twin's `reschedule(now)` also cancels one callback later, so
//   CPython prints "50 gen got 7", "50 consumer item 7", ... "delivered [1, 7] left []"; asyncio-ts's
//   `scope.cancel()` cancels at once, as `task.cancel()` does: the getter is cancelled, 7 stays queued
//   ("delivered [1] left [7]"). Nothing is lost either way.

type Mech = "cancel" | "timeout" | "waitFor" | "taskGroup" | "cancelScope";
type Point = "gen-await" | "body" | "put-and-cancel";

interface QueueRun {
  lines: string[];
  delivered: number[];
  left: number[];
  put: number[];
}

async function queueScenario(mech: Mech, point: Point): Promise<QueueRun> {
  const put = point === "body" ? [1, 2] : [1];
  const delivered: number[] = [];
  let left: number[] = [];
  const lines = await logged(async (p) => {
    const loop = getRunningLoop();
    const q = new Queue<number>();
    for (const x of put) q.putNowait(x);
    async function* items(): AsyncGenerator<number> {
      try {
        for (;;) {
          const x = await q.get();
          p(`gen got ${x}`);
          yield x;
        }
      } catch (e) {
        p(`gen caught ${name(e)}`);
        throw e;
      } finally {
        p("gen finally");
      }
    }
    const consumer = async (): Promise<void> => {
      try {
        for await (const x of items()) {
          delivered.push(x);
          p(`consumer item ${x}`);
          await sleep(point === "body" ? 100 : 20);
        }
      } catch (e) {
        p(`consumer caught ${name(e)}`);
        throw e;
      }
    };
    const latePut = (): void => {
      q.putNowait(7);
      put.push(7);
    };
    const cancelAt50 = async (cancel: () => void): Promise<void> => {
      await sleep(50);
      if (point === "put-and-cancel") latePut();
      cancel();
    };
    try {
      if (mech === "cancel") {
        const t = createTask(consumer);
        await cancelAt50(() => t.cancel());
        await t;
      } else if (mech === "timeout") {
        await timeout(50, async () => {
          if (point === "put-and-cancel") loop.callLater(50, latePut);
          await consumer();
        });
      } else if (mech === "waitFor") {
        if (point === "put-and-cancel") loop.callLater(50, latePut);
        await waitFor(consumer(), 50);
      } else if (mech === "taskGroup") {
        await taskGroup(async (tg) => {
          tg.createTask(consumer);
          tg.createTask(async () => {
            await sleep(50);
            if (point === "put-and-cancel") latePut();
            throw new RangeError("boom");
          });
        });
      } else {
        const scope = new CancelScope();
        const t = createTask(async () => {
          await scope.run(consumer);
          if (scope.cancelledCaught) p("scope caught");
        });
        await cancelAt50(() => scope.cancel());
        await t;
      }
      p("main returned");
    } catch (e) {
      p(`main caught ${name(e)}`);
    }
    await sleep(0);
    left = drain(q);
    p(`delivered ${list(delivered)} left ${list(left)} put ${list(put)}`);
  });
  return { lines, delivered, left, put };
}

const outcome: Record<Mech, string[]> = {
  cancel: ["50 main caught CancelledError"],
  timeout: ["50 main caught TimeoutError"],
  waitFor: ["50 main caught TimeoutError"],
  taskGroup: ["50 main caught ExceptionGroup"],
  cancelScope: ["50 scope caught", "50 main returned"],
};

/** asyncio-ts's lines between the first item and the outcome. */
function unwinding(mech: Mech, point: Point): string[] {
  if (point === "body") return ["50 gen finally", "50 consumer caught CancelledError"]; // (rosetta "shutdown_asyncgens")
  if (point === "put-and-cancel" && mech === "taskGroup") {
    return ["50 gen got 7", "50 consumer item 7", "50 gen finally", "50 consumer caught CancelledError"];
  }
  return ["50 gen caught CancelledError", "50 gen finally", "50 consumer caught CancelledError"];
}

function lastLine(mech: Mech, point: Point): string {
  if (point === "gen-await") return "50 delivered [1] left [] put [1]";
  if (point === "body") return "50 delivered [1] left [2] put [1, 2]";
  return mech === "taskGroup" ? "50 delivered [1, 7] left [] put [1, 7]" : "50 delivered [1] left [7] put [1, 7]";
}

describe("a generator yielding `await q.get()`, consumed by `for await` in a task that is cancelled", () => {
  const mechs: Mech[] = ["cancel", "timeout", "waitFor", "taskGroup", "cancelScope"];
  const points: Point[] = ["gen-await", "body", "put-and-cancel"];
  for (const mech of mechs) {
    for (const point of points) {
      it(`${mech}, ${point}: the error arrives where CPython's does, the finally runs, no item is lost`, async () => {
        const r = await queueScenario(mech, point);
        expect(r.lines).toEqual([
          "0 gen got 1",
          "0 consumer item 1",
          ...unwinding(mech, point),
          ...outcome[mech],
          lastLine(mech, point),
        ]);
        expect(r.lines.filter((l) => l.endsWith("gen finally"))).toHaveLength(1);
        expectNothingLost(r.delivered, r.left, r.put);
      });
    }
  }

  // Python twin (a generator that iterates another; the consumer task cancelled at 50 ms):
  //
  //   async def scenario(point):
  //       loop = asyncio.get_running_loop(); t0 = loop.time(); lines = []
  //       def p(s): lines.append(f"{int(round((loop.time() - t0) * 1000, -1))} {s}")
  //       q = asyncio.Queue()
  //       for x in ([1, 2] if point == "body" else [1]): q.put_nowait(x)
  //       async def inner():
  //           try:
  //               while True: yield await q.get()
  //           except BaseException as e: p(f"inner caught {type(e).__name__}"); raise
  //           finally: p("inner finally")
  //       async def outer():
  //           try:
  //               async for x in inner(): yield x * 10
  //           except BaseException as e: p(f"outer caught {type(e).__name__}"); raise
  //           finally: p("outer finally")
  //       async def consumer():
  //           async for x in outer():
  //               p(f"item {x}"); await asyncio.sleep(0.1 if point == "body" else 0.02)
  //       t = asyncio.create_task(consumer())
  //       await asyncio.sleep(0.05); t.cancel()
  //       try: await t
  //       except asyncio.CancelledError: p("main: task CancelledError")
  //       await asyncio.sleep(0)
  //       p(f"qsize {q.qsize()}")
  //       return lines
  //
  // CPython 3.13, gen-await: "0 item 10", "50 inner caught CancelledError", "50 inner finally",
  // "50 outer caught CancelledError", "50 outer finally", "50 main: task CancelledError", "50 qsize 0".
  // body: "0 item 10", "50 main: task CancelledError", "50 outer caught GeneratorExit", "50 outer finally",
  // "50 qsize 1", "50 inner caught GeneratorExit", "50 inner finally". asyncio-ts closes both at once,
  // inner first (the outer's `for await` calls the inner's `return()` as it unwinds): rosetta
  // "shutdown_asyncgens".
  for (const point of ["gen-await", "body"] as const) {
    it(`a generator over a generator, cancelled at ${point}: both finally blocks run, the item stays queued`, async () => {
      const lines = await logged(async (p) => {
        const q = new Queue<number>();
        for (const x of point === "body" ? [1, 2] : [1]) q.putNowait(x);
        async function* inner(): AsyncGenerator<number> {
          try {
            for (;;) yield await q.get();
          } catch (e) {
            p(`inner caught ${name(e)}`);
            throw e;
          } finally {
            p("inner finally");
          }
        }
        async function* outer(): AsyncGenerator<number> {
          try {
            for await (const x of inner()) yield x * 10;
          } catch (e) {
            p(`outer caught ${name(e)}`);
            throw e;
          } finally {
            p("outer finally");
          }
        }
        const t = createTask(async () => {
          for await (const x of outer()) {
            p(`item ${x}`);
            await sleep(point === "body" ? 100 : 20);
          }
        });
        await sleep(50);
        t.cancel();
        try {
          await t;
        } catch (e) {
          p(`main: task ${name(e)}`);
        }
        await sleep(0);
        p(`qsize ${q.qsize()}`);
      });
      expect(lines).toEqual(
        point === "gen-await"
          ? [
              "0 item 10",
              "50 inner caught CancelledError",
              "50 inner finally",
              "50 outer caught CancelledError",
              "50 outer finally",
              "50 main: task CancelledError",
              "50 qsize 0",
            ]
          : ["0 item 10", "50 inner finally", "50 outer finally", "50 main: task CancelledError", "50 qsize 1"],
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// 2. A generator holding a Lock / Semaphore across a yield, with a finally that awaits.
// ---------------------------------------------------------------------------------------------------------
//
// Python twin:
//
//   async def scenario(prim, how):
//       loop = asyncio.get_running_loop(); t0 = loop.time(); lines = []
//       def p(s): lines.append(f"{int(round((loop.time() - t0) * 1000, -1))} {s}")
//       lock = asyncio.Lock() if prim == "Lock" else asyncio.Semaphore(1)
//       q = asyncio.Queue()
//       for x in ([1] if how == "cancel-at-gen-await" else [1, 2]): q.put_nowait(x)
//       async def guarded():
//           await lock.acquire()
//           p("gen acquired")
//           try:
//               while True:
//                   x = await q.get()
//                   yield x
//           finally:
//               p("gen finally start")
//               try:
//                   await asyncio.sleep(0.01); p("gen finally slept")
//               finally:
//                   lock.release(); p("gen released")
//       async def consumer():
//           try:
//               async for x in guarded():
//                   p(f"consumer item {x}")
//                   if how == "break" and x == 2: break
//                   await asyncio.sleep(0.02 if how == "cancel-at-gen-await" else 0.1)
//               p(f"consumer after loop, locked {lock.locked()}")
//           except BaseException as e:
//               p(f"consumer caught {type(e).__name__}"); raise
//       if how == "handoff-and-cancel":
//           await lock.acquire()
//       t = asyncio.create_task(consumer())
//       if how == "break":
//           await t
//       else:
//           await asyncio.sleep(0.01 if how == "handoff-and-cancel" else 0.05)
//           if how == "handoff-and-cancel": lock.release()
//           t.cancel()
//           try: await t
//           except asyncio.CancelledError: p("main: task CancelledError")
//       p(f"main: locked {lock.locked()}")
//       try:
//           async with asyncio.timeout(0.05): await lock.acquire()
//           p("main acquired"); lock.release()
//       except TimeoutError: p("main: acquire TimeoutError")
//       p(f"qsize {q.qsize()}")
//       return lines
//
// CPython 3.13 prints the same for Lock and Semaphore:
// - break: "0 gen acquired", "0 consumer item 1", "100 consumer item 2", "100 consumer after loop, locked
//   True", "100 main: locked True", "100 gen finally start", "110 gen finally slept", "110 gen released",
//   "110 main acquired", "110 qsize 0".
// - cancel-in-body: "0 gen acquired", "0 consumer item 1", "50 consumer caught CancelledError", "50 main:
//   task CancelledError", "50 main: locked True", "50 gen finally start", "60 gen finally slept",
//   "60 gen released", "60 main acquired", "60 qsize 1".
// - cancel-at-gen-await: "0 gen acquired", "0 consumer item 1", "50 gen finally start", "60 gen finally
//   slept", "60 gen released", "60 consumer caught CancelledError", "60 main: task CancelledError",
//   "60 main: locked False", "60 main acquired", "60 qsize 0".
// - handoff-and-cancel (the lock handed to the generator's waiting acquire and the task cancelled in the
//   same synchronous run): "10 consumer caught CancelledError", "10 main: task CancelledError",
//   "10 main: locked False", "10 main acquired", "10 qsize 2".
// asyncio-ts runs the generator's finally (and its await) before the loop's caller goes on (rosetta
// "shutdown_asyncgens"): after break and after a cancel in the body the lock is already free when the
// consumer's code after the loop runs, where CPython's is still held until its finalizer ran.
//
// scope-cancel-in-body has no asyncio twin with the same semantics: a `CancelScope` is level-triggered
// (docs/rosetta.md, "Inside a cancelled CancelScope every later await fails again"), and the generator's
// finally runs inside it, so its `await sleep(10)` throws CancelledError at once; the release in the
// inner finally still runs. (CPython's nearest twin, `timeout(None)` moved to now, runs the finally later,
// outside the scope: "gen finally slept" at 60.)

type Held = "Lock" | "Semaphore";
type How = "break" | "cancel-in-body" | "cancel-at-gen-await" | "handoff-and-cancel" | "scope-cancel-in-body";

async function heldScenario(prim: Held, how: How): Promise<string[]> {
  return logged(async (p) => {
    const lock = prim === "Lock" ? new Lock() : new Semaphore(1);
    const q = new Queue<number>();
    for (const x of how === "cancel-at-gen-await" ? [1] : [1, 2]) q.putNowait(x);
    const cleanupPause = async (): Promise<void> => {
      try {
        await sleep(10);
        p("gen finally slept");
      } catch (e) {
        p(`gen finally sleep ${name(e)}`);
        throw e;
      }
    };
    async function* guarded(): AsyncGenerator<number> {
      await lock.acquire();
      p("gen acquired");
      try {
        for (;;) {
          const x = await q.get();
          yield x;
        }
      } finally {
        p("gen finally start");
        try {
          await cleanupPause();
        } finally {
          lock.release();
          p("gen released");
        }
      }
    }
    const consumer = async (): Promise<void> => {
      try {
        for await (const x of guarded()) {
          p(`consumer item ${x}`);
          if (how === "break" && x === 2) break;
          await sleep(how === "cancel-at-gen-await" ? 20 : 100);
        }
        p(`consumer after loop, locked ${py(lock.locked())}`);
      } catch (e) {
        p(`consumer caught ${name(e)}`);
        throw e;
      }
    };
    if (how === "handoff-and-cancel") await lock.acquire();
    const scope = new CancelScope();
    const t = createTask(how === "scope-cancel-in-body" ? () => scope.run(consumer) : consumer);
    if (how === "break") {
      await t;
    } else {
      await sleep(how === "handoff-and-cancel" ? 10 : 50);
      if (how === "handoff-and-cancel") lock.release();
      if (how === "scope-cancel-in-body") scope.cancel();
      else t.cancel();
      try {
        await t;
        p("main: task returned");
      } catch (e) {
        p(`main: task ${name(e)}`);
      }
    }
    p(`main: locked ${py(lock.locked())}`);
    try {
      await timeout(50, () => lock.acquire());
      p("main acquired");
      lock.release();
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      p("main: acquire TimeoutError");
    }
    p(`qsize ${q.qsize()}`);
  });
}

const heldExpected: Record<How, string[]> = {
  break: [
    "0 gen acquired",
    "0 consumer item 1",
    "100 consumer item 2",
    "100 gen finally start",
    "110 gen finally slept",
    "110 gen released",
    "110 consumer after loop, locked False",
    "110 main: locked False",
    "110 main acquired",
    "110 qsize 0",
  ],
  "cancel-in-body": [
    "0 gen acquired",
    "0 consumer item 1",
    "50 gen finally start",
    "60 gen finally slept",
    "60 gen released",
    "60 consumer caught CancelledError",
    "60 main: task CancelledError",
    "60 main: locked False",
    "60 main acquired",
    "60 qsize 1",
  ],
  "cancel-at-gen-await": [
    "0 gen acquired",
    "0 consumer item 1",
    "50 gen finally start",
    "60 gen finally slept",
    "60 gen released",
    "60 consumer caught CancelledError",
    "60 main: task CancelledError",
    "60 main: locked False",
    "60 main acquired",
    "60 qsize 0",
  ],
  "handoff-and-cancel": [
    "10 consumer caught CancelledError",
    "10 main: task CancelledError",
    "10 main: locked False",
    "10 main acquired",
    "10 qsize 2",
  ],
  "scope-cancel-in-body": [
    "0 gen acquired",
    "0 consumer item 1",
    "50 gen finally start",
    "50 gen finally sleep CancelledError",
    "50 gen released",
    "50 consumer caught CancelledError",
    "50 main: task returned",
    "50 main: locked False",
    "50 main acquired",
    "50 qsize 1",
  ],
};

describe("a generator holding a lock across a yield, whose finally awaits", () => {
  for (const prim of ["Lock", "Semaphore"] as const) {
    for (const how of Object.keys(heldExpected) as How[]) {
      it(`${prim}, ${how}: the finally runs and the ${prim.toLowerCase()} is free afterwards`, async () => {
        expect(await heldScenario(prim, how)).toEqual(heldExpected[how]);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// 3. Two generator-consuming loops run by Promise.all / Promise.race / Promise.allSettled in one task.
// ---------------------------------------------------------------------------------------------------------
//
// Python twin (asyncio has no combinator that runs its entries in the caller's task; the nearest is
// gather, which wraps them in tasks it cancels with the caller):
//
//   async def scenario():
//       loop = asyncio.get_running_loop(); t0 = loop.time(); lines = []
//       def p(s): lines.append(f"{int(round((loop.time() - t0) * 1000, -1))} {s}")
//       qa, qb = asyncio.Queue(), asyncio.Queue()
//       put = {"A": [], "B": [1, 2]}
//       for x in put["B"]: qb.put_nowait(x)
//       delivered = {"A": [], "B": []}
//       async def source(n, q):
//           try:
//               while True:
//                   x = await q.get()
//                   yield x
//           except BaseException as e:
//               p(f"{n} gen caught {type(e).__name__}"); raise
//           finally:
//               p(f"{n} gen finally")
//       async def drain(n, q):
//           try:
//               async for x in source(n, q):
//                   delivered[n].append(x); p(f"{n} item {x}")
//                   await asyncio.sleep(0.1)
//           except BaseException as e:
//               p(f"{n} caught {type(e).__name__}"); raise
//       async def body():
//           await asyncio.gather(drain("A", qa), drain("B", qb))
//       t = asyncio.create_task(body())
//       await asyncio.sleep(0.05)
//       qa.put_nowait(7); put["A"].append(7)
//       t.cancel()
//       try: await t
//       except asyncio.CancelledError: p("main: task CancelledError")
//       await asyncio.sleep(0)
//       for n, q in (("A", qa), ("B", qb)):
//           left = []
//           while q.qsize(): left.append(q.get_nowait())
//           p(f"{n} delivered {delivered[n]} left {left} put {put[n]}")
//       return lines
//
// CPython 3.13: "0 B item 1", "50 A gen caught CancelledError", "50 A gen finally", "50 A caught
// CancelledError", "50 B caught CancelledError", "50 B gen caught GeneratorExit", "50 B gen finally",
// "50 main: task CancelledError", "50 A delivered [] left [7] put [7]", "50 B delivered [1] left [2] put
// [1, 2]". asyncio-ts prints B's "gen finally" before "B caught" (rosetta "shutdown_asyncgens").
// With Promise.allSettled the task's code goes on after the cancellation and the task returns: the
// rosetta paragraph "Promise.allSettled and Promise.any settle on cancellation" (CPython's
// gather(..., return_exceptions=True) raises CancelledError).

type Comb = "Promise.all" | "Promise.race" | "Promise.allSettled";

describe("two generator-consuming loops in one task under a native combinator, the task cancelled", () => {
  for (const comb of ["Promise.all", "Promise.race", "Promise.allSettled"] as Comb[]) {
    it(`${comb}: both loops see CancelledError, both finally blocks run, no item is lost`, async () => {
      const put: Record<"A" | "B", number[]> = { A: [], B: [1, 2] };
      const delivered: Record<"A" | "B", number[]> = { A: [], B: [] };
      const left: Record<"A" | "B", number[]> = { A: [], B: [] };
      const lines = await logged(async (p) => {
        const qa = new Queue<number>();
        const qb = new Queue<number>();
        for (const x of put.B) qb.putNowait(x);
        async function* source(n: string, q: Queue<number>): AsyncGenerator<number> {
          try {
            for (;;) {
              const x = await q.get();
              yield x;
            }
          } catch (e) {
            p(`${n} gen caught ${name(e)}`);
            throw e;
          } finally {
            p(`${n} gen finally`);
          }
        }
        const loopOver = async (n: "A" | "B", q: Queue<number>): Promise<void> => {
          try {
            for await (const x of source(n, q)) {
              delivered[n].push(x);
              p(`${n} item ${x}`);
              await sleep(100);
            }
          } catch (e) {
            p(`${n} caught ${name(e)}`);
            throw e;
          }
        };
        const t = createTask(async () => {
          const both = [loopOver("A", qa), loopOver("B", qb)];
          if (comb === "Promise.all") await Promise.all(both);
          else if (comb === "Promise.race") await Promise.race(both);
          else await Promise.allSettled(both);
        });
        await sleep(50);
        qa.putNowait(7);
        put.A.push(7);
        t.cancel();
        try {
          await t;
          p("main: task returned");
        } catch (e) {
          p(`main: task ${name(e)}`);
        }
        await sleep(0);
        left.A = drain(qa);
        left.B = drain(qb);
        p(`A delivered ${list(delivered.A)} left ${list(left.A)} put ${list(put.A)}`);
        p(`B delivered ${list(delivered.B)} left ${list(left.B)} put ${list(put.B)}`);
      });
      expect(lines).toEqual([
        "0 B item 1",
        "50 A gen caught CancelledError",
        "50 A gen finally",
        "50 A caught CancelledError",
        "50 B gen finally",
        "50 B caught CancelledError",
        comb === "Promise.allSettled" ? "50 main: task returned" : "50 main: task CancelledError",
        "50 A delivered [] left [7] put [7]",
        "50 B delivered [1] left [2] put [1, 2]",
      ]);
      expectNothingLost(delivered.A, left.A, put.A);
      expectNothingLost(delivered.B, left.B, put.B);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// 4. One consumer calling `g.next()` under a deadline, racing the item's arrival.
// ---------------------------------------------------------------------------------------------------------
//
// Python twin:
//
//   async def scenario(mech, put_at, put_first):
//       loop = asyncio.get_running_loop(); t0 = loop.time(); lines = []
//       def p(s): lines.append(f"{int(round((loop.time() - t0) * 1000, -1))} {s}")
//       q = asyncio.Queue()
//       async def jobs():
//           try:
//               while True:
//                   x = await q.get()
//                   p(f"gen took {x}")
//                   yield x
//           except BaseException as e:
//               p(f"gen caught {type(e).__name__}"); raise
//           finally:
//               p("gen finally")
//       g = jobs()
//       if put_first: loop.call_later(put_at / 1000, q.put_nowait, "job")
//       try:
//           if mech == "timeout":
//               async with asyncio.timeout(0.05):
//                   if not put_first: loop.call_later(put_at / 1000, q.put_nowait, "job")
//                   r = await anext(g)
//           else:
//               r = await asyncio.wait_for(anext(g), 0.05)
//           p(f"got {r}")
//       except TimeoutError:
//           p("TimeoutError")
//       await asyncio.sleep(0.02)
//       p(f"qsize {q.qsize()}")
//       if put_at < 50:
//           await g.aclose()
//       else:
//           try: await anext(g)
//           except StopAsyncIteration: p("next: done")
//       p(f"qsize {q.qsize()}")
//       return lines
//
// CPython 3.13 (timeout and wait_for alike):
// - put at 40: "40 gen took job", "40 got job", "60 qsize 0", "60 gen caught GeneratorExit", "60 gen
//   finally", "60 qsize 0" (asyncio-ts's `return()` throws nothing into the generator: no
//   GeneratorExit line).
// - put at 50 (its timer made before the deadline's, or after it), and put at 60: "50 gen caught
//   CancelledError", "50 gen finally", "50 TimeoutError", "70 qsize 1", "70 next: done", "70 qsize 1":
//   the generator was closed by the cancellation, the item stays queued.

interface DeadlineCase {
  mech: "timeout" | "waitFor";
  putAt: number;
  putFirst: boolean;
}

async function nextWithDeadline({ mech, putAt, putFirst }: DeadlineCase): Promise<string[]> {
  return logged(async (p) => {
    const loop = getRunningLoop();
    const q = new Queue<string>();
    async function* jobs(): AsyncGenerator<string> {
      try {
        for (;;) {
          const x = await q.get();
          p(`gen took ${x}`);
          yield x;
        }
      } catch (e) {
        p(`gen caught ${name(e)}`);
        throw e;
      } finally {
        p("gen finally");
      }
    }
    const g = jobs();
    const put = (): void => q.putNowait("job");
    if (putFirst) loop.callLater(putAt, put);
    try {
      const r =
        mech === "timeout"
          ? await timeout(50, () => {
              if (!putFirst) loop.callLater(putAt, put);
              return g.next();
            })
          : await waitFor(g.next(), 50);
      p(`got ${r.done ? "(done)" : r.value}`);
    } catch (e) {
      p(name(e));
    }
    await sleep(20);
    p(`qsize ${q.qsize()}`);
    if (putAt < 50) {
      await g.return(undefined);
    } else {
      const r = await g.next();
      p(r.done ? "next: done" : `next: ${r.value}`);
    }
    p(`qsize ${q.qsize()}`);
  });
}

describe("`timeout(ms, () => g.next())` / `waitFor(g.next(), ms)` racing the item's arrival", () => {
  const timedOut = ["50 gen caught CancelledError", "50 gen finally", "50 TimeoutError", "70 qsize 1", "70 next: done", "70 qsize 1"];
  const cases: [string, DeadlineCase, string[]][] = [
    ["timeout, item before the deadline", { mech: "timeout", putAt: 40, putFirst: true }, ["40 gen took job", "40 got job", "60 qsize 0", "60 gen finally", "60 qsize 0"]],
    ["timeout, item at the deadline (its timer made first)", { mech: "timeout", putAt: 50, putFirst: true }, timedOut],
    ["timeout, item at the deadline (its timer made after the deadline's)", { mech: "timeout", putAt: 50, putFirst: false }, timedOut],
    ["timeout, item after the deadline", { mech: "timeout", putAt: 60, putFirst: true }, timedOut],
    ["waitFor, item before the deadline", { mech: "waitFor", putAt: 40, putFirst: true }, ["40 gen took job", "40 got job", "60 qsize 0", "60 gen finally", "60 qsize 0"]],
    ["waitFor, item at the deadline", { mech: "waitFor", putAt: 50, putFirst: true }, timedOut],
    ["waitFor, item after the deadline", { mech: "waitFor", putAt: 60, putFirst: true }, timedOut],
  ];
  for (const [title, c, expected] of cases) {
    it(`${title}: the item is delivered or stays in the queue`, async () => {
      expect(await nextWithDeadline(c)).toEqual(expected);
    });
  }

  // Python twin:
  //
  //   async def main(after_first):
  //       q = asyncio.Queue()
  //       async def jobs():
  //           try:
  //               while True:
  //                   x = await q.get(); print(f"gen took {x}"); yield x
  //           except BaseException as e:
  //               print(f"gen caught {type(e).__name__}"); raise
  //           finally: print("gen finally")
  //       g = jobs()
  //       q.put_nowait("a"); q.put_nowait("b")
  //       if after_first: print("first", await anext(g))
  //       try: print("got", await asyncio.wait_for(anext(g), 0))
  //       except TimeoutError: print("TimeoutError")
  //       print("qsize", q.qsize())
  //       await g.aclose()
  //
  // CPython 3.13, fresh generator: "TimeoutError", "qsize 2"; after a first item: "gen took a", "first a",
  // "gen caught CancelledError", "gen finally", "TimeoutError", "qsize 1". CPython wraps `anext(g)` in a
  // task and cancels it before it ran. asyncio-ts's `g.next()` ran at the call and took the item within the
  // microtasks already queued, which `waitFor(aw, 0)` counts as done (docs/rosetta.md: the `wait_for` row,
  // "cancelled at once unless it is done already", and "A child that can only finish within the microtasks
  // already queued"): the item is delivered. Either way, nothing is lost.
  for (const afterFirst of [false, true]) {
    it(`waitFor(g.next(), 0) with items queued${afterFirst ? ", after a first item" : ""}: delivered, nothing lost`, async () => {
      const lines = await logged(async (p) => {
        const q = new Queue<string>();
        async function* jobs(): AsyncGenerator<string> {
          try {
            for (;;) {
              const x = await q.get();
              p(`gen took ${x}`);
              yield x;
            }
          } catch (e) {
            p(`gen caught ${name(e)}`);
            throw e;
          } finally {
            p("gen finally");
          }
        }
        const g = jobs();
        q.putNowait("a");
        q.putNowait("b");
        if (afterFirst) p(`first ${String((await g.next()).value)}`);
        try {
          p(`got ${String((await waitFor(g.next(), 0)).value)}`);
        } catch (e) {
          p(name(e));
        }
        p(`qsize ${q.qsize()}`);
        await g.return(undefined);
      });
      expect(lines).toEqual(
        afterFirst
          ? ["0 gen took a", "0 first a", "0 gen took b", "0 got b", "0 qsize 0", "0 gen finally"]
          : ["0 gen took a", "0 got a", "0 qsize 1", "0 gen finally"],
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// 5. A generator left suspended at an asyncio-ts await when run() ends.
// ---------------------------------------------------------------------------------------------------------
//
// Python twin (`python3 prog.py MODE`):
//
//   mode = sys.argv[1]; lines = []; lock = None
//   async def main():
//       global lock
//       loop = asyncio.get_running_loop(); t0 = loop.time()
//       def p(s): lines.append(f"{int(round((loop.time() - t0) * 1000, -1))} {s}")
//       lock = asyncio.Lock()
//       q = asyncio.Queue()
//       async def held(n):
//           await lock.acquire()
//           try:
//               yield "first"
//               p(f"{n} waits on the queue")
//               yield await q.get()
//           except BaseException as e:
//               p(f"{n} caught {type(e).__name__}"); raise
//           finally:
//               lock.release(); p(f"{n} released")
//               await asyncio.sleep(0.01); p(f"{n} finally slept")
//       if mode == "task":
//           async def reader():
//               async for x in held("g"):
//                   p(f"reader item {x}")
//           asyncio.create_task(reader())
//       elif mode == "unawaited-next":
//           g = held("g")
//           p(f"main item {await anext(g)}")
//           f = asyncio.ensure_future(anext(g))
//           f.add_done_callback(lambda f: p("next rejected CancelledError" if f.cancelled()
//                                           else f"next resolved {f.result()}"))
//       elif mode == "race-loser":
//           g = held("g")
//           p(f"main item {await anext(g)}")
//           a = asyncio.ensure_future(anext(g)); b = asyncio.ensure_future(asyncio.sleep(0.01, "timer"))
//           done, _ = await asyncio.wait([a, b], return_when=asyncio.FIRST_COMPLETED)
//           p(f"race: {done.pop().result()}")
//       await asyncio.sleep(0.01)
//       p(f"main returns, locked {lock.locked()}, qsize {q.qsize()}")
//       return q
//   q = asyncio.run(main())
//   q.put_nowait(99)
//   lines.append(f"after run: locked {lock.locked()}, qsize after a put {q.qsize()}")
//   print("\n".join(lines))
//
// CPython 3.13 prints exactly the lines asserted below for each mode: run()'s end cancels the generator
// where it waits on the queue, its finally runs to the end (its own await included), the lock is free,
// and the queue keeps no dead getter (an item put afterwards stays in it).

type LeftAt = "task" | "unawaited-next" | "race-loser";

async function leftAtShutdown(mode: LeftAt): Promise<string[]> {
  const lock = new Lock();
  const q = new Queue<string>();
  const lines = await logged(async (p) => {
    async function* held(n: string): AsyncGenerator<string> {
      await lock.acquire();
      try {
        yield "first";
        p(`${n} waits on the queue`);
        yield await q.get();
      } catch (e) {
        p(`${n} caught ${name(e)}`);
        throw e;
      } finally {
        lock.release();
        p(`${n} released`);
        await sleep(10);
        p(`${n} finally slept`);
      }
    }
    if (mode === "task") {
      createTask(async () => {
        for await (const x of held("g")) p(`reader item ${x}`);
      });
    } else if (mode === "unawaited-next") {
      const g = held("g");
      p(`main item ${String((await g.next()).value)}`);
      g.next().then(
        (r) => p(`next resolved ${String(r.value)}`),
        (e: unknown) => p(`next rejected ${name(e)}`),
      );
    } else {
      const g = held("g");
      p(`main item ${String((await g.next()).value)}`);
      const r = await Promise.race([g.next(), sleep(10, "timer")]);
      p(`race: ${typeof r === "string" ? r : String(r.value)}`);
    }
    await sleep(10);
    p(`main returns, locked ${py(lock.locked())}, qsize ${q.qsize()}`);
  });
  q.putNowait("99");
  lines.push(`after run: locked ${py(lock.locked())}, qsize after a put ${q.qsize()}`);
  return lines;
}

describe("a generator suspended at an asyncio-ts await when run() ends is closed, as by CPython's shutdown", () => {
  const expected: Record<LeftAt, string[]> = {
    task: [
      "0 reader item first",
      "0 g waits on the queue",
      "10 main returns, locked True, qsize 0",
      "10 g caught CancelledError",
      "10 g released",
      "20 g finally slept",
      "after run: locked False, qsize after a put 1",
    ],
    "unawaited-next": [
      "0 main item first",
      "0 g waits on the queue",
      "10 main returns, locked True, qsize 0",
      "10 g caught CancelledError",
      "10 g released",
      "20 g finally slept",
      "20 next rejected CancelledError",
      "after run: locked False, qsize after a put 1",
    ],
    "race-loser": [
      "0 main item first",
      "0 g waits on the queue",
      "10 race: timer",
      "20 main returns, locked True, qsize 0",
      "20 g caught CancelledError",
      "20 g released",
      "30 g finally slept",
      "after run: locked False, qsize after a put 1",
    ],
  };
  for (const mode of Object.keys(expected) as LeftAt[]) {
    it(`${mode}: the finally runs to its end, the lock is free, nothing waits on the queue`, async () => {
      expect(await leftAtShutdown(mode)).toEqual(expected[mode]);
    });
  }
});
