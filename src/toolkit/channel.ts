/**
 * Memory channels: Trio's `open_memory_channel` (`trio/_channel.py`) on asyncio's loop. A channel is a
 * pair of ends, `[send, receive]`; each end can be cloned and closed on its own, and the channel knows
 * when every producer is done (`EndOfChannel` for the receivers once the buffer is drained) and when
 * every consumer left (`BrokenResourceError` for the senders).
 *
 * ## Approach
 * One shared `ChannelState` (Trio's `MemoryChannelState`) holds the buffer, the counts of open ends and
 * two FIFO wait queues of the project (`sync/wait-queue.ts`), receivers and senders, so cancellation by
 * `task.cancel()`, `timeout`, `CancelScope`, a `TaskGroup` or an `AbortSignal` reaches every wait, as for
 * `Queue`. The state is kept balanced by one function, `_balance()`, called after every change:
 * - An item goes to the oldest waiting receiver as it is sent, and the receiver is *woken with a
 *   reservation* (`TAKE`): one of the buffered items is its own (`_reserved` counts them), and it takes
 *   the front item when it runs. Newcomers see only the unreserved items, so a receiver that waited is
 *   never overtaken (Trio's `test_channel_fairness`). Rendezvous (`maxBufferSize` 0) is the same rule with
 *   no room: an item enters the buffer only reserved for a receiver, so `send()` completes when a waiting
 *   receiver has been handed the value (it takes it when it runs; see "The hand-off race").
 * - A sender waits without handing its value over. It is woken with a *slot* (`SLOT`: room in the buffer,
 *   or a receiver waiting) and delivers when it runs. Newcomers queue behind waiting and woken senders.
 *
 * Why the two sides differ (the asyncio constraint Trio does not have): in asyncio a task that was woken
 * can still be cancelled before it runs, and its `await` then throws `CancelledError` (CPython's
 * `_must_cancel`; the kernel here does the same). Trio's `receive_nowait` takes the value of a waiting
 * sender and reschedules it: here that sender could be cancelled after its value was taken, and a
 * cancelled `send` would have delivered. So a sender's value leaves it only while the sender runs. A
 * receiver woken with an item and cancelled before it runs gives the reservation back (`_receiverLeft`):
 * the item goes to the next waiting receiver, or stays first in the buffer. Hence Trio's guarantees: a
 * cancelled `send` delivered nothing, a cancelled `receive` consumed nothing.
 *
 * ## The hand-off race
 * A value handed to a waiting receiver whose cancellation arrives before it runs (the same step: a
 * `timeout` expiring as the sender's `sleep` ends) is given back: to the next waiting receiver, or first
 * in the buffer, where it may exceed `maxBufferSize` (`currentBufferUsed` 1 on a rendezvous) until it is
 * received; no new value is let in meanwhile. Trio's hand-off is final instead (`send_nowait` does
 * `reschedule(task, Value(value))`, the receive returns the value, the cancellation comes at the next
 * checkpoint); here the woken await throws (`cancelAwait` in core/cancellation.ts, as CPython's
 * `_must_cancel`). Of the three guarantees (cancelled `send` delivered nothing, cancelled `receive`
 * consumed nothing, never more than `maxBufferSize` buffered) one must give whenever a task can be
 * cancelled after it was woken: whichever side of the exchange is woken last can be. The bound gives
 * (anyio's memory object streams made the same choice, agronholm/anyio#147). Rejected:
 * - Holding the sender until the receiver ran (the value goes back to it if the receiver left): the
 *   sender, woken after the take, can be cancelled before it runs, and its `send` then throws
 *   `CancelledError` after delivering: a caller that retries duplicates the value.
 * - Returning the value from a woken-then-cancelled `receive` (swallowing the `CancelledError`): the
 *   task carries on as if not cancelled (a `TaskGroup` shutting down a `for await` consumer would wait
 *   for the end of the channel); re-raising at the next await needs the kernel (`_mustCancel`).
 *
 * Two consequences, documented on the methods: on a rendezvous channel `receiveNowait()` cannot take a
 * waiting sender's value (it throws `WouldBlock` unless a value is buffered), and `receive()` with a
 * sender waiting suspends until that sender ran (one loop iteration). And, as in asyncio (not Trio), an
 * operation that need not wait does not yield to the loop (`Queue.put`, `Lock.acquire` do the same).
 *
 * Reservations are counts, not tags on items: the buffer is FIFO and every take removes its front, so
 * items leave in the order they were sent, whoever takes them.
 *
 * ## Rejected alternatives
 * - Trio's hand-off of the sender's value to a receiver that takes it (the receiver pulls from a waiting
 *   sender): a sender woken after delivery can be cancelled before it runs (see above).
 * - CPython's `Queue` shape alone (wake a getter, which re-checks): no rendezvous (a bound of 0 means
 *   unbounded there, and an item must wait somewhere until a receiver runs), and a newcomer may take the
 *   item meant for a waiting receiver (Trio's fairness test fails).
 * - Building on `Queue` itself: it cannot tell which end a waiter used (closing one clone must fail only
 *   that clone's waiters), nor reserve items, and `src/queues` is not this module's to change.
 * - A woken sender that lost its slot (the receiver it was woken for was cancelled) parking again at the
 *   tail: it would lose its place. It parks in its line's `retry`, served before the others (`turn-line.ts`).
 *
 * As in Trio, closing the last receive end drops the values still buffered (nobody can receive them);
 * values already handed to a woken receiver are still delivered to it.
 *
 * ## Cost
 * Measured (`bench/suites/channels.mjs`, Node 20, 100,000 items, 1 producer and 1 consumer, medians of
 * one quick run on a busy 2-core machine): rendezvous 2,314 ns per item vs `Queue(1)` 2,600; buffer 1:
 * 2,183 vs `Queue(1)` 3,254; buffer 64: 319 vs `Queue(64)` 313. Both wait paths are `async` methods (as
 * `Queue`'s); a receive's after-code is synchronous, so it could use the wait queue's `waitSettling`
 * (no async function per wait, as `Lock.acquire`) if the rendezvous case ever needs it.
 *
 * `Broadcast` (`broadcast.ts`) builds its subscriptions on this state: `SubscriptionState` adds the
 * strategies, and `_listener` tells the broadcast when a take freed room.
 *
 * @module
 */
