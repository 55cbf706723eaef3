/**
 * `Broadcast<T>`: every subscriber gets every message published after it subscribed (Effect's `PubSub`,
 * tokio's `broadcast`), each subscriber with its own bounded buffer and a strategy for when it is full:
 * `"wait"` (publishers wait for the slowest such subscriber: backpressure; Effect's `PubSub.bounded`),
 * `"dropNewest"` (the new message is not queued for it; `PubSub.dropping`) or `"dropOldest"` (its oldest
 * queued message makes room; `PubSub.sliding`).
 *
 * ## Name
 * `Broadcast`, not `PubSub`: there are no topics, and `asyncio-ts/redis` users read "pub/sub" as Redis's
 * (fire and forget, no backpressure), which this is not. Trio and anyio have no such type; tokio's
 * `sync::broadcast` is the same idea under this name.
 *
 * ## Approach
 * A subscription is a memory channel (`channel.ts`) whose only sender is the broadcast: `subscribe()`
 * returns a receive end (`Subscription`, a `MemoryReceiveChannel`), so receiving, `for await`, clones
 * (several workers sharing one subscription), `close()`, `using`, the end of the stream (`EndOfChannel`
 * once the broadcast is closed and the buffer drained), FIFO waiters and cancellation safety are the
 * channel's. Publishing is atomic: `publish()` waits until every `"wait"` subscriber has room, then hands
 * the message to every subscriber in one synchronous step (a waiting receiver gets it reserved, as a
 * channel's `send` does). A cancelled `publish()` therefore reached nobody, and a completed one reached
 * every subscriber (or was dropped for a full dropping one, and counted in its `statistics().dropped`).
 *
 * Publishers wait FIFO on one wait queue. One is woken at a time, only when every `"wait"` subscriber has
 * room (the subscription's channel reports each take through `RoomListener`); it publishes as it runs and
 * wakes the next. A woken publisher cancelled before it runs passes its turn on; one that finds a
 * subscriber full again (a receiver that gave its message back) parks in its line's `retry`, ahead of the
 * others (`turn-line.ts`, shared with the channel's senders).
 *
 * ## Rejected alternatives
 * - One shared log with a cursor per subscriber (Effect's bounded PubSub, tokio): no copy per subscriber,
 *   but each strategy is a different structure, and a subscriber's receive would not be a channel's (no
 *   clones, no reserved hand-off to waiting receivers). The ring per subscriber costs a slot per
 *   subscriber and message; measured (`bench/suites/channels.mjs`, Node 20, 1 publisher, 2 subscribers,
 *   buffer 64): 555 ns per message, Effect's shared-log `PubSub.bounded(64)` 1,728 ns in the same run.
 * - Publishing with one `send()` per subscriber: not atomic (cancelled halfway, some got the message).
 * - A rendezvous subscriber (`maxBufferSize` 0): publish would wait for every subscriber's receiver at
 *   once; use a channel per consumer for that. The bound is a positive integer or `Infinity`.
 *
 * @module
 */
import { checkCount, checkOptions, ClosedResourceError, describe, EndOfChannel, type EventLoop, WouldBlock } from "../core/index.js";
import { RESOLVED_VOID, type Waiter, WaiterQueue } from "../sync/wait-queue.js";
import { abortReason, readSignal, waitOn, type AbortOptions } from "../sync/abort-signal.js";
import { bindLoop } from "../sync/loop-binding.js";
import { TurnLine } from "./turn-line.js";
import {
  ChannelState,
  MemoryReceiveChannel,
  type MemoryChannelStatistics,
  type RoomListener,
} from "./channel.js";

/**
 * What a subscriber with a full buffer does with a new message: `"wait"` (the publisher waits),
 * `"dropNewest"` (the new message is dropped for this subscriber), `"dropOldest"` (its oldest queued
 * message is dropped to make room).
 * @example `bc.subscribe({ maxBufferSize: 1, strategy: "dropOldest" }) // always the latest value`
 */
export type BroadcastStrategy = "wait" | "dropNewest" | "dropOldest";

const STRATEGIES: readonly string[] = ["wait", "dropNewest", "dropOldest"];

/**
 * Options of `new Broadcast()` (defaults for every subscriber) and of `subscribe()` (this subscriber).
 * @example `new Broadcast<Tick>(64, { strategy: "dropOldest" })`
 */
export interface SubscribeOptions {
  /** A subscriber's buffer: a positive integer or `Infinity`. */
  maxBufferSize?: number;
  /** What a full subscriber does with a new message (default `"wait"`). */
  strategy?: BroadcastStrategy;
}

