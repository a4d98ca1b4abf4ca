/**
 * One node of several (issue 16): joins the Hub to the `Bus`. Messages: the store is the truth and
 * assigns seqs in commit order, so this node keeps a cursor over the log and fans out every message,
 * its own included, in seq order. Which node reads what (issue 74 item 7): a node's `msg` event carries
 * the rows it stored (a batch of bodies up to CARRY_BYTES), so the others fan them out without reading
 * them back; rows that come ahead of a missing seq wait (`#ahead`) for the event that fills the gap.
 * The store is read only to fill a gap still open GAP_MS later, after a larger batch (an event without
 * rows), and on a heartbeat after one without rows (a last event lost, an outage). While a live node
 * speaks an older bus protocol (its store heartbeat says, bus_event.ts BUS_PROTOCOL: 0.21 refuses rows),
 * events go without rows, in the shape it takes: a rolling upgrade at full speed. Once every live node
 * speaks protocol 4, a batch's event goes to each other node alone with only the rows for its users
 * (cluster_route.ts: the rest are seqs to step over, or to read from the store when a user came to
 * it since the sender last heard its `route` event). Presence: every node publishes its logged-in users on each heartbeat; a node not heard
 * from within the timeout is gone and its users go offline — unless its heartbeat in the store is
 * fresh (`liveNodes`, issue 74): a bus blip keeps its users as last heard. Kicks, role changes, room changes, new
 * names and announcements are relayed as events; a role event makes this node read the role from the
 * store, never take it from the event; a device event drops the user's device rows this node holds
 * (the store reads them again). Controls (kicks and bans, role changes, device changes) are also
 * written to the store (`controls`, issue 74) and every node applies the others' on its heartbeat,
 * from the last one applied: the bus only makes them fast, a lost or stale event still lands (a
 * kick then closes only sessions logged in before it was sent). Relayed files: `files` (file_share.ts) hears the `file` events;
 * `certs` (cert_check.ts) the `cert` ones.
 * No I/O of its own besides the bus and the store.
 */
import type { Clock } from "../common/clock.ts";
import type { Outbound } from "../protocol/messages.ts";
import type { Bus, BusEvent, PresenceEntry } from "./bus/bus.ts";
import { BUS_PROTOCOL, type BusRow } from "./bus/bus_event.ts";
import { fromBase64, toBase64 } from "../common/bytes.ts";
import { Routes, shareOf } from "./cluster_route.ts";
import type { Core } from "./core.ts";
import type { CertCheck } from "./cert_check.ts";
import type { FileShare } from "./file_share.ts";
import { linkEvent } from "./handlers_link.ts";
import type { Session } from "./session.ts";
import type { NewMessage, StoredMessage } from "./store/store.ts";

const PAGE = 500;
/** A `msg` event carries its batch's rows when their bodies total at most this many bytes. */
export const CARRY_BYTES = 256 * 1024;
/** A gap before rows heard on the bus is filled from the store when still open this long after. */
const GAP_MS = 50;
/** Rows held ahead of a gap at most (beyond, they are dropped: the catch-up reads them). */
const AHEAD_MAX = 20_000;

/** Whether a `msg` event carries these rows (their bodies total at most CARRY_BYTES). */
function fits(rows: readonly StoredMessage[]): boolean {
  let bytes = 0;
  for (const r of rows) bytes += r.body.length;
  return bytes <= CARRY_BYTES;
}

/** Rows as a `msg` event of bus protocol 2 carries them; none when their bodies are too large to carry. */
function carried(rows: readonly StoredMessage[]): BusRow[] | undefined {
  if (!fits(rows)) return undefined;
  return rows.map((r) => {
    const w: BusRow = {
      seq: r.seq,
      mid: r.mid,
      sender: r.sender,
      kind: r.kind,
      target: r.target,
      conv: r.conv,
      ts: r.ts,
      body: toBase64(r.body),
    };
    if (r.expires != null) w.expires = r.expires;
    return w;
  });
}

const NO_BODY = new Uint8Array(0);

/** Seqs `seq`…`skipTo` of a batch stored elsewhere, none for this node's users as of route epoch `ep`. */
interface Skip {
  seq: number;
  skipTo: number;
  ep: number;
}
/** The bus protocol from which `msg` events are routed (bus_event.ts BUS_PROTOCOL 4). */
const ROUTED = 4;

