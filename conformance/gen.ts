/**
 * The seeded random generator of conformance programs.
 *
 * `generate(seed)` always returns the same program for the same seed. Programs mix every construct of
 * `program.ts`, nested up to a few levels, with durations drawn from a small set of multiples of 125 ms
 * so that timers often tie (on both sides a tie fires in scheduling order). A "cancel at an await
 * point" pattern (spawn a task whose body blocks in some construct, sleep, cancel it with or without a
 * message, await it) is drawn often, so that cancellation lands at every kind of await.
 *
 * What the generator avoids, because CPython leaves it unspecified (see `docs/rosetta.md`):
 * - tasks still pending when `main` returns (`run()` cancels them in set order): every program ends
 *   with `cleanup()`, which cancels leftovers in creation order and waits for them;
 * - iteration order of `wait()`'s result sets: the names are printed sorted;
 * - non-terminating programs: awaits only target earlier tasks (no cycles); a program that still
 *   deadlocks on CPython is discarded by the regeneration script.
 *
 * @module
 */
import { type Block, type Catch, type CatchCls, type ErrName, type Program, type Res, type ReturnWhen, type Stmt, resKind } from "./program.js";

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DURATIONS = [0, 0, 125, 125, 250, 250, 375, 500, 750];
const TIMEOUTS = [0, 125, 125, 250, 250, 375, 500];
const CATCHABLE: CatchCls[] = [
  "CancelledError",
  "CancelledError",
  "TimeoutError",
  "ValueError",
  "KeyError",
  "ExceptionGroup",
  "Exception",
  "BaseException",
  "RuntimeError",
];
const SYNC_CATCHABLE: CatchCls[] = ["QueueEmpty", "QueueFull", "QueueShutDown", "BrokenBarrierError", "RuntimeError", "ValueError"];
const MESSAGES = [null, null, "m1", "m2", "stop"];
/** What the programs feed their stream readers: lines, `|`-separated parts, bytes without a separator. */
const STREAM_TEXTS = ["ab\n", "a|b", "xyz", "\n", "abc|\n", "0123456789", "b|", "q\nr\n"];
/** Stream readers' limits: small, so that long lines overrun them (`LimitOverrunError`). */
const STREAM_LIMITS = [4, 8, 8, 64];

interface Scope {
  /** tasks visible here, oldest first */
  tasks: string[];
  /** task groups whose body encloses this point (innermost last) */
  tgs: number[];
  /** the running task's name */
  self: string;
  /**
   * inside an inline coroutine of the coroutine form: no statement that reads `current_task()`
   * (before its first await, JavaScript runs it as the caller's code, CPython's eager task as its own)
   */
  co?: boolean;
}

class Gen {
  private readonly r: () => number;
  private nTask = 0;
  private nTg = 0;
  private nLabel = 0;
  /** statements left to generate */
  private budget: number;
  /** primitives and queues (sync programs only) */
  readonly res: Res[] = [];
  private nValue = 0;

  /** also draw `as_completed`, `call_soon`, `call_later`, done callbacks and timeout rescheduling */
  asCompleted = false;
  /** draw combinators of inline coroutines (`gatherCo`, `shieldCo`, `asCompletedCo`, `waitFor` of a block) */
  coroutines = false;

  constructor(seed: number, sync: boolean, big: boolean, streams = false) {
    this.r = prng(seed);
    this.budget = 14 + this.int(36) + (big ? 60 : 0);
    if (streams) {
      // one or two readers (small limits, so that lines overrun them), sometimes beside a queue or event
      const n = 1 + this.int(2);
      for (let i = 0; i < n; i++) this.res.push([`R${i + 1}`, this.pick(STREAM_LIMITS)]);
      if (this.chance(0.3)) this.res.push([this.chance(0.5) ? "Q9" : "E9", this.chance(0.5) ? 1 : 0]);
    } else if (sync) {
      const kinds = ["L", "S", "K", "E", "C", "B", "Q", "Q", "E", "P", "F"];
      const n = 1 + this.int(3);
      for (let i = 0; i < n; i++) {
        const k = this.pick(kinds);
        const name = `${k}${i + 1}`;
        const queue = k === "Q" || k === "P" || k === "F";
        const arg = k === "S" || k === "K" ? 1 + this.int(2) : k === "B" ? 2 + this.int(2) : queue ? this.int(3) : 0;
        this.res.push([name, arg]);
      }
    }
  }

  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  label(): string {
    return String.fromCharCode(97 + (this.nLabel++ % 26)) + (this.nLabel > 26 ? String(this.nLabel) : "");
  }

