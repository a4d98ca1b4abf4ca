import assert from "node:assert/strict";
import fc from "fast-check";
import { allocatedBytes } from "../common/heap_testing.ts";
import { concatBytes, utf8 } from "../common/bytes.ts";
import { encodeFrame, FrameDecoder, frameWithRoom, MAX_DEPTH, parseHeader } from "./frame.ts";
import { ProtocolError } from "./errors.ts";

const sample = () => [
  encodeFrame({ t: "hello", id: 1, v: 1, client: "x" }),
  encodeFrame({ t: "send", id: 2 }, new Uint8Array([0, 1, 2, 255])),
  encodeFrame({ t: "ping", id: 3 }, new Uint8Array(5000).fill(7)),
];

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return "none";
}

Deno.test("FrameDecoder.push() decodes whole frames in one chunk", () => {
  const frames = new FrameDecoder().push(concatBytes(sample()));
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[0]!.header, { t: "hello", id: 1, v: 1, client: "x" });
  assert.deepEqual([...frames[1]!.body], [0, 1, 2, 255]);
  assert.equal(frames[2]!.body.length, 5000);
});

Deno.test("FrameDecoder.push() decodes byte-at-a-time input", () => {
  const all = concatBytes(sample());
  const d = new FrameDecoder();
  const got = [];
  for (let i = 0; i < all.length; i++) got.push(...d.push(all.subarray(i, i + 1)));
  assert.equal(got.length, 3);
  assert.equal(got[2]!.body.every((b) => b === 7), true);
  assert.equal(d.buffered, 0);
});

Deno.test("FrameDecoder.push() decodes any split of the stream", () => {
  const all = concatBytes(sample());
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: all.length }), { maxLength: 20 }), (cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), all.length];
    const d = new FrameDecoder();
    const got = [];
    for (let i = 1; i < points.length; i++) got.push(...d.push(all.slice(points[i - 1], points[i])));
    assert.equal(got.length, 3);
    assert.deepEqual(got[1]!.header, { t: "send", id: 2 });
  }));
});

Deno.test("FrameDecoder.push() rejects a length over the cap from the prefix alone", () => {
  const d = new FrameDecoder(1024);
  assert.equal(code(() => d.push(new Uint8Array([0, 0, 4, 1]))), "frame_too_large");
  const d2 = new FrameDecoder();
  assert.equal(code(() => d2.push(new Uint8Array([255, 255, 255, 255]))), "frame_too_large");
  assert.equal(d2.buffered, 0);
});

Deno.test("FrameDecoder.push() rejects zero and tiny lengths and a header longer than the frame", () => {
  assert.equal(code(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 0]))), "bad_frame");
  assert.equal(code(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 9]))), "bad_frame");
  assert.equal(code(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0]))), "bad_frame");
});

Deno.test("FrameDecoder.end() reports a truncated frame and frees the buffer", () => {
  const d = new FrameDecoder();
  const f = sample()[2]!;
  d.push(f.subarray(0, 100));
  assert.equal(d.buffered, 100);
  assert.equal(code(() => d.end()), "bad_frame");
  assert.equal(d.buffered, 0);
  const d2 = new FrameDecoder();
  d2.push(new Uint8Array([0, 0]));
  assert.equal(code(() => d2.end()), "bad_frame");
});

Deno.test("parseHeader() rejects bad JSON, deep nesting, __proto__ and non-objects", () => {
  assert.equal(code(() => parseHeader(utf8.encode("{nope"))), "bad_json");
  assert.equal(code(() => parseHeader(new Uint8Array([0x7b, 0xff, 0x7d]))), "bad_json");
  assert.equal(code(() => parseHeader(utf8.encode("[1]"))), "bad_json");
  assert.equal(code(() => parseHeader(utf8.encode("null"))), "bad_json");
  const deep = "[".repeat(MAX_DEPTH + 1) + "]".repeat(MAX_DEPTH + 1);
  assert.equal(code(() => parseHeader(utf8.encode(`{"a":${deep}}`))), "too_deep");
  assert.equal(code(() => parseHeader(utf8.encode("[".repeat(100000)))), "too_deep");
  assert.equal(code(() => parseHeader(utf8.encode('{"t":"x","__proto__":{"admin":true}}'))), "forbidden_key");
  assert.equal(code(() => parseHeader(utf8.encode('{"a":{"constructor":1}}'))), "forbidden_key");
  assert.equal(code(() => parseHeader(utf8.encode('{"a":{"\\u005f_proto__":1}}'))), "forbidden_key");
  assert.equal(code(() => parseHeader(utf8.encode('{"a" : {"prototype" :1}}'))), "forbidden_key");
  // the words as values are fine
  assert.deepEqual(
    parseHeader(utf8.encode('{"user":"constructor","x":"\\"prototype\\":"}')).user,
    "constructor",
  );
  // brackets inside strings do not count as nesting
  assert.deepEqual(
    parseHeader(utf8.encode('{"t":"[[[[[[[[[[[[\\"{{{{{{{{{{"}')).t,
    '[[[[[[[[[[[["{{{{{{{{{{',
  );
});

/** The deepest nesting of brackets in `s` (strings not skipped: callers pass text without brackets in strings). */
function nesting(s: string): number {
  let d = 0, max = 0;
  for (const c of s) max = Math.max(max, d += c === "{" || c === "[" ? 1 : c === "}" || c === "]" ? -1 : 0);
  return max;
}