export interface ClusterOptions {
  heartbeatMs?: number;
  /** A node not heard from for this long is gone (its users go offline). */
  presenceTimeoutMs?: number;
  /**
   * The other nodes whose heartbeat in the store is within `withinMs` of `now`, each with the bus
   * protocol its heartbeat names (launch_open.ts: the PostgreSQL `nodes` rows, one read a tick). A node
   * silent on the bus but alive there keeps its users' presence; a live node of an older protocol
   * gets `msg` events in its shape.
   */
  liveNodes?: (now: number, withinMs: number) => Promise<Map<string, number>>;
  /** Where controls are kept for every node to apply (server.ts: PostgreSQL's `controls` table). */
  controls?: ControlLog;
}

/** The store's log of controls (postgres_store.ts `putControl`, `controlsSince`, `lastControl`). */
export interface ControlLog {
  put(origin: string, at: number, event: string): Promise<void>;
  since(after: number, limit: number): Promise<{ id: number; at: number; origin: string; event: string }[]>;
  last(): Promise<number>;
}

/** The bus events that are controls: kept in the store too, applied by every node. */
const CONTROLS: ReadonlySet<string> = new Set(["kick", "role", "devices"]);

export class Cluster {
  #cursor = 0;
  /**
   * Messages stored by this node and not fanned out yet: sender → mid → the sending session. By
   * sender, then mid, not one joined string: a row of another node's user costs one lookup of a name
   * (a joined key was built and hashed for every row, ~2 µs, issue 73).
   */
  readonly #local = new Map<string, Map<string, Session | null>>();
  readonly #remote = new Map<string, { users: PresenceEntry[]; seen: number }>();
  #catching: Promise<void> | null = null;
  #again = false;
  /** Rows heard or stored past the cursor, waiting for the seqs before them. */
  readonly #ahead = new Map<number, StoredMessage | BusRow | Skip>();
  /** Who holds which users (their `route` events), and this node's route epoch. */
  readonly #routes = new Routes();
  #gapTimer: ReturnType<typeof setTimeout> | null = null;
  /** Rows came (bus or here) since the last heartbeat: a lost event shows as a gap, no need to read. */
  #heard = false;
  /** The last catch-up failed (the store out of reach): the next is the heartbeat's. */
  #readFailed = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  #presenceSoon: ReturnType<typeof setTimeout> | null = null;
  readonly #heartbeatMs: number;
  readonly #timeoutMs: number;
  readonly #liveNodes: ClusterOptions["liveNodes"];
  /** Nodes alive by their store heartbeat at the last look (each tick looks again). */
  #alive = new Set<string>();
  #looking = false;
  /** Live nodes speaking an older bus protocol (store heartbeats, each tick): `msg` events go in their shape. */
  #older: string[] = [];
  /** The oldest bus protocol of the live nodes (this one's when none is older): the shape `msg` events take. */
  #floor = BUS_PROTOCOL;
  readonly #controls: ControlLog | undefined;
  /** The last control applied from the store; null while a look is under way. */
  #controlCursor: number | null = 0;
  /** Relayed files across the nodes (set before `start`). */
  files: FileShare | null = null;
  /** One certificate on every node (set before `start`). */
  certs: CertCheck | null = null;

  constructor(readonly core: Core, readonly bus: Bus, readonly clock: Clock, o: ClusterOptions = {}) {
    this.#heartbeatMs = o.heartbeatMs ?? 1000;
    this.#timeoutMs = o.presenceTimeoutMs ?? 3500;
    this.#liveNodes = o.liveNodes;
    this.#controls = o.controls;
  }

  get node(): string {
    return this.bus.node;
  }