import { type AsyncioError, BrokenResourceError, checkCount, ClosedResourceError, EndOfChannel, type EventLoop, WouldBlock } from "../core/index.js";
import { RESOLVED_VOID, type Waiter, WaiterQueue } from "../sync/wait-queue.js";
import { abortReason, readSignal, waitOn, type AbortOptions } from "../sync/abort-signal.js";
import { bindLoop } from "../sync/loop-binding.js";
import { TurnLine } from "./turn-line.js";

// ------------------------------------------------------------------------------------------ errors
// (`EndOfChannel`, `BrokenResourceError`, `ClosedResourceError` are the kernel's, core/errors.ts: an
// executor rebuilds them across a worker boundary)

/** @internal */
export function closedError(what: string, method: string, role: "producer" | "consumer"): ClosedResourceError {
  return new ClosedResourceError(
    `${method}() on a ${what} that was closed: this end is finished; give each ${role} its own clone() and close each clone when that ${role} is done`,
  );
}

function brokenError(method: string): BrokenResourceError {
  return new BrokenResourceError(
    `${method}() on a channel whose receive ends are all closed: nobody will receive this value; stop producing and close this send end`,
  );
}

function endError(method: string): EndOfChannel {
  return new EndOfChannel(
    `${method}() on a channel whose send ends are all closed and whose buffer is empty: no value will come; stop receiving (for await ends here by itself)`,
  );
}

// ------------------------------------------------------------------------------------------ storage

