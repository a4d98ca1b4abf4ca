/**
 * The store's expected failures, as errors a caller can tell apart from bugs (issues 68 and 74):
 * every `Store` implementation (sqlite_store.ts, postgres_store.ts) throws these, and the server
 * answers each with its own stable code (send_reply.ts and the handlers) instead of `internal`.
 *
 * - `StoreFull`: the disk (or the database's size cap) took no more; nothing of the write was kept,
 *   and the store takes writes again once there is room. Senders hear `disk_full`.
 * - `StoreUnavailable`: the store cannot be reached now (a database server down or too slow);
 *   nothing was kept, the same request may succeed later. Senders hear `unavailable` with a retry
 *   hint, and clients keep such a message queued.
 * - `StoreBroken`: the store failed in a way after which its files cannot be trusted (an fsync or
 *   another I/O error, damaged pages): it takes no more writes until the process is restarted and
 *   the store recovers from its files (what PostgreSQL does after a failed fsync). The server says so,
 *   fails `/healthz` and exits for its supervisor.
 *
 * Pure: no I/O. `classifySqliteError` maps node:sqlite's errors (`errcode`, SQLite's result code).
 */

export class StoreFull extends Error {
  constructor(message = "The server's disk is full") {
    super(message);
    this.name = "StoreFull";
  }
}

export class StoreUnavailable extends Error {
  constructor(message = "The server cannot reach its database right now", options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreUnavailable";
  }
}

export class StoreBroken extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreBroken";
  }
}

/** SQLite's primary result codes this file tells apart (the low byte of an extended code). */
const SQLITE = { CORRUPT: 11, FULL: 13, IOERR: 10, NOTADB: 26, CANTOPEN: 14 } as const;
/** SQLite's messages for those codes (sqlite3ErrStr), for errors that carry no code. */
const SQLITE_WORDS: readonly [RegExp, number][] = [
  [/^database or disk is full\b/, SQLITE.FULL],
  [/^disk I\/O error\b/, SQLITE.IOERR],
  [/^database disk image is malformed\b/, SQLITE.CORRUPT],
  [/^file is not a database\b/, SQLITE.NOTADB],
];

/**
 * What a node:sqlite error means for the store: `StoreFull` for SQLITE_FULL, `StoreBroken` for
 * I/O errors and damage (the write may be half done on disk: only a restart's recovery is safe),
 * else the error itself (a bug, or a constraint the caller handles).
 */
export function classifySqliteError(e: unknown): unknown {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  const text = e instanceof Error ? e.message : String(e);
  // node:sqlite leaves `errcode` out of some errors (a statement's run, exec): SQLite's own words then.
  const primary = typeof code === "number" ? code & 0xff : SQLITE_WORDS.find(([re]) => re.test(text))?.[1];
  if (primary === undefined) return e;
  if (primary === SQLITE.FULL) return new StoreFull(`The server's disk is full (${text})`);
  if (primary === SQLITE.IOERR || primary === SQLITE.CORRUPT || primary === SQLITE.NOTADB) {
    return new StoreBroken(`The database failed: ${text}`, { cause: e });
  }
  return e;
}