/**
 * What `Broadcast.statistics()` reports.
 * @example `const { subscribers, tasksWaitingPublish } = bc.statistics();`
 */
export interface BroadcastStatistics {
  /** Subscriptions with an open receive end. */
  subscribers: number;
  /** Tasks blocked in `publish()`. */
  tasksWaitingPublish: number;
  /** Whether `close()` was called. */
  closed: boolean;
}

/**
 * What a subscription's `statistics()` reports: its channel's figures, its strategy, and how many
 * messages it dropped.
 * @example `const { currentBufferUsed, dropped } = sub.statistics();`
 */
export interface SubscriptionStatistics extends MemoryChannelStatistics {
  strategy: BroadcastStrategy;
  /** Messages not delivered to this subscriber because its buffer was full (`dropNewest`, `dropOldest`). */
  dropped: number;
}

/** A publisher's wake-up: every `"wait"` subscriber has room, publish now. */
const GO = 1;
/** A publisher's wake-up: look again (the broadcast was closed). */
const RECHECK = 0;

/** A subscription's channel: a strategy and a count of what it dropped. @internal */
export class SubscriptionState<T> extends ChannelState<T> {
  readonly _strategy: BroadcastStrategy;
  /** messages dropped for this subscriber; only grows */
  _dropped = 0;

  constructor(max: number, strategy: BroadcastStrategy, listener: RoomListener) {
    super(max, "Subscription.receive", "Broadcast.publish");
    this._strategy = strategy;
    this._listener = listener;
    this._sendersOpen = 1; // the broadcast
  }

  /** True if a `"wait"` subscriber cannot take a message now (publishers must wait). */
  _blocks(): boolean {
    return this._strategy === "wait" && this._buf.length - this._reserved >= this._max;
  }

  /** Hand `v` to this subscriber: to a waiting receiver, into the buffer, or by its strategy when full. */
  _offer(v: T): void {
    if (this._deliver(v)) return;
    if (this._strategy === "dropNewest") {
      this._dropped++;
      return;
    }
    // "dropOldest" (a full "wait" subscriber never gets here: publish waited for it)
    if (this._strategy === "dropOldest") {
      // Drop the oldest not already handed to a woken receiver, until there is room: a receiver
      // cancelled after a message was reserved for it gives the message back, so the unreserved count
      // may exceed the limit by more than one; keeping the limit drops them all.
      // Invariant (after this): at most `_max` unreserved messages, this one included.
      while (this._buf.length - this._reserved >= this._max) {
        this._buf.removeAt(this._reserved);
        this._dropped++;
      }
    }
    this._buf.push(v);
  }
}

/**
 * A subscriber's receive end (a `MemoryReceiveChannel`): `receive()`, `receiveNowait()`, `for await`,
 * `clone()` (workers sharing this subscription), `close()` to unsubscribe, `using`. Made by
 * `Broadcast.subscribe()`. Unlike a channel's end, leaving a `for await` loop over it closes it
 * (unsubscribes): an abandoned subscription would hold publishers back (`"wait"`) or queue messages for
 * nobody.
 *
 * @example
 * ```ts
 * import { run, Broadcast } from "asyncio-ts";
 * await run(async () => {
 *   const bc = new Broadcast<string>(8);
 *   using sub = bc.subscribe();
 *   await bc.publish("hello");
 *   console.log(await sub.receive(), sub.statistics().dropped); // "hello" 0
 * }, { virtualTime: true });
 * ```
 */
export class Subscription<T> extends MemoryReceiveChannel<T> {
  /** @internal */
  declare readonly _state: SubscriptionState<T>;

  /** @internal */
  override _what(): string {
    return "Subscription";
  }

  /**
   * Another receive end of this subscription: each message goes to one of its ends (workers sharing
   * the subscription's stream). The subscription ends when every clone is closed.
   * @example `const workers = [sub.clone(), sub.clone()]; sub.close();`
   */
  override clone(): Subscription<T> {
    return super.clone() as Subscription<T>;
  }

  /**
   * The subscription's figures: its channel's, its strategy, and the messages it dropped.
   * @example `console.log(sub.statistics().dropped);`
   */
  override statistics(): SubscriptionStatistics {
    const st = this._state;
    return { ...st.statistics(), strategy: st._strategy, dropped: st._dropped };
  }

  /**
   * Receive messages as they come; the loop ends at the end of the broadcast. Leaving the loop (to the
   * end, by `break`, or by an error) closes this end.
   * @example `for await (const msg of bc.subscribe()) if (msg === "stop") break; // unsubscribed here`
   */
  override async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
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
    } finally {
      this.close();
    }
  }
}

