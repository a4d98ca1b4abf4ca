/**
 * A peer-mode node: chat with no server. It listens (lib/net/peer_net.ts), dials peers by address, and keeps
 * one authenticated channel per peer (links.ts); a peer is known by the name it claims in the handshake and
 * pinned to the identity key it proved (trust on first use). A different key under a known name is flagged
 * (`key-changed`), its channel refused, until `trust` or `verify`. A first contact that dialled me is a
 * stranger (keys.ts): kept in memory only, capped, never redialled, until the user accepts it; only a
 * verified peer's own word changes the address a node redials.
 *
 * The conversation is client mode's core: `client`, a core/chat_client.ts `ChatClient` over the node's
 * `PeerSession` (session.ts), its folder the node's store and its codec peer/codec.ts (the Double Ratchet
 * sessions of client mode, DmManager over the node's PeerStore). Both sides send their signed prekey bundle
 * in the first record (wire.ts), the first to write runs X3DH from it, and the sessions live in the store,
 * so they resume after restarts. Each message from a peer walks the core's receive path (core/receiving.ts,
 * core/engine.ts) as a relayed one does; what the user writes — texts, replies, edits, deletions,
 * reactions, disappearing times (issue 39), client mode's payloads under client mode's rules — goes to the
 * core's outbox first and leaves on the peer's lane (core/kept_sends.ts) when it is connected, through the
 * node's `Link` (peer/channel_link.ts: every `msg` out and in, and acks); the peer's ack takes it out.
 * What a peer sends is received by client mode's history applier (e2e/apply.ts, over the node's
 * ledger: peer/codec.ts). The node's own events (a peer coming and going, a changed key, typing, files:
 * events.ts) are its core's, told to it once (`notify`); its listeners (`on`) are the core's.
 * A dropped peer is dialled again at its last known address with back-off (redial.ts);
 * known peers are dialled at start. Crypto operations run one at a time (a ratchet step never races another).
 * Files go straight to a connected peer (`sendFile`, `files`: files/carried.ts); watch together over the core's
 * sealed signals: `watch` (watch.ts). Expected failures are `BackendError`s with a stable code.
 */
import { fromBase64 } from "../../common/bytes.ts";
import { type Clock, systemClock, systemTimers, type Timers } from "../../common/clock.ts";
import { DmManager } from "../../crypto/dm.ts";
import { type IdentityKeyPair, type PublicIdentity, sameIdentity } from "../../crypto/identity.ts";
import { currentUpload, ensureDeviceKeys, loadIdentity } from "../../crypto/keystore.ts";
import { dialPeer, listenPeer, type PeerChannel, type PeerListener } from "../../net/peer_net.ts";
import { DEFAULT_MAX_FRAME } from "../../protocol/frame.ts";
import {
  BackendError,
  type BackendEvent,
  type ChatMessage,
  type Fingerprint,
  type PeerListing,
} from "../backend.ts";
import { hostPort } from "../start/session_setup.ts";
import { encodePeerRecord, type PeerWireRecord } from "./wire.ts";
import { type FileRecord, isFileRecord } from "../files/carried_common.ts";
import { PeerFiles } from "../files/carried.ts";
import { CarriedDesk } from "../files/carried_desk.ts";
import type { PeerStore } from "./store.ts";
import { keyChanged, peerCame, type PeerNodeOptions, peerTyping, peerWent } from "./events.ts";
import type { Outbox } from "../core/outbox.ts";
import { Redialer } from "./redial.ts";
import { type Channel, openChannel } from "./channel.ts";
import { PeerLinks } from "./links.ts";
import { keepPeer, keyChangedRefusal, knownPeer } from "./keys.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import { admitPeer, hungUp } from "./admit.ts";
import { askVerifiedPeers, introductions } from "./intro.ts";
import { readRecords, sayHello, takeHello } from "./records.ts";
import { ChannelLink } from "./channel_link.ts";
import { PeerSession } from "./session.ts";
import { PeerWatch } from "./watch.ts";
import { PeerCodec, peerLedger } from "./codec.ts";
import {
  contactBook,
  type DmSealer,
  type HistoryApplier,
  type KeyBook,
  keystoreSide,
  pinChosenKey,
  showKeyNumbers,
} from "../e2e/mod.ts";
import { HeldBack } from "../core/link.ts";
import { ChatClient } from "../core/chat_client.ts";

export type { PeerNodeOptions } from "./events.ts";

