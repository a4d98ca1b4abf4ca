/**
 * The message log's contract (issue 37): stored messages as records appended to a log, in seq
 * order, durable once `append` resolves; deletions as tombstone records; bodies read back by the
 * place `append` answered. The embedded store keeps everything else (accounts, rooms, cursors, keys)
 * in SQLite and its in-memory index (message_index.ts) answers which seqs to read.
 *
 * Why: a row INSERT into SQLite cost ~1.1 µs of user CPU per message (node:sqlite's binding, the
 * B-tree, WAL frames of whole pages); one write of a batch's records and one fdatasync cost ~0.3 µs
 * (200,000 messages of 260 bytes in batches of 1,000, this VM).
 *
 * Implementations: segment_files.ts (segment files in a folder; the only one touching the file
 * system) and segment_memory.ts (":memory:" stores, tests). Both pass segment_log_conformance.ts.
 */
import type { StoredMessage } from "./store.ts";

/** The message log's folder beside a store's database file: the one place that names it. */
export function messageLogDir(dbPath: string): string {
  return `${dbPath}-messages`;
}

/**
 * One stored message as the log holds it: a `StoredMessage`, whose `expires` (when the stored copy
 * goes, ms) may also be null; null or absent: never (appends take either; reads give null).
 */
export type LogEntry = Omit<StoredMessage, "expires"> & { expires?: number | null };

/** An entry without its body, as `open` reports it (the index's rebuild): and its body's length. */
export type LogMeta = Omit<LogEntry, "body" | "expires"> & { expires: number | null; bodyBytes: number };

/** Where an entry's record lies: which segment, at which byte, how many bytes (opaque to callers). */
export interface LogPlace {
  seg: number;
  off: number;
  len: number;
}

/** What the log holds: for the console's /db and for deciding compaction. */
export interface LogStats {
  segments: number;
  /** Bytes of every segment (records, tombstones, headers). */
  bytes: number;
  /** Bytes of records deleted but still in a segment (compaction gives them back). */
  deadBytes: number;
}

export interface SegmentLog {
  /**
   * The highest seq ever appended or removed — kept across deletions and compaction, so a seq is
   * never given twice (the next message's seq is highSeq + 1). At least the `floorSeq` it was
   * opened with.
   */
  readonly highSeq: number;
  /**
   * Appends entries (seqs increasing, each above highSeq) in one write and makes them durable
   * (fdatasync; a new segment's folder entry too) before resolving; their places in order. Appends
   * and removals run one at a time in call order. On an I/O error it rejects, and the log takes
   * nothing more (every later call rejects): a later `open` sees a prefix of that append's entries,
   * cut at a record boundary.
   */
  append(entries: readonly LogEntry[]): Promise<LogPlace[]>;
  /** Deletes entries by seq (durable tombstones); unknown or already removed seqs are ignored. */
  remove(seqs: readonly number[]): Promise<void>;
  /** The entries at `places` (places `append` or `open` answered for live entries), in that order. */
  read(places: readonly LogPlace[]): LogEntry[];
  /**
   * Rewrites segments (never the one being appended to) of which more than half the bytes are dead,
   * and deletes segments with nothing live; tells `moved` each live entry's new place. Durable (the
   * rewrite is complete on disk before it replaces the old segment).
   */
  compact(moved: (seq: number, to: LogPlace) => void): Promise<void>;
  stats(): LogStats;
  /** Closes the files; nothing may be called after. */
  close(): void;
}

/** How a log is opened. */
export interface SegmentLogOptions {
  /** A segment is closed and a new one begun once it holds this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** highSeq is at least this (a store moving from an older layout: its highest seq ever given). */
  floorSeq?: number;
}

/**
 * Opens a log: `found` is told every live entry (not removed) in seq order, with its place — the
 * index's rebuild. A record torn by a crash at the end of the newest segment is cut off; damage
 * anywhere else throws an Error naming the file and the byte.
 */
export type OpenSegmentLog = (
  found: (meta: LogMeta, place: LogPlace) => void,
  opts?: SegmentLogOptions,
) => SegmentLog;
