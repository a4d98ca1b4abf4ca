/**
 * What a peer node writes to a peer (peer/node.ts owns the channels): texts, changes and settings
 * (issue 39) wait in LocalStore's outbox (core/outbox.ts, as in client mode) and leave, oldest first,
 * as `msg` records once the peer's channel said hello — through client mode's send runner
 * (core/kept_sends.ts over core/send_lanes.ts: a lane per peer, a generation per channel, any number
 * handed and not yet acknowledged; this file hands one entry over and settles what the peer took) —,
 * each sealed by the Double Ratchet (peer/codec.ts) as one `Payload` of client mode: a text with
 * what client mode seals beside it (core/sending.ts `textFacts`: the message it answers by sender and
 * id, the conversation's disappearing time when it was written, kept in its entry, and that time),
 * a change or setting as queued. An entry leaves the outbox when the peer acknowledges it; an
 * acknowledged text moves into the history as client mode's does (core/sending.ts `settleSent`, at
 * the time it was written: no server stamps it; numbered as the session numbers it, once by
 * peer/store.ts `place`: peer/session.ts). A text too long for one frame (queued by an older
 * version) is marked failed instead of being sent at every connect (issue 34.1).
 */
import { toHex, utf8 } from "../../common/bytes.ts";
import { type Clock, systemTimers } from "../../common/clock.ts";
import { cryptoRandom } from "../../common/random.ts";
import { KeyChangedError } from "../../crypto/dm.ts";
import { BackendError, type ChatMessage } from "../backend.ts";
import { normalizeName } from "../../protocol/names.ts";
import { checkTextSize } from "../core/message_size.ts";
import { sendFailed, settleSent, textFacts } from "../core/sending.ts";
import { Outbox } from "../core/outbox.ts";
import { LocalStore, type PendingMessage } from "../session/local_store.ts";
import type { PeerEvent } from "./events.ts";
import { acceptStranger, keyChangedRefusal } from "./keys.ts";
import type { Channel } from "./channel.ts";
import type { ChannelLink } from "./channel_link.ts";
import type { PeerCodec } from "./codec.ts";
import { type Handed, KeptSends } from "../core/kept_sends.ts";
import type { PeerRecord, PeerStore } from "./store.ts";
import type { PeerSession } from "./session.ts";

/** What the outbox needs of its node. */
export interface OutboxCore {
  readonly me: string;
  /** How entries leave (a lane per peer, its window, a lane down) and the largest frame a peer reads: session.ts. */
  readonly session: Pick<PeerSession, "sends" | "maxFrame" | "dropLimit" | "closed" | "user" | "number">;
  readonly store: PeerStore;
  /** Seals what leaves (peer/codec.ts). */
  readonly codec: PeerCodec;
  readonly clock: Clock;
  /** the peer's channel once it said hello */
  link(peer: string): Channel | undefined;
  /** the `Link` (core/link.ts) every message leaves through (its ack drops the entry) */
  readonly carrier: ChannelLink;
  emit(e: PeerEvent): void;
}

/** The record of `peer` (any spelling of the name); refused (`no_such_peer`) when there is none. */
export function knownPeer(store: PeerStore, peer: string): PeerRecord {
  const name = normalizeName(peer);
  const rec = name ? store.peer(name) : undefined;
  if (!name || !rec) {
    throw new BackendError("no_such_peer", `No peer named ${peer}: /connect HOST:PORT first`);
  }
  return rec;
}

/** A fresh message id (the wire's form: 32 hex digits). */
export const newMid = (): string => toHex(cryptoRandom(16));

