/**
 * `PeerCodec`: peer mode's `BodyCodec` (e2e/body_codec.ts), so that a message from a peer walks the
 * core's receive path (core/receiving.ts, core/engine.ts) as one from the relay does, one crypto step
 * at a time (the node's lock). It is client mode's DM path over what differs here: seals by the DM
 * sealer (e2e/dm_seal.ts `DmSealer`) with one device per user, a first session started from the
 * prekey bundle the peer's hello brought; a `msg` opened by the node's `DmManager` and its payload
 * taken as a DM's (e2e/apply.ts `takeDm`, over the node's ledger: `peerLedger`), a peer of an
 * earlier version's bare text a text, no rooms. A refused one is said once as a warning (the peer
 * script's words). A changed key, said as `key-changed`, refuses a seal and holds a message back
 * (`HeldBack`: not acknowledged, the peer writes it again later).
 *
 * The node's ledger: each message is numbered here and saved once (by sender and id); a change is
 * taken once (peer/store.ts `takeOnce`: one re-sent after a lost ack applies once, one older than
 * the peer's horizon is refused); its time is the time it arrives (a peer's word on its time is not
 * taken; an edit's sealed time counts for its window); a change of my text still in the outbox to
 * that peer shows the peer holds it: confirmed at once (`acked`), not held. No server takes a text
 * back, so a deletion of a message not held is refused as any change of one.
 */
import { type DmManager, KeyChangedError, NoSessionError } from "../../crypto/dm.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import type { Clock } from "../../common/clock.ts";
import type { ChatMessage, MessageChange, Target } from "../backend.ts";
import { HeldBack } from "../core/link.ts";
import { convOf } from "../session/wire_events.ts";
import {
  type BodyCodec,
  changePayload,
  type DmSealer,
  encodePayload,
  type HistoryApplier,
  type Ledger,
  type Sealed,
  type Setting,
  settingPayload,
  type TextOptions,
  textPayload,
  UnreadableError,
} from "../e2e/mod.ts";
import type { PeerStore } from "./store.ts";

/** The node's ledger over its store (see the module comment); `acked`: the peer holds my text `mid`. */
export function peerLedger(
  store: PeerStore,
  clock: Clock,
  acked: (peer: string, mid: string) => void,
): Ledger {
  return {
    // Committed at once (the promise's executor runs now; a throw rejects it).
    commit: (w, also) => new Promise((done) => done(store.withWrites(w, () => also?.(store.db)))),
    consume: (_db, m) => store.takeOnce(m.from, m.mid, m.ts, clock.now()),
    place: (m) => store.place(m),
    stamp: () => clock.now(),
    confirmHeld: (m, ref) => (acked(m.from, ref), true),
    takenBack: false,
  };
}

/**
 * Saves or applies what `m.from` sealed (opened with the ratchet's writes `writes`) through `history`
 * (e2e/apply.ts `takeDm`); one refused is said once, as a warning. The text saved, or null.
 */
export function takeOpened(
  history: HistoryApplier,
  m: ChatMessage,
  plaintext: Uint8Array,
  writes: StoreWrites,
): Promise<ChatMessage | null> {
  return history.takeDm({ plaintext, writes }, m, convOf(history.me, m), { bare: true }).catch((e) => {
    if (!(e instanceof UnreadableError)) throw e;
    const text = `${m.from}: a message was refused (${e.message}); nothing changed`;
    history.notify({ type: "notice", level: "warn", text });
    return null;
  });
}

/** What the codec needs of its node. */
export interface PeerCodecPorts {
  readonly dm: DmManager;
  /** Runs a crypto step after the ones before it. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** The prekey bundle `peer`'s hello brought on its current channel (null: none, or not connected). */
  bundle(peer: string): PrekeyBundle | null;
  /** Saves or applies an opened payload with the ratchet's writes (`takeOpened`). */
  readonly history: HistoryApplier;
  /** `peer` proved a key other than the one pinned. */
  keyChanged(peer: string): void;
}