/** A growable ring buffer: FIFO storage with O(1) push, shift and pop. @internal */
export class Ring<T> {
  /** Invariant: capacity is a power of two; items live at `_buf[(_head + i) & _mask]` for i < length */
  _buf: Array<T | undefined> = new Array<T | undefined>(8);
  _mask = 7;
  _head = 0;
  length = 0;

  push(item: T): void {
    if (this.length === this._buf.length) this._grow();
    this._buf[(this._head + this.length) & this._mask] = item;
    this.length++;
  }

  /** Remove and return the oldest item (the ring must not be empty). */
  shift(): T {
    const h = this._head;
    const item = this._buf[h] as T;
    this._buf[h] = undefined;
    this._head = (h + 1) & this._mask;
    this.length--;
    return item;
  }

  /** Remove the newest item (the ring must not be empty). */
  pop(): void {
    this.length--;
    this._buf[(this._head + this.length) & this._mask] = undefined;
  }

  /** Remove the item at `i` (0: the oldest), moving the older ones up: O(i). */
  removeAt(i: number): void {
    for (let j = i; j > 0; j--) this._buf[(this._head + j) & this._mask] = this._buf[(this._head + j - 1) & this._mask];
    this.shift();
  }

  private _grow(): void {
    const cap = this._buf.length * 2;
    const next = new Array<T | undefined>(cap);
    for (let i = 0; i < this.length; i++) next[i] = this._buf[(this._head + i) & this._mask];
    this._buf = next;
    this._mask = cap - 1;
    this._head = 0;
  }
}

// ------------------------------------------------------------------------------------------ state

/** A receiver's wake-up: state changed, look again (end of channel, its end closed). @internal */
export const RECHECK = 0;
/** A receiver's wake-up: one buffered item is reserved for it. @internal */
export const TAKE = 1;
/** A sender's wake-up: a slot (room, or a waiting receiver) is claimed for it. @internal */
export const SLOT = 1;

/** Who hears that room was freed in a channel (a `Broadcast`, for its waiting publishers). @internal */
export interface RoomListener {
  _roomFreed(): void;
}

/** What an end's `statistics()` reports (Trio's `MemoryChannelStatistics`, in camelCase). */
export interface MemoryChannelStatistics {
  /**
   * Values buffered and not yet handed to a receiver. At most `maxBufferSize`, except for values given
   * back by receivers cancelled after they were handed one (see the module comment, "The hand-off race").
   */
  currentBufferUsed: number;
  /** The bound given to `openMemoryChannel` (0: rendezvous; `Infinity`: unbounded). */
  maxBufferSize: number;
  /** Send ends (the first and its clones) not closed yet. */
  openSendChannels: number;
  /** Receive ends not closed yet. */
  openReceiveChannels: number;
  /** Tasks blocked in `send()`, on any clone. */
  tasksWaitingSend: number;
  /** Tasks blocked in `receive()`, on any clone. */
  tasksWaitingReceive: number;
}

/**
 * The channel shared by all its ends (Trio's `MemoryChannelState`).
 * @internal
 */
export class ChannelState<T> {
  /** the bound: an integer >= 0 or Infinity */
  readonly _max: number;
  /**
   * Invariant: FIFO of the values sent and not yet taken; the first `_reserved` count as handed to woken
   * receivers, the rest (`_buf.length - _reserved`, "unreserved") against `_max`. Unreserved items exceed
   * `_max` only after a woken receiver was cancelled and gave its item back.
   */
  readonly _buf = new Ring<T>();
  /** Invariant: the number of receivers woken with `TAKE` that have not run; `<= _buf.length` */
  _reserved = 0;
  /** open send ends (a `Broadcast` counts as one) and receive ends */
  _sendersOpen = 0;
  _receiversOpen = 0;
  /** receivers waiting (payload: their end); the waker unlinks the one it wakes */
  readonly _receivers: WaiterQueue<number>;
  /** senders waiting for a slot (payload: their end; `turn-line.ts`): `waiting`, `woken` (with `SLOT`) */
  readonly _senders: TurnLine;
  /**
   * Invariant: the receivers linked in `_receivers`: parked and not woken by us, or cancelled and not
   * unlinked yet. A cancelled one is uncounted by whoever unlinks it: a waker passing it (`_popReceiver`)
   * or its own cleanup (`_receiverLeft`). So once a waker found nobody to wake, the count is exact: a
   * sender that lost its slot cannot be woken again for a receiver that left (awaiting a done waiter
   * does not yield: that would spin).
   */
  _receiversWaiting = 0;
  /** the loop waiters are made on; bound on first wait */
  _loop: EventLoop | null = null;
  /** told when a take frees room (the `Broadcast` of a subscription); null for a plain channel */
  _listener: RoomListener | null = null;

