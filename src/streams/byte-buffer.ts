/**
 * The bytes a `StreamReader` holds: CPython's `bytearray` buffer, as one growable Node `Buffer`.
 *
 * Data is appended at `end` and taken from `start`; the storage doubles when full and the live bytes move
 * to the front when more than half of it is consumed, so appending n bytes and taking them back costs
 * O(n) overall. Rejected: a list of chunks (every `readuntil` would search across chunk borders) and
 * `Buffer.concat` on every append (O(n^2) for a bulk transfer read in small pieces).
 *
 * @module
 */

/** @internal */
export class ByteBuffer {
  /** Invariant: the live bytes are `buf[start..end)`; `0 <= start <= end <= buf.length`. */
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** The live bytes, as a view (valid until the next append or take). */
  view(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  append(data: Uint8Array): void {
    const n = data.length;
    if (this.end + n > this.buf.length) {
      const live = this.end - this.start;
      if (live + n <= this.buf.length && this.start >= this.buf.length >> 1) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(live + n, this.buf.length * 2, 1024));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(data, this.end);
    this.end += n;
  }

  /** Take the first `n` bytes (at most what there is) as a new `Buffer` of their own. */
  take(n: number): Buffer {
    const k = Math.min(n, this.end - this.start);
    const out = Buffer.from(this.buf.subarray(this.start, this.start + k));
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
