/**
 * What a task awaits, in words: the labels of the timeline's gaps and of `dumpTasks()`. Every future
 * says what it is (`Future._describe()`: `Lock.acquire`, `Queue.get`, `sleep until 2000 ms`, `Task-3`,
 * `gather(Task-2, Task-3)`, `executor job 3 on ThreadPoolExecutor-1_0`); `sleep(0)` is no future.
 *
 * @module
 */
import { fmtTime, type Future } from "../core/index.js";

export { fmtTime };

/** Describe what a task awaits (null: `sleep(0)`). @internal */
export function describeAwaited(f: Future<unknown> | null): string {
  return f === null ? "sleep(0)" : f._describe();
}

const ids = new WeakMap<Future<unknown>, number>();
let nextId = 0;

/**
 * A future's id in call graphs, dumps and `aio ps` (`0x1f`): JavaScript has no `id()`, so a number is
 * given the first time one of them shows the future, and kept while it lives. @internal
 */
export function futureId(f: Future<unknown>): string {
  let id = ids.get(f);
  if (id === undefined) ids.set(f, (id = ++nextId));
  return `0x${id.toString(16)}`;
}