  /** Some tasks of the scope (1..max), newest preferred. */
  someTasks(s: Scope, max: number): string[] {
    const n = 1 + this.int(Math.min(max, s.tasks.length));
    const pool = s.tasks.slice(-5);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.pick(pool));
    return out;
  }

  block(s: Scope, depth: number, maxLen: number): Block {
    const len = 1 + this.int(maxLen);
    const out: Block = [];
    const scope: Scope = { tasks: [...s.tasks], tgs: s.tgs, self: s.self, co: s.co };
    for (let i = 0; i < len && this.budget > 0; i++) {
      const last = i === len - 1;
      out.push(...this.stmt(scope, depth, last));
    }
    return out;
  }

  /** A body that blocks in one construct (a place for a cancellation to land). */
  blockingBody(s: Scope, depth: number): Block {
    const k = this.int(9);
    const d = this.pick([250, 375, 500, 750]);
    switch (k) {
      case 0:
        return [["sleep", d]];
      case 1:
        return [["timeout", this.pick([null, 500, 1000]), [["sleep", d]]]];
      case 2:
        return [this.waitForBlock([["sleep", d]], this.pick([null, 500, 1000]))];
      case 3:
        return [["tg", ++this.nTg, [["spawn", this.newTask(), [["sleep", d]], this.nTg], ["sleep", this.pick([0, 125])]]]];
      default: {
        if (s.tasks.length === 0 || depth <= 0) return [["sleep", d]];
        const ts = this.someTasks(s, 2);
        const w = this.int(5);
        if (w === 0) return [["await", ts[0]!]];
        if (w === 1) return [["gather", ts, this.chance(0.5)]];
        if (w === 2) return [["wait", ts, this.pick([null, 500]), this.pick<ReturnWhen>(["ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"])]];
        if (w === 3) return [["shield", ts[0]!]];
        return [["waitFor", ts[0]!, this.pick([null, 500])]];
      }
    }
  }

  /** A combinator of inline coroutines (the coroutine form's own statements). */
  coroutineStmt(s: Scope, depth: number): Stmt[] {
    const co: Scope = { tasks: s.tasks, tgs: [], self: s.self, co: true };
    const body = (): Block => (this.chance(0.3) ? this.blockingBody(co, depth - 1) : this.block(co, depth - 1, 3));
    // Several coroutines started in one synchronous run: in JavaScript an `await` hands over to its
    // awaitable one microtask later, after the calls of the coroutines to its right, so a `sleep(0)` or a
    // task started before the first coroutine's first suspension would be queued behind what the later
    // ones start (docs/rosetta.md). Every coroutine but the last begins by sleeping.
    const suspending = (b: Block): Block => [["sleep", this.pick([125, 250, 375])], ...b];
    const k = this.int(4);
    if (k === 0) {
      const n = 1 + this.int(3);
      return [["gatherCo", Array.from({ length: n }, (_, i) => (i < n - 1 ? suspending(body()) : body())), this.chance(0.4)]];
    }
    if (k === 1) {
      // waitFor(f(), ms): f's first part runs before waitFor sets its deadline (CPython's wait_for sets
      // it first): with a deadline, that part yields before making any timer that could tie with it.
      return [this.waitForBlock(body(), this.chance(0.1) ? null : this.pick(TIMEOUTS))];
    }
    if (k === 2) return [["shieldCo", body()]];
    // (as_completed of tasks already done when it is called yields them in an unspecified order: keep
    // each coroutine's first part suspending)
    const n = 1 + this.int(3);
    const fresh = (): Block => [["sleep", this.pick([125, 250, 375, 500])], ...this.block(co, depth - 1, 2)];
    return [["asCompletedCo", Array.from({ length: n }, fresh), this.chance(0.5) ? this.pick(TIMEOUTS) : null]];
  }

  /**
   * `waitFor` of an inline coroutine. In the coroutine form, `waitFor(f(), ms)` runs f's first part
   * before waitFor sets its deadline (CPython's wait_for sets it first), so the timers they make are
   * pushed in the other order, and timers with equal deadlines may fire in the other order: with a
   * deadline, the block starts by yielding (docs/rosetta.md).
   */
  waitForBlock(b: Block, ms: number | null): Stmt {
    return ["waitFor", this.coroutines && ms !== null && ms > 0 ? [["sleep", 0], ...b] : b, ms];
  }

  newTask(): string {
    return `t${++this.nTask}`;
  }

  catches(s: Scope, depth: number): Catch[] {
    const n = 1 + this.int(2);
    const out: Catch[] = [];
    const used = new Set<CatchCls>();
    for (let i = 0; i < n; i++) {
      const cls = this.pick(CATCHABLE);
      if (used.has(cls)) continue;
      used.add(cls);
      const body: Block = this.chance(0.45) && depth > 0 ? this.block(s, depth - 1, 2) : [];
      if (this.chance(0.2) && !s.co) body.push(["cancelling"]);
      out.push([cls, body, this.chance(0.35)]);
    }
    return out;
  }

  /** A statement on a primitive or queue. */
  syncStmt(s: Scope, depth: number): Stmt[] {
    const [id] = this.pick(this.res);
    const kind = resKind(id);
    const k = this.int(100);
    if (k < 8) return [["state", id]];
    switch (kind) {
      case "Lock":
      case "Semaphore":
      case "BoundedSemaphore":
        if (k < 15) return [["release", id]];
        return [["with", id, depth > 0 ? this.block(s, depth - 1, 3) : [["sleep", this.pick(DURATIONS)]]]];
      case "Condition":
        if (k < 45) return [["condWait", id]];
        if (k < 85) return [["condNotify", id, this.pick([1, 1, 2, null])]];
        return [["with", id, [["sleep", this.pick(DURATIONS)]]]];
      case "Event":
        if (k < 50) return [["evWait", id]];
        if (k < 85) return [["evSet", id]];
        return [["evClear", id]];
      case "Barrier":
        if (k < 75) return [["barWait", id]];
        if (k < 88) return [["barReset", id]];
        return [["barAbort", id]];
      case "StreamReader":
        if (k < 55) return [["feed", id, this.pick(STREAM_TEXTS)]];
        if (k < 60) return [["feedEof", id]];
        return [this.streamRead(id)];
      case "Queue":
      case "PriorityQueue":
      case "LifoQueue": {
        // values drawn out of order, so a priority queue reorders them
        const v = `x${this.int(90) + 10}`;
        if (k < 30) return [["put", id, v]];
        if (k < 55) return [["get", id]];
        if (k < 65) return [["putNowait", id, v]];
        if (k < 73) return [["getNowait", id]];
        if (k < 84) return [["taskDone", id]];
        if (k < 93) return [["join", id]];
        return [["shutdown", id, this.chance(0.5)]];
      }
    }
  }

  /** A read of a stream reader. */
  streamRead(id: string): Stmt {
    const k = this.int(100);
    if (k < 35) return ["readline", id];
    if (k < 60) return ["readexactly", id, this.pick([1, 2, 3, 5, 8])];
    if (k < 80) return ["readuntil", id, this.pick(["|", "|", "b|"])];
    return ["read", id, this.pick([-1, 1, 2, 4, 16])];
  }

  /** A statement that blocks on a primitive or queue (for the cancel-at-an-await pattern). */
  syncBlocking(): Block {
    const [id] = this.pick(this.res);
    switch (resKind(id)) {
      case "StreamReader":
        return [this.streamRead(id)];
      case "Lock":
      case "Semaphore":
      case "BoundedSemaphore":
        return [["with", id, [["sleep", this.pick([250, 500])]]]];
      case "Condition":
        return [["condWait", id]];
      case "Event":
        return [["evWait", id]];
      case "Barrier":
        return [["barWait", id]];
      case "Queue":
      case "PriorityQueue":
      case "LifoQueue":
        return this.chance(0.3) ? [["put", id, `x${++this.nValue}`], ["join", id]] : [["get", id]];
    }
  }

  stmt(s: Scope, depth: number, last: boolean): Stmt[] {
    this.budget--;
    if (this.res.length > 0 && this.chance(0.35)) {
      const out = this.syncStmt(s, depth);
      if (this.chance(0.25)) {
        const cls = this.pick(SYNC_CATCHABLE);
        return [["try", out, [[cls, [], false]], null]];
      }
      return out;
    }
    const hasTasks = s.tasks.length > 0;
    if (this.coroutines && depth > 0 && this.chance(0.3)) return this.coroutineStmt(s, depth);
    for (;;) {
      const k = this.int(100);
      if (k < 8) return [["print", this.label()]];
      if (k < 20) return [["sleep", this.pick(DURATIONS)]];
      if (k < 30 && depth > 0) {
        const name = this.newTask();
        const tgId = s.tgs.length > 0 && this.chance(0.6) ? s.tgs[s.tgs.length - 1]! : null;
        // A child of a group may itself start siblings in that group (or in an enclosing one).
        const tgs = tgId !== null || (s.tgs.length > 0 && this.chance(0.3)) ? s.tgs : [];
        const body = this.block({ tasks: s.tasks, tgs, self: name }, depth - 1, 4);
        s.tasks.push(name);
        return [["spawn", name, body, tgId]];
      }
      if (k < 40 && depth > 0) {
        // cancel at an await point
        const name = this.newTask();
        let body = this.res.length > 0 && this.chance(0.5) ? this.syncBlocking() : this.blockingBody(s, depth - 1);
        if (this.chance(0.4)) {
          body = [["try", body, this.catches({ tasks: s.tasks, tgs: [], self: name }, 0), this.chance(0.3) ? [["print", "finally"]] : null]];
        }
        if (this.chance(0.3)) body.unshift(["print", this.label()]);
        s.tasks.push(name);
        const out: Stmt[] = [["spawn", name, body, null], ["sleep", this.pick([0, 0, 125, 250, 375, 500])]];
        out.push(["cancel", name, this.pick(MESSAGES)]);
        if (this.chance(0.3)) out.push(["cancel", name, this.pick(MESSAGES)]);
        if (this.chance(0.8)) {
          out.push(["try", [["await", name]], [["CancelledError", [], false]], null]);
        }
        return out;
      }
      if (k < 47 && hasTasks) return [["await", this.pick(s.tasks.slice(-4))]];
      if (k < 51 && hasTasks) return [["cancel", this.pick(s.tasks.slice(-4)), this.pick(MESSAGES)]];
      if (k < 56 && hasTasks) return [["gather", this.someTasks(s, 3), this.chance(0.5)]];
      if (k < 60 && hasTasks) {
        const when = this.pick<ReturnWhen>(["ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"]);
        return [["wait", this.someTasks(s, 3), this.chance(0.5) ? this.pick(TIMEOUTS) : null, when]];
      }
      if (k < 64) {
        const ms = this.chance(0.1) ? null : this.pick(TIMEOUTS);
        if (hasTasks && this.chance(0.4)) return [["waitFor", this.pick(s.tasks.slice(-4)), ms]];
        if (depth > 0) {
          return [this.waitForBlock(this.block(this.coroutines ? { ...s, co: true } : s, depth - 1, 3), ms)];
        }
        continue;
      }
      if (k < 70 && depth > 0) {
        const ms = this.chance(0.1) ? null : this.pick(TIMEOUTS);
        const body = this.block(s, depth - 1, 3);
        if (this.asCompleted && this.chance(0.5)) {
          body.splice(this.int(body.length + 1), 0, ["reschedule", this.pick([null, 0, 125, 250, 500, 750])]);
          if (this.chance(0.5)) body.push(["expired"]);
        }
        return [["timeout", ms, body]];
      }
      if ((k < 73 && hasTasks) || (this.asCompleted && k >= 96 && depth > 0)) {
        if (this.asCompleted && (k >= 96 || this.chance(0.5)) && depth > 0) {
          // as_completed registers on its tasks in set order, so tasks already done when it is called
          // come out in an unspecified order: give it fresh tasks (none has started yet).
          const out: Stmt[] = [];
          const names: string[] = [];
          for (let i = 1 + this.int(3); i > 0; i--) {
            const name = this.newTask();
            names.push(name);
            out.push(["spawn", name, this.chance(0.5) ? [["sleep", this.pick(DURATIONS)]] : this.block({ tasks: s.tasks, tgs: [], self: name }, depth - 1, 2), null]);
          }
          s.tasks.push(...names);
          out.push(["asCompleted", names, this.chance(0.5) ? this.pick(TIMEOUTS) : null]);
          return out;
        }
        return [["shield", this.pick(s.tasks.slice(-4))]];
      }
      if (k < 79 && depth > 0) {
        const id = ++this.nTg;
        const body = this.block({ tasks: s.tasks, tgs: [...s.tgs, id], self: s.self, co: s.co }, depth - 1, 4);
        if (!body.some((x) => x[0] === "spawn" && x[3] === id)) {
          body.unshift(["spawn", this.newTask(), [["sleep", this.pick(DURATIONS)]], id]);
        }
        return [["tg", id, body]];
      }
      if (k < 82 && last && s.self !== "main") return [["raise", this.pick<ErrName>(["ValueError", "KeyError"])]];
      if (k < 84 && last) return [["raise", this.pick<ErrName>(["ValueError", "KeyError"])]];
      if (k < 93 && depth > 0) {
        const body = this.block(s, depth - 1, 3);
        const catches = this.catches(s, depth - 1);
        let fin: Block | null = null;
        if (this.chance(0.35)) {
          // a finally that awaits: a cancellation or error may arrive while it runs
          fin = [["print", `finally ${this.label()}`]];
          if (this.chance(0.5)) fin.push(...this.block(s, depth - 1, 2));
        }
        return [["try", body, catches, catches.length === 0 && fin === null ? [["print", "finally"]] : fin]];
      }
      if (k < 96 || (this.asCompleted && k >= 96)) {
        if (this.asCompleted && (k >= 96 || this.chance(0.6))) {
          const c = this.int(3);
          if (c === 0) return [["callSoon", this.label()]];
          if (c === 1) return [["callLater", this.pick(DURATIONS), this.label()]];
          if (hasTasks) return [["onDone", this.pick(s.tasks.slice(-4))], ["sleep", this.pick([0, 125])]];
        }
        if (s.co) continue;
        return [["cancelling"]];
      }
      if (k < 98 && s.self !== "main" && !s.co) return [["cancelSelf", this.pick(MESSAGES)]];
      if (k < 100 && s.self !== "main" && !s.co) return [["uncancel"]];
    }
  }
}

