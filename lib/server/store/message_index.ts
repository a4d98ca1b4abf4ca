/**
 * The embedded store's in-memory index of stored messages (issue 37): for every message its seq,
 * where it goes (kind, target), sender, conversation, time, body size and a 30-bit hash of its mid
 * — never its body. It answers the questions the SQLite indexes answered (a user's queue, a
 * conversation's history, a sender's bytes and mids) with seqs; the store then reads those rows by
 * primary key. So an insert updates one B-tree (the table's) instead of three, and the index is
 * rebuilt from the table's newest rows when the store opens; older messages' lists leave it as
 * chunks (`takeThrough`) that sqlite_keys.ts keeps (issue 73). Pure: no SQL, no clock, no I/O.
 *
 * Layout: each message is an entry of three lists (seq_list.ts), each in seq order — its
 * recipients' (a user's DMs, a room's, the broadcasts: seq, sender, conv), its sender's (seq, mid
 * hash, conv, the DM's target) and its conversation's (seq, ts, body bytes) —, 56 bytes in typed
 * arrays; names are interned as small integers. Measured (tests/bench/message_index_mem.ts, heap
 * and buffers): 72 bytes per message with the lists' spare room (1,000,000 messages of 100 DM pairs,
 * or with rooms and broadcasts), 139 when they are spread over 100,000 conversations of 10 (a list's
 * fixed cost, ~170 bytes, shows); the store's rebuild at open takes ~0.12 s per 100,000 rows.
 *
 * Refined from the lead's interface: no mid strings are held (~40 bytes a message more) — the mid's
 * hash finds candidates and the store confirms each by reading the row —, so `newestMids` became
 * `newest` (seqs and hashes), `ofSender` takes that check, and `remove` takes the row's keys (every deletion has
 * them: RETURNING, or the rows of a rolled-back batch) instead of a seq→message map (~30 bytes a
 * message). Expiry stays with SQLite's partial index, which costs nothing for rows without expiry.
 */
import type { TargetKind } from "./store.ts";
import { midHash } from "./recent_mids.ts";
import { DEAD, SeqList } from "./seq_list.ts";

/** Where a message lies in the index: what a deletion must name (a row's columns). */
export interface MessageKey {
  seq: number;
  sender: string;
  kind: TargetKind;
  /** User or room name; "" for broadcast. */
  target: string;
  conv: string;
}

/** What the index holds of one message besides its body's length (the mid as a hash). */
export interface IndexedMessage extends MessageKey {
  mid: string;
  ts: number;
}

/** Whose queue `pending` reads (the store looks these up in SQL first: one query each). */
export interface QueueQuery {
  user: string;
  /** Only seqs above this (max of registration, the caller's afterSeq, the device's sinceSeq). */
  lo: number;
  /** Also one's own messages (DMs and room/broadcast messages one sent, for one's other devices). */
  own: boolean;
  /** The rooms the user is in and the seq they joined at (messages with seq > sinceSeq reach them). */
  rooms: readonly { room: string; sinceSeq: number }[];
  /** The cursor's acknowledged seq in `conv` (0 when none): messages at or below it are not pending. */
  acked(conv: string): number;
  limit: number;
}

