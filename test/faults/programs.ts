/**
 * The fault and load generator: seeded random programs that mix tasks, cancellations, timeouts (the
 * function form and every by-value form), huge and tiny delays, queues with many producers and
 * consumers, locks, semaphores and capacity limiters, and (optionally) executor jobs that throw, exit,
 * run out of memory, are killed, time out or are cancelled. Each program checks the invariants after it
 * ran:
 * - every future it made settled (no promise left hanging, even after cancellation or a crash);
 * - no item lost or duplicated (every reported put was got exactly once or is still queued);
 * - no lock, permit or token leaked (each is free at the end);
 * - no task left pending after run() returned, no worker or child process left after shutdown.
 *
 * Used by `test/faults/programs.test.ts` (a few hundred programs, part of `npm test`) and by the soak
 * (`npm run soak`: thousands, with a summary).
 *
 * @module
 */
import {
  CancelledError,
  CapacityLimiter,
  Lock,
  ProcessPoolExecutor,
  Queue,
  QueueShutDown,
  Semaphore,
  ThreadPoolExecutor,
  TimeoutError,
  createTask,
  ensureFuture,
  gather,
  getRunningLoop,
  run,
  shield,
  sleep,
  timeout,
  wait,
  waitFor,
  type Future,
} from "../../src/index.js";

/** mulberry32 */
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

/** What a program did and found. */
export interface ProgramReport {
  seed: number;
  violations: string[];
  /** faults injected, by kind */
  faults: Record<string, number>;
  tasks: number;
}

const FORMS = ["await", "waitFor-value", "waitFor-fn", "timeout", "wait-then-cancel", "gather-cancelled", "shield"] as const;
type Form = (typeof FORMS)[number];

type Outcome<T> = { ok: true; value: T } | { ok: false };

/** Hand `op()` to a combinator in `form` with deadline `d`; timeouts and cancellations are misses. */
async function attempt<T>(form: Form, op: () => PromiseLike<T>, d: number): Promise<Outcome<T>> {
  const missed = (e: unknown): Outcome<T> => {
    if (e instanceof TimeoutError || e instanceof CancelledError || e instanceof QueueShutDown) return { ok: false };
    throw e;
  };
  switch (form) {
    case "await":
      return Promise.resolve(op()).then((value) => ({ ok: true as const, value }), missed);
    case "waitFor-value":
      return waitFor(op(), d).then((value) => ({ ok: true as const, value }), missed);
    case "waitFor-fn":
      return waitFor(() => op(), d).then((value) => ({ ok: true as const, value }), missed);
    case "timeout":
      return timeout(d, () => op()).then((value) => ({ ok: true as const, value }), missed);
    case "wait-then-cancel": {
      const f = ensureFuture(op());
      const [, pending] = await wait([f], { timeout: d });
      if (pending.size > 0) f.cancel();
      return Promise.resolve(f).then((value) => ({ ok: true as const, value }), missed);
    }
    case "gather-cancelled": {
      const g = gather(op());
      const timer = getRunningLoop().callLater(d, () => g.cancel());
      try {
        return { ok: true, value: (await g)[0] as T };
      } catch (e) {
        return missed(e);
      } finally {
        timer.cancel();
      }
    }
    case "shield": {
      const inner = ensureFuture(op());
      try {
        return { ok: true, value: await waitFor(shield(inner), d) };
      } catch (e) {
        if (!(e instanceof TimeoutError)) return missed(e);
        inner.cancel();
        return Promise.resolve(inner).then((value) => ({ ok: true as const, value }), missed);
      }
    }
  }
}

/** Delays: mostly small and tying, some 0, some huge (beyond what a Node timer holds). */
function delay(r: () => number): number {
  const x = r();
  if (x < 0.25) return 0;
  if (x < 0.85) return [1, 2, 3, 5, 5, 8, 13][Math.floor(r() * 7)]!;
  if (x < 0.95) return 50 + Math.floor(r() * 200);
  return [2 ** 31 + 5, 1e10, 1e12][Math.floor(r() * 3)]!;
}

