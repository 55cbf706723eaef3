/**
 * asyncio-ts: Python's asyncio for TypeScript on Node.js.
 *
 * The public API, re-exported from the modules that implement it. See `docs/rosetta.md` for every
 * asyncio name beside its asyncio-ts equivalent.
 *
 * @module
 */
export {
  AsyncioError,
  BrokenBarrierError,
  DeadlockError,
  CancelledError,
  ExceptionGroup,
  InvalidStateError,
  KeyboardInterrupt,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  TimeoutError,
  type ErrorMatch,
} from "./core/index.js";
export { EventLoop, type EventLoopOptions, type ExceptionContext, type ExceptionHandler, type TaskFactory, type CallOptions } from "./core/index.js";
export { Handle, TimerHandle } from "./core/index.js";
export { getRunningLoop } from "./core/index.js";
export { getEventLoop, newEventLoop, setEventLoop } from "./runner/loops.js";
export { run, Runner, type RunOptions } from "./runner/runner.js";
export { Future, isFuture, type FutureState, type DoneCallback } from "./core/index.js";
export { Task, type TaskFunction, type TaskOptions } from "./core/index.js";
export { currentTask } from "./core/index.js";
export { futureAddToAwaitedBy, futureDiscardFromAwaitedBy, type StackFrame, type GetStackOptions, type PrintStackOptions } from "./core/index.js";
export {
  captureCallGraph,
  formatCallGraph,
  printCallGraph,
  type FutureCallGraph,
  type FrameCallGraphEntry,
  type CallGraphOptions,
  type PrintCallGraphOptions,
} from "./tracing/call-graph.js";
export { createTask, allTasks } from "./core/index.js";
export { ContextVar, Context, Token, copyContext } from "./core/index.js";
export { eagerTaskFactory, createEagerTaskFactory, type TaskConstructor } from "./core/index.js";
export { ensureFuture, fromPromise, type AwaitableLike, type Awaited2 } from "./core/index.js";
export { sleep } from "./time/sleep.js";
export { timeout, timeoutAt, Timeout, type TimeoutState } from "./time/timeout.js";
export { CancelScope, moveOnAfter, moveOnAt, failAfter, currentEffectiveDeadline, type CancelScopeOptions } from "./core/index.js";
export { gather, gatherAll, GatheringFuture, type GatherOptions, type Results, type ResultsOrErrors } from "./combinators/gather.js";
export { shield } from "./combinators/shield.js";
export { wait, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, type ReturnWhen, type WaitOptions, type FutureOf } from "./combinators/wait.js";
export { waitFor } from "./combinators/wait-for.js";
export { asCompleted } from "./combinators/as-completed.js";
export { TaskGroup, taskGroup } from "./structured/task-group.js";
export { TaskStatus, TASK_STATUS_IGNORED } from "./structured/task-status.js";
// Synchronization primitives and queues (issue #3).
export { WouldBlock } from "./core/index.js";
export { type AbortOptions } from "./sync/abort-signal.js";
export { Hold } from "./sync/hold.js";
export { Lock, type LockStatistics } from "./sync/lock.js";
export { Event, type EventStatistics } from "./sync/event.js";
export { Condition, type ConditionStatistics } from "./sync/condition.js";
export { Semaphore, BoundedSemaphore, type SemaphoreStatistics } from "./sync/semaphore.js";
export { Barrier, type BarrierState, type BarrierStatistics } from "./sync/barrier.js";
export { CapacityLimiter, type CapacityLimiterStatistics } from "./sync/capacity-limiter.js";
export { Queue, type QueueStatistics } from "./queues/queue.js";
export { PriorityQueue, type PriorityQueueOptions } from "./queues/priority-queue.js";
export { LifoQueue } from "./queues/lifo-queue.js";

// The loop and the operating system (issue #15).
export { runCoroutineThreadsafe, type AddrInfo, type GetAddrInfoOptions, type SignalLike, type ThreadsafeFuture } from "./core/index.js";

// Streams (issue #15): connections as reader/writer pairs, servers.
export { ConnectionResetError, IncompleteReadError, LimitOverrunError } from "./core/index.js";
export { DEFAULT_LIMIT, StreamReader, type Separator, type StreamReaderOptions } from "./streams/reader.js";
export { StreamWriter, type StartTlsOptions } from "./streams/writer.js";
export { openConnection, openUnixConnection, type OpenConnectionOptions } from "./streams/open.js";
export { Server, startServer, startUnixServer, type ClientConnected, type StartServerOptions } from "./streams/server.js";

// Subprocesses (issue #15).
export { createSubprocessExec, createSubprocessShell, type SubprocessOptions } from "./subprocess/create.js";
export { Process } from "./subprocess/process.js";
export { DEVNULL, PIPE, STDOUT, type Stdio } from "./subprocess/stdio.js";
export { ProcessLookupError } from "./core/index.js";

// Executors (issue #4): thread and process pools, runInExecutor/toThread, the worker-side API.
export { BrokenExecutor, BrokenThreadPool, BrokenProcessPool, BrokenWorkerError } from "./core/index.js";
export {
  moduleFunction,
  type Executor,
  type ModuleFunction,
  type WorkerFunction,
  type ShutdownOptions,
  type MapOptions,
  type SubmitOptions,
  type ExecutorStatistics,
} from "./executors/executor.js";
export { ExecutorFuture } from "./executors/executor-future.js";
export type { PoolOptions } from "./executors/pool.js";
export type { PortalFunctions } from "./executors/portal.js";
export {
  ThreadPoolExecutor,
  ProcessPoolExecutor,
  toThread,
  type ThreadPoolExecutorOptions,
  type ProcessPoolExecutorOptions,
} from "./executors/executors.js";
export { callLoop, callLoopSync, currentThread, sleepSync, taskSignal, throwIfCancelled, type ThreadInfo } from "./executors/worker-api.js";

// Beyond asyncio (issue #17): schedules and retry.
export { Schedule, exponential, fibonacci, spaced, fixed, recurs, during, whileError, whileResult, union, intersect, upTo, jittered, seededRandom, type ScheduleState, type ScheduleStep, type JitterOptions } from "./toolkit/schedule.js";
export { retry, repeat, RetryError, type RetryOptions, type RepeatOptions, type RetryInfo } from "./toolkit/retry.js";
export { RateLimiter, type RateLimiterOptions, type TokenBucketOptions, type SlidingWindowOptions, type WithLimitOptions, type RateLimiterStatistics, type RateLimiterLike, type RateAlgorithm } from "./toolkit/rate-limiter.js";
export { openMemoryChannel, MemorySendChannel, MemoryReceiveChannel, type MemoryChannelStatistics } from "./toolkit/channel.js";
export { EndOfChannel, BrokenResourceError, ClosedResourceError } from "./core/index.js";
export { Broadcast, Subscription, type BroadcastStrategy, type SubscribeOptions, type BroadcastStatistics, type SubscriptionStatistics } from "./toolkit/broadcast.js";
export { JobQueue, JobFuture, type JobQueueOptions, type JobOptions, type JobQueueEvents, type JobQueueStatistics, type RunningJobInfo, type JobContext, type JobFunction, type JobState, type JobQueueListenerOptions } from "./toolkit/job-queue.js";