  async start(): Promise<void> {
    this.#cursor = await this.core.store.lastSeq();
    // An older node already running hears the first event in its shape (liveness waits for the first tick).
    const live = await this.#liveNodes?.(this.clock.now(), this.#timeoutMs).catch(() => null);
    if (live) this.#noteProtocols(live);
    this.#controlCursor = (await this.#controls?.last()) ?? 0;
    this.bus.subscribe((from, e) => this.#on(from, e));
    this.core.hub.link = this;
    // Device rows held in memory on the other nodes are dropped as soon as they change here.
    this.core.store.devicesChanged = (user) => this.publish({ t: "devices", user });
    this.#timer = setInterval(() => this.#tick(), this.#heartbeatMs);
    this.#publishPresence();
    this.certs?.start();
    await this.files?.start();
  }

  publish(e: BusEvent): void {
    this.bus.publish(e);
    if (!this.#controls || !CONTROLS.has(e.t)) return;
    this.#controls.put(this.node, this.clock.now(), JSON.stringify(e)).catch((err) =>
      this.core.log.warn("cluster.control", { event: e.t, error: String(err), hint: "sent on the bus only" })
    );
  }

  /** Applies the other nodes' controls stored since the last one applied (each heartbeat; one look at a time). */
  async #applyControls(): Promise<void> {
    const from = this.#controlCursor;
    if (!this.#controls || from === null) return;
    this.#controlCursor = null;
    let last = from;
    try {
      for (const r of await this.#controls.since(from, PAGE)) {
        last = r.id;
        if (r.origin === this.node) continue;
        const e = JSON.parse(r.event) as BusEvent;
        if (e.t === "kick") this.#kick(e, r.at);
        else if (CONTROLS.has(e.t)) this.#on(r.origin, e);
      }
    } catch (err) {
      this.core.log.warn("cluster.controls", { error: String(err) });
    } finally {
      this.#controlCursor = last;
    }
  }

  /** A kick: the user's sessions (of its device) closed; from the store, only those logged in before `at`. */
  #kick(e: Extract<BusEvent, { t: "kick" }>, at = Infinity): void {
    for (const s of [...this.core.hub.sessionsOf(e.user)]) {
      if ((e.device === undefined || s.device === e.device) && s.loginAt <= at) {
        s.bye(e.code, e.reason, e.until);
      }
    }
  }

