/**
 * Private keys at rest: a key derived from the user's password with argon2id (hash-wasm; OWASP
 * m = 19456 KiB, t = 2, p = 1, random 16-byte salt) AES-256-GCM-wraps a serialized blob (e.g. the
 * JSON keystore). A wrong password or a modified file both give `WrongPasswordError`.
 *
 * Wire format v1:
 *   u8 version = 1 | u32be memory KiB | u32be iterations | u8 parallelism | salt (16) | nonce (12) |
 *   AES-GCM ciphertext ‖ tag (16)
 * AEAD AD = every byte before the ciphertext, so the parameters cannot be downgraded silently.
 * Parameters read from a file are bounded (≤ 1 GiB, ≤ 16 passes, ≤ 8 lanes) before any hashing.
 *
 * Per-record sealing (a database of many rows): derive the key once per process with
 * `deriveAtRestKey()` (argon2id, salt stored beside the rows), then `sealRecord()` / `openRecord()`:
 *   u8 version = 1 | nonce (12, random) | AES-256-GCM ciphertext ‖ tag (16), AD = caller's (e.g. the row key),
 * so a row cannot be moved to another key unnoticed.
 */

import { concatBytes, utf8, utf8Strict } from "../common/bytes.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import { aesGcmDecrypt, aesGcmEncrypt, DecryptError, u32be } from "./primitives.ts";

export const AT_REST_VERSION = 1;

/** Wrong password, or the sealed data was modified. */
export class WrongPasswordError extends Error {
  constructor() {
    super("Wrong password or corrupted key file");
    this.name = "WrongPasswordError";
  }
}

/** Argon2id cost parameters. */
export interface Argon2Params {
  /** memory per hash, KiB */
  memoryKiB: number;
  /** passes over the memory */
  iterations: number;
  /** lanes */
  parallelism: number;
}

export const OWASP_ARGON2: Argon2Params = { memoryKiB: 19456, iterations: 2, parallelism: 1 };
const HEADER_LEN = 1 + 4 + 4 + 1 + 16 + 12;

/** argon2id(password NFKC, salt) → 32-byte key (OWASP parameters unless given). */
export async function deriveAtRestKey(
  password: string,
  salt: Uint8Array,
  p: Argon2Params,
): Promise<Uint8Array> {
  const { argon2id } = await import("hash-wasm"); // loaded on the first hash, not at import
  return await argon2id({
    password: utf8.encode(password.normalize("NFKC")),
    salt,
    parallelism: p.parallelism,
    iterations: p.iterations,
    memorySize: p.memoryKiB,
    hashLength: 32,
    outputType: "binary",
  });
}

/** Seals `plaintext` under `password`. */
export async function sealWithPassword(
  password: string,
  plaintext: Uint8Array,
  opts: { params?: Argon2Params; rand?: RandomBytes } = {},
): Promise<Uint8Array> {
  const p = opts.params ?? OWASP_ARGON2;
  const rand = opts.rand ?? cryptoRandom;
  const salt = rand(16);
  const nonce = rand(12);
  const header = concatBytes([
    Uint8Array.of(AT_REST_VERSION),
    u32be(p.memoryKiB),
    u32be(p.iterations),
    Uint8Array.of(p.parallelism),
    salt,
    nonce,
  ]);
  const key = await deriveAtRestKey(password, salt, p);
  return concatBytes([header, await aesGcmEncrypt(key, nonce, plaintext, header)]);
}

/** Opens data sealed by `sealWithPassword`; `WrongPasswordError` on a wrong password or tampering. */
export async function openWithPassword(password: string, sealed: Uint8Array): Promise<Uint8Array> {
  if (sealed.length < HEADER_LEN + 16 || sealed[0] !== AT_REST_VERSION) {
    throw new SyntaxError("Not a Parley sealed key file");
  }
  const dv = new DataView(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const p: Argon2Params = {
    memoryKiB: dv.getUint32(1),
    iterations: dv.getUint32(5),
    parallelism: sealed[9]!,
  };
  if (
    p.memoryKiB < 8 * p.parallelism || p.memoryKiB > 1 << 20 || p.iterations < 1 || p.iterations > 16 ||
    p.parallelism < 1 || p.parallelism > 8
  ) throw new SyntaxError("Unsupported key file parameters");
  const header = sealed.subarray(0, HEADER_LEN);
  const key = await deriveAtRestKey(password, sealed.subarray(10, 26), p);
  try {
    return await aesGcmDecrypt(key, sealed.subarray(26, 38), sealed.subarray(HEADER_LEN), header);
  } catch (e) {
    if (e instanceof DecryptError) throw new WrongPasswordError();
    throw e;
  }
}

/** Seals a JSON-serializable value (e.g. the keystore). */
export function sealJson(
  password: string,
  value: unknown,
  opts?: { params?: Argon2Params; rand?: RandomBytes },
) {
  return sealWithPassword(password, utf8.encode(JSON.stringify(value)), opts);
}

/** Opens a value sealed with `sealJson`. */
export async function openJson<T = unknown>(password: string, sealed: Uint8Array): Promise<T> {
  return JSON.parse(utf8Strict.decode(await openWithPassword(password, sealed))) as T;
}

/** Seals one record under a key from `deriveAtRestKey()`; `ad` binds it to its place (e.g. the row key). */
export async function sealRecord(
  key: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
  rand: RandomBytes = cryptoRandom,
): Promise<Uint8Array> {
  const nonce = rand(12);
  return concatBytes([Uint8Array.of(AT_REST_VERSION), nonce, await aesGcmEncrypt(key, nonce, plaintext, ad)]);
}

/** Opens a record sealed by `sealRecord()`; `WrongPasswordError` when the key or `ad` do not match. */
export async function openRecord(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Promise<Uint8Array> {
  if (sealed.length < 1 + 12 + 16 || sealed[0] !== AT_REST_VERSION) {
    throw new SyntaxError("Not a Parley sealed record");
  }
  try {
    return await aesGcmDecrypt(key, sealed.subarray(1, 13), sealed.subarray(13), ad);
  } catch (e) {
    if (e instanceof DecryptError) throw new WrongPasswordError();
    throw e;
  }
}
