/**
 * The ciphertext layout of an age file as Parley writes it (issue 36; lib/crypto/age_stream.ts): a
 * header of FILE_HEADER_LEN bytes, then chunks of CHUNK_SIZE plaintext + tag, the last one possibly
 * full, empty only when it is the only one. Pure: sizes, offsets and the chunks a range holds.
 */
import { CHUNK_SIZE, ENC_CHUNK_SIZE, FILE_HEADER_LEN, TAG_LEN } from "../../crypto/age_stream.ts";

/** Chunks per relay request body (7 × (64 KiB + tag) ≈ 448 KiB, header included under FILE_BODY_MAX). */
export const RELAY_BATCH = 7;

/** Ciphertext bytes of a `size`-byte plaintext: header, then every chunk with its tag. */
export function cipherSize(size: number): number {
  return FILE_HEADER_LEN + size + chunkCount(size) * TAG_LEN;
}

/** The plaintext bytes whose chunks lie wholly before ciphertext offset `off` (all of them at the end). */
export function plainBefore(size: number, off: number): number {
  if (off >= cipherSize(size)) return size;
  return Math.min(size, Math.floor(Math.max(0, off - FILE_HEADER_LEN) / ENC_CHUNK_SIZE) * CHUNK_SIZE);
}

/** Number of chunks (the final one included; an empty file has one, empty). */
export function chunkCount(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / CHUNK_SIZE);
}

/** Ciphertext offset of chunk `i`. */
export function chunkOffset(i: number): number {
  return FILE_HEADER_LEN + i * ENC_CHUNK_SIZE;
}

/** The whole chunks in `len` ciphertext bytes from chunk `i` on: the index after them, the bytes left. */
export function wholeChunks(size: number, i: number, len: number): { next: number; rest: number } {
  for (; i < chunkCount(size) && len >= chunkLength(size, i); i++) len -= chunkLength(size, i);
  return { next: i, rest: len };
}

/** Ciphertext length of chunk `i` of a `size`-byte file. */
export function chunkLength(size: number, i: number): number {
  const last = chunkCount(size) - 1;
  return i < last ? ENC_CHUNK_SIZE : size - last * CHUNK_SIZE + TAG_LEN;
}