export interface MessageIndex {
  /**
   * Adds a stored message and its body's length; seqs arrive increasing (at open, in seq order; then
   * as they are stored). `midHashed`: `midHash(m.mid)`, when the caller has it already.
   */
  add(m: IndexedMessage, bytes: number, midHashed?: number): void;
  /** Forgets a message (deleted: unsend, retention, expiry, a rollback); its body bytes, or undefined. */
  remove(m: MessageKey): number | undefined;
  /** Messages held and their body bytes (the console's /db). */
  readonly count: number;
  readonly bodyBytes: number;
  /** Body bytes `sender` has stored (the per-user quota). */
  senderBytes(sender: string): number;
  /** The seqs of the sender's newest `n` messages and their mids' hashes, oldest first (the resend window's loader). */
  newest(sender: string, n: number): { seqs: number[]; hashes: number[] };
  /** The newest message `sender` stored whose mid has `mid`'s hash and passes `isMid` (the row read). */
  ofSender(sender: string, mid: string, isMid: (seq: number) => boolean): number | undefined;
  /**
   * The seqs of a user's (or device's) queue, oldest first, at most `limit`: DMs to them (a note to
   * self only with `own`), with `own` the DMs they sent to others, messages of their rooms after
   * they joined, broadcasts; only above `lo`, not from themselves unless `own`, not yet acked.
   * Exactly what sqlite_store.ts's `pendingSql` statements selected before this index.
   */
  pending(q: QueueQuery): number[];
  /**
   * The seqs of a conversation's newest `limit` messages with ts >= since, seq > afterSeq and seq <
   * beforeSeq, oldest first, and with `maxBytes` only as many of the newest as fit (always at least one).
   */
  history(
    conv: string,
    since: number,
    afterSeq: number,
    limit: number,
    maxBytes?: number,
    beforeSeq?: number,
  ): number[];
}

/**
 * The one rule of a history page, over a conversation's messages newest first (`[seq, ts, body bytes]`):
 * the seqs of the newest `limit` with ts >= since and seq > afterSeq, oldest first, and with `maxBytes`
 * only as many of the newest as fit (always at least one). Reads `newest` only as far as the page needs.
 */
export function historyPage(
  newest: Iterable<[number, number, number]>,
  since: number,
  afterSeq: number,
  limit: number,
  maxBytes = Infinity,
): number[] {
  const keep: number[] = [];
  let bytes = 0;
  if (limit <= 0) return keep;
  for (const [seq, ts, n] of newest) {
    if (seq <= afterSeq) break;
    if (ts < since) continue;
    bytes += n;
    if (keep.length > 0 && bytes > maxBytes) break;
    keep.push(seq);
    if (keep.length >= limit) break;
  }
  return keep.reverse();
}

/** The dmTarget of a sender's entry that is not a DM. */
export const NOT_DM = -2;
/** The id of a name never seen (no entry holds it). */
export const UNKNOWN = -3;

/** A sender's list (ints: mid hash, conv, DM target, body bytes) and the body bytes they store. */
interface Sender {
  readonly list: SeqList;
  bytes: number;
}

/**
 * The name of each list in a chunk of the table (table_messages.ts): a user's DMs ("u:"), a room's
 * ("r:"), the broadcasts ("b:"), a sender's ("s:"), a conversation's ("c:"); and each kind's shape.
 */
export const LIST_SHAPE = { u: [1, 2], r: [1, 2], b: [1, 2], s: [1, 4], c: [2, 1] } as const;
export type ListKind = keyof typeof LIST_SHAPE;

/** Chunks taken out of the index (`takeThrough`): each list's entries at or below a seq. */
export interface TakenChunks {
  chunks: { list: string; first: number; last: number; data: Uint8Array }[];
  /** Per sender, the messages taken and their body bytes. */
  totals: Map<string, { messages: number; bytes: number }>;
}

export class MemoryMessageIndex implements MessageIndex {
  /** Names (users, rooms, conversations) as small integers, and back: `names` first (the table's). */
  readonly #ids = new Map<string, number>();
  readonly #names: string[] = [];
  /** Recipients' lists (ints: sender, conv) by kind. */
  readonly #dmTo = new Map<string, SeqList>();
  readonly #roomTo = new Map<string, SeqList>();
  readonly #broadcasts = new SeqList(1, 2);
  readonly #from = new Map<string, Sender>();
  /** Conversations' lists (floats: seq, ts; int: body bytes). */
  readonly #conv = new Map<string, SeqList>();
  #count = 0;
  #bodyBytes = 0;

  get count(): number {
    return this.#count;
  }
  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  constructor(names: readonly string[] = []) {
    for (const n of names) this.#id(n);
  }

  /** Every name interned, by id (ids are never reused: the table's chunks name them). */
  get names(): readonly string[] {
    return this.#names;
  }
  /** The id of `name`, or -3 when it was never seen. */
  idOf(name: string): number {
    return this.#ids.get(name) ?? UNKNOWN;
  }

