/**
 * The options of a `JobQueue` and of its `add()`, and their checks (in the project's wording: a wrong
 * type is a `TypeError`, a number out of range a `RangeError`, an unknown option names the known ones).
 *
 * @module
 */
import { checkOptions, checkString, describe, kindOf } from "../core/index.js";
import type { JobFuture } from "./job-queue-future.js";

/**
 * Options of `new JobQueue()`; every one is optional.
 * @example `new JobQueue({ concurrency: 4, intervalCap: 10, interval: 1000, timeout: 30_000 })`
 */
export interface JobQueueOptions {
  /** At most this many jobs run at once: a positive integer or `Infinity` (the default). */
  concurrency?: number | undefined;
  /** At most this many jobs start per `interval`: a positive integer or `Infinity` (the default: no rate limit). */
  intervalCap?: number | undefined;
  /** The rate limit's window, ms (default 0: no rate limit). */
  interval?: number | undefined;
  /** Fixed windows: the jobs still running when a window opens count against its `intervalCap` (default false). */
  carryoverIntervalCount?: boolean | undefined;
  /** A sliding window instead of fixed ones: no more than `intervalCap` starts in any `interval` ms (default false). */
  strict?: boolean | undefined;
  /** The default time limit of a job's run, ms (`null`, the default: none); `add()` may override it. */
  timeout?: number | null | undefined;
  /** Start jobs as they are added (default true); with false, the queue starts paused (`start()`). */
  autoStart?: boolean | undefined;
  /** The queue's name (default `JobQueue-<n>`): its task's name and the prefix of its jobs' names. */
  name?: string | undefined;
}

/** @internal the keys of `JobQueueOptions` */
export const QUEUE_OPTIONS = ["concurrency", "intervalCap", "interval", "carryoverIntervalCount", "strict", "timeout", "autoStart", "name"];

/**
 * Options of `add()` and `addAll()`.
 * @example `queue.add(fetchUser, { priority: 1, name: "user 3", timeout: 5000, signal })`
 */
export interface JobOptions {
  /** Higher starts first (default 0); any number but NaN, `Infinity` and `-Infinity` included. */
  priority?: number | undefined;
  /** Remove the job if it waits, cancel its task if it runs, when this signal aborts: the future rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** The job's name, and its task's (default: its `id` if given, else `<queue name>-job-<n>`). */
  name?: string | undefined;
  /** An id for `setPriority()` (default: the job's number in the queue, `"1"`, `"2"`...). */
  id?: string | undefined;
  /** The time limit of this job's run, ms; `null`: none; `undefined`: the queue's `timeout`. */
  timeout?: number | null | undefined;
}

/** @internal the keys of `JobOptions` */
const ADD_OPTIONS = ["priority", "signal", "name", "id", "timeout"];

/** Read `add()`'s options into the job. @internal */
export function readAddOptions(job: JobFuture<unknown>, options: JobOptions): void {
  const o = checkOptions(options, ADD_OPTIONS, "JobQueue.add()");
  if (o.priority !== undefined) job._prio = checkPriority(o.priority, "priority");
  if (o.name !== undefined) job._name = checkString(o.name, "name");
  if (o.id !== undefined) job._id = checkString(o.id, "id");
  if (o.timeout !== undefined) job._timeout = checkTimeout(o.timeout, "timeout");
  const signal = o.signal;
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal)) throw new TypeError(`Expected signal to be an AbortSignal, got ${describe(signal)}`);
    job._signal = signal;
  }
}

/** A priority: any number but NaN. @internal */
export function checkPriority(value: unknown, name: string): number {
  if (typeof value !== "number") throw new TypeError(`Expected ${name} to be a number, got ${describe(value)}`);
  if (Number.isNaN(value)) throw new RangeError(`Expected ${name} to be a number other than NaN (Infinity and -Infinity work), got NaN (number)`);
  return value;
}

/** A time limit: a positive number of ms, `Infinity` or null (none); undefined: none. @internal */
export function checkTimeout(value: unknown, name: string): number | null {
  if (value === undefined || value === null || value === Infinity) return null;
  if (typeof value !== "number") throw new TypeError(`Expected ${name} to be a positive number of milliseconds or null, got ${describe(value)}`);
  if (!(value > 0)) throw new RangeError(`Expected ${name} to be a positive number of milliseconds or null, got ${describe(value)}`);
  return value;
}

/** The error for a job that is not a function (a promise: the work is already running). @internal */
export function badJob(fn: unknown, name: string): TypeError {
  if (kindOf(fn) === "thenable") {
    return new TypeError(
      `Expected ${name} to be a function, got a promise: its work is already running and cannot wait in line; write queue.add(() => work()) instead of queue.add(work())`,
    );
  }
  return new TypeError(`Expected ${name} to be a function, got ${describe(fn)}`);
}
