/**
 * The payload of a Parley file transfer: a standard age v1 file (c2sp.org/age), openable with
 * `age -d -i KEYFILE` given the transfer's one-time X25519 identity (raw 32 bytes in the offer;
 * age_keys_testing.ts `encodeIdentity` gives its AGE-SECRET-KEY-1… form). Parley writes the age.ts header, one
 * X25519 stanza to that identity, then age's STREAM payload:
 *
 *   nonce (16) | chunk₀ | chunk₁ | … each ChaCha20-Poly1305(HKDF-SHA-256(file key, nonce, "payload"),
 *       11-byte big-endian counter ‖ last-chunk flag (0x01 on the final chunk), 64 KiB) ‖ tag
 *
 * The final chunk may be full, never empty unless it is the only one. Parley's header is always
 * FILE_HEADER_LEN bytes (header text and payload nonce), so the layout of a transfer follows from
 * its plaintext size (client/files/layout.ts), and chunks are sealed and checked by index, in any order.
 *
 * age does not authenticate its sender: anyone who knows a recipient can encrypt to it. A transfer's
 * file is authentic because only its two ends know the one-time identity — its public half is never
 * sent (the header hides it: the stanza names only the ephemeral share) — and because the offer's
 * SHA-256 is checked before a `.part` is renamed. A fresh identity per transfer also ties the
 * ciphertext to its transfer (what the C2SP context did before).
 *
 * `ChunkCipher.decryptChunk` is the one home of the chunk rule (nonce, last flag, lengths);
 * `ChunkDecryptor` (chunk by chunk) and `StreamDecryptor` (arbitrary splits, any age header, sticky
 * failures) go through it, and so does the production reader (client/files/part_writer.ts `PartWriter`).
 */
import { concatBytes, utf8 } from "../common/bytes.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import { AgeError, FILE_KEY_LEN, headerLength, openHeader, sealHeader } from "./age.ts";
import {
  chachaOpen,
  chachaSeal,
  DecryptError,
  hkdfSha256Sync,
  x25519PublicFromPrivate,
} from "./primitives.ts";
import { StickyFailure } from "./sticky.ts";

export const CHUNK_SIZE = 65536;
export const TAG_LEN = 16;
export const ENC_CHUNK_SIZE = CHUNK_SIZE + TAG_LEN;
export const NONCE_LEN = 16;
/** Parley's header: version line, one X25519 stanza (two 43-column lines), MAC line, payload nonce. */
export const FILE_HEADER_LEN = 22 + 54 + 44 + 48 + NONCE_LEN;
/** Random bytes a header is made of (file key, ephemeral secret, payload nonce): replayed, the same header. */
export const HEADER_SEED_LEN = FILE_KEY_LEN + 32 + NONCE_LEN;
/** Parley's own cap on chunks per file (age's counter has 88 bits). */
export const MAX_CHUNKS = 2 ** 32;
/** What a transfer's offer names as its payload format. */
export const FILE_FORMAT = "age";

/** A `RandomBytes` that hands out `seed` in order (a stored seed makes the same header again). */
export function seeded(seed: Uint8Array): RandomBytes {
  let at = 0;
  return (n) => {
    if (at + n > seed.length) throw new RangeError("Seed exhausted");
    return seed.slice(at, at += n);
  };
}

const PAYLOAD = utf8.encode("payload");

function chunkNonce(index: number, last: boolean): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_CHUNKS) {
    throw new RangeError("Chunk index out of range");
  }
  const n = new Uint8Array(12);
  new DataView(n.buffer).setUint32(7, index);
  n[11] = last ? 1 : 0;
  return n;
}

/** STREAM with a known payload key: chunks sealed and opened by index (and last-chunk flag). */
export class ChunkCipher {
  constructor(private readonly key: Uint8Array) {
    if (key.length !== 32) throw new RangeError("Bad payload key size");
  }

  /** From the file key and the payload nonce. */
  static of(fileKey: Uint8Array, nonce: Uint8Array): ChunkCipher {
    return new ChunkCipher(hkdfSha256Sync(fileKey, nonce, PAYLOAD, 32));
  }

