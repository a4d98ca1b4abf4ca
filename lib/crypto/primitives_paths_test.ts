/**
 * The primitives that pick an implementation by input size (AES-GCM: node:crypto for chat-sized
 * input, WebCrypto for bulk) give byte-identical results on both sides of the threshold, and both
 * paths refuse tampering. HMAC (composed on hash-wasm, once loaded) equals OpenSSL's at every key-size branch;
 * the KeyObject caches of X25519 and Ed25519 never turn a refusal into an acceptance.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { toHex } from "../common/bytes.ts";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  DecryptError,
  ed25519Generate,
  ed25519Sign,
  ed25519Verify,
  hmacSync,
  wasmHashers,
  x25519,
  x25519Generate,
} from "./primitives.ts";

const subtle = crypto.subtle;

Deno.test("aesGcmEncrypt()/aesGcmDecrypt() equal WebCrypto's AES-256-GCM at every size, and refuse a flipped bit", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const ad = crypto.getRandomValues(new Uint8Array(13));
  const k = await subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
  for (const n of [0, 1, 15, 16, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 65_536]) {
    const pt = crypto.getRandomValues(new Uint8Array(n));
    const want = new Uint8Array(
      await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: ad }, k, pt),
    );
    const ct = await aesGcmEncrypt(key, nonce, pt, ad);
    assert.deepEqual(ct, want, `size ${n}`);
    assert.deepEqual(await aesGcmDecrypt(key, nonce, ct, ad), pt, `size ${n}`);
    for (const at of [0, ct.length - 1]) {
      if (at < 0 || ct.length === 0) continue;
      const bad = ct.slice();
      bad[at]! ^= 1;
      await assert.rejects(aesGcmDecrypt(key, nonce, bad, ad), DecryptError, `size ${n}, byte ${at}`);
    }
    await assert.rejects(
      aesGcmDecrypt(key, nonce, ct, new Uint8Array(0)),
      DecryptError,
      `size ${n}, other AD`,
    );
  }
});

Deno.test("hmacSync() equals OpenSSL's HMAC for SHA-256 and SHA-512 around every block-size branch", async () => {
  // The composed path runs once hash-wasm is loaded (until then hmacSync is node:crypto's own HMAC).
  await wasmHashers();
  for (const [hash, block] of [["sha256", 64], ["sha512", 128]] as const) {
    for (const kl of [0, 1, 32, block - 1, block, block + 1, 2 * block + 7]) {
      for (const ml of [0, 1, 55, 56, 64, 200]) {
        const key = crypto.getRandomValues(new Uint8Array(kl));
        const msg = crypto.getRandomValues(new Uint8Array(ml));
        const want = createHmac(hash, key).update(msg).digest("hex");
        assert.equal(toHex(hmacSync(hash, key, msg)), want, `${hash} key ${kl} msg ${ml}`);
      }
    }
  }
});

Deno.test("x25519() refuses a low-order point every time, also once its KeyObject is cached", async () => {
  const me = await x25519Generate();
  const peer = await x25519Generate();
  const good = await x25519(me.priv, peer.pub);
  assert.deepEqual(await x25519(me.priv, peer.pub), good);
  const other = await x25519Generate();
  assert.notDeepEqual(await x25519(other.priv, peer.pub), good, "cached public key, other private key");
  const lowOrder = [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))];
  for (const p of lowOrder) {
    for (let i = 0; i < 3; i++) await assert.rejects(x25519(me.priv, p), DecryptError);
  }
});

Deno.test("ed25519Verify() with a cached key still refuses other messages, keys and bad encodings", async () => {
  const a = await ed25519Generate();
  const b = await ed25519Generate();
  const msg = new TextEncoder().encode("parley");
  const sig = await ed25519Sign(a.priv, msg);
  for (let i = 0; i < 2; i++) assert.ok(await ed25519Verify(a.pub, msg, sig));
  assert.notDeepEqual(await ed25519Sign(b.priv, msg), sig, "cached signing key, other seed");
  assert.equal(await ed25519Verify(b.pub, msg, sig), false);
  assert.equal(await ed25519Verify(a.pub, Uint8Array.of(...msg, 0), sig), false);
  const flipped = sig.slice();
  flipped[40]! ^= 1;
  assert.equal(await ed25519Verify(a.pub, msg, flipped), false);
  // A public key that is not a point encoding (y ≥ p) and short inputs: false, never a throw.
  assert.equal(await ed25519Verify(new Uint8Array(32).fill(0xff), msg, sig), false);
  assert.equal(await ed25519Verify(a.pub.subarray(1), msg, sig), false);
  assert.equal(await ed25519Verify(a.pub, msg, sig.subarray(1)), false);
});
