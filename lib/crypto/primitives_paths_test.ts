/**
 * The primitives that pick an implementation by input size (AES-GCM: node:crypto for chat-sized
 * input, WebCrypto for bulk) give byte-identical results on both sides of the threshold, and both
 * paths refuse tampering.
 */
import assert from "node:assert/strict";
import { aesGcmDecrypt, aesGcmEncrypt, DecryptError } from "./primitives.ts";

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