Deno.test("parseHeader() counts the brackets first and scans the nesting only past MAX_DEPTH of them", () => {
  // exactly MAX_DEPTH + 1 brackets, all nested, of both kinds: the count lets the scan run, which refuses
  const mixed = '{"a":[{"b":[{"c":[{"d":[[]]}]}]}]}';
  assert.equal(nesting(mixed), MAX_DEPTH + 1);
  assert.equal([...mixed].filter((c) => c === "{" || c === "[").length, MAX_DEPTH + 1);
  assert.equal(code(() => parseHeader(utf8.encode(mixed))), "too_deep");
  // many brackets side by side (and in strings) at depth MAX_DEPTH are fine
  const wide = `{"a":${"[".repeat(MAX_DEPTH - 2)}[],{},[],{}${"]".repeat(MAX_DEPTH - 2)},"s":"[[[[{{{{"}`;
  assert.equal(nesting(wide.replace(/"[^"]*"/g, '""')), MAX_DEPTH);
  assert.equal(parseHeader(utf8.encode(wide)).s, "[[[[{{{{");
});

Deno.test("FrameDecoder.push() never throws anything but ProtocolError on random bytes", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
      const d = new FrameDecoder(4096);
      try {
        for (const c of chunks) d.push(c);
        d.end();
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("FrameDecoder.push() never throws anything but ProtocolError on mutated valid frames", () => {
  const all = concatBytes(sample());
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(all.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      (muts) => {
        const b = all.slice();
        for (const [i, x] of muts) b[i] = x;
        try {
          new FrameDecoder().push(b);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, String(e));
        }
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("encodeFrame() encodes ASCII and non-ASCII headers (é, 😀, a lone surrogate) with exact lengths", () => {
  for (const text of ["plain", "café", "😀 x", "\ud800", "é".repeat(300)]) {
    const body = Uint8Array.of(1, 2, 3);
    const f = encodeFrame({ t: "x", text }, body);
    const h = new TextEncoder().encode(JSON.stringify({ t: "x", text }));
    const dv = new DataView(f.buffer, f.byteOffset);
    assert.equal(f.length, 8 + h.length + 3);
    assert.equal(dv.getUint32(0), 4 + h.length + 3);
    assert.equal(dv.getUint32(4), h.length);
    assert.deepEqual(f.subarray(8, 8 + h.length), h);
    assert.deepEqual(f.subarray(8 + h.length), body);
  }
});

Deno.test("encodeFrame: a body in parts makes the same bytes as the joined body", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
      fc.string({ maxLength: 20 }),
      (parts, s) => {
        const joined = concatBytes(parts);
        assert.deepEqual(encodeFrame({ t: "x", s }, parts), encodeFrame({ t: "x", s }, joined));
        const f = new FrameDecoder().push(encodeFrame({ t: "x", s }, parts));
        assert.deepEqual(f[0]!.body, joined);
      },
    ),
  );
});

Deno.test("FrameDecoder.room(): frames read in place (mixed with pushes) decode as pushed ones", () => {
  const big = encodeFrame({ k: "bulk" }, new Uint8Array(200_000).map((_, i) => i * 7));
  const stream = concatBytes([...sample(), big, ...sample(), big]);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1 }), (sizes) => {
      const d = new FrameDecoder();
      const got: { header: Record<string, unknown>; body: Uint8Array }[] = [];
      let at = 0, k = 0, inPlace = 0;
      while (at < stream.length) {
        const n = Math.min(sizes[k++ % sizes.length]!, stream.length - at);
        const room = d.room(1000);
        if (room) {
          const m = Math.min(n, room.length);
          room.set(stream.subarray(at, at + m));
          at += m;
          const fs = d.filled(m);
          inPlace += fs.length;
          got.push(...fs);
        } else {
          got.push(...d.push(stream.slice(at, at + n)));
          at += n;
        }
      }
      d.end();
      const want = new FrameDecoder().push(stream);
      assert.deepEqual(got.map((f) => [f.header, [...f.body]]), want.map((f) => [f.header, [...f.body]]));
      assert.ok(inPlace >= 1, "the big frames were read in place");
    }),
    { numRuns: 60 },
  );
  // A frame read in place that turns out bad poisons the decoder like a pushed one.
  const d = new FrameDecoder();
  const bad = big.slice();
  bad[7] = 0; // header length 0
  d.push(bad.subarray(0, 10));
  const room = d.room(1000)!;
  room.set(bad.subarray(10));
  assert.equal(code(() => d.filled(room.length)), "bad_frame");
  assert.equal(code(() => d.push(sample()[0]!)), "bad_frame");
});

Deno.test("frameWithRoom: a body filled in place makes the same bytes as encodeFrame", () => {
  for (const n of [0, 1, 70_000]) {
    const body = new Uint8Array(n).map((_, i) => i * 13);
    const h = { t: "ok", id: 7, have: 123456789, size: 1, state: "ready", name: "é" };
    const r = frameWithRoom(h, n);
    r.body.set(body);
    assert.deepEqual(r.frame, encodeFrame(h, body));
  }
});

Deno.test("a read of one whole small frame keeps the decoder's list of pieces (no new list a read)", () => {
  // The list was emptied with `length = 0`, which gives its store back to V8: every read of whole
  // frames grew one from nothing (~150 bytes a read; 650–670 bytes a pong read before, 500–520 after).
  const chunk = encodeFrame({ t: "pong" });
  const dec = new FrameDecoder(1 << 20);
  let frames = 0;
  for (let i = 0; i < 20_000; i++) frames += dec.push(chunk).length; // compiled
  const n = 100_000, t0 = allocatedBytes();
  for (let i = 0; i < n; i++) frames += dec.push(chunk).length;
  const perRead = (allocatedBytes() - t0) / n;
  assert.equal(frames, 20_000 + n);
  assert.ok(perRead < 580, `${perRead.toFixed(0)} bytes allocated a read`);
});
