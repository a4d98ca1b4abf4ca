import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../common/bytes.ts";
import { MjpegSplitter } from "./mjpeg_splitter.ts";
import { splitMjpeg } from "./_testing.ts";

/** A JPEG-shaped frame: SOI, an APP0 (optionally holding FF D9), DQT-like segment, SOS, data, EOI. */
function fakeJpeg(seed: number, dataLen: number, thumbEoi = false): Uint8Array {
  const app = [0xff, 0xe0, 0x00, 0x08, 0x4a, 0x46, thumbEoi ? 0xff : 0x49, thumbEoi ? 0xd9 : 0x46];
  const dqt = [0xff, 0xdb, 0x00, 0x05, seed & 0xff, 0x01, 0x02];
  const sos = [0xff, 0xda, 0x00, 0x04, 0x01, 0x00];
  const data: number[] = [];
  for (let i = 0; i < dataLen; i++) {
    const v = (seed * 31 + i * 17) & 0xff;
    if (v === 0xff) data.push(0xff, i % 3 === 0 ? 0x00 : 0xd0 + (i % 8)); // stuffing / restart
    else data.push(v);
  }
  return new Uint8Array([0xff, 0xd8, ...app, ...dqt, ...sos, ...data, 0xff, 0xd9]);
}

const arbFrame = fc.record({
  seed: fc.integer({ min: 0, max: 1000 }),
  len: fc.integer({ min: 0, max: 300 }),
  thumb: fc.boolean(),
}).map(({ seed, len, thumb }) => fakeJpeg(seed, len, thumb));

/** Garbage between frames never holds FF, so it cannot fake an SOI. */
const arbGarbage = fc.uint8Array({ maxLength: 20 }).map((g) => g.map((x) => (x === 0xff ? 0 : x)));

function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...pts, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

Deno.test("MjpegSplitter.push() returns whole frames from one buffer", () => {
  const a = fakeJpeg(1, 50), b = fakeJpeg(2, 70);
  const frames = splitMjpeg(concatBytes([a, b]));
  assert.deepEqual(frames, [a, b]);
});

Deno.test("MjpegSplitter.push() handles byte-at-a-time input", () => {
  const a = fakeJpeg(3, 40, true), b = fakeJpeg(4, 90);
  const all = concatBytes([new Uint8Array([1, 2, 0xff]), a, new Uint8Array([7]), b]);
  const s = new MjpegSplitter();
  const got: Uint8Array[] = [];
  for (const x of all) got.push(...s.push(new Uint8Array([x])));
  assert.deepEqual(got, [a, b]);
  assert.equal(s.pending, 0);
});

Deno.test("MjpegSplitter.push() handles EOI split across chunks", () => {
  const a = fakeJpeg(5, 10);
  const s = new MjpegSplitter();
  assert.deepEqual(s.push(a.subarray(0, a.length - 1)), []);
  assert.deepEqual(s.push(a.subarray(a.length - 1)), [a]);
});

Deno.test("MjpegSplitter.push() ignores FF D9 inside an APP segment", () => {
  const a = fakeJpeg(6, 30, true);
  assert.deepEqual(splitMjpeg(a), [a]);
});

Deno.test("MjpegSplitter.push() drops frames over maxFrameBytes and resyncs", () => {
  const big = fakeJpeg(7, 500), small = fakeJpeg(8, 20);
  const s = new MjpegSplitter({ maxFrameBytes: 200 });
  const got = s.push(concatBytes([big, small]));
  assert.deepEqual(got, [small]);
  assert.equal(s.oversized, 1);
});

Deno.test("MjpegSplitter.reset() forgets a partial frame", () => {
  const a = fakeJpeg(9, 20), b = fakeJpeg(10, 20);
  const s = new MjpegSplitter();
  s.push(a.subarray(0, 15));
  s.reset();
  assert.deepEqual(s.push(b), [b]);
});

Deno.test("MjpegSplitter.push() yields the same frames for any chunking (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(arbGarbage, arbFrame), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (items, cuts) => {
        const frames = items.map(([, f]) => f);
        const stream = concatBytes(items.flatMap(([g, f]) => [g, f]));
        const s = new MjpegSplitter();
        const got: Uint8Array[] = [];
        for (const c of chunked(stream, cuts)) got.push(...s.push(c));
        assert.deepEqual(got, frames);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("MjpegSplitter.push() never throws on arbitrary bytes (fast-check)", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
      const s = new MjpegSplitter({ maxFrameBytes: 256 });
      for (const c of chunks) {
        for (const f of s.push(c)) {
          assert.equal(f[0], 0xff);
          assert.equal(f[1], 0xd8);
          assert.equal(f[f.length - 2], 0xff);
          assert.equal(f[f.length - 1], 0xd9);
        }
      }
    }),
    { numRuns: 500 },
  );
});
