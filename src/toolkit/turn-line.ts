/**
 * The line of producers waiting for a turn: a channel's senders waiting for a slot, a broadcast's
 * publishers waiting for room in every subscriber.
 *
 * ## Approach
 * A producer hands its value over only while it runs itself (in asyncio a woken task can still be
 * cancelled before it runs, and a cancelled `send` must not have delivered). So a waker gives a turn
 * (wakes the oldest waiter with a code, counting it in `woken`) and the woken producer takes it when it
 * runs. One that finds its turn gone meanwhile (a receiver gave a value back) parks again in `retry`,
 * served before `line`: it is older than everyone there. A producer whose wait ends in an error gives
 * back what it was counted for (`left`), and a turn it was given goes to the next one (its owner then
 * calls its own balance).
 *
 * Rejected: one copy of this bookkeeping in each of `channel.ts` and `broadcast.ts` (the two copies this
 * module replaces differed only in their names).
 *
 * @module
 */
import type { EventLoop } from "../core/index.js";
import { type Waiter, WaiterQueue } from "../sync/wait-queue.js";

/** @internal */
export class TurnLine {
  /** waiters that have not been given a turn yet, oldest first */
  readonly line: WaiterQueue<number>;
  /** woken waiters that lost their turn before they ran: served before `line` (they are older) */
  readonly retry: WaiterQueue<number>;
  /** Invariant: the number of waiters linked in `line` and `retry`, cancelled ones included until unlinked */
  waiting = 0;
  /** Invariant: waiters woken with a turn that have not run yet (the turns given out) */
  woken = 0;

  constructor(label: string) {
    this.line = new WaiterQueue<number>(label);
    this.retry = new WaiterQueue<number>(label);
  }

  /** True when nobody waits or holds a turn: a newcomer may go first. */
  noneAhead(): boolean {
    return this.line._size === 0 && this.retry._size === 0 && this.woken === 0;
  }

  /** Park a producer (`claimed`: it was given a turn and lost it, so it goes to `retry`). */
  park(claimed: boolean, loop: EventLoop, payload?: unknown): { w: Waiter<number>; q: WaiterQueue<number> } {
    const q = claimed ? this.retry : this.line;
    const w = q.park(loop, payload);
    this.waiting++;
    return { w, q };
  }

  /** Wake the oldest waiter (`retry` first) with `code`, unlinking the cancelled ones before it; false if none. */
  pop(code: number): boolean {
    return (this.retry._size > 0 && this.popFrom(this.retry, code)) || this.popFrom(this.line, code);
  }

  private popFrom(q: WaiterQueue<number>, code: number): boolean {
    for (let w = q.first(); w !== null; w = q.first()) {
      q.remove(w);
      this.waiting--;
      if (!w.done()) {
        w.setResult(code);
        return true;
      }
    }
    return false;
  }

  /** Wake every waiter with `code` (to look again). */
  wakeAll(code: number): void {
    while (this.waiting > 0 && this.pop(code)) {
      /* keep waking */
    }
  }

  /**
   * A waiter parked on `q` ended in an error (cancelled, aborted): uncount it. Still linked, it was
   * cancelled while parked; woken with `turn` and cancelled before it ran, its turn is given back (the
   * owner's balance hands it on).
   */
  left(w: Waiter<number>, q: WaiterQueue<number>, turn: number): void {
    w.cancel();
    if (q.remove(w)) this.waiting--;
    else if (!w.cancelled() && w.result() === turn) this.woken--;
  }

  /** The number of producers waiting (for statistics). */
  pendingCount(): number {
    return this.line.pendingCount() + this.retry.pendingCount();
  }
}
