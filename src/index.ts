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
  CancelledError,
  ExceptionGroup,
  InvalidStateError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  TimeoutError,
} from "./errors.js";
export { EventLoop, type EventLoopOptions, type ExceptionContext, type ExceptionHandler } from "./loop/event-loop.js";
export { Handle, TimerHandle } from "./loop/handles.js";
export { getEventLoop, getRunningLoop, newEventLoop, setEventLoop } from "./loop/running.js";
export { run, Runner, type RunOptions } from "./loop/runner.js";
export { Future, isFuture, type FutureState } from "./task/future.js";
export { Task, type TaskFunction, type TaskOptions } from "./task/task.js";
export { currentTask } from "./task/current.js";
export { createTask, allTasks } from "./task/api.js";
export { ensureFuture, fromPromise, type AwaitableLike } from "./task/ensure-future.js";
export { sleep } from "./time/sleep.js";
export { timeout, timeoutAt, Timeout, type TimeoutState } from "./time/timeout.js";
export { CancelScope, moveOnAfter, moveOnAt, failAfter, type CancelScopeOptions } from "./time/cancel-scope.js";
export { gather, GatheringFuture, type GatherOptions } from "./combinators/gather.js";
export { shield } from "./combinators/shield.js";
export { wait, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, type ReturnWhen, type WaitOptions } from "./combinators/wait.js";
export { waitFor } from "./combinators/wait-for.js";
export { asCompleted } from "./combinators/as-completed.js";
export { TaskGroup, taskGroup } from "./structured/task-group.js";
