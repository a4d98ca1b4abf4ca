/**
 * The embedded store's messages (issues 37, 68 and 73): rows of SQLite's `messages` table, reached
 * through `MessageRows` (sqlite_store.ts speaks the SQL). The newest messages — at most about
 * `TAIL_MAX`, every one above the keys' mark `upto` — are found by the in-memory index
 * (message_index.ts) and a list of their seqs (seq_list.ts); older ones by the same lists kept as
 * chunks in SQLite (`OldKeys`, sqlite_keys.ts), where the oldest half of the memory's move once
 * there are more than `TAIL_MAX`. So a start reads the rows above the mark only, and memory does
 * not grow with history. Resends are caught by each sender's window of mids (recent_mids.ts).
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
import {
  historyPage,
  type IndexedMessage,
  MemoryMessageIndex,
  NOT_DM,
  type QueueQuery,
  type TakenChunks,
} from "./message_index.ts";
import { midHash, RecentMids } from "./recent_mids.ts";
import { DEAD, SeqList } from "./seq_list.ts";
import { StoreBroken, StoreFull } from "./store_errors.ts";
import type { AckSet, NewMessage, StoredMessage } from "./store.ts";

/** Messages the memory holds at most (then the oldest half's keys move into the table, in one transaction). */
export const TAIL_MAX = 32_768;

/** A stored message without its body, as the table's scan at open reports it: and its body's length. */
export type StoredMeta = Omit<StoredMessage, "body" | "expires"> & {
  expires: number | null;
  bodyBytes: number;
};

/** A sender's stored messages and their body bytes. */
export interface SenderTotal {
  messages: number;
  bytes: number;
}

/** The keys of messages at or below the mark, in the table (sqlite_keys.ts): chunks of each list. */
export interface OldKeys {
  /** The chunks of `list` (message_index.ts `LIST_SHAPE`) holding seqs above `after`, oldest first. */
  after(list: string, after: number): Iterable<SeqList>;
  /** The chunks of `list` holding seqs below `before`, newest first. */
  before(list: string, before: number): Iterable<SeqList>;
}

/** A deleted message at or below the mark: its lists' entries go dead, its sender's totals lose it. */
export interface OldEntry {
  seq: number;
  lists: string[];
  sender: string;
  bytes: number;
}

/** The table's side (sqlite_store.ts): inserts, reads and deletes by seq; the keys of older rows. */
export interface MessageRows {
  /**
   * Stores `rows` (each given its seq, increasing) and the cursor moves `acks` in one durable
   * transaction, or nothing (throws: store_errors.ts tells a full disk from a broken store).
   */
  insert(rows: readonly StoredMessage[], acks: readonly AckSet[]): void;
  /**
   * The rows of `seqs` in that order; undefined for no row, null for a row whose check failed
   * (damaged), unless `check` is false (a deletion needs the keys, damaged or not).
   */
  read(seqs: readonly number[], check?: boolean): (StoredMessage | null | undefined)[];
  /** Deletes the rows of `seqs`, and the keys of the messages of `old`, in one transaction. */
  delete(seqs: readonly number[], old: readonly OldEntry[]): void;
  /** Keeps a move's chunks, the names from id `namesFrom` on, the totals and the mark `upto` (one transaction). */
  moveKeys(t: TakenChunks, names: readonly string[], namesFrom: number, upto: number): void;
  /** Stored rows above `after`, oldest first, at most `limit`: seq and ts. */
  places(after: number, limit: number): { seq: number; ts: number }[];
  /** Whether a row of `seq` is stored. */
  exists(seq: number): boolean;
  /** The seqs of rows whose `expires` is at or before `now`, at most `limit`. */
  expired(now: number, limit: number): number[];
  readonly keys: OldKeys;
}

export class TableMessages {
  /** The index of the messages above the mark. */
  readonly index: MemoryMessageIndex;
  /** The seqs of the messages above the mark, in order (the one int: 0, or DEAD once deleted). */
  readonly #places = new SeqList(1, 1);
  /** The highest seq whose keys are in the table (messages at or below it are not in memory). */
  #upto: number;
  /** Per sender, the count and body bytes of its messages at or below the mark. */
  readonly #totals: Map<string, SenderTotal>;
  /** Names the table keeps (`key_names`): the index's ids below this. */
  #namesKept: number;
  /** Messages whose keys moved into the table while the store opened (a database from before issue 73). */
  movedAtOpen = 0;
  #next: number;
  #top = 0;

