/**
 * JobQueue: jobs are tasks, limits hold, every future settles, cancellation reaches every wait; on
 * virtual time (and the real clock with tiny ms where the clock matters). p-queue's own behaviours are
 * ported one by one in job-queue-pqueue.test.ts.
 */
import { getEventListeners } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  type ExceptionContext,
  RuntimeError,
  TimeoutError,
  allTasks,
  createTask,
  currentTask,
  eagerTaskFactory,
  fromPromise,
  gather,
  getRunningLoop,
  newEventLoop,
  run,
  shield,
  sleep,
  timeout,
} from "../../src/index.js";
import { type JobContext, JobFuture, JobQueue, type JobQueueEvents } from "../../src/toolkit/job-queue.js";
import { instrumentNewLoops, renderTerminalTimeline, TraceRecorder } from "../../src/tracing/index.js";

const vt = { virtualTime: true } as const;

/** Collect what the loop's exception handler is told (unretrieved errors, destroyed tasks, listener errors). */
function captureReports(): ExceptionContext[] {
  const reports: ExceptionContext[] = [];
  getRunningLoop().setExceptionHandler((_loop, ctx) => reports.push(ctx));
  return reports;
}

describe("JobQueue: jobs are tasks", () => {
  it("runs async functions, functions returning plain values and functions returning our awaitables", async () => {
    await run(async () => {
      const q = new JobQueue();
      const a = q.add(async () => 1);
      const b = q.add(() => 2);
      const c = q.add(() => sleep(5, 3));
      const d = q.add(() => Promise.resolve(4));
      expect(a).toBeInstanceOf(JobFuture);
      expect(await gather(a, b, c, d)).toEqual([1, 2, 3, 4]);
      expect(getRunningLoop().time()).toBe(5);
    }, vt);
  });

  it("a job is a named task, listed by allTasks(), with its context; the queue's own task exists while it has work", async () => {
    await run(async () => {
      const q = new JobQueue({ name: "photos", concurrency: 1 });
      let seen: JobContext | undefined;
      const a = q.add(
        async (job) => {
          seen = job;
          expect(currentTask()).toBe(job.task);
          expect(job.signal).toBe(job.task.signal);
          await sleep(10);
          return job.name;
        },
        { name: "resize 1", priority: 2, id: "r1" },
      );
      const b = q.add(() => "b");
      expect(a.state).toBe("running");
      expect(b.state).toBe("waiting");
      expect(b.task).toBeNull();
      expect(b.name).toBe("photos-job-2");
      expect(b.id).toBe("2");
      const names = [...allTasks()].map((t) => t.getName());
      expect(names).toContain("photos");
      expect(names).toContain("resize 1");
      expect(names).not.toContain("photos-job-2"); // waiting jobs are not tasks yet
      expect(await a).toBe("resize 1");
      expect(seen).toMatchObject({ name: "resize 1", id: "r1", priority: 2 });
      expect(a.task!.getName()).toBe("resize 1");
      expect(a.state).toBe("done");
      expect(await b).toBe("b");
      expect(b.task!.getName()).toBe("photos-job-2");
      await q.onIdle();
      await sleep(0);
      expect([...allTasks()].map((t) => t.getName())).toEqual([currentTask()!.getName()]);
    }, vt);
  });

  it("jobs are drawn on the tracing timeline under their names, as they run", async () => {
    const rec = new TraceRecorder();
    const stop = instrumentNewLoops(() => rec.instrument());
    try {
      await run(async () => {
        const q = new JobQueue({ name: "crawl", concurrency: 1 });
        q.add(() => sleep(100), { name: "page 1" });
        q.add(() => sleep(100), { name: "page 2" });
        await q.onIdle();
      }, vt);
    } finally {
      stop();
    }
    const tasks = rec.trace().tasks;
    const span = (name: string) => {
      const t = tasks.find((x) => x.name === name)!;
      return [t.created, t.done, t.state];
    };
    expect(span("page 1")).toEqual([0, 100, "finished"]);
    expect(span("page 2")).toEqual([100, 200, "finished"]);
    expect(tasks.map((t) => t.name)).toContain("crawl");
    expect(renderTerminalTimeline(rec.trace(), { width: 80 })).toMatch(/page 2/);
  });

  it("a task awaiting a job names it in task dumps; the queue's task says what the queue does", async () => {
    await run(async () => {
      const q = new JobQueue({ name: "Q", concurrency: 1 });
      q.add(() => sleep(10));
      const waiting = q.add(() => 1, { name: "second" });
      const waiter = createTask(() => waiting);
      await sleep(1);
      const guard = [...allTasks()].find((t) => t.getName() === "Q")!;
      expect(guard._waiters.map((f) => f._describe())).toEqual(["Q: 1 running, 1 waiting"]);
      expect(waiter._waiters.map((f) => f._describe())).toEqual(["second (waiting in Q)"]);
      await waiter;
    }, vt);
  });

  it("with eagerTaskFactory a job starts inside add(), and its name and task are right in its first step", async () => {
    await run(async () => {
      getRunningLoop().setTaskFactory(eagerTaskFactory);
      const q = new JobQueue({ concurrency: 1 });
      const log: string[] = [];
      const a = q.add((job) => {
        log.push(`${job.name} ${currentTask()!.getName()} ${job.task === currentTask()}`);
        return 1;
      });
      expect(log).toEqual([`${q.name}-job-1 ${q.name}-job-1 true`]);
      expect(await a).toBe(1);
    }, vt);
  });

  it("works on the real clock (tiny ms)", async () => {
    const out = await run(async () => {
      const q = new JobQueue({ concurrency: 2, intervalCap: 2, interval: 5, timeout: 30 });
      const starts: number[] = [];
      const loop = getRunningLoop();
      const t0 = loop.time();
      q.on("active", () => starts.push(loop.time() - t0));
      // (the quick jobs' limit is far from their 1 ms: on a loaded machine a stall could outlast 30 ms)
      const jobs = [1, 2, 3, 4].map((i) => q.add(async () => (await sleep(1), i), { timeout: 5000 }));
      const slow = q.add(() => sleep(1000));
      await expect(slow).rejects.toBeInstanceOf(TimeoutError);
      const r = await gather(...jobs);
      // (five starts, in order; how far apart they are is the virtual-time tests' business: the window opens
      // at the job's start, a read of the real clock a moment before the "active" event's read)
      expect(starts).toHaveLength(5);
      expect([...starts].sort((a, b) => a - b)).toEqual(starts);
      return r;
    });
    expect(out).toEqual([1, 2, 3, 4]);
  });
});