  encryptChunk(index: number, plaintext: Uint8Array, last: boolean): Uint8Array {
    if (plaintext.length > CHUNK_SIZE || (!last && plaintext.length !== CHUNK_SIZE)) {
      throw new RangeError("Bad chunk size");
    }
    if (last && plaintext.length === 0 && index !== 0) throw new RangeError("Empty final chunk");
    return chachaSeal(this.key, chunkNonce(index, last), plaintext);
  }

  /**
   * Seals the `n` chunks of `pt` (CHUNK_SIZE bytes each, chunk `first` on) of a file of `count`
   * chunks (chunk `count - 1` is the final one). `pt` may be reused once this returns.
   */
  encryptChunks(first: number, n: number, pt: Uint8Array, count: number): Promise<Uint8Array>[] {
    const out: Promise<Uint8Array>[] = [];
    for (let i = 0; i < n; i++) {
      const part = pt.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
      try {
        out.push(Promise.resolve(this.encryptChunk(first + i, part, first + i === count - 1)));
      } catch (e) {
        out.push(Promise.reject(e));
      }
    }
    return out;
  }

  /** Opens chunk `index` (`last`: the final one); `AgeError` ("payload") on any mismatch. */
  decryptChunk(index: number, ciphertext: Uint8Array, last: boolean): Promise<Uint8Array> {
    try {
      if (ciphertext.length < TAG_LEN || ciphertext.length > ENC_CHUNK_SIZE) {
        throw new Error("Invalid chunk length");
      }
      if (!last && ciphertext.length !== ENC_CHUNK_SIZE) throw new Error("Short chunk before the end");
      if (last && ciphertext.length === TAG_LEN && index !== 0) throw new Error("Empty final chunk");
      return Promise.resolve(chachaOpen(this.key, chunkNonce(index, last), ciphertext));
    } catch (e) {
      const why = e instanceof DecryptError ? "Chunk failed to authenticate" : (e as Error).message;
      return Promise.reject(new AgeError("payload", why));
    }
  }
}

/** Streaming encryptor: `header`, then `push()`, then `finish()` (the final chunk). */
export class ChunkedEncryptor {
  #buf: Uint8Array = new Uint8Array(0);
  #index = 0;
  #done = false;
  private constructor(readonly header: Uint8Array, private readonly cipher: ChunkCipher) {}

  /** A new age file to the identity `secret` (raw 32 bytes); `rand` gives HEADER_SEED_LEN bytes. */
  static async create(secret: Uint8Array, rand: RandomBytes = cryptoRandom): Promise<ChunkedEncryptor> {
    return await ChunkedEncryptor.to(await x25519PublicFromPrivate(secret), rand);
  }

  /** A new age file to the X25519 recipient `pub` (raw 32 bytes). */
  static async to(pub: Uint8Array, rand: RandomBytes = cryptoRandom): Promise<ChunkedEncryptor> {
    const fileKey = rand(FILE_KEY_LEN);
    const text = await sealHeader(fileKey, pub, rand);
    const nonce = rand(NONCE_LEN);
    return new ChunkedEncryptor(concatBytes([text, nonce]), ChunkCipher.of(fileKey, nonce));
  }

