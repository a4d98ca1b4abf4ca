/**
 * Chunked file encryption as in c2sp.org/chunked-encryption (Cobblestone-256: AES-256-GCM,
 * HKDF-Expand-SHA512). Parley binds the transfer id, sender and recipient as the C2SP context
 * (`fileContext`); the 32-byte input key is random per transfer and travels inside an encrypted DM.
 *
 *   key ‖ base nonce ‖ commitment = HKDF-Expand-SHA512(input key,
 *       "c2sp.org/chunked-encryption@v1+" ‖ "AEAD_AES_256_GCM" ‖ 0x00 ‖ salt ‖ context, 32 + 12 + 32)
 *
 * Wire format (exactly C2SP, no version byte of its own: the version lives in the HKDF label):
 *   salt (24) | commitment (32) | chunk₀ | chunk₁ | … each AES-GCM(key, base nonce ⊕ index, 16 KiB) ‖ tag
 * The final chunk is always shorter than 16 KiB (possibly empty): that marks the end, so truncation,
 * reordering, duplication and trailing data all fail. Empty AEAD AD.
 *
 * `ChunkDecryptor.decryptNext()` is for chunks received one by one (a rejected chunk leaves the
 * decryptor unchanged); `StreamDecryptor` takes arbitrary splits and, once failed, keeps failing.
 */

import { concatBytes, equalBytes, utf8 } from "../common/bytes.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import { buf, DecryptError, GCM_NONCE_LEN, GCM_TAG_LEN, hkdfExpandSha512, lp } from "./primitives.ts";
import { StickyFailure } from "./sticky.ts";

export const CHUNK_SIZE = 16384;
export const ENC_CHUNK_SIZE = CHUNK_SIZE + GCM_TAG_LEN;
export const SALT_LEN = 24;
export const FILE_HEADER_LEN = SALT_LEN + 32;
/** Parley's own cap (C2SP allows 2^38; at least 2^32 recommended). */
export const MAX_CHUNKS = 2 ** 32;

const LABEL = utf8.encode("c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\0");
const FILE_CTX = utf8.encode("parley-file-v1\0");

/** The C2SP context binding a transfer to its id, sender and recipient. */
export function fileContext(transferId: string, sender: string, recipient: string): Uint8Array {
  return concatBytes([FILE_CTX, lp([utf8.encode(transferId), utf8.encode(sender), utf8.encode(recipient)])]);
}

interface Derived {
  key: Uint8Array;
  baseNonce: Uint8Array;
  commitment: Uint8Array;
}

async function derive(inputKey: Uint8Array, salt: Uint8Array, ctx: Uint8Array): Promise<Derived> {
  if (inputKey.length !== 32) throw new RangeError("Input key must be 32 bytes");
  const out = await hkdfExpandSha512(inputKey, concatBytes([LABEL, salt, ctx]), 76);
  return { key: out.slice(0, 32), baseNonce: out.slice(32, 44), commitment: out.slice(44, 76) };
}

function chunkNonce(base: Uint8Array, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_CHUNKS) {
    throw new RangeError("Chunk index out of range");
  }
  const n = base.slice();
  let x = index;
  for (let i = 11; i >= 7; i--) {
    n[i]! ^= x % 256;
    x = Math.floor(x / 256);
  }
  return n;
}

/** Per-chunk AEAD with known key and base nonce (the C2SP "raw mode"; also the engine below). */
export class ChunkCipher {
  #key: Promise<CryptoKey>;
  /** The key once imported (then chunks are encrypted without a turn of the event loop first). */
  #ready: CryptoKey | null = null;
  constructor(key: Uint8Array, readonly baseNonce: Uint8Array) {
    if (key.length !== 32 || baseNonce.length !== GCM_NONCE_LEN) {
      throw new RangeError("Bad chunk key or nonce size");
    }
    this.#key = crypto.subtle.importKey("raw", buf(key), "AES-GCM", false, ["encrypt", "decrypt"]);
    this.#key.then((k) => (this.#ready = k), () => {});
  }