/**
 * Run the program of `seed` (virtual time); `executors`: also drive a thread or process pool with
 * faulty jobs (real workers, so slower). One program in 25 is a crowd (20 to 60 producers and consumers
 * on one queue). The scale and real-clock programs are separate (`runScaleProgram`, `runRealClockProgram`).
 */
export async function runProgram(seed: number, executors = false): Promise<ProgramReport> {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const violations: string[] = [];
  const faults: Record<string, number> = {};
  const fault = (k: string): void => {
    faults[k] = (faults[k] ?? 0) + 1;
  };
  const made: Future<unknown>[] = [];
  let taskCount = 0;
  const spawn = (fn: () => Promise<unknown>): Future<unknown> => {
    const t = createTask(fn);
    made.push(t);
    taskCount++;
    return t;
  };

  // the queue's bookkeeping
  const reported: number[] = [];
  const got: number[] = [];
  const left: number[] = [];
  let holdersMax = 0;

  const kinds = ["queue", "lock", "semaphore", "limiter", "tree"] as const;
  const parts = kinds.filter(() => r() < 0.6);
  if (parts.length === 0) parts.push(pick(kinds));

  await run(
    async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, ctx) => {
        const e = ctx.exception;
        if (e instanceof CancelledError) return; // cancelled work given up: expected
        violations.push(`reported: ${ctx.message}${e instanceof Error ? `: ${e.message}` : ""}`);
      });
      const actors: Array<Future<unknown>> = [];

      if (parts.includes("queue")) {
        const q = new Queue<number>(Math.floor(r() * 3));
        let next = 0;
        const crowd = r() < 0.04;
        if (crowd) fault("crowd");
        const producers = crowd ? 20 + Math.floor(r() * 40) : 1 + Math.floor(r() * 4);
        const consumers = crowd ? 20 + Math.floor(r() * 40) : 1 + Math.floor(r() * 4);
        for (let i = 0; i < producers; i++) {
          const n = 1 + Math.floor(r() * 4);
          const plan = Array.from({ length: n }, () => ({ d: delay(r), form: pick(FORMS), t: delay(r) }));
          actors.push(
            spawn(async () => {
              for (const s of plan) {
                await sleep(Math.min(s.t, 20));
                const item = next++;
                const o = await attempt(s.form, () => q.put(item), Math.min(s.d, 30));
                if (o.ok) reported.push(item);
                else fault("missed put");
              }
            }),
          );
        }
        for (let i = 0; i < consumers; i++) {
          const n = 1 + Math.floor(r() * 5);
          const plan = Array.from({ length: n }, () => ({ d: delay(r), form: pick(FORMS), t: delay(r) }));
          actors.push(
            spawn(async () => {
              for (const s of plan) {
                await sleep(Math.min(s.t, 20));
                const o = await attempt(s.form, () => q.get(), Math.min(s.d, 30));
                if (o.ok) got.push(o.value);
                else fault("missed get");
              }
            }),
          );
        }
        const queueActors = actors.slice(-(producers + consumers));
        actors.push(
          spawn(async () => {
            // Shut the queue down once the actors had their chance: a put still waiting then fails
            // (the item was not put), a get still waiting takes what is left or fails. Then count.
            await sleep(400);
            q.shutdown();
            await gather(...queueActors, { returnExceptions: true });
            while (q.qsize() > 0) left.push(q.getNowait());
            const st = q.statistics();
            if (st.getters + st.putters !== 0) violations.push(`queue: ${st.getters} getters and ${st.putters} putters left waiting`);
          }),
        );
      }

      for (const kind of ["lock", "semaphore", "limiter"] as const) {
        if (!parts.includes(kind)) continue;
        const cap = kind === "lock" ? 1 : 2;
        const lock = new Lock();
        const sem = new Semaphore(2);
        const limiter = new CapacityLimiter(2);
        const acquire = (): PromiseLike<unknown> => (kind === "lock" ? lock.acquire() : kind === "semaphore" ? sem.acquire() : limiter.acquire());
        const release = (): void => (kind === "lock" ? lock.release() : kind === "semaphore" ? sem.release() : limiter.release());
        let holding = 0;
        const users = 2 + Math.floor(r() * 5);
        const us: Future<unknown>[] = [];
        for (let i = 0; i < users; i++) {
          const s = { d: delay(r), form: pick(FORMS), t: delay(r), hold: pick([0, 1, 5]) };
          us.push(
            spawn(async () => {
              await sleep(Math.min(s.t, 20));
              const o = await attempt(s.form, acquire, Math.min(s.d, 30));
              if (!o.ok) {
                fault(`missed ${kind}`);
                return;
              }
              holding++;
              holdersMax = Math.max(holdersMax, holding);
              if (holding > cap) violations.push(`${kind}: ${holding} holders at once (capacity ${cap})`);
              try {
                await sleep(s.hold);
              } finally {
                holding--;
                release();
              }
            }),
          );
        }
        actors.push(...us);
        actors.push(
          spawn(async () => {
            await sleep(400);
            const free = kind === "lock" ? !lock.locked() : kind === "semaphore" ? sem.statistics().value === 2 : limiter.statistics().borrowedTokens === 0;
            if (!free) violations.push(`${kind}: not free at the end`);
          }),
        );
      }

      if (parts.includes("tree")) {
        // Tasks with tiny and huge sleeps, cancelled, timed out and gathered in every form.
        const work = async (ms: number): Promise<string> => {
          try {
            await sleep(ms);
            return "done";
          } finally {
            await sleep(pick([0, 1]));
          }
        };
        const n = 2 + Math.floor(r() * 8);
        for (let i = 0; i < n; i++) {
          const ms = delay(r);
          const how = Math.floor(r() * 6);
          actors.push(
            spawn(async () => {
              try {
                if (how === 0) await waitFor(work(ms), delay(r));
                else if (how === 1) await timeout(delay(r), () => Promise.all([work(ms), work(delay(r))]));
                else if (how === 2) {
                  const g = gather(work(ms), work(delay(r)));
                  loop.callLater(delay(r), () => g.cancel());
                  await g;
                } else if (how === 3) {
                  const t = createTask(() => work(ms));
                  made.push(t);
                  loop.callLater(delay(r), () => t.cancel());
                  await t;
                } else if (how === 4) await shield(work(ms));
                else await work(ms);
              } catch (e) {
                if (!(e instanceof CancelledError || e instanceof TimeoutError)) throw e;
                fault(e instanceof TimeoutError ? "timeout" : "cancel");
              }
            }),
          );
        }
        // some get cancelled from outside at random times, a huge deadline among them
        for (const a of actors.slice(-n)) {
          if (r() < 0.3) {
            loop.callLater(delay(r), () => a.cancel());
            fault("cancel");
          }
        }
      }

      if (executors) await executorFaults(r, pick, made, violations, fault);

      // wait for every actor; none may hang (a hang is a deadlock report: a violation)
      const results = await gather(...actors, { returnExceptions: true });
      for (const x of results) {
        if (x instanceof Error && !(x instanceof CancelledError)) violations.push(`an actor failed: ${x.name}: ${x.message}`);
      }
      // Every future the program made has settled by now, before run()'s shutdown could cancel it: the
      // actors awaited all of them (their tasks, executor jobs), and nothing may be left hanging.
      const pending = made.filter((f) => !f.done());
      if (pending.length > 0) violations.push(`${pending.length} futures not settled when the program ended`);
    },
    { virtualTime: true, deadlockTimeout: 5000, holdTimeout: 5000 },
  ).catch((e: unknown) => violations.push(`run() failed: ${e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e)}`));

  // after run(): no task left behind
  const pending = made.filter((f) => !f.done());
  if (pending.length > 0) violations.push(`${pending.length} futures never settled`);
  const sortNum = (a: number, b: number): number => a - b;
  const have = [...got, ...left].sort(sortNum);
  const want = [...reported].sort(sortNum);
  if (have.length !== want.length || have.some((x, i) => x !== want[i])) {
    violations.push(`queue items: reported ${JSON.stringify(want)}, got or left ${JSON.stringify(have)}`);
  }
  return { seed, violations, faults, tasks: taskCount };
}

