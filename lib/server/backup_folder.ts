/**
 * A backup folder's pieces, shared by backup.ts (taking one) and restore.ts (putting one back): the
 * manifest (backup.json: every file with its size and SHA-256, the database's counts), copies of the
 * key files, an older version's message log segments and the relayed files (each `.json` before its
 * `.bin`; whatever is not a regular file is refused by name), the walk that refuses links, fifos and
 * devices, SHA-256 of a file read in pieces, and the database's integrity check (every message row
 * against its CRC) and counts. No I/O outside the folders it is given.
 */
import { DatabaseSync } from "node:sqlite";
import { sha256Stream } from "../common/bytes.ts";
import { certMatchesKey } from "../net/cert.ts";
import { KEY_FILES, SERVING_LOCK } from "./data_dir.ts";
import { checkMessageRows } from "./store/sqlite_check.ts";

/** A segment file's name in an older version's message log folder. */
export const isSegmentName = (n: string) => /^\d{16}\.log$/.test(n);

/** Written beside the copy: what it is and where it came from. */
export const MANIFEST = "backup.json";

/** backup.json: what a backup holds and where it came from. */
export interface Manifest {
  version: string;
  /** ISO time the backup was taken. */
  taken: string;
  database: "sqlite" | "postgres";
  fingerprint: string | null;
  files: number;
  /**
   * Every file of the backup but backup.json: its path inside the backup ("/" between folders), size
   * and SHA-256 (hex). Absent in a backup of Parley 0.20 or older.
   */
  contents?: ManifestEntry[];
  /** Counted in the database copy (and the message log's records, when it has one); absent as `contents`. */
  counts?: { users: number; rooms: number; messages: number; messageLog?: number };
}

/** One file of a backup as its manifest lists it. */
export interface ManifestEntry {
  path: string;
  bytes: number;
  sha256: string;
}

/** Whether `p` exists (a missing entry is false; any other failure throws). */
export const exists = async (p: string) => {
  try {
    await Deno.stat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
};

/** The manifest's counts in words. */
export const countsText = (c: NonNullable<Manifest["counts"]>) =>
  `${c.users} user(s), ${c.rooms} room(s), ${c.messages} message(s)`;

/**
 * Users, rooms and messages in the database at `path` (opened read-only), the message log's
 * `logMessages` added to its messages.
 */
export function databaseCounts(path: string, logMessages: number | null): NonNullable<Manifest["counts"]> {
  const conn = new DatabaseSync(path, { readOnly: true });
  try {
    const n = (table: string) =>
      (conn.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const messages = n("messages") + (logMessages ?? 0);
    return {
      users: n("users"),
      rooms: n("rooms"),
      messages,
      ...(logMessages === null ? {} : { messageLog: logMessages }),
    };
  } finally {
    conn.close();
  }
}

/** What an lstat found when it is neither a regular file nor a folder, in words; else null. */
function oddKind(i: Deno.FileInfo): string | null {
  if (i.isFile || i.isDirectory) return null;
  if (i.isSymlink) return "a symbolic link";
  if (i.isFifo) return "a named pipe (fifo)";
  if (i.isSocket) return "a socket";
  if (i.isCharDevice) return "a character device";
  if (i.isBlockDevice) return "a block device";
  return "not a regular file";
}

/** The refusal of an entry `path` that is not a regular file (`info`: its lstat), by name. */
export function notRegular(path: string, info: Deno.FileInfo): Error {
  return new Error(
    `${path} is ${oddKind(info) ?? "a folder"}: a backup holds only regular files and folders; refused`,
  );
}

/** Throws `notRegular` for the entry at `path` of a folder being copied, unless it is gone meanwhile. */
async function refuseOdd(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  throw notRegular(path, info);
}

/**
 * Every regular file under `root` by its path inside it ("/" between folders) → size; a folder is
 * walked (lstat: links are not followed); anything else throws, naming it.
 */
export async function walk(
  root: string,
  rel = "",
  out = new Map<string, number>(),
): Promise<Map<string, number>> {
  for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    const info = await Deno.lstat(`${root}/${path}`);
    if (oddKind(info)) throw notRegular(`${root}/${path}`, info);
    if (info.isDirectory) await walk(root, path, out);
    else out.set(path, info.size);
  }
  return out;
}

/** SHA-256 (hex) of the file at `path`, read in pieces (a relayed file may be large), read-only. */
export async function fileSha256(path: string): Promise<string> {
  const h = sha256Stream();
  const f = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(1 << 20);
    for (let n = await f.read(buf); n !== null; n = await f.read(buf)) h.update(buf.subarray(0, n));
  } finally {
    f.close();
  }
  return h.hex();
}

