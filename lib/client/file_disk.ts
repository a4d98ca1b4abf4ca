/**
 * The disk side of file transfers (issue 12; with files.ts the client files touching the user's
 * files): ciphertext of a batch of chunks read from the file being sent, the streamed SHA-256 of a
 * file, free download names (`name (1)`…, never over a `.part`), and the outbox listing for `/ls`.
 */
import { concatBytes, sha256Stream } from "../common/bytes.ts";
import { CHUNK_SIZE, type ChunkCipher, FILE_HEADER_LEN } from "../crypto/file_aead.ts";
import { BackendError } from "./backend.ts";
import { BATCH, chunkCount, chunkOffset, withNumber } from "./file_offer.ts";

/** Ciphertext from byte `pos` to the end of a batch of chunks (header first when `pos` is in it). */
export async function cipherFrom(
  file: Deno.FsFile,
  cipher: ChunkCipher,
  header: Uint8Array,
  size: number,
  pos: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  if (pos < FILE_HEADER_LEN) parts.push(header.subarray(pos));
  const start = Math.max(pos, FILE_HEADER_LEN) - FILE_HEADER_LEN;
  const first = Math.floor(start / (chunkOffset(1) - chunkOffset(0)));
  const skip = start - (chunkOffset(first) - FILE_HEADER_LEN);
  const last = Math.min(chunkCount(size), first + BATCH);
  const from = first * CHUNK_SIZE, to = Math.min(size, last * CHUNK_SIZE);
  const pt = new Uint8Array(to - from);
  await file.seek(from, Deno.SeekMode.Start);
  for (let o = 0; o < pt.length;) {
    const r = await file.read(pt.subarray(o));
    if (r === null) throw new BackendError("file_changed", "The file got shorter while it was being sent");
    o += r;
  }
  const enc = await Promise.all(
    Array.from(
      { length: last - first },
      (_, k) =>
        cipher.encryptChunk(
          first + k,
          pt.subarray(k * CHUNK_SIZE, Math.min(pt.length, (k + 1) * CHUNK_SIZE)),
        ),
    ),
  );
  enc.forEach((c, k) => parts.push(k === 0 ? c.subarray(skip) : c));
  return concat(...parts);
}

export const concat = (...parts: Uint8Array[]) => concatBytes(parts);

/** SHA-256 of a file, read in bounded pieces. */
export async function hashFile(path: string): Promise<string> {
  const h = sha256Stream();
  const f = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(1024 * 1024);
    for (let n; (n = await f.read(buf)) !== null;) h.update(buf.subarray(0, n));
  } finally {
    f.close();
  }
  return h.hex();
}

export async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** `dir/name`, or `name (1)`, `(2)`… when that or its `.part` is taken. */
export async function freeName(dir: string, name: string): Promise<string> {
  for (let n = 0;; n++) {
    const p = `${dir}/${withNumber(name, n)}`;
    if (!(await exists(p)) && !(await exists(`${p}.part`))) return p;
  }
}

/** Regular files directly inside `dir` (none when it does not exist): the outbox for `/ls`. */
export async function listFolder(dir: string): Promise<{ name: string; size: number; path: string }[]> {
  const out: { name: string; size: number; path: string }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      const path = `${dir}/${e.name}`;
      out.push({ name: e.name, size: (await Deno.stat(path)).size, path });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}
