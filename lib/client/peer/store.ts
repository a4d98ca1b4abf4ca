/**
 * Peer mode's local database (a file named by rule 2): the `LocalStore` of client mode (history and
 * outbox, in `<home>/<user>@peer.db`) plus one table of JSON values in the same SQLite file that is
 * both the `CryptoStateStore` of the identity, prekeys and ratchets (DmManager's keys) and the peer
 * records ("peer:<name>": pinned identity, pending changed key, verified, redial address). A peer's
 * record is its one key record: DmManager's contact ("contact:<name>", lib/crypto/dm.ts) is read and
 * written through it (`get`, `commit`; an earlier version's contact values go at open), so pins, a
 * changed key kept waiting, /trust and /verify are client mode's (e2e/keys.ts `contactBook`).
 * Strangers (first contacts not accepted yet) are records in memory only: they never reach the file.
 *
 * One more table for message changes (issue 39, taken by peer/codec.ts's ledger; the changes and
 * settings written to a peer wait in LocalStore's outbox with the texts — an earlier version's
 * `peer_out` queue moves there at open): `peer_seen`, the ids of the changes taken from each peer (one
 * re-sent after a lost ack applies once) with the time the peer sent each (`ts`) and the time it was
 * taken here (`at`). `peer_seen` is bounded: per peer, ids taken more than `seenAgeMs` ago go, and past
 * `seenMax` the oldest go; the newest `ts` pruned becomes the peer's horizon ("horizon:<peer>" in the
 * JSON table, beside DmManager's replay ids "seen:<peer>": an earlier version wrote it, as NaN, over
 * them, which goes at open), and a change sent at or before it is refused (`takeOnce` answers "stale"): one
 * pruned cannot apply again. A peer writes its changes oldest first (core/kept_sends.ts, a lane per
 * peer), so a new change is always past its horizon.
 *
 * `PeerStore.open(null, …)` keeps everything in memory (`--ephemeral`): no file is created.
 * `withWrites` commits what a decrypted message brings together with the ratchet writes that
 * opened it (one transaction), so a crash never keeps one without the other. There is no password in peer mode,
 * so nothing is sealed at rest: the file is 0600 in the 0700 client folder (LocalStore, home_dir).
 */
import type { DatabaseSync } from "node:sqlite";
import { type Clock, systemClock } from "../../common/clock.ts";
import type { ContactRecord } from "../../crypto/dm.ts";
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import type { ChatMessage } from "../backend.ts";
import { ensureHome } from "../session/home_dir.ts";
import { LocalStore } from "../session/local_store.ts";

/** How many change ids are kept per peer (the oldest go first past it). */
export const SEEN_MAX = 10_000;
/** How long a change id is kept after it was taken (ms): 30 days. */
export const SEEN_AGE_MS = 30 * 86_400_000;

/** Bounds of `peer_seen` (tests make them small); `clock` dates the ids of an earlier version's file. */
export interface SeenBounds {
  seenMax?: number;
  seenAgeMs?: number;
  clock?: Clock;
}

/** What `takeOnce` found: a new change, one taken before, or one older than the peer's horizon. */
export type Taken = "new" | "again" | "stale";

/**
 * What a node remembers of a peer: its keys, DmManager's contact (`pending`: a different key the peer
 * presented, refused until /trust or /verify; `others`, `shown`: lib/crypto/pending_keys.ts), and
 * what only peer mode knows.
 */
export interface PeerRecord extends ContactRecord {
  name: string;
  /** "host:port" to redial: one the user dialled, a verified peer's or one a verified peer introduced */
  addr?: string;
  /** a first contact that reached me, not accepted yet: kept in memory only (keys.ts) */
  stranger?: true;
}

/** DmManager's key of a contact: here, the keys of the peer record of that name. */
const CONTACT = "contact:";

/** The keys of `rec`: DmManager's contact. */
function keysOf(rec: PeerRecord): ContactRecord {
  const { name: _n, addr: _a, stranger: _s, ...keys } = rec;
  return keys;
}

/** `rec` (its name, address, stranger mark) with the keys of contact `c`. */
function withKeys(
  { name, addr, stranger }: Pick<PeerRecord, "name" | "addr" | "stranger">,
  c: ContactRecord,
) {
  return { ...c, name, ...(addr ? { addr } : {}), ...(stranger ? { stranger } : {}) };
}