describe("JobQueue: limits", () => {
  it("never runs more than `concurrency` jobs; raising it starts waiting jobs at once, lowering it lets running ones finish", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 2 });
      let running = 0;
      let most = 0;
      const job = (ms: number) => async () => {
        running++;
        most = Math.max(most, running);
        try {
          await sleep(ms);
        } finally {
          running--;
        }
      };
      for (let i = 0; i < 6; i++) q.add(job(10));
      expect([q.size, q.pending]).toEqual([4, 2]);
      q.concurrency = 4;
      expect([q.size, q.pending]).toEqual([2, 4]);
      q.concurrency = 1;
      expect(q.pending).toBe(4); // they finish
      await sleep(15);
      expect(q.pending).toBe(1);
      await q.onIdle();
      expect(most).toBe(4);
      expect(getRunningLoop().time()).toBe(30);
    }, vt);
  });

  it("starts higher priorities first, FIFO within a priority; setPriority moves a waiting job to the end of its new priority", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1, autoStart: false });
      const order: string[] = [];
      const job = (n: string) => () => void order.push(n);
      q.add(job("a0"));
      q.add(job("b1"), { priority: 1 });
      q.add(job("c0"), { id: "c" });
      q.add(job("d1"), { priority: 1 });
      q.add(job("e-inf"), { priority: -Infinity });
      q.add(job("f+inf"), { priority: Infinity });
      const g = q.add(job("g0"));
      expect(q.sizeBy({ priority: 1 })).toBe(2);
      expect(q.sizeBy({ priority: 0 })).toBe(3);
      expect(q.sizeBy({ priority: 7 })).toBe(0);
      q.setPriority("c", 1); // after b1 and d1
      q.setPriority(g, 0); // same priority: stays where it is
      q.start();
      await q.onIdle();
      expect(order).toEqual(["f+inf", "b1", "d1", "c0", "a0", "g0", "e-inf"]);
      expect(() => q.setPriority("c", 3)).toThrow(new RangeError(`No job with the id "c" waits in ${q.name} (it may have started or left already)`));
      expect(() => q.setPriority(g, 3)).toThrow(RangeError);
    }, vt);
  });

  it("pause() stops starting jobs, start() resumes; autoStart: false starts paused", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 2, autoStart: false });
      expect(q.isPaused).toBe(true);
      const jobs = [1, 2, 3].map((i) => q.add(() => sleep(10, i)));
      expect([q.size, q.pending]).toEqual([3, 0]);
      expect(q.start()).toBe(q);
      expect([q.size, q.pending, q.isPaused]).toEqual([1, 2, false]);
      q.pause();
      await sleep(15);
      expect([q.size, q.pending]).toEqual([1, 0]);
      q.start();
      expect(await gather(...jobs)).toEqual([1, 2, 3]);
      expect(getRunningLoop().time()).toBe(25);
    }, vt);
  });
});

describe("JobQueue: rate limits at exact virtual times", () => {
  it("fixed windows: at most intervalCap starts per window; windows follow each other while jobs wait", async () => {
    await run(async () => {
      const q = new JobQueue({ intervalCap: 2, interval: 100 });
      const starts: number[] = [];
      const loop = getRunningLoop();
      for (let i = 0; i < 5; i++) q.add(() => void starts.push(loop.time()));
      expect(q.isRateLimited).toBe(true);
      expect(q.statistics().intervalCount).toBe(2);
      await q.onIdle();
      expect(starts).toEqual([0, 0, 100, 100, 200]);
      // idle since 200: the window [200, 300) has one start left
      await sleep(50);
      q.add(() => void starts.push(loop.time()));
      q.add(() => void starts.push(loop.time()));
      await q.onIdle();
      expect(starts.slice(5)).toEqual([250, 300]);
      // long idle: a fresh window opens at the next start
      await sleep(1000);
      for (let i = 0; i < 3; i++) q.add(() => void starts.push(loop.time()));
      await q.onIdle();
      expect(starts.slice(7)).toEqual([1300, 1300, 1400]);
    }, vt);
  });

  it("carryoverIntervalCount: jobs running when a window opens count against it", async () => {
    await run(async () => {
      const q = new JobQueue({ intervalCap: 1, interval: 500, carryoverIntervalCount: true });
      const starts: number[] = [];
      const loop = getRunningLoop();
      for (let i = 0; i < 2; i++) q.add(async () => (starts.push(loop.time()), await sleep(600)));
      await q.onIdle();
      expect(starts).toEqual([0, 1000]); // at 500 the first job still ran: the window [500, 1000) was full
      const q2 = new JobQueue({ intervalCap: 1, interval: 500 });
      starts.length = 0;
      for (let i = 0; i < 2; i++) q2.add(async () => (starts.push(loop.time()), await sleep(600)));
      await q2.onIdle();
      expect(starts).toEqual([1600, 2100]);
    }, vt);
  });

  it("strict: a sliding window, no burst at a window's edge", async () => {
    const starts = async (strict: boolean): Promise<number[]> =>
      run(async () => {
        const loop = getRunningLoop();
        const q = new JobQueue({ intervalCap: 2, interval: 100, strict });
        const log: number[] = [];
        q.add(() => void log.push(loop.time()));
        await sleep(90);
        for (let i = 0; i < 4; i++) q.add(() => void log.push(loop.time()));
        await q.onIdle();
        return log;
      }, vt);
    expect(await starts(false)).toEqual([0, 90, 100, 100, 200]); // 3 starts in [90, 190)
    expect(await starts(true)).toEqual([0, 90, 100, 190, 200]); // never more than 2 in 100 ms
  });

  it("a paused queue's rate limit still clears at the window's end; no timer is left once nothing waits", async () => {
    await run(async () => {
      const q = new JobQueue({ intervalCap: 1, interval: 1000 });
      const events: string[] = [];
      q.on("rateLimit", () => events.push(`limit@${getRunningLoop().time()}`));
      q.on("rateLimitCleared", () => events.push(`cleared@${getRunningLoop().time()}`));
      q.add(() => sleep(50));
      q.add(() => sleep(50));
      expect(events).toEqual(["limit@0"]);
      q.pause();
      await sleep(1000);
      expect(q.isRateLimited).toBe(false);
      expect(events).toEqual(["limit@0", "cleared@1000"]);
      expect(q.size).toBe(1);
      q.start();
      await q.onIdle();
      expect(q._rateTimer).toBeNull();
    }, vt);
  });

  it("onRateLimit() and onRateLimitCleared() resolve on the transitions", async () => {
    await run(async () => {
      const q = new JobQueue({ intervalCap: 1, interval: 100 });
      await q.onRateLimitCleared(); // not limited: at once
      const limited = q.onRateLimit();
      q.add(() => 1);
      q.add(() => 2);
      await limited;
      expect(getRunningLoop().time()).toBe(0);
      await q.onRateLimitCleared();
      expect(getRunningLoop().time()).toBe(100);
    }, vt);
  });
});

