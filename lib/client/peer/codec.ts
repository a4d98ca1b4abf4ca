/**
 * `PeerCodec`: peer mode's `BodyCodec` (e2e/body_codec.ts), so that a message from a peer walks the
 * core's receive path (core/receiving.ts, core/engine.ts: opened, saved, then told) as one from
 * the relay does. Bodies are sealed and opened by the Double Ratchet of the node's `DmManager`
 * (crypto/dm.ts), one crypto step at a time (the node's lock). `receive` opens a `msg` and hands its
 * payload to client mode's history applier (e2e/apply.ts `HistoryApplier`, `takeOpened`), committed
 * with the ratchet step over the node's store (`peerLedger`): a text comes back saved (`stored`), a
 * change is told through the applier's notify. A peer of an earlier version sends the bare text
 * (`bodyOf`); a room's key or topic has no place here. A refused message commits its ratchet step,
 * changes nothing and is said once as a warning. A changed key holds the message back (`HeldBack`:
 * not acknowledged, the peer writes it again later) and says `key-changed`, as a seal for it does.
 * `seal`, `sealChange`, `sealSetting`, `sealQueued` and `sealBody` seal for a peer with the prekey
 * bundle its hello brought (the core's sends, core/sending.ts and core/message_changes.ts, and its
 * signals: watch together's, `sealSignal`, `openSignal`).
 *
 * The node's ledger: each message is numbered here and saved once (by sender and id); a change is
 * taken once (peer/store.ts `takeOnce`: one re-sent after a lost ack applies once, one older than
 * the peer's horizon is refused); its time is the time it arrives (a peer's word on its time is not
 * taken; an edit's sealed time counts for its window); a change of my text still in the outbox to
 * that peer shows the peer holds it: confirmed at once (`acked`), not held. No server takes a text
 * back, so a deletion of a message not held is refused as any change of one.
 */
import { type DmManager, KeyChangedError } from "../../crypto/dm.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import { utf8Strict } from "../../common/bytes.ts";
import type { Clock } from "../../common/clock.ts";
import type { ChatMessage, MessageChange, Target } from "../backend.ts";
import { HeldBack } from "../core/link.ts";
import { convOf } from "../session/wire_events.ts";
import {
  type BodyCodec,
  changePayload,
  decodePayload,
  encodePayload,
  type HistoryApplier,
  type Ledger,
  type Payload,
  type Sealed,
  type Setting,
  settingPayload,
  type TextOptions,
  textPayload,
  UnreadableError,
} from "../e2e/mod.ts";
import type { PeerStore } from "./store.ts";

/** The payload a peer sealed under `mid`; a peer of an earlier version sends the bare text. */
export function bodyOf(plaintext: Uint8Array, mid: string): Payload {
  const text = utf8Strict.decode(plaintext);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    j = null;
  }
  if (typeof j !== "object" || j === null || !("v" in j)) return { v: 1, k: "text", mid, text };
  return decodePayload(plaintext, mid);
}

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
 * Saves or applies what `m.from` sealed (opened with the ratchet's writes `writes`) through `history`;
 * one refused commits the step, changes nothing and is said once. The text saved, or null.
 */
export async function takeOpened(
  history: HistoryApplier,
  m: ChatMessage,
  plaintext: Uint8Array,
  writes: StoreWrites,
): Promise<ChatMessage | null> {
  const conv = convOf(history.me, m);
  try {
    const p = bodyOf(plaintext, m.mid);
    if (p.k === "skd" || p.k === "topic") {
      throw new SyntaxError("A room's key or topic has no place in peer mode");
    }
    if (p.k === "expire") return await history.receiveExpiry(writes, m, p);
    return await history.receiveTextOrChange(writes, m, conv, p)!;
  } catch (e) {
    if (e instanceof SyntaxError) await history.consume(writes, m, conv); // the ratchet step stands
    else if (!(e instanceof UnreadableError)) throw e;
    const text = `${m.from}: a message was refused (${e.message}); nothing changed`;
    history.notify({ type: "notice", level: "warn", text });
    return null;
  }
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
  constructor(readonly ports: PeerCodecPorts) {}

  /** A text to a peer (its reply, disappearing time and the time it was written sealed inside). */
  async seal(to: Target, mid: string, text: string, o: TextOptions = {}): Promise<Sealed> {
    return { body: await this.sealBody(to.name!, encodePayload(textPayload(mid, text, o))) };
  }

  /** An encoded payload (a text, a change, a setting, a signal) sealed for `peer`; a changed key is said (`key-changed`). */
  sealBody(peer: string, payload: Uint8Array): Promise<Uint8Array> {
    return this.ports.serial(() => this.ports.dm.encryptDm(peer, this.ports.bundle(peer), payload)).catch(
      (e) => {
        if (e instanceof KeyChangedError) this.ports.keyChanged(peer);
        throw e;
      },
    );
  }

  /** A change or setting as it was queued (applied here when made: core/message_changes.ts `handQueued`). */
  async sealQueued(to: Target, payload: Uint8Array): Promise<Sealed> {
    return { body: await this.sealBody(to.name!, payload) };
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
    return { body: await this.sealBody(to.name!, payload) };
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
      ports.keyChanged(m.from);
      throw new HeldBack(e.message);
    });
  }
}