export class PeerNode {
  readonly #links = new PeerLinks();
  /** The full-screen client's files (`backend`): says a transfer's end no command waits for. */
  #desk: CarriedDesk | null = null;
  #lock: Promise<unknown> = Promise.resolve();
  #closing = false;
  #listener!: PeerListener;
  readonly dm: DmManager;
  readonly clock: Clock;
  /** What watch together's drift tick waits on (PeerNodeOptions.timers). */
  readonly timers?: Timers;
  readonly files: PeerFiles;
  /** One's texts and changes until the peer takes them (the core's outbox). */
  get outbox(): Outbox {
    return this.client.outgoing!;
  }
  readonly #redial: Redialer;
  /** The peers' keys: safety numbers, /trust and /verify (client mode's: DmManager's contacts, the peer records). */
  readonly #keys: KeyBook;
  /** Where sealed messages leave and arrive: the peer channels' `Link` (core/link.ts, issue 35.3). */
  readonly link: ChannelLink;
  /** What the shared core asks of where messages go and come from (session.ts, core/chat_session.ts). */
  readonly session: PeerSession;
  readonly watch: PeerWatch;
  /** Seals and opens bodies (the Double Ratchet over the node's store). */
  readonly codec: PeerCodec;
  /** The conversation core, client mode's (core/chat_client.ts), over the node's session. */
  readonly client: ChatClient<PeerSession>;
  private constructor(
    readonly o: PeerNodeOptions,
    readonly identity: IdentityKeyPair,
    /** My signed prekey bundle, said in every hello (no one-time prekey: X3DH with three DHs). */
    readonly bundle: PrekeyBundle,
    /** e2e's history applier and DM sealer (`keystoreSide`, loaded by `start`). */
    side: { HistoryApplier: typeof HistoryApplier; DmSealer: typeof DmSealer },
  ) {
    this.clock = o.clock ?? systemClock;
    this.timers = o.timers;
    this.#redial = new Redialer((name) => this.#redialOnce(name), o.backoff);
    this.dm = new DmManager({ store: o.store, me: o.name, clock: this.clock });
    this.#keys = contactBook(this.dm);
    this.files = new PeerFiles({
      me: o.name,
      book: o.store,
      via: (peer) => this.#links.open(peer),
      verified: (peer) => this.store.peer(peer)?.verified === true,
      emit: (e) => this.#emit(e),
      now: () => this.clock.now(),
    }, { downloads: o.downloads ?? null, autoAccept: o.acceptFiles === true });
    const channel = (peer: string) => this.#links.open(peer);
    const known = (peer: string) => knownPeer(this.store, peer).name;
    // The link's close (its core's) ends its carrier, as a server link's ends its connection: the node stops.
    this.link = new ChannelLink({ me: o.name, clock: this.clock, known, channel, stop: () => this.#stop() });
    this.session = new PeerSession(this);
    const ledger = peerLedger(o.store, this.clock, (peer, mid) => this.session.held(peer, mid));
    this.codec = new PeerCodec({
      dm: this.dm,
      serial: (fn) => this.#serial(fn),
      bundle: (peer) => this.#links.open(peer)?.bundle ?? null,
      // What the applier tells (a change, a notice) is the core's event.
      history: new side.HistoryApplier(
        o.name,
        ledger,
        o.store.local,
        this.clock,
        null,
        (e) => this.client.notify(e),
      ),
      keyChanged: (peer) => this.#emit(keyChanged(peer)),
    }, side.DmSealer);
    // A message walks the core's receive path (core/receiving.ts, core/engine.ts), acked once saved;
    // its engine's tick deletes disappearing messages.
    this.client = new ChatClient(
      this.session,
      o.store.local,
      this.codec,
      this.clock,
      null,
      o.timers ?? systemTimers,
    );
    this.watch = new PeerWatch(this); // its signals the core's
  }

  static async start(o: PeerNodeOptions): Promise<PeerNode> {
    await ensureDeviceKeys(o.store, (o.clock ?? systemClock).now(), 0);
    const side = await keystoreSide();
    const node = new PeerNode(o, await loadIdentity(o.store), await currentUpload(o.store), side);
    node.#listener = listenPeer(
      {
        hostname: o.hostname,
        port: o.port,
        identity: node.identity,
        name: o.name,
        // Pinned peers may take the listener's reserved slots (issue 33.7).
        isPinned: (k) => o.store.peers().some((p) => sameIdentity(p.identity, k)),
        ...o.limits,
      },
      (ch) => void node.#adopt(ch, false),
    );
    for (const p of o.store.peers()) if (p.addr && !p.pending) node.#schedule(p.name, 0);
    // The engine's tick deletes disappearing messages whose time is up (what ran out while away first).
    await node.client.engine.drive({ kind: "follow", now: node.clock.now() });
    return node;
  }

  get name(): string {
    return this.o.name;
  }
  get port(): number {
    return this.#listener.port;
  }
  /** "host:port" the node listens on */
  get listening(): string {
    const h = this.o.hostname;
    return `${h.includes(":") ? `[${h}]` : h}:${this.port}`;
  }
  /** The largest frame a peer reads (its default is ours). */
  get maxFrame(): number {
    return this.o.limits?.maxFrame ?? DEFAULT_MAX_FRAME;
  }
  /** The channel of `peer` once it said hello. */
  channel(peer: string): Channel | undefined {
    return this.#links.open(peer);
  }
  get store(): PeerStore {
    return this.o.store;
  }

  /** The core's events, the node's own among them (a message, a change, a peer coming and going, files). */
  on(l: (e: BackendEvent) => void): () => void {
    return this.client.on(l);
  }

  /** An event of the node's is its core's; a transfer's end is said too when the desk says it (`backend`). */
  #emit(e: BackendEvent): void {
    this.client.notify(e);
    const said = this.#desk?.notice(e);
    if (said) this.client.notify(said);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#lock.then(fn);
    this.#lock = p.catch(() => {});
    return p;
  }

