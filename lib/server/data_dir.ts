/**
 * The server's data folder: creates it, loads or makes the TLS certificate (reused across
 * starts) and, for several nodes, the cluster key; opens the log file. The only server module besides the SQLite store that touches
 * the file system. The folder is private (0700) and its files 0600, also when the folder already
 * existed with looser modes: `secure()` sets them once the store has created its files. Also
 * `freeBytes`, the disk space probe behind the free-space floor (`--min-free`). The log file is
 * bounded (`--log-max-bytes`): a line that would take it past the bound first moves it to
 * `parley.log.1` (replacing the previous one) and starts a new `parley.log`; a failed write never
 * throws into the server (`rotatingLog`, over an injectable file layer). The serving lock (issue 69
 * B2): every running server holds a shared lock on `serving.lock` in its data folder and its files
 * folder (`holdServing`); `restore` takes them exclusively without waiting (`takeServing`), so it
 * refuses while any server (any node sharing the files folder, whatever the store) runs.
 */
import { statfsSync } from "node:fs";
import { type Clock, systemClock } from "../common/clock.ts";
import { type GuardedSink, guardedSink } from "../common/logger.ts";
import { makeSelfSignedCert } from "../net/cert.ts";
import { newClusterKeyText, parseClusterKey, parseClusterKeys } from "./bus/seal.ts";

export interface DataDir {
  dbPath: string;
  tls: { cert: string; key: string };
  /** True when the certificate was created by this start. */
  createdCert: boolean;
  /** parley.log's sink: never throws (a line it cannot write is counted, then reported). */
  logSink: GuardedSink;
  /** Sets the folder to 0700 and the database (with -wal, -shm), log, key and certificate to 0600. */
  secure(): Promise<void>;
  close(): void;
}

/** Default bound of parley.log (`--log-max-bytes`); one older file, parley.log.1, is kept beside it. */
export const DEFAULT_LOG_MAX_BYTES = 16 * 1024 * 1024;

/** The store's file inside a data folder: the one place that names it. */
export function dbPathIn(dir: string): string {
  return `${dir}/parley.db`;
}

/** Creates the data folder if needed (private to the server's user). */
export async function ensureDataDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
}

export async function openDataDir(
  dir: string,
  o: {
    certFile?: string;
    keyFile?: string;
    certNames?: string[];
    /** Bound of parley.log in bytes; 0: never rotated (an outside logrotate with copytruncate). */
    logMaxBytes?: number;
  } = {},
): Promise<DataDir> {
  await ensureDataDir(dir);
  let tls: { cert: string; key: string };
  let createdCert = false;
  if (o.certFile || o.keyFile) {
    if (!o.certFile || !o.keyFile) throw new Error("Pass both --tls-cert and --tls-key");
    tls = { cert: await Deno.readTextFile(o.certFile), key: await Deno.readTextFile(o.keyFile) };
  } else {
    const certPath = `${dir}/cert.pem`, keyPath = `${dir}/key.pem`;
    try {
      tls = { cert: await Deno.readTextFile(certPath), key: await Deno.readTextFile(keyPath) };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      tls = await makeSelfSignedCert(o.certNames ?? []);
      await Deno.writeTextFile(keyPath, tls.key, { mode: 0o600 });
      await Deno.writeTextFile(certPath, tls.cert, { mode: 0o644 });
      createdCert = true;
    }
  }
  const log = rotatingLog(`${dir}/parley.log`, o.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES);
  return {
    dbPath: dbPathIn(dir),
    tls,
    createdCert,
    secure: () => securePerms(dir),
    logSink: log.write,
    close: log.close,
  };
}

/** One open log file under `rotatingLog` (tests inject one whose writes fail). */
export interface LogFile {
  /** Its size now, bytes. */
  size(): number;
  /** Writes some of `b` at its end (appending); how many bytes; throws on failure (ENOSPC, EIO…). */
  write(b: Uint8Array): number;
  close(): void;
}

/** The file layer under `rotatingLog`: the real one is `LOG_FILES`; a test's fails as it is told. */
export interface LogFiles {
  /** Opens `path` for appending, created (0600) when missing. */
  open(path: string): LogFile;
  rename(from: string, to: string): void;
}

/** The log's file layer on the real file system. */
export const LOG_FILES: LogFiles = {
  open(path) {
    const f = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
    return { size: () => f.statSync().size, write: (b) => f.writeSync(b), close: () => f.close() };
  },
  rename: (from, to) => Deno.renameSync(from, to),
};

/** The log file's sink: never throws (lib/common/logger.ts `guardedSink`); `close` ends it. */
export interface RotatingLog {
  write: GuardedSink;
  close: () => void;
}

/**
 * An append-only log file of at most `max` bytes (0: unbounded): before a line that would pass the
 * bound, the file becomes `PATH.1` (the older one is replaced) and a new one is started. A line
 * longer than the bound is written alone into a fresh file. Its first open throws (a start with an
 * unwritable data folder fails); after that a failed write, rename or open never throws: the line
 * is dropped, counted and reported once writing works again (issue 68 item 3, `guardedSink`). A
 * line cut by a failed write is ended before the next one.
 */