export class PeerOutbox {
  /** The texts and changes waiting, kept by the one owner of outbox entries (core/outbox.ts). */
  readonly entries: Outbox;
  /** The send runner of both modes (core/kept_sends.ts): a lane per peer, any number unacknowledged. */
  readonly #sends: KeptSends;
  /** The generation of each channel (one per channel that said hello). */
  readonly #gens = new WeakMap<Channel, number>();
  constructor(readonly core: OutboxCore) {
    this.entries = new Outbox(core.store.local, core.me, core.clock);
    this.#sends = new KeptSends({
      me: core.me,
      outbox: this.entries,
      ...core.session.sends,
      check: () => Promise.resolve(), // checked when written (`send`, peer/conv.ts)
      sendOne: (p) => this.#hand(p),
      settle: (peer, mid) => this.#settle(peer, mid),
      notice: (level, text) => core.emit({ type: "notice", text, level }),
      confirmed: () => {},
      timers: systemTimers,
    });
  }

  /**
   * The peer something may be written to now: known, its key not changed, and what is written passing
   * `check`; a first contact written to is kept.
   */
  writable(peer: string, check = () => {}): string {
    const rec = knownPeer(this.core.store, peer);
    if (rec.pending) throw keyChangedRefusal(rec.name);
    check();
    if (rec.stranger) this.core.store.putPeer(acceptStranger(rec));
    return rec.name;
  }

  /** Queues a text for `peer` (sent now if connected); `queued` says it waits for the peer. */
  send(peer: string, text: string, replyTo?: string): ChatMessage & { queued: boolean } {
    // Too long for one record of the peer's frame cap (its default is ours): refused, never queued.
    const name = this.writable(peer, () => checkTextSize(text, this.core.session.maxFrame, 1, true));
    const re = replyTo ? { replyTo } : {};
    // The entry keeps the conversation's disappearing time of now (core/outbox.ts).
    const p = this.entries.create({ kind: "user", name }, text, { mid: newMid(), ...re });
    this.#sends.added(p);
    return { ...p, seq: 0, from: this.core.me, pending: true, queued: !this.core.link(name) };
  }

  /**
   * The channel of `peer` said hello (a new one, or one that replaced another): what waits for the
   * peer leaves on it, in order, with the ids it had.
   */
  connected(peer: string): void {
    const link = this.core.link(peer);
    if (link) this.#gens.set(link, this.#sends.connected(peer));
  }

  /** `link`, a channel of `peer`, ended: what it was handed and not acknowledged waits for the next one. */
  ended(peer: string, link: Channel): void {
    const gen = this.#gens.get(link);
    if (gen !== undefined) this.#sends.lost(peer, gen);
  }

  /** A new entry `mid` for `peer` (a text, or a change) was written: it leaves when it may. */
  added(peer: string, mid: string, ts: number): void {
    this.#sends.added({ mid, to: { kind: "user", name: peer }, ts });
  }

  /**
   * Seals entry `p` and hands it to its peer's channel; the peer's ack settles it (`#settle`). Null
   * when it can never go (too long: marked failed and said).
   */
  async #hand(p: PendingMessage): Promise<Handed> {
    const peer = p.to.name!;
    if (!p.change && this.#tooLong(p)) return null;
    const env = await this.#seal(p).catch((e) => {
      if (e instanceof KeyChangedError) this.core.emit({ type: "key-changed", peer });
      throw e;
    });
    const { written, acked } = this.core.carrier.write(p.to, p.mid, env, { ts: p.ts });
    await written;
    return { taken: acked.then(() => null) };
  }

  /** Entry `p` sealed for its peer: a change as queued (its payload), a text as client mode seals it (core/sending.ts `textFacts`). */
  async #seal(p: PendingMessage): Promise<Uint8Array> {
    const { codec, store } = this.core;
    if (p.change) return await codec.sealBody(p.to.name!, utf8.encode(p.text));
    return (await codec.seal(p.to, p.mid, p.text, textFacts(store.local, p.replyTo, p.ttl ?? 0, p.ts))).body;
  }

  /** `peer` holds `mid` (its ack, or a change of it that it sent): settled once. */
  acked(peer: string, mid: string): void {
    this.#sends.acked(peer, mid);
  }

  /** `peer` saved `mid`: a change leaves the outbox; a text moves from the outbox into the history. */
  #settle(peer: string, mid: string): void {
    const store = this.core.store;
    const p = store.local.pending(mid);
    if (!p || p.to.name !== peer) return;
    if (p.change) return this.entries.remove(mid); // a change leaves the outbox; its effect is here already
    // As the peer took it: at the time it was written (the ack's), numbered as the session numbers it.
    const facts = textFacts(store.local, p.replyTo, p.ttl ?? 0, p.ts), r = { seq: 0, ts: p.ts };
    const m = LocalStore.tx(store.db, () => settleSent(this.entries, this.core.session, p, facts, r));
    // The screen drops the message's ⋯ (issue 34.4: it stayed after the peer came back).
    this.core.emit({
      type: "delivered",
      message: { ...m, seq: store.local.byMid(this.core.me, p.mid)?.seq ?? 0 },
    });
  }

  /**
   * An outbox entry too long for one frame (queued by an older version) would make the peer drop the
   * channel at every try: a permanent refusal of a kept entry, so marked failed as client mode marks
   * one (core/sending.ts `sendFailed`, engine_outbox.ts decides), never sent (issue 34.1; `/outbox drop N`).
   */
  #tooLong(p: PendingMessage): boolean {
    const { me, session } = this.core;
    try {
      checkTextSize(p.text, session.maxFrame, 1, true);
      return false;
    } catch (e) {
      sendFailed(this.entries, session, p.mid, e, true);
      this.core.emit({ type: "failed", message: { ...p, seq: 0, from: me, failed: (e as Error).message } });
      return true;
    }
  }
}
