import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeFrame, FrameDecoder, frameOfJson } from "./frame.ts";
import {
  jsonNumber,
  jsonString,
  type MsgFields,
  msgFrameMost,
  msgJson,
  putFrame,
  putMsgFrame,
  putStoredFrame,
  STORED_FRAME_MOST,
  storedJson,
} from "./frame_put.ts";

/** The frame layout written out once more, independently: JSON.stringify, TextEncoder, DataView. */
function reference(header: object, body: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 4 + h.length + body.length);
  dv.setUint32(4, h.length);
  out.set(h, 8);
  out.set(body, 8 + h.length);
  return out;
}

/** Any string: ASCII, quotes, backslashes, controls, any UTF-16 unit (lone surrogates too). */
const anyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.string({
    unit: fc.constantFrom('"', "\\", "\n", "\u0000", "\u007f", "\u2028", "\ud800", "é", "a"),
    maxLength: 12,
  }),
);
const anyNumber = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 31 }),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(0, -0, 1e21, 1e-7, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER),
);
const anyTarget = fc.oneof(
  fc.record({ kind: fc.constantFrom("user" as const, "room" as const), name: anyString }),
  fc.constant({ kind: "broadcast" as const }),
);
const anyMsg = fc.record({
  seq: anyNumber,
  mid: anyString,
  from: anyString,
  to: anyTarget,
  ts: anyNumber,
  conv: anyString,
  req: fc.option(anyNumber, { nil: undefined }),
});

/** hub.ts `msgHeader`'s object: its keys in its order, `req` only when given. */
function msgObject(m: MsgFields): object {
  const h: Record<string, unknown> = {
    t: "msg",
    seq: m.seq,
    mid: m.mid,
    from: m.from,
    to: m.to,
    ts: m.ts,
    conv: m.conv,
  };
  if (m.req !== undefined) h.req = m.req;
  return h;
}

Deno.test("jsonString and jsonNumber write what JSON.stringify writes", () => {
  fc.assert(fc.property(anyString, (s) => jsonString(s) === JSON.stringify(s)), { numRuns: 5000 });
  fc.assert(fc.property(anyNumber, (n) => jsonNumber(n) === JSON.stringify(n)), { numRuns: 5000 });
});

Deno.test("msgJson is JSON.stringify of the msg header, and its frame the generic encoder's bytes", () => {
  fc.assert(
    fc.property(anyMsg, fc.uint8Array({ maxLength: 300 }), (m, body) => {
      const json = msgJson(m);
      assert.equal(json, JSON.stringify(msgObject(m)));
      const want = reference(msgObject(m), body);
      assert.deepEqual(frameOfJson(json, body), want);
      assert.deepEqual(encodeFrame(msgObject(m), body), want);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("storedJson is JSON.stringify of the ok reply to a stored send", () => {
  fc.assert(
    fc.property(anyNumber, anyNumber, anyNumber, (id, seq, ts) => {
      const data: Record<string, unknown> = { seq, ts };
      assert.equal(storedJson(id, seq, ts), JSON.stringify({ ...data, t: "ok", id }));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("putFrame lays frames one after another, and says when the next does not fit", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(anyMsg, fc.uint8Array({ maxLength: 200 })), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 3000 }),
      (frames, size) => {
        const out = new Uint8Array(size).fill(7);
        let at = 0;
        const want: Uint8Array[] = [];
        for (const [m, body] of frames) {
          const end = putFrame(out, at, msgJson(m), body);
          const f = reference(msgObject(m), body);
          if (at + f.length > size) {
            assert.equal(end, -1);
            break;
          }
          assert.equal(end, at + f.length);
          want.push(f);
          at = end;
        }
        const d = new FrameDecoder();
        const got = at ? d.push(out.slice(0, at)) : [];
        assert.equal(got.length, want.length);
        assert.deepEqual(out.subarray(0, at), new Uint8Array(want.flatMap((f) => [...f])));
      },
    ),
    { numRuns: 2000 },
  );
});

/** Strings and numbers the hand writers take (plain ASCII, safe integers from 0), mixed with any. */
const plainString = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
});
const someString = fc.oneof(plainString, plainString, anyString);
/** Where the decimal writer splits a number (1e8) and its digit counts change: 10^k, 10^k - 1, 10^k + 1. */
const digitEdges = [...Array(16).keys()].flatMap((k) => [10 ** k - 1, 10 ** k, 10 ** k + 1, 3 * 10 ** k]);
const someNumber = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 31 }),
  fc.maxSafeInteger(),
  fc.constantFrom(...digitEdges, 2e8, 1_764_187_000_123),
  anyNumber,
);
const someMsg = fc.record({
  seq: someNumber,
  mid: someString,
  from: someString,
  to: fc.oneof(
    fc.record({ kind: fc.constantFrom("user" as const, "room" as const), name: someString }),
    fc.constant({ kind: "broadcast" as const }),
  ),
  ts: someNumber,
  conv: someString,
  req: fc.option(someNumber, { nil: undefined }),
});
const isPlain = (s: string) => /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(s);
const isUint = (n: number) => Number.isSafeInteger(n) && n >= 0;