  constructor(max: number, receiveLabel: string, sendLabel: string) {
    this._max = max;
    this._receivers = new WaiterQueue<number>(receiveLabel);
    this._senders = new TurnLine(sendLabel);
  }

  /** Items a newcomer `receive()` may take (not reserved for woken receivers). */
  _unreserved(): number {
    return this._buf.length - this._reserved;
  }

  /** True if a sender arriving now may deliver without queueing behind other senders (FIFO). */
  _noSenderAhead(): boolean {
    return this._senders.noneAhead();
  }

  /**
   * Deliver `v` now if there is a slot: to the oldest waiting receiver (woken with the item reserved),
   * else into the buffer if it has room. False if neither: nothing changed.
   */
  _deliver(v: T): boolean {
    if (this._receiversWaiting > 0 && this._popReceiver(TAKE)) {
      this._buf.push(v);
      this._reserved++;
      return true;
    }
    if (this._buf.length - this._reserved < this._max) {
      this._buf.push(v);
      return true;
    }
    return false;
  }

  /** Take the front item as a newcomer (there is an unreserved one). */
  _take(): T {
    const v = this._buf.shift();
    if (this._senders.waiting > 0 || this._sendersOpen === 0) this._balance();
    if (this._listener !== null) this._listener._roomFreed();
    return v;
  }

  /** Take the front item as a receiver woken with `TAKE` (its reservation is already given back). */
  _takeReserved(): T {
    const v = this._buf.shift();
    if (this._sendersOpen === 0 && this._buf.length === 0 && this._receiversWaiting > 0) this._balance();
    return v;
  }

  /**
   * Restore the invariants after any change: hand unreserved items to waiting receivers; at the end of
   * the channel wake every receiver (to throw `EndOfChannel`); once no receive end is open, drop the
   * unreserved items and wake every sender (to throw `BrokenResourceError`); else give each free slot
   * to a waiting sender, oldest first.
   */
  _balance(): void {
    if (this._receiversOpen === 0) {
      while (this._buf.length > this._reserved) this._buf.pop();
      this._senders.wakeAll(RECHECK);
      return;
    }
    while (this._buf.length > this._reserved && this._receiversWaiting > 0 && this._popReceiver(TAKE)) this._reserved++;
    if (this._sendersOpen === 0) {
      if (this._buf.length === 0) this._wakeAllReceivers();
      return;
    }
    const senders = this._senders;
    let free = this._max - (this._buf.length - this._reserved) + this._receiversWaiting - senders.woken;
    while (free > 0 && senders.waiting > 0 && senders.pop(SLOT)) {
      senders.woken++;
      free--;
    }
  }

  /**
   * Wake the oldest waiting receiver with `code`, unlinking (and uncounting) the cancelled ones before
   * it; false if there is none.
   */
  _popReceiver(code: number): boolean {
    const q = this._receivers;
    for (let w = q.first(); w !== null; w = q.first()) {
      q.remove(w);
      this._receiversWaiting--;
      if (!w.done()) {
        w.setResult(code);
        return true;
      }
    }
    return false;
  }