/**
 * Publish messages to every subscriber (Effect's `PubSub`). Each subscriber gets every message published
 * after it subscribed, in order, through its own buffer of `maxBufferSize` messages; when a buffer is
 * full, the subscriber's strategy applies: `"wait"` (default: `publish()` waits for it), `"dropNewest"`
 * or `"dropOldest"`. `close()` ends every subscription once it has drained what was published
 * (`EndOfChannel`, the end of `for await`). A message published while nobody subscribes goes nowhere.
 *
 * @example
 * ```ts
 * import { run, createTask, gather, sleep, Broadcast } from "asyncio-ts";
 * await run(async () => {
 *   const prices = new Broadcast<number>(2);
 *   const reader = (name: string, delay: number) => {
 *     const sub = prices.subscribe();
 *     return createTask(async () => {
 *       const seen: number[] = [];
 *       for await (const p of sub) { seen.push(p); await sleep(delay); }
 *       return `${name}: ${seen.join(" ")}`;
 *     });
 *   };
 *   const readers = [reader("fast", 1), reader("slow", 10)];
 *   for (const p of [10, 11, 12, 13, 14]) await prices.publish(p); // waits for the slow reader
 *   prices.close();
 *   console.log(await gather(...readers)); // [ 'fast: 10 11 12 13 14', 'slow: 10 11 12 13 14' ]
 * }, { virtualTime: true });
 * ```
 */
export class Broadcast<T> implements RoomListener {
  /** @internal the default bound of a subscriber: an integer >= 1 or Infinity */
  readonly _max: number;
  /** @internal the default strategy */
  readonly _strategy: BroadcastStrategy;
  /** @internal the subscriptions; one whose receive ends are all closed is removed when next seen */
  readonly _subs = new Set<SubscriptionState<T>>();
  /** @internal publishers waiting for their turn (`turn-line.ts`): `waiting`, `woken` (with `GO`, at most one) */
  readonly _publishers = new TurnLine("Broadcast.publish");
  /** @internal once true, stays true */
  _closed = false;
  /** @internal the loop waiters are made on; bound on first wait */
  _loop: EventLoop | null = null;

  /**
   * @param maxBufferSize each subscriber's buffer: a positive integer or `Infinity`
   * @param options `strategy`: what a full subscriber does (default `"wait"`); `subscribe()` may override both
   */
  constructor(maxBufferSize: number, options?: { strategy?: BroadcastStrategy }) {
    this._max = checkCount(maxBufferSize, "maxBufferSize", { min: 1, infinity: true });
    const o = checkOptions(options, ["strategy"], "new Broadcast()");
    this._strategy = checkStrategy(o.strategy ?? "wait");
  }

  /**
   * Subscribe: a receive end that gets every message published from now on. Options override the
   * broadcast's bound and strategy for this subscriber. Close it (or leave its `for await` loop) to
   * unsubscribe. Throws `ClosedResourceError` after `close()`.
   * @example `using ticks = bc.subscribe({ maxBufferSize: 1, strategy: "dropOldest" });`
   */
  subscribe(options?: SubscribeOptions): Subscription<T> {
    const o = checkOptions(options, ["maxBufferSize", "strategy"], "subscribe()");
    const max = o.maxBufferSize === undefined ? this._max : checkCount(o.maxBufferSize, "maxBufferSize", { min: 1, infinity: true });
    const strategy = o.strategy === undefined ? this._strategy : checkStrategy(o.strategy);
    if (this._closed) {
      throw new ClosedResourceError("subscribe() on a Broadcast that was closed: it publishes nothing more; subscribe before closing it");
    }
    const state = new SubscriptionState<T>(max, strategy, this);
    this._subs.add(state);
    return new Subscription<T>(state);
  }

  /**
   * Publish a message to every subscriber, waiting while a `"wait"` subscriber's buffer is full. Throws
   * `ClosedResourceError` after `close()` (also while waiting). Cancelled (or aborted) while waiting, it
   * reached nobody. Publishers go in the order they called `publish()`.
   * @param options `signal`: abandon the wait when it aborts (rejects with `signal.reason`; nothing published)
   * @example `await bc.publish({ type: "price", value: 42 });`
   */
  publish(value: T, options?: AbortOptions): Promise<void> {
    if (options === undefined && !this._closed && this._noPublisherAhead() && this._roomForAll()) {
      this._deliverAll(value);
      return RESOLVED_VOID;
    }
    return this._publishSlow(value, options);
  }

