/**
 * Peer mode's local database (a file named by rule 2): the `LocalStore` of client mode (history and
 * outbox, in `<home>/<user>@peer.db`) plus one table of JSON values in the same SQLite file that is
 * both the `CryptoStateStore` of the identity, prekeys and ratchets (DmManager's keys) and the peer
 * records ("peer:<name>": pinned identity, pending changed key, verified, redial address). Strangers
 * (first contacts not accepted yet) are records in memory only: they never reach the file.
 *
 * Two more tables for message changes (issue 39, peer/conv.ts): `peer_out`, the changes and settings
 * written to a peer and not acknowledged yet (the texts wait in LocalStore's outbox), and `peer_seen`,
 * the ids of the changes taken from each peer (one re-sent after a lost ack applies once).
 *
 * `openPeerStore(null, …)` keeps everything in memory (`--ephemeral`): no file is created.
 * `saveReceived` and `withWrites` commit what a decrypted message brings together with the ratchet
 * writes that opened it (one transaction), so a crash never keeps one without the other. There is no password in peer mode,
 * so nothing is sealed at rest: the file is 0600 in the 0700 client folder (LocalStore, home_dir).
 */
import type { DatabaseSync } from "node:sqlite";
import type { PublicIdentity } from "../../crypto/identity.ts";
import type { KeyCandidates } from "../../crypto/pending_keys.ts";
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import type { ChatMessage } from "../backend.ts";
import { ensureHome } from "../session/home_dir.ts";
import { LocalStore } from "../session/local_store.ts";

/** What a node remembers of a peer (`others`, `shown`: lib/crypto/pending_keys.ts). */
export interface PeerRecord extends KeyCandidates {
  name: string;
  identity: PublicIdentity;
  /** a different key the peer presented, refused until /trust or /verify */
  pending?: PublicIdentity;
  verified: boolean;
  /** "host:port" to redial: one the user dialled, a verified peer's or one a verified peer introduced */
  addr?: string;
  /** a first contact that reached me, not accepted yet: kept in memory only (peer_keys.ts) */
  stranger?: true;
}