  /**
   * Starts encrypting `n` chunks of `pt` (CHUNK_SIZE bytes each, the last one possibly shorter or
   * empty), chunk `first` on, all at once. WebCrypto takes a copy of its input when called, so `pt`
   * may be overwritten as soon as this returns (before the key is imported, a copy is made here).
   */
  encryptChunks(first: number, n: number, pt: Uint8Array): Promise<Uint8Array>[] {
    if (pt.length > n * CHUNK_SIZE) throw new RangeError("Chunk too large");
    const k = this.#ready;
    const src = k ? pt : pt.slice();
    const out: Promise<Uint8Array>[] = [];
    for (let i = 0; i < n; i++) {
      const part = src.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE) as Uint8Array<ArrayBuffer>;
      const iv = chunkNonce(this.baseNonce, first + i) as Uint8Array<ArrayBuffer>;
      out.push(
        k
          ? crypto.subtle.encrypt({ name: "AES-GCM", iv }, k, part).then((c) => new Uint8Array(c))
          : this.encryptChunk(first + i, part),
      );
    }
    return out;
  }

  async encryptChunk(index: number, plaintext: Uint8Array): Promise<Uint8Array> {
    if (plaintext.length > CHUNK_SIZE) throw new RangeError("Chunk too large");
    const iv = chunkNonce(this.baseNonce, index) as Uint8Array<ArrayBuffer>;
    // WebCrypto copies its input: the view is passed as it is (no copy of our own per chunk).
    return new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv },
        await this.#key,
        plaintext as Uint8Array<ArrayBuffer>,
      ),
    );
  }

  async decryptChunk(index: number, ciphertext: Uint8Array): Promise<Uint8Array> {
    if (ciphertext.length < GCM_TAG_LEN || ciphertext.length > ENC_CHUNK_SIZE) {
      throw new DecryptError("Invalid chunk length");
    }
    const iv = chunkNonce(this.baseNonce, index) as Uint8Array<ArrayBuffer>;
    try {
      return new Uint8Array(
        await crypto.subtle.decrypt(
          { name: "AES-GCM", iv },
          await this.#key,
          ciphertext as Uint8Array<ArrayBuffer>,
        ),
      );
    } catch {
      throw new DecryptError("Chunk failed to authenticate");
    }
  }
}

/** Streaming encryptor: `header`, then `push()` for full chunks, then `finish()` for the short one. */
export class ChunkedEncryptor {
  #buf: Uint8Array = new Uint8Array(0);
  #index = 0;
  #done = false;
  private constructor(readonly header: Uint8Array, private readonly cipher: ChunkCipher) {}

  static async create(
    inputKey: Uint8Array,
    ctx: Uint8Array,
    rand: RandomBytes = cryptoRandom,
  ): Promise<ChunkedEncryptor> {
    const salt = rand(SALT_LEN);
    const d = await derive(inputKey, salt, ctx);
    return new ChunkedEncryptor(concatBytes([salt, d.commitment]), new ChunkCipher(d.key, d.baseNonce));
  }

