/**
 * The bytes a `StreamReader` holds: CPython's `bytearray` buffer, as a list of Node `Buffer` chunks.
 *
 * ## Approach
 * A socket's chunk is kept as it is (the socket never writes it again), and bytes appended by user code
 * are copied once into a chunk of their own, so no chunk is ever written after it joined the list: reads
 * return views of it. `take(n)` of bytes that lie in the first chunk copies nothing (a bulk transfer
 * read in 64 KiB reads, a line inside one chunk); only a take across chunks copies, into a new buffer
 * of exactly the bytes taken. A search for a separator (`readuntil`, `readline`) looks at one chunk; when
 * the bytes span several, they are first joined into one (the reader's `limit` bounds how much a search
 * ever joins: a line longer than it is an error).
 *
 * Rejected:
 * - One growable buffer (the previous design): a chunk arriving while earlier bytes were still unread
 *   was copied in, and taken back out: in the bulk benchmark (`bench/lib/streams-cases.mjs bulk`) the
 *   copies (`Buffer.copy`, the allocations behind them) were a fifth of the CPU samples.
 * - `Buffer.concat` on every append: O(n^2) for a transfer read in small pieces.
 *
 * @module
 */

/** The storage of an empty buffer. */
const EMPTY = Buffer.alloc(0);

/** @internal */
export class ByteBuffer {
  /**
   * Invariant: the live bytes are `chunks[first]` from `head`, then `chunks[first + 1..]` whole; no
   * chunk in the list is empty or ever written; entries before `first` are dropped (`undefined`) and
   * the list is compacted when half of it is dropped.
   */
  private chunks: Buffer[] = [];
  private first = 0;
  private head = 0;
  /** Invariant: the number of live bytes. */
  private size = 0;

  get length(): number {
    return this.size;
  }

  /** The live bytes, as one view (joins the chunks if there are several; valid until the next take). */
  view(): Buffer {
    if (this.size === 0) return EMPTY;
    this.join();
    return this.chunks[this.first]!.subarray(this.head);
  }

  /**
   * Append `data`. With `handOver`, the caller gives the bytes away (it never writes them again: a
   * socket's `data` chunk), and the chunk itself joins the list; otherwise the bytes are copied.
   */
  append(data: Uint8Array, handOver = false): void {
    const n = data.length;
    if (n === 0) return;
    let chunk: Buffer;
    if (!handOver) chunk = Buffer.from(data);
    else chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, n);
    this.chunks.push(chunk);
    this.size += n;
  }

  /** Take the first `n` bytes (at most what there is) as a `Buffer` that nothing else writes. */
  take(n: number): Buffer {
    const k = Math.min(n, this.size);
    if (k === 0) return EMPTY;
    const c = this.chunks[this.first]!;
    const inFirst = c.length - this.head;
    if (k <= inFirst) {
      const out = c.subarray(this.head, this.head + k);
      this.drop(k);
      return out;
    }
    const out = Buffer.allocUnsafe(k);
    let at = 0;
    while (at < k) {
      const d = this.chunks[this.first]!;
      const m = Math.min(k - at, d.length - this.head);
      d.copy(out, at, this.head, this.head + m);
      at += m;
      this.drop(m);
    }
    return out;
  }

  /** Forget the first `n` bytes. */
  drop(n: number): void {
    let left = Math.min(n, this.size);
    this.size -= left;
    while (left > 0) {
      const c = this.chunks[this.first]!;
      const rest = c.length - this.head;
      if (left < rest) {
        this.head += left;
        return;
      }
      left -= rest;
      this.shift();
    }
  }

  clear(): void {
    this.chunks = [];
    this.first = this.head = this.size = 0;
  }

  /** Index of `sep` in the live bytes at or after `from`, or -1. */
  indexOf(sep: Uint8Array, from: number): number {
    if (this.size === 0) return sep.length === 0 && from === 0 ? 0 : -1;
    this.join();
    const i = this.chunks[this.first]!.indexOf(sep, this.head + from);
    return i < 0 ? -1 : i - this.head;
  }

  startsWith(sep: Uint8Array, at: number): boolean {
    if (this.size - at < sep.length) return false;
    const v = this.view();
    for (let i = 0; i < sep.length; i++) if (v[at + i] !== sep[i]) return false;
    return true;
  }

  /** The first chunk is used up: drop it (compacting the list when half of it is dropped). */
  private shift(): void {
    (this.chunks as (Buffer | undefined)[])[this.first] = undefined;
    this.first++;
    this.head = 0;
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
    } else if (this.first > 16 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  /** Make the live bytes one chunk (a fresh buffer when they span several). */
  private join(): void {
    if (this.chunks.length - this.first <= 1) return;
    const out = Buffer.allocUnsafe(this.size);
    let at = 0;
    for (let i = this.first; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      const from = i === this.first ? this.head : 0;
      c.copy(out, at, from);
      at += c.length - from;
    }
    this.chunks = [out];
    this.first = this.head = 0;
  }
}
