/**
 * Which jobs of a `JobQueue` each `AbortSignal` ends (`add(fn, { signal })`), with one `abort` listener
 * per signal however many jobs share it.
 *
 * ## Approach
 * A map from signal to the set of its jobs still waiting or running. The first job of a signal adds the
 * signal's one listener; the last job to leave (it finished, was cancelled or cleared) removes it, so a
 * long-lived signal (a request's, a component's) holds no listener and no job after the jobs are done.
 * When the signal aborts, its entry leaves the map and the queue is handed the jobs (`JobQueue._onAbort`
 * decides what an abort does to a waiting and to a running job).
 *
 * ## Rejected alternatives
 * - A listener per job (p-queue): 10,000 jobs sharing one signal add 10,000 listeners; Node prints a
 *   `MaxListenersExceededWarning` from the 11th (measured on Node 20), searches them linearly on each
 *   removal, and each abort would report the line's change once per job instead of once.
 *
 * @module
 */

/** Invariant: `jobs` is never empty while its entry is in the map; `onAbort` is the signal's listener. */
interface Entry<J> {
  jobs: Set<J>;
  onAbort: () => void;
}

/** @internal the signals of one queue's jobs */
export class SignalJobs<J> {
  /** null until a job with a signal is added */
  private _map: Map<AbortSignal, Entry<J>> | null = null;

  /** @param _aborted called with a signal that aborted and the jobs it held (their entry already gone) */
  constructor(private readonly _aborted: (signal: AbortSignal, jobs: Set<J>) => void) {}

  /** `job` ends when `signal` aborts. */
  add(job: J, signal: AbortSignal): void {
    const map = (this._map ??= new Map());
    let entry = map.get(signal);
    if (entry === undefined) {
      const onAbort = (): void => this._abort(signal);
      entry = { jobs: new Set(), onAbort };
      map.set(signal, entry);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    entry.jobs.add(job);
  }

  /** `job` left the queue: `signal` no longer ends it (its listener goes with its last job). */
  delete(job: J, signal: AbortSignal): void {
    const map = this._map;
    const entry = map?.get(signal);
    if (entry === undefined || !entry.jobs.delete(job) || entry.jobs.size > 0) return;
    map!.delete(signal);
    signal.removeEventListener("abort", entry.onAbort);
  }

  /** Forget every signal (the loop closed: the jobs are gone). The listeners find no entry and do nothing. */
  clear(): void {
    this._map = null;
  }

  private _abort(signal: AbortSignal): void {
    const entry = this._map?.get(signal);
    if (entry === undefined) return;
    this._map!.delete(signal);
    this._aborted(signal, entry.jobs);
  }
}
