/** SHA-256's one home: FIPS 180-2 vectors through both paths (synchronous small, WebCrypto large); writeAll's loop; hex both ways. */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { fromHex, sha256, sha256Hex, toHex, utf8, utf8Strict, writeAll } from "./bytes.ts";
import fc from "fast-check";

const MILLION_A = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

Deno.test("sha256: FIPS 180-2 vectors on the small (synchronous) path", async () => {
  assertEquals(await sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assertEquals(await sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assertEquals(
    toHex(await sha256(utf8.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assertEquals(await sha256Hex("é"), toHex(await sha256(new Uint8Array([0xc3, 0xa9]))));
});

Deno.test("sha256: one million 'a' on the large (WebCrypto) path, as text and as bytes", async () => {
  const text = "a".repeat(1_000_000);
  assertEquals(await sha256Hex(text), MILLION_A);
  assertEquals(toHex(await sha256(utf8.encode(text))), MILLION_A);
  // both sides of the size threshold agree
  for (const n of [64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 16 * 1024, 16 * 1024 + 1]) {
    const b = new Uint8Array(n).fill(97);
    const viaWeb = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", b)));
    assertEquals(await sha256Hex(b), viaWeb);
    assertEquals(await sha256Hex("a".repeat(n)), viaWeb);
  }
});

Deno.test("writeAll writes the rest again after a partial write, in order, and resolves to the length", async () => {
  const got: number[] = [];
  const seen: Uint8Array[] = [];
  const w = { // takes at most 3 bytes a call
    write: (p: Uint8Array) => {
      seen.push(p);
      const n = Math.min(3, p.length);
      got.push(...p.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  const b = Uint8Array.from({ length: 10 }, (_, i) => i);
  assert.equal(await writeAll(w, b), 10);
  assert.deepEqual(got, [...b]);
  assert.equal(seen[0], b, "the first write is of the buffer itself");
  assert.equal(await writeAll(w, new Uint8Array(0)), 0);
  assert.equal(seen.length, 4, "nothing written for an empty buffer");
});

Deno.test("toHex and fromHex: every byte value, lower case out, either case in, bad text refused", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = toHex(all);
  assertEquals(hex.slice(0, 8), "00010203");
  assertEquals(hex.slice(-4), "feff");
  assertEquals(hex, Array.from(all, (b) => b.toString(16).padStart(2, "0")).join(""));
  assertEquals(fromHex(hex), all);
  assertEquals(fromHex("DEADbeef"), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  assertEquals(toHex(new Uint8Array(0)), "");
  for (const bad of ["abc", "zz", "0x12", "12 34"]) assert.throws(() => fromHex(bad), SyntaxError);
});

Deno.test("utf8Strict: refuses every invalid sequence, keeps a U+FFFD that was sent, agrees with the strict decoder", () => {
  const strict = new TextDecoder("utf-8", { fatal: true });
  for (const ok of ["", "plain", "é ü ✓ 😀", "\uFFFD", "a\uFFFDb", "\uFEFFbom"]) {
    assert.equal(utf8Strict.decode(utf8.encode(ok)), strict.decode(utf8.encode(ok)));
  }
  assert.equal(utf8Strict.decode(utf8.encode("x\uFFFD")), "x\uFFFD");
  const bad = [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [
    0x61,
    0xf8,
    0x88,
    0x80,
    0x80,
    0x80,
  ]];
  for (const b of bad) assert.throws(() => utf8Strict.decode(new Uint8Array(b)), TypeError, String(b));
  // A U+FFFD sent beside an invalid byte still fails.
  assert.throws(() => utf8Strict.decode(new Uint8Array([...utf8.encode("\uFFFD"), 0x80])), TypeError);
  const decide = (b: Uint8Array, d: { decode(b: Uint8Array): string }) => {
    try {
      return d.decode(b);
    } catch (e) {
      assert.ok(e instanceof TypeError);
      return null;
    }
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => decide(b, utf8Strict) === decide(b, strict)),
    { numRuns: 3000 },
  );
});