export class PeerStore implements CryptoStateStore {
  readonly db: DatabaseSync;
  /** Strangers (first contacts not accepted), oldest first: never written to the file. */
  readonly #strangers = new Map<string, PeerRecord>();
  private constructor(readonly local: LocalStore, readonly path: string | null) {
    this.db = local.db;
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS peer_kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
       CREATE TABLE IF NOT EXISTS peer_out (
         n INTEGER PRIMARY KEY AUTOINCREMENT, mid TEXT NOT NULL UNIQUE, peer TEXT NOT NULL,
         ts INTEGER NOT NULL, body TEXT NOT NULL);
       CREATE TABLE IF NOT EXISTS peer_seen (peer TEXT NOT NULL, mid TEXT NOT NULL, PRIMARY KEY (peer, mid))
         WITHOUT ROWID;`,
    );
  }

  static async open(home: string | null, user: string): Promise<PeerStore> {
    if (home === null) return new PeerStore(new LocalStore(":memory:"), null);
    await ensureHome(home);
    const path = LocalStore.pathFor(home, user, "peer");
    return new PeerStore(new LocalStore(path), path);
  }

  get(key: string): unknown {
    const r = this.db.prepare("SELECT v FROM peer_kv WHERE k = ?").get(key) as { v: string } | undefined;
    return r ? JSON.parse(r.v) : undefined;
  }

  commit(w: StoreWrites): void {
    LocalStore.tx(this.db, () => this.#apply(w));
  }

  #apply(w: StoreWrites): void {
    const put = this.db.prepare("INSERT OR REPLACE INTO peer_kv (k, v) VALUES (?, ?)");
    for (const [k, v] of Object.entries(w.put)) put.run(k, JSON.stringify(v));
    const del = this.db.prepare("DELETE FROM peer_kv WHERE k = ?");
    for (const k of w.del) del.run(k);
  }

  peer(name: string): PeerRecord | undefined {
    return this.#strangers.get(name) ?? this.get(`peer:${name}`) as PeerRecord | undefined;
  }

  /** A stranger stays in memory; any other record is written (and is no stranger any more). */
  putPeer(p: PeerRecord): void {
    if (p.stranger) return void this.#strangers.set(p.name, p);
    this.#strangers.delete(p.name);
    this.commit({ put: { [`peer:${p.name}`]: p }, del: [] });
  }

  /** Strangers waiting, the oldest first. */
  strangers(): PeerRecord[] {
    return [...this.#strangers.values()];
  }

  forgetStranger(name: string): void {
    this.#strangers.delete(name);
  }

  peers(): PeerRecord[] {
    const rows = this.db.prepare("SELECT v FROM peer_kv WHERE k LIKE 'peer:%' ORDER BY k").all() as {
      v: string;
    }[];
    const all = [...rows.map((r) => JSON.parse(r.v) as PeerRecord), ...this.#strangers.values()];
    return all.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** The next free sequence number of the history (peer mode numbers its messages itself). */
  nextSeq(): number {
    const r = this.db.prepare("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM messages").get() as { n: number };
    return Number(r.n);
  }

  /** Saves a decrypted message and the crypto writes that opened it, atomically; null if already saved. */
  saveReceived(m: Omit<ChatMessage, "seq">, writes: StoreWrites): ChatMessage | null {
    return this.withWrites(writes, () => {
      if (this.local.byMid(m.from, m.mid)) return null;
      const saved = { ...m, seq: this.nextSeq() };
      this.local.insert([saved], false);
      return saved;
    });
  }

  /** Runs `fn` (history changes) in one transaction with the crypto writes `writes`. */
  withWrites<T>(writes: StoreWrites, fn: () => T): T {
    return LocalStore.tx(this.db, () => {
      this.#apply(writes);
      return fn();
    });
  }

  /** Queues the payload `body` (JSON) of a change or setting `mid` for `peer` (inside a transaction or not). */
  queue(peer: string, mid: string, ts: number, body: string): void {
    this.db.prepare("INSERT OR IGNORE INTO peer_out (mid, peer, ts, body) VALUES (?, ?, ?, ?)").run(
      mid,
      peer,
      ts,
      body,
    );
  }

  /** The changes and settings that wait for `peer`, oldest first. */
  queued(peer: string): { mid: string; ts: number; body: string }[] {
    const rows = this.db.prepare("SELECT mid, ts, body FROM peer_out WHERE peer = ? ORDER BY n").all(peer);
    return rows.map((r) => ({ mid: String(r.mid), ts: Number(r.ts), body: String(r.body) }));
  }

  /** Drops the edits of message `ref` still queued for `peer` (it is deleted: its texts go nowhere now). */
  dropQueuedEdits(peer: string, ref: string): void {
    this.db.prepare(
      `DELETE FROM peer_out WHERE peer = ? AND json_extract(body, '$.k') = 'edit'
         AND json_extract(body, '$.ref') = ?`,
    ).run(peer, ref);
  }

  /** `peer` acknowledged change `mid`: it leaves the queue (true when it was there). */
  unqueue(peer: string, mid: string): boolean {
    return Number(this.db.prepare("DELETE FROM peer_out WHERE mid = ? AND peer = ?").run(mid, peer).changes) >
      0;
  }

  /**
   * Records change `mid` of `peer` as taken (inside the caller's transaction); false when it was
   * taken before (a copy re-sent after a lost acknowledgement: nothing to do again).
   */
  takeOnce(peer: string, mid: string): boolean {
    const r = this.db.prepare("INSERT OR IGNORE INTO peer_seen (peer, mid) VALUES (?, ?)").run(peer, mid);
    return Number(r.changes) > 0;
  }

  /** The peer confirmed one of my messages: it moves from the outbox into the history. */
  confirmSent(m: Omit<ChatMessage, "seq">): void {
    LocalStore.tx(this.db, () => {
      if (!this.local.byMid(m.from, m.mid)) this.local.confirm({ ...m, seq: this.nextSeq() });
      else this.local.dropPending(m.mid);
    });
  }

  close(): void {
    this.local.close();
  }
}
