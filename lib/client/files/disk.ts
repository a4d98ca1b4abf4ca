/**
 * The disk side of file transfers (issue 12; with transfers.ts, send.ts and receive.ts the client
 * files touching the user's files), shared by client mode and peer mode (carried*.ts): the file
 * to send (`sendable`, `openToSend`, `checkUnchanged`, `cipherChunks`; its ciphertext in
 * cipher.ts), the `.part` of a file being received (`downloadTarget`, `openPart`; part_writer.ts
 * writes only authenticated chunks into it; `finishPart` renames only after the size and SHA-256
 * match), the SHA-256 of a file (streamed, or `FileSum`: from the plaintext a sender reads anyway), free download names
 * (`name (1)`…, never over a `.part`), when a failure removes a `.part` (`partGoes`), the room left for a download (`roomFor`), and the outbox
 * listing for `/ls`.
 */
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { sha256Stream } from "../../common/bytes.ts";
import { CHUNK_SIZE, type ChunkCipher } from "../../crypto/age_stream.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import { BackendError } from "../backend.ts";
import { chunkPieces } from "./cipher.ts";
import { MAX_FILE_SIZE } from "./offer.ts";
import { safeFileName, withNumber } from "./file_name.ts";
import { chunkCount } from "./layout.ts";

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

/** Opens a file to send, for reading (closed by the caller). */
export function openToSend(path: string): Promise<Deno.FsFile> {
  return Deno.open(path, { read: true });
}

/** Throws `file_changed` when `path` no longer has the size and time it was offered with. */
export async function checkUnchanged(path: string, size: number, mtime: number): Promise<void> {
  const st = await Deno.stat(path);
  if (st.size !== size || (st.mtime?.getTime() ?? 0) !== mtime) {
    throw new BackendError("file_changed", `${path} changed while it was being sent`);
  }
}

/** The running SHA-256 of what a `.part` holds. */
export type PartHash = ReturnType<typeof sha256Stream>;

/**
 * Opens `part` to continue a download of a `size`-byte file: the whole chunks in it were verified
 * before they were written, a torn tail is cut off. Returns the file, the next chunk's index and the
 * SHA-256 of the kept chunks so far (the writer goes on hashing: no second pass over the file).
 */
export async function openPart(
  part: string,
  size: number,
): Promise<{ out: Deno.FsFile; next: number; hash: PartHash }> {
  const out = await Deno.open(part, { read: true, write: true, create: true, mode: 0o600 });
  // For the user only, like the client folder (also a `.part` an older version left readable).
  if (Deno.build.os !== "windows") await Deno.chmod(part, 0o600);
  const have = (await out.stat()).size;
  const next = Math.min(Math.floor(have / CHUNK_SIZE), chunkCount(size) - 1);
  // Only a torn tail is cut: on ext4 a truncate makes close() flush the whole file (auto_da_alloc),
  // and the keystore's next fsync then waits for it (≈ 1 s per GiB written).
  if (have !== next * CHUNK_SIZE) await out.truncate(next * CHUNK_SIZE);
  const hash = sha256Stream();
  const buf = new Uint8Array(1024 * 1024);
  for (
    let n, left = next * CHUNK_SIZE;
    left > 0 && (n = await out.read(buf.subarray(0, Math.min(buf.length, left)))) !== null;
  ) {
    hash.update(buf.subarray(0, n));
    left -= n;
  }
  await out.seek(next * CHUNK_SIZE, Deno.SeekMode.Start);
  return { out, next, hash };
}

/**
 * The SHA-256 of a file being sent, from the plaintext its chunks are read as (`seen`, in order: no
 * second pass over the file). Pieces read again (a batch resent) add nothing; a piece past what it
 * has (a sender resuming part way), or `finish()` before the end was seen, hands over to one
 * `hashFile` of the whole file. `done` resolves once the whole file is hashed.
 */