  /** Adds plaintext; returns the ciphertext of any chunks completed (possibly empty). */
  async push(data: Uint8Array): Promise<Uint8Array> {
    if (this.#done) throw new Error("Encryptor is finished");
    this.#buf = concatBytes([this.#buf, data]);
    const out: Uint8Array[] = [];
    // Keep a full chunk back only if nothing follows it: a full chunk is never final.
    let off = 0;
    while (this.#buf.length - off > CHUNK_SIZE) {
      out.push(await this.cipher.encryptChunk(this.#index++, this.#buf.subarray(off, off + CHUNK_SIZE)));
      off += CHUNK_SIZE;
    }
    this.#buf = this.#buf.slice(off);
    return concatBytes(out);
  }

  /** Ends the message: emits the remaining full chunk (if any) and the short final chunk. */
  async finish(): Promise<Uint8Array> {
    if (this.#done) throw new Error("Encryptor is finished");
    this.#done = true;
    const out: Uint8Array[] = [];
    if (this.#buf.length === CHUNK_SIZE) {
      out.push(await this.cipher.encryptChunk(this.#index++, this.#buf));
      this.#buf = new Uint8Array(0);
    }
    out.push(await this.cipher.encryptChunk(this.#index++, this.#buf));
    return concatBytes(out);
  }
}

/** Checks the header (salt ‖ commitment) and returns the chunk cipher; `DecryptError` on mismatch. */
export async function openFileHeader(
  inputKey: Uint8Array,
  ctx: Uint8Array,
  header: Uint8Array,
): Promise<ChunkCipher> {
  if (header.length !== FILE_HEADER_LEN) throw new DecryptError("Truncated file header");
  const d = await derive(inputKey, header.subarray(0, SALT_LEN), ctx);
  if (!equalBytes(d.commitment, header.subarray(SALT_LEN))) {
    throw new DecryptError("File key commitment mismatch");
  }
  return new ChunkCipher(d.key, d.baseNonce);
}

/** Chunk-at-a-time decryptor: a rejected chunk (bad tag, wrong index, replay) changes nothing. */
export class ChunkDecryptor {
  #next = 0;
  #done = false;
  constructor(private readonly cipher: ChunkCipher) {}

  static async create(inputKey: Uint8Array, ctx: Uint8Array, header: Uint8Array): Promise<ChunkDecryptor> {
    return new ChunkDecryptor(await openFileHeader(inputKey, ctx, header));
  }

  get nextIndex(): number {
    return this.#next;
  }
  get done(): boolean {
    return this.#done;
  }

  /** Decrypts the next encrypted chunk (16 KiB + tag, or shorter for the final one). */
  async decryptNext(chunk: Uint8Array): Promise<{ plaintext: Uint8Array; final: boolean }> {
    if (this.#done) throw new DecryptError("Data after the final chunk");
    const plaintext = await this.cipher.decryptChunk(this.#next, chunk);
    this.#next++;
    const final = chunk.length < ENC_CHUNK_SIZE;
    if (final) this.#done = true;
    return { plaintext, final };
  }
}

/** Decryptor over arbitrary splits of the ciphertext (header included); failures are sticky. */
export class StreamDecryptor {
  #buf: Uint8Array = new Uint8Array(0);
  #dec: ChunkDecryptor | null = null;
  #sticky = new StickyFailure();
  constructor(private readonly inputKey: Uint8Array, private readonly ctx: Uint8Array) {
    if (inputKey.length !== 32) throw new RangeError("Input key must be 32 bytes");
  }

  /** Adds ciphertext; returns plaintext of chunks that are authenticated and surely not final. */
  push(data: Uint8Array): Promise<Uint8Array> {
    return this.#sticky.run(async () => {
      this.#buf = concatBytes([this.#buf, data]);
      if (!this.#dec) {
        if (this.#buf.length < FILE_HEADER_LEN) return new Uint8Array(0);
        this.#dec = await ChunkDecryptor.create(
          this.inputKey,
          this.ctx,
          this.#buf.subarray(0, FILE_HEADER_LEN),
        );
        this.#buf = this.#buf.slice(FILE_HEADER_LEN);
      }
      const out: Uint8Array[] = [];
      let off = 0;
      try {
        while (this.#buf.length - off > ENC_CHUNK_SIZE) {
          out.push((await this.#dec.decryptNext(this.#buf.subarray(off, off + ENC_CHUNK_SIZE))).plaintext);
          off += ENC_CHUNK_SIZE;
        }
      } finally {
        this.#buf = this.#buf.slice(off);
      }
      return concatBytes(out);
    });
  }

  /** Ends the ciphertext: decrypts the final short chunk, or fails on truncation. */
  finish(): Promise<Uint8Array> {
    return this.#sticky.run(async () => {
      if (!this.#dec) throw new DecryptError("Truncated file header");
      if (this.#buf.length >= ENC_CHUNK_SIZE || this.#buf.length < GCM_TAG_LEN) {
        throw new DecryptError("Truncated file ciphertext");
      }
      const r = await this.#dec.decryptNext(this.#buf);
      this.#buf = new Uint8Array(0);
      this.#sticky.set(new DecryptError("Decryptor is finished"));
      return r.plaintext;
    });
  }
}

/** One-shot encryption of a whole message. */
export async function encryptFile(
  inputKey: Uint8Array,
  ctx: Uint8Array,
  plaintext: Uint8Array,
  rand: RandomBytes = cryptoRandom,
): Promise<Uint8Array> {
  const e = await ChunkedEncryptor.create(inputKey, ctx, rand);
  return concatBytes([e.header, await e.push(plaintext), await e.finish()]);
}

/** One-shot decryption; throws `DecryptError` on any tampering, truncation or wrong key/context. */
export async function decryptFile(
  inputKey: Uint8Array,
  ctx: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  const d = new StreamDecryptor(inputKey, ctx);
  const body = await d.push(ciphertext);
  return concatBytes([body, await d.finish()]);
}