Deno.test("putMsgFrame writes putFrame's bytes of msgJson, or -1 for a field it does not write or no room", () => {
  let written = 0;
  fc.assert(
    fc.property(
      someMsg,
      fc.uint8Array({ maxLength: 300 }),
      fc.oneof(fc.nat(400), fc.constant(2000)),
      fc.nat(20),
      (m, body, size, at) => {
        const out = new Uint8Array(at + size).fill(7), want = new Uint8Array(at + size).fill(7);
        const end = putMsgFrame(out, at, m, body);
        const wantEnd = putFrame(want, at, msgJson(m), body);
        const handles = isUint(m.seq) && isUint(m.ts) && (m.req === undefined || isUint(m.req)) &&
          [m.mid, m.from, m.conv, m.to.kind === "broadcast" ? "" : m.to.name].every(isPlain);
        if (!handles || wantEnd < 0) return assert.equal(end, -1);
        assert.equal(end, wantEnd);
        assert.deepEqual(out.subarray(at, end), want.subarray(at, end));
        assert.ok(end - at <= msgFrameMost(m, body.length));
        written++;
      },
    ),
    { numRuns: 4000 },
  );
  assert.ok(written > 150, `only ${written} frames written by hand`);
});

Deno.test("putStoredFrame writes putFrame's bytes of storedJson, or -1", () => {
  fc.assert(
    fc.property(someNumber, someNumber, someNumber, fc.nat(120), (id, seq, ts, size) => {
      const out = new Uint8Array(size), want = new Uint8Array(size);
      const end = putStoredFrame(out, 0, id, seq, ts);
      const wantEnd = putFrame(want, 0, storedJson(id, seq, ts), new Uint8Array(0));
      if (![id, seq, ts].every(isUint) || wantEnd < 0) return assert.equal(end, -1);
      assert.equal(end, wantEnd);
      assert.deepEqual(out.subarray(0, end), want.subarray(0, end));
      assert.ok(end <= STORED_FRAME_MOST);
    }),
    { numRuns: 4000 },
  );
});

Deno.test("a time written again (its digits remembered) is the same bytes, at any place and room", () => {
  // Times repeat between frames (the messages of one commit): each frame must still be storedJson's.
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(0, 9, 10, 1764190000123, 1764190000124, 2 ** 53 - 1, -1, 1.5), {
        minLength: 2,
        maxLength: 12,
      }),
      fc.nat(80),
      (times, size) => {
        for (const [k, ts] of times.entries()) {
          const out = new Uint8Array(size + 40), want = new Uint8Array(size + 40), at = k % 7;
          const end = putStoredFrame(out.subarray(0, size), at, k, 5, ts);
          const wantEnd = putFrame(want.subarray(0, size), at, storedJson(k, 5, ts), new Uint8Array(0));
          if (!isUint(ts) || wantEnd < 0) {
            assert.equal(end, -1);
            continue;
          }
          assert.equal(end, wantEnd);
          assert.deepEqual(out.subarray(at, end), want.subarray(at, end));
        }
      },
    ),
    { numRuns: 2000 },
  );
});
