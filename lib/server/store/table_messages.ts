/**
 * The embedded store's messages (issues 37 and 68): rows of SQLite's `messages` table, reached
 * through `MessageRows` (sqlite_store.ts speaks the SQL), found by the in-memory index
 * (message_index.ts) and a list of every stored seq with its time (seq_list.ts); resends caught by
 * each sender's window of mids (recent_mids.ts).
 *
 * Seqs: the next is one above the table's AUTOINCREMENT mark (`highSeq`: every seq ever stored,
 * kept across deletions, written in the same transaction as the rows). An insert that fails burns
 * the seqs it was given (gaps are allowed; reuse is not). `top` is the highest seq known durable:
 * what `lastSeq` answers, never a seq still being written.
 *
 * Reads and the index see a message only once its insert committed; a deletion leaves the index
 * first, then the table. A row whose check fails on reading (its CRC: a damaged page) is left out
 * of every answer and told to `onDamage` once per read (the store logs it; `admin check` lists it).
 * No SQL, no I/O of its own.
 */
import { type IndexedMessage, MemoryMessageIndex } from "./message_index.ts";
import { midHash, RecentMids } from "./recent_mids.ts";
import { SeqList } from "./seq_list.ts";
import type { AckSet, NewMessage, StoredMessage } from "./store.ts";

/** A stored message without its body, as the table's scan at open reports it: and its body's length. */
export type StoredMeta = Omit<StoredMessage, "body" | "expires"> & {
  expires: number | null;
  bodyBytes: number;
};

/** The table's side (sqlite_store.ts): inserts, reads and deletes by seq. */
export interface MessageRows {
  /**
   * Stores `rows` (each given its seq, increasing) and the cursor moves `acks` in one durable
   * transaction, or nothing (throws: store_errors.ts tells a full disk from a broken store).
   */
  insert(rows: readonly StoredMessage[], acks: readonly AckSet[]): void;
  /**
   * The rows of `seqs` in that order; null for a row whose check failed (damaged), unless `check`
   * is false (a deletion needs the keys the index was built from, damaged or not).
   */
  read(seqs: readonly number[], check?: boolean): (StoredMessage | null)[];
  delete(seqs: readonly number[]): void;
}

export class TableMessages {
  readonly index = new MemoryMessageIndex();
  /** Every stored message in seq order, with its ts (the one int: 0, or DEAD once deleted). */
  readonly #places = new SeqList(2, 1);
  /** The seqs of messages that expire, and when (ms): few, so a map. */
  readonly #expiring = new Map<number, number>();
  #next: number;
  #top = 0;

  /** The rows of the insert under way, in seq order (not in the index yet): what `#midOf` reads first. */
  #writing: readonly StoredMessage[] = [];

  readonly recent = new RecentMids((sender, n) => this.index.newest(sender, n), (seq) => this.#midOf(seq));

  /**
   * `stored`: every row's metadata in seq order (the table's scan); `highSeq`: the highest seq ever
   * given (the table's mark, or above it: see sqlite_store.ts's high-water check).
   */
  constructor(
    readonly table: MessageRows,
    stored: Iterable<StoredMeta>,
    highSeq: number,
    /** A row that failed its check on reading (already left out of the answer). */
    readonly onDamage: (seq: number) => void = () => {},
  ) {
    for (const m of stored) this.#add(m, m.bodyBytes);
    this.#top = Math.max(this.#top, highSeq);
    this.#next = this.#top + 1;
  }

  /** The mid of `seq`, stored or being stored; undefined when it is neither (deleted, damaged). */
  #midOf(seq: number): string | undefined {
    const w = this.#writing, k = w.length ? seq - w[0]!.seq : -1; // (an insert's seqs follow one another)
    if (k >= 0 && k < w.length) return w[k]!.mid;
    return this.has(seq) ? this.rows([seq])[0]?.mid : undefined;
  }

  #add(m: IndexedMessage & { expires?: number | null }, bytes: number, h?: number): void {
    this.index.add(m, bytes, h);
    this.#places.push(m.seq, m.ts, 0);
    if (m.expires != null) this.#expiring.set(m.seq, m.expires);
    if (m.seq > this.#top) this.#top = m.seq;
  }

  /** The highest seq known to be durable. */
  get top(): number {
    return this.#top;
  }

  /**
   * Stores the batch's new messages (a resend of a (sender, mid) in the window is null) with the
   * acks, in one transaction; the stored rows in the batch's order. A row is the message itself
   * given its seq (`seq` set on the caller's object: no copy per message, issue 37).
   */
  append(batch: readonly NewMessage[], acks: readonly AckSet[] = []): (StoredMessage | null)[] {
    const rows: StoredMessage[] = [], at: number[] = [], hashes: number[] = [];
    this.#writing = rows;
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
      this.table.insert(rows, acks);
    } catch (e) {
      this.recent.clear(); // the windows name the seqs of messages not stored
      throw e;
    } finally {
      this.#writing = [];
    }
    const out: (StoredMessage | null)[] = new Array(batch.length).fill(null);
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k]!;
      this.#add(r, r.body.length, hashes[k]);
      out[at[k]!] = r;
    }
    return out;
  }

  /** The stored messages of `seqs` (each stored: the index's answers), in that order; damaged rows left out. */
  rows(seqs: readonly number[]): StoredMessage[] {
    for (const seq of seqs) {
      if (this.#places.find(seq) < 0) throw new RangeError(`rows: seq ${seq} is not stored`);
    }
    const read = this.table.read(seqs), out: StoredMessage[] = [];
    for (let i = 0; i < read.length; i++) {
      const r = read[i];
      if (r) out.push(r);
      else this.onDamage(seqs[i]!);
    }
    return out;
  }

  /** Whether `seq` is stored. */
  has(seq: number): boolean {
    return this.#places.find(seq) >= 0;
  }

  /**
   * Deletes the stored messages among `seqs` (others are ignored): they leave the index and the
   * resend windows, then the table. Their rows (bodies included; a damaged one is still deleted).
   */
  remove(seqs: readonly number[]): StoredMessage[] {
    const live = [...new Set(seqs)].filter((s) => this.has(s));
    if (live.length === 0) return [];
    const gone = this.table.read(live, false) as StoredMessage[];
    for (const r of gone) {
      this.#places.kill(this.#places.find(r.seq));
      this.#expiring.delete(r.seq);
      this.index.remove(r);
    }
    this.recent.clear(); // a deleted mid is free again
    this.table.delete(live);
    return gone;
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
}
