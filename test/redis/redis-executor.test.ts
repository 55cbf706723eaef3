/**
 * The Redis executor against a real redis-server (started by the harness on a free loopback port) and
 * real `aio worker` processes (the compiled dist: run `npm run build` first).
 * No test asserts timings: waits are bounded waits for events.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CancelledError,
  RuntimeError,
  TimeoutError,
  gather,
  getRunningLoop,
  run,
  sleep,
  taskGroup,
  waitFor,
} from "../../src/index.js";
import { moduleFunction } from "../../src/executors/executor.js";
import { RedisConnectionError, RedisExecutor, RedisJobError, UnknownFunctionError } from "../../src/redis/index.js";
import { encodeValue } from "../../src/redis/wire.js";
import { FAST_RECOVERY, RedisServer, TASKS, WorkerProcess, fns, readLog, redisUnavailable, until, waitExit } from "./harness.js";

const unavailable = redisUnavailable();

const { add, echo, fail, sleepy, whoAmI, oddFails, returnsFunction, blockFor } = fns;

function workerArgs(url: string, queue: string, ...extra: string[]): string[] {
  return ["--redis", url, "--queue", queue, "--module", TASKS, ...FAST_RECOVERY, ...extra];
}


describe.skipIf(unavailable !== null)("RedisExecutor", { timeout: 60_000 }, () => {
  const redis = new RedisServer();
  let worker: WorkerProcess;
  let logDir: string;
  let n = 0;
  const logFile = (): string => join(logDir, `log-${++n}.txt`);

  beforeAll(async () => {
    await redis.start();
    logDir = redis.dir;
    worker = await WorkerProcess.start(workerArgs(redis.url, "main", "--concurrency", "2", "--name", "w-main"));
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await redis.dispose();
  }, 60_000);

  const executor = (queue = "main", extra: Partial<ConstructorParameters<typeof RedisExecutor>[0]> = {}): RedisExecutor =>
    new RedisExecutor({ connection: redis.url, queue, ...extra });

  it("round-trips calls, structured-clone values, gather and map", async () => {
    await run(async () => {
      await using ex = executor();
      expect(await ex.submit(add, 1, 2)).toBe(3);
      const rich = { m: new Map([[1, new Set(["a"])]]), d: new Date(5), big: 10n ** 20n, u: undefined, bytes: new Uint8Array([1, 2]), nested: [[{ x: null }]] };
      expect(await ex.submit(echo, rich)).toEqual(rich);
      expect(await gather(...Array.from({ length: 20 }, (_, i) => ex.submit(add, i, i)))).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
      const out: unknown[] = [];
      for await (const y of ex.map(echo, [3, 1, 2])) out.push(y);
      expect(out).toEqual([3, 1, 2]);
      expect(await ex.submit(whoAmI)).toBe("w-main");
      expect(ex.statistics()).toMatchObject({ inflight: 0, completed: 26 });
    });
  });

  it("map with chunksize: chunksize items per job, results in order; a failing call fails its chunk, the iteration raises there", async () => {
    await run(async () => {
      await using ex = executor();
      const done0 = ex.statistics().completed;
      const out: unknown[] = [];
      for await (const y of ex.map(echo, Array.from({ length: 10 }, (_, i) => i), { chunksize: 4 })) out.push(y);
      expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(ex.statistics().completed - done0).toBe(3); // (three jobs: 4 + 4 + 2 items)
      const seen: number[] = [];
      const err = await (async () => {
        for await (const y of ex.map(oddFails, [0, 2, 4, 1, 6], { chunksize: 2 })) seen.push(y);
      })().then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(seen).toEqual([0, 20]); // (the first chunk; the second failed at its second call)
      expect(err).toBeInstanceOf(RangeError);
      expect(err!.message).toBe("odd 1");
      // the same with one item per job, for comparison: 0, 20, 40, then the failure
      const one: number[] = [];
      await expect(
        (async () => {
          for await (const y of ex.map(oddFails, [0, 2, 4, 1, 6])) one.push(y);
        })(),
      ).rejects.toThrow("odd 1");
      expect(one).toEqual([0, 20, 40]);
    });
  });

  it("leaving a chunked map early cancels the chunks not reached, running or waiting", async () => {
    await run(async () => {
      await using ex = executor();
      const c0 = ex.statistics().cancelled;
      const got: string[] = [];
      // chunk 1: two short sleeps; chunks 2 and 3: sleeps of 30 s (the worker runs two jobs at a time)
      for await (const y of ex.map(sleepy, [10, 10, 30_000, 30_000, 30_000], { chunksize: 2 })) {
        got.push(y);
        if (got.length === 2) break;
      }
      expect(got).toEqual(["slept 10", "slept 10"]);
      await until(() => ex.statistics().inflight === 0, 10_000, "the cancelled chunks' reports");
      expect(ex.statistics().cancelled - c0).toBe(2);
    });
  });

  it("map's chunksize is checked", async () => {
    await run(async () => {
      await using ex = executor();
      expect(() => ex.map(echo, [1], { chunksize: 0 })).toThrow(new RangeError("Expected chunksize to be a positive integer, got 0 (number)"));
      expect(() => ex.map(echo, [1], { chunksize: 1.5 })).toThrow(/Expected chunksize to be a positive integer, got 1.5/);
      expect(() => ex.map(echo, [1], { chunk: 2 } as never)).toThrow('Unknown option "chunk" of map() (known: chunksize)');
    });
  });

  it("works through loop.runInExecutor and without a running loop", async () => {
    const ex = executor();
    expect(await ex.submit(add, 2, 3)).toBe(5); // no loop is running here
    await run(async () => {
      expect(await getRunningLoop().runInExecutor(ex, add, 1, 1)).toBe(2);
    });
    await ex.shutdown();
  });

  it("brings errors back with class name, message, stack, cause and data", async () => {
    await run(async () => {
      await using ex = executor();
      const err = (await ex.submit(fail, "bad input").then(
        () => null,
        (e: unknown) => e,
      )) as Error & { code?: string; cause?: Error };
      expect(err).toBeInstanceOf(Error);
      expect(err.constructor.name).toBe("ValidationError");
      expect(err.name).toBe("ValidationError");
      expect(err.message).toBe("bad input");
      expect(err.code).toBe("E_INVALID");
      expect(err.stack).toContain("tasks.mjs");
      expect(err.cause).toBeInstanceOf(RangeError);
      expect(err.cause!.message).toBe("inner cause");
      // a result that cannot cross
      await expect(ex.submit(returnsFunction)).rejects.toThrow(/Cannot send the result of tasks.returnsFunction through Redis/);
    });
  });

  it("rejects what cannot be sent, at submit", async () => {
    await run(async () => {
      await using ex = executor();
      expect(() => ex.submit((x: number) => x + 1, 1)).toThrow(/moduleFunction\(\) reference.*never code sent through Redis/);
      expect(() => ex.submit(echo, () => 1)).toThrow(TypeError);
      expect(() => ex.submit(echo, () => 1)).toThrow(/Cannot send the arguments of tasks.echo through Redis: .*could not be cloned/);
      expect(() => ex.submit(echo, Symbol("s"))).toThrow(TypeError);
      expect(() => ex.submitWith({ timeout: -1 }, echo, 1)).toThrow("Expected options.timeout to be a positive number of milliseconds, got -1 (number)");
    });
    expect(() => new RedisExecutor({ connection: "http://x", queue: "q" })).toThrow(/redis:\/\/ or rediss:\/\/ URL/);
    expect(() => new RedisExecutor({ connection: redis.url, queue: "" })).toThrow(/options.queue/);
    expect(() => new RedisExecutor({ connection: redis.url, queue: "a:b" })).toThrow(/without ':'/);
  });

  it("runs only allowed functions: unknown names fail clearly and run nothing", async () => {
    await run(async () => {
      await using ex = executor();
      await expect(ex.submit(moduleFunction(TASKS, "notThere"))).rejects.toThrow(UnknownFunctionError);
      await expect(ex.submit(moduleFunction(TASKS, "notThere"))).rejects.toThrow(/module tasks has no exported function "notThere"/);
      await expect(ex.submit(moduleFunction("/elsewhere/evil.js", "run"))).rejects.toThrow(/not started with a module named "evil" \(it runs: tasks\)/);
      // exported classes and inherited names are not functions it runs
      for (const name of ["ValidationError", "constructor", "__proto__", "toString"]) {
        await expect(ex.submit(moduleFunction(TASKS, name))).rejects.toThrow(UnknownFunctionError);
      }
    });
    // Hand-made jobs: data only, and malformed data fails without running anything.
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue("main", { connection: conn });
    const conn2 = conn.duplicate();
    const events = new QueueEvents("main", { connection: conn2 });
    await events.waitUntilReady();
    try {
      const bad = [
        { code: "process.exit(1)" },
        { v: 1, m: "tasks", f: "add", a: 42 },
        { v: 3, m: "tasks", f: "add", a: encodeValue([1, 2], "args") },
        { v: 1, m: "tasks", f: "add", a: encodeValue("not a list", "args") },
        { v: 2, m: "tasks", f: "add", a: encodeValue([1, 2], "args") },
      ];
      const expected = [
        /unsupported job format version/,
        /no encoded arguments/,
        /unsupported job format version 3 \(number\) \(this worker reads 1 and 2\)/,
        /arguments are not a list/,
        /a chunk's arguments are not a list of argument lists/,
      ];
      for (let i = 0; i < bad.length; i++) {
        const job = await q.add("raw", bad[i]);
        await expect(job.waitUntilFinished(events, 20_000)).rejects.toThrow(expected[i]!);
      }
      // the worker is alive and well
      await run(async () => {
        await using ex = executor();
        expect(await ex.submit(add, 2, 2)).toBe(4);
      });
    } finally {
      await events.close();
      await q.close();
      conn.disconnect();
      conn2.disconnect();
    }
  }, 120_000); // (up to five jobs, each waited for up to 20 s: a worker slowed by a loaded machine)

  it("times out a task (per task and per executor) and aborts it on the worker", async () => {
    const log = logFile();
    await run(async () => {
      await using ex = executor();
      await expect(ex.submitWith({ timeout: 200 }, sleepy, 30_000, log, "t1")).rejects.toThrow(TimeoutError);
      await using ex2 = executor("main", { timeout: 200 });
      await expect(ex2.submit(sleepy, 30_000, log, "t2")).rejects.toThrow(/timed out after 200 ms/);
      expect(await ex2.submitWith({ timeout: 20_000 }, add, 1, 1)).toBe(2);
    });
    await until(() => readLog(log).filter((l) => l.startsWith("aborted")).length === 2, 10_000, "the aborts on the worker");
    expect(readLog(log).filter((l) => l.startsWith("aborted"))).toEqual(["aborted t1 TimeoutError", "aborted t2 TimeoutError"]);
  });

  it("cancels: a waiting job is removed and never runs; a running one is signalled", async () => {
    const log = logFile();
    await run(async () => {
      await using ex = executor();
      // occupy both slots of the worker, then queue one more
      const r1 = ex.submit(sleepy, 30_000, log, "r1");
      const r2 = ex.submit(sleepy, 30_000, log, "r2");
      await until(() => readLog(log).length === 2, 10_000, "two running jobs");
      const waiting = ex.submit(sleepy, 10, log, "w");
      await sleep(100);
      expect(waiting.cancel()).toBe(true);
      await expect(waiting).rejects.toThrow(CancelledError);
      // cancelled before it was even sent: never reaches Redis
      const unsent = ex.submit(sleepy, 10, log, "unsent");
      unsent.cancel();
      expect(unsent.cancelled()).toBe(true);
      // running: cancelling the future aborts the task on its worker
      r1.cancel();
      r2.cancel();
      await until(() => ex.statistics().inflight === 0, 10_000, "the worker's reports");
      expect(ex.statistics().cancelled).toBe(4);
    });
    const lines = readLog(log);
    expect(lines.some((l) => l.includes("unsent"))).toBe(false);
    expect(lines.filter((l) => l.startsWith("aborted")).sort()).toEqual(["aborted r1 CancelledError", "aborted r2 CancelledError"]);
    expect(lines.some((l) => l.includes(" w "))).toBe(false);
  });

  it("cancels through waitFor and task groups", async () => {
    const log = logFile();
    await run(async () => {
      await using ex = executor();
      await expect(waitFor(ex.submit(sleepy, 30_000, log, "wf"), 300)).rejects.toThrow(TimeoutError);
      const group = (await taskGroup(async (tg) => {
        tg.createTask(() => ex.submit(sleepy, 30_000, log, "tg"));
        tg.createTask(async () => {
          await ex.submit(fail, "sibling failed");
        });
      }).then(
        () => null,
        (e: unknown) => e,
      )) as AggregateError;
      expect(group.errors.map((e: Error) => e.message)).toEqual(["sibling failed"]);
      await until(() => ex.statistics().inflight === 0, 10_000, "the worker's reports");
    });
    await until(() => readLog(log).filter((l) => l.startsWith("aborted")).length === 2, 10_000, "the aborts");
  });

  it("holds a virtual clock while jobs run", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        await using ex = executor();
        let finishedAt = -1;
        const timer = sleep(60_000).then(() => loop.time());
        const job = ex.submit(sleepy, 200).then(() => {
          finishedAt = loop.time();
        });
        await job;
        expect(finishedAt).toBeGreaterThanOrEqual(0);
        expect(finishedAt).toBeLessThan(60_000); // the clock did not jump over the job
        expect(await timer).toBe(60_000);
      },
      { virtualTime: true },
    );
  });

  it("shutdown: waits, cancels waiting jobs (cancelFutures), cancels running ones after timeout", async () => {
    const log = logFile();
    await run(async () => {
      const ex = executor();
      const running = [ex.submit(sleepy, 1000, log, "s1"), ex.submit(sleepy, 1000, log, "s2")];
      await until(() => readLog(log).length === 2, 10_000, "two running jobs");
      const waiting = ex.submit(sleepy, 10, log, "s3");
      await sleep(100);
      await ex.shutdown({ cancelFutures: true });
      expect(waiting.cancelled()).toBe(true);
      expect(await gather(...running)).toEqual(["slept 1000", "slept 1000"]);
      expect(() => ex.submit(add, 1, 1)).toThrow(RuntimeError);

      const ex2 = executor();
      const long = ex2.submit(sleepy, 30_000, log, "s4");
      await until(() => readLog(log).some((l) => l.startsWith("start s4")), 10_000, "s4 running");
      await ex2.shutdown({ timeout: 200 });
      expect(long.cancelled()).toBe(true);
    });
    await until(() => readLog(log).some((l) => l === "aborted s4 CancelledError"), 10_000, "s4 aborted on its worker");
    expect(readLog(log).some((l) => l.startsWith("start s3"))).toBe(false);
  });

  it("delays longer than a Node timer holds: shutdown({ timeout }) and connectionLossTimeout are whole", async () => {
    // (both used Node's timer directly: a delay above 2**31-1 ms fired after 1 ms)
    const log = logFile();
    await run(async () => {
      const ex = executor("main", { connectionLossTimeout: 2 ** 31 });
      expect(await ex.submit(add, 1, 2)).toBe(3);
      const job = ex.submit(sleepy, 300, log, "long-shutdown");
      await until(() => readLog(log).some((l) => l.startsWith("start long-shutdown")), 10_000, "the job running");
      await ex.shutdown({ timeout: 3e9 });
      expect(job.cancelled()).toBe(false);
      expect(await job).toBe("slept 300");
    });
  });

  it("runs jobs on a worker's thread pool (--threads): blocking tasks time out and cancel", async () => {
    const w = await WorkerProcess.start(workerArgs(redis.url, "threads", "--threads", "2", "--name", "tw"));
    try {
      await run(async () => {
        await using ex = executor("threads");
        expect(await ex.submit(whoAmI)).toMatch(/^tw_\d+$/);
        expect(await gather(ex.submit(blockFor, 50), ex.submit(add, 1, 2))).toEqual(["blocked 50", 3]);
        await expect(ex.submitWith({ timeout: 200 }, blockFor, 60_000)).rejects.toThrow(TimeoutError);
        const blocked = ex.submit(blockFor, 60_000);
        await sleep(300);
        blocked.cancel();
        await until(() => ex.statistics().inflight === 0, 10_000, "the cancelled job's report");
        await expect(ex.submit(fail, "from a thread")).rejects.toThrow("from a thread");
        expect(await ex.submit(blockFor, 1)).toBe("blocked 1");
        // map's chunks on the threads: the calls of a chunk one after the other, a failure ends its chunk
        const out: number[] = [];
        for await (const y of ex.map(oddFails, [0, 2, 4, 6], { chunksize: 3 })) out.push(y);
        expect(out).toEqual([0, 20, 40, 60]);
        await expect(
          (async () => {
            for await (const _ of ex.map(oddFails, [0, 3], { chunksize: 2 }));
          })(),
        ).rejects.toThrow("odd 3");
        // a chunk's timeout is the job's: the call running on a thread when it expires is cancelled
        const slowEx = new RedisExecutor({ connection: redis.url, queue: "threads", timeout: 300 });
        try {
          await expect(
            (async () => {
              for await (const _ of slowEx.map(blockFor, [10, 60_000], { chunksize: 2 }));
            })(),
          ).rejects.toThrow(TimeoutError);
        } finally {
          await slowEx.shutdown();
        }
        expect(await ex.submit(blockFor, 1)).toBe("blocked 1"); // (a thread is free again)
      });
    } finally {
      await w.stop();
    }
  });

  it("recovers the job of a worker killed with SIGKILL; the caller sees it complete once", async () => {
    const log = logFile();
    const w1 = await WorkerProcess.start(workerArgs(redis.url, "kill"));
    let w2: WorkerProcess | null = null;
    try {
      await run(async () => {
        await using ex = executor("kill");
        let settled = 0;
        const fut = ex.submit(sleepy, 1500, log, "k");
        fut.addDoneCallback(() => settled++);
        await until(() => readLog(log).some((l) => l === `start k ${w1.pid}`), 10_000, "the job on the first worker");
        w1.proc.kill("SIGKILL");
        await waitExit(w1.proc);
        w2 = await WorkerProcess.start(workerArgs(redis.url, "kill"));
        expect(await fut).toBe("slept 1500");
        await sleep(200);
        expect(settled).toBe(1);
        const lines = readLog(log);
        expect(lines.filter((l) => l.startsWith("start k"))).toEqual([`start k ${w1.pid}`, `start k ${w2.pid}`]);
        expect(lines.filter((l) => l.startsWith("done k"))).toEqual([`done k ${w2.pid}`]);
      });
    } finally {
      await (w2 as WorkerProcess | null)?.stop();
      await w1.stop();
    }
  });

  it("accepts ACL users and reports authentication failures", async () => {
    redis.cli("ACL", "SETUSER", "tasker", "on", ">s3cret", "~*", "&*", "+@all");
    const authUrl = `redis://tasker:s3cret@127.0.0.1:${redis.port}`;
    const w = await WorkerProcess.start(["--queue", "acl", "--module", TASKS], { AIO_REDIS_URL: authUrl });
    try {
      expect(w.output).not.toContain("s3cret");
      await run(async () => {
        await using ex = new RedisExecutor({ connection: authUrl, queue: "acl" });
        expect(await ex.submit(add, 20, 22)).toBe(42);
      });
      await run(async () => {
        const ex = new RedisExecutor({ connection: `redis://tasker:wrong@127.0.0.1:${redis.port}`, queue: "acl" });
        await expect(ex.submit(add, 1, 1)).rejects.toThrow(RedisConnectionError);
        await expect(ex.submit(add, 1, 1)).rejects.toThrow(/WRONGPASS/);
        await ex.shutdown();
      });
      const bad = new WorkerProcess(["--redis", `redis://tasker:wrong@127.0.0.1:${redis.port}`, "--queue", "acl", "--module", TASKS]);
      expect(await waitExit(bad.proc)).toBe(1);
      expect(bad.output).toMatch(/WRONGPASS/);
      expect(bad.output).not.toContain("wrong@");
    } finally {
      await w.stop();
    }
  });

  it("aio worker: clear errors for bad input", async () => {
    const cases: Array<[string[], RegExp, number]> = [
      [["--queue", "q", "--module", TASKS], /--redis <url> \(or AIO_REDIS_URL\) is required/, 2],
      [["--redis", redis.url, "--module", TASKS], /--queue <name> is required/, 2],
      [["--redis", redis.url, "--queue", "q"], /at least one --module/, 2],
      [["--redis", redis.url, "--queue", "q", "--module", TASKS, "--concurrency", "x"], /--concurrency needs a non-negative integer/, 2],
      [["--redis", redis.url, "--queue", "q", "--module", "/nonexistent/mod.js"], /Cannot load the module \/nonexistent\/mod.js/, 1],
      [["--redis", "http://x", "--queue", "q", "--module", TASKS], /redis:\/\/ or rediss:\/\/ URL/, 1],
      [["--redis", redis.url, "--queue", "q", "--module", TASKS, "--bogus", "1"], /unknown option --bogus/, 2],
    ];
    await Promise.all(
      cases.map(async ([args, re, code]) => {
        const w = new WorkerProcess(args, { AIO_REDIS_URL: "" });
        expect(await waitExit(w.proc)).toBe(code);
        expect(w.output).toMatch(re);
      }),
    );
  });
});

describe.skipIf(unavailable !== null)("RedisExecutor across Redis restarts", { timeout: 60_000 }, () => {
  it("keeps going when a persistent Redis restarts during a run", async () => {
    const redis = new RedisServer({ persist: true });
    await redis.start();
    const log = join(redis.dir, "log.txt");
    const w = await WorkerProcess.start(workerArgs(redis.url, "restart", "--concurrency", "2"));
    try {
      await run(async () => {
        await using ex = new RedisExecutor({ connection: redis.url, queue: "restart" });
        const futs = [ex.submit(sleepy, 1500, log, "a"), ex.submit(sleepy, 1500, log, "b"), ex.submit(add, 1, 2)];
        await until(() => readLog(log).length >= 2, 10_000, "jobs running");
        await redis.stop();
        await redis.start();
        expect(await gather(...futs)).toEqual(["slept 1500", "slept 1500", 3]);
        expect(await ex.submit(add, 2, 3)).toBe(5);
      });
    } finally {
      await w.stop();
      await redis.dispose();
    }
  });

  it("aio worker stops on SIGTERM even while Redis is down", async () => {
    const redis = new RedisServer();
    await redis.start();
    const w = await WorkerProcess.start(workerArgs(redis.url, "down"));
    try {
      await redis.stop();
      await until(() => w.output.includes("lost the connection"), 10_000, "the worker to notice");
      expect(await w.stop("SIGTERM")).toBe(0);
    } finally {
      await w.stop("SIGKILL");
      await redis.dispose();
    }
  });

  it("fails the futures of jobs lost by a Redis restart without persistence, and on a long outage", async () => {
    const redis = new RedisServer();
    await redis.start();
    try {
      await run(async () => {
        // no worker: the jobs wait in Redis, then vanish with it
        await using ex = new RedisExecutor({ connection: redis.url, queue: "lost" });
        const fut = ex.submit(add, 1, 2);
        await until(() => redis.cli("LLEN", "bull:lost:wait") === "1", 5000, "the job waiting in Redis");
        await redis.stop();
        await redis.start();
        await expect(fut).rejects.toThrow(RedisJobError);
        await expect(fut).rejects.toThrow(/vanished from Redis/);
      });
      await run(async () => {
        await using ex = new RedisExecutor({ connection: redis.url, queue: "lost", connectionLossTimeout: 500 });
        expect(ex.statistics().inflight).toBe(0);
        const fut = ex.submit(sleepy, 10);
        await sleep(200);
        await redis.stop();
        await expect(fut).rejects.toThrow(RedisConnectionError);
        await ex.shutdown({ wait: false });
      });
    } finally {
      await redis.dispose();
    }
  });
});

describe.skipIf(unavailable !== null)("RedisExecutor over TLS", { timeout: 60_000 }, () => {
  it("works with rediss:// and a private CA, and refuses an unverified server", async () => {
    const redis = new RedisServer({ tls: true });
    await redis.start();
    const w = await WorkerProcess.start(["--redis", redis.url, "--tls-ca", redis.caFile, "--queue", "tls", "--module", TASKS]);
    try {
      await run(async () => {
        await using ex = new RedisExecutor({ connection: { url: redis.url, tls: { ca: readFileSync(redis.caFile) } }, queue: "tls" });
        expect(await ex.submit(add, 2, 40)).toBe(42);
      });
      await run(async () => {
        // without the CA the self-signed certificate is rejected: no connection, the future fails
        const ex = new RedisExecutor({ connection: redis.url, queue: "tls" });
        await expect(ex.submit(add, 1, 1)).rejects.toThrow(RedisConnectionError);
        await expect(ex.submit(add, 1, 1)).rejects.toThrow(/refused the connection: .*certificate/);
        await ex.shutdown();
      });
    } finally {
      await w.stop();
      await redis.dispose();
    }
  });
});

describe.skipIf(unavailable !== null)("RedisExecutor faults (each guarantee of docs/redis-executor.md)", { timeout: 60_000 }, () => {
  it("redis-server killed with SIGKILL and restarted with its append-only file: every job completes once", async () => {
    const redis = new RedisServer({ persist: true });
    await redis.start();
    const log = join(redis.dir, "log.txt");
    const w = await WorkerProcess.start(workerArgs(redis.url, "aof", "--concurrency", "2"));
    try {
      await run(async () => {
        await using ex = new RedisExecutor({ connection: redis.url, queue: "aof" });
        let settled = 0;
        const futs = [ex.submit(sleepy, 1000, log, "a"), ex.submit(sleepy, 1000, log, "b"), ex.submit(add, 2, 2)];
        for (const f of futs) f.addDoneCallback(() => settled++);
        await until(() => readLog(log).length >= 2, 10_000, "jobs running");
        await redis.stop("SIGKILL");
        await redis.start();
        expect(await gather(...futs)).toEqual(["slept 1000", "slept 1000", 4]);
        await sleep(300);
        expect(settled).toBe(3);
      });
    } finally {
      await w.stop();
      await redis.dispose();
    }
  });

  it("redis-server killed with SIGKILL without persistence: the futures of the lost jobs fail, naming the job", async () => {
    const redis = new RedisServer();
    await redis.start();
    try {
      await run(async () => {
        await using ex = new RedisExecutor({ connection: redis.url, queue: "gone" });
        const fut = ex.submit(add, 1, 2); // no worker: it waits in Redis, and is lost with it
        await until(() => redis.cli("LLEN", "bull:gone:wait") === "1", 5000, "the job waiting in Redis");
        await redis.stop("SIGKILL");
        await redis.start();
        await expect(fut).rejects.toThrow(RedisJobError);
        await expect(fut).rejects.toThrow(/vanished from Redis/);
      });
    } finally {
      await redis.dispose();
    }
  });

  it("a stalled redis-server (SIGSTOP, then SIGCONT): the jobs wait and complete, none is lost or doubled", async () => {
    const redis = new RedisServer();
    await redis.start();
    const w = await WorkerProcess.start(workerArgs(redis.url, "stall"));
    try {
      await run(async () => {
        await using ex = new RedisExecutor({ connection: redis.url, queue: "stall" });
        let settled = 0;
        const first = ex.submit(add, 1, 1);
        expect(await first).toBe(2);
        redis.proc!.kill("SIGSTOP");
        const futs = [ex.submit(add, 2, 2), ex.submit(echo, "x")];
        for (const f of futs) f.addDoneCallback(() => settled++);
        await sleep(1500);
        expect(futs.every((f) => !f.done())).toBe(true);
        redis.proc!.kill("SIGCONT");
        expect(await gather(...futs)).toEqual([4, "x"]);
        await sleep(200);
        expect(settled).toBe(2);
      });
    } finally {
      redis.proc?.kill("SIGCONT");
      await w.stop();
      await redis.dispose();
    }
  });

  it("a job Redis refuses (too large) fails alone, with an error naming it; its batch goes through", async () => {
    const redis = new RedisServer({ args: ["--proto-max-bulk-len", "1mb"] });
    await redis.start();
    const w = await WorkerProcess.start(workerArgs(redis.url, "poison"));
    try {
      await run(async () => {
        await using ex = new RedisExecutor({ connection: redis.url, queue: "poison" });
        // one macrotask: one batch (addBulk)
        const a = ex.submit(add, 1, 2);
        const big = ex.submit(echo, "x".repeat(2 * 1024 * 1024));
        const b = ex.submit(add, 3, 4);
        const [ra, rbig, rb] = await gather(a, big, b, { returnExceptions: true });
        expect(ra).toBe(3);
        expect(rb).toBe(7);
        expect(rbig).toBeInstanceOf(RedisJobError);
        expect((rbig as Error).message).toMatch(/^Job \S+ \(tasks\.echo\) could not be added to the queue: /);
      });
    } finally {
      await w.stop();
      await redis.dispose();
    }
  });

  it("duplicated delivery (a stopped worker's job recovered by another, then the first resumes): one outcome", async () => {
    const redis = new RedisServer();
    await redis.start();
    const log = join(redis.dir, "log.txt");
    const w1 = await WorkerProcess.start(workerArgs(redis.url, "dup"));
    let w2: WorkerProcess | null = null;
    try {
      await run(async () => {
        await using ex = new RedisExecutor({ connection: redis.url, queue: "dup" });
        let settled = 0;
        const fut = ex.submit(sleepy, 1500, log, "d");
        fut.addDoneCallback(() => settled++);
        await until(() => readLog(log).some((l) => l === `start d ${w1.pid}`), 10_000, "the job on the first worker");
        w1.proc.kill("SIGSTOP");
        w2 = await WorkerProcess.start(workerArgs(redis.url, "dup"));
        await until(() => readLog(log).some((l) => l === `start d ${w2!.pid}`), 20_000, "the job recovered by the second worker");
        w1.proc.kill("SIGCONT");
        expect(await fut).toBe("slept 1500");
        await sleep(2000); // both workers have finished by now
        expect(settled).toBe(1);
        expect(fut.result()).toBe("slept 1500");
      });
    } finally {
      w1.proc.kill("SIGCONT");
      await (w2 as WorkerProcess | null)?.stop();
      await w1.stop();
      await redis.dispose();
    }
  });

  it("a job whose arguments cannot be decoded fails with a RedisJobError naming it", async () => {
    const redis = new RedisServer();
    await redis.start();
    const w = await WorkerProcess.start(workerArgs(redis.url, "garbage"));
    try {
      const c1 = new Redis(redis.url, { maxRetriesPerRequest: null });
      const c2 = new Redis(redis.url, { maxRetriesPerRequest: null });
      const q = new Queue("garbage", { connection: c1 });
      const events = new QueueEvents("garbage", { connection: c2 });
      await events.waitUntilReady();
      const job = await q.add("tasks.add", { v: 1, m: "tasks", f: "add", a: "bm90IHNlcmlhbGl6ZWQ=" });
      const reason = await new Promise<string>((resolve) => {
        events.on("failed", ({ jobId, failedReason }) => {
          if (jobId === job.id) resolve(failedReason);
        });
      });
      expect(reason).toMatch(/^RedisJobError: Malformed job \S+ \(tasks\.add\) on queue garbage: its arguments cannot be decoded/);
      await events.close();
      await q.close();
      c1.disconnect();
      c2.disconnect();
    } finally {
      await w.stop();
      await redis.dispose();
    }
  });
});