/**
 * The program for `seed`. With `sync`, it also uses one to three primitives or queues (ids
 * `sync/<seed>`); without, only the core (ids `gen/<seed>`). `big` (for `fuzz.ts`): longer programs,
 * nested one level deeper. `extra`: also `as_completed`, `call_soon`, `call_later`, done callbacks
 * (ids `ac/<seed>`). `streams`: one or two `StreamReader`s fed and read by the program's tasks,
 * cancelled in their reads like any other wait (ids `str/<seed>`, `costr/<seed>` with `co`).
 */
export function generate(seed: number, sync = false, big = false, extra = false, co = false, streams = false): Program {
  const g = new Gen(seed, sync, big, streams);
  g.asCompleted = extra;
  g.coroutines = co;
  const main = g.block({ tasks: [], tgs: [], self: "main" }, big ? 4 : 3, big ? 12 : 8);
  if (streams) return { id: `${co ? "costr" : "str"}/${seed}`, main, res: g.res, ...(co ? { co: true } : {}) };
  if (co) return { id: `co${sync ? "s" : ""}/${seed}`, main, ...(sync ? { res: g.res } : {}), co: true };
  if (sync) return { id: `sync/${seed}`, main, res: g.res };
  return { id: `${extra ? "ac" : "gen"}/${seed}`, main };
}