describe("JobQueue: time limits", () => {
  it("a job over its time limit sees CancelledError; its future rejects with TimeoutError at the exact time", async () => {
    await run(async () => {
      const q = new JobQueue({ timeout: 100, name: "T" });
      let inside: unknown;
      const j = q.add(
        async () => {
          try {
            await sleep(1000);
          } catch (e) {
            inside = e;
            throw e;
          }
        },
        { name: "slow" },
      );
      const err = await j.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toBe("slow: Timed out after 100 ms; T had 1 running and 0 waiting");
      expect((err as Error).cause).toBeInstanceOf(TimeoutError);
      expect(inside).toBeInstanceOf(CancelledError);
      expect(getRunningLoop().time()).toBe(100);
      // per job: longer, none, shorter; and the default for later jobs
      expect(await q.add(() => sleep(150, "long"), { timeout: 200 })).toBe("long");
      expect(await q.add(() => sleep(500, "none"), { timeout: null })).toBe("none");
      await expect(q.add(() => sleep(50), { timeout: 10 })).rejects.toBeInstanceOf(TimeoutError);
      q.timeout = null;
      expect(await q.add(() => sleep(500, "ok"))).toBe("ok");
      expect(q.timeout).toBeNull();
    }, vt);
  });

  it("the time limit starts when the job starts; a timed-out job holds its slot until its task has ended", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1, timeout: 100 });
      const loop = getRunningLoop();
      const log: string[] = [];
      const a = q.add(async () => {
        try {
          await sleep(1000);
        } finally {
          await shield(sleep(30)); // cleanup after the cancellation
          log.push(`a cleaned up at ${loop.time()}`);
        }
      });
      const b = q.add(() => void log.push(`b started at ${loop.time()}`));
      await expect(a).rejects.toBeInstanceOf(TimeoutError);
      await b;
      expect(log).toEqual(["a cleaned up at 130", "b started at 130"]);
    }, vt);
  });

  it("a job that swallows the cancellation of its time limit returns its value (asyncio's timeout() does so)", async () => {
    await run(async () => {
      const q = new JobQueue({ timeout: 10 });
      const j = q.add(async () => {
        try {
          await sleep(100);
        } catch {
          return "swallowed";
        }
      });
      expect(await j).toBe("swallowed");
      expect(getRunningLoop().time()).toBe(10);
    }, vt);
  });
});

describe("JobQueue: foreign work", () => {
  it("a job awaiting a foreign promise through fromPromise() is cancellable: its time limit frees its slot on time", async () => {
    await run(
      async () => {
        const q = new JobQueue({ concurrency: 1, timeout: 50 });
        const stuck = q.add(() => fromPromise(new Promise<never>(() => {})));
        const next = q.add(() => getRunningLoop().time());
        await expect(stuck).rejects.toBeInstanceOf(TimeoutError);
        expect(await next).toBe(50);
      },
      { virtualTime: true, holdTimeout: 5 },
    );
  });
});

