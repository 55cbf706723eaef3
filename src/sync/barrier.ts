/**
 * `Barrier`: CPython's `asyncio.Barrier` (3.11+), a meeting point for a fixed number of tasks.
 *
 * ## Approach
 * CPython's state machine over one `Condition`: FILLING (tasks arrive and wait) → DRAINING (the last
 * arrival notifies all; they leave one by one) → FILLING again when the last one has left. `reset()`
 * moves to RESETTING (waiters throw `BrokenBarrierError`; the barrier fills again once they have left),
 * `abort()` to BROKEN (every current and future `wait()` throws until `reset()`). Tasks arriving while
 * the barrier drains or resets wait for the next round. All state changes happen under the condition's
 * lock, so each step sees a consistent state; every waiter re-checks the state after a wake-up.
 *
 * @module
 */
import { BrokenBarrierError, checkCount } from "../core/index.js";
import { Condition } from "./condition.js";
import { readSignal, type AbortOptions } from "./abort-signal.js";

/**
 * A barrier's state, named as in CPython's `_BarrierState`.
 * @example `if (barrier.statistics().state === "draining") console.log("passing");`
 */
export type BarrierState = "filling" | "draining" | "resetting" | "broken";

/**
 * What `Barrier.statistics()` reports.
 * @example `const { nWaiting, state } = barrier.statistics();`
 */
export interface BarrierStatistics {
  /** Tasks needed to pass. */
  parties: number;
  /** Tasks waiting for the barrier to fill. */
  nWaiting: number;
  /** The state (filling, draining, resetting, broken). */
  state: BarrierState;
}

/**
 * A barrier (CPython's `asyncio.Barrier`): `wait()` blocks until `parties` tasks wait, then all pass;
 * each gets a distinct arrival index from 0 to `parties - 1`.
 *
 * @example
 * ```ts
 * import { run, createTask, gather, Barrier } from "asyncio-ts";
 * await run(async () => {
 *   const barrier = new Barrier(3);
 *   const idx = await gather(...[0, 1, 2].map(() => createTask(() => barrier.wait())));
 *   console.log(idx); // [0, 1, 2]
 * }, { virtualTime: true });
 * ```
 */
export class Barrier {
  /** @internal notified on every state change; its lock guards `_state` and `_count` */
  readonly _cond = new Condition();
  /** @internal tasks needed to pass; >= 1 */
  readonly _parties: number;
  /** @internal see `BarrierState` */
  _state: BarrierState = "filling";
  /** @internal tasks inside `wait()` past `_block()` (filling or draining); 0 <= _count <= _parties */
  _count = 0;

  /** @param parties how many tasks must wait before all pass; a positive integer */
  constructor(parties: number) {
    this._parties = checkCount(parties, "parties", { min: 1 });
    // (a task blocked here waits in the barrier, whatever the barrier is built on)
    this._cond._waiters._label = "Barrier.wait";
    this._cond._lock._waiters._label = "Barrier.wait";
  }

  /**
   * Wait until `parties` tasks wait, then pass; resolves to this task's arrival index (0-based). Throws
   * `BrokenBarrierError` if the barrier is aborted, or reset while waiting.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`)
   * @example `const index = await barrier.wait(); if (index === 0) console.log("first to arrive");`
   */
  async wait(options?: AbortOptions): Promise<number> {
    readSignal(options);
    await this._cond.acquire(options);
    try {
      await this._block(options);
      const index = this._count++;
      try {
        if (index + 1 === this._parties) this._release();
        else await this._wait(options);
        return index;
      } finally {
        this._count--;
        this._exit();
      }
    } finally {
      this._cond.release();
    }
  }

  /** @internal wait while the barrier drains or resets; throw if it is broken */
  async _block(options: AbortOptions | undefined): Promise<void> {
    await this._cond.waitFor(() => this._state !== "draining" && this._state !== "resetting", options);
    if (this._state === "broken") throw new BrokenBarrierError("Barrier aborted");
  }

  /** @internal the last arrival lets everyone through */
  _release(): void {
    this._state = "draining";
    this._cond.notifyAll();
  }

  /** @internal wait until the barrier fills; throw if it is reset or aborted meanwhile */
  async _wait(options: AbortOptions | undefined): Promise<void> {
    await this._cond.waitFor(() => this._state !== "filling", options);
    if (this._state === "broken" || this._state === "resetting") {
      throw new BrokenBarrierError("Abort or reset of barrier");
    }
  }

  /** @internal the last task to leave refills the barrier and wakes tasks waiting for the next round */
  _exit(): void {
    if (this._count === 0) {
      if (this._state === "resetting" || this._state === "draining") this._state = "filling";
      this._cond.notifyAll();
    }
  }

  /**
   * Return to the initial (filling) state; tasks waiting now throw `BrokenBarrierError`.
   * @example `await barrier.reset();`
   */
  async reset(): Promise<void> {
    await this._cond.withLock(() => {
      if (this._count > 0) {
        if (this._state !== "resetting") this._state = "resetting";
      } else {
        this._state = "filling";
      }
      this._cond.notifyAll();
    });
  }

  /**
   * Break the barrier: current and future `wait()` calls throw `BrokenBarrierError` until `reset()`.
   * @example `await barrier.abort();`
   */
  async abort(): Promise<void> {
    await this._cond.withLock(() => {
      this._state = "broken";
      this._cond.notifyAll();
    });
  }

  /**
   * How many tasks must wait before all pass.
   * @example `new Barrier(3).parties // 3`
   */
  get parties(): number {
    return this._parties;
  }

  /**
   * How many tasks wait for the barrier to fill (0 while it drains).
   * @example `console.log(barrier.nWaiting, "of", barrier.parties, "arrived");`
   */
  get nWaiting(): number {
    return this._state === "filling" ? this._count : 0;
  }

  /**
   * True if the barrier was aborted (and not reset since).
   * @example `if (barrier.broken) await barrier.reset();`
   */
  get broken(): boolean {
    return this._state === "broken";
  }

  /**
   * For debugging: parties, waiting tasks and state.
   * @example `console.log(barrier.statistics()); // { parties: 3, nWaiting: 1, state: "filling" }`
   */
  statistics(): BarrierStatistics {
    return { parties: this._parties, nWaiting: this.nWaiting, state: this._state };
  }

  /** @internal */
  toString(): string {
    const extra = this.broken ? this._state : `${this._state}, waiters:${this.nWaiting}/${this._parties}`;
    return `<Barrier [${extra}]>`;
  }
}
