/**
 * The local store's outbox: text the user sent that the server has not confirmed (typed while
 * offline, or in flight). It is sent again with the same id, which the server deduplicates. Entries
 * with `resend` are the full-screen client's outbox (sent again after a reconnect); scripted sends
 * report failure instead and are never resent. An entry marked `failed` (the server can never take
 * it: too large, malformed) is never sent again; it stays listed (`outboxEntries`) until the user
 * drops it (`dropOutbox`). `drops` counts the connections lost in a row while sending it. Text is
 * sealed by the `HistorySealer`, bound to the entry's id.
 */
import type { OutboxEntry, Target } from "../backend.ts";
import { type Row, type SqlDb, target, writeTx } from "./local_store_sql.ts";
import { type HistorySealer, outAd } from "./local_store_seal.ts";

/** A message the user wrote that the server has not confirmed yet. */
export interface PendingMessage {
  /** The message id, kept when it is sent again. */
  mid: string;
  /** When the user wrote it (ms). */
  ts: number;
  /** The conversation it goes to. */
  to: Target;
  /** What the user wrote. */
  text: string;
  /** The message it answers. */
  replyTo?: string;
  /**
   * Not a text: a change or setting (an edit, deletion, reaction, disappearing time) whose payload
   * (e2e/keys.ts `Payload`, as JSON) `text` holds; it leaves in order with the texts.
   */
  change?: true;
  /** The conversation's disappearing time when it was written (seconds): it goes with it, however long it waits. */
  ttl?: number;
}

/**
 * Keeps text the user sent until the server confirms it (`resend`: sent again after a reconnect).
 * Added again with `resend`, an entry already there becomes one to send again (issue 74: a scripted
 * send the server could not store now stays queued); its text and place stay as they were.
 */
export function addPending(db: SqlDb, sealer: HistorySealer, p: PendingMessage, resend: boolean): void {
  writeTx(db, () => {
    db.prepare(
      "INSERT INTO outbox (mid, ts, kind, target, text, resend, reply_to, change, ttl) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (mid) DO UPDATE SET resend = MAX(resend, excluded.resend)",
    ).run(
      p.mid,
      p.ts,
      p.to.kind,
      p.to.name ?? "",
      sealer.seal(p.text, outAd(p.mid)),
      resend ? 1 : 0,
      p.replyTo ?? null,
      p.change ? 1 : 0,
      p.ttl || null,
    );
  });
}

/** The outbox entry `mid`, if it is still there. */
export function pending(db: SqlDb, sealer: HistorySealer, mid: string): PendingMessage | undefined {
  const r = db.prepare("SELECT * FROM outbox WHERE mid = ?").get(mid) as Row | undefined;
  return r ? toPending(sealer, r) : undefined;
}

/** The outbox entry `mid` while it waits to be sent again (kept, not failed); undefined otherwise. */
export function waitingOne(db: SqlDb, sealer: HistorySealer, mid: string): PendingMessage | undefined {
  const r = db.prepare("SELECT * FROM outbox WHERE mid = ? AND resend = 1 AND failed IS NULL").get(mid) as
    | Row
    | undefined;
  return r ? toPending(sealer, r) : undefined;
}

/** Every unconfirmed message to send again, in the order they were written (failed ones not). */
export function pendingAll(db: SqlDb, sealer: HistorySealer): PendingMessage[] {
  const rows = db.prepare("SELECT * FROM outbox WHERE resend = 1 AND failed IS NULL ORDER BY n")
    .all() as Row[];
  return rows.map((r) => toPending(sealer, r));
}

/** How many unconfirmed messages wait to be sent again (counted, not opened). */
export function pendingCount(db: SqlDb): number {
  return Number(
    (db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE resend = 1 AND failed IS NULL").get() as Row).n,
  );
}

/** The full-screen client's outbox as `/outbox` lists it: waiting and failed entries, in order. */
export function outboxEntries(db: SqlDb, sealer: HistorySealer): OutboxEntry[] {
  const rows = db.prepare("SELECT * FROM outbox WHERE resend = 1 ORDER BY n").all() as Row[];
  return rows.map((r) => ({
    ...withoutFlag(toPending(sealer, r)),
    n: r.n as number,
    ...(r.failed !== null ? { failed: String(r.failed) } : {}),
    ...(r.change ? { kind: "change" as const } : {}),
  }));
}

/** Marks an entry as one the server can never take: kept (listed, removable), never sent again. */
export function markFailed(db: SqlDb, mid: string, why: string): void {
  writeTx(db, () => void db.prepare("UPDATE outbox SET failed = ? WHERE mid = ?").run(why, mid));
}

/** The connection dropped while entry `mid` was being sent: how many times that happened in a row. */
export function noteDrop(db: SqlDb, mid: string): number {
  return writeTx(db, () => {
    db.prepare("UPDATE outbox SET drops = drops + 1 WHERE mid = ?").run(mid);
    const r = db.prepare("SELECT drops FROM outbox WHERE mid = ?").get(mid) as Row | undefined;
    return Number(r?.drops ?? 0);
  });
}

/** Removes outbox entry number `n` (`/outbox drop N`); returns it, or null when there is none. */
export function dropOutbox(db: SqlDb, sealer: HistorySealer, n: number): OutboxEntry | null {
  return writeTx(db, () => {
    const e = outboxEntries(db, sealer).find((x) => x.n === n);
    if (e) db.prepare("DELETE FROM outbox WHERE n = ?").run(n);
    return e ?? null;
  });
}

/** Removes the entry `mid` (confirmed by the server, or a failure the user was told about). */
export function dropPending(db: SqlDb, mid: string): void {
  writeTx(db, () => void db.prepare("DELETE FROM outbox WHERE mid = ?").run(mid));
}

/** An entry without its `change` flag (a listed entry says it by its `kind`). */
function withoutFlag({ change: _, ...p }: PendingMessage): Omit<PendingMessage, "change"> {
  return p;
}

/** An outbox row as a `PendingMessage` (its text opened). */
function toPending(sealer: HistorySealer, r: Row): PendingMessage {
  return {
    mid: r.mid as string,
    ts: r.ts as number,
    to: target(r.kind, r.target),
    text: sealer.open(r.text, outAd(r.mid)),
    ...(typeof r.reply_to === "string" ? { replyTo: r.reply_to } : {}),
    ...(r.change ? { change: true as const } : {}),
    ...(r.ttl ? { ttl: Number(r.ttl) } : {}),
  };
}
