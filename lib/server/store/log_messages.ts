/**
 * The embedded store's messages (issue 37): appended to a `SegmentLog` (segment_log.ts) in group
 * commits, durable before `append` resolves; found by the in-memory index (message_index.ts) and a
 * list of every message's place in seq order; resends caught by each sender's window of mids
 * (recent_mids.ts). Rows stored before the log (SQLite's `messages` table) stay where they are and
 * are read and deleted there (`LegacyRows`) until retention takes them.
 *
 * Seqs: the next is one above every seq ever given (the log's `highSeq`, at least the table's
 * AUTOINCREMENT mark). A failed append burns its seqs (gaps are allowed; reuse is not). `top` is the
 * highest seq known to be durable: what `lastSeq` answers, never a seq still being written.
 *
 * Reads and the index see a message only once its append resolved; a deletion leaves the index at
 * once, then its tombstone is written. No SQL, no I/O of its own.
 */
import { type IndexedMessage, MemoryMessageIndex } from "./message_index.ts";
import { midHash, RecentMids } from "./recent_mids.ts";
import { SeqList } from "./seq_list.ts";
import type { LogEntry, LogMeta, LogPlace, OpenSegmentLog, SegmentLog } from "./segment_log.ts";
import type { NewMessage, StoredMessage } from "./store.ts";

/** Rows stored before the log, still in SQLite's table: read and deleted by seq. */
export interface LegacyRows {
  /** The rows of `seqs`, in that order (each is there: the index holds only stored rows). */
  read(seqs: readonly number[]): StoredMessage[];
  delete(seqs: readonly number[]): void;
}

/** A legacy row's segment number in `#places` (no segment is ever numbered so). */
const LEGACY = 0x7fffffff;
/** Compaction runs once this many bytes of the log are dead and they are over a third of it. */
const COMPACT_DEAD_BYTES = 64 * 1024 * 1024;

/** A stored message as reads answer it (no `expires`, as the table's rows were read). */
function toMessage(e: LogEntry): StoredMessage {
  return {
    seq: e.seq,
    mid: e.mid,
    sender: e.sender,
    kind: e.kind,
    target: e.target,
    conv: e.conv,
    ts: e.ts,
    body: e.body,
  };
}

export class LogMessages {
  readonly index = new MemoryMessageIndex();
  /** Every message in seq order: its ts; its segment, offset and record length. */
  readonly #places = new SeqList(2, 3);
  /** The seqs of messages that expire, and when (ms): few, so a map. */
  readonly #expiring = new Map<number, number>();
  readonly #log: SegmentLog;
  #next: number;
  #top = 0;
  /** The last append or removal (`close` waits for it). */
  #last: Promise<unknown> = Promise.resolve();
  /** The running compaction, or null. */
  #compaction: Promise<void> | null = null;

  /** The rows of the appends under way, in seq order each (not in the index yet): what `#midOf` reads first. */
  readonly #writing: StoredMessage[][] = [];

  readonly recent = new RecentMids((sender, n) => this.index.newest(sender, n), (seq) => this.#midOf(seq));

  /** The mid of `seq`, stored or being stored; undefined when it is neither (deleted). */
  #midOf(seq: number): string | undefined {
    for (const rows of this.#writing) {
      const k = rows.length ? seq - rows[0]!.seq : -1; // (an append's seqs follow one another)
      if (k >= 0 && k < rows.length) return rows[k]!.mid;
    }
    return this.has(seq) ? this.rows([seq])[0]!.mid : undefined;
  }

  /**
   * `legacy`: the old table's rows (seq order, their index keys and body lengths) and its highest
   * seq ever given; `open` opens the log, whose entries come after them.
   */
  constructor(
    open: OpenSegmentLog,
    readonly legacy: LegacyRows,
    legacyRows: Iterable<{ meta: LogMeta }>,
    legacyHigh: number,
    /** Dead bytes from which compaction runs (when they are also a third of the log); tests lower it. */
    readonly compactDeadBytes = COMPACT_DEAD_BYTES,
  ) {
    for (const { meta } of legacyRows) this.#add(meta, meta.bodyBytes, { seg: LEGACY, off: 0, len: 0 });
    this.#log = open((meta, place) => this.#add(meta, meta.bodyBytes, place), { floorSeq: legacyHigh });
    this.#top = this.#log.highSeq;
    this.#next = this.#top + 1;
  }

  #add(m: IndexedMessage & { expires?: number | null }, bytes: number, p: LogPlace, h?: number): void {
    this.index.add(m, bytes, h);
    this.#places.push(m.seq, m.ts, p.seg, p.off, p.len);
    if (m.expires != null) this.#expiring.set(m.seq, m.expires);
    if (m.seq > this.#top) this.#top = m.seq;
  }

  /** The highest seq known to be durable. */
  get top(): number {
    return this.#top;
  }
  get logBytes(): number {
    return this.#log.stats().bytes;
  }

