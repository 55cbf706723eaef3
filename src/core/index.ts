/**
 * The kernel's face: everything the layers above it (time, sync, queues, combinators, structured,
 * executors, tracing, runner, redis, testing, cli) may use, and nothing else. Code outside `src/core`
 * imports the kernel through this module only (the layer test checks it, `test/architecture`). Names
 * marked `@internal` are for those layers, not for users: `src/index.ts` re-exports the public ones.
 *
 * @module
 */
export { AsyncioError, BrokenBarrierError, BrokenExecutor, BrokenProcessPool, BrokenResourceError, BrokenThreadPool, BrokenWorkerError, CancelledError, ClosedResourceError, ConnectionResetError, DeadlockError, EndOfChannel, ExceptionGroup, IncompleteReadError, InvalidStateError, KeyboardInterrupt, LimitOverrunError, oneLine, ProcessLookupError, QueueEmpty, QueueFull, QueueShutDown, RuntimeError, TimeoutError, WouldBlock, type ErrorMatch } from "./errors.js";
export { checkBoolean, checkCount, checkFn, checkKnownOptions, checkMs, checkMsOrNull, checkOptions, checkString, checkTime, describe, kindOf } from "./check.js";
export { armContextTripwire, captureAsContext, captureContext, Context, contextState, ContextVar, copyContext, runInContext, Token } from "./context.js";
export { fmtTime, RealClock, VirtualClock, type Clock } from "./clock.js";
export { soon } from "./microtask.js";
export { longTimeout, MAX_NODE_TIMER, type LongTimer } from "./long-timer.js";
export { fakeTimersProblem, realTimers } from "./real-timers.js";
export { assertRuntime, awaitSiteNow, callbackContext, callerStrand, callerTask, liveCallerStrand, cannotTakeOver, captureSite, contextStrand, contextTask, currentTask, findWork, inElementJob, logEnd, loggedAt, newLoopScope, NO_LIMIT, PENDING_TAKE, recordingSites, releaseHooks, releaseSiteHooks, retagRange, runInStrand, runInTask, runOutsideTasks, strandCarrier, strandOf, TAKEN, takeOverError, useHooks, useSiteHooks, WORK_OF, workLimits, type AwaitSite, type LoopScope, type StrandLike, type Taken, type Work } from "./current.js";
export { currentLoop, endIdleWait, getRunningLoop, loopRegistry, noteWaitOnIdleLoop, runningLoopOrNull, type IdleWait } from "./running.js";
export { CANCEL_SCOPE_MESSAGE, cancelOnSuspend, cancelOrphanCode, cancelPending, cancelScopeEdge, cancelScopeLevel, cancelTask, closeScope, closeStrand, deliverCancel, delivery, giveUpPendingCancel, hasPendingAwaits, giveUpStrand, hasShield, isStaleElement, levelCancelled, linkAwait, moveAwait, NO_CANCEL, noteRegistration, openStrand, outerLevelCancelled, pendingAwaits, recancelAfterScope, REG_ELEM, REG_LIVE, REG_NONE, REG_WAKE_CANCEL, REG_WAKE_CANCEL_ELEM, REG_YIELD_CANCEL, reparentStrand, Strand, takeGivenUp, takeCancel, takeMustCancel, takeRootCancel, uncancelTask, unlinkAwait, unshieldStrand, visibleCancelling, type LevelScope } from "./cancellation.js";
export { runBodyIn, runSheltered, ScopeBody } from "./scope-body.js";
export { Chain, CHAIN_OF } from "./chain.js";
export { Future, isFuture, ST_PENDING, type Awaiter, type DoneCallback, type FutureState, type Runnable } from "./future.js";
export { F_AWAITED, F_CANCEL_AFTER, F_EAGER, F_FIRST_STEP, F_HOLDING } from "./task-flags.js";
export { markDonePath, settleTaskWith, skipTaskNumbers, Task, type TaskFunction, type TaskOptions } from "./task.js";
export { TaskSet } from "./task-set.js";
export { fulfilled, settledValue } from "./settled.js";
export { _resetAdoptHint, adoptChainIntoStrand, adoptChainIntoTask, AdoptedTask, adoptIntoStrand, adoptIntoTask, markArguments, takeSourcesInto, unmarkArguments } from "./adopt.js";
export { ensureFuture, fromPromise, isWrappedPromise, toFuture, toFutures, type AwaitableLike, type Awaited2 } from "./ensure-future.js";
export { callReporting, Handle, TimerHandle } from "./handles.js";
export { TimerHeap } from "./timer-heap.js";
export { newLoopHooks, type Diagnostics, type ExecutorJob, type ExecutorJobOutcome, type Instrument, type Tracer } from "./instruments.js";
export { MODULE_FN, type Executor, type ExecutorStatistics, type MapOptions, type ModuleFunction, type ShutdownOptions, type SubmitOptions, type WorkerFunction } from "./executor.js";
export { checkDelay, checkLoopOptions, EventLoop, ForeignHold, IoHold, LOOP_OPTIONS, timerDelay, type CallOptions, type EventLoopOptions, type TaskFactory } from "./event-loop.js";
export { defaultExceptionHandler, type ExceptionContext, type ExceptionHandler } from "./exception-handler.js";
export { defaultLoop } from "./default-loop.js";
export { runCoroutineThreadsafe, signalName, type AddrInfo, type GetAddrInfoOptions, type SignalLike, type ThreadsafeFuture } from "./loop-os.js";
export { allTasks, createTask } from "./task-api.js";
export { addTaskHost, CancelScope, currentEffectiveDeadline, failAfter, moveOnAfter, moveOnAt, removeTaskHost, type CancelScopeOptions, type ScopeCancelListener, type TaskHost } from "./cancel-scope.js";
export { createEagerTaskFactory, eagerTaskFactory, type TaskConstructor } from "./task-factory.js";
export { isKernelFrame, isLibraryFrame, parseFrame, type ParsedFrame } from "./own-code.js";
export { callerFrames, formatFrames, formatTaskStack, framesOf, limitFrames, siteFrames, siteFramesOf, taskStack, userFrames, type GetStackOptions, type PrintStackOptions, type StackFrame } from "./stack.js";
export { addAwaitSource, awaitedByEdges, awaitedByHints, awaitsOf, futureAddToAwaitedBy, futureDiscardFromAwaitedBy, removeAwaitSource, type AwaitSource } from "./awaited-by.js";
