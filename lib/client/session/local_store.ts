/**
 * The client's local database in its home folder (SQLite): received and sent messages as text,
 * so history survives acknowledgement on the server. One file per account and server; the
 * encryption layer keeps its keys and ratchet state in the same database (its own tables).
 * `LocalStore` is the one object callers hold. This file opens and guards the database (the file
 * side, rule 2); its tables live beside it: local_store_messages.ts (history, seen; searched by
 * local_store_search.ts),
 * local_store_changes.ts (edits, deletion, reactions, disappearing messages), local_store_outbox.ts
 * (unconfirmed sends), local_store_seal.ts (text at rest), local_store_sql.ts (schema, `writeTx`).
 *
 * A client folder is one device, and any number of processes may use it at once (the full-screen
 * client, scripted commands). So `exclusive(fn)` runs `fn` holding the database's write lock (BEGIN
 * IMMEDIATE, waited for asynchronously, never by blocking the event loop), after telling
 * `onForeignChange` listeners when another process committed since — every change of crypto state
 * happens inside it; and `LocalStore.tx(db, fn)` is the one way to write (a savepoint inside an
 * open transaction, else BEGIN IMMEDIATE, SQLite's busy timeout waiting for the lock). Once
 * `unlock(keystoreKey)` has run (when the keystore opens), text is sealed at rest and rows written
 * before are sealed then. The database and its -wal/-shm are 0600.
 */
import { DatabaseSync } from "node:sqlite";
import { BackendError } from "../backend.ts";
import type { ChatMessage, OutboxEntry, SearchQuery, SearchResult, Target } from "../backend.ts";
import { type Clock, systemClock, systemTimers, type Timers } from "../../common/clock.ts";
import { migrate, type Row, writeTx } from "./local_store_sql.ts";
import { HistorySealer } from "./local_store_seal.ts";
import * as history from "./local_store_messages.ts";
import * as changes from "./local_store_changes.ts";
import * as outbox from "./local_store_outbox.ts";
import { searchMessages } from "./local_store_search.ts";
import { storeFile } from "./home_dir.ts";

export type { PendingMessage } from "./local_store_outbox.ts";

/** How long `exclusive` waits for another process before giving up. */
const LOCK_WAIT_MS = 30_000;
/** How often the folder's one watcher looks at `PRAGMA data_version` while someone waits for a change. */
export const WATCH_MS = 50;

/** The client folder's database of one account on one server: history, outbox, changes. */
export class LocalStore {
  /** The open database (the encryption layer keeps its tables here too). */
  readonly db: DatabaseSync;
  readonly #foreign = new Set<() => void>();
  /** Seals text at rest; locked until the keystore is open. */
  readonly #sealer = new HistorySealer();
  #dataVersion: number;
  #chain: Promise<unknown> = Promise.resolve();
  /** Who waits for another process's next commit (`nextForeign`), and the one timer looking for it. */
  readonly #watchers = new Set<() => void>();
  #watch: unknown;

  /**
   * Opens (or creates) the database at `path` (":memory:": none), schema up to date; `clock` times
   * lock waits, `timers` the watcher's looks (`nextForeign`).
   */
  constructor(path: string, readonly clock: Clock = systemClock, readonly timers: Timers = systemTimers) {
    this.db = new DatabaseSync(path);
    // secure_delete: text replaced by its sealed form (or deleted) is overwritten, not left in free pages.
    this.db.exec("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA secure_delete=ON;");
    migrate(this.db);
    this.#dataVersion = this.#version();
    LocalStore.#private(path);
  }

  /** The database and its companions are for the user only. */
  static #private(path: string): void {
    if (path === ":memory:" || Deno.build.os === "windows") return;
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      try {
        Deno.chmodSync(f, 0o600);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
  }

