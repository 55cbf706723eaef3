/**
 * The bytes a `StreamReader` holds: CPython's `bytearray` buffer, as one growable Node `Buffer`.
 *
 * Data is appended at `end` and taken from `start`; the storage doubles when full and the live bytes move
 * to the front when more than half of it is consumed, so appending n bytes and taking them back costs
 * O(n) overall. A socket's chunk that arrives in an empty buffer is kept as it is, and reads of it return
 * views: a bulk transfer read in chunks copies nothing (a 64 KiB read of a 64 KiB chunk). Rejected: a list of chunks (every `readuntil` would search across chunk borders) and
 * `Buffer.concat` on every append (O(n^2) for a bulk transfer read in small pieces).
 *
 * @module
 */

/** The storage of every buffer that never held a byte (replaced, never written, by the first append). */
const EMPTY = Buffer.alloc(0);

/** @internal */
export class ByteBuffer {
  /** Invariant: the live bytes are `buf[start..end)`; `0 <= start <= end <= buf.length`. */
  private buf: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /**
   * Invariant: false while `buf` is a chunk handed over by `append(data, true)` (a socket's `data` event):
   * it is never written, and `take` may return views of it; true when `buf` is this buffer's own storage
   * (then `take` copies out, since the storage is written again).
   */
  private owned = true;

  get length(): number {
    return this.end - this.start;
  }

  /** The live bytes, as a view (valid until the next append or take). */
  view(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /**
   * Append `data`. With `handOver`, the caller gives the bytes away (it never writes them again): an empty
   * buffer then keeps the chunk itself, and reads of whole chunks copy nothing.
   */
  append(data: Uint8Array, handOver = false): void {
    const n = data.length;
    if (handOver && this.end === this.start) {
      this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, n);
      this.start = 0;
      this.end = n;
      this.owned = false;
      return;
    }
    if (!this.owned || this.end + n > this.buf.length) {
      const live = this.end - this.start;
      if (this.owned && live + n <= this.buf.length && this.start >= this.buf.length >> 1) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(live + n, this.owned ? this.buf.length * 2 : live * 2, 1024));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
        this.owned = true;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(data, this.end);
    this.end += n;
  }

  /** Take the first `n` bytes (at most what there is) as a `Buffer` that nothing else writes. */
  take(n: number): Buffer {
    const k = Math.min(n, this.end - this.start);
    const view = this.buf.subarray(this.start, this.start + k);
    if (this.owned && k === this.end - this.start && k >= 1024) {
      // everything, and enough to be worth it: give the storage away rather than copy it out
      this.buf = EMPTY;
      this.start = this.end = 0;
      return view;
    }
    const out = this.owned ? Buffer.from(view) : view;
    this.drop(k);
    return out;
  }

  /** Forget the first `n` bytes. */
  drop(n: number): void {
    this.start += Math.min(n, this.end - this.start);
    if (this.start === this.end) this.start = this.end = 0;
  }

  clear(): void {
    this.start = this.end = 0;
  }

  /** Index of `sep` in the live bytes at or after `from`, or -1. */
  indexOf(sep: Uint8Array, from: number): number {
    return this.view().indexOf(sep, from);
  }

  startsWith(sep: Uint8Array, at: number): boolean {
    if (this.length - at < sep.length) return false;
    const v = this.view();
    for (let i = 0; i < sep.length; i++) if (v[at + i] !== sep[i]) return false;
    return true;
  }
}
