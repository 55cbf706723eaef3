/**
 * RedisRateLimiter against a real redis-server (started by the harness on a free loopback port), with
 * several child processes sharing one limit (the compiled dist: run `npm run build` first). Grant times
 * are Redis's clock (`TIME` inside the script). No test asserts timings: waits are bounded waits.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, RuntimeError, TimeoutError, createTask, gather, getRunningLoop, run, sleep, timeout } from "../../src/index.js";
import { RedisRateLimiter, type RedisRateLimiterOptions } from "../../src/redis/index.js";
import { RedisServer, redisUnavailable, until } from "./harness.js";

const unavailable = redisUnavailable();
const CHILD = fileURLToPath(new URL("./fixtures/rate-limiter-child.mjs", import.meta.url));

type Limit = { rate: number; perMs: number; burst?: number } | { limit: number; windowMs: number };

/** The limit holds for a set of (time ms, weight) grants: checked for every pair of grants. */
function violations(opts: Limit, grants: Array<[number, number]>): string[] {
  const g = [...grants].sort((a, b) => a[0] - b[0]);
  const out: string[] = [];
  for (let j = 0; j < g.length; j++) {
    let sum = 0;
    for (let k = j; k < g.length; k++) {
      sum += g[k]![1];
      const span = g[k]![0] - g[j]![0];
      if ("rate" in opts) {
        // every grant rounds to whole µs on Redis's clock: allow one µs per grant boundary
        if (sum > (opts.burst ?? opts.rate) + ((span + 0.001) * opts.rate) / opts.perMs + 1e-9) out.push(`${sum} in ${span} ms from ${g[j]![0]}`);
      } else if (span < opts.windowMs && sum > opts.limit) out.push(`${sum} within ${span} ms from ${g[j]![0]}`);
    }
  }
  return out;
}