export class PeerCodec implements BodyCodec {
  readonly encrypted = true;
  /** Client mode's DM sealer: one device per user, a first session from the peer's hello. */
  readonly #dms: DmSealer;

  /** `sealer`: e2e's DM sealer class (`keystoreSide`, loaded by the node's start). */
  constructor(readonly ports: PeerCodecPorts, sealer: typeof DmSealer) {
    const { dm } = ports, me = dm.me;
    const devices = {
      me,
      device: 1,
      addresses: (user: string) => Promise.resolve([user]),
      targets: (user: string) => Promise.resolve(user === me ? [] : [user]),
    };
    const bundles = {
      bundles: new Map<string, PrekeyBundle>(), // none kept: the hello's, asked each time
      fetchBundle: (user: string) => {
        const b = ports.bundle(user);
        return b ? Promise.resolve(b) : Promise.reject(new NoSessionError(user));
      },
    };
    this.#dms = new sealer(dm, devices, bundles, dm.store, (e) => this.#keyChanged(e, e.user));
  }

  /** A changed key of `peer`'s: said (`key-changed`); the error it rejects with. */
  #keyChanged(e: KeyChangedError, peer: string): KeyChangedError {
    this.ports.keyChanged(peer);
    return e;
  }

  /** A text to a peer (its reply, disappearing time and the time it was written sealed inside). */
  async seal(to: Target, mid: string, text: string, o: TextOptions = {}): Promise<Sealed> {
    return await this.sealQueued(to, encodePayload(textPayload(mid, text, o)));
  }

  /** An encoded payload (a text, a change, a setting, a signal) sealed for `to`, as it was queued. */
  async sealQueued(to: Target, payload: Uint8Array): Promise<Sealed> {
    const { body } = await this.ports.serial(() => this.#dms.encrypt(to.name!, payload));
    return { body };
  }

  /** A change of message `ref` (by `by`), client mode's payload. */
  async sealChange(to: Target, mid: string, ref: string, c: MessageChange, by?: string): Promise<Sealed> {
    return await this.sealQueued(to, encodePayload(changePayload(mid, ref, c, by)));
  }

  /** A disappearing time (a topic has no place here: no rooms). */
  async sealSetting(to: Target, mid: string, s: Setting): Promise<Sealed> {
    if (s.kind !== "expire") throw new SyntaxError("A topic has no place in peer mode");
    return await this.sealQueued(to, encodePayload(settingPayload(mid, s)));
  }

  /** A signal (watch together; a peer's typing is a plain record) sealed for `to`. */
  async sealSignal(to: Target, payload: Uint8Array): Promise<Sealed> {
    return await this.sealQueued(to, payload);
  }

  /** Opens a signal from `m.from`, its ratchet step committed; rejects when it cannot be opened (the core says it). */
  openSignal(m: { from: string }, body: Uint8Array): Promise<Uint8Array> {
    const { ports } = this;
    return ports.serial(async () => {
      const o = await ports.dm.openDm(m.from, body);
      await ports.history.ledger.commit(o.writes);
      return o.plaintext;
    });
  }

  /** Peer mode opens in `receive` (with the store's transaction); a bare open is a caller's bug. */
  open(): Promise<string> {
    return Promise.reject(new Error("A peer's message is opened by receive (peer/codec.ts)"));
  }

  /** Opens `m`'s body and saves or applies it (`takeOpened`); the text saved, or null when it was a change or refused. */
  receive(m: ChatMessage, _conv: string, body: Uint8Array): Promise<ChatMessage | null> {
    const { ports } = this;
    return ports.serial(async () => {
      const opened = await ports.dm.openDm(m.from, body);
      return await takeOpened(ports.history, m, opened.plaintext, opened.writes);
    }).catch((e) => {
      if (!(e instanceof KeyChangedError)) throw e;
      throw new HeldBack(this.#keyChanged(e, m.from).message);
    });
  }
}
