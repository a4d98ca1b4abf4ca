/**
 * `parley-server backup DEST` and `restore SRC` (issue 38.1): a copy of the data folder — the SQLite
 * database, cert.pem/key.pem, cluster.key, and the relayed files (`--files-dir`, else DATA/files) —
 * taken while the server keeps serving, and put back (and checked) while it is stopped.
 *
 * Design: the backup runs in its own process, not inside the server. The database is in WAL mode, and
 * SQLite's online backup (node:sqlite `backup`) run as one step (`rate: -1`: every page in one call)
 * copies from one read transaction, i.e. one snapshot: every transaction committed before it is in
 * the copy, none after, nothing half. WAL readers do not block the writer, so the server keeps
 * committing (and acknowledging) meanwhile; an ack is sent after its commit (synchronous=FULL), so
 * every message acknowledged before the backup started is in it. No protocol, console command or lock
 * inside the server is needed, and the same command works on a stopped server. (In small steps the
 * backup would restart after each write of the server, and might never end under steady sends;
 * `VACUUM INTO` needs ATTACH, which Deno allows only with full permissions.) Relayed files are copied
 * after the snapshot, each file's metadata
 * (`.json`) before its ciphertext (`.bin`): a file still uploading resumes from what was copied, a
 * file marked ready is already whole. With `--store postgres://…` the database is PostgreSQL's:
 * pg_dump backs it up; this backs up the rest.
 *
 * The manifest (backup.json) lists every file the backup holds with its size and SHA-256, and the
 * counts of users, rooms and messages of the database copy (issue 68 item 11). A data folder of an
 * older version may still hold the message log (`parley.db-messages/`): it is copied and listed too.
 *
 * Restore first verifies the backup strictly read-only (it never opens a file of the backup for
 * writing, nor the database or message log with a store's open: the backup stays byte for byte as it
 * was): every entry is a regular file or a folder (lstat: a symlink, fifo, device… is refused, named);
 * the certificate matches its key and the manifest's fingerprint; every file of the manifest is there
 * with its size and SHA-256, and nothing else is; `PRAGMA integrity_check` runs on a temporary copy
 * of the database. The message log's check is its hashes (the server checks its records when it
 * opens them). A backup whose manifest has no hashes (an older version's) is accepted with a warning,
 * after the other checks. Restore refuses while a server has the target database open (probed with an
 * exclusive SQLite lock, which a running server's connection prevents), moves what the data folder
 * held aside (DATA/before-restore-TIME/), copies the backup in and checks the result again.
 *
 * A database belongs with its server's certificate key (cert_key.ts): restore refuses, before anything
 * is touched, a backup whose database recorded another key than the certificate the restored server
 * will serve with (`--tls-cert` when given, else the backup's cert.pem), unless `--other-server`;
 * then the restored database's record is cleared, for the next start to record its own.
 */
import { backup as sqliteBackup, DatabaseSync } from "node:sqlite";
import { sha256Stream } from "../common/bytes.ts";
import { certMatchesKey, fingerprintPem, keyFingerprintPem } from "../net/cert.ts";
import { OTHER_SERVER_FLAG, restoreCertKey } from "./cert_key.ts";
import { dbPathIn, ensureDataDir, KEY_FILES, SERVING_LOCK, takeServing } from "./data_dir.ts";
import { messageLogDir } from "./store/segment_log.ts";
import { importSegmentLog } from "./store/segment_import.ts";
import { checkMessageRows } from "./store/sqlite_check.ts";

/** A segment file's name in an older version's message log folder. */
const isSegmentName = (n: string) => /^\d{16}\.log$/.test(n);

/** Written beside the copy: what it is and where it came from. */
export const MANIFEST = "backup.json";

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

export interface BackupOptions {
  dataDir: string;
  filesDir: string;
  /** The database is in PostgreSQL (`--store`): not copied here. */
  postgres: boolean;
  version: string;
  now: number;
}

