import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { sendHeader } from "./send_header.ts";
import { parseHeader } from "./header.ts";

const enc = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/** What the general path answers for `b` (JSON.parse of its UTF-8), or "invalid". */
function general(b: Uint8Array): unknown {
  try {
    return JSON.parse(strict.decode(b));
  } catch {
    return "invalid";
  }
}

/** A seeded generator (xorshift32): the same cases on every run. */
function rng(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const PLAIN = "abcxyzABZ0129_-./@ !#$%&'()*+,:;<=>?[]^`{|}~";

function randomPlain(r: (n: number) => number, min: number, max: number): string {
  let s = "";
  for (let n = min + r(max - min + 1); n > 0; n--) s += PLAIN[r(PLAIN.length)];
  return s;
}

/**
 * A send header as clients write it (JSON.stringify): `t` and `id` first, as other tools write
 * them, or last, as Parley's client does (its fields, then `t` and `id`).
 */
function clientHeader(r: (n: number) => number): Record<string, unknown> {
  const h: Record<string, unknown> = {
    to: { kind: r(2) ? "user" : "room", name: randomPlain(r, 1, 70) },
    mid: randomPlain(r, 1, 40),
  };
  if (r(3) === 0) h.devices = Array.from({ length: r(4) }, () => randomPlain(r, 1, 90));
  if (r(3) === 0) h.ttl = 1 + r(366 * 86400);
  const id = r(3) === 0 ? r(10) : r(2 ** 31);
  return r(2) ? { t: "send", id, ...h } : { ...h, t: "send", id };
}

Deno.test("sendHeader: every send header a client writes (plain ASCII fields) is read, equal to JSON.parse", () => {
  const r = rng(7);
  for (let i = 0; i < 3000; i++) {
    const want = clientHeader(r);
    const b = enc.encode(JSON.stringify(want));
    const got = sendHeader(b);
    assert.ok(got, JSON.stringify(want));
    assert.deepEqual(got, want);
    assert.deepEqual(Object.keys(got), Object.keys(want), "keys in the text's order");
    assert.deepEqual(parseHeader(b), want);
    // As the server reads it: a node Buffer cut from a bigger one (not at offset 0).
    const big = Buffer.alloc(b.length + 16, 0x7b);
    big.set(b, 8);
    assert.deepEqual(sendHeader(big.subarray(8, 8 + b.length)), want);
    // Read in place (a frame's header: its bounds, not a view).
    assert.deepEqual(sendHeader(big, 8, 8 + b.length), want);
  }
});

Deno.test("sendHeader: on random changes of such headers it answers null or exactly what JSON.parse answers", () => {
  const r = rng(11);
  const bytes = [...'"\\ ,:{}[]0123456789-.eE'].map((c) => c.charCodeAt(0)).concat([
    0,
    0x1f,
    0x7f,
    0x80,
    0xc3,
    0xff,
  ]);
  let read = 0, refused = 0;
  for (let i = 0; i < 20000; i++) {
    const b = [...enc.encode(JSON.stringify(clientHeader(r)))];
    for (let k = 1 + r(3); k > 0; k--) {
      const at = r(b.length + 1), c = r(3) === 0 ? r(256) : bytes[r(bytes.length)]!;
      const op = r(3);
      if (op === 0) b.splice(at, 0, c);
      else if (op === 1) b.splice(at, 1);
      else b[Math.min(at, b.length - 1)] = c;
    }
    const u = new Uint8Array(b);
    const got = sendHeader(u);
    // The same bytes read in place, between bytes that could continue them (a body's `}`, `"`, `]`…).
    const framed = new Uint8Array(u.length + 16);
    for (let j = 0; j < framed.length; j++) framed[j] = bytes[r(bytes.length)]!;
    framed.set(u, 8);
    assert.deepEqual(sendHeader(framed, 8, 8 + u.length), got, String.fromCharCode(...u));
    if (got === null) {
      refused++;
      continue;
    }
    read++;
    const want = general(u);
    assert.notEqual(want, "invalid", `read invalid JSON: ${String.fromCharCode(...u)}`);
    assert.deepEqual(got, want, String.fromCharCode(...u));
    assert.deepEqual(Object.keys(got), Object.keys(want as object));
  }
  assert.ok(read > 2000 && refused > 2000, `read ${read}, refused ${refused}: both paths were taken`);
});

Deno.test("sendHeader: other spellings go to the general path (null), which decides", () => {
  const base = '{"t":"send","id":5,"to":{"kind":"user","name":"bob"},"mid":"m1234567"';
  const cases = [
    '{"t":"send","id":05,"to":{"kind":"user","name":"bob"},"mid":"m1234567"}', // leading zero: invalid JSON
    '{"t":"send","id":12345678901,"to":{"kind":"user","name":"bob"},"mid":"m1234567"}', // 11 digits
    '{"t":"send","id":1.5,"to":{"kind":"user","name":"bob"},"mid":"m1234567"}',
    '{"t":"send","id":1e3,"to":{"kind":"user","name":"bob"},"mid":"m1234567"}',
    '{"t":"send","id":-1,"to":{"kind":"user","name":"bob"},"mid":"m1234567"}',
    '{"t":"send","id":5,"to":{"kind":"broadcast"},"mid":"m1234567"}',
    '{"t":"send","id":5,"to":{"kind":"user","name":"b\\u006fb"},"mid":"m1234567"}', // an escape
    '{"t":"send","id":5,"to":{"kind":"user","name":"bøb"},"mid":"m1234567"}', // not ASCII
    '{"t":"send","id":5,"to":{"kind":"user","name":""},"mid":"m1234567"}', // empty name
    '{"t":"send","id":5,"to":{"kind":"user","name":"bob"},"mid":""}', // empty mid
    '{"t":"send", "id":5,"to":{"kind":"user","name":"bob"},"mid":"m1234567"}', // a space
    base + ',"mid":"other123"}', // a key twice
    base + ',"ttl":5,"devices":["a"]}', // another order
    base + ',"devices":["a",]}',
    base + ',"ephemeral":true}',
    base + "} ",
    '{"to":{"kind":"user","name":"bob"},"mid":"m1234567","id":5,"t":"send"}', // id before t
    '{"to":{"kind":"user","name":"bob"},"mid":"m1234567","t":"send"}', // no id
    '{"to":{"kind":"user","name":"bob"},"mid":"m1234567","t":"send","id":5,"t":"send"}',
    '{"t":"send","to":{"kind":"user","name":"bob"},"mid":"m1234567"}', // no id
    '{"to":{"kind":"user","name":"bob"},"mid":"m1234567"}', // no t
    base + "}}",
    base,
  ];
  for (const c of cases) {
    assert.equal(sendHeader(enc.encode(c)), null, c);
  }
  // Read as JSON.parse reads it; the schema then refuses ttl 0 as before.
  const zero = enc.encode(base + ',"devices":[],"ttl":0}');
  assert.deepEqual(sendHeader(zero), general(zero));
  const ctl = enc.encode('{"t":"send","id":5,"to":{"kind":"user","name":"b\tb"},"mid":"m1234567"}');
  assert.equal(sendHeader(ctl), null, "a control character");
});

Deno.test("sendHeader: names whose hashes meet are each answered as themselves", () => {
  const r = rng(3);
  const names = Array.from({ length: 2000 }, () => randomPlain(r, 1, 12).replace(/[^a-z0-9]/g, "x"));
  for (let round = 0; round < 3; round++) {
    for (const name of names) {
      const want = {
        t: "send",
        id: 1,
        to: { kind: "user", name },
        mid: "m1234567",
        devices: [name, `${name}/2`],
      };
      assert.deepEqual(sendHeader(enc.encode(JSON.stringify(want))), want);
    }
  }
});