  /** Adds plaintext; returns the ciphertext of the chunks surely not final (possibly empty). */
  push(data: Uint8Array): Uint8Array {
    if (this.#done) throw new Error("Encryptor is finished");
    this.#buf = concatBytes([this.#buf, data]);
    const out: Uint8Array[] = [];
    let off = 0;
    while (this.#buf.length - off > CHUNK_SIZE) {
      out.push(this.cipher.encryptChunk(this.#index++, this.#buf.subarray(off, off += CHUNK_SIZE), false));
    }
    this.#buf = this.#buf.slice(off);
    return concatBytes(out);
  }

  /** Ends the file: the final chunk (full, short, or empty when the file is). */
  finish(): Uint8Array {
    if (this.#done) throw new Error("Encryptor is finished");
    this.#done = true;
    return this.cipher.encryptChunk(this.#index++, this.#buf, true);
  }
}

/** Opens Parley's header (exactly FILE_HEADER_LEN bytes) for `secret`; the chunk cipher. */
export async function openFileHeader(secret: Uint8Array, header: Uint8Array): Promise<ChunkCipher> {
  const h = await openHeader(header, secret);
  if (header.length - h.length !== NONCE_LEN) throw new AgeError("header", "Unexpected age header length");
  return ChunkCipher.of(h.fileKey, header.subarray(h.length));
}

/** Chunk-at-a-time decryptor: a rejected chunk (bad tag, wrong index, replay) changes nothing. */
export class ChunkDecryptor {
  #next = 0;
  #done = false;
  constructor(private readonly cipher: ChunkCipher) {}

  get nextIndex(): number {
    return this.#next;
  }
  get done(): boolean {
    return this.#done;
  }

  async decryptNext(chunk: Uint8Array, last: boolean): Promise<Uint8Array> {
    if (this.#done) throw new AgeError("payload", "Data after the final chunk");
    const plaintext = await this.cipher.decryptChunk(this.#next, chunk, last);
    this.#next++;
    if (last) this.#done = true;
    return plaintext;
  }
}

/** Decryptor of a whole age file (any v1 header) over arbitrary splits; failures are sticky. */
export class StreamDecryptor {
  #buf: Uint8Array = new Uint8Array(0);
  #dec: ChunkDecryptor | null = null;
  #sticky = new StickyFailure();
  constructor(private readonly secret: Uint8Array) {
    if (secret.length !== 32) throw new RangeError("An X25519 identity is 32 bytes");
  }

  /** Adds ciphertext; returns the plaintext of the whole chunks authenticated so far. */
  push(data: Uint8Array): Promise<Uint8Array> {
    return this.#sticky.run(async () => {
      this.#buf = concatBytes([this.#buf, data]);
      if (!this.#dec) {
        const end = headerLength(this.#buf); // the bound before anything reads the header
        if (end < 0 || this.#buf.length < end + NONCE_LEN) return new Uint8Array(0);
        const h = await openHeader(this.#buf, this.secret);
        this.#dec = new ChunkDecryptor(
          ChunkCipher.of(h.fileKey, this.#buf.subarray(h.length, h.length + NONCE_LEN)),
        );
        this.#buf = this.#buf.slice(h.length + NONCE_LEN);
      }
      // A whole chunk goes out as soon as it is in: as a middle chunk, else as the final one
      // (a full final chunk, as age's own reader does); data after the final chunk fails.
      const out: Uint8Array[] = [], dec = this.#dec;
      let off = 0;
      try {
        while (!dec.done && this.#buf.length - off >= ENC_CHUNK_SIZE) {
          const chunk = this.#buf.subarray(off, off + ENC_CHUNK_SIZE);
          out.push(
            await dec.decryptNext(chunk, false).catch((e) =>
              dec.decryptNext(chunk, true).catch(() => Promise.reject(e))
            ),
          );
          off += ENC_CHUNK_SIZE;
        }
      } finally {
        this.#buf = this.#buf.slice(off);
      }
      if (dec.done && this.#buf.length) {
        this.#sticky.set(new AgeError("payload", "Data after the final chunk"));
      }
      return concatBytes(out);
    });
  }

  /** Ends the ciphertext: opens the final chunk, or fails on truncation. */
  finish(): Promise<Uint8Array> {
    return this.#sticky.run(async () => {
      if (!this.#dec) {
        await openHeader(this.#buf, this.secret); // the header's own error, if it has one
        throw new AgeError("header", "Truncated age payload nonce");
      }
      if (this.#dec.done) return new Uint8Array(0);
      if (!this.#buf.length) throw new AgeError("payload", "The age payload has no final chunk");
      const pt = await this.#dec.decryptNext(this.#buf, true);
      this.#buf = new Uint8Array(0);
      this.#sticky.set(new DecryptError("Decryptor is finished"));
      return pt;
    });
  }
}

/** One-shot encryption of a whole file to the identity `secret`. */
export async function encryptFile(
  secret: Uint8Array,
  plaintext: Uint8Array,
  rand: RandomBytes = cryptoRandom,
): Promise<Uint8Array> {
  const e = await ChunkedEncryptor.create(secret, rand);
  return concatBytes([e.header, e.push(plaintext), e.finish()]);
}

/** One-shot decryption of an age file; `AgeError` on any tampering, truncation or wrong identity. */
export async function decryptFile(secret: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
  const d = new StreamDecryptor(secret);
  const body = await d.push(ciphertext);
  return concatBytes([body, await d.finish()]);
}
