/**
 * `parley-server backup DEST` (issue 38.1): a copy of the data folder — the SQLite
 * database, cert.pem/key.pem, cluster.key, and the relayed files (`--files-dir`, else DATA/files) —
 * taken while the server keeps serving; restore.ts puts it back. The folder's copies, checks and
 * manifest are backup_folder.ts's, shared by both.
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
 */
import { backup as sqliteBackup, DatabaseSync } from "node:sqlite";
import { fingerprintPem } from "../net/cert.ts";
import {
  certPair,
  copyFiles,
  copyKeys,
  copyLog,
  countsText,
  databaseCounts,
  exists,
  fileSha256,
  integrity,
  MANIFEST,
  type Manifest,
  type ManifestEntry,
  readCert,
  walk,
} from "./backup_folder.ts";
import { dbPathIn } from "./data_dir.ts";
import { messageLogDir } from "./store/segment_log.ts";
import { importSegmentLog } from "./store/segment_import.ts";

export interface BackupOptions {
  dataDir: string;
  filesDir: string;
  /** The database is in PostgreSQL (`--store`): not copied here. */
  postgres: boolean;
  version: string;
  now: number;
}

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