  /** Wake every waiting receiver to look again. */
  _wakeAllReceivers(): void {
    while (this._receiversWaiting > 0 && this._popReceiver(RECHECK)) {
      /* keep waking */
    }
  }

  /** Wake the waiters that `end` parked on `q` (its close): they look again and throw. Returns how many. */
  _wakeEnd(q: WaiterQueue<number>, end: object): number {
    const mine: Waiter<number>[] = [];
    for (const w of q) if (!w.done() && w._payload === end) mine.push(w);
    for (const w of mine) {
      q.remove(w);
      w.setResult(RECHECK);
    }
    return mine.length;
  }

  /**
   * A sender's wait ended in an error (cancelled, aborted): undo what it was counted for. Still linked, it
   * was cancelled while parked (a waker that passes a cancelled waiter unlinks and uncounts it); woken
   * with a slot and cancelled before it ran, its slot goes on.
   */
  _senderLeft(w: Waiter<number>, q: WaiterQueue<number>): void {
    this._senders.left(w, q, SLOT);
    this._balance();
  }

  /** A receiver's wait ended in an error: a reserved item goes to the next receiver, or back unreserved. */
  _receiverLeft(w: Waiter<number>): void {
    w.cancel();
    if (this._receivers.remove(w)) this._receiversWaiting--;
    else if (!w.cancelled() && w.result() === TAKE) {
      this._reserved--;
      this._balance();
    }
  }

  statistics(): MemoryChannelStatistics {
    return {
      currentBufferUsed: this._buf.length - this._reserved,
      maxBufferSize: this._max,
      openSendChannels: this._sendersOpen,
      openReceiveChannels: this._receiversOpen,
      tasksWaitingSend: this._senders.pendingCount(),
      tasksWaitingReceive: this._receivers.pendingCount(),
    };
  }
}

// ------------------------------------------------------------------------------------------ the ends

/**
 * The sending end of a memory channel (Trio's `MemorySendChannel`); made by `openMemoryChannel`, never
 * directly. Several tasks may send at once: they deliver in the order they called `send()`.
 *
 * @example
 * ```ts
 * import { run, createTask, openMemoryChannel } from "asyncio-ts";
 * await run(async () => {
 *   const [send, receive] = openMemoryChannel<string>(0);
 *   const producer = createTask(async () => {
 *     using s = send; // closed when the producer is done: the consumer's loop then ends
 *     for (const word of ["a", "b", "c"]) await s.send(word);
 *   });
 *   for await (const word of receive) console.log(word); // a, b, c
 *   await producer;
 * }, { virtualTime: true });
 * ```
 */
export class MemorySendChannel<T> {
  /** @internal the channel */
  readonly _state: ChannelState<T>;
  /** @internal once true, stays true */
  _closed = false;

  /** @internal use `openMemoryChannel` */
  constructor(state: ChannelState<T>) {
    this._state = state;
    state._sendersOpen++;
  }

  /**
   * Send a value, waiting while the buffer is full (on a rendezvous channel, until it is handed to a
   * waiting receiver).
   * Throws `ClosedResourceError` if this end was closed (also while waiting), `BrokenResourceError` if
   * every receive end is closed. Cancelled (or aborted) while waiting, it delivered nothing. It does not
   * yield to the loop when it need not wait (asyncio's convention, unlike Trio's checkpoint).
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`; nothing sent)
   * @example `await send.send(job);`
   */
  send(value: T, options?: AbortOptions): Promise<void> {
    const s = this._state;
    if (options === undefined && !this._closed && s._receiversOpen > 0 && s._noSenderAhead() && s._deliver(value)) {
      return RESOLVED_VOID;
    }
    return this._sendSlow(value, options);
  }

