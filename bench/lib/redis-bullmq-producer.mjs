/**
 * The raw BullMQ producer of the Redis suite (bench/suites/redis.mjs): what a BullMQ user writes to add
 * a batch of jobs and collect their results, without asyncio-ts.
 *
 * - Jobs go out with one `Queue.addBulk` (one pipeline of `addStandardJob` scripts), the same call
 *   `RedisExecutor` makes for the jobs of one macrotask, with the same options (`attempts: 1`,
 *   `removeOnComplete`/`removeOnFail` by age) and the same data; only the job ids differ (BullMQ's own
 *   counter here, the executor's random ids there).
 * - Results come back through one `QueueEvents` and its global `completed`/`failed` events, looked up
 *   in a Map by job id: one blocking `XREAD` on the queue's event stream brings the outcomes of many
 *   jobs at once, and nothing is asked per job. This is the fastest correct way BullMQ offers.
 *   Rejected: `job.waitUntilFinished(queueEvents)`, BullMQ's per-job helper, adds two listeners per job
 *   (`completed:<id>`, `failed:<id>`) and one `isFinished` script per job (a Redis round trip) to close
 *   the race it otherwise has; a worker-side `completed` event does not reach the producer process.
 * - Correctness: `addBulk` is a pipeline, not a transaction, so a worker can finish the first jobs
 *   (and their `completed` events can arrive) before `addBulk` returns their ids: outcomes that come
 *   before their job is registered wait in `early`. `QueueEvents` starts reading at the stream's last
 *   entry (`lastEventId`), so no event between start-up and its first `XREAD` is missed (BullMQ's
 *   default, `$`, would miss them).
 */
const { Queue, QueueEvents } = await import("bullmq");
const ioredis = await import("ioredis");
const Redis = ioredis.default ?? ioredis.Redis;

/** Connect a producer for `queueName`; `keep` is the age (s) finished jobs stay, as the executor's `keepFinishedJobs`. */
export async function startRawProducer(url, queueName, { keep = 1, prefix = "bull" } = {}) {
  const clients = [];
  const client = () => {
    const c = new Redis(url, { maxRetriesPerRequest: null });
    clients.push(c);
    return c;
  };
  const qc = client();
  const queue = new Queue(queueName, { connection: qc, prefix });
  queue.on("error", () => {});
  await queue.waitUntilReady();
  const last = await qc.xrevrange(`${prefix}:${queueName}:events`, "+", "-", "COUNT", 1);
  const events = new QueueEvents(queueName, { connection: client(), prefix, lastEventId: last.length > 0 ? last[0][0] : "0-0" });
  events.on("error", () => {});
  /** Invariant: job id -> settle function of a job added and not yet finished. */
  const pending = new Map();
  /** Outcomes that arrived before `addBulk` returned their job's id. */
  const early = new Map();
  const outcome = (jobId, ok, value) => {
    const settle = pending.get(jobId);
    if (settle !== undefined) {
      pending.delete(jobId);
      settle(ok, value);
    } else early.set(jobId, [ok, value]);
  };
  events.on("completed", ({ jobId, returnvalue }) => outcome(jobId, true, returnvalue));
  events.on("failed", ({ jobId, failedReason }) => outcome(jobId, false, new Error(`job ${jobId} failed: ${failedReason}`)));
  await events.waitUntilReady();
  const opts = { attempts: 1, removeOnComplete: { age: keep }, removeOnFail: { age: keep } };

  return {
    /** Add `count` jobs `name(data)` in one `addBulk`; resolves with their return values, in order. */
    async runJobs(name, data, count) {
      const jobs = await queue.addBulk(Array.from({ length: count }, () => ({ name, data, opts })));
      return Promise.all(
        jobs.map(
          (job) =>
            new Promise((resolve, reject) => {
              const settle = (ok, value) => (ok ? resolve(value) : reject(value));
              const got = early.get(job.id);
              if (got !== undefined) {
                early.delete(job.id);
                settle(...got);
              } else pending.set(job.id, settle);
            }),
        ),
      );
    },
    async close() {
      await Promise.allSettled([events.close(), queue.close()]);
      for (const c of clients) c.disconnect();
    },
  };
}
