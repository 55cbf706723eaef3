/**
 * The Redis executor on a Redis Cluster: 3 masters (no replicas) started on loopback by the test
 * (`cluster-harness.ts`), real `aio worker` processes from the build (run `npm run build` first), and
 * executors connected through `{ cluster: [...] }` and through an ioredis `Cluster` instance.
 * No test asserts timings: waits are bounded waits for events.
 */
import { join } from "node:path";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, RuntimeError, gather, run, sleep } from "../../src/index.js";
import { RedisConnectionError, RedisExecutor, RedisRateLimiter, RedisWorker } from "../../src/redis/index.js";
import { RedisCluster, clusterUnavailable } from "./cluster-harness.js";
import { FAST_RECOVERY, TASKS, WorkerProcess, fns, readLog, until, waitExit } from "./harness.js";

const unavailable = clusterUnavailable();

const { add, echo, fail, sleepy, whoAmI } = fns;

/** Every key of the queue `main` carries this hash tag: the queue lives in one slot, on one master. */
const PREFIX = "{aio-test}";
/** No inherited connection settings in the workers' environment. */
const NO_ENV = { AIO_REDIS_URL: "", AIO_REDIS_CLUSTER: "" };


describe.skipIf(unavailable !== null)("RedisExecutor on a Redis Cluster of 3 masters", { timeout: 30_000 }, () => {
  // (a master unreachable for 2 s is marked failed: the last test loses one)
  const cluster = new RedisCluster(3, 2000);
  const workers: WorkerProcess[] = [];
  let n = 0;
  const logFile = (): string => join(cluster.dir, `log-${++n}.txt`);

  beforeAll(async () => {
    await cluster.start();
    // The workers know two of the three masters (the third is discovered); the executors another one.
    const nodes = cluster.urls.slice(0, 2).join(",");
    const started = await Promise.all(
      ["w1", "w2"].map((name) =>
        WorkerProcess.start(
          ["--cluster", nodes, "--prefix", PREFIX, "--queue", "main", "--module", TASKS, "--concurrency", "2", "--name", name, ...FAST_RECOVERY],
          NO_ENV,
        ),
      ),
    );
    workers.push(...started);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop("SIGKILL")));
    await cluster.dispose();
  }, 60_000);

  const executor = (extra: Partial<ConstructorParameters<typeof RedisExecutor>[0]> = {}): RedisExecutor =>
    new RedisExecutor({ connection: { cluster: [cluster.urls[2]!] }, prefix: PREFIX, queue: "main", ...extra });

  it("runs jobs on both workers with correct results; the queue's keys live on one master", async () => {
    const log = logFile();
    await run(async () => {
      await using ex = executor();
      const N = 200;
      expect(await gather(...Array.from({ length: N }, (_, i) => ex.submit(add, i, 1000)))).toEqual(Array.from({ length: N }, (_, i) => i + 1000));
      const rich = { m: new Map([[1, new Set(["a"])]]), d: new Date(5), big: 10n ** 20n, u: undefined, nested: [[{ x: null }]] };
      expect(await ex.submit(echo, rich)).toEqual(rich);
      // four slow jobs at once: each worker runs two at a time, so both workers run them
      expect(await gather(...["a", "b", "c", "d"].map((l) => ex.submit(sleepy, 300, log, l)))).toEqual(Array(4).fill("slept 300"));
      const pids = new Set(readLog(log).filter((l) => l.startsWith("start")).map((l) => l.split(" ")[2]));
      expect(pids).toEqual(new Set(workers.map((w) => String(w.pid))));
      expect(["w1", "w2"]).toContain(await ex.submit(whoAmI));
      expect(ex.statistics()).toEqual({ inflight: 0, completed: N + 6, failed: 0, cancelled: 0 });
    });
    // One queue is one slot: its keys are on the master that serves the tag, none on the others.
    const home = await cluster.masterOf(PREFIX);
    expect(Number(await cluster.cli(home, "EXISTS", `${PREFIX}:main:events`))).toBe(1);
    for (const p of cluster.ports.filter((q) => q !== home)) expect(await cluster.cli(p, "DBSIZE")).toBe("0");
  });

  it("brings a failing job's error back", async () => {
    await run(async () => {
      await using ex = executor();
      const err = (await ex.submit(fail, "bad input").then(
        () => null,
        (e: unknown) => e,
      )) as Error & { code?: string; cause?: Error };
      expect(err.constructor.name).toBe("ValidationError");
      expect(err.message).toBe("bad input");
      expect(err.code).toBe("E_INVALID");
      expect(err.cause).toBeInstanceOf(RangeError);
      expect(ex.statistics()).toMatchObject({ inflight: 0, failed: 1 });
    });
  });

  it("cancels: a waiting job is removed and never runs; running jobs are aborted on their workers", async () => {
    const log = logFile();
    await run(async () => {
      await using ex = executor();
      // fill the four slots of the two workers, then queue one more
      const running = ["r1", "r2", "r3", "r4"].map((l) => ex.submit(sleepy, 30_000, log, l));
      await until(() => readLog(log).length === 4, 10_000, "four running jobs");
      const waiting = ex.submit(sleepy, 10, log, "w");
      await sleep(100);
      expect(waiting.cancel()).toBe(true);
      await expect(waiting).rejects.toThrow(CancelledError);
      // running: the cancel message (pub/sub, published on any node) reaches the workers
      for (const f of running) f.cancel();
      await until(() => ex.statistics().inflight === 0, 10_000, "the workers' reports");
      expect(ex.statistics().cancelled).toBe(5);
    });
    const lines = readLog(log);
    expect(lines.filter((l) => l.startsWith("aborted")).sort()).toEqual(["r1", "r2", "r3", "r4"].map((l) => `aborted ${l} CancelledError`));
    expect(lines.some((l) => l.startsWith("start w "))).toBe(false);
  });

  it("shuts down cleanly: waits for its jobs, then refuses new ones; nothing is left in the queue", async () => {
    await run(async () => {
      const ex = executor();
      const futs = [ex.submit(sleepy, 300), ex.submit(add, 2, 2), ex.submit(sleepy, 200)];
      await ex.shutdown();
      expect(futs.every((f) => f.done())).toBe(true);
      expect(await gather(...futs)).toEqual(["slept 300", 4, "slept 200"]);
      expect(() => ex.submit(add, 1, 1)).toThrow(RuntimeError);
    });
    const home = await cluster.masterOf(PREFIX);
    for (const list of ["wait", "active", "paused"]) expect(await cluster.cli(home, "LLEN", `${PREFIX}:main:${list}`)).toBe("0");
  });

  it("queues with their own hash tags live on different masters; an ioredis Cluster instance works as the connection", async () => {
    // Two queue names whose tags hash to slots of different masters.
    const names: string[] = [];
    const homes = new Set<number>();
    for (let i = 0; names.length < 2; i++) {
      const home = await cluster.masterOf(`q${i}`);
      if (!homes.has(home)) {
        homes.add(home);
        names.push(`{q${i}}`);
      }
    }
    const mine = new Cluster(cluster.nodes.slice(1), { redisOptions: { maxRetriesPerRequest: 3 } });
    mine.on("error", () => {});
    const ws = await Promise.all(names.map((queue) => RedisWorker.start({ connection: mine, queue, modules: [TASKS], concurrency: 2, log: () => {} })));
    try {
      await run(async () => {
        await using exA = new RedisExecutor({ connection: mine, queue: names[0]! });
        await using exB = new RedisExecutor({ connection: { cluster: cluster.nodes.slice(0, 1) }, queue: names[1]! });
        const [a, b] = await gather(
          gather(...Array.from({ length: 50 }, (_, i) => exA.submit(add, i, 1))),
          gather(...Array.from({ length: 50 }, (_, i) => exB.submit(add, i, 2))),
        );
        expect(a).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(b).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
      });
      for (const [i, queue] of names.entries()) {
        expect(Number(await cluster.cli([...homes][i]!, "EXISTS", `bull:${queue}:events`))).toBe(1);
      }
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
    // the caller's own instance is left alone: still connected, and still usable
    expect(mine.status).toBe("ready");
    expect(await mine.exists(`bull:${names[0]}:events`)).toBe(1);
    mine.disconnect();
  });

  it("gives clear errors for bad cluster options", async () => {
    const bad = (o: unknown) => () => new RedisExecutor(o as ConstructorParameters<typeof RedisExecutor>[0]);
    const nodes = [cluster.urls[0]!];
    expect(bad({ connection: { cluster: nodes }, queue: "main" })).toThrow(
      'Expected options.prefix or options.queue to carry a hash tag on a Redis Cluster, got prefix "bull" and queue "main"',
    );
    expect(bad({ connection: { cluster: nodes }, queue: "main", prefix: "{}x" })).toThrow(TypeError); // an empty tag is no tag
    expect(bad({ connection: { cluster: [] }, queue: "{q}" })).toThrow("Expected options.connection.cluster to be a non-empty array");
    expect(bad({ connection: { cluster: "redis://127.0.0.1:1" }, queue: "{q}" })).toThrow(/options.connection.cluster to be a non-empty array .*got "redis/);
    expect(bad({ connection: { cluster: ["http://x:1"] }, queue: "{q}" })).toThrow(
      'Expected options.connection.cluster[0] to be a redis:// or rediss:// URL or { host, port }, got "http://x:1" (string)',
    );
    expect(bad({ connection: { cluster: [{ host: "h", port: 70000 }] }, queue: "{q}" })).toThrow(RangeError);
    expect(bad({ connection: { cluster: [{ host: "h", port: 70000 }] }, queue: "{q}" })).toThrow("Expected options.connection.cluster[0].port to be a port number (1 to 65535), got 70000");
    expect(bad({ connection: { cluster: [{ host: "", port: 1 }] }, queue: "{q}" })).toThrow("Expected options.connection.cluster[0].host to be a non-empty string");
    expect(bad({ connection: { cluster: ["redis://127.0.0.1:1/2"] }, queue: "{q}" })).toThrow(/a Redis Cluster has only database 0/);
    expect(bad({ connection: { cluster: ["redis://a:s3cret@h:1", "redis://a:other@h:2"] }, queue: "{q}" })).toThrow(
      "Expected the URLs of options.connection.cluster to carry the same user and password, got another one in redis://a:***@h:2",
    );
    expect(bad({ connection: { cluster: ["redis://h:1", "rediss://h:2"] }, queue: "{q}" })).toThrow(/all redis:\/\/ or all rediss:\/\//);
    expect(bad({ connection: { url: cluster.urls[0], cluster: nodes }, queue: "{q}" })).toThrow("not both");
    expect(bad({ connection: 42, queue: "{q}" })).toThrow(/\{ cluster: \[nodes\], \.\.\.options \} or an ioredis Redis or Cluster instance, got 42 \(number\)/);
    await expect(RedisWorker.start({ connection: { cluster: nodes }, queue: "main", modules: [TASKS] })).rejects.toThrow(
      /Expected options.prefix or options.queue to carry a hash tag/,
    );
    expect(() => new RedisRateLimiter({ connection: { cluster: [] }, key: "k", limit: 1, windowMs: 10 })).toThrow(/options.connection.cluster/);

    // A cluster node reached as one server is refused at once, by the executor and the worker.
    await run(async () => {
      const ex = new RedisExecutor({ connection: cluster.urls[0]!, queue: "main" });
      await expect(ex.submit(add, 1, 1)).rejects.toThrow(RedisConnectionError);
      await expect(ex.submit(add, 1, 1)).rejects.toThrow(`Redis at ${cluster.urls[0]} is a node of a Redis Cluster: connect with { cluster:`);
      await ex.shutdown();
    });

    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp, number]> = [
      [["--cluster", cluster.urls.join(","), "--queue", "main", "--module", TASKS], NO_ENV, /Expected --prefix or --queue to carry a hash tag on a Redis Cluster/, 2],
      [["--cluster", `${cluster.urls[0]},http://x`, "--prefix", PREFIX, "--queue", "main", "--module", TASKS], NO_ENV, /--cluster needs redis:\/\/.* got "http:\/\/x"/, 2],
      [["--cluster", ",", "--prefix", PREFIX, "--queue", "main", "--module", TASKS], NO_ENV, /--cluster needs at least one redis:\/\//, 2],
      [["--cluster", cluster.urls[0]!, "--redis", cluster.urls[0]!, "--queue", "{q}", "--module", TASKS], NO_ENV, /not both/, 2],
      [["--queue", "{q}", "--module", TASKS], { AIO_REDIS_URL: cluster.urls[0], AIO_REDIS_CLUSTER: cluster.urls[0] }, /AIO_REDIS_URL and AIO_REDIS_CLUSTER are both set/, 2],
      [["--redis", cluster.urls[0]!, "--queue", "main", "--module", TASKS], NO_ENV, /is a node of a Redis Cluster: connect with/, 1],
    ];
    await Promise.all(
      cases.map(async ([args, env, re, code]) => {
        const w = new WorkerProcess(args, env);
        expect(await waitExit(w.proc)).toBe(code);
        expect(w.output).toMatch(re);
      }),
    );
  });

  it("a worker takes its cluster from AIO_REDIS_CLUSTER", async () => {
    const w = await WorkerProcess.start(["--prefix", PREFIX, "--queue", "env", "--module", TASKS, "--name", "w-env"], {
      AIO_REDIS_URL: "",
      AIO_REDIS_CLUSTER: cluster.urls[1]!,
    });
    try {
      await run(async () => {
        await using ex = executor({ queue: "env" });
        expect(await ex.submit(whoAmI)).toBe("w-env");
      });
    } finally {
      expect(await w.stop()).toBe(0);
    }
  });

  it("RedisRateLimiter on a cluster: { cluster } and a Cluster instance share one limit; a waiter is woken across nodes", async () => {
    // (the limit's two keys share the hash tag {api}: its scripts run on one master; LEAVE's PUBLISH is
    // classic pub/sub, heard by a subscriber on any node)
    const c = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: null } });
    c.on("error", () => {});
    try {
      await run(async () => {
        await using a = new RedisRateLimiter({ connection: { cluster: cluster.urls }, key: "api", limit: 3, windowMs: 60_000 });
        await using b = new RedisRateLimiter({ connection: c, key: "api", limit: 3, windowMs: 60_000 });
        expect(await a.tryAcquire()).toBe(true);
        expect(await b.tryAcquire(2)).toBe(true);
        expect(await a.tryAcquire()).toBe(false); // (3 per minute, shared: the window is full)
        expect(await c.zcard("asyncio-ts:ratelimit:{api}:log")).toBe(2);
        await using w1 = new RedisRateLimiter({ connection: { cluster: cluster.urls }, key: "short", rate: 1, perMs: 300, burst: 1 });
        await using w2 = new RedisRateLimiter({ connection: c, key: "short", rate: 1, perMs: 300, burst: 1 });
        await w1.acquire();
        expect(await w2.tryAcquire()).toBe(false); // (the one token is w1's)
        await w2.acquire(); // (waits for the next token, on the real clock)
        expect([w1.statistics().granted, w2.statistics().granted]).toEqual([1, 1]);
      });
      expect(c.status).toBe("ready"); // (the caller's instance is duplicated, never closed by the limiter)
    } finally {
      c.disconnect();
    }
  });

  it("the workers stop on SIGTERM with exit code 0", async () => {
    const codes = await Promise.all(workers.map((w) => w.stop("SIGTERM")));
    expect(codes).toEqual([0, 0]);
  });

  // (last: the cluster stays down)
  it("a master lost without replica: a running job's future fails after connectionLossTimeout, new jobs fail, an idle worker still stops", async () => {
    const log = logFile();
    const args = (queue: string): string[] => ["--cluster", cluster.urls[0]!, "--prefix", PREFIX, "--queue", queue, "--module", TASKS, ...FAST_RECOVERY];
    const [busy, idle] = await Promise.all([WorkerProcess.start(args("down"), NO_ENV), WorkerProcess.start(args("idle"), NO_ENV)]);
    const home = await cluster.masterOf(PREFIX);
    // another master than the queue's: the queue's own keys stay reachable, but the cluster goes down
    const victim = cluster.ports.find((p) => p !== home)!;
    try {
      await run(async () => {
        const ex = executor({ queue: "down", connectionLossTimeout: 1000 });
        const fut = ex.submit(sleepy, 60_000, log, "d");
        await until(() => readLog(log).length === 1, 10_000, "the job running");
        await cluster.kill(victim);
        await until(async () => /cluster_state:fail/.test(await cluster.cli(home, "CLUSTER", "INFO")), 20_000, "the cluster to fail");
        await expect(fut).rejects.toThrow(RedisConnectionError);
        await expect(fut).rejects.toThrow(/^Lost the connection to the Redis Cluster at 127\.0\.0\.1:\d+ for more than 1000 ms/);
        // a new job fails too: Redis refuses it (CLUSTERDOWN), or the loss timer ends its wait first
        await expect(ex.submit(add, 1, 1)).rejects.toThrow(/could not be added to the queue: CLUSTERDOWN|^Lost the connection to the Redis Cluster/);
        expect(ex.statistics()).toMatchObject({ inflight: 0, failed: 2 });
        await ex.shutdown();
      });
      // BullMQ's own close would wait for the cluster forever: the worker gives it a grace, then goes
      expect(await idle.stop("SIGTERM")).toBe(0);
    } finally {
      await Promise.all([busy.stop("SIGKILL"), idle.stop("SIGKILL")]);
    }
  });
});
