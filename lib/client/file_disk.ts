/**
 * The disk side of file transfers (issue 12; with files.ts the client files touching the user's
 * files), shared by client mode (files.ts, relayed) and peer mode (peer_files.ts, direct): the file
 * to send (`sendable`, `checkUnchanged`), ciphertext of a batch of chunks read from it, the streamed
 * SHA-256 of a file, free download names (`name (1)`…, never over a `.part`), the receiving side's
 * `.part` (`openPart` keeps its verified chunks, `writeChunks` writes a chunk only once it
 * authenticated, `finishPart` renames only after the size and SHA-256 match), and the outbox
 * listing for `/ls`.
 */
import { concatBytes, sha256Stream } from "../common/bytes.ts";
import { CHUNK_SIZE, type ChunkCipher, FILE_HEADER_LEN } from "../crypto/file_aead.ts";
import { BackendError } from "./backend.ts";
import {
  BATCH,
  chunkCount,
  chunkLength,
  chunkOffset,
  MAX_FILE_SIZE,
  safeFileName,
  withNumber,
} from "./file_offer.ts";

/** A file to send: its real path, size, modification time and the name it is offered under. */
export async function sendable(
  path: string,
): Promise<{ real: string; size: number; mtime: number; name: string }> {
  const real = await Deno.realPath(path).catch(() => {
    throw new BackendError("no_file", `There is no file ${path}`);
  });
  const st = await Deno.stat(real);
  if (!st.isFile) throw new BackendError("no_file", `${path} is not a file`);
  if (st.size > MAX_FILE_SIZE) throw new BackendError("file_too_large", `${path} is too large to send`);
  return { real, size: st.size, mtime: st.mtime?.getTime() ?? 0, name: real.split(/[\\/]/).pop() || "file" };
}

/** Throws `file_changed` when `path` no longer has the size and time it was offered with. */
export async function checkUnchanged(path: string, size: number, mtime: number): Promise<void> {
  const st = await Deno.stat(path);
  if (st.size !== size || (st.mtime?.getTime() ?? 0) !== mtime) {
    throw new BackendError("file_changed", `${path} changed while it was being sent`);
  }
}

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

/** Where a received file goes: `dir` (created) and a free, safe form of the offered name. */
export async function downloadTarget(dir: string, name: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  return await freeName(dir, safeFileName(name));
}

/**
 * Opens a download's `.part` to continue it: its whole chunks were verified before they were
 * written, a torn tail is dropped; `next` is the first chunk still missing.
 */
export async function openPart(part: string, size: number): Promise<{ out: Deno.FsFile; next: number }> {
  const out = await Deno.open(part, { read: true, write: true, create: true });
  try {
    const next = Math.min(Math.floor((await out.stat()).size / CHUNK_SIZE), chunkCount(size) - 1);
    await out.truncate(next * CHUNK_SIZE);
    await out.seek(next * CHUNK_SIZE, Deno.SeekMode.Start);
    return { out, next };
  } catch (e) {
    out.close();
    throw e;
  }
}

/**
 * Decrypts the whole chunks at the start of `data` (chunk `i` first, all at once) and appends their
 * plaintext to `out` only after every one of them authenticated (a `DecryptError` leaves them all
 * unwritten); returns the next chunk index and the bytes of an incomplete chunk left over.
 */
export async function writeChunks(
  out: Deno.FsFile,
  cipher: ChunkCipher,
  size: number,
  i: number,
  data: Uint8Array,
): Promise<{ next: number; rest: Uint8Array }> {
  const n = chunkCount(size), whole: Promise<Uint8Array>[] = [];
  let off = 0;
  for (; i < n && data.length - off >= chunkLength(size, i); i++) {
    whole.push(cipher.decryptChunk(i, data.subarray(off, off += chunkLength(size, i))));
  }
  const pt = concat(...await Promise.all(whole));
  for (let o = 0; o < pt.length;) o += await out.write(pt.subarray(o));
  return { next: i, rest: data.subarray(off) };
}

/**
 * Ends a download: the `.part` must have the offered size and SHA-256 (`file_corrupt` otherwise);
 * then it takes its final name, or a free one beside it when that was taken meanwhile.
 */
export async function finishPart(
  part: string,
  target: string,
  offer: { name: string; size: number; sha256: string },
): Promise<string> {
  const sum = await hashFile(part);
  if ((await Deno.stat(part)).size !== offer.size || sum !== offer.sha256) {
    throw new BackendError("file_corrupt", `${offer.name} does not match the SHA-256 its sender gave`);
  }
  const dir = target.slice(0, target.lastIndexOf("/"));
  const final = (await exists(target)) ? await freeName(dir, safeFileName(offer.name)) : target;
  await Deno.rename(part, final);
  return final;
}

/** Removes a refused download's `.part` (nothing when it is gone). */
export async function removePart(part: string): Promise<void> {
  await Deno.remove(part).catch(() => {});
}

/**
 * The ciphertext of a file to send, BATCH whole chunks at a time from chunk `from` (the header not
 * included): bounded memory whatever the size. At the end the file must not have changed.
 */
export async function* cipherBatches(
  path: string,
  cipher: ChunkCipher,
  f: { size: number; mtime: number },
  from: number,
): AsyncGenerator<{ i: number; data: Uint8Array }> {
  const file = await Deno.open(path, { read: true });
  try {
    for (let i = from; i < chunkCount(f.size); i += BATCH) {
      yield { i, data: await cipherFrom(file, cipher, new Uint8Array(0), f.size, chunkOffset(i)) };
    }
  } finally {
    file.close();
  }
  await checkUnchanged(path, f.size, f.mtime);
}
