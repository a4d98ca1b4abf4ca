/**
 * The ciphertext of a file being sent (issue 12), read from a handle its caller opened (transfers.ts,
 * disk.ts) — this module opens nothing: `cipherPieces` (the rest of the file from an offset,
 * with several batches read and encrypted ahead and all their chunks in flight at once, for the
 * relay, the direct path and peer mode), each piece as its parts, copied once into the frame that
 * carries them.
 * `chunkPieces` gives the same from a chunk on, batch by batch with each batch's first chunk (the
 * carriers' batches, carrier.ts). `cipherPieces` reads into one buffer, reused once a batch's chunks are handed to encryption, and
 * shows each batch's plaintext to the source's `seen` (the sender's SHA-256, taken in the same pass).
 */
import { CHUNK_SIZE, type ChunkCipher, FILE_HEADER_LEN } from "../../crypto/age_stream.ts";
import { BackendError } from "../backend.ts";
import { chunkCount, chunkOffset, cipherSize } from "./layout.ts";

/** What a sender reads the ciphertext from. */
export interface Source {
  file: Deno.FsFile;
  cipher: ChunkCipher;
  header: Uint8Array;
  size: number;
  /** Shown the plaintext of each batch read (`pos`: its byte offset in the file), before it is reused. */
  seen?: (pos: number, plaintext: Uint8Array) => void;
}

/** Batches read and encrypted ahead of the carrier or the relay (bounded memory: ≈ 2 MiB of direct or peer batches). */
export const AHEAD = 4;

export const partsLength = (parts: readonly Uint8Array[]) => parts.reduce((n, b) => n + b.length, 0);

/**
 * Plaintext of chunks [first, last) of a `size`-byte file into `into` (`at` is where the file
 * stands, kept up to date: reads in order need no seek). Read synchronously: from the page cache
 * that costs less than the encryption done next on this thread, where an awaited read costs a
 * copy and two thread hand-offs per batch (issue 36).
 */
function readChunks(
  file: Deno.FsFile,
  size: number,
  first: number,
  last: number,
  at: { pos: number },
  into: Uint8Array,
): Uint8Array {
  const from = first * CHUNK_SIZE, len = Math.min(size, last * CHUNK_SIZE) - from;
  const pt = into.subarray(0, len);
  if (at.pos !== from) file.seekSync(from, Deno.SeekMode.Start);
  at.pos = from + pt.length;
  for (let o = 0; o < pt.length;) {
    const r = file.readSync(pt.subarray(o));
    if (r === null) throw new BackendError("file_changed", "The file got shorter while it was being sent");
    o += r;
  }
  return pt;
}

/**
 * Encrypts the `n` chunks of `pt` (chunk `first` on, of a file of `count` chunks) all at once; returns
 * `lead` and the ciphertext from `skip` on, in parts (copied once, into the frame that carries them).
 */
async function sealChunks(
  cipher: ChunkCipher,
  first: number,
  n: number,
  count: number,
  pt: Uint8Array,
  lead: Uint8Array,
  skip: number,
): Promise<Uint8Array[]> {
  const enc = await Promise.all(cipher.encryptChunks(first, n, pt, count));
  enc[0] = enc[0]!.subarray(skip);
  if (lead.length) enc.unshift(lead);
  return enc;
}

/** Where a piece of ciphertext from byte `pos` comes from: chunks [first, last), cut `skip` bytes into the first. */
function piece(header: Uint8Array, size: number, pos: number, batch: number) {
  const lead = pos < FILE_HEADER_LEN ? header.subarray(pos) : new Uint8Array(0);
  const start = Math.max(pos, FILE_HEADER_LEN) - FILE_HEADER_LEN;
  const first = Math.floor(start / (chunkOffset(1) - chunkOffset(0)));
  return {
    lead,
    first,
    last: Math.min(chunkCount(size), first + batch),
    skip: start - (chunkOffset(first) - FILE_HEADER_LEN),
  };
}

/**
 * The ciphertext from byte `pos` to the end, in pieces of at most `batch` chunks (the first cut
 * at `pos`, header first when `pos` is in it), each piece as its parts (`partsLength` bytes):
 * reads stay in order on `src.file`, into one buffer, while up to `depth` pieces are encrypted
 * ahead (their chunks all in flight at once). Memory: `depth` pieces and one batch of plaintext.
 */
export async function* cipherPieces(
  src: Source,
  pos: number,
  batch: number,
  depth: number,
): AsyncGenerator<Uint8Array[]> {
  const { file, cipher, header, size } = src;
  const total = cipherSize(size), ahead: Promise<Uint8Array[]>[] = [], at = { pos: -1 };
  const buf = new Uint8Array(batch * CHUNK_SIZE);
  try {
    while (pos < total || ahead.length) {
      while (pos < total && ahead.length < depth) {
        const p = piece(header, size, pos, batch);
        const pt = readChunks(file, size, p.first, p.last, at, buf);
        src.seen?.(p.first * CHUNK_SIZE, pt);
        // Every chunk of `pt` is handed to encryption (which copies it) before this returns.
        const sealed = sealChunks(cipher, p.first, p.last - p.first, chunkCount(size), pt, p.lead, p.skip);
        sealed.catch(() => {}); // awaited in order below
        ahead.push(sealed);
        pos = Math.min(total, chunkOffset(p.last));
      }
      yield await ahead.shift()!;
    }
  } finally {
    await Promise.allSettled(ahead);
  }
}

/**
 * The ciphertext from chunk `from` to the end (the header not included) as batches of `batch` whole
 * chunks, each with its first chunk's index (carrier.ts `Batch`), AHEAD batches encrypted ahead.
 */
export async function* chunkPieces(
  src: Source,
  from: number,
  batch: number,
): AsyncGenerator<{ i: number; parts: Uint8Array[] }> {
  let i = from;
  for await (const parts of cipherPieces(src, chunkOffset(from), batch, AHEAD)) {
    yield { i, parts };
    i += batch;
  }
}
