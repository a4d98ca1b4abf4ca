/**
 * `parley-server restore SRC` (issue 38.1): puts a backup taken by backup.ts back into the data
 * folder, checked, while the server is stopped (the folder's copies and checks: backup_folder.ts).
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
import { DatabaseSync } from "node:sqlite";
import { fingerprintPem, keyFingerprintPem } from "../net/cert.ts";
import {
  certPair,
  copyFiles,
  copyKeys,
  copyLog,
  copyPrivate,
  countsText,
  databaseCounts,
  exists,
  fileSha256,
  integrity,
  isSegmentName,
  MANIFEST,
  type Manifest,
  type ManifestEntry,
  notRegular,
  readCert,
  walk,
} from "./backup_folder.ts";
import { OTHER_SERVER_FLAG, restoreCertKey } from "./cert_key.ts";
import { dbPathIn, ensureDataDir, KEY_FILES, takeServing } from "./data_dir.ts";
import { messageLogDir } from "./store/segment_log.ts";

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