describe("JobQueue: cancellation", () => {
  it("cancelling a waiting job's future removes it from the line at once", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1 });
      const ran: string[] = [];
      q.add(() => sleep(10));
      const b = q.add(() => void ran.push("b"));
      const c = q.add(() => void ran.push("c"));
      expect(b.cancel("no")).toBe(true);
      expect(b.cancelled()).toBe(true);
      expect(q.size).toBe(1);
      await expect(b).rejects.toThrow(new CancelledError("no"));
      expect(b.cancel()).toBe(false);
      await c;
      expect(ran).toEqual(["c"]);
      expect(q.statistics()).toMatchObject({ added: 3, succeeded: 2, cancelled: 1, failed: 0 });
    }, vt);
  });

  it("cancellation at every phase of a job: waiting, started but not run, running, ended but not yet settled", async () => {
    await run(async () => {
      const q = new JobQueue();
      let called = 0;
      // started (its task made) but its first step not run yet: the function is never called
      const a = q.add(() => void called++);
      expect(a.state).toBe("running");
      expect(a.cancel()).toBe(true);
      await expect(a).rejects.toBeInstanceOf(CancelledError);
      expect(called).toBe(0);
      // its task ended, its future not settled yet (the queue settles it in the loop's next iteration):
      // too late to cancel, as for a task that is done
      const b = q.add(() => "b");
      await sleep(0);
      expect([b.task!.done(), b.done()]).toEqual([true, false]);
      expect(b.cancel()).toBe(false);
      expect(await b).toBe("b");
      // done: cancel() is false, the outcome stays
      expect(b.cancel()).toBe(false);
      expect(b.result()).toBe("b");
      expect(q.statistics()).toMatchObject({ succeeded: 1, cancelled: 1 });
    }, vt);
  });

  it("a job future is settled only by its queue", async () => {
    await run(async () => {
      const q = new JobQueue();
      const j = q.add(() => sleep(5, 1), { name: "mine" });
      expect(() => j.setResult(2)).toThrow(new RuntimeError("JobFuture does not support setResult(): it settles from mine's outcome (cancel() the job to stop it)"));
      expect(() => j.setException(new Error())).toThrow(RuntimeError);
      expect(await j).toBe(1);
    }, vt);
  });

  it("a job may return a task, a gather or a job of another queue: it waits for it", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1 });
      const other = new JobQueue();
      const a = q.add(() => createTask(() => sleep(10, "task")));
      const b = q.add(() => gather(sleep(5, 1), sleep(5, 2)));
      const c = q.add(() => other.add(() => sleep(5, "nested")));
      expect(await gather(a, b, c)).toEqual(["task", [1, 2], "nested"]);
      expect(getRunningLoop().time()).toBe(20);
    }, vt);
  });

  it("cancelling a running job's future cancels its task; the future settles when the task ends", async () => {
    await run(async () => {
      const q = new JobQueue();
      const loop = getRunningLoop();
      const log: string[] = [];
      const j = q.add(async () => {
        try {
          await sleep(100);
        } catch (e) {
          log.push(`${(e as Error).constructor.name} at ${loop.time()}`);
          await shield(sleep(5));
          throw e;
        }
      });
      await sleep(10);
      expect(j.cancel("stop")).toBe(true);
      expect(j.done()).toBe(false); // like a task: it ends when its code has finished
      expect(q.pending).toBe(1);
      await expect(j).rejects.toThrow(new CancelledError("stop"));
      expect(loop.time()).toBe(15);
      expect(log).toEqual(["CancelledError at 10"]);
      expect(q.pending).toBe(0);
    }, vt);
  });

  it("a job that swallows its cancellation returns its value (as a CPython task does)", async () => {
    await run(async () => {
      const q = new JobQueue();
      const j = q.add(async () => {
        try {
          await sleep(100);
        } catch {
          return "kept going";
        }
      });
      await sleep(1);
      j.cancel();
      expect(await j).toBe("kept going");
    }, vt);
  });

  it("cancelling the task that awaits a job cancels the job (waiting or running); shield() detaches it", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1 });
      const log: string[] = [];
      const running = q.add(async () => {
        try {
          await sleep(100);
          log.push("running finished");
        } catch (e) {
          log.push("running cancelled");
          throw e;
        }
      });
      const waiting = q.add(() => void log.push("waiting ran"));
      const callerA = createTask(() => running);
      const callerB = createTask(() => waiting);
      await sleep(1);
      callerA.cancel();
      callerB.cancel();
      await expect(callerA).rejects.toBeInstanceOf(CancelledError);
      await expect(callerB).rejects.toBeInstanceOf(CancelledError);
      expect(running.cancelled()).toBe(true);
      expect(waiting.cancelled()).toBe(true);
      // shield: the caller is cancelled, the job goes on
      const kept = q.add(() => sleep(10, "kept"));
      const callerC = createTask(() => shield(kept));
      await sleep(1);
      callerC.cancel();
      await expect(callerC).rejects.toBeInstanceOf(CancelledError);
      expect(await kept).toBe("kept");
      expect(log).toEqual(["running cancelled"]);
    }, vt);
  });

  it("gather of jobs cancelled cancels every job; a timeout() around awaiting a job cancels it", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1 });
      const a = q.add(() => sleep(100));
      const b = q.add(() => sleep(100));
      const g = gather(a, b);
      await sleep(1);
      g.cancel();
      await expect(g).rejects.toBeInstanceOf(CancelledError);
      expect([a.cancelled(), b.cancelled()]).toEqual([true, true]);
      const c = q.add(() => sleep(100));
      await expect(timeout(10, () => c)).rejects.toBeInstanceOf(TimeoutError);
      expect(c.cancelled()).toBe(true);
      expect(q.statistics()).toMatchObject({ size: 0, pending: 0, cancelled: 3 });
    }, vt);
  });

  it("addAll() returns a future of all results; cancelling it cancels every job", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 2 });
      expect(await q.addAll([() => 1, async () => 2, () => sleep(5, 3)])).toEqual([1, 2, 3]);
      const all = q.addAll([() => sleep(10), () => sleep(10), () => sleep(10)], { priority: 3 });
      await sleep(1);
      all.cancel();
      await expect(all).rejects.toBeInstanceOf(CancelledError);
      await q.onIdle();
      expect(q.statistics()).toMatchObject({ succeeded: 3, cancelled: 3 });
      await expect(q.addAll([() => 1, () => Promise.reject(new Error("x"))])).rejects.toThrow("x");
    }, vt);
  });

  it("cancellation reaches every wait of the queue, by cancel(), timeout() and AbortSignal; other waiters still wake", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1, intervalCap: 1, interval: 1000 });
      q.add(() => sleep(10));
      q.add(() => sleep(10));
      q.add(() => sleep(10));
      const waits = {
        onIdle: (s?: AbortSignal) => q.onIdle({ signal: s }),
        onEmpty: (s?: AbortSignal) => q.onEmpty({ signal: s }),
        onPendingZero: (s?: AbortSignal) => q.onPendingZero({ signal: s }),
        onSizeLessThan: (s?: AbortSignal) => q.onSizeLessThan(1, { signal: s }),
        onRateLimitCleared: (s?: AbortSignal) => q.onRateLimitCleared({ signal: s }),
        onError: (s?: AbortSignal) => q.onError({ signal: s }),
      };
      for (const [name, wait] of Object.entries(waits)) {
        const t = createTask(() => wait());
        await sleep(0);
        t.cancel();
        await expect(t, name).rejects.toBeInstanceOf(CancelledError);
        await expect(timeout(1, () => wait()), name).rejects.toBeInstanceOf(TimeoutError);
        const ac = new AbortController();
        const p = wait(ac.signal);
        ac.abort(new Error(`aborted ${name}`));
        await expect(p).rejects.toThrow(`aborted ${name}`);
        const pre = AbortSignal.abort(new Error("already"));
        await expect(wait(pre)).rejects.toThrow("already");
      }
      for (const w of q._waits._queues) expect(w?.size ?? 0).toBe(0);
      const idle = q.onIdle();
      await idle;
      expect(getRunningLoop().time()).toBe(2010);
    }, vt);
  });
});

