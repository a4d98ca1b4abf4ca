/**
 * Thin, typed wrappers over the platform's crypto: X25519, Ed25519, AES-256-GCM, HKDF-SHA256,
 * ChaCha20-Poly1305, HMAC-SHA256/512, SHA-512 and HKDF-Expand-SHA512 (RFC 5869 §2.3, composed from HMAC). Every other
 * module in lib/crypto goes through these; nothing here invents a primitive.
 *
 * Implementation per operation, by measurement: node:crypto (synchronous, no promise per call) for
 * HKDF, X25519, Ed25519 (imported keys cached, bounded) and chat-sized AES-GCM; HMAC composed per
 * RFC 2104 on reused hash-wasm SHA-256/512 instances (the hash-based ones live in
 * primitives_hash.ts, re-exported here); WebCrypto for bulk AES-GCM (several times faster on large
 * input). The vectors in primitives_test.ts run through these functions, whichever path they take.
 *
 * Contract: private keys are carried as raw 32-byte scalars/seeds and wrapped into PKCS#8 on
 * import; public keys are raw 32 bytes. `x25519()` rejects an all-zero shared secret
 * (RFC 7748 §6.1). Failures to authenticate raise `DecryptError`.
 */

import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { concatBytes, fromHex, release, toBase64 } from "../common/bytes.ts";
export { sha256 } from "../common/bytes.ts";
import { LruMap } from "../common/lru.ts";

/** A ciphertext, tag or signature failed to authenticate. */
export class DecryptError extends Error {
  constructor(message = "Message failed to authenticate") {
    super(message);
    this.name = "DecryptError";
  }
}

export const KEY_LEN = 32;
export const GCM_NONCE_LEN = 12;
export const GCM_TAG_LEN = 16;
export const SIG_LEN = 64;

const subtle = crypto.subtle;
// RFC 8410 PKCS#8 prefixes: SEQUENCE { version 0, AlgorithmIdentifier { OID }, OCTET STRING { OCTET STRING(32) } }.
const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");
const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");
const X25519_SPKI = fromHex("302a300506032b656e032100");
const ED25519_SPKI = fromHex("302a300506032b6570032100");

/** Copies into a fresh ArrayBuffer-backed array (WebCrypto wants `BufferSource` without shared memory). */
export function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b) as Uint8Array<ArrayBuffer>;
}

function check32(b: Uint8Array, what: string): void {
  if (b.length !== KEY_LEN) throw new RangeError(`${what} must be 32 bytes`);
}

export interface RawKeyPair {
  pub: Uint8Array;
  priv: Uint8Array;
}

/** The raw 32-byte halves of a node:crypto key pair (DER exports end with the raw key). */
function rawPair(kp: { publicKey: KeyObject; privateKey: KeyObject }): RawKeyPair {
  const pk8 = kp.privateKey.export({ format: "der", type: "pkcs8" });
  const spki = kp.publicKey.export({ format: "der", type: "spki" });
  return {
    pub: new Uint8Array(spki.subarray(spki.length - KEY_LEN)),
    priv: new Uint8Array(pk8.subarray(pk8.length - KEY_LEN)),
  };
}

function importPrivate(prefix: Uint8Array, priv: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(concatBytes([prefix, priv])), format: "der", type: "pkcs8" });
}

function importPublic(prefix: Uint8Array, pub: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(concatBytes([prefix, pub])), format: "der", type: "spki" });
}

function publicOf(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(spki.length - KEY_LEN));
}

// Imported KeyObjects, reused across calls: identity keys, signed prekeys and a session's ratchet
// keys come back again and again; room chains sign and verify with one key for up to
// ROOM_ROTATE_EVERY messages. Public keys, and Ed25519 signing keys (long-lived), only: X25519
// private keys are re-imported each time (~6 µs) so that no ratchet or ephemeral secret outlives
// the state that held it. Bounded: the least recently used goes.
const KEY_CACHE_MAX = 512;
const keyCache = new LruMap<string, KeyObject>(KEY_CACHE_MAX);

function cachedKey(id: string, make: () => KeyObject): KeyObject {
  let k = keyCache.get(id);
  if (!k) keyCache.set(id, k = make());
  return k;
}

/** A fresh X25519 key pair (raw bytes); node:crypto, synchronous inside. */
export function x25519Generate(): Promise<RawKeyPair> {
  return Promise.resolve(rawPair(generateKeyPairSync("x25519")));
}

