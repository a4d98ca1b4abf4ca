/**
 * `PeerCodec`: peer mode's `BodyCodec` (e2e/body_codec.ts), so that a message from a peer walks the
 * core's receive path (core/receiving.ts `take`, core/engine.ts: opened, saved, then told) as one from
 * the relay does. Bodies are sealed and opened by the Double Ratchet of the node's `DmManager`
 * (crypto/dm.ts), one crypto step at a time (the node's lock). `receive` opens a `msg` and hands its
 * plaintext to peer/conv.ts in the same transaction as the ratchet step (saved there: `stored`); a
 * change, a setting or a refusal comes back as an event told at once. A changed key holds the message
 * back (`HeldBack`: not acknowledged, the peer writes it again later) and says `key-changed`. `seal`
 * and `sealBody` seal for a peer with the prekey bundle its hello brought (peer/outbox.ts writes them).
 */
import { type DmManager, KeyChangedError } from "../../crypto/dm.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import type { ChatMessage, Target } from "../backend.ts";
import { HeldBack } from "../core/link.ts";
import { type BodyCodec, encodePayload, type Sealed, type TextOptions, textPayload } from "../e2e/mod.ts";
import type { PeerEvent } from "./events.ts";

/** What the codec needs of its node. */
export interface PeerCodecPorts {
  readonly dm: DmManager;
  /** Runs a crypto step after the ones before it. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** The prekey bundle `peer`'s hello brought on its current channel (null: none, or not connected). */
  bundle(peer: string): PrekeyBundle | null;
  /** Saves or applies an opened payload with the ratchet's writes (peer/conv.ts `received`); its events. */
  received(from: string, mid: string, ts: number, plaintext: Uint8Array, writes: StoreWrites): PeerEvent[];
  emit(e: PeerEvent): void;
}

export class PeerCodec implements BodyCodec {
  readonly encrypted = true;
  constructor(readonly ports: PeerCodecPorts) {}

  /** A text to a peer (its reply, disappearing time and the time it was written sealed inside). */
  async seal(to: Target, mid: string, text: string, o: TextOptions = {}): Promise<Sealed> {
    return { body: await this.sealBody(to.name!, encodePayload(textPayload(mid, text, o))) };
  }

  /** An encoded payload (a text, a change, a setting) sealed for `peer`. */
  sealBody(peer: string, payload: Uint8Array): Promise<Uint8Array> {
    return this.ports.serial(() => this.ports.dm.encryptDm(peer, this.ports.bundle(peer), payload));
  }

  /** Peer mode opens in `receive` (with the store's transaction); a bare open is a caller's bug. */
  open(): Promise<string> {
    return Promise.reject(new Error("A peer's message is opened by receive (peer/codec.ts)"));
  }

  /** Opens `m`'s body and saves or applies it (peer/conv.ts); the text saved, or null when it was a change or refused. */
  async receive(m: ChatMessage, _conv: string, body: Uint8Array): Promise<ChatMessage | null> {
    const { ports } = this;
    const events = await ports.serial(async () => {
      const opened = await ports.dm.openDm(m.from, body);
      return ports.received(m.from, m.mid, m.ts, opened.plaintext, opened.writes);
    }).catch((e) => {
      if (!(e instanceof KeyChangedError)) throw e;
      ports.emit({ type: "key-changed", peer: m.from });
      throw new HeldBack(e.message);
    });
    let saved: ChatMessage | null = null;
    for (const e of events) {
      if (e.type === "message" && saved === null) saved = e.message;
      else ports.emit(e);
    }
    return saved;
  }
}
