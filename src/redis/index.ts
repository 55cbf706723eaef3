/**
 * `asyncio-ts/redis`: the Redis executor (BullMQ on Redis) and its worker. A separate entry point so
 * that `asyncio-ts` itself never loads BullMQ; this module loads it only when an executor or worker
 * starts. See `docs/redis-executor.md`.
 *
 * @module
 */
export { RedisExecutor, type RedisExecutorOptions, type RedisExecutorStatistics } from "./executor.js";
export { RedisWorker, type RedisWorkerOptions, type WorkerModule } from "./worker.js";
export { UnknownFunctionError, RedisJobError, RedisConnectionError } from "./wire.js";
export type { RedisConnection, RedisClusterConnection, RedisTargetConnection } from "./deps.js";
export { RedisRateLimiter, type RedisRateLimiterOptions } from "./rate-limiter.js";