/** Child processes that acquire `weights[i]` from the shared limit, started together; resolves to their grants. */
async function children(args: { url: string; key: string; options: Limit; tasks: number[] }, weights: number[][]): Promise<Array<Array<[number, number]>>> {
  const procs = weights.map((w, i) => {
    const p = spawn(process.execPath, [CHILD, JSON.stringify({ ...args, weights: w, tasks: args.tasks[i] })], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const kill = setTimeout(() => p.kill("SIGKILL"), 60_000);
    const done = new Promise<Array<[number, number]>>((resolve, reject) => {
      p.on("close", (code) => {
        clearTimeout(kill);
        if (code !== 0) reject(new Error(`child exited with ${code}:\n${err}`));
        else resolve(JSON.parse(out.trim().split("\n").pop()!) as Array<[number, number]>);
      });
    });
    return { p, done, ready: () => out.startsWith("ready\n") };
  });
  try {
    // (a child that fails to load ends the wait at once, with its error)
    await Promise.race([until(() => procs.every((c) => c.ready()), 30_000, "the child processes to load"), ...procs.map((c) => c.done)]);
  } finally {
    for (const c of procs) c.p.stdin.end("go\n");
  }
  return Promise.all(procs.map((c) => c.done));
}

/** Cancel `task` right after `l` sends its next attempt: the cancellation comes while the attempt is in flight. */
function cancelWhenSent(l: RedisRateLimiter, task: () => { cancel(): unknown }): void {
  const internals = l as unknown as { _attempt: (...a: unknown[]) => Promise<unknown> };
  const attempt = internals._attempt.bind(l);
  internals._attempt = (...a) => {
    internals._attempt = attempt;
    const p = attempt(...a);
    task().cancel();
    return p;
  };
}

/** Wait until a waiter of `l` has been told to wait (it sleeps, and may head the shared line). */
async function toldToWait(l: RedisRateLimiter): Promise<void> {
  for (let i = 0; l.statistics().nextGrantAt === null; i++) {
    if (i > 2000) throw new Error("no waiter was told to wait within 10 s");
    await sleep(5);
  }
}

describe.skipIf(unavailable !== null)("RedisRateLimiter", { timeout: 60_000 }, () => {
  const redis = new RedisServer();
  let n = 0;
  const key = (): string => `test-${++n}`;
  const limiter = (options: Limit & { key?: string }): RedisRateLimiter =>
    new RedisRateLimiter({ connection: redis.url, key: options.key ?? key(), ...options } as RedisRateLimiterOptions);

  beforeAll(async () => {
    await redis.start();
  }, 60_000);
  afterAll(async () => {
    await redis.dispose();
  }, 60_000);

  for (const [name, options] of [
    ["sliding window, 5 per 150 ms", { limit: 5, windowMs: 150 }],
    ["token bucket, 5 per 100 ms, burst 4", { rate: 5, perMs: 100, burst: 4 }],
  ] as Array<[string, Limit]>) {
    it(`${name}: four processes acquiring in loops never exceed the shared limit`, async () => {
      const k = key();
      const weights = (i: number) => Array.from({ length: 10 }, (_, j) => 1 + ((i + j) % 3 === 0 ? 1 : 0));
      const results = await children({ url: redis.url, key: k, options, tasks: [1, 2, 1, 2] }, [0, 1, 2, 3].map(weights));
      const all = results.flat();
      expect(all.length).toBe(40);
      expect(all.every(([t]) => typeof t === "number" && t > 1.6e12)).toBe(true); // Redis's clock, ms since 1970
      expect(violations(options, all)).toEqual([]);
      // the processes were served side by side: the grants of several of them interleave (not all of
      // them, always: on a loaded machine one process may start later than the others finish)
      const owner = results.flatMap((r, i) => r.map(([t]) => [t, i] as const)).sort((a, b) => a[0] - b[0]);
      const switches = owner.filter(([, i], k) => k > 0 && owner[k - 1]![1] !== i).length;
      expect(switches).toBeGreaterThanOrEqual(6);
    });
  }

  it("acquire, tryAcquire, withLimit and statistics in one process", async () => {
    await run(async () => {
      await using l = limiter({ limit: 3, windowMs: 60_000 });
      expect(l.algorithm).toBe("sliding-window");
      expect(l.capacity).toBe(3);
      await l.acquire();
      expect(await l.withLimit(() => "x")).toBe("x");
      expect(await l.withLimit(async () => 7, { weight: 1 })).toBe(7);
      expect(await l.tryAcquire()).toBe(false);
      const st = l.statistics();
      expect(st).toMatchObject({ algorithm: "sliding-window", capacity: 3, available: 0, tasksWaiting: 0, granted: 3, grantedWeight: 3, nextGrantAt: null });
      expect(st.lastGrantAt).toBeGreaterThan(1.6e12);
      await expect(l.withLimit(() => 1, { weight: 4 })).rejects.toThrow("Expected weight to be at most 3 (the window's limit), got 4 (number)");
      // a waiter: told when it will be granted
      const t = createTask(() => l.acquire());
      await toldToWait(l);
      expect(l.statistics().tasksWaiting).toBe(1);
      expect(l.statistics().nextGrantAt).toBeGreaterThan(st.lastGrantAt! + 59_000);
      t.cancel();
      await expect(t).rejects.toThrow(CancelledError);
    });
  });

  it("two limiters on one key share it; a heavy waiter at the head is not overtaken by the other's light ones", async () => {
    await run(async () => {
      const k = key();
      await using a = limiter({ key: k, rate: 1, perMs: 300, burst: 3 });
      await using b = limiter({ key: k, rate: 1, perMs: 300, burst: 3 });
      await a.acquire(2);
      expect(await b.tryAcquire(2)).toBe(false); // shared: one token left
      const order: string[] = [];
      const heavy = createTask(async () => (await a.acquire(3), order.push("heavy")));
      await toldToWait(a); // a's waiter heads the shared line
      expect(await b.tryAcquire(1)).toBe(false); // a token is free, but the head comes first
      const light = createTask(async () => (await b.acquire(1), order.push("light")));
      await gather(heavy, light);
      expect(order).toEqual(["heavy", "light"]);
    });
  });

  it("a cancelled waiter gives the head back and consumes nothing (task cancel, timeout, signal)", async () => {
    await run(async () => {
      const k = key();
      await using a = limiter({ key: k, rate: 1, perMs: 60_000, burst: 2 });
      await using b = limiter({ key: k, rate: 1, perMs: 60_000, burst: 2 });
      await a.acquire(1);
      // a heavy waiter would wait a minute: it heads the line, then leaves
      const heavy = createTask(() => a.acquire(2));
      await toldToWait(a);
      expect(await b.tryAcquire(1)).toBe(false);
      heavy.cancel();
      await expect(heavy).rejects.toThrow(CancelledError);
      // the head was given back: the remaining token is there for b (a bounded wait, not a timing assert)
      await timeout(5000, () => b.acquire(1));
      await expect(timeout(100, () => a.acquire(1))).rejects.toThrow(TimeoutError);
      const ac = new AbortController();
      getRunningLoop().callLater(100, () => ac.abort(new Error("stop")));
      await expect(a.acquire(1, { signal: ac.signal })).rejects.toThrow("stop");
      await expect(a.acquire(1, { signal: AbortSignal.abort(new Error("early")) })).rejects.toThrow("early");
      expect(a.statistics()).toMatchObject({ granted: 1, tasksWaiting: 0 });
    });
  });

  for (const options of [{ rate: 1, perMs: 60_000, burst: 3 }, { limit: 3, windowMs: 60_000 }] as Limit[]) {
    it(`${"rate" in options ? "bucket" : "window"}: a waiter cancelled while its attempt is in flight is refunded if Redis granted it`, async () => {
      await run(async () => {
        await using l = limiter(options);
        await l.acquire(1);
        const t = createTask(() => l.acquire(2));
        cancelWhenSent(l, () => t);
        await expect(t).rejects.toThrow(CancelledError);
        // Redis granted the 2, and they come back: the whole rest of the minute's 3 is there
        await timeout(5000, () => l.acquire(2));
        expect(l.statistics()).toMatchObject({ granted: 2, grantedWeight: 3 });
        expect(await l.tryAcquire(1)).toBe(false);
      });
    });
  }

  it("a bucket refund replays the grants made after it (another process's grant in between)", async () => {
    await run(async () => {
      const k = key();
      const opts = { key: k, rate: 1, perMs: 60_000, burst: 2 };
      await using a = limiter(opts);
      await using b = limiter(opts);
      // a's attempt is granted a token, but its task is cancelled meanwhile, and its answer is held
      // back until b has taken the other token: then a's grant is refunded, b's replayed without it
      let answer!: () => void;
      const held = new Promise<void>((resolve) => (answer = resolve));
      const internals = a as unknown as { _attempt: (...x: unknown[]) => Promise<unknown> };
      const attempt = internals._attempt.bind(a);
      const t = createTask(() => a.acquire(1));
      internals._attempt = (...x) => {
        internals._attempt = attempt;
        const p = attempt(...x);
        t.cancel();
        return p.then(async (r) => (await held, r));
      };
      await expect(t).rejects.toThrow(CancelledError);
      await b.acquire(1); // the second token
      expect(await b.tryAcquire(1)).toBe(false);
      answer();
      const client = new Redis(redis.url);
      try {
        const journalKey = `asyncio-ts:ratelimit:{${k}}:log`;
        for (let i = 0; (await client.llen(journalKey)) !== 1; i++) {
          if (i > 1000) throw new Error("the refund did not happen within 10 s");
          await sleep(10);
        }
        const [entry] = await client.lrange(journalKey, 0, -1);
        // b's grant, replayed from an empty history: its "tat before" is none ("n")
        expect(entry!.split(" ").slice(2)).toEqual(["1", "n"]);
      } finally {
        client.disconnect();
      }
      expect(await b.tryAcquire(1)).toBe(true); // a's token is back
      expect(await b.tryAcquire(1)).toBe(false);
      expect(a.statistics().granted).toBe(0);
    });
  });

  it("after SCRIPT FLUSH, EVALSHA falls back to EVAL", async () => {
    await run(async () => {
      await using l = limiter({ limit: 10, windowMs: 1000 });
      await l.acquire();
      redis.cli("SCRIPT", "FLUSH");
      const before = /calls=(\d+)/.exec(redis.cli("INFO", "commandstats").split("\n").find((s) => s.startsWith("cmdstat_eval:")) ?? "calls=0")![1];
      await l.acquire();
      await l.acquire();
      const after = /calls=(\d+)/.exec(redis.cli("INFO", "commandstats").split("\n").find((s) => s.startsWith("cmdstat_eval:"))!)![1];
      expect(Number(after) - Number(before)).toBe(1); // once: then the script is cached again
      expect(l.statistics().granted).toBe(3);
    });
  });

  it("bad input: options throw, acquire rejects; a closed limiter refuses", async () => {
    const bad = (o: unknown) => () => new RedisRateLimiter(o as RedisRateLimiterOptions);
    expect(bad({ connection: redis.url, key: "k", rate: 0, perMs: 10 })).toThrow("Expected rate to be a positive integer, got 0 (number)");
    expect(bad({ connection: redis.url, key: "k", limit: 1, windowMs: 10, rate: 1 })).toThrow("not both");
    expect(bad({ connection: redis.url, key: "k", limit: 1, windowMs: 10, ttl: 1 })).toThrow(
      'Unknown option "ttl" of RedisRateLimiter (known: rate, perMs, burst, limit, windowMs, connection, key, prefix)',
    );
    expect(bad({ connection: "http://x", key: "k", limit: 1, windowMs: 10 })).toThrow("Expected options.connection to be a redis:// or rediss:// URL");
    expect(bad({ connection: redis.url, key: "", limit: 1, windowMs: 10 })).toThrow('Expected options.key to be a non-empty string, got "" (string)');
    expect(bad({ connection: redis.url, limit: 1, windowMs: 10 })).toThrow("Expected options.key to be a non-empty string, got undefined");
    await run(async () => {
      const l = limiter({ rate: 5, perMs: 1000 });
      await expect(l.acquire(6)).rejects.toThrow("Expected weight to be at most 5 (the bucket's burst), got 6 (number)");
      await expect(l.acquire(0)).rejects.toThrow(RangeError);
      await expect(l.tryAcquire(1.5)).rejects.toThrow(RangeError);
      await expect(l.withLimit(null as never)).rejects.toThrow("Expected fn to be a function, got null");
      await l.acquire(5);
      const waiting = [createTask(() => l.acquire(5)), createTask(() => l.acquire(1))]; // one sleeps, one in line
      await toldToWait(l);
      await l.close();
      await l.close();
      for (const t of waiting) await expect(t).rejects.toThrow(new RuntimeError(`RedisRateLimiter "${l.key}" is closed`));
      await expect(l.acquire()).rejects.toThrow(RuntimeError);
      await expect(l.tryAcquire()).rejects.toThrow(RuntimeError);
      expect(String(l)).toMatch(/^<RedisRateLimiter "test-\d+" 5 per 1000 ms, burst 5>$/);
    });
  });
});
