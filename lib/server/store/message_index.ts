/**
 * The embedded store's in-memory index of stored messages (issue 37): for every message its seq,
 * sender, mid, where it goes (kind, target), conversation, time, body size and expiry — never its
 * body. It answers the questions the SQLite indexes answered (a user's queue, a conversation's
 * history, a sender's bytes and mids, what has expired) with seqs; the store then reads those rows
 * by primary key. So an insert updates one B-tree (the table's) instead of three, and the index is
 * rebuilt from the table when the store opens. Pure: no SQL, no clock, no I/O.
 *
 * INTERFACE WRITTEN BY THE LEAD; the helper implements it (and may refine it, saying why).
 */
import type { TargetKind } from "./store.ts";

/** What the index holds of one message (the row without its body). */
export interface IndexedMessage {
  seq: number;
  mid: string;
  sender: string;
  kind: TargetKind;
  /** User or room name; "" for broadcast. */
  target: string;
  conv: string;
  ts: number;
  /** Body length in bytes. */
  bytes: number;
  expires?: number | null;
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
  /** Adds a stored message; seqs arrive increasing (at open, in seq order; then as they are stored). */
  add(m: IndexedMessage): void;
  /** Forgets a message (deleted: unsend, retention, expiry); undefined when it was not held. */
  remove(seq: number): IndexedMessage | undefined;
  get(seq: number): Readonly<IndexedMessage> | undefined;
  /** Messages held and their body bytes (the console's /db). */
  readonly count: number;
  readonly bodyBytes: number;
  /** Body bytes `sender` has stored (the per-user quota). */
  senderBytes(sender: string): number;
  /** The sender's newest `n` mids, oldest first (the resend window's loader). */
  newestMids(sender: string, n: number): string[];
  /** The newest message `sender` stored with `mid`, or undefined. */
  ofSender(sender: string, mid: string): Readonly<IndexedMessage> | undefined;
  /**
   * The seqs of a user's (or device's) queue, oldest first, at most `limit`: DMs to them (a note to
   * self only with `own`), with `own` the DMs they sent to others, messages of their rooms after
   * they joined, broadcasts; only above `lo`, not from themselves unless `own`, not yet acked.
   * Exactly what sqlite_store.ts's `pendingSql` statements selected.
   */
  pending(q: QueueQuery): number[];
  /**
   * The seqs of a conversation's newest `limit` messages with ts >= since and seq > afterSeq, oldest
   * first, and with `maxBytes` only as many of the newest as fit (always at least one).
   */
  history(conv: string, since: number, afterSeq: number, limit: number, maxBytes?: number): number[];
  /** Seqs of messages with `expires` at or before `now`, at most `limit`. */
  expired(now: number, limit: number): number[];
}