/** The X25519 public key for a raw private scalar. */
// deno-lint-ignore require-await
export async function x25519PublicFromPrivate(priv: Uint8Array): Promise<Uint8Array> {
  check32(priv, "X25519 private key");
  return publicOf(importPrivate(X25519_PKCS8, priv));
}

/** X25519(priv, pub) — throws on an all-zero output (small-order peer key). */
// deno-lint-ignore require-await
export async function x25519(priv: Uint8Array, pub: Uint8Array): Promise<Uint8Array> {
  check32(priv, "X25519 private key");
  check32(pub, "X25519 public key");
  // node:crypto, synchronously: WebCrypto's import + derive promises cost more than the curve.
  let out: Uint8Array;
  try {
    const privateKey = importPrivate(X25519_PKCS8, priv);
    const publicKey = cachedKey(`x:${toBase64(pub)}`, () => importPublic(X25519_SPKI, pub));
    out = new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch {
    throw new DecryptError("X25519 produced an invalid shared secret");
  }
  return rejectAllZero(out);
}

/** Throws `DecryptError` when an X25519 output is all zero (RFC 7748 §6.1); else returns it. */
export function rejectAllZero(out: Uint8Array): Uint8Array {
  let acc = 0;
  for (const x of out) acc |= x;
  if (acc === 0) throw new DecryptError("X25519 produced an all-zero shared secret");
  return out;
}

/** A fresh Ed25519 key pair (raw public key, raw 32-byte seed). */
export function ed25519Generate(): Promise<RawKeyPair> {
  return Promise.resolve(rawPair(generateKeyPairSync("ed25519")));
}

/** The Ed25519 public key for a raw seed. */
// deno-lint-ignore require-await
export async function ed25519PublicFromPrivate(priv: Uint8Array): Promise<Uint8Array> {
  check32(priv, "Ed25519 private key");
  return publicOf(importPrivate(ED25519_PKCS8, priv));
}

/** Ed25519 (RFC 8032, pure) signature of `msg`; node:crypto, synchronous inside. */
// deno-lint-ignore require-await
export async function ed25519Sign(priv: Uint8Array, msg: Uint8Array): Promise<Uint8Array> {
  check32(priv, "Ed25519 private key");
  const k = cachedKey(`s:${toBase64(priv)}`, () => importPrivate(ED25519_PKCS8, priv));
  return new Uint8Array(nodeSign(null, msg, k));
}

/** Ed25519 verification; any malformed key or signature is simply `false`. */
// deno-lint-ignore require-await
export async function ed25519Verify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean> {
  if (pub.length !== KEY_LEN || sig.length !== SIG_LEN) return false;
  try {
    const k = cachedKey(`v:${toBase64(pub)}`, () => importPublic(ED25519_SPKI, pub));
    return nodeVerify(null, msg, k, sig);
  } catch {
    return false;
  }
}

/**
 * Messages up to this size go through node:crypto's AES-GCM, synchronously: for chat-sized input
 * WebCrypto's promise per call costs more than the cipher; larger input (file and video chunks)
 * uses WebCrypto, whose bulk AES is several times faster here. Both are the same AES-256-GCM.
 */
const SMALL_AES = 16 * 1024;

/** AES-256-GCM with a 12-byte nonce and 16-byte tag; returns ciphertext‖tag. */
export async function aesGcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
): Promise<Uint8Array> {
  check32(key, "AES-256 key");
  if (nonce.length !== GCM_NONCE_LEN) throw new RangeError("AES-GCM nonce must be 12 bytes");
  if (plaintext.length <= SMALL_AES) {
    const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: GCM_TAG_LEN });
    c.setAAD(ad);
    return concatBytes([c.update(plaintext), c.final(), c.getAuthTag()]);
  }
  const k = await subtle.importKey("raw", buf(key), "AES-GCM", false, ["encrypt"]);
  return new Uint8Array(
    await subtle.encrypt(
      { name: "AES-GCM", iv: buf(nonce), additionalData: buf(ad), tagLength: 128 },
      k,
      buf(plaintext),
    ),
  );
}