describe("JobQueue: signals", () => {
  it("an aborted signal removes a waiting job (rejects with the reason) and cancels a running one's task", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1 });
      const ac = new AbortController();
      let sawSignal = false;
      let inside: unknown;
      const running = q.add(
        async ({ signal }) => {
          signal.addEventListener("abort", () => (sawSignal = true));
          try {
            await sleep(100);
          } catch (e) {
            inside = e;
            throw e;
          }
        },
        { signal: ac.signal },
      );
      const waiting = q.add(() => 1, { signal: ac.signal });
      const other = q.add(() => 2);
      await sleep(1);
      expect(getEventListeners(ac.signal, "abort")).toHaveLength(1); // one listener for both jobs
      const reason = new Error("user gave up");
      ac.abort(reason);
      expect(waiting.done()).toBe(true);
      await expect(waiting).rejects.toBe(reason);
      await expect(running).rejects.toBe(reason);
      expect(inside).toBeInstanceOf(CancelledError);
      expect(sawSignal).toBe(true);
      expect(await other).toBe(2);
      expect(q.statistics()).toMatchObject({ failed: 2, succeeded: 1 });
    }, vt);
  });

  it("an already aborted signal: the job is never added, its future rejects at once", async () => {
    await run(async () => {
      const q = new JobQueue();
      const events: string[] = [];
      q.on("add", () => events.push("add"));
      const j = q.add(() => 1, { signal: AbortSignal.abort(new Error("before")) });
      expect(j.done()).toBe(true);
      await expect(j).rejects.toThrow("before");
      expect(events).toEqual([]);
      expect(q.statistics().added).toBe(0);
    }, vt);
  });

  it("listeners on a shared signal are removed when their jobs end or leave", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 1 });
      const ac = new AbortController();
      const jobs = [1, 2, 3].map((i) => q.add(() => sleep(1, i), { signal: ac.signal }));
      expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
      jobs[2]!.cancel();
      await gather(jobs[0]!, jobs[1]!);
      expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
      q.pause();
      q.add(() => 1, { signal: ac.signal });
      expect(q.clear()).toBe(1);
      expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    }, vt);
  });
});

describe("JobQueue: clear() and the end of run()", () => {
  it("clear() cancels the waiting jobs' futures (never reported as unhandled); running jobs go on", async () => {
    await run(async () => {
      const reports = captureReports();
      const q = new JobQueue({ concurrency: 1 });
      const a = q.add(() => sleep(10, "a"));
      const b = q.add(() => "b");
      const c = q.add(() => "c");
      expect(q.clear()).toBe(2);
      expect(q.clear()).toBe(0);
      expect([b.cancelled(), c.cancelled()]).toEqual([true, true]);
      await expect(b).rejects.toThrow(new CancelledError("JobQueue.clear() removed the job before it started"));
      expect(await a).toBe("a");
      await q.onIdle();
      await sleep(0);
      expect(reports).toEqual([]);
    }, vt);
  });

  it("when run() ends with jobs waiting and running, they are cancelled and nothing is left pending", async () => {
    const outcomes: string[] = [];
    let futures: JobFuture<unknown>[] = [];
    let reports: ExceptionContext[] = [];
    await run(async () => {
      reports = captureReports();
      const q = new JobQueue({ concurrency: 2 });
      futures = [1, 2, 3, 4, 5].map((i) =>
        q.add(async () => {
          try {
            await sleep(100);
          } catch (e) {
            outcomes.push(`job ${i} cancelled`);
            throw e;
          }
        }),
      );
      await sleep(1);
    }, vt);
    expect(outcomes).toEqual(["job 1 cancelled", "job 2 cancelled"]);
    expect(futures.every((f) => f.cancelled())).toBe(true);
    expect(reports).toEqual([]);
  });

  it("cancelling the queue's task stops its work: waiting jobs cancelled, running ones' tasks cancelled", async () => {
    await run(async () => {
      const q = new JobQueue({ name: "W", concurrency: 1 });
      const a = q.add(() => sleep(100));
      const b = q.add(() => 1);
      await sleep(1);
      const guard = [...allTasks()].find((t) => t.getName() === "W")!;
      guard.cancel();
      await expect(a).rejects.toBeInstanceOf(CancelledError);
      await expect(b).rejects.toThrow(new CancelledError("W's task was cancelled before the job started"));
      expect(await q.add(() => "again")).toBe("again"); // the queue is usable again
    }, vt);
  });

  it("waiting for a paused queue to go idle is a deadlock whose report says what the queue is doing", async () => {
    let message = "";
    await run(
      async () => {
        getRunningLoop().setExceptionHandler(() => {}); // (the report is read from the error)
        const q = new JobQueue({ autoStart: false, name: "stuck" });
        q.add(() => 1);
        await q.onIdle();
      },
      { virtualTime: true, deadlockTimeout: 10 },
    ).catch((e: unknown) => (message = String(e)));
    expect(message).toContain("DeadlockError");
    expect(message).toContain("waiting on JobQueue.onIdle");
    expect(message).toContain("stuck: waiting on stuck: 0 running, 1 waiting, paused");
  });

  it("a loop closed by hand rejects the code that awaits its jobs outside tasks", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const q = new JobQueue({ concurrency: 1 });
    let waiting!: JobFuture<number>;
    loop.setExceptionHandler(() => {});
    await loop.runUntilComplete(async () => {
      q.add(() => sleep(100));
      waiting = q.add(() => 1);
    });
    const outside = waiting.then(
      () => "resolved",
      (e: unknown) => String(e),
    );
    loop.close();
    expect(await outside).toMatch(/RuntimeError: Event loop is closed: JobQueue-\d+-job-2 will never finish/);
    // the queue moves to the next loop
    expect(await run(() => q.add(() => 7))).toBe(7);
  });
});