  /**
   * Stores the batch's new messages (a resend of a (sender, mid) in the window is null) in one
   * append; resolves once it is durable, with the stored rows in the batch's order. A row is the
   * message itself given its seq (`seq` set on the caller's object: no copy per message, issue 37),
   * and the log takes it as its entry.
   */
  async append(batch: readonly NewMessage[]): Promise<(StoredMessage | null)[]> {
    const rows: StoredMessage[] = [], at: number[] = [], hashes: number[] = [];
    let places: LogPlace[];
    this.#writing.push(rows);
    try {
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i]!, h = midHash(m.mid); // once for the window and the index
        if (!this.recent.claim(m.sender, m.mid, this.#next, h)) continue;
        const row = m as StoredMessage;
        row.seq = this.#next++;
        rows.push(row);
        at.push(i);
        hashes.push(h);
      }
      places = await (this.#last = this.#log.append(rows));
    } catch (e) {
      this.recent.clear(); // the windows name the seqs of messages not stored
      throw e;
    } finally {
      this.#writing.splice(this.#writing.indexOf(rows), 1);
    }
    const out: (StoredMessage | null)[] = new Array(batch.length).fill(null);
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k]!;
      this.#add(r, r.body.length, places[k]!, hashes[k]);
      out[at[k]!] = r;
    }
    return out;
  }

  /** The stored messages of `seqs` (each stored: the index's answers), in that order. */
  rows(seqs: readonly number[]): StoredMessage[] {
    const out: StoredMessage[] = new Array(seqs.length);
    const fromLog: LogPlace[] = [], logAt: number[] = [], old: number[] = [], oldAt: number[] = [];
    for (let i = 0; i < seqs.length; i++) {
      const k = this.#places.find(seqs[i]!);
      if (k < 0) throw new RangeError(`rows: seq ${seqs[i]} is not stored`);
      const seg = this.#places.int(k, 0);
      if (seg === LEGACY) old.push(seqs[i]!), oldAt.push(i);
      else fromLog.push({ seg, off: this.#places.int(k, 1), len: this.#places.int(k, 2) }), logAt.push(i);
    }
    if (fromLog.length) this.#log.read(fromLog).forEach((e, j) => out[logAt[j]!] = toMessage(e));
    if (old.length) this.legacy.read(old).forEach((r, j) => out[oldAt[j]!] = r);
    return out;
  }

  /** Whether `seq` is stored. */
  has(seq: number): boolean {
    return this.#places.find(seq) >= 0;
  }

  /**
   * Deletes the stored messages among `seqs` (others are ignored): they leave the index and the
   * resend windows at once, then their tombstones are written. Their rows (bodies included).
   */
  async remove(seqs: readonly number[]): Promise<StoredMessage[]> {
    const gone = this.rows(seqs.filter((s) => this.has(s)));
    if (gone.length === 0) return gone;
    const old: number[] = [], logged: number[] = [];
    for (const r of gone) {
      const k = this.#places.find(r.seq);
      if (k < 0) continue; // named twice
      (this.#places.int(k, 0) === LEGACY ? old : logged).push(r.seq);
      this.#places.kill(k);
      this.index.remove(r);
      this.#expiring.delete(r.seq);
    }
    this.recent.clear(); // a deleted mid is free again
    if (old.length) this.legacy.delete(old);
    if (logged.length) await (this.#last = this.#log.remove(logged));
    this.#maybeCompact();
    return gone;
  }

  /** Compacts the log when enough of it is dead (in the background; a failure waits for the next). */
  #maybeCompact(): void {
    const s = this.#log.stats();
    if (this.#compaction || s.deadBytes < this.compactDeadBytes || s.deadBytes * 3 < s.bytes) return;
    this.#compaction = this.#log.compact((seq, to) => {
      const k = this.#places.find(seq);
      if (k < 0) return; // deleted meanwhile
      this.#places.setInt(k, 0, to.seg);
      this.#places.setInt(k, 1, to.off);
      this.#places.setInt(k, 2, to.len);
    }).catch(() => {}).finally(() => this.#compaction = null);
  }

  /** The seqs of stored messages above `afterSeq`, oldest first, at most `limit`. */
  seqsAfter(afterSeq: number, limit: number): number[] {
    const out: number[] = [];
    for (let k = this.#places.after(afterSeq); k < this.#places.end && out.length < limit; k++) {
      if (this.#places.int(k, 0) >= 0) out.push(this.#places.seq(k));
    }
    return out;
  }

  /**
   * The stored messages older than `before` (ms), oldest first, read a page at a time; the walk
   * stops at the first message at or after `before` (messages are stored in time order; should
   * the clock have stepped back, an older one after it waits for a later sweep).
   */
  *olderThan(before: number, page = 256): Generator<StoredMessage> {
    for (let after = 0;;) {
      const seqs: number[] = [];
      let end = false;
      for (let k = this.#places.after(after); k < this.#places.end && seqs.length < page; k++) {
        if (this.#places.int(k, 0) < 0) continue;
        if (this.#places.float(k, 1) >= before) {
          end = true;
          break;
        }
        seqs.push(this.#places.seq(k));
      }
      if (seqs.length === 0) return;
      yield* this.rows(seqs); // live: just read from the places
      if (end) return;
      after = seqs[seqs.length - 1]!;
    }
  }

  /** The seqs of messages whose time is up at `now`, at most `limit`. */
  expired(now: number, limit: number): number[] {
    const out: number[] = [];
    for (const [seq, at] of this.#expiring) {
      if (out.length >= limit) break;
      if (at <= now) out.push(seq);
    }
    return out;
  }

  /** Resolves once the last write and a running compaction are done (failed or not). */
  async settled(): Promise<void> {
    await this.#last.catch(() => {});
    await this.#compaction;
  }

  /** Waits for the last write and a running compaction, then closes the log. */
  async close(): Promise<void> {
    await this.settled();
    this.#log.close();
  }
}