/** `PRAGMA integrity_check` of the database at `path` (read-only unless told); throws naming `what` when damaged. */
export function integrity(path: string, what: string, readOnly = true): number {
  const conn = new DatabaseSync(path, { readOnly });
  let res: string, rows = 0;
  try {
    const ic = conn.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    res = ic.map((r) => r.integrity_check).join("; ");
    if (res === "ok") {
      const r = checkMessageRows(conn); // every message row against its CRC
      rows = r.rows;
      if (r.damaged.length) {
        res = `message row(s) failing their checksum: seq ${r.damaged.slice(0, 10).join(", ")}`;
      } else if (r.unreadable.length) {
        res = `message row(s) that cannot be read: seq ${r.unreadable.slice(0, 10).join(", ")}`;
      }
    }
  } catch (e) {
    res = (e as Error).message; // "database disk image is malformed": too damaged to check
  } finally {
    conn.close();
  }
  if (res !== "ok") throw new Error(`${what} is damaged: ${res}`);
  return rows;
}

/** The certificate in `dir` when it and key.pem are there and match; null when neither is; else throws. */
export async function certPair(dir: string): Promise<string | null> {
  if (!await exists(`${dir}/cert.pem`) && !await exists(`${dir}/key.pem`)) return null;
  const [cert, key] = [await readCert(dir), await Deno.readTextFile(`${dir}/key.pem`)];
  if (!certMatchesKey(cert, key)) throw new Error(`the certificate in ${dir} does not match its key.pem`);
  return cert;
}

/** cert.pem of the folder `dir`. */
export const readCert = (dir: string) => Deno.readTextFile(`${dir}/cert.pem`);

/** Copies one file, readable by its owner only. */
export async function copyPrivate(from: string, to: string): Promise<void> {
  await Deno.copyFile(from, to);
  await Deno.chmod(to, 0o600).catch(() => {}); // no POSIX modes on Windows
}

/** Copies the key files present in `from` to `to`; returns their names. */
export async function copyKeys(from: string, to: string): Promise<string[]> {
  const got: string[] = [];
  for (const n of KEY_FILES) {
    if (!await exists(`${from}/${n}`)) continue;
    await copyPrivate(`${from}/${n}`, `${to}/${n}`);
    got.push(n);
  }
  return got;
}

/**
 * Copies an older version's message log segments (segment_import.ts reads them; a server of this
 * version imports them at its start), newest first as that version's compaction required. A segment
 * that is not a regular file (a link) is refused by name, not skipped. Returns the segments copied.
 */
export async function copyLog(from: string, to: string): Promise<number> {
  if (!await exists(from)) return 0;
  await Deno.mkdir(to, { recursive: true, mode: 0o700 });
  const names: string[] = [];
  for await (const e of Deno.readDir(from)) {
    if (!isSegmentName(e.name)) continue;
    if (e.isFile) names.push(e.name);
    else await refuseOdd(`${from}/${e.name}`); // a segment the server reads through a link: not copied blind
  }
  let n = 0;
  for (const name of names.sort().reverse()) {
    try {
      await copyPrivate(`${from}/${name}`, `${to}/${name}`);
      n++;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return n;
}

/**
 * Copies a relayed-files folder: every `.json` before any `.bin` (see the contract); a `.json` or
 * `.bin` that is not a regular file is refused by name. Returns the files.
 */
export async function copyFiles(from: string, to: string): Promise<number> {
  if (!await exists(from)) return 0;
  await Deno.mkdir(to, { recursive: true, mode: 0o700 });
  const names: string[] = [];
  for await (const e of Deno.readDir(from)) {
    if (e.isFile && e.name !== SERVING_LOCK) names.push(e.name); // the servers' lock is no relayed file
    else if (/\.(bin|json)$/.test(e.name)) await refuseOdd(`${from}/${e.name}`);
  }
  const first = (n: string) => (n.endsWith(".json") ? 0 : 1);
  names.sort((a, b) => first(a) - first(b));
  let n = 0;
  for (const name of names) {
    try {
      await copyPrivate(`${from}/${name}`, `${to}/${name}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      // Fetched or expired meanwhile: no metadata without its ciphertext either.
      if (name.endsWith(".bin")) await Deno.remove(`${to}/${name.slice(0, -4)}.json`).catch(() => {});
      continue;
    }
    if (name.endsWith(".bin")) n++;
  }
  return n;
}
