/**
 * The server's data folder: creates it, loads or makes the TLS certificate (reused across
 * starts) and, for several nodes, the cluster key; opens the log file. The only server module besides the SQLite store that touches
 * the file system. The folder is private (0700) and its files 0600, also when the folder already
 * existed with looser modes: `secure()` sets them once the store has created its files. Also
 * `freeBytes`, the disk space probe behind the free-space floor (`--min-free`).
 */
import { statfsSync } from "node:fs";
import { makeSelfSignedCert } from "../net/cert.ts";
import { newClusterKeyText, parseClusterKey } from "./bus/seal.ts";

export interface DataDir {
  dbPath: string;
  tls: { cert: string; key: string };
  /** True when the certificate was created by this start. */
  createdCert: boolean;
  logSink: (line: string) => void;
  /** Sets the folder to 0700 and the database (with -wal, -shm), log, key and certificate to 0600. */
  secure(): Promise<void>;
  close(): void;
}

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
  o: { certFile?: string; keyFile?: string; certNames?: string[] } = {},
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
  const file = await Deno.open(`${dir}/parley.log`, { append: true, create: true, mode: 0o600 });
  const enc = new TextEncoder();
  let open = true;
  return {
    dbPath: dbPathIn(dir),
    tls,
    createdCert,
    secure: () => securePerms(dir),
    logSink: (line) => {
      if (open) file.writeSync(enc.encode(line + "\n"));
    },
    close: () => {
      if (open) file.close();
      open = false;
    },
  };
}

/** The data folder's key files, besides the database: what a backup copies with it. */
export const KEY_FILES = ["cert.pem", "key.pem", "cluster.key"] as const;

const PRIVATE_FILES = [
  "parley.db",
  "parley.db-wal",
  "parley.db-shm",
  "parley.log",
  "key.pem",
  "cert.pem",
  "cluster.key",
];

/**
 * The cluster key (issue 33 item 2): from `file` when given, else `cluster.key` in the data folder,
 * made (0600, 32 random bytes as hex) on first start. Every node of a cluster needs the same one.
 */
export async function loadClusterKey(
  dir: string,
  file?: string,
): Promise<{ key: Uint8Array; path: string; created: boolean }> {
  const path = file ?? `${dir}/cluster.key`;
  try {
    const key = parseClusterKey(await Deno.readTextFile(path));
    return { key, path, created: false };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || file) {
      throw new Error(`cluster key ${path}: ${(e as Error).message}`);
    }
  }
  const text = newClusterKeyText();
  await Deno.writeTextFile(path, text, { mode: 0o600, createNew: true });
  return { key: parseClusterKey(text), path, created: true };
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