describe("JobQueue: waits and events", () => {
  it("onEmpty / onPendingZero / onSizeLessThan / onIdle resolve at the right moments", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 2 });
      const loop = getRunningLoop();
      const at: Record<string, number> = {};
      const mark = (name: string) => () => void (at[name] = loop.time());
      for (let i = 0; i < 6; i++) q.add(() => sleep(10 * (i + 1)));
      const all = [
        q.onSizeLessThan(3).then(mark("size<3")),
        q.onEmpty().then(mark("empty")),
        q.onPendingZero().then(mark("zero")),
        q.onIdle().then(mark("idle")),
      ];
      await Promise.all(all);
      // jobs of 10, 20 start at 0; of 30 at 10; of 40 at 20 (2 wait); of 50 at 40; of 60 at 60 (none
      // waits); the last ends at 120
      expect(at).toEqual({ "size<3": 20, empty: 60, zero: 120, idle: 120 });
    }, vt);
  });

  it("onError() rejects with the next failing job's error; the job's future rejects too", async () => {
    await run(async () => {
      const q = new JobQueue();
      const err = q.onError();
      const j = q.add(() => Promise.reject(new Error("boom")));
      await expect(err).rejects.toThrow("boom");
      await expect(j).rejects.toThrow("boom");
    }, vt);
  });

  it("events: order and arguments; once, signal and the returned function remove listeners; a listener's error goes to the exception handler", async () => {
    await run(async () => {
      const reports = captureReports();
      const q = new JobQueue({ concurrency: 1 });
      const log: string[] = [];
      const names: (keyof JobQueueEvents)[] = ["add", "active", "completed", "error", "next", "empty", "idle", "pendingZero"];
      for (const n of names) q.on(n, (...args: unknown[]) => log.push(`${n}(${args.filter((a) => !(a instanceof JobFuture) && a !== undefined).map((a) => (a instanceof Error ? a.message : String(a))).join()})`));
      const a = q.add(() => "A");
      const b = q.add(() => {
        throw new Error("B");
      });
      await a;
      await expect(b).rejects.toThrow("B");
      await q.onIdle();
      expect(log).toEqual([
        "add()",
        "active()",
        "add()",
        "completed(A)",
        "next()",
        "active()",
        "empty()",
        "error(B)",
        "next()",
        "pendingZero()",
        "idle()",
      ]);
      let count = 0;
      const off = q.on("add", () => count++);
      q.on("add", () => count++, { once: true });
      const ac = new AbortController();
      q.on("add", () => count++, { signal: ac.signal });
      expect(q.listenerCount("add")).toBe(4);
      q.add(() => 1);
      expect(count).toBe(3);
      off();
      off();
      ac.abort();
      expect(q.listenerCount("add")).toBe(1);
      q.add(() => 1);
      expect(count).toBe(3);
      q.on("completed", () => {
        throw new Error("listener broke");
      });
      expect(await q.add(() => "still fine")).toBe("still fine");
      await q.onIdle();
      expect(reports.map((r) => [r.message, (r.exception as Error).message])).toContainEqual([
        `Exception in a ${q.name} listener of "completed"`,
        "listener broke",
      ]);
    }, vt);
  });

  it("an async listener that rejects is reported as one that throws (it was an unhandled rejection, which ends the process)", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      await run(async () => {
        const reports: ExceptionContext[] = [];
        getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
        const q = new JobQueue();
        q.on("completed", async () => {
          await sleep(1);
          throw new Error("async listener broke");
        });
        expect(await q.add(() => "ok")).toBe("ok");
        await sleep(5);
        expect(reports.map((r) => [r.message, (r.exception as Error).message])).toEqual([
          [`Exception in a ${q.name} listener of "completed"`, "async listener broke"],
        ]);
      }, vt);
      for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it("a listener may add, pause or clear while the queue starts jobs", async () => {
    await run(async () => {
      const q = new JobQueue({ concurrency: 2 });
      const ran: number[] = [];
      let added = false;
      q.on("active", (job) => {
        if (!added && job.name.endsWith("-job-1")) {
          added = true;
          q.add(() => void ran.push(99), { priority: 9 });
        }
      });
      for (let i = 0; i < 3; i++) q.add(() => void ran.push(i));
      await q.onIdle();
      expect(ran.sort()).toEqual([0, 1, 2, 99]);
      expect(q.pending).toBe(0);
    }, vt);
  });
});

