/**
 * The shapes of the message log of versions 0.13–0.20 (`parley.db-messages/` beside the database),
 * which the embedded store now imports into SQLite's table at open (segment_import.ts) and which
 * older backups may still hold (backup.ts, restore.ts). Its records are read by segment_record.ts. Types and the
 * folder's name only.
 */
import type { StoredMessage } from "./store.ts";

/** The old message log's folder beside a store's database file: the one place that names it. */
export function messageLogDir(dbPath: string): string {
  return `${dbPath}-messages`;
}

/**
 * One stored message as the log held it: a `StoredMessage`, whose `expires` (when the stored copy
 * goes, ms) may also be null; null or absent: never.
 */
export type LogEntry = Omit<StoredMessage, "expires"> & { expires?: number | null };

/** An entry without its body, and its body's length. */
export type LogMeta = Omit<LogEntry, "body" | "expires"> & { expires: number | null; bodyBytes: number };
