/**
 * Sealed signals of peer mode (issue 39.7: watch together, peer/watch.ts): a payload sealed by the
 * peer's Double Ratchet session — the one its messages use, one crypto step at a time — and written
 * as a `sig` record on its channel (peer/channel_link.ts `signal`): never stored, never acknowledged,
 * never sent again. One that arrives is opened the same way and its ratchet step committed (so the
 * next message still opens); the ratchet refuses a replayed envelope (its id seen) and one no key of
 * the session opens (forged, or sealed for someone else): dropped, with a warning, never handed on.
 * The sender handed on is the channel's authenticated peer. Every signal is opened, listened to or
 * not. A node of 0.5 takes `sig` records and hands them to nobody; one older than 0.5 refuses the
 * record kind and drops the channel (peer/watch.ts tells the user when a peer does not answer).
 */
import type { SealedEnvelope } from "../core/link.ts";
import { newMid, type OutboxCore } from "./outbox.ts";

/** One opened signal: its authenticated sender, id and plaintext. */
export interface PeerSignal {
  from: string;
  mid: string;
  plaintext: Uint8Array;
}

/** What the signals need of their node: the outbox's core (its ratchet, lock, channels and link). */
export type SignalCore = Pick<OutboxCore, "dm" | "store" | "serial" | "link" | "carrier" | "emit">;

export class PeerSignals {
  readonly #receivers = new Set<(s: PeerSignal) => void>();

  constructor(readonly core: SignalCore) {
    core.carrier.signals((e) => this.#arrived(e));
  }

  /**
   * Seals `payload(mid)` for `peer` and writes it on its channel now; refused (`offline`,
   * `no_such_peer`) as a message to it would be.
   */
  async send(peer: string, payload: (mid: string) => Uint8Array): Promise<void> {
    const mid = newMid();
    const c = this.core;
    const env = await c.serial(() => c.dm.encryptDm(peer, c.link(peer)?.bundle ?? null, payload(mid)));
    await c.carrier.signal({ kind: "user", name: peer }, mid, env);
  }

  /** Adds a receiver of opened signals; answers its removal. */
  on(cb: (s: PeerSignal) => void): () => void {
    this.#receivers.add(cb);
    return () => this.#receivers.delete(cb);
  }

  async #arrived(e: SealedEnvelope): Promise<void> {
    const c = this.core;
    let plaintext: Uint8Array;
    try {
      plaintext = await c.serial(async () => {
        const o = await c.dm.openDm(e.from, e.body);
        c.store.withWrites(o.writes, () => {});
        return o.plaintext;
      });
    } catch (err) {
      const text = `${e.from}: a signal that could not be opened was dropped (${(err as Error).message})`;
      return c.emit({ type: "notice", text, level: "warn" });
    }
    for (const r of [...this.#receivers]) r({ from: e.from, mid: e.mid, plaintext });
  }
}