  /** Dials HOST:PORT; resolves with the peer's name once its channel is up. */
  async connect(addr: string, expect?: PublicIdentity): Promise<string> {
    const { host, port } = hostPort(addr);
    const ch = await dialPeer(host, port, {
      identity: this.identity,
      name: this.name,
      ...this.o.limits,
      ...(expect ? { expect } : {}),
    })
      .catch((e) => {
        throw new BackendError("unreachable", `Cannot connect to ${addr}: ${(e as Error).message}`);
      });
    const name = this.#adopt(ch, true, `${host.includes(":") ? `[${host}]` : host}:${port}`);
    if (!name) throw new BackendError("refused", `The peer at ${addr} was refused (see the warnings)`);
    return name;
  }

  /** Takes an authenticated channel: pins or checks the key, keeps one channel per peer. */
  #adopt(ch: PeerChannel, outgoing: boolean, dialed?: string): string | null {
    const name = this.#closing
      ? null
      : admitPeer(this.name, this.store, ch, dialed, (n) => this.#links.has(n), (e) => this.#emit(e));
    if (!name) {
      ch.close();
      return null;
    }
    if (!this.#links.makeRoom(name, ch, outgoing, this.identity.sign.pub)) return name;
    const link = openChannel(ch, outgoing, this.o.keepaliveMs ?? 20_000, this.clock);
    this.#links.set(name, link);
    this.#redial.forget(name);
    void this.#read(name, link);
    // Listening on every address: the peer uses the address it reached me from, with my port.
    const at = /^(0\.0\.0\.0|::)$/.test(this.o.hostname) ? `:${this.port}` : this.listening;
    void sayHello(link, this.bundle, at).catch(() => ch.close());
    return name;
  }

  async #read(name: string, link: Channel): Promise<void> {
    await readRecords(name, link, (r) => this.#handle(name, link, r), (e) => this.#emit(e));
    link.ch.close();
    this.link.ended(link);
    this.files.dropped(name, link);
    if (this.#links.get(name) !== link) return; // replaced: its lane is the new channel's (or goes with it)
    this.#links.delete(name);
    this.session.down(name); // what was written here without an ack goes again on the next channel
    if (link.hello) this.#emit(peerWent(name, this.clock.now()));
    else if (!link.outgoing && !this.#closing) this.#emit(hungUp(name));
    if (!this.#closing) this.#schedule(name);
  }

  async #handle(name: string, link: Channel, r: PeerWireRecord | FileRecord): Promise<void> {
    if (r.t === "hello") {
      if (takeHello(this.store, name, link, r)) {
        for (const e of peerCame(name, this.clock.now())) this.#emit(e);
        this.files.connected(name);
      }
      return void (this.#links.open(name) && this.session.up(name));
    }
    if (r.t === "ack") return this.link.acked(link, r.mid);
    if (isFileRecord(r)) return this.files.handle(name, link, r); // fdata with the bulk frame #read joined
    if (r.t === "ping" || r.t === "fdata") return; // a bare fdata: its bulk frame never came
    if (r.t === "sig") return this.link.signalled(name, { mid: r.mid, body: fromBase64(r.env) });
    if (r.t === "who" || r.t === "intro") {
      const c = { me: this.name, store: this.store, emit: (e: BackendEvent) => this.#emit(e) };
      return introductions({ ...c, connect: (addr, id) => this.connect(addr, id) }, name, link, r);
    }
    if (r.t === "typing") return this.#emit(peerTyping(name, this.name, r.active));
    await this.link.arrived(name, link, { mid: r.mid, ts: r.ts, body: fromBase64(r.env) }).catch((e) => {
      if (!(e instanceof HeldBack)) throw e; // held back: unacknowledged, and said already (engine, codec)
    });
  }

  /**
   * `/peers --discover`: asks every connected peer I verified whom it knows (intro.ts: a peer answers
   * only a peer it verified; each new name must prove the identity its introducer gave).
   */
  discover(): number {
    return askVerifiedPeers(this.#links, this.store);
  }

  /** Dials a known peer again later, unless it is connected, refused, or has no address. */
  #schedule(name: string, delay?: number): void {
    const rec = this.#closing ? undefined : this.store.peer(name);
    if (rec?.addr && !rec.pending && !this.#links.has(name)) this.#redial.schedule(name, delay);
  }

  #redialOnce(name: string): Promise<boolean> {
    const rec = this.store.peer(name);
    if (this.#closing || !rec?.addr || rec.pending || this.#links.has(name)) return Promise.resolve(true);
    return this.connect(rec.addr).then((n) => n === name, () => false);
  }

  /**
   * The stored name of `peer` when something may be written to it now: known, its key not changed; a
   * first contact written to is kept. Else the refusal (`no_such_peer`, a changed key).
   */
  writable(peer: string): string {
    const rec = knownPeer(this.store, peer);
    if (rec.pending) throw keyChangedRefusal(rec.name);
    keepPeer(this.store, rec.name);
    return rec.name;
  }

  /**
   * The core as the full-screen client's backend: client mode's capabilities plus `files` (`/ls`,
   * `/send PEER ID|PATH`, `/accept`, … files/carried_desk.ts over files/carried.ts; `outbox`: the
   * folder `/ls` lists, its ends said unless a command waits for them) and `peers` (`/connect`, `/peers`).
   */
  backend(outbox?: string): ChatClient<PeerSession> {
    const desk = new CarriedDesk({
      files: this.files,
      send: (p, path) => this.sendFile(p, path),
      on: (l) => this.on(l),
    }, outbox);
    this.client.files = desk;
    this.client.peers = {
      connect: (addr) => this.connect(addr),
      list: () => Promise.resolve(this.peers()),
      discover: () => Promise.resolve(this.discover()),
    };
    this.#desk = desk;
    return this.client;
  }

  /** `/send PEER PATH`: offers a file to a connected peer; the rest comes as events (files/carried.ts). */
  // deno-lint-ignore require-await
  async sendFile(peer: string, path: string): ReturnType<PeerFiles["send"]> {
    return this.files.send(this.writable(peer), path);
  }

  typing(peer: string, active: boolean): void {
    void this.#links.open(peer)?.ch.send(encodePeerRecord({ t: "typing", active })).catch(() => {});
  }
  peers(): PeerListing[] {
    return this.store.peers().map((p) => ({
      name: p.name,
      ...(p.addr ? { addr: p.addr } : {}),
      verified: p.verified,
      online: this.#links.get(p.name)?.hello === true,
      changed: p.pending !== undefined,
    }));
  }

  /** Messages received, from everyone or one peer, oldest first. */
  inbox(peer?: string): ChatMessage[] {
    const name = peer === undefined ? undefined : knownPeer(this.store, peer).name;
    return this.store.local.list(this.name, 0, name ? { kind: "user", name } : undefined)
      .filter((m) => m.from !== this.name);
  }

  /** The safety number to compare (a later `trust`/`verify` without a number binds to its key). */
  fingerprint(peer: string): Promise<Fingerprint> {
    return showKeyNumbers(this.#keys, knownPeer(this.store, peer).name, true);
  }

  /**
   * Accepts the key whose safety number is `number`, or was last shown (refused if the peer's key
   * changed since; a changed one included); `verified` after comparing numbers. A stranger pinned is
   * kept for good. Answers the number of the key pinned.
   */
  async trust(peer: string, verified = false, number?: string): Promise<Fingerprint> {
    const name = knownPeer(this.store, peer).name;
    await this.#serial(async () => {
      await pinChosenKey(this.#keys, name, number, verified);
      keepPeer(this.store, name);
    });
    this.#redial.forget(name);
    this.#schedule(name, 0);
    return showKeyNumbers(this.#keys, name, false);
  }

  /**
   * Stops, in one order — its core's close (core/chat_client.ts `close`), the full-screen client's
   * quit too: the tick; the link (sends waiting reject with `closed`), whose close stops the node
   * (`#stop`); what is being opened; the store last.
   */
  close(): Promise<void> {
    return this.client.close();
  }

  /** The node's part of closing, once its core's link closed: no redial, the session ends, channels and listener close. */
  async #stop(): Promise<void> {
    this.#closing = true;
    this.#redial.stop();
    this.session.end();
    this.watch.close();
    this.files.close();
    await this.#listener.close();
    for (const l of this.#links.values()) l.ch.close();
    this.#links.clear();
    await this.#lock; // the crypto steps under way end before the store closes
  }
}