export class FileSum {
  readonly done: Promise<string>;
  #h = sha256Stream();
  #at = 0;
  #over = false;
  #resolve!: (hex: string) => void;
  #reject!: (e: unknown) => void;
  constructor(readonly path: string, readonly size: number) {
    this.done = new Promise((res, rej) => [this.#resolve, this.#reject] = [res, rej]);
    if (size === 0) this.#end(this.#h.hex());
  }
  #end(hex: string): void {
    this.#over = true;
    this.#resolve(hex);
  }
  #alone(): void {
    if (this.#over) return;
    this.#over = true;
    hashFile(this.path).then(this.#resolve, this.#reject);
  }
  seen(pos: number, pt: Uint8Array): void {
    if (this.#over) return;
    if (pos > this.#at) return this.#alone();
    const end = Math.min(pos + pt.length, this.size);
    if (end <= this.#at) return;
    this.#h.update(pt.subarray(this.#at - pos, end - pos));
    this.#at = end;
    if (end === this.size) this.#end(this.#h.hex());
  }
  /** The file has been sent: whatever was not seen is hashed now. */
  finish(): void {
    this.#alone();
  }
}

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

/** Whether something is at `p` (nothing is under a file: a path through one is not there either). */
export async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
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

/** The outbox `/ls` lists: `dir`'s files by name, numbered from 1 (`/send USER N`); none without a folder. */
export async function outboxFiles(
  dir?: string,
): Promise<{ id: number; name: string; size: number; path: string }[]> {
  const files = dir ? await listFolder(dir) : [];
  return files.sort((a, b) => a.name.localeCompare(b.name)).map((f, i) => ({ id: i + 1, ...f }));
}

/** The file `/send` means: outbox file N of `dir` (`outboxFiles`), or the path given. */
export async function outboxPath(dir: string | undefined, idOrPath: string): Promise<string> {
  if (!/^\d+$/.test(idOrPath)) return idOrPath;
  const f = (await outboxFiles(dir))[Number(idOrPath) - 1];
  if (!f) throw new BackendError("no_file", `There is no file ${idOrPath} in the outbox (/ls lists it)`);
  return f.path;
}

/**
 * Where a received file goes: `dir` (created for the user only, 0700; a folder that exists keeps its
 * modes) and a free, safe form of the offered name. The file itself is 0600 (`openPart`).
 */
export async function downloadTarget(dir: string, name: string): Promise<string> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotADirectory) {
      throw notAFolder(dir);
    }
    throw e;
  }
  return await freeName(dir, safeFileName(name));
}

/**
 * Where an accepted download goes: the path an earlier run chose (`path`, its `.part` beside it)
 * while its folder is still there, else a new one in `dir` (`downloadTarget`).
 */
export async function resumeTarget(dir: string, name: string, path?: string): Promise<string> {
  const there = path && (await Deno.stat(dirname(path)).catch(() => null))?.isDirectory;
  return there ? path : await downloadTarget(dir, name);
}

const notAFolder = (dir: string) =>
  new BackendError("usage", `Cannot save into ${dir}: it is a file, not a folder (or lies under one)`);

/** Refuses `dir` as a folder to save into when it is there and is not one (one not there yet is made later). */
export async function saveFolder(dir: string): Promise<void> {
  const st = await Deno.stat(dir).catch(() => null);
  if (st && !st.isDirectory) throw notAFolder(dir);
}

/**
 * Ends a download: the `.part` must have the offered size and SHA-256 (`sum`: hashed as it was
 * written, `file_corrupt` otherwise); then it takes its final name, or a free one beside it when
 * that was taken meanwhile.
 */
export async function finishPart(
  part: string,
  target: string,
  offer: { name: string; size: number; sha256: string },
  sum: string,
): Promise<string> {
  if ((await Deno.stat(part)).size !== offer.size || sum !== offer.sha256) {
    throw new BackendError("file_corrupt", `${offer.name} does not match the SHA-256 its sender gave`);
  }
  const dir = target.slice(0, target.lastIndexOf("/"));
  const final = (await exists(target)) ? await freeName(dir, safeFileName(offer.name)) : target;
  await Deno.rename(part, final);
  return final;
}

/**
 * The bytes a download into `dir` (which may not exist yet: its nearest existing folder counts) can
 * still take — the free space for this user, plus what `part` already holds — or null when that
 * cannot be known (no system access granted: nothing is asked at a prompt).
 */
export async function roomFor(dir: string, part?: string): Promise<number | null> {
  const granted = await Deno.permissions.query({ name: "sys", kind: "statfs" }).catch(() => null);
  if (granted?.state !== "granted") return null;
  let at = dir;
  while (!(await exists(at)) && dirname(at) !== at) at = dirname(at);
  try {
    const s = await statfs(at);
    const have = part ? await Deno.stat(part).then((st) => st.size, () => 0) : 0;
    return s.bavail * s.bsize + have;
  } catch {
    return null;
  }
}

/**
 * Whether a download's failure removes its `.part`, in client and peer mode alike (the one home of
 * the rule): yes when the file is at fault — a chunk that does not authenticate (tampered), data the
 * offer does not allow, a size or SHA-256 that does not match, the file refused, withdrawn or
 * stopped by its sender (a `file_*` code, `no_such_file`); no for anything else (a lost connection,
 * a stall, the disk): the `.part` stays and the transfer resumes from its verified chunks.
 */
export function partGoes(e: unknown): boolean {
  return e instanceof DecryptError ||
    (e instanceof BackendError && (e.code.startsWith("file_") || e.code === "no_such_file"));
}

/** Removes a refused download's `.part` (nothing when it is gone). */
export async function removePart(part: string): Promise<void> {
  await Deno.remove(part).catch(() => {});
}

/**
 * The ciphertext of a file to send from chunk `from` to the end (the header not included), `batch`
 * whole chunks per piece as its parts (cipher.ts `chunkPieces`, as the direct path sends): bounded
 * memory whatever the size; `seen` is shown the plaintext read (a `FileSum`). At the end the file
 * must not have changed.
 */
export async function* cipherChunks(
  path: string,
  cipher: ChunkCipher,
  f: { size: number; mtime: number },
  from: number,
  batch: number,
  seen?: (pos: number, plaintext: Uint8Array) => void,
): AsyncGenerator<{ i: number; parts: Uint8Array[] }> {
  const file = await Deno.open(path, { read: true });
  try {
    yield* chunkPieces({ file, cipher, header: new Uint8Array(0), size: f.size, seen }, from, batch);
  } finally {
    file.close();
  }
  await checkUnchanged(path, f.size, f.mtime);
}

/**
 * Tab completion of a file path as typed (relative to the working folder): the entries of its folder
 * that start with its last part, folders with a `/` after them; dot files only when the part starts
 * with a dot. At most `limit`, sorted; none when the folder cannot be read.
 */
export function pathCompletions(typed: string, limit = 50): string[] {
  const cut = typed.lastIndexOf("/") + 1;
  const dir = typed.slice(0, cut), part = typed.slice(cut);
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir || ".")) {
      if (!e.name.startsWith(part) || (e.name.startsWith(".") && !part.startsWith("."))) continue;
      out.push(dir + e.name + (e.isDirectory ? "/" : ""));
    }
  } catch {
    return [];
  }
  return out.sort().slice(0, limit);
}