/** Faulty jobs on a real pool (threads, or processes one time in four). */
async function executorFaults(
  r: () => number,
  pick: <T>(xs: readonly T[]) => T,
  made: Future<unknown>[],
  violations: string[],
  fault: (k: string) => void,
): Promise<void> {
  const processes = r() < 0.25;
  // one pool in eight cannot start its workers (a flag Node refuses): every job must fail, none hang
  const spawnFailure = r() < 0.125;
  if (spawnFailure) fault("worker spawn failure");
  const pool = processes
    ? new ProcessPoolExecutor({ maxWorkers: 2, cancelGrace: 50, execArgv: spawnFailure ? ["--no-such-flag"] : ["--max-old-space-size=24"] })
    : new ThreadPoolExecutor({
        maxWorkers: 2,
        cancelGrace: 50,
        resourceLimits: { maxOldGenerationSizeMb: 32 },
        ...(spawnFailure ? { execArgv: ["--no-such-flag"] } : {}),
      });
  const kinds = ["ok", "throw", "exit", "oom", "kill", "spin", "cancel", "timeout"] as const;
  const jobs = 3 + Math.floor(r() * 6);
  const futs: Future<unknown>[] = [];
  let submitted = 0;
  const pids: number[] = [];
  for (let i = 0; i < jobs; i++) {
    const k = pick(kinds);
    if (k !== "ok") fault(`worker ${k}`);
    if (pool.statistics().workers === 0 && spawnFailure && i > 0) {
      // a broken pool refuses new jobs at once (CPython's BrokenThreadPool at submit)
      try {
        pool.submit((x: number) => x, i);
        violations.push("executor: a broken pool accepted a job");
      } catch (e) {
        if (!(e instanceof Error && e.name.startsWith("Broken"))) violations.push(`executor: a broken pool refused a job with ${String(e)}`);
      }
      continue;
    }
    let f: Future<unknown>;
    if (k === "ok") f = pool.submit((x: number) => x * 2, i);
    else if (k === "throw") f = pool.submit(() => { throw new RangeError("job failed"); });
    else if (k === "exit") f = pool.submit(() => process.exit(3));
    else if (k === "oom") f = pool.submit(() => { const a: unknown[] = []; for (;;) a.push(new Array(1e5).fill(1)); }); else if (k === "kill") f = processes ? pool.submit(() => process.kill(process.pid, "SIGKILL")) : pool.submit(() => process.exit(9));
    else if (k === "spin") f = pool.submitWith({ timeout: 30 }, () => { for (;;); });
    else if (k === "timeout") f = pool.submitWith({ timeout: 20 }, (ms: number) => { const e = Date.now() + ms; while (Date.now() < e); return 1; }, 200);
    else {
      f = pool.submit(() => { for (;;); });
      // (real time: on virtual time the running job holds the clock, so a loop timer would never come)
      const job = f;
      setTimeout(() => job.cancel(), 5);
    }
    submitted++;
    futs.push(f);
    made.push(f);
  }
  if (processes && !spawnFailure) {
    try {
      const f = pool.submit(() => process.pid);
      futs.push(f);
      made.push(f);
      submitted++;
      pids.push((await waitFor(f, 20_000)) as number);
    } catch {
      /* a broken pool fails it: fine */
    }
  }
  const outcomes = await gather(...futs, { returnExceptions: true });
  if (spawnFailure) {
    const ok = outcomes.filter((x) => !(x instanceof Error));
    if (ok.length > 0) violations.push(`executor: a pool whose workers cannot start completed ${ok.length} jobs`);
  }
  const st = pool.statistics();
  if (st.completed + st.failed + st.cancelled !== submitted) {
    violations.push(`executor: ${submitted} submitted, but completed ${st.completed} + failed ${st.failed} + cancelled ${st.cancelled}`);
  }
  await pool.shutdown({ wait: true, timeout: 10_000 });
  if (pool.statistics().workers !== 0) violations.push(`executor: ${pool.statistics().workers} workers left after shutdown`);
  for (const pid of pids) {
    const end = Date.now() + 5000;
    while (alive(pid) && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
    if (alive(pid)) violations.push(`executor: worker process ${pid} left after shutdown`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A scale program: 100,000 tasks (a tenth of them cancelled at random times, a tenth blocked on one
 * queue that is shut down), then `run()` returns with a thousand of them still sleeping: every task must
 * have settled after `run()`, every `finally` block run, nothing reported.
 */
export async function runScaleProgram(seed: number, n = 100_000): Promise<ProgramReport> {
  const r = prng(seed);
  const violations: string[] = [];
  const faults: Record<string, number> = { scale: 1 };
  const made: Future<unknown>[] = [];
  let finallies = 0;
  let leftAsleep = 0;
  await run(
    async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, ctx) => violations.push(`reported: ${ctx.message}`));
      const q = new Queue<number>();
      for (let i = 0; i < n; i++) {
        const kind = r();
        const ms = Math.floor(r() * 50);
        const t = createTask(async () => {
          try {
            if (kind < 0.1) await q.get().catch((e: unknown) => {
              if (!(e instanceof QueueShutDown)) throw e;
            });
            else if (kind < 0.11) {
              leftAsleep++;
              await sleep(1e12);
            } else await sleep(ms);
          } finally {
            finallies++;
          }
        });
        made.push(t);
        if (r() < 0.1) {
          loop.callLater(Math.floor(r() * 60), () => t.cancel());
          faults["cancel"] = (faults["cancel"] ?? 0) + 1;
        }
      }
      await sleep(100);
      q.shutdown();
      await sleep(1);
    },
    { virtualTime: true },
  ).catch((e: unknown) => violations.push(`run() failed: ${String(e)}`));
  const pending = made.filter((f) => !f.done()).length;
  if (pending > 0) violations.push(`scale: ${pending} of ${n} tasks never settled`);
  if (finallies !== n) violations.push(`scale: ${finallies} of ${n} finally blocks ran`);
  if (leftAsleep === 0) violations.push("scale: no task was left for run() to cancel (the program is not testing shutdown)");
  return { seed, violations, faults, tasks: n };
}

/**
 * A real-clock program: delays beyond what a Node timer holds (2**31 ms and more) in sleeps, timeouts
 * and waitFor, which must neither fire early (Node fires such a timer after 1 ms) nor keep the program
 * alive once cancelled; short real delays around them decide.
 */
export async function runRealClockProgram(seed: number): Promise<ProgramReport> {
  const r = prng(seed);
  const violations: string[] = [];
  const faults: Record<string, number> = { "huge delay, real clock": 0 };
  const huge = (): number => [2 ** 31, 2 ** 31 + 5, 3e9, 1e10, 1e12][Math.floor(r() * 5)]!;
  let tasks = 0;
  await run(async () => {
    const loop = getRunningLoop();
    loop.setExceptionHandler((_l, ctx) => violations.push(`reported: ${ctx.message}`));
    const jobs: Array<Promise<void>> = [];
    const n = 3 + Math.floor(r() * 5);
    for (let i = 0; i < n; i++) {
      faults["huge delay, real clock"]!++;
      tasks++;
      const d = huge();
      const how = Math.floor(r() * 3);
      jobs.push(
        (async () => {
          const t0 = loop.time();
          try {
            if (how === 0) await timeout(d, () => sleep(5, "short"));
            else if (how === 1) await waitFor(sleep(5, "short"), d);
            else {
              const t = createTask(() => sleep(d));
              loop.callLater(5, () => t.cancel());
              await t.then(
                () => violations.push(`real clock: sleep(${d}) ended after ${loop.time() - t0} ms`),
                () => undefined,
              );
            }
          } catch (e) {
            violations.push(`real clock: a ${d} ms deadline fired after ${Math.round(loop.time() - t0)} ms (${String(e)})`);
          }
        })(),
      );
    }
    await Promise.all(jobs);
  }).catch((e: unknown) => violations.push(`run() failed: ${String(e)}`));
  return { seed, violations, faults, tasks };
}
