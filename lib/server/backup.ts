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
 * Restore refuses while a server has the target database open (probed with an exclusive SQLite lock,
 * which a running server's connection prevents), checks the backup before touching anything
 * (`PRAGMA integrity_check`, the certificate matches its key), moves what the data folder held aside
 * (DATA/before-restore-TIME/), copies the backup in and checks the result again.
 */
import { backup as sqliteBackup, DatabaseSync } from "node:sqlite";
import { certMatchesKey, fingerprintPem } from "../net/cert.ts";
import { dbPathIn, ensureDataDir, KEY_FILES } from "./data_dir.ts";
import { messageLogDir } from "./store/segment_log.ts";
import { importSegmentLog } from "./store/segment_import.ts";
import { checkMessageRows } from "./store/sqlite_store.ts";

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
  const checks = await check(dest, !o.postgres);
  const m: Manifest = {
    version: o.version,
    taken: new Date(o.now).toISOString(),
    database: o.postgres ? "postgres" : "sqlite",
    fingerprint,
    files,
  };
  await Deno.writeTextFile(`${dest}/${MANIFEST}`, JSON.stringify(m, null, 2) + "\n", { mode: 0o600 });
  out.push(`Backup in ${dest}: ${checks}${fingerprint ? `; fingerprint ${fingerprint}` : ""}`);
  return out;
}

export interface RestoreOptions {
  dataDir: string;
  filesDir: string;
  postgres: boolean;
  now: number;
}

/** Puts the backup in `src` back into the data folder (server stopped); returns the lines to print. */
export async function restore(src: string, o: RestoreOptions): Promise<string[]> {
  const m = JSON.parse(
    await Deno.readTextFile(`${src}/${MANIFEST}`).catch(() => {
      throw new Error(`${src} is not a Parley backup (no ${MANIFEST})`);
    }),
  ) as Manifest;
  const sqlite = m.database === "sqlite";
  if (sqlite && o.postgres) {
    throw new Error("this backup holds a SQLite database: restore it without --store");
  }
  await check(src, sqlite); // throws before anything is touched
  await ensureDataDir(o.dataDir);
  const db = dbPathIn(o.dataDir);
  if (sqlite && await exists(db) && databaseInUse(db)) {
    throw new Error(`a server is using ${db}: stop it first`);
  }
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
  if (sqlite) {
    await copyPrivate(dbPathIn(src), db);
    await copyLog(messageLogDir(dbPathIn(src)), messageLogDir(db));
  }
  const keys = await copyKeys(src, o.dataDir);
  const files = await copyFiles(`${src}/files`, o.filesDir);
  const checks = await check(o.dataDir, sqlite);
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

/** The database's integrity and the certificate–key pair in `dir`; a sentence, or throws. */
async function check(dir: string, sqlite: boolean): Promise<string> {
  const said: string[] = [];
  if (sqlite) {
    const conn = new DatabaseSync(dbPathIn(dir), { readOnly: true });
    try {
      const rows = conn.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
      const res = rows.map((r) => r.integrity_check).join("; ");
      if (res !== "ok") throw new Error(`the database in ${dir} is damaged: ${res}`);
    } finally {
      conn.close();
    }
    said.push("database integrity ok");
    const conn2 = new DatabaseSync(dbPathIn(dir), { readOnly: true });
    try {
      const { rows, damaged } = checkMessageRows(conn2); // every row against its CRC
      if (damaged.length) {
        throw new Error(
          `the database in ${dir} has ${damaged.length} damaged message row(s): seq ${
            damaged.slice(0, 10).join(", ")
          }`,
        );
      }
      said.push(`message log ok (${rows} message(s))`);
    } finally {
      conn2.close();
    }
    const log = messageLogDir(dbPathIn(dir));
    if (await exists(log)) {
      // An older version's log (imported by the server's next start): read-only, every record checked.
      const n = importSegmentLog(log, () => {}).entries;
      said.push(`older message log ok (${n} message(s), moved into the database at the next start)`);
    }
  }
  if (await exists(`${dir}/cert.pem`) || await exists(`${dir}/key.pem`)) {
    const [cert, key] = [await readCert(dir), await Deno.readTextFile(`${dir}/key.pem`)];
    if (!certMatchesKey(cert, key)) throw new Error(`the certificate in ${dir} does not match its key.pem`);
    said.push("certificate matches its key");
  }
  return said.join(", ") || "nothing to check";
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
 * Copies the message log's segments (segment_files.ts), newest first. Every message acknowledged
 * before the copy began is in them (fsynced); a record the newest was being written meanwhile is
 * cut off when the copy is opened. Newest first because compaction, which may run meanwhile, only
 * ever takes from an older segment what is dead, and drops a tombstone only once the entry it
 * kills has left the older segment: so each older segment, copied later, holds no entry whose
 * tombstone the copy lacks (oldest first, a deleted message could come back). A segment gone
 * meanwhile (deleted once nothing in it is live) is skipped. Returns the segments copied.
 */
async function copyLog(from: string, to: string): Promise<number> {
  if (!await exists(from)) return 0;
  await Deno.mkdir(to, { recursive: true, mode: 0o700 });
  const names: string[] = [];
  for await (const e of Deno.readDir(from)) if (e.isFile && isSegmentName(e.name)) names.push(e.name);
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

/** Copies a relayed-files folder: every `.json` before any `.bin` (see the contract). Returns the files. */
async function copyFiles(from: string, to: string): Promise<number> {
  if (!await exists(from)) return 0;
  await Deno.mkdir(to, { recursive: true, mode: 0o700 });
  const names: string[] = [];
  for await (const e of Deno.readDir(from)) if (e.isFile) names.push(e.name);
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
