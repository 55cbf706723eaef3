/**
 * A child's stdout or stderr pipe feeding a `StreamReader` (CPython's `ReadSubprocessPipeProto` and the
 * reader it feeds).
 *
 * ## Approach
 * The pipe's `data` events call `feedData`, its end `feedEof`, its error `setException`: the reader is the
 * one the streams API uses, so every read is an asyncio-ts await (cancellable, bytes kept on
 * cancellation) and `proc.stdout` has the whole `StreamReader` surface. This object is the reader's
 * transport (`ReadFlow`): the reader pauses the pipe when more than twice `limit` bytes wait unread and
 * resumes it when a read drains them, so a child writing faster than we read blocks on its full pipe, as
 * with CPython, instead of filling our memory.
 *
 * The writer at the other end is another process, never code of this one: on virtual time a read
 * waiting for the child's output holds the clock (`waitHold()`: as foreign work, for at most `holdTimeout`
 * of real time) and keeps the loop from reporting a deadlock.
 *
 * Several pipes may feed one reader (`stderr: STDOUT` on Windows, where there is no `/bin/sh` to merge
 * them in the child): the reader ends when every one of them has ended.
 *
 * Rejected: `readable.read(n)` or async iteration of the Node stream (a cancelled `for await` destroys
 * the stream; Node has no `readuntil` with a limit), and a promise per `data` event (a foreign await).
 *
 * @module
 */
import type { Readable } from "node:stream";
import type { EventLoop, IoHold } from "../core/index.js";
import type { ReadFlow, StreamReader } from "../streams/reader.js";

/** @internal */
export class PipeFeed implements ReadFlow {
  /** Invariant: the pipes that have not ended (nor closed, nor failed); the reader's end is fed when it reaches 0. */
  private _open: number;
  /** Invariant: the pipes whose end was counted (each once). */
  private readonly _ended = new Set<Readable>();

  constructor(
    private readonly _loop: EventLoop,
    readonly reader: StreamReader,
    private readonly _pipes: readonly Readable[],
  ) {
    this._open = _pipes.length;
    reader._loop = _loop;
    reader.setTransport(this);
    for (const pipe of _pipes) {
      pipe.on("data", (data: Buffer) => {
        if (!reader._eof) reader._feed(data, true); // a fresh chunk of the pipe: kept without a copy
      });
      pipe.on("end", () => this._end(pipe));
      pipe.on("error", (err: Error) => {
        // (the reader's own "failed" state: a failure set before may be any value, undefined too)
        if (!reader._failed && !reader._eof) reader.setException(err);
        this._end(pipe);
      });
      // (destroyed without an end: at loop close; a read must not wait for ever)
      pipe.on("close", () => this._end(pipe));
    }
  }

  private _end(pipe: Readable): void {
    if (this._ended.has(pipe)) return;
    this._ended.add(pipe);
    if (--this._open === 0 && !this.reader._eof) this.reader.feedEof();
  }

  pause(): void {
    for (const p of this._pipes) p.pause();
  }

  resume(): void {
    for (const p of this._pipes) if (!p.destroyed) p.resume();
  }

  /** A read's hold: the child writes, not this process, so on the clock too. */
  waitHold(): IoHold {
    return this._loop._ioBegin(true);
  }

  /** Close the pipes (the loop closes: they would keep Node alive). */
  destroy(): void {
    for (const p of this._pipes) if (!p.destroyed) p.destroy();
  }
}