export function rotatingLog(
  path: string,
  max: number,
  o: { files?: LogFiles; clock?: Clock } = {},
): RotatingLog {
  const files = o.files ?? LOG_FILES;
  const enc = new TextEncoder();
  let file: LogFile | null = files.open(path);
  let size = file.size();
  let closed = false, cut = false;
  const reopen = () => {
    file = files.open(path);
    size = file.size();
  };
  const put = (line: string) => {
    if (closed) return;
    if (!file) reopen();
    let bytes = enc.encode(cut ? "\n" + line + "\n" : line + "\n");
    if (max > 0 && size > 0 && size + bytes.length > max) {
      const old = file!;
      file = null;
      closeQuietly(old);
      try {
        files.rename(path, `${path}.1`);
      } catch { /* moved away meanwhile (or failing): the new file starts anyway */ }
      reopen();
      if (cut && size === 0) bytes = bytes.subarray(1); // the cut line went with the old file
    }
    let done = 0;
    try {
      while (done < bytes.length) done += file!.write(bytes.subarray(done));
    } catch (e) {
      size += done;
      cut ||= done > 0; // half a line in the file: the next one starts on a line of its own
      throw e;
    }
    size += done;
    cut = false;
  };
  return {
    write: guardedSink(put, o.clock ?? systemClock),
    close: () => {
      closed = true;
      if (file) closeQuietly(file);
      file = null;
    },
  };
}

function closeQuietly(f: LogFile): void {
  try {
    f.close();
  } catch { /* closed already, or its last write failed: nothing more to do with it */ }
}

/** The data folder's key files, besides the database: what a backup copies with it. */
export const KEY_FILES = ["cert.pem", "key.pem", "cluster.key"] as const;

const PRIVATE_FILES = [
  "parley.db",
  "parley.db-wal",
  "parley.db-shm",
  "parley.log",
  "parley.log.1",
  "key.pem",
  "cert.pem",
  "cluster.key",
];

/**
 * The cluster key (issue 33 item 2): from `file` when given, else `cluster.key` in the data folder,
 * made (0600, 32 random bytes as hex) on first start. Every node of a cluster needs the same one:
 * none is made when the store already knows `others` (other nodes: a key of its own would not be
 * theirs, issue 69 S3) — the error names the file to copy.
 */
export async function loadClusterKey(
  dir: string,
  file?: string,
  others: readonly string[] = [],
): Promise<{ key: Uint8Array; also: Uint8Array[]; path: string; created: boolean }> {
  const path = file ?? `${dir}/cluster.key`;
  try {
    const [key, ...also] = parseClusterKeys(await Deno.readTextFile(path));
    return { key: key!, also, path, created: false };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || file) {
      throw new Error(`cluster key ${path}: ${(e as Error).message}`);
    }
  }
  if (others.length) {
    throw new Error(
      `cluster key ${path}: none here, and this store already knows other nodes (${others.join(", ")}): ` +
        `copy cluster.key from the data folder of one of them to ${path} (or name it with ` +
        `--cluster-key-file); a new key would not be theirs`,
    );
  }
  const text = newClusterKeyText();
  await Deno.writeTextFile(path, text, { mode: 0o600, createNew: true });
  return { key: parseClusterKey(text), also: [], path, created: true };
}

async function securePerms(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return; // no POSIX modes there
  await Deno.chmod(dir, 0o700);
  for (const f of PRIVATE_FILES) {
    try {
      await Deno.chmod(`${dir}/${f}`, 0o600);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/**
 * Free bytes for this user on the disk holding `dir` (node:fs statfs), or null when unknown: no
 * such folder, or no `--allow-sys=statfs` permission (the free-space floor is then not checked).
 */
export function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** The file every running server holds a shared lock on, in its data folder and its files folder. */
export const SERVING_LOCK = "serving.lock";

async function openLock(dir: string): Promise<Deno.FsFile> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return await Deno.open(`${dir}/${SERVING_LOCK}`, { read: true, write: true, create: true, mode: 0o600 });
}

/**
 * Holds a shared lock on `serving.lock` in each of `dirs` while the server runs (released by the
 * process's exit, or `release`). Refuses to start while a restore holds one (its exclusive lock);
 * `unlocked`: the folders whose file system takes no lock (said by the caller; served all the same).
 */
export async function holdServing(
  dirs: readonly string[],
): Promise<{ release(): void; unlocked: { dir: string; why: string }[] }> {
  const held: Deno.FsFile[] = [], unlocked: { dir: string; why: string }[] = [];
  const release = () => held.splice(0).forEach((f) => f.close());
  try {
    for (const dir of new Set(dirs)) {
      const f = await openLock(dir);
      held.push(f);
      let got: boolean;
      try {
        got = await f.tryLock(false);
      } catch (e) {
        unlocked.push({ dir, why: (e as Error).message });
        continue;
      }
      if (!got) throw new Error(`a restore is running on ${dir} (${dir}/${SERVING_LOCK}): wait for it`);
    }
  } catch (e) {
    release();
    throw e;
  }
  return { release, unlocked };
}

/**
 * Takes `serving.lock` in each of `dirs` that exists exclusively, without waiting, for a restore
 * (released by `release`); refuses, naming the folder, while any server holds one.
 */
export async function takeServing(dirs: readonly string[]): Promise<{ release(): void }> {
  const held: Deno.FsFile[] = [];
  const release = () => held.splice(0).forEach((f) => f.close());
  try {
    for (const dir of new Set(dirs)) {
      if (!await Deno.stat(dir).then(() => true, () => false)) continue; // no folder: nobody serves there
      const f = await openLock(dir);
      held.push(f);
      if (!await f.tryLock(true)) {
        throw new Error(
          `a server is running on ${dir} (it holds ${dir}/${SERVING_LOCK}): stop every server using it first`,
        );
      }
    }
  } catch (e) {
    release();
    throw e;
  }
  return { release };
}