export class PeerStore implements CryptoStateStore {
  readonly db: DatabaseSync;
  /** Strangers (first contacts not accepted), oldest first: never written to the file. */
  readonly #strangers = new Map<string, PeerRecord>();
  readonly #seenMax: number;
  readonly #seenAgeMs: number;
  private constructor(readonly local: LocalStore, readonly path: string | null, o: SeenBounds) {
    this.db = local.db;
    this.#seenMax = o.seenMax ?? SEEN_MAX;
    this.#seenAgeMs = o.seenAgeMs ?? SEEN_AGE_MS;
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS peer_kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
       CREATE TABLE IF NOT EXISTS peer_seen (peer TEXT NOT NULL, mid TEXT NOT NULL, PRIMARY KEY (peer, mid))
         WITHOUT ROWID;`,
    );
    const cols = this.db.prepare("PRAGMA table_info(peer_seen)").all().map((r) => String(r.name));
    if (!cols.includes("ts")) {
      // A file of an earlier version: its ids count as sent and taken now (pruned in SEEN_AGE_MS).
      const now = (o.clock ?? systemClock).now();
      this.db.exec(
        `ALTER TABLE peer_seen ADD COLUMN ts INTEGER NOT NULL DEFAULT ${now};
         ALTER TABLE peer_seen ADD COLUMN at INTEGER NOT NULL DEFAULT ${now};`,
      );
    }
    this.db.exec("CREATE INDEX IF NOT EXISTS peer_seen_ts ON peer_seen (peer, ts)");
    this.#moveQueue();
    this.#dropHorizons();
    // An earlier version kept DmManager's contacts beside the records, the same keys twice: they go.
    const contacts = this.db.prepare("SELECT 1 FROM peer_kv WHERE k LIKE 'contact:%' LIMIT 1").get();
    if (contacts) this.db.exec("DELETE FROM peer_kv WHERE k LIKE 'contact:%'");
  }

  /** What an earlier version wrote over DmManager's replay ids as a horizon ("seen:<peer>": null, NaN) goes. */
  #dropHorizons(): void {
    for (const r of this.db.prepare("SELECT k, v FROM peer_kv WHERE k LIKE 'seen:%'").all()) {
      if (!Array.isArray(JSON.parse(String(r.v)))) this.commit({ put: {}, del: [String(r.k)] });
    }
  }

  /**
   * An earlier version's queue of changes (`peer_out`) moves into the outbox, in its order, once; so
   * do the disappearing times it kept beside its texts ("ttl:MID" values), into their entries.
   */
  #moveQueue(): void {
    const ttls = this.db.prepare("SELECT k, v FROM peer_kv WHERE k LIKE 'ttl:%'").all();
    if (ttls.length) {
      LocalStore.tx(this.db, () => {
        const set = this.db.prepare("UPDATE outbox SET ttl = ? WHERE mid = ?"); // the outbox's own column
        for (const r of ttls) set.run(Number(JSON.parse(String(r.v))), String(r.k).slice(4));
        this.db.exec("DELETE FROM peer_kv WHERE k LIKE 'ttl:%'");
      });
    }
    const old = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'peer_out'")
      .get();
    if (!old) return;
    LocalStore.tx(this.db, () => {
      for (const r of this.db.prepare("SELECT mid, peer, ts, body FROM peer_out ORDER BY n").all()) {
        const to = { kind: "user" as const, name: String(r.peer) };
        this.local.addPending({
          mid: String(r.mid),
          ts: Number(r.ts),
          to,
          text: String(r.body),
          change: true,
        });
      }
      this.db.exec("DROP TABLE peer_out");
    });
  }

  static async open(home: string | null, user: string, o: SeenBounds = {}): Promise<PeerStore> {
    if (home === null) return new PeerStore(new LocalStore(":memory:"), null, o);
    await ensureHome(home);
    const path = LocalStore.pathFor(home, user, "peer");
    return new PeerStore(new LocalStore(path), path, o);
  }

  /** The value at `key`; "contact:<name>" is the keys of `name`'s record. */
  get(key: string): unknown {
    if (key.startsWith(CONTACT)) {
      const rec = this.peer(key.slice(CONTACT.length));
      return rec && keysOf(rec);
    }
    const r = this.db.prepare("SELECT v FROM peer_kv WHERE k = ?").get(key) as { v: string } | undefined;
    return r ? JSON.parse(r.v) : undefined;
  }

  commit(w: StoreWrites): void {
    this.withWrites(w, () => {});
  }

  /** `w` as the table's writes, a contact's put as its record's (a name without one: a stranger's), and the strangers. */
  #records(w: StoreWrites): { rows: StoreWrites; strangers: PeerRecord[] } {
    const rows: StoreWrites = { put: {}, del: w.del }, strangers: PeerRecord[] = [];
    for (const [k, v] of Object.entries(w.put)) {
      if (!k.startsWith(CONTACT)) rows.put[k] = v;
      else {
        const name = k.slice(CONTACT.length);
        const rec = withKeys(this.peer(name) ?? { name, stranger: true }, v as ContactRecord);
        if (rec.stranger) strangers.push(rec);
        else rows.put[`peer:${name}`] = rec;
      }
    }
    return { rows, strangers };
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

  /** Runs `fn` (history changes) in one transaction with the crypto writes `writes`. */
  withWrites<T>(writes: StoreWrites, fn: () => T): T {
    const { rows, strangers } = this.#records(writes);
    const r = LocalStore.tx(this.db, () => {
      this.#apply(rows);
      return fn();
    });
    for (const rec of strangers) this.#strangers.set(rec.name, rec); // once the rest committed
    return r;
  }

  /**
   * Records change `mid` of `peer`, sent at `ts`, as taken at `now` (inside the caller's
   * transaction): "again" when it was taken before (a copy re-sent after a lost acknowledgement:
   * nothing to do again), "stale" when it was sent at or before the peer's horizon (it may have been
   * taken and pruned since: refused), else "new". The peer's ids past the bounds are pruned.
   */
  takeOnce(peer: string, mid: string, ts: number, now: number): Taken {
    if (this.db.prepare("SELECT 1 FROM peer_seen WHERE peer = ? AND mid = ?").get(peer, mid)) return "again";
    if (ts <= this.seenHorizon(peer)) return "stale";
    this.db.prepare("INSERT INTO peer_seen (peer, mid, ts, at) VALUES (?, ?, ?, ?)").run(peer, mid, ts, now);
    this.#prune(peer, now);
    return "new";
  }

  /** The newest send time of a change of `peer`'s pruned from `peer_seen` (0: none pruned). */
  seenHorizon(peer: string): number {
    return Number(this.get(`horizon:${peer}`) ?? 0);
  }

  /** How many change ids of `peer` are kept. */
  seenCount(peer: string): number {
    return Number(this.db.prepare("SELECT COUNT(*) AS n FROM peer_seen WHERE peer = ?").get(peer)!.n);
  }

  /** Drops `peer`'s ids taken before the age bound and the oldest past the count bound; raises its horizon. */
  #prune(peer: string, now: number): void {
    const aged = this.db.prepare(
      "SELECT COUNT(*) AS n, MAX(ts) AS h FROM peer_seen WHERE peer = ? AND at < ?",
    )
      .get(peer, now - this.#seenAgeMs)!;
    let h = aged.h === null ? 0 : Number(aged.h);
    const over = this.seenCount(peer) - this.#seenMax;
    if (over > 0) {
      const r = this.db.prepare("SELECT ts FROM peer_seen WHERE peer = ? ORDER BY ts LIMIT 1 OFFSET ?")
        .get(peer, over - 1)!;
      h = Math.max(h, Number(r.ts));
    }
    if (!Number(aged.n) && over <= 0) return;
    const horizon = Math.max(h, this.seenHorizon(peer));
    this.db.prepare("DELETE FROM peer_seen WHERE peer = ? AND (ts <= ? OR at < ?)")
      .run(peer, horizon, now - this.#seenAgeMs);
    this.#apply({ put: { [`horizon:${peer}`]: horizon }, del: [] });
  }

  /**
   * `m` numbered as the history's next (peer mode numbers its messages itself), or null when the
   * history holds it already (by sender and id): each message is saved once, received or sent.
   */
  place(m: ChatMessage): ChatMessage | null {
    return this.local.byMid(m.from, m.mid) ? null : { ...m, seq: this.nextSeq() };
  }

  close(): void {
    this.local.close();
  }
}