const exists = async (p: string) => {
  try {
    await Deno.stat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
};

/** Takes a backup into `dest` (a new or empty folder); returns the lines to print. */
export async function backup(dest: string, o: BackupOptions): Promise<string[]> {
  const db = dbPathIn(o.dataDir);
  if (!o.postgres && !await exists(db)) throw new Error(`there is no database in ${o.dataDir}`);
  if (await exists(dest)) {
    for await (const _ of Deno.readDir(dest)) throw new Error(`${dest} is not empty`);
  }
  await Deno.mkdir(dest, { recursive: true, mode: 0o700 });
  const out: string[] = [];
  if (o.postgres) {
    out.push(
      "The database is in PostgreSQL: back it up with pg_dump (pg_dump --format=custom URL > parley.dump; " +
        "pg_restore puts it back). Copied the rest:",
    );
  } else {
    const conn = new DatabaseSync(db);
    try {
      conn.exec("PRAGMA busy_timeout=10000");
      await sqliteBackup(conn, dbPathIn(dest), { rate: -1 }); // one step: one snapshot (see the contract)
    } finally {
      conn.close();
    }
    // A single file (no -wal beside it); the server turns WAL on again when it opens it.
    const copy = new DatabaseSync(dbPathIn(dest));
    try {
      copy.exec("PRAGMA journal_mode=DELETE");
    } finally {
      copy.close();
    }
    await Deno.chmod(dbPathIn(dest), 0o600).catch(() => {});
    const segments = await copyLog(messageLogDir(db), messageLogDir(dbPathIn(dest)));
    out.push(
      `Copied the database (one consistent snapshot) to ${
        dbPathIn(dest)
      } and ${segments} message log segment(s)`,
    );
  }
  const keys = await copyKeys(o.dataDir, dest);
  const files = await copyFiles(o.filesDir, `${dest}/files`);
  out.push(`Copied ${keys.join(", ") || "no key files"} and ${files} relayed file(s)`);
  const fingerprint = keys.includes("cert.pem") ? await fingerprintPem(await readCert(dest)) : null;
  const { said, logMessages } = await check(dest, !o.postgres);
  const counts = o.postgres ? undefined : databaseCounts(dbPathIn(dest), logMessages);
  const contents = await listContents(dest);
  const m: Manifest = {
    version: o.version,
    taken: new Date(o.now).toISOString(),
    database: o.postgres ? "postgres" : "sqlite",
    fingerprint,
    files,
    contents,
    ...(counts ? { counts } : {}),
  };
  await Deno.writeTextFile(`${dest}/${MANIFEST}`, JSON.stringify(m, null, 2) + "\n", { mode: 0o600 });
  out.push(`Backup in ${dest}: ${said}${fingerprint ? `; fingerprint ${fingerprint}` : ""}`);
  out.push(
    `Listed ${contents.length} file(s) with their sizes and SHA-256 in ${dest}/${MANIFEST}` +
      (counts ? `; ${countsText(counts)}` : ""),
  );
  return out;
}

const countsText = (c: NonNullable<Manifest["counts"]>) =>
  `${c.users} user(s), ${c.rooms} room(s), ${c.messages} message(s)`;

/**
 * Users, rooms and messages in the database at `path` (opened read-only), the message log's
 * `logMessages` added to its messages.
 */
function databaseCounts(path: string, logMessages: number | null): NonNullable<Manifest["counts"]> {
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

/** Every file in the backup folder `dir` but the manifest, with its size and SHA-256 (sorted by path). */
async function listContents(dir: string): Promise<ManifestEntry[]> {
  const found = await walk(dir);
  found.delete(MANIFEST);
  const out: ManifestEntry[] = [];
  for (const [path, bytes] of [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push({ path, bytes, sha256: await fileSha256(`${dir}/${path}`) });
  }
  return out;
}

export interface RestoreOptions {
  dataDir: string;
  filesDir: string;
  postgres: boolean;
  now: number;
  /** `--other-server`: a database recorded with another certificate key is restored all the same. */
  otherServer?: boolean;
  /** The PEM certificate the server will serve with (`--tls-cert`), when not the backup's cert.pem. */
  tlsCert?: string;
}

/** Puts the backup in `src` back into the data folder (server stopped); returns the lines to print. */
export async function restore(src: string, o: RestoreOptions): Promise<string[]> {
  const m = await readManifest(src);
  const sqlite = m.database === "sqlite";
  if (sqlite && o.postgres) {
    throw new Error("this backup holds a SQLite database: restore it without --store");
  }
  await ensureDataDir(o.dataDir); // the database's temporary copy is checked there
  const v = await verifyBackup(src, m, o); // throws before anything is touched
  const db = dbPathIn(o.dataDir);
  if (sqlite && await exists(db) && databaseInUse(db)) {
    throw new Error(`a server is using ${db}: stop it first`);
  }
  // Whatever the store: no server runs on the data folder or the files folder (issue 69 B2).
  const serving = await takeServing([o.dataDir, o.filesDir]);
  try {
    const out = await restoreStopped(src, o, m, v.out);
    if (v.recorded !== null && v.recorded !== v.target) out.push(forgetCertKey(o.dataDir, v.recorded));
    return out;
  } finally {
    serving.release();
  }
}

/** `restore` once nothing serves: moves aside, copies, checks. */
async function restoreStopped(src: string, o: RestoreOptions, m: Manifest, out: string[]): Promise<string[]> {
  const sqlite = m.database === "sqlite", db = dbPathIn(o.dataDir);
  out.push(...await moveAsideAll(o, sqlite));
  if (sqlite) {
    await copyPrivate(dbPathIn(src), db);
    await copyLog(messageLogDir(dbPathIn(src)), messageLogDir(db));
  }
  const keys = await copyKeys(src, o.dataDir);
  const files = await copyFiles(`${src}/files`, o.filesDir);
  const checks = await checkRestored(o, sqlite, m);
  const fp = keys.includes("cert.pem") ? await fingerprintPem(await readCert(o.dataDir)) : null;
  if (m.database === "postgres") {
    out.push(
      "The database is in PostgreSQL: put it back with pg_restore (from the pg_dump taken with this backup)",
    );
  }
  out.push(
    `Restored the backup of ${m.taken} (Parley ${m.version}) to ${o.dataDir}: ${
      keys.join(", ") || "no key files"
    }, ` +
      `${files} relayed file(s); ${checks}${fp ? `; fingerprint ${fp}` : ""}`,
  );
  return out;
}

/** backup.json of the backup in `src`, a regular file (lstat), parsed; throws saying what is wrong. */
async function readManifest(src: string): Promise<Manifest> {
  const at = `${src}/${MANIFEST}`;
  const info = await Deno.lstat(at).catch((e) => {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${src} is not a Parley backup (no ${MANIFEST})`);
    throw e;
  });
  if (!info.isFile) throw notRegular(at, info);
  let m: Manifest;
  try {
    m = JSON.parse(await Deno.readTextFile(at));
  } catch (e) {
    throw new Error(`${at} is not a backup manifest (${(e as Error).message}); refused`);
  }
  const entryOk = (e: ManifestEntry) =>
    typeof e?.path === "string" && Number.isSafeInteger(e.bytes) && /^[0-9a-f]{64}$/.test(e.sha256);
  if (m.contents !== undefined && !(Array.isArray(m.contents) && m.contents.every(entryOk))) {
    throw new Error(`${at} lists its files in a form this version does not know; refused`);
  }
  return m;
}

/** Moves what the data folder (and `--files-dir`) held aside before a restore; the lines to print. */
async function moveAsideAll(o: RestoreOptions, sqlite: boolean): Promise<string[]> {
  const out: string[] = [];
  const aside = `${o.dataDir}/before-restore-${new Date(o.now).toISOString().replace(/[:.]/g, "-")}`;
  const moved: string[] = [];
  const moveAside = async (from: string, name: string) => {
    if (!await exists(from)) return;
    await Deno.mkdir(aside, { recursive: true, mode: 0o700 });
    await Deno.rename(from, `${aside}/${name}`);
    moved.push(name);
  };
  const dbNames = sqlite ? ["parley.db", "parley.db-wal", "parley.db-shm", "parley.db-messages"] : [];
  for (const n of [...dbNames, ...KEY_FILES]) await moveAside(`${o.dataDir}/${n}`, n);
  const stamp = aside.slice(aside.lastIndexOf("/") + 1);
  if (o.filesDir === `${o.dataDir}/files`) await moveAside(o.filesDir, "files");
  else if (await exists(o.filesDir)) {
    // `--files-dir` may be on another disk: renamed beside itself (a rename cannot cross disks).
    await Deno.rename(o.filesDir, `${o.filesDir}.${stamp}`);
    out.push(`Moved ${o.filesDir} to ${o.filesDir}.${stamp}`);
  }
  if (moved.length) out.push(`Moved what ${o.dataDir} held (${moved.join(", ")}) to ${aside}`);
  return out;
}

/**
 * Checks the backup in `src` without writing to it (see the contract): the kind of every entry, the
 * certificate, the manifest's sizes and hashes, the database's integrity on a temporary copy in
 * `tmpDir`. Throws naming what is wrong; else the lines to print (a warning for a backup without
 * hashes).
 */
async function verifyBackup(src: string, m: Manifest, o: RestoreOptions): Promise<Verified> {
  const found = await walk(src); // throws on a symlink, fifo, device… anywhere
  found.delete(MANIFEST);
  const said: string[] = [];
  const keys = await checkKeys(src, m);
  if (m.contents) said.push(await checkContents(src, m.contents, found));
  let recorded: string | null = null, target: string | null = null;
  if (m.database === "sqlite") {
    if (!found.has("parley.db")) throw new Error(`there is no database in the backup ${src}; refused`);
    const db = await checkDatabaseCopy(dbPathIn(src), o.dataDir, m);
    said.push(db.said);
    // The certificate the restored server serves with: --tls-cert, else the backup's own (issue 69).
    const cert = o.tlsCert ?? (found.has("cert.pem") ? await readCert(src) : null);
    [recorded, target] = [db.certKey, cert === null ? null : await keyFingerprintPem(cert)];
    const refused = restoreCertKey(src, recorded, target, o.otherServer ?? false);
    if (refused !== null) throw new Error(refused);
  }
  if (keys) said.push(keys);
  const out = [`Checked the backup in ${src} (read-only): ${said.join(", ") || "nothing to check"}`];
  if (!m.contents) {
    out.push(
      `Warning: ${src}/${MANIFEST} carries no checksums (a backup of Parley ${m.version}): its files were ` +
        "checked for their kind and the database for its integrity, not against what was backed up",
    );
  }
  return { out, recorded, target };
}

/** What `verifyBackup` found: its lines; the certificate key the database recorded, and the restored one's. */
interface Verified {
  out: string[];
  recorded: string | null;
  target: string | null;
}

/** The certificate key the database at `path` recorded (cert_key.ts), null when none; read-only. */
function recordedCertKey(path: string): string | null {
  const conn = new DatabaseSync(path, { readOnly: true });
  try {
    const r = conn.prepare("SELECT v FROM server_meta WHERE k = 'cert_fingerprint'").get() as
      | { v: string }
      | undefined;
    return r?.v ?? null;
  } finally {
    conn.close();
  }
}

/**
 * After a restore with `--other-server` of a database recorded with another certificate key: the
 * record cleared (after the copies were checked against the manifest), so the next start records
 * its own key. The line to print.
 */
function forgetCertKey(dataDir: string, was: string): string {
  const conn = new DatabaseSync(dbPathIn(dataDir));
  try {
    conn.exec("DELETE FROM server_meta WHERE k = 'cert_fingerprint'");
  } finally {
    conn.close();
  }
  return `The database belonged with another certificate key (${was}; ${OTHER_SERVER_FLAG}): ` +
    "the record is cleared, and the server records its own key at its next start";
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
function notRegular(path: string, info: Deno.FileInfo): Error {
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
async function walk(root: string, rel = "", out = new Map<string, number>()): Promise<Map<string, number>> {
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
async function fileSha256(path: string): Promise<string> {
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

/** Every file of the manifest in `src` with its size and hash, and no other (`found`: the walk's). */
async function checkContents(
  src: string,
  list: ManifestEntry[],
  found: Map<string, number>,
): Promise<string> {
  const listed = new Set(list.map((e) => e.path));
  for (const path of found.keys()) {
    if (!listed.has(path)) {
      throw new Error(`${src}/${path} is not in ${MANIFEST}: the backup did not write it; refused`);
    }
  }
  for (const e of list) {
    const bytes = found.get(e.path);
    if (bytes === undefined) throw new Error(`${src}/${e.path} is missing (${MANIFEST} lists it); refused`);
    if (bytes !== e.bytes) {
      throw new Error(
        `${src}/${e.path} is ${bytes} bytes, ${MANIFEST} says ${e.bytes}: changed since the backup; refused`,
      );
    }
    if (await fileSha256(`${src}/${e.path}`) !== e.sha256) {
      throw new Error(
        `${src}/${e.path} does not match its SHA-256 in ${MANIFEST}: changed since the backup; refused`,
      );
    }
  }
  return `${list.length} file(s) match their sizes and SHA-256`;
}

/**
 * The certificate–key pair of the backup in `src` (read only), and the certificate is the one the
 * manifest names (its fingerprint): the database and certificate put back belong together. A
 * sentence, or "" when the backup has neither file; throws when they do not match.
 */
async function checkKeys(src: string, m: Manifest): Promise<string> {
  const cert = await certPair(src); // the walk refused links: these are the backup's own files
  if (cert === null) {
    if (m.fingerprint) {
      throw new Error(`${src}/cert.pem is missing (${MANIFEST} names its fingerprint); refused`);
    }
    return "";
  }
  const fp = await fingerprintPem(cert);
  if (m.fingerprint && fp !== m.fingerprint) {
    throw new Error(
      `the certificate in ${src} is not the one backed up (fingerprint ${fp}, ${MANIFEST} says ${m.fingerprint}); refused`,
    );
  }
  return m.fingerprint
    ? "certificate matches its key and the manifest's fingerprint"
    : "certificate matches its key";
}

/**
 * `PRAGMA integrity_check` of the database `db` on a copy in a temporary folder in `tmpDir` (never
 * the backup's own file: SQLite may write beside a database it opens; the copy is opened read-write,
 * a database in WAL mode included), and its counts against the manifest's.
 */
async function checkDatabaseCopy(
  db: string,
  tmpDir: string,
  m: Manifest,
): Promise<{ said: string; certKey: string | null }> {
  const tmp = await Deno.makeTempDir({ dir: tmpDir, prefix: ".restore-check-" });
  try {
    await Deno.copyFile(db, `${tmp}/parley.db`);
    integrity(`${tmp}/parley.db`, `the database in ${db.slice(0, db.lastIndexOf("/"))}`, false);
    const certKey = recordedCertKey(`${tmp}/parley.db`);
    if (!m.counts) return { said: "database integrity ok", certKey };
    const c = databaseCounts(`${tmp}/parley.db`, m.counts.messageLog ?? null);
    if (c.users !== m.counts.users || c.rooms !== m.counts.rooms || c.messages !== m.counts.messages) {
      throw new Error(
        `the database in ${db} holds ${countsText(c)}, ${MANIFEST} says ${countsText(m.counts)}; refused`,
      );
    }
    return { said: `database integrity ok (${countsText(c)})`, certKey };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** `PRAGMA integrity_check` of the database at `path` (read-only unless told); throws naming `what` when damaged. */
function integrity(path: string, what: string, readOnly = true): number {
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

/**
 * The data folder after a restore: every file copied is the one the verified manifest lists (size
 * and SHA-256), the database's integrity (read-only), the message log as the manifest counted it
 * (its records are the server's to check when it opens them), the certificate–key pair. A sentence,
 * or throws.
 */
async function checkRestored(o: RestoreOptions, sqlite: boolean, m: Manifest): Promise<string> {
  const said: string[] = [];
  if (m.contents) said.push(await checkCopies(o, m.contents));
  const dir = o.dataDir;
  if (sqlite) {
    const rows = integrity(dbPathIn(dir), `the database in ${dir}`);
    said.push("database integrity ok", `message log ok (${rows} message(s))`);
    const log = messageLogDir(dbPathIn(dir));
    if (await exists(log)) {
      const n = m.counts?.messageLog;
      said.push(
        m.contents && n !== undefined
          ? `older message log ok (${n} message(s), its segments as backed up; imported at the server's start)`
          : "older message log copied (no checksums: the server checks its records when it imports it)",
      );
    }
  }
  if (await certPair(dir) !== null) said.push("certificate matches its key");
  return said.join(", ") || "nothing to check";
}

/** The files restore copied, each against its manifest entry: a copy gone wrong throws, naming it. */
async function checkCopies(o: RestoreOptions, list: ManifestEntry[]): Promise<string> {
  let n = 0;
  for (const e of list) {
    const to = restoredPath(o, e.path);
    if (to === null) continue;
    if ((await Deno.stat(to)).size !== e.bytes || await fileSha256(to) !== e.sha256) {
      throw new Error(
        `${to} is not the file of the backup it was copied from (${e.path}): the copy went wrong`,
      );
    }
    n++;
  }
  return `${n} file(s) copied as backed up`;
}

/** Where restore puts the backup's file `path` (as its manifest names it), or null when it copies it not (the log's lock). */
function restoredPath(o: RestoreOptions, path: string): string | null {
  if (path.startsWith("files/")) return `${o.filesDir}/${path.slice("files/".length)}`;
  const log = `${messageLogDir("parley.db")}/`; // the backup's own names: parley.db-messages/
  if (!path.startsWith(log)) return `${o.dataDir}/${path}`;
  const name = path.slice(log.length);
  return isSegmentName(name) ? `${messageLogDir(dbPathIn(o.dataDir))}/${name}` : null;
}

/**
 * True when another connection (a running server) has the database open: it then keeps this one
 * from taking an exclusive lock. Takes and releases the lock at once when nobody holds it.
 */
export function databaseInUse(path: string): boolean {
  const conn = new DatabaseSync(path);
  try {
    conn.exec("PRAGMA busy_timeout=0; PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT");
    return false;
  } catch (e) {
    if (/locked|busy/i.test((e as Error).message)) return true;
    throw e;
  } finally {
    conn.close();
  }
}

/**
 * The backup's own check of the copy it just wrote in `dir`: the database's integrity and every
 * message row against its CRC, an older version's log read (every record's checksum), the
 * certificate–key pair. A sentence and the log's messages (null: no log), or throws.
 */
async function check(dir: string, sqlite: boolean): Promise<{ said: string; logMessages: number | null }> {
  const said: string[] = [];
  let logMessages: number | null = null;
  if (sqlite) {
    const rows = integrity(dbPathIn(dir), `the database in ${dir}`);
    said.push("database integrity ok", `message log ok (${rows} message(s))`);
    const log = messageLogDir(dbPathIn(dir));
    if (await exists(log)) {
      // An older version's log (the server's next start imports it): read-only, every record checked.
      const n = importSegmentLog(log, () => {}).entries;
      said.push(`older message log ok (${n} message(s), moved into the database at the next start)`);
      logMessages = n;
    }
  }
  if (await certPair(dir) !== null) said.push("certificate matches its key");
  return { said: said.join(", ") || "nothing to check", logMessages };
}

/** The certificate in `dir` when it and key.pem are there and match; null when neither is; else throws. */
async function certPair(dir: string): Promise<string | null> {
  if (!await exists(`${dir}/cert.pem`) && !await exists(`${dir}/key.pem`)) return null;
  const [cert, key] = [await readCert(dir), await Deno.readTextFile(`${dir}/key.pem`)];
  if (!certMatchesKey(cert, key)) throw new Error(`the certificate in ${dir} does not match its key.pem`);
  return cert;
}

const readCert = (dir: string) => Deno.readTextFile(`${dir}/cert.pem`);

async function copyPrivate(from: string, to: string): Promise<void> {
  await Deno.copyFile(from, to);
  await Deno.chmod(to, 0o600).catch(() => {}); // no POSIX modes on Windows
}

/** Copies the key files present in `from` to `to`; returns their names. */
async function copyKeys(from: string, to: string): Promise<string[]> {
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
async function copyLog(from: string, to: string): Promise<number> {
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
async function copyFiles(from: string, to: string): Promise<number> {
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
