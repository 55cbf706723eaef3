/**
 * The raw BullMQ worker of the Redis suite (bench/suites/redis.mjs): what a BullMQ user writes without
 * asyncio-ts. One `Worker` on one ioredis connection (BullMQ duplicates it for its blocking reads, as
 * for `aio worker`), with BullMQ's defaults for everything `aio worker` leaves at BullMQ's defaults
 * (lockDuration 30 000, stalledInterval 30 000, maxStalledCount 1, drainDelay 5 s), and the same
 * concurrency as `aio worker` (1 unless told). The processor is the idiomatic `async (job) => value`:
 * it returns a value of the same shape and size as the one `aio worker` stores for `noop()` (a
 * `{ v, r }` object, `r` the base64 structured-clone of the result), so Redis stores and sends the same
 * bytes on both sides; it decodes nothing (that is asyncio-ts's own work, which the comparison measures).
 *
 * Usage: node bench/lib/redis-bullmq-worker.mjs <redis-url> <queue> <concurrency> <returnvalue-json>
 * Prints `ready` once the worker is connected; SIGTERM closes it after the running jobs.
 */
const [url, queue, concurrency, returnJson] = process.argv.slice(2);
if (url === undefined || queue === undefined || concurrency === undefined || returnJson === undefined) {
  process.stderr.write("usage: redis-bullmq-worker.mjs <redis-url> <queue> <concurrency> <returnvalue-json>\n");
  process.exit(2);
}
const { Worker } = await import("bullmq");
const ioredis = await import("ioredis");
const Redis = ioredis.default ?? ioredis.Redis;
const returnvalue = JSON.parse(returnJson);
const connection = new Redis(url, { maxRetriesPerRequest: null });
const worker = new Worker(queue, async () => returnvalue, { connection, prefix: "bull", concurrency: Number(concurrency) });
worker.on("error", (e) => process.stderr.write(`raw BullMQ worker: ${e.message}\n`));
await worker.waitUntilReady();
process.stdout.write("ready\n");
process.once("SIGTERM", () => {
  void worker.close().finally(() => {
    connection.disconnect();
    process.exit(0);
  });
});