  /** @internal the waiting send: parks until a slot is claimed for it, then delivers as it runs */
  async _sendSlow(value: T, options: AbortOptions | undefined): Promise<void> {
    const signal = readSignal(options);
    const s = this._state;
    let claimed = false; // woken with a slot that is ours
    for (;;) {
      const err = this._error("send");
      if (err !== null) {
        if (claimed) s._balance(); // the slot goes to the next sender
        throw err;
      }
      if ((claimed || s._noSenderAhead()) && s._deliver(value)) return;
      const { w, q } = s._senders.park(claimed, bindLoop(s, "MemorySendChannel"), this);
      s._balance();
      try {
        await waitOn(w, signal);
      } catch (e) {
        s._senderLeft(w, q);
        throw abortReason(w, e);
      }
      claimed = w.result() === SLOT;
      if (claimed) s._senders.woken--;
    }
  }

  /**
   * Send without waiting: throws `WouldBlock` if the value cannot be delivered now (the buffer is full
   * and no receiver waits, or other senders wait first), `ClosedResourceError`, `BrokenResourceError`.
   * @example `try { send.sendNowait(reading); } catch (e) { if (e instanceof WouldBlock) dropped++; else throw e; }`
   */
  sendNowait(value: T): void {
    const err = this._error("sendNowait");
    if (err !== null) throw err;
    const s = this._state;
    if (!(s._noSenderAhead() && s._deliver(value))) {
      throw new WouldBlock(
        `sendNowait() cannot deliver now: ${s._max === 0 ? "no receiver is waiting (maxBufferSize 0: a rendezvous)" : `the buffer holds its maxBufferSize (${s._max}) values and no receiver is waiting`}, or other senders wait first; await send() to wait for room`,
      );
    }
  }

  /** @internal what a send on this end would throw now, or null */
  _error(method: string): AsyncioError | null {
    if (this._closed) return closedError("MemorySendChannel", method, "producer");
    if (this._state._receiversOpen === 0) return brokenError(method);
    return null;
  }

  /**
   * A new send end on the same channel. Receivers see `EndOfChannel` only once every clone is closed, so
   * give each producer its own clone and close it when that producer is done. Throws
   * `ClosedResourceError` on a closed end.
   * @example `for (const id of ids) { const mine = send.clone(); tg.createTask(() => produce(id, mine)); } send.close(); // clone before the task runs`
   */
  clone(): MemorySendChannel<T> {
    if (this._closed) throw closedError("MemorySendChannel", "clone", "producer");
    return new MemorySendChannel<T>(this._state);
  }

  /**
   * Close this end (idempotent). Tasks waiting in `send()` on it throw `ClosedResourceError`; once every
   * send end is closed, receivers drain the buffer and then get `EndOfChannel`. Synchronous, so it is
   * safe in a `finally` of a cancelled task; `using send = ...` calls it too.
   * @example `try { for (const x of xs) await send.send(x); } finally { send.close(); }`
   */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    const s = this._state;
    s._sendersOpen--;
    s._senders.waiting -= s._wakeEnd(s._senders.line, this) + s._wakeEnd(s._senders.retry, this);
    s._balance();
  }

  /**
   * `close()`, for `using send = ...`.
   * @example `{ using s = send.clone(); await s.send(1); } // closed here`
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * `close()`, for `await using send = ...`.
   * @example `{ await using s = send.clone(); await s.send(1); } // closed here`
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return RESOLVED_VOID;
  }

  /**
   * The channel's figures (the same from every end and clone).
   * @example `const { currentBufferUsed, tasksWaitingSend } = send.statistics();`
   */
  statistics(): MemoryChannelStatistics {
    return this._state.statistics();
  }
}