describe("JobQueue: loops and bad input", () => {
  it("add() outside a running loop is a RuntimeError saying where to call it; the queue can be made anywhere", () => {
    const q = new JobQueue();
    expect(() => q.add(() => 1)).toThrow(RuntimeError);
    expect(() => q.add(() => 1)).toThrow(
      "JobQueue.add() needs a running event loop, since jobs run as tasks: call it inside run(async () => { ... }) or in a task (the queue itself can be made anywhere)",
    );
    expect(q.statistics()).toMatchObject({ size: 0, pending: 0, added: 0 });
  });

  it("a queue with jobs on one loop refuses jobs from another", async () => {
    const q = new JobQueue({ concurrency: 1 });
    const loop = newEventLoop({ virtualTime: true });
    loop.setExceptionHandler(() => {});
    await loop.runUntilComplete(async () => {
      q.add(() => sleep(10));
    });
    await run(async () => {
      expect(() => q.add(() => 1)).toThrow(`${q.name} is bound to a different event loop, where it has jobs: add jobs from that loop`);
    });
    loop.close();
  });

  it("bad input: the project's wording", async () => {
    expect(() => new JobQueue({ concurrency: 0 })).toThrow(new RangeError("Expected concurrency to be a positive integer or Infinity, got 0 (number)"));
    expect(() => new JobQueue({ concurrency: 1.5 })).toThrow(RangeError);
    expect(() => new JobQueue({ concurrency: "2" as unknown as number })).toThrow(new TypeError('Expected concurrency to be a positive integer or Infinity, got "2" (string)'));
    expect(() => new JobQueue({ intervalCap: 0 })).toThrow(new RangeError("Expected intervalCap to be a positive integer or Infinity, got 0 (number)"));
    expect(() => new JobQueue({ interval: -1 })).toThrow(new RangeError("Expected interval to be a finite non-negative number of milliseconds, got -1 (number)"));
    expect(() => new JobQueue({ interval: Infinity })).toThrow(new RangeError("Expected interval to be a finite non-negative number of milliseconds, got Infinity (number)"));
    expect(() => new JobQueue({ timeout: 0 })).toThrow(new RangeError("Expected timeout to be a positive number of milliseconds or null, got 0 (number)"));
    expect(() => new JobQueue({ autoStart: 1 as unknown as boolean })).toThrow(new TypeError("Expected autoStart to be a boolean, got 1 (number)"));
    expect(() => new JobQueue({ strict: true })).toThrow(new TypeError("strict needs a rate limit: give an interval above 0 and a finite intervalCap, got interval 0 and intervalCap Infinity"));
    expect(() => new JobQueue({ concurency: 2 } as never)).toThrow('Unknown option "concurency" of new JobQueue() (known: concurrency, intervalCap, interval, carryoverIntervalCount, strict, timeout, autoStart, name)');
    expect(() => new JobQueue({ interval_cap: 2 } as never)).toThrow("write intervalCap");
    expect(() => new JobQueue(5 as never)).toThrow(new TypeError("Expected options to be an object, got 5 (number)"));
    const q = new JobQueue();
    expect(() => (q.concurrency = 0)).toThrow(new RangeError("Expected concurrency to be a positive integer or Infinity, got 0 (number)"));
    expect(() => (q.timeout = -5)).toThrow(RangeError);
    await run(async () => {
      expect(() => q.add(42 as never)).toThrow(new TypeError("Expected fn to be a function, got 42 (number)"));
      expect(() => q.add(Promise.resolve(1) as never)).toThrow(
        "Expected fn to be a function, got a promise: its work is already running and cannot wait in line; write queue.add(() => work()) instead of queue.add(work())",
      );
      expect(() => q.add(() => 1, { priority: NaN })).toThrow(new RangeError("Expected priority to be a number other than NaN (Infinity and -Infinity work), got NaN (number)"));
      expect(() => q.add(() => 1, { priority: "1" as never })).toThrow(new TypeError('Expected priority to be a number, got "1" (string)'));
      expect(() => q.add(() => 1, { signal: {} as never })).toThrow(new TypeError("Expected signal to be an AbortSignal, got an object (Object)"));
      expect(() => q.add(() => 1, { timeout: 0 })).toThrow(RangeError);
      expect(() => q.add(() => 1, { name: 3 as never })).toThrow(new TypeError("Expected name to be a string, got 3 (number)"));
      expect(() => q.add(() => 1, { prio: 1 } as never)).toThrow('Unknown option "prio" of JobQueue.add() (known: priority, signal, name, id, timeout)');
      expect(() => q.addAll(null as never)).toThrow(new TypeError("Expected fns to be an iterable of functions, got null"));
      expect(() => q.addAll([() => 1, 2 as never])).toThrow(new TypeError("Expected fns[1] to be a function, got 2 (number)"));
      expect(q.statistics().added).toBe(0); // nothing half-added
      await expect(q.onSizeLessThan("3" as never)).rejects.toThrow(new TypeError('Expected limit to be a number, got "3" (string)'));
      await expect(q.onIdle({ sig: 1 } as never)).rejects.toThrow('Unknown option "sig"');
      expect(() => q.on("done" as never, () => {})).toThrow(
        'Expected event to be one of "add", "active", "completed", "error", "next", "empty", "idle", "pendingZero", "rateLimit", "rateLimitCleared", got "done" (string)',
      );
      expect(() => q.on("idle", 1 as never)).toThrow(new TypeError("Expected listener to be a function, got 1 (number)"));
      expect(() => q.sizeBy({ priority: NaN })).toThrow(RangeError);
      expect(() => q.setPriority(5 as never, 1)).toThrow(new TypeError("Expected job to be a job id (a string) or a JobFuture, got 5 (number)"));
      expect(() => q.add(() => 1).cancel(5 as never)).toThrow(new TypeError("Expected msg to be a string, got 5 (number)"));
    });
  });
});