  /** From now on text is sealed under a key derived from `keystoreKey`; older plaintext rows are sealed now. */
  unlock(keystoreKey: Uint8Array): void {
    const sealed = this.#sealer.unlock(this.db, keystoreKey);
    // The old page images in the WAL go too (when no other process is reading it at this moment).
    if (sealed && !this.db.isTransaction) this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  /** A password change: sealed text sealed again under a key from `keystoreKey` (in the caller's transaction). */
  rekey(keystoreKey: Uint8Array): void {
    this.#sealer.rekey(this.db, keystoreKey);
  }

  /** The database file of `user` on `server` in the client folder `home`. */
  static pathFor(home: string, user: string, server: string): string {
    return storeFile(home, user, server);
  }

  /** Runs `fn` in a transaction: a savepoint inside an open one, else BEGIN IMMEDIATE. */
  static tx<T>(db: DatabaseSync, fn: () => T): T {
    return writeTx(db, fn);
  }

  /** Calls `l` when another process changed the database (caches built from it are stale). */
  onForeignChange(l: () => void): void {
    this.#foreign.add(l);
  }

  /**
   * Calls `l` once another process of the folder has committed (the folder's one change signal
   * between processes: a single timer per store looks at `PRAGMA data_version` every WATCH_MS, and
   * only while someone listens); returns how to stop listening. Caches are dropped first
   * (`onForeignChange`), as when the lock is taken.
   */
  nextForeign(l: () => void): () => void {
    this.#watchers.add(l);
    this.#arm();
    return () => {
      this.#watchers.delete(l);
      this.#stopWatch();
    };
  }

  /** The next look in WATCH_MS, unless one is due already or nobody waits. */
  #arm(): void {
    if (this.#watch !== undefined || !this.#watchers.size) return;
    this.#watch = this.timers.set(() => {
      this.#watch = undefined;
      this.#look();
      this.#arm(); // someone still waits (or a listener told waits again)
    }, WATCH_MS);
  }

  #stopWatch(): void {
    if (this.#watchers.size || this.#watch === undefined) return;
    this.timers.clear(this.#watch);
    this.#watch = undefined;
  }

  /** The watcher's look: another process committed since the last look or lock, its listeners told. */
  #look(): void {
    if (!this.db.isOpen) return void this.#watchers.clear();
    if (this.db.isTransaction) return; // this process is writing: look next time
    this.#noteVersion();
  }

  /** When another process committed since the last look or lock: caches dropped, then waiters told. */
  #noteVersion(): void {
    const v = this.#version();
    if (v === this.#dataVersion) return;
    this.#dataVersion = v;
    for (const l of this.#foreign) l();
    const told = [...this.#watchers];
    this.#watchers.clear();
    this.#stopWatch();
    for (const l of told) l();
  }

  #version(): number {
    return Number((this.db.prepare("PRAGMA data_version").get() as Row).data_version);
  }

  /**
   * Runs `fn` holding the database's write lock, one call at a time in this process; what `fn`
   * commits through `tx` is committed even when it throws afterwards.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(async () => {
      await this.#lock();
      try {
        return await fn();
      } finally {
        if (this.db.isOpen && this.db.isTransaction) this.db.exec("COMMIT");
      }
    });
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Takes the write lock (retrying with back-off, never blocking), then reports foreign commits. */
  async #lock(): Promise<void> {
    const end = this.clock.now() + LOCK_WAIT_MS;
    for (let wait = 2;; wait = Math.min(50, wait * 2)) {
      // No busy wait for this one attempt only: the timeout is back before any await, so other
      // writes of this process meanwhile still wait for the lock as usual.
      this.db.exec("PRAGMA busy_timeout=0");
      try {
        this.db.exec("BEGIN IMMEDIATE");
        break;
      } catch (e) {
        if (!/locked|busy/i.test(e instanceof Error ? e.message : "")) throw e;
      } finally {
        this.db.exec("PRAGMA busy_timeout=10000");
      }
      if (this.clock.now() > end) {
        throw new BackendError("folder_busy", "Another Parley process keeps the client folder locked");
      }
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
    }
    this.#noteVersion();
  }

  // History (local_store_messages.ts).
  /** Saves messages in their own transaction (`seen`: already shown). */
  save(ms: ChatMessage[], seen = true): void {
    LocalStore.tx(this.db, () => this.insert(ms, seen));
  }

  /** Inserts messages inside the caller's transaction (e.g. with crypto state). */
  insert(ms: ChatMessage[], seen = false): void {
    history.insertMessages(this.db, this.#sealer, ms, seen);
  }

  #one(sql: string, ...args: (string | number)[]): ChatMessage | undefined {
    return history.oneMessage(this.db, this.#sealer, sql, ...args);
  }
  /** The saved message with server sequence number `seq`, if any. */
  get(seq: number): ChatMessage | undefined {
    return this.#one("SELECT * FROM messages WHERE seq = ?", seq);
  }
  /** The saved message with id `mid`, whoever sent it; none when two senders hold it (issue 69 N2: name one). */
  byMidAny(mid: string): ChatMessage | undefined {
    const [only, other] = this.sendersOf(mid);
    return only === undefined || other !== undefined ? undefined : this.byMid(only, mid);
  }
  /** Who sent the saved messages with id `mid` (one sender, but in a history kept from before 0.21). */
  sendersOf(mid: string): string[] {
    return history.sendersOf(this.db, mid);
  }
  /** The saved message with id `mid` sent by `from`, if any. */
  byMid(from: string, mid: string): ChatMessage | undefined {
    return this.#one("SELECT * FROM messages WHERE mid = ? AND sender = ?", mid, from);
  }

  /** Messages since `since` (ms), optionally of one conversation seen from `me`. Oldest first. */
  list(me: string, since: number, filter?: Target): ChatMessage[] {
    return history.listMessages(this.db, this.#sealer, me, since, filter);
  }

  /** Messages whose text holds every word of `q.text`, seen from `me` at `now` (local_store_search.ts). */
  search(me: string, q: SearchQuery, now: number): Promise<SearchResult> {
    return searchMessages(this.db, this.#sealer, me, q, now);
  }

  /** The last `perConversation` shown messages of each conversation, oldest first. */
  recent(me: string, perConversation: number): ChatMessage[] {
    return history.recentMessages(this.db, this.#sealer, me, perConversation);
  }

  /** Messages saved but never shown, oldest first. */
  unseen(): ChatMessage[] {
    return history.unseenMessages(this.db, this.#sealer);
  }

  /** True when `seq` was shown already (by this or another process on the folder). */
  isSeen(seq: number): boolean {
    return history.isSeen(this.db, seq);
  }

  /** Marks messages as shown. */
  markSeen(seqs: number[]): void {
    history.markSeen(this.db, seqs);
  }

  // Changes to messages (local_store_changes.ts), inside the caller's transaction.
  /** An edit: the text becomes `text`; the text it had is kept, sealed, as an earlier version (`editsOf`). */
  applyEdit(seq: number, text: string, at: number): void {
    changes.applyEdit(this.db, this.#sealer, seq, text, at);
  }

  /** Earlier texts of an edited message, oldest first. */
  editsOf(seq: number): { at: number; text: string }[] {
    return changes.editsOf(this.db, this.#sealer, seq);
  }

  /** Deleted for everyone: its text and every earlier version are removed from the database, its reactions too. */
  applyDelete(seq: number): void {
    changes.applyDelete(this.db, this.#sealer, seq);
  }

  /** `user` reacts to message `seq` with `emoji` (`on`), or takes the reaction back. */
  applyReaction(seq: number, user: string, emoji: string, on: boolean, at: number): void {
    changes.applyReaction(this.db, seq, user, emoji, on, at);
  }

  /** Disappearing messages in `conv`: `seconds` (0: off), set at `at`; an older setting loses. Whether it is news here. */
  setExpiry(conv: string, seconds: number, at: number): boolean {
    return changes.setExpiry(this.db, conv, seconds, at);
  }

  /** The disappearing time of conversation `conv` in seconds; 0 when off. */
  expiryOf(conv: string): number {
    return changes.expiryOf(this.db, conv);
  }

  /** Deletes every message whose time is up (`now`), with its earlier texts and reactions; answers their ids. */
  purgeExpired(now: number): string[] {
    return changes.purgeExpired(this.db, now);
  }

  // The outbox (local_store_outbox.ts).
  /** Keeps text the user sent until the server confirms it. `resend`: sent again after a reconnect
   * (the full-screen client's outbox); scripted sends report failure instead and are never resent. */
  addPending(p: outbox.PendingMessage, resend = true): void {
    outbox.addPending(this.db, this.#sealer, p, resend);
  }

  /** The outbox entry `mid`, if it is still there. */
  pending(mid: string): outbox.PendingMessage | undefined {
    return outbox.pending(this.db, this.#sealer, mid);
  }

  /** The outbox entry `mid` while it waits to be sent again (one of `pendingAll`, read alone). */
  waitingOne(mid: string): outbox.PendingMessage | undefined {
    return outbox.waitingOne(this.db, this.#sealer, mid);
  }

  /** Every unconfirmed message to send again, in the order they were written (failed ones not). */
  pendingAll(): outbox.PendingMessage[] {
    return outbox.pendingAll(this.db, this.#sealer);
  }

  /** How many unconfirmed messages wait to be sent again (counted, not opened). */
  pendingCount(): number {
    return outbox.pendingCount(this.db);
  }

  /** The full-screen client's outbox as `/outbox` lists it: waiting and failed entries, in order. */
  outbox(): OutboxEntry[] {
    return outbox.outboxEntries(this.db, this.#sealer);
  }

  /** Marks an entry as one the server can never take: kept (listed, removable), never sent again. */
  markFailed(mid: string, why: string): void {
    outbox.markFailed(this.db, mid, why);
  }

  /** The connection dropped while entry `mid` was being sent: returns how many times that happened in a row. */
  noteDrop(mid: string): number {
    return outbox.noteDrop(this.db, mid);
  }

  /** Removes outbox entry number `n` (`/outbox drop N`); returns it, or null when there is none. */
  dropOutbox(n: number): OutboxEntry | null {
    return outbox.dropOutbox(this.db, this.#sealer, n);
  }

  /** The server confirmed `m` (same mid): it moves from the outbox into the history. */
  confirm(m: ChatMessage): void {
    LocalStore.tx(this.db, () => {
      this.db.prepare("DELETE FROM outbox WHERE mid = ?").run(m.mid);
      this.insert([m], true);
    });
  }

  /** Drops an outbox entry the user was told failed. */
  dropPending(mid: string): void {
    outbox.dropPending(this.db, mid);
  }

  /** Closes the database (idempotent). */
  close(): void {
    this.#watchers.clear();
    this.#stopWatch();
    if (this.db.isOpen) this.db.close();
  }
}
