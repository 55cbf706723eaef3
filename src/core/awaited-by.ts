/**
 * Who awaits whom, for call graphs (CPython 3.14's `future_add_to_awaited_by` /
 * `future_discard_from_awaited_by`, and what `capture_call_graph` reads).
 *
 * ## Approach
 * Nothing is recorded as tasks await: the edges are read when a graph is asked for, from state that
 * exists anyway. A future says what it waits on itself (`Future._awaits()`: a task's pending awaits, a
 * gather's children, a shield's inner future); a structure that makes a task wait on futures it does not
 * await (a task group's children, awaited by the group's parent task even while its body runs, as in
 * CPython) registers itself on that task once (`addAwaitSource`), not once per child; and users' own
 * intermediate futures are linked with `futureAddToAwaitedBy`, as in CPython.
 *
 * Rejected alternative: CPython's way, a set of awaiters on every future, updated by every await and
 * every task-group child: a write (and a set to allocate) on the path of every await and every spawn,
 * which the benchmarks watch most closely (`bench/README.md`), for a picture asked for rarely.
 *
 * @module
 */
import { describe } from "./check.js";
import { Future } from "./future.js";

/** Something that makes a task wait on futures it does not await itself (a task group). @internal */
export interface AwaitSource {
  /** The futures it waits on for the task, now. */
  _awaitedFutures(): Iterable<Future<unknown>>;
}

/** Invariant: the sources registered on a task and not yet removed (a group between entry and exit). */
const sources = new WeakMap<Future<unknown>, Set<AwaitSource>>();
/** Invariant: the users' links (`futureAddToAwaitedBy`) not yet discarded: awaited future → its waiters. */
const hints = new WeakMap<Future<unknown>, Set<Future<unknown>>>();

/** @internal `source` makes `waiter` wait on what it says (until `removeAwaitSource`) */
export function addAwaitSource(waiter: Future<unknown>, source: AwaitSource): void {
  let s = sources.get(waiter);
  if (s === undefined) sources.set(waiter, (s = new Set()));
  s.add(source);
}

/** @internal undo `addAwaitSource` */
export function removeAwaitSource(waiter: Future<unknown>, source: AwaitSource): void {
  const s = sources.get(waiter);
  if (s === undefined) return;
  s.delete(source);
  if (s.size === 0) sources.delete(waiter);
}

function checkFutures(future: unknown, waiter: unknown): boolean {
  // (CPython: "otherwise the call would have no effect"; we say so instead, since it is a mistake)
  if (!(future instanceof Future)) throw new TypeError(`Expected future to be a Future or Task, got ${describe(future)}`);
  if (!(waiter instanceof Future)) throw new TypeError(`Expected waiter to be a Future or Task, got ${describe(waiter)}`);
  return true;
}

/**
 * Record that `future` is awaited by `waiter` (CPython 3.14's `future_add_to_awaited_by`), for call
 * graphs: use it when your own intermediate future stands between a task and what it waits for. Pair
 * it with `futureDiscardFromAwaitedBy(future, waiter)` once the wait is over.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop, currentTask, futureAddToAwaitedBy, futureDiscardFromAwaitedBy, captureCallGraph } from "asyncio-ts";
 * await run(async () => {
 *   const relay = getRunningLoop().createFuture<void>();
 *   futureAddToAwaitedBy(relay, currentTask()!);
 *   console.log(captureCallGraph(relay)!.awaitedBy.length); // 1
 *   futureDiscardFromAwaitedBy(relay, currentTask()!);
 * });
 * ```
 */
export function futureAddToAwaitedBy(future: Future<unknown>, waiter: Future<unknown>): void {
  checkFutures(future, waiter);
  let s = hints.get(future);
  if (s === undefined) hints.set(future, (s = new Set()));
  s.add(waiter);
}

/**
 * Undo `futureAddToAwaitedBy(future, waiter)` (CPython 3.14's `future_discard_from_awaited_by`); a link
 * that was never made is ignored.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop, currentTask, futureAddToAwaitedBy, futureDiscardFromAwaitedBy } from "asyncio-ts";
 * await run(async () => {
 *   const relay = getRunningLoop().createFuture<void>();
 *   futureAddToAwaitedBy(relay, currentTask()!);
 *   futureDiscardFromAwaitedBy(relay, currentTask()!);
 * });
 * ```
 */
export function futureDiscardFromAwaitedBy(future: Future<unknown>, waiter: Future<unknown>): void {
  checkFutures(future, waiter);
  const s = hints.get(future);
  if (s === undefined) return;
  s.delete(waiter);
  if (s.size === 0) hints.delete(future);
}

/** @internal what `f` waits on now: its own awaits and its registered sources' futures (not done) */
export function awaitsOf(f: Future<unknown>): Future<unknown>[] {
  const out = [...f._awaits()];
  const s = sources.get(f);
  if (s !== undefined) for (const src of s) for (const x of src._awaitedFutures()) if (!x.done()) out.push(x);
  return out;
}

/** @internal the waiters linked to `f` by `futureAddToAwaitedBy` */
export function awaitedByHints(f: Future<unknown>): Future<unknown>[] {
  const s = hints.get(f);
  return s === undefined ? [] : [...s];
}

/**
 * @internal every "awaited by" edge among the live tasks of `f`'s loop and what they wait on, read now:
 * awaited future → its waiters (tasks and futures), in the order the tasks were created
 */
export function awaitedByEdges(tasks: Iterable<Future<unknown>>): Map<Future<unknown>, Future<unknown>[]> {
  const rev = new Map<Future<unknown>, Future<unknown>[]>();
  const seen = new Set<Future<unknown>>();
  const stack: Future<unknown>[] = [...tasks].reverse();
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const a of awaitsOf(f)) {
      let w = rev.get(a);
      if (w === undefined) rev.set(a, (w = []));
      if (!w.includes(f)) w.push(f);
      if (!seen.has(a)) stack.push(a);
    }
  }
  return rev;
}