describe("JobQueue: properties (fast-check)", () => {
  interface Plan {
    concurrency: number;
    jobs: { at: number; ms: number; priority: number; cancelAt: number | null; abortAt: number | null; fail: boolean }[];
    pauses: { at: number; ms: number }[];
    concurrencyChanges: { at: number; to: number }[];
    clears: number[];
    rate: { cap: number; interval: number; strict: boolean } | null;
  }
  const plan: fc.Arbitrary<Plan> = fc.record({
    concurrency: fc.integer({ min: 1, max: 4 }),
    jobs: fc.array(
      fc.record({
        at: fc.integer({ min: 0, max: 30 }),
        ms: fc.integer({ min: 0, max: 20 }),
        priority: fc.integer({ min: -1, max: 2 }),
        cancelAt: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 4 }),
        abortAt: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 5 }),
        fail: fc.boolean(),
      }),
      { minLength: 1, maxLength: 25 },
    ),
    pauses: fc.array(fc.record({ at: fc.integer({ min: 0, max: 50 }), ms: fc.integer({ min: 1, max: 15 }) }), { maxLength: 3 }),
    concurrencyChanges: fc.array(fc.record({ at: fc.integer({ min: 0, max: 50 }), to: fc.integer({ min: 1, max: 5 }) }), { maxLength: 3 }),
    clears: fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 2 }),
    rate: fc.option(fc.record({ cap: fc.integer({ min: 1, max: 3 }), interval: fc.integer({ min: 1, max: 15 }), strict: fc.boolean() }), { freq: 2 }),
  });

  it("the running count never exceeds concurrency, every future settles, FIFO holds within a priority, the counts add up", async () => {
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        await run(async () => {
          const rate = p.rate === null ? {} : { intervalCap: p.rate.cap, interval: p.rate.interval, strict: p.rate.strict };
          const q = new JobQueue({ concurrency: p.concurrency, ...rate });
          let running = 0;
          let violations = 0;
          const startOrder: number[] = [];
          const startTimes: number[] = [];
          const addOrder: number[] = [];
          const futures: JobFuture<unknown>[] = [];
          const index = (job: JobFuture<unknown>): number => Number(job.name.slice(1));
          q.on("active", (job) => {
            // a start never takes the running count above the limit in force
            if (q.pending > q.concurrency) violations++;
            startOrder.push(index(job));
            startTimes.push(getRunningLoop().time());
          });
          const adders = p.jobs.map((j, i) =>
            createTask(async () => {
              await sleep(j.at);
              const ac = new AbortController();
              const f = q.add(
                async () => {
                  running++;
                  if (running > q.pending) violations++; // (a job's code runs only while its task counts)
                  try {
                    await sleep(j.ms);
                    if (j.fail) throw new Error(`job ${i} failed`);
                    return i;
                  } finally {
                    running--;
                  }
                },
                { priority: j.priority, signal: ac.signal, name: `j${i}` },
              );
              f.then(
                () => {},
                () => {},
              );
              futures[i] = f;
              addOrder.push(i);
              if (j.cancelAt !== null) getRunningLoop().callLater(j.cancelAt, () => f.cancel());
              if (j.abortAt !== null) getRunningLoop().callLater(j.abortAt, () => ac.abort(new Error("aborted")));
            }),
          );
          const controls = [
            ...p.pauses.map((x) =>
              createTask(async () => {
                await sleep(x.at);
                q.pause();
                await sleep(x.ms);
                q.start();
              }),
            ),
            ...p.concurrencyChanges.map((x) =>
              createTask(async () => {
                await sleep(x.at);
                q.concurrency = x.to;
              }),
            ),
            ...p.clears.map((at) =>
              createTask(async () => {
                await sleep(at);
                q.clear();
              }),
            ),
          ];
          await gather(...adders, ...controls);
          q.start();
          await q.onIdle();
          expect(violations).toBe(0);
          expect(futures.every((f) => f.done())).toBe(true);
          const s = q.statistics();
          expect(s.added).toBe(p.jobs.length);
          expect(s.size + s.pending + s.succeeded + s.failed + s.cancelled).toBe(s.added);
          expect(s.started).toBe(startOrder.length);
          // the rate limit: a sliding window never holds more than cap starts; fixed windows at most
          // twice that (a full window on each side of a boundary)
          if (p.rate !== null) {
            const most = p.rate.strict ? p.rate.cap : 2 * p.rate.cap;
            for (let k = most; k < startTimes.length; k++) {
              if (startTimes[k]! - startTimes[k - most]! < p.rate.interval) violations++;
            }
            expect(violations).toBe(0);
          }
          // FIFO within a priority: of two jobs of one priority that both started, the one added first
          // started first (a job added later can only overtake one that was not waiting yet)
          const added = new Map(addOrder.map((i, k) => [i, k]));
          const started = new Map(startOrder.map((i, k) => [i, k]));
          for (const [i, si] of started) {
            for (const [k, sk] of started) {
              if (p.jobs[i]!.priority === p.jobs[k]!.priority && added.get(i)! < added.get(k)! && si > sk) {
                throw new Error(`FIFO broken: job ${k} started before job ${i}, added before it with the same priority`);
              }
            }
          }
        }, vt);
      }),
      { numRuns: 150 },
    );
  });
});