/**
 * The receiving end of a memory channel (Trio's `MemoryReceiveChannel`); made by `openMemoryChannel`,
 * never directly. Several tasks may receive at once: each value goes to one of them, waiting receivers
 * served in the order they called `receive()`. Async iterable: `for await (const x of receive)` ends when
 * every send end is closed and the buffer is drained.
 *
 * @example
 * ```ts
 * import { run, createTask, gather, openMemoryChannel } from "asyncio-ts";
 * await run(async () => {
 *   const [send, receive] = openMemoryChannel<number>(4);
 *   const worker = (name: string, r: typeof receive) => createTask(async () => {
 *     let n = 0;
 *     for await (const _job of r) n++;
 *     r.close();
 *     return `${name}: ${n}`;
 *   });
 *   const workers = [worker("w1", receive.clone()), worker("w2", receive.clone())];
 *   receive.close();
 *   for (let i = 0; i < 10; i++) await send.send(i);
 *   send.close();
 *   console.log(await gather(...workers)); // [ 'w1: 9', 'w2: 1' ]: each job went to one worker
 * }, { virtualTime: true });
 * ```
 */
export class MemoryReceiveChannel<T> implements AsyncIterable<T> {
  /** @internal the channel */
  readonly _state: ChannelState<T>;
  /** @internal once true, stays true */
  _closed = false;

  /** @internal use `openMemoryChannel` */
  constructor(state: ChannelState<T>) {
    this._state = state;
    state._receiversOpen++;
  }

  /**
   * Receive the next value, waiting until one is sent. Throws `EndOfChannel` once every send end is
   * closed and the buffer is drained, `ClosedResourceError` if this end was closed (also while waiting).
   * Cancelled (or aborted) while waiting, it consumed nothing: a value already handed to it goes to the
   * next receiver, or back first in the buffer. It does not yield to the loop when a value is ready.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`; nothing taken)
   * @example `const job = await receive.receive();`
   */
  receive(options?: AbortOptions): Promise<T> {
    const s = this._state;
    if (options === undefined && !this._closed && s._buf.length > s._reserved) return Promise.resolve(s._take());
    return this._receiveSlow(options);
  }

  /** @internal the waiting receive */
  async _receiveSlow(options: AbortOptions | undefined): Promise<T> {
    const signal = readSignal(options);
    const s = this._state;
    for (;;) {
      if (this._closed) throw closedError(this._what(), "receive", "consumer");
      if (s._buf.length > s._reserved) return s._take();
      if (s._sendersOpen === 0 && s._buf.length === 0) throw endError("receive");
      const w = s._receivers.park(bindLoop(s, this._what()), this);
      s._receiversWaiting++;
      s._balance(); // a sender may be waiting for a receiver (rendezvous)
      try {
        await waitOn(w, signal);
      } catch (e) {
        s._receiverLeft(w);
        throw abortReason(w, e);
      }
      if (w.result() === TAKE) {
        s._reserved--;
        return s._takeReserved();
      }
    }
  }

  /**
   * Receive without waiting: throws `WouldBlock` if no value is ready, `EndOfChannel` at the end,
   * `ClosedResourceError` on a closed end. On a rendezvous channel a value is ready only when a waiting
   * receiver left it behind: a sender's value is taken by `receive()` (see the module comment).
   * @example `const batch = []; try { for (;;) batch.push(receive.receiveNowait()); } catch (e) { if (!(e instanceof WouldBlock)) throw e; }`
   */
  receiveNowait(): T {
    if (this._closed) throw closedError(this._what(), "receiveNowait", "consumer");
    const s = this._state;
    if (s._buf.length > s._reserved) return s._take();
    if (s._sendersOpen === 0 && s._buf.length === 0) throw endError("receiveNowait");
    throw new WouldBlock("receiveNowait() found no value ready; await receive() to wait for one");
  }

  /** @internal the class name for messages (a `Subscription` says so) */
  _what(): string {
    return "MemoryReceiveChannel";
  }

  /**
   * A new receive end on the same channel: receiving on it takes from the same values (each value goes
   * to one receiver; for a copy per consumer use `Broadcast`). The channel is broken for senders only
   * once every clone is closed. Throws `ClosedResourceError` on a closed end.
   * @example `for (let i = 0; i < 4; i++) { const mine = receive.clone(); tg.createTask(() => work(mine)); } receive.close();`
   */
  clone(): MemoryReceiveChannel<T> {
    if (this._closed) throw closedError(this._what(), "clone", "consumer");
    return new (this.constructor as new (s: ChannelState<T>) => MemoryReceiveChannel<T>)(this._state);
  }