  /**
   * Takes every list's live entries with seq ≤ `seq` out, and their messages out of the counts, once
   * `keep` has kept them (as chunks for the table; should it throw, nothing is taken).
   */
  takeThrough(seq: number, keep: (t: TakenChunks) => void): void {
    const out: TakenChunks = { chunks: [], totals: new Map() };
    const lists: [string, SeqList][] = [["b:", this.#broadcasts]];
    for (const [k, l] of this.#dmTo) lists.push(["u:" + k, l]);
    for (const [k, l] of this.#roomTo) lists.push(["r:" + k, l]);
    for (const [k, s] of this.#from) lists.push(["s:" + k, s.list]);
    for (const [k, l] of this.#conv) lists.push(["c:" + k, l]);
    for (const [list, l] of lists) {
      const c = l.chunkThrough(seq);
      if (c) out.chunks.push({ list, ...c });
    }
    for (const [sender, s] of this.#from) {
      const t = s.list.liveBelow(s.list.after(seq), 3);
      if (t.live) out.totals.set(sender, { messages: t.live, bytes: t.sum });
    }
    keep(out);
    for (const [sender, t] of out.totals) {
      this.#from.get(sender)!.bytes -= t.bytes;
      this.#count -= t.messages;
      this.#bodyBytes -= t.bytes;
    }
    for (const [, l] of lists) l.dropThrough(seq);
    for (const m of [this.#dmTo, this.#roomTo, this.#conv]) {
      for (const [k, l] of m) if (l.end === 0) m.delete(k);
    }
    for (const [k, s] of this.#from) if (s.list.end === 0) this.#from.delete(k);
  }

  #id(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      this.#ids.set(name, id = this.#names.length);
      this.#names.push(name);
    }
    return id;
  }

  #to(kind: TargetKind, target: string, make: true): SeqList;
  #to(kind: TargetKind, target: string, make: false): SeqList | undefined;
  #to(kind: TargetKind, target: string, make: boolean): SeqList | undefined {
    if (kind === "broadcast") return this.#broadcasts;
    const m = kind === "user" ? this.#dmTo : kind === "room" ? this.#roomTo : null;
    if (!m) throw new Error(`MessageIndex: unknown kind ${kind}`);
    let l = m.get(target);
    if (!l && make) m.set(target, l = new SeqList(1, 2));
    return l;
  }

  add(m: IndexedMessage, bytes: number, midHashed = midHash(m.mid)): void {
    const conv = this.#id(m.conv), sender = this.#id(m.sender);
    this.#to(m.kind, m.target, true).push(m.seq, 0, sender, conv);
    let s = this.#from.get(m.sender);
    if (!s) this.#from.set(m.sender, s = { list: new SeqList(1, 4), bytes: 0 });
    s.list.push(m.seq, 0, midHashed, conv, m.kind === "user" ? this.#id(m.target) : NOT_DM, bytes);
    s.bytes += bytes;
    let c = this.#conv.get(m.conv);
    if (!c) this.#conv.set(m.conv, c = new SeqList(2, 1));
    c.push(m.seq, m.ts, bytes);
    this.#count++;
    this.#bodyBytes += bytes;
  }

  remove(m: MessageKey): number | undefined {
    const c = this.#conv.get(m.conv), k = c ? c.find(m.seq) : -1;
    if (!c || k < 0) return undefined;
    const bytes = c.int(k, 0);
    const to = this.#to(m.kind, m.target, false), s = this.#from.get(m.sender);
    const kt = to ? to.find(m.seq) : -1, ks = s ? s.list.find(m.seq) : -1;
    if (!to || !s || kt < 0 || ks < 0) throw new Error(`MessageIndex: seq ${m.seq} held in part`);
    this.#kill(this.#conv, m.conv, c, k);
    if (m.kind === "broadcast") this.#broadcasts.kill(kt);
    else this.#kill(m.kind === "user" ? this.#dmTo : this.#roomTo, m.target, to, kt);
    s.list.kill(ks);
    s.bytes -= bytes;
    if (s.list.live === 0) this.#from.delete(m.sender);
    this.#count--;
    this.#bodyBytes -= bytes;
    return bytes;
  }

  /** Removes an entry; a list left empty leaves its map (a conversation gone takes no memory). */
  #kill(m: Map<string, SeqList>, key: string, l: SeqList, k: number): void {
    l.kill(k);
    if (l.live === 0) m.delete(key);
  }

  senderBytes(sender: string): number {
    return this.#from.get(sender)?.bytes ?? 0;
  }

  newest(sender: string, n: number): { seqs: number[]; hashes: number[] } {
    const l = this.#from.get(sender)?.list, seqs: number[] = [], hashes: number[] = [];
    for (let k = (l?.end ?? 0) - 1; l && k >= 0 && seqs.length < n; k--) {
      if (l.int(k, 0) !== DEAD) seqs.push(l.seq(k)), hashes.push(l.int(k, 0));
    }
    return { seqs: seqs.reverse(), hashes: hashes.reverse() };
  }

  ofSender(sender: string, mid: string, isMid: (seq: number) => boolean): number | undefined {
    const l = this.#from.get(sender)?.list, h = midHash(mid);
    for (let k = (l?.end ?? 0) - 1; l && k >= 0; k--) {
      if (l.int(k, 0) === h && isMid(l.seq(k))) return l.seq(k);
    }
    return undefined;
  }

  pending(q: QueueQuery): number[] {
    const u = this.#ids.get(q.user) ?? UNKNOWN, out: number[] = [];
    const acks = new Map<number, number>();
    const acked = (conv: number) => {
      let a = acks.get(conv);
      if (a === undefined) acks.set(conv, a = q.acked(this.#names[conv]!));
      return a;
    };
    // The first `limit` of one recipients' list above `lo` (another's, or their own with `own`).
    const take = (l: SeqList | undefined, lo: number) => {
      for (let k = l ? l.after(lo) : 0, n = 0; l && k < l.end && n < q.limit; k++) {
        const sender = l.int(k, 0);
        if (sender === DEAD || (sender === u && !q.own) || l.seq(k) <= acked(l.int(k, 1))) continue;
        out.push(l.seq(k));
        n++;
      }
    };
    take(this.#dmTo.get(q.user), q.lo);
    const mine = q.own ? this.#from.get(q.user)?.list : undefined;
    // Their DMs to others (a note to self is among the DMs to them).
    for (let k = mine ? mine.after(q.lo) : 0, n = 0; mine && k < mine.end && n < q.limit; k++) {
      const to = mine.int(k, 2);
      if (mine.int(k, 0) === DEAD || to === NOT_DM || to === u) continue;
      if (mine.seq(k) <= acked(mine.int(k, 1))) continue;
      out.push(mine.seq(k));
      n++;
    }
    for (const r of q.rooms) take(this.#roomTo.get(r.room), Math.max(q.lo, r.sinceSeq));
    take(this.#broadcasts, q.lo);
    out.sort((a, b) => a - b);
    return out.length > q.limit ? out.slice(0, q.limit) : out;
  }

  /** A conversation's live messages below `beforeSeq`, newest first: seq, ts and body bytes. */
  *newestOf(conv: string, beforeSeq = Infinity): Generator<[number, number, number]> {
    const l = this.#conv.get(conv);
    if (!l) return;
    const top = beforeSeq === Infinity ? l.end : l.after(Math.ceil(beforeSeq) - 1);
    for (let k = top - 1; k >= 0; k--) {
      const n = l.int(k, 0);
      if (n !== DEAD) yield [l.seq(k), l.float(k, 1), n];
    }
  }

  history(
    conv: string,
    since: number,
    afterSeq: number,
    limit: number,
    maxBytes = Infinity,
    beforeSeq = Infinity,
  ): number[] {
    return historyPage(this.newestOf(conv, beforeSeq), since, afterSeq, limit, maxBytes);
  }
}