/** Inverse of `aesGcmEncrypt`; throws `DecryptError` when the tag does not verify. */
export async function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
): Promise<Uint8Array> {
  check32(key, "AES-256 key");
  if (nonce.length !== GCM_NONCE_LEN) throw new RangeError("AES-GCM nonce must be 12 bytes");
  if (ciphertext.length < GCM_TAG_LEN) throw new DecryptError("Ciphertext shorter than the tag");
  if (ciphertext.length <= SMALL_AES + GCM_TAG_LEN) {
    const body = ciphertext.subarray(0, ciphertext.length - GCM_TAG_LEN);
    const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: GCM_TAG_LEN });
    d.setAAD(ad);
    d.setAuthTag(ciphertext.subarray(ciphertext.length - GCM_TAG_LEN));
    try {
      return concatBytes([d.update(body), d.final()]);
    } catch {
      throw new DecryptError();
    }
  }
  const k = await subtle.importKey("raw", buf(key), "AES-GCM", false, ["decrypt"]);
  try {
    return new Uint8Array(
      await subtle.decrypt(
        { name: "AES-GCM", iv: buf(nonce), additionalData: buf(ad), tagLength: 128 },
        k,
        buf(ciphertext),
      ),
    );
  } catch {
    throw new DecryptError();
  }
}

/**
 * AES-256-GCM for values sealed at rest in synchronous code paths (the client's local history):
 * a fresh random 12-byte nonce, returned as nonce ‖ ciphertext ‖ tag. `openSync` throws
 * `DecryptError` when the tag (key, nonce, AD or data) does not verify.
 */
export function aesGcmSealSync(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  check32(key, "AES-256 key");
  const nonce = new Uint8Array(GCM_NONCE_LEN);
  crypto.getRandomValues(nonce);
  const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: GCM_TAG_LEN });
  c.setAAD(ad);
  return concatBytes([nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
}

export function aesGcmOpenSync(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array {
  check32(key, "AES-256 key");
  if (sealed.length < GCM_NONCE_LEN + GCM_TAG_LEN) throw new DecryptError("Sealed value too short");
  const d = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, GCM_NONCE_LEN), {
    authTagLength: GCM_TAG_LEN,
  });
  d.setAAD(ad);
  d.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_LEN));
  try {
    return concatBytes([d.update(sealed.subarray(GCM_NONCE_LEN, sealed.length - GCM_TAG_LEN)), d.final()]);
  } catch {
    throw new DecryptError();
  }
}

/**
 * ChaCha20-Poly1305 (RFC 8439) on node:crypto, synchronously: `plaintext ‖ tag` under a 12-byte
 * nonce, empty AD (the age format's stanza wrap and STREAM chunks, lib/crypto/age*.ts).
 */
export function chachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  check32(key, "ChaCha20-Poly1305 key");
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: GCM_TAG_LEN });
  const body = c.update(plaintext), last = c.final(); // a stream cipher: `last` is empty
  const out = new Uint8Array(body.length + last.length + GCM_TAG_LEN);
  out.set(body);
  out.set(last, body.length);
  out.set(c.getAuthTag(), body.length + last.length);
  release(body); // copied: freed now, not at the next collection
  return out;
}

/** Opens `chachaSeal`'s output; `DecryptError` when the tag does not match. */
export function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
  check32(key, "ChaCha20-Poly1305 key");
  if (sealed.length < GCM_TAG_LEN) throw new DecryptError("Sealed data too short");
  const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: GCM_TAG_LEN });
  d.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_LEN));
  try {
    const body = d.update(sealed.subarray(0, sealed.length - GCM_TAG_LEN)), last = d.final();
    return last.length
      ? concatBytes([body, last])
      : new Uint8Array(body.buffer, body.byteOffset, body.length);
  } catch {
    throw new DecryptError();
  }
}

export {
  hkdfExpandSha512,
  hkdfSha256,
  hkdfSha256Sync,
  hmacNode,
  hmacSync,
  sha512,
  sha512Chain,
  sha512Sync,
  wasmHashers,
} from "./primitives_hash.ts";

/** Big-endian u32 encoding. */
export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError("u32 out of range");
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** Length-prefixed (u32 BE) concatenation: an unambiguous encoding of a list of byte strings. */
export function lp(parts: readonly Uint8Array[]): Uint8Array {
  const out: Uint8Array[] = [];
  for (const p of parts) out.push(u32be(p.length), p);
  return concatBytes(out);
}