  /**
   * Close this end (idempotent). Tasks waiting in `receive()` on it throw `ClosedResourceError`; once
   * every receive end is closed, the buffered values are dropped and senders get `BrokenResourceError`.
   * Synchronous; `using receive = ...` calls it too.
   * @example `try { for await (const x of receive) if (x === "stop") break; } finally { receive.close(); }`
   */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    const s = this._state;
    s._receiversOpen--;
    s._receiversWaiting -= s._wakeEnd(s._receivers, this);
    s._balance();
    if (s._receiversOpen === 0 && s._listener !== null) s._listener._roomFreed();
  }

  /**
   * `close()`, for `using receive = ...`.
   * @example `{ using r = receive.clone(); console.log(await r.receive()); } // closed here`
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * `close()`, for `await using receive = ...`.
   * @example `{ await using r = receive.clone(); console.log(await r.receive()); } // closed here`
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return RESOLVED_VOID;
  }

  /**
   * The channel's figures (the same from every end and clone).
   * @example `console.log(receive.statistics().currentBufferUsed);`
   */
  statistics(): MemoryChannelStatistics {
    return this._state.statistics();
  }

  /**
   * Receive values as they come (`await receive()` each time); the loop ends quietly at `EndOfChannel`.
   * Leaving the loop early does not close this end.
   * @example `for await (const job of receive) await handle(job);`
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let value: T;
      try {
        value = await this.receive();
      } catch (e) {
        if (e instanceof EndOfChannel) return;
        throw e;
      }
      yield value;
    }
  }
}

/**
 * Open a channel for passing values between tasks (Trio's `open_memory_channel`): returns
 * `[send, receive]` (data flows left to right). `maxBufferSize` values may wait in the channel before
 * `send()` waits; with 0 the channel is a rendezvous (each `send()` completes when its value has been
 * handed to a waiting receiver), with `Infinity` `send()` never waits. A receiver cancelled after it was
 * handed a value (before it ran) gives it back: to the next receiver, or first in the buffer, where it may
 * exceed `maxBufferSize` until received (the module comment, "The hand-off race"). Throws a `TypeError`/`RangeError` for any other bound.
 *
 * Compared with `Queue`: each end closes on its own, so consumers learn that every producer is done
 * (`EndOfChannel`, the end of `for await`) and producers that every consumer left
 * (`BrokenResourceError`); 0 means rendezvous, not unbounded; values are taken in the order sent and
 * waiting receivers are never overtaken.
 *
 * @example
 * ```ts
 * import { run, createTask, sleep, getRunningLoop, openMemoryChannel } from "asyncio-ts";
 * await run(async () => {
 *   const [send, receive] = openMemoryChannel<number>(0);
 *   const producer = createTask(async () => {
 *     try {
 *       for (let i = 0; i < 3; i++) {
 *         await send.send(i); // returns once i is handed to the consumer's waiting receive()
 *         console.log("sent", i, "at", getRunningLoop().time()); // at 0, 10, 20 ms: it waits for the consumer
 *       }
 *     } finally {
 *       send.close(); // the consumer's loop ends
 *     }
 *   });
 *   for await (const n of receive) {
 *     console.log("got", n);
 *     await sleep(10); // a slow consumer: the producer waits for it
 *   }
 *   await producer;
 * }, { virtualTime: true });
 * ```
 */
export function openMemoryChannel<T>(maxBufferSize: number): [send: MemorySendChannel<T>, receive: MemoryReceiveChannel<T>] {
  const max = checkCount(maxBufferSize, "maxBufferSize", { infinity: true });
  const state = new ChannelState<T>(max, "MemoryReceiveChannel.receive", "MemorySendChannel.send");
  return [new MemorySendChannel<T>(state), new MemoryReceiveChannel<T>(state)];
}
