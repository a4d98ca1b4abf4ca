/**
 * `Link`: how the conversation core moves sealed bodies, whatever carries them (issue 35.3). It
 * sends a body already sealed end to end to a target under the message's id and resolves with the
 * other side's acknowledgement — or rejects with a `BackendError` of a stable code (`no_such_user`,
 * `no_such_peer`, `offline`, `closed`, …) — and hands each sealed envelope that arrives to its
 * receivers. Two implementations: the server relay (core/server_link.ts, over session/connection.ts:
 * the server's `ok` is the ack) and the peer channel (peer/channel_link.ts, over the node's
 * channels: the peer's `ack` record, written once its receivers took the envelope). The contract
 * both keep is core/link_conformance.ts: one id is delivered once however often it is sent (each
 * send still acknowledged), two sends arrive in the order sent, and after `close` nothing is
 * delivered and every send still waiting rejects with `closed`. Besides messages, a link carries
 * signals (typing, watch together): `signal` sends a sealed body that nobody acknowledges and
 * nobody stores — it reaches the other side only if it is there now — and `signals` hands each one
 * that arrives to its own receivers, never to the message receivers. No I/O of its own.
 */
import type { Target } from "../backend.ts";

/** One sealed message as it arrives: who sent it, where to, its id, time and sealed body. */
export interface SealedEnvelope {
  from: string;
  /** The sending device, when the carrier names it (the peer channel: one device per peer). */
  device?: string;
  to: Target;
  mid: string;
  /** When it was sent (the server's time, or the peer's, never later than the receiver's clock). */
  ts: number;
  /** The server's sequence number in its conversation (the relay only; 0 on a peer channel). */
  seq: number;
  body: Uint8Array;
}

/** The other side has the message `mid`: at `ts`, as `seq` (the relay); `dup` when it already had it. */
export interface LinkAck {
  mid: string;
  ts: number;
  seq: number;
  dup?: boolean;
}

/** What a send may carry besides the body. */
export interface LinkSendOptions {
  /** The device addresses a DM was sealed for (the relay checks they are still the recipient's). */
  devices?: string[];
  /** Disappearing time in seconds (the relay stores it beside the body). */
  ttl?: number;
  /** The time the message was written (the peer channel sends it; the relay takes its own). */
  ts?: number;
}

/**
 * A receiver cannot take this envelope now (a peer's changed key waits for trust): its rejection with
 * this leaves the envelope unacknowledged, and the carrier brings it again later.
 */
export class HeldBack extends Error {
  override name = "HeldBack";
}

/** Takes one envelope; a rejection leaves it unacknowledged (the peer channel's sender tries again later). */
export type LinkReceiver = (e: SealedEnvelope) => void | Promise<void>;

/** The one way sealed messages leave and arrive, server relay or peer channel. */
export interface Link {
  /** Sends `body` to `to` as message `mid`; resolves once with the other side's acknowledgement. */
  send(to: Target, mid: string, body: Uint8Array, o?: LinkSendOptions): Promise<LinkAck>;
  /**
   * `send`, with the moment the carrier took it apart (`written`), where the acknowledgement comes
   * later (a peer channel: its `ack` record); throws the refusals at once. None: `send` answers both.
   */
  write?(to: Target, mid: string, body: Uint8Array, o?: LinkSendOptions): {
    written: Promise<void>;
    acked: Promise<LinkAck>;
  };
  /** Adds a receiver of arriving envelopes, in arrival order; answers its removal. */
  receive(r: LinkReceiver): () => void;
  /**
   * Sends `body` (sealed) to `to` as the ephemeral signal `mid`: resolves once the carrier took it,
   * with no acknowledgement from the other side; never stored, never sent again (refusals as `send`'s;
   * `devices`, a DM's device lists it was sealed against, checked as a message's).
   */
  signal(to: Target, mid: string, body: Uint8Array, o?: Pick<LinkSendOptions, "devices">): Promise<void>;
  /** Adds a receiver of arriving signals (`seq` 0), in arrival order; answers its removal. */
  signals(r: LinkReceiver): () => void;
  /** Stops: nothing more is delivered, sends still waiting reject with `closed`. */
  close(): Promise<void>;
}

/**
 * Runs every receiver of `e` in turn (a rejection of one is the whole delivery's): the shared part
 * of both implementations' arrival path.
 */
export async function deliverTo(receivers: Iterable<LinkReceiver>, e: SealedEnvelope): Promise<void> {
  for (const r of [...receivers]) await r(e);
}