  /** Messages about to be stored here, with their sending sessions (not sent their own message back). */
  beforeAppend(batch: readonly NewMessage[], from: readonly (Session | null)[]): void {
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i]!;
      let mids = this.#local.get(m.sender);
      if (!mids) this.#local.set(m.sender, mids = new Map());
      mids.set(m.mid, from[i] ?? null);
    }
  }

  /** The session that sent this node's row `m` (null: none, or another node's row), forgotten once taken. */
  #takeLocal(m: { sender: string; mid: string }): Session | null {
    const mids = this.#local.get(m.sender);
    if (!mids) return null;
    const from = mids.get(m.mid) ?? null;
    if (mids.delete(m.mid) && !mids.size) this.#local.delete(m.sender);
    return from;
  }

  /**
   * Every message, local or not, is fanned out here in seq order (a recipient acks cumulatively per
   * conversation, so a later seq must never overtake an earlier one): at once when nothing is missing
   * before it, else once the gap is filled (`#drain`). The event tells the other nodes, with the rows.
   */
  afterAppend(batch: readonly NewMessage[], rows: readonly (StoredMessage | null)[]): boolean {
    const stored: StoredMessage[] = [];
    rows.forEach((r, i) => {
      if (r) stored.push(r);
      else this.#takeLocal(batch[i]!); // a duplicate is not a new row of the log
    });
    if (!stored.length) return true;
    stored.sort((a, b) => a.seq - b.seq);
    this.#hold(stored);
    this.#tell(stored);
    return true;
  }

  /**
   * The other nodes told of stored rows, with the rows when they fit; a bus that takes neither (down,
   * or over its largest payload) never fails a stored batch: the others read it from the store.
   */
  #tell(rows: readonly StoredMessage[]): void {
    const seq = rows[rows.length - 1]!.seq;
    if (this.#routing) return this.#tellEach(rows, seq);
    try {
      // Rows binary (3), in JSON (2), or none — 1 refuses rows: every node reads them from the store then.
      if (this.#floor >= 3) return this.bus.publish({ t: "msg", seq, packed: fits(rows) ? rows : undefined });
      if (this.#floor === 2) return this.bus.publish({ t: "msg", seq, rows: carried(rows) });
    } catch { /* too large for the bus (NATS max_payload): without the rows */ }
    try {
      this.bus.publish({ t: "msg", seq });
    } catch (err) {
      this.core.log.warn("cluster.publish", { seq, error: String(err) });
    }
  }

  /** Routed `msg` events are sent (every live node speaks protocol 4, and the bus sends to one node). */
  get #routing(): boolean {
    return this.#floor >= ROUTED && this.bus.publishTo !== undefined;
  }

  /**
   * Each other node known (heard on the bus, or alive by the store) told alone, with the rows for its
   * users and the batch's other seqs to step over (cluster_route.ts); one not heard yet gets every
   * row, and one the bus cannot take them for reads them from the store.
   */
  #tellEach(rows: readonly StoredMessage[], seq: number): void {
    const all = fits(rows);
    for (const node of new Set([...this.#remote.keys(), ...this.#alive])) {
      const route = this.#routes.of(node);
      const share = route ? shareOf(rows, route.users) : undefined;
      try {
        if (!share) this.bus.publishTo!(node, { t: "msg", seq, packed: all ? rows : undefined });
        else if (fits(share.rows)) {
          this.bus.publishTo!(node, { t: "msg", seq, packed: share.rows, skip: share.skip, ep: route!.ep });
        } else this.bus.publishTo!(node, { t: "msg", seq });
        continue;
      } catch { /* too large for the bus (NATS max_payload): without the rows */ }
      try {
        this.bus.publishTo!(node, { t: "msg", seq });
      } catch (err) {
        this.core.log.warn("cluster.publish", { seq, node, error: String(err) });
      }
    }
  }

  /**
   * Rows past the cursor kept until the seqs before them are fanned out; then as many as follow. A
   * routed event's seqs left out are stepped over when this node's route epoch is still the one they
   * were judged by, else read from the store (a user came here since the sender heard of this node).
   */
  #hold(rows: readonly (StoredMessage | BusRow)[], skip?: readonly number[], ep?: number): void {
    this.#heard = true;
    for (const r of rows) if (r.seq > this.#cursor) this.#ahead.set(r.seq, r);
    if (skip?.length && ep !== this.#routes.ep) void this.catchUp();
    else if (skip) {
      for (let i = 0; i + 1 < skip.length; i += 2) {
        const seq = Math.max(skip[i]!, this.#cursor + 1), skipTo = skip[i + 1]!;
        if (skipTo >= seq) this.#ahead.set(seq, { seq, skipTo, ep: ep! });
      }
    }
    if (this.#ahead.size > AHEAD_MAX) this.#ahead.clear(); // the catch-up reads them from the store
    this.#drain();
  }

  /**
   * A held row as the store gives it, its body decoded only when a session here takes it (a DM to and
   * from users with none here: none); null when it is not base64 (a bug of its sender: the store says).
   */
  #opened(r: StoredMessage | BusRow): StoredMessage | null {
    if (typeof r.body !== "string") return r as StoredMessage;
    const users = this.core.hub.byUser;
    if (r.kind === "user" && !users.has(r.target) && !users.has(r.sender)) return { ...r, body: NO_BODY };
    try {
      return { ...r, body: fromBase64(r.body) };
    } catch (err) {
      this.core.log.warn("cluster.rows", { seq: r.seq, error: String(err) });
      return null;
    }
  }

  /** Fans out the held rows that follow the cursor; a gap left open is read from the store soon. */
  #drain(): void {
    if (this.#catching) return; // the catch-up drains when it ends
    for (let r = this.#ahead.get(this.#cursor + 1); r; r = this.#ahead.get(this.#cursor + 1)) {
      if ("skipTo" in r) {
        if (r.ep !== this.#routes.ep) break; // a user came since: the store says what was theirs
        this.#ahead.delete(r.seq);
        this.core.messages.knowStored(r.skipTo);
        this.#cursor = r.skipTo;
        continue;
      }
      if (r.kind === "room" && !this.core.hub.rooms.has(r.target)) break; // members unknown: the store says
      const m = this.#opened(r);
      if (!m) {
        this.#ahead.delete(r.seq); // read from the store instead
        break;
      }
      this.#ahead.delete(r.seq);
      this.#fanOut(m);
    }
    // A gap (or a row to read) left: from the store soon; after a failed read, on the heartbeat.
    if (this.#ahead.size && this.#gapTimer === null && !this.#readFailed) {
      this.#gapTimer = setTimeout(() => {
        this.#gapTimer = null;
        if (this.#ahead.size) void this.catchUp();
      }, this.#ahead.has(this.#cursor + 1) ? 0 : GAP_MS);
    }
  }

  #fanOut(r: StoredMessage): void {
    const from = this.#local.size ? this.#takeLocal(r) : null;
    this.core.messages.deliveries += this.core.hub.fanOut(r, from);
    this.core.messages.knowStored(r.seq);
    this.#cursor = r.seq;
  }

  /** This node's sessions came or went: tell the others soon (coalesced). */
  localChanged(): void {
    this.#presenceSoon ??= setTimeout(() => {
      this.#presenceSoon = null;
      this.#publishPresence();
    }, 0);
  }

  /** A user has a first session here (quiet or not): routed seqs judged before are read from the store. */
  userCame(): void {
    this.#routes.came();
    this.localChanged();
  }

  /** Live nodes that speak an older bus protocol (their `msg` events are sent in its shape). */
  get olderNodes(): readonly string[] {
    return this.#older;
  }

  /** The oldest bus protocol among the live nodes, this one's included: the shape of `msg` events. */
  get oldestProtocol(): number {
    return this.#floor;
  }

  /** Other nodes heard from recently. */
  get remoteNodes(): number {
    return this.#remote.size;
  }

  /** Users logged in on other nodes (latest heartbeat of each live node). */
  remotePresence(): PresenceEntry[] {
    const out: PresenceEntry[] = [];
    for (const [node, n] of this.#remote) for (const u of n.users) out.push({ ...u, node: u.node ?? node });
    return out;
  }

  #publishPresence(): void {
    this.bus.publish({ t: "presence", users: this.core.presence(true, true) });
    if (this.#routing) {
      this.bus.publish({ t: "route", ep: this.#routes.ep, users: [...this.core.hub.byUser.keys()] });
    }
  }

  #tick(): void {
    this.#publishPresence();
    const now = this.clock.now();
    for (const [node, n] of this.#remote) {
      if (now - n.seen > this.#timeoutMs && !this.#alive.has(node)) this.#setRemote(node, null);
    }
    void this.#lookAlive(now);
    void this.#applyControls();
    if (!this.#heard || this.#readFailed) void this.catchUp(); // a last event may have been lost
    this.#heard = false;
  }

  /**
   * Which nodes the store says are alive, and which of them speak an older bus protocol (a rolling
   * upgrade, said when that changes), in one read. A store that cannot say: no node is alive by it
   * (the bus alone decides), and the protocols stay as last seen.
   */
  async #lookAlive(now: number): Promise<void> {
    if (!this.#liveNodes || this.#looking) return;
    this.#looking = true;
    try {
      const live = await this.#liveNodes(now, this.#timeoutMs);
      this.#alive = new Set(live.keys());
      this.#noteProtocols(live);
    } catch {
      this.#alive = new Set();
    } finally {
      this.#looking = false;
    }
  }

  #noteProtocols(live: Map<string, number>): void {
    const older = [...live].filter(([, p]) => p < BUS_PROTOCOL).map(([id]) => id).sort();
    if (older.join() !== this.#older.join()) {
      this.core.log.info("cluster.protocol", {
        older: older.join(",") || "none",
        hint: older.length
          ? "nodes of an older version: messages travel in the shape the oldest takes (its rows in JSON, or none: read from the store) until every node is upgraded"
          : "every node speaks this version: messages travel with their rows",
      });
    }
    this.#older = older;
    this.#floor = Math.min(BUS_PROTOCOL, ...live.values());
  }

  /** Fans out every message after the cursor from the store (a gap, a lost event); one run at a time. */
  catchUp(): Promise<void> {
    if (this.#catching) {
      this.#again = true;
      return this.#catching;
    }
    this.#catching = (async () => {
      try {
        do {
          this.#again = false;
          for (;;) {
            const rows = await this.core.store.since(this.#cursor, PAGE);
            for (const r of rows) {
              if (r.kind === "room") await this.core.roomMembers(r.target); // the cache the fan-out reads
              this.#fanOut(r);
            }
            if (rows.length < PAGE) break;
          }
        } while (this.#again);
        this.#readFailed = false;
      } catch (e) {
        this.#readFailed = true;
        this.core.log.warn("cluster.catchup", { error: String(e) });
      } finally {
        this.#catching = null;
        for (const seq of this.#ahead.keys()) if (seq <= this.#cursor) this.#ahead.delete(seq);
        this.#drain();
      }
    })();
    return this.#catching;
  }

  #setRemote(node: string, users: PresenceEntry[] | null): void {
    const before = new Set(this.remotePresence().map((p) => p.user));
    if (users) this.#remote.set(node, { users, seen: this.clock.now() });
    else {
      this.#remote.delete(node);
      this.#routes.forget(node);
    }
    const after = new Map(this.remotePresence().map((p) => [p.user, p]));
    const hub = this.core.hub;
    for (const [u, p] of after) {
      if (!before.has(u) && !hub.visible(u)) {
        hub.presence({ user: u, online: true, status: p.status, since: p.since });
      }
    }
    for (const u of before) {
      if (!after.has(u) && !hub.visible(u)) hub.presence({ user: u, online: false });
    }
  }

  #on(from: string, e: BusEvent): void {
    const hub = this.core.hub;
    switch (e.t) {
      case "msg":
        if (e.packed) this.#hold(e.packed, e.skip, e.ep);
        else if (e.rows) this.#hold(e.rows);
        else if (e.seq > this.#cursor) void this.catchUp();
        break;
      case "kick":
        this.#kick(e);
        break;
      case "status":
        for (const s of hub.sessionsOf(e.user)) s.status = e.status;
        hub.presence({ user: e.user, online: true, status: e.status, since: e.since });
        break;
      case "presence":
        this.#setRemote(from, e.stopping ? null : e.users);
        break;
      case "role":
        void this.#roleChanged(e);
        break;
      case "room":
        hub.rooms.delete(e.room);
        hub.toUsers(e.users, e.h);
        break;
      case "push":
        if (e.users) hub.toUsers(e.users, e.h);
        else hub.toAll(e.h);
        break;
      case "user":
        hub.users.add(e.user);
        break;
      case "route":
        this.#routes.heard(from, e.ep, e.users);
        break;
      case "devices":
        this.core.store.forgetDevices?.(e.user);
        break;
      case "link":
        linkEvent(this.core, from, e);
        break;
      case "stream":
        hub.streamEvents?.(from, e);
        break;
      case "file":
        void this.files?.on(from, e);
        break;
      case "cert":
        this.certs?.on(from, e);
        break;
    }
  }

  /**
   * A role event only says "read it again": the role comes from the store, never from the event (a
   * forged or stale event changes nothing); the note is shown only when the store agrees with it.
   */
  async #roleChanged(e: Extract<BusEvent, { t: "role" }>): Promise<void> {
    let role: string | undefined;
    try {
      role = (await this.core.store.getUser(e.user))?.role;
    } catch (err) {
      return this.core.log.warn("cluster.role", { user: e.user, error: String(err) });
    }
    if (role !== "admin" && role !== "user") return;
    for (const s of this.core.hub.sessionsOf(e.user)) {
      if (s.role === role) continue;
      s.role = role;
      s.send({ t: "role", role });
      if (role === e.role) s.send({ t: "notice", level: "info", text: e.note });
    }
  }

  /** Relays a push to the sessions of `users` on the other nodes (all live sessions without users). */
  push(h: Outbound, users?: string[]): void {
    this.bus.publish(users ? { t: "push", users, h } : { t: "push", h });
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#presenceSoon !== null) clearTimeout(this.#presenceSoon);
    if (this.#gapTimer !== null) clearTimeout(this.#gapTimer);
    this.#timer = this.#presenceSoon = this.#gapTimer = null;
    this.bus.publish({ t: "presence", users: [], stopping: true });
    if (this.core.hub.link === this) this.core.hub.link = null;
    this.core.store.devicesChanged = null;
    await this.#catching;
    await this.files?.close();
    await this.bus.close();
  }
}
