/**
 * The reader's byte buffer (src/streams/byte-buffer.ts) against a plain model (one Buffer, concatenated
 * and sliced): random appends (handed over or copied), takes, drops, searches and clears give the same
 * bytes, and what a take returned never changes afterwards, nor does the buffer when the caller writes
 * the bytes it appended without handing them over.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ByteBuffer } from "../../src/streams/byte-buffer.js";

type Op =
  | { op: "append"; bytes: number[]; handOver: boolean }
  | { op: "take"; n: number }
  | { op: "drop"; n: number }
  | { op: "indexOf"; sep: number[]; from: number }
  | { op: "startsWith"; sep: number[]; at: number }
  | { op: "view" }
  | { op: "clear" };

const byte = fc.integer({ min: 0, max: 3 }); // (few values: separators are found often)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("append" as const), bytes: fc.array(byte, { maxLength: 12 }), handOver: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("take" as const), n: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("drop" as const), n: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("indexOf" as const), sep: fc.array(byte, { minLength: 1, maxLength: 3 }), from: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("startsWith" as const), sep: fc.array(byte, { minLength: 1, maxLength: 3 }), at: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("view" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const) }) },
);

describe("ByteBuffer", () => {
  it("behaves as one concatenated Buffer, and what it hands out stays as it was", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const b = new ByteBuffer();
        let model = Buffer.alloc(0);
        const handedOut: [Buffer, Buffer][] = [];
        const appended: Uint8Array[] = [];
        for (const o of ops) {
          switch (o.op) {
            case "append": {
              const src = Uint8Array.from(o.bytes);
              b.append(o.handOver ? Buffer.from(src) : src, o.handOver);
              if (!o.handOver) appended.push(src);
              model = Buffer.concat([model, src]);
              break;
            }
            case "take": {
              const got = b.take(o.n);
              const k = Math.min(o.n, model.length);
              expect([...got]).toEqual([...model.subarray(0, k)]);
              handedOut.push([got, Buffer.from(got)]);
              model = model.subarray(k);
              break;
            }
            case "drop":
              b.drop(o.n);
              model = model.subarray(Math.min(o.n, model.length));
              break;
            case "indexOf":
              expect(b.indexOf(Uint8Array.from(o.sep), o.from)).toBe(model.length === 0 ? -1 : model.indexOf(Uint8Array.from(o.sep), o.from));
              break;
            case "startsWith": {
              const sep = Uint8Array.from(o.sep);
              const want = model.length - o.at >= sep.length && model.subarray(o.at, o.at + sep.length).equals(sep);
              expect(b.startsWith(sep, o.at)).toBe(want);
              break;
            }
            case "view":
              expect([...b.view()]).toEqual([...model]);
              break;
            case "clear":
              b.clear();
              model = Buffer.alloc(0);
              break;
          }
          expect(b.length).toBe(model.length);
          for (const a of appended) a.fill(9); // the caller writes what it appended: the buffer has its copy
        }
        expect([...b.view()]).toEqual([...model]);
        for (const [got, copy] of handedOut) expect(got.equals(copy)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("a take inside the first chunk copies nothing; a take across chunks makes one buffer", () => {
    const b = new ByteBuffer();
    const chunk = Buffer.alloc(8192, 1); // (not from Node's shared pool: its ArrayBuffer is its own)
    b.append(chunk, true);
    const part = b.take(5000);
    expect(part.buffer).toBe(chunk.buffer); // a view of the socket's chunk
    const next = Buffer.alloc(8192, 2);
    b.append(next, true);
    const across = b.take(8000);
    expect(across.buffer).not.toBe(chunk.buffer);
    expect(across.buffer).not.toBe(next.buffer);
    expect(across.subarray(0, 3192).every((x) => x === 1) && across.subarray(3192).every((x) => x === 2)).toBe(true);
    expect(b.length).toBe(8192 - 4808);
  });
});
