import assert from "node:assert/strict";
import { fromHex, toHex } from "../common/bytes.ts";
import { sha512, sha512Chain, sha512Sync } from "./primitives.ts";
import { generateIdentity, publicIdentity } from "./identity.ts";
import {
  clearSafetyNumberCache,
  fingerprintHalf,
  formatSafetyNumber,
  identitySafetyNumber,
  safetyNumber,
} from "./safety_number.ts";

const ALICE_KEY = fromHex("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868");
const BOB_KEY = fromHex("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b");
const EXPECTED = "300354477692869396892869876765458257569162576843440918079131";

Deno.test("safetyNumber() matches libsignal's displayable fingerprint answer from both sides", async () => {
  assert.equal(await safetyNumber("+14152222222", ALICE_KEY, "+14153333333", BOB_KEY), EXPECTED);
  assert.equal(await safetyNumber("+14153333333", BOB_KEY, "+14152222222", ALICE_KEY), EXPECTED);
});

Deno.test("identitySafetyNumber() is symmetric, 60 digits, and changes with the key", async () => {
  const a = publicIdentity(await generateIdentity());
  const b = publicIdentity(await generateIdentity());
  const m = publicIdentity(await generateIdentity());
  const ab = await identitySafetyNumber("alice", a, "bob", b);
  assert.match(ab, /^\d{60}$/);
  assert.equal(await identitySafetyNumber("bob", b, "alice", a), ab);
  assert.notEqual(await identitySafetyNumber("alice", a, "bob", m), ab);
});

Deno.test("formatSafetyNumber() groups digits by five, four groups a line", () => {
  assert.equal(
    formatSafetyNumber(EXPECTED),
    "30035 44776 92869 39689\n28698 76765 45825 75691\n62576 84344 09180 79131",
  );
});

Deno.test("sha512Sync() gives FIPS 180-2's answer for 'abc' and equals WebCrypto's SHA-512 on split input", async () => {
  const abc = new TextEncoder().encode("abc");
  assert.equal(
    toHex(sha512Sync(abc)),
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  );
  const a = crypto.getRandomValues(new Uint8Array(77)), b = crypto.getRandomValues(new Uint8Array(200));
  assert.deepEqual(sha512Sync(a, b), await sha512(new Uint8Array([...a, ...b])));
});

Deno.test("cached halves: the same (id, key) gives the same half; a different id or key does not reuse it", async () => {
  clearSafetyNumberCache();
  const enc = (s: string) => new TextEncoder().encode(s);
  const first = await fingerprintHalf(enc("+14152222222"), ALICE_KEY);
  assert.equal(await fingerprintHalf(enc("+14152222222"), ALICE_KEY), first);
  // Another id with the same key, and another key with the same id, are other halves.
  assert.notEqual(await fingerprintHalf(enc("+14153333333"), ALICE_KEY), first);
  assert.notEqual(await fingerprintHalf(enc("+14152222222"), BOB_KEY), first);
  // After other halves were cached, the libsignal answer still comes out from both sides.
  assert.equal(await safetyNumber("+14152222222", ALICE_KEY, "+14153333333", BOB_KEY), EXPECTED);
  assert.equal(await safetyNumber("+14153333333", BOB_KEY, "+14152222222", ALICE_KEY), EXPECTED);
});

Deno.test("sha512Chain() equals SHA-512(h ‖ tail) applied n times with sha512Sync, for n = 0, 1, 3 and 50", async () => {
  const first = sha512Sync(new TextEncoder().encode("first")), tail = new Uint8Array(33).fill(7);
  for (const n of [0, 1, 3, 50]) {
    let h = first;
    for (let i = 0; i < n; i++) h = sha512Sync(h, tail);
    assert.deepEqual(await sha512Chain(first, tail, n), h, `n = ${n}`);
  }
});