  /** The rows of the insert under way, in seq order (not in the index yet): what `#midOf` reads first. */
  #writing: readonly StoredMessage[] = [];

  readonly recent = new RecentMids((sender, n) => this.#newest(sender, n), (seq) => this.#midOf(seq));

  /**
   * `stored`: the metadata of every row above `upto` in seq order (the table's scan); `totals`: the
   * senders' totals at or below it; `names`: the names the table's chunks use, by id; `highSeq`: the
   * highest seq ever given (the table's mark, or above it: see sqlite_store.ts's high-water check).
   */
  constructor(
    readonly table: MessageRows,
    stored: Iterable<StoredMeta>,
    o: { upto: number; totals: Map<string, SenderTotal>; names: readonly string[]; highSeq: number },
    /** A row that failed its check on reading (already left out of the answer). */
    readonly onDamage: (seq: number) => void = () => {},
    readonly tailMax = TAIL_MAX,
  ) {
    this.index = new MemoryMessageIndex(o.names);
    this.#namesKept = o.names.length;
    this.#upto = this.#top = o.upto;
    this.#totals = o.totals;
    for (const m of stored) {
      this.#add(m, m.bodyBytes);
      if (this.#places.live > this.tailMax) this.movedAtOpen += this.#moveOldest();
    }
    this.#top = Math.max(this.#top, o.highSeq);
    this.#next = this.#top + 1;
  }

  /** The mid of `seq`, stored or being stored; undefined when it is neither (deleted, damaged). */
  #midOf(seq: number): string | undefined {
    const w = this.#writing, k = w.length ? seq - w[0]!.seq : -1; // (an insert's seqs follow one another)
    if (k >= 0 && k < w.length) return w[k]!.mid;
    const r = this.table.read([seq])[0];
    if (r === null) this.onDamage(seq);
    return r?.mid;
  }

  #add(m: IndexedMessage, bytes: number, h?: number): void {
    this.index.add(m, bytes, h);
    this.#places.push(m.seq, 0, 0);
    if (m.seq > this.#top) this.#top = m.seq;
  }

  /** The highest seq known to be durable. */
  get top(): number {
    return this.#top;
  }
  /** The highest seq whose keys are in the table. */
  get upto(): number {
    return this.#upto;
  }
  /** Messages held in memory (those above the mark). */
  get inMemory(): number {
    return this.#places.live;
  }

  /** Messages stored and their body bytes (the console's /db). */
  get count(): number {
    let n = this.index.count;
    for (const t of this.#totals.values()) n += t.messages;
    return n;
  }
  get bodyBytes(): number {
    let n = this.index.bodyBytes;
    for (const t of this.#totals.values()) n += t.bytes;
    return n;
  }
  /** Body bytes `sender` has stored (the per-user quota). */
  senderBytes(sender: string): number {
    return this.index.senderBytes(sender) + (this.#totals.get(sender)?.bytes ?? 0);
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
    if (this.#places.live > this.tailMax) this.#moveOldest();
    return out;
  }

  /**
   * The keys of the oldest half of the messages in memory move into the table (how many). A full disk
   * or a broken store leaves them in memory (the store heard of a broken one; the next append tries again).
   */
  #moveOldest(): number {
    const n = Math.max(1, this.tailMax >> 1);
    let k = 0;
    for (let live = 0; k < this.#places.end; k++) {
      if (this.#places.int(k, 0) >= 0 && ++live === n) break;
    }
    const to = this.#places.seq(Math.min(k, this.#places.end - 1));
    let added: Map<string, SenderTotal>;
    try {
      this.index.takeThrough(to, (t) => {
        this.table.moveKeys(t, this.index.names, this.#namesKept, to);
        added = t.totals;
      });
    } catch (e) {
      if (e instanceof StoreFull || e instanceof StoreBroken) return 0;
      throw e;
    }
    this.#namesKept = this.index.names.length;
    const before = this.#places.live;
    this.#places.dropThrough(to);
    for (const [sender, t] of added!) {
      const had = this.#totals.get(sender);
      if (had) had.messages += t.messages, had.bytes += t.bytes;
      else this.#totals.set(sender, { ...t });
    }
    this.#upto = to;
    return before - this.#places.live;
  }

  /** The stored messages of `seqs` (each stored: the index's answers), in that order; damaged rows left out. */
  rows(seqs: readonly number[]): StoredMessage[] {
    const read = this.table.read(seqs), out: StoredMessage[] = [];
    for (let i = 0; i < read.length; i++) {
      const r = read[i];
      if (r === undefined) throw new RangeError(`rows: seq ${seqs[i]} is not stored`);
      if (r) out.push(r);
      else this.onDamage(seqs[i]!);
    }
    return out;
  }

  /** Whether `seq` is stored. */
  has(seq: number): boolean {
    return seq > this.#upto ? this.#places.find(seq) >= 0 : this.table.exists(seq);
  }

  /**
   * Deletes the stored messages among `seqs` (others are ignored): they leave the index (or their
   * keys' totals) and the resend windows, then the table. Their rows (bodies included; a damaged one is still deleted).
   */
  remove(seqs: readonly number[]): StoredMessage[] {
    const live = [...new Set(seqs)].filter((s) => this.has(s));
    if (live.length === 0) return [];
    const gone = this.table.read(live, false) as StoredMessage[], old: OldEntry[] = [];
    for (const r of gone) {
      if (r.seq > this.#upto) {
        this.#places.kill(this.#places.find(r.seq));
        this.index.remove(r);
        continue;
      }
      const to = r.kind === "user" ? `u:${r.target}` : r.kind === "room" ? `r:${r.target}` : "b:";
      old.push({
        seq: r.seq,
        lists: [to, `s:${r.sender}`, `c:${r.conv}`],
        sender: r.sender,
        bytes: r.body.length,
      });
      const t = this.#totals.get(r.sender);
      if (!t) continue;
      t.messages--, t.bytes -= r.body.length;
      if (t.messages <= 0) this.#totals.delete(r.sender);
    }
    this.recent.clear(); // a deleted mid is free again
    this.table.delete(live, old);
    return gone;
  }

  /** The seqs of stored messages above `afterSeq`, oldest first, at most `limit`. */
  seqsAfter(afterSeq: number, limit: number): number[] {
    return this.table.places(afterSeq, limit).map((p) => p.seq);
  }

  /**
   * The stored messages older than `before` (ms), oldest first, read a page at a time; the walk
   * stops at the first message at or after `before` (messages are stored in time order; should
   * the clock have stepped back, an older one after it waits for a later sweep).
   */
  *olderThan(before: number, page = 256): Generator<StoredMessage> {
    for (let after = 0;;) {
      const places = this.table.places(after, page), seqs: number[] = [];
      const end = places.findIndex((p) => p.ts >= before);
      for (const p of end < 0 ? places : places.slice(0, end)) seqs.push(p.seq);
      if (seqs.length === 0) return;
      yield* this.rows(seqs); // live: just read from the table
      if (end >= 0 || places.length < page) return;
      after = seqs[seqs.length - 1]!;
    }
  }

  /** The seqs of messages whose time is up at `now`, at most `limit`. */
  expired(now: number, limit: number): number[] {
    return this.table.expired(now, limit);
  }

  /** The sender's newest `n` messages' seqs and mid hashes, oldest first (the resend window's loader). */
  #newest(sender: string, n: number): { seqs: number[]; hashes: number[] } {
    const t = this.index.newest(sender, n);
    if (t.seqs.length >= n || this.#upto === 0) return t;
    const seqs: number[] = [], hashes: number[] = [];
    for (const l of this.table.keys.before(`s:${sender}`, this.#upto + 1)) {
      for (let k = l.end - 1; k >= 0 && seqs.length + t.seqs.length < n; k--) {
        if (l.int(k, 0) !== DEAD) seqs.push(l.seq(k)), hashes.push(l.int(k, 0));
      }
      if (seqs.length + t.seqs.length >= n) break;
    }
    return { seqs: seqs.reverse().concat(t.seqs), hashes: hashes.reverse().concat(t.hashes) };
  }

  /** The newest message `sender` stored whose mid has `mid`'s hash and passes `isMid` (the row read). */
  ofSender(sender: string, mid: string, isMid: (seq: number) => boolean): number | undefined {
    const t = this.index.ofSender(sender, mid, isMid);
    if (t !== undefined || this.#upto === 0) return t;
    const h = midHash(mid);
    for (const l of this.table.keys.before(`s:${sender}`, this.#upto + 1)) {
      for (let k = l.end - 1; k >= 0; k--) if (l.int(k, 0) === h && isMid(l.seq(k))) return l.seq(k);
    }
    return undefined;
  }

  /** The seqs of a user's (or device's) queue, oldest first: message_index.ts `pending`, over memory and the table. */
  pending(q: QueueQuery): number[] {
    const tail = this.index.pending(q);
    if (q.lo >= this.#upto) return tail;
    const old = this.#pendingKeyed(q);
    return old.length === 0 ? tail : old.concat(tail).slice(0, q.limit);
  }

  /** `pending`'s answer among the chunks in the table (all below the memory's: sorted apart). */
  #pendingKeyed(q: QueueQuery): number[] {
    const out: number[] = [], acks = new Map<number, number>(), names = this.index.names;
    const u = this.index.idOf(q.user);
    const acked = (conv: number) => {
      let a = acks.get(conv);
      if (a === undefined) acks.set(conv, a = q.acked(names[conv]!));
      return a;
    };
    /** The first `limit` live entries of `list` above `lo` passing `ok` (ints: the entry's). */
    const take = (list: string, lo: number, ok: (l: SeqList, k: number) => boolean) => {
      let n = 0;
      for (const l of this.table.keys.after(list, lo)) {
        for (let k = l.after(lo); k < l.end && n < q.limit; k++) {
          if (l.int(k, 0) === DEAD || !ok(l, k)) continue;
          out.push(l.seq(k));
          n++;
        }
        if (n >= q.limit) return;
      }
    };
    // Another's (or, with `own`, their own) messages to them, not yet acked.
    const toThem = (l: SeqList, k: number) => (l.int(k, 0) !== u || q.own) && l.seq(k) > acked(l.int(k, 1));
    take(`u:${q.user}`, q.lo, toThem);
    if (q.own) {
      // Their DMs to others (a note to self is among the DMs to them).
      take(`s:${q.user}`, q.lo, (l, k) => {
        const to = l.int(k, 2);
        return to !== NOT_DM && to !== u && l.seq(k) > acked(l.int(k, 1));
      });
    }
    for (const r of q.rooms) {
      const lo = Math.max(q.lo, r.sinceSeq);
      if (lo < this.#upto) take(`r:${r.room}`, lo, toThem);
    }
    take("b:", q.lo, toThem);
    return out.sort((a, b) => a - b);
  }

  /**
   * The seqs of a conversation's newest `limit` messages with ts >= since, seq > afterSeq and seq <
   * beforeSeq, oldest first, and with `maxBytes` only as many of the newest as fit (always at least
   * one): message_index.ts `history`, over memory and then the table.
   */
  history(
    conv: string,
    since: number,
    afterSeq: number,
    limit: number,
    maxBytes = Infinity,
    beforeSeq = Infinity,
  ): number[] {
    return historyPage(this.#newestOf(conv, afterSeq, beforeSeq), since, afterSeq, limit, maxBytes);
  }

  /**
   * A conversation's live messages below `beforeSeq`, newest first (`[seq, ts, body bytes]`): those in
   * memory, then the chunks moved to the table (not read when every seq there is at most `afterSeq`).
   */
  *#newestOf(conv: string, afterSeq: number, beforeSeq: number): Generator<[number, number, number]> {
    yield* this.index.newestOf(conv, beforeSeq);
    if (afterSeq >= this.#upto) return;
    const below = Math.min(Math.ceil(beforeSeq), this.#upto + 1);
    for (const l of this.table.keys.before(`c:${conv}`, below)) {
      for (let k = l.after(below - 1) - 1; k >= 0; k--) {
        if (l.int(k, 0) !== DEAD) yield [l.seq(k), l.float(k, 1), l.int(k, 0)];
      }
    }
  }
}