  /** @internal the waiting publish */
  async _publishSlow(value: T, options: AbortOptions | undefined): Promise<void> {
    const signal = readSignal(options);
    let claimed = false; // woken with GO: the turn is ours
    for (;;) {
      if (this._closed) throw closedBroadcast("publish");
      if ((claimed || this._noPublisherAhead()) && this._roomForAll()) {
        this._deliverAll(value);
        if (claimed) this._balance(); // the next publisher, if there is room for it too
        return;
      }
      const { w, q } = this._publishers.park(claimed, bindLoop(this, "Broadcast"));
      this._balance();
      try {
        await waitOn(w, signal);
      } catch (e) {
        this._publisherLeft(w, q);
        throw abortReason(w, e);
      }
      claimed = w.result() === GO;
      if (claimed) this._publishers.woken--;
    }
  }

  /**
   * Publish without waiting: throws `WouldBlock` if a `"wait"` subscriber's buffer is full (or other
   * publishers wait first), `ClosedResourceError` after `close()`.
   * @example `try { bc.publishNowait(tick); } catch (e) { if (!(e instanceof WouldBlock)) throw e; }`
   */
  publishNowait(value: T): void {
    if (this._closed) throw closedBroadcast("publishNowait");
    if (!(this._noPublisherAhead() && this._roomForAll())) {
      throw new WouldBlock(
        'publishNowait() cannot publish now: a subscriber with strategy "wait" has a full buffer, or other publishers wait first; await publish() to wait for the slowest subscriber',
      );
    }
    this._deliverAll(value);
  }

  /**
   * Close the broadcast (idempotent): `publish()` throws `ClosedResourceError` from now on (waiting
   * publishers too), and each subscription ends (`EndOfChannel`) once it has drained what was published.
   * @example `try { for (const m of feed) await bc.publish(m); } finally { bc.close(); }`
   */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const st of this._subs) {
      st._sendersOpen = 0;
      st._balance();
    }
    this._subs.clear();
    this._publishers.wakeAll(RECHECK);
  }

  /**
   * `close()`, for `using bc = new Broadcast(...)`.
   * @example `{ using bc = new Broadcast<number>(4); await bc.publish(1); } // closed here`
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * For debugging: subscribers, waiting publishers, closed.
   * @example `console.log(bc.statistics()); // { subscribers: 2, tasksWaitingPublish: 0, closed: false }`
   */
  statistics(): BroadcastStatistics {
    let subscribers = 0;
    for (const st of this._subs) if (st._receiversOpen > 0) subscribers++;
    return {
      subscribers,
      tasksWaitingPublish: this._publishers.pendingCount(),
      closed: this._closed,
    };
  }

  /** @internal a subscription's take freed room, or its last end closed: a waiting publisher may go */
  _roomFreed(): void {
    if (this._publishers.waiting > 0 && this._publishers.woken === 0) this._balance();
  }

  /** @internal True if a publisher arriving now need not queue behind others (FIFO). */
  _noPublisherAhead(): boolean {
    return this._publishers.noneAhead();
  }

  /** @internal True if no `"wait"` subscriber is full; forgets the subscriptions whose ends are all closed. */
  _roomForAll(): boolean {
    for (const st of this._subs) {
      if (st._receiversOpen === 0) this._subs.delete(st);
      else if (st._blocks()) return false;
    }
    return true;
  }

  /** @internal hand `value` to every subscriber, in one synchronous step */
  _deliverAll(value: T): void {
    for (const st of this._subs) {
      if (st._receiversOpen === 0) this._subs.delete(st);
      else st._offer(value);
    }
  }

  /** @internal wake the oldest waiting publisher when every "wait" subscriber has room; at close, all */
  _balance(): void {
    const p = this._publishers;
    if (this._closed) p.wakeAll(RECHECK);
    else if (p.woken === 0 && p.waiting > 0 && this._roomForAll() && p.pop(GO)) p.woken++;
  }

  /** @internal a publisher's wait ended in an error: uncount it; a turn it was given goes on */
  _publisherLeft(w: Waiter<number>, q: WaiterQueue<number>): void {
    this._publishers.left(w, q, GO);
    this._balance();
  }
}

function checkStrategy(value: unknown): BroadcastStrategy {
  if (typeof value !== "string") {
    throw new TypeError(`Expected strategy to be "wait", "dropNewest" or "dropOldest", got ${describe(value)}`);
  }
  if (!STRATEGIES.includes(value)) {
    throw new RangeError(`Expected strategy to be "wait", "dropNewest" or "dropOldest", got ${describe(value)}`);
  }
  return value as BroadcastStrategy;
}

function closedBroadcast(method: string): ClosedResourceError {
  return new ClosedResourceError(
    `${method}() on a Broadcast that was closed: it publishes nothing more; close it only when every publisher is done`,
  );
}
