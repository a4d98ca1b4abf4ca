/**
 * `ServerLink`: the `Link` (core/link.ts) of server mode, over one logged-in `Connection`. A send is
 * a `send` request (target, mid, the sealed body; devices and disappearing time beside it) and the
 * server's `ok` is the ack: it stored the message (a resend of a stored mid answers the first copy's
 * seq with `dup`), so delivery to the other end and its queue are the server's. Arriving envelopes
 * are the server's `msg` pushes — live ones, and the offline queue a sync brings before its reply —
 * handed to the receivers as they are read, in order (history comes as a reply: `envelopeOf` reads
 * it). Refusals keep the server's stable code; after `close` (the connection's end) waiting sends
 * reject with `closed`. A signal is an ephemeral `send` (the server relays it to the live sessions
 * of the recipients and stores nothing; its reply is no ack of theirs); one arrives as an
 * `ephemeral` push.
 */
import type { Clock } from "../../common/clock.ts";
import type { Frame } from "../../protocol/frame.ts";
import { BackendError, type Target } from "../backend.ts";
import type { Connection } from "../session/connection.ts";
import { wire } from "../session/wire_events.ts";
import type { Link, LinkAck, LinkReceiver, LinkSendOptions, SealedEnvelope } from "./link.ts";

/** The envelope of a `msg` frame (a push, or an item of a sync or history reply). */
export function envelopeOf(f: Frame): SealedEnvelope {
  const h = f.header;
  return {
    from: String(h.from),
    to: h.to as Target,
    mid: String(h.mid),
    ts: Number(h.ts),
    seq: Number(h.seq ?? 0), // none on a signal
    body: f.body,
  };
}

export class ServerLink implements Link {
  readonly #receivers = new Set<LinkReceiver>();
  readonly #signals = new Set<LinkReceiver>();
  #closed = false;

  /** `clock`: the ack's time when the server gave none (a resend whose first copy is gone). */
  constructor(readonly conn: Connection, readonly clock: Clock) {
    conn.onPush((f) => {
      const t = f.header.t;
      if ((t !== "msg" && t !== "ephemeral") || this.#closed) return;
      const e = envelopeOf(f);
      // Called as read, in step with the connection's other pushes (a receiver chains its own work).
      for (const r of [...(t === "msg" ? this.#receivers : this.#signals)]) {
        try {
          void Promise.resolve(r(e)).catch(() => {});
        } catch { /* a receiver's failure is its own */ }
      }
    });
  }

  async send(to: Target, mid: string, body: Uint8Array, o: LinkSendOptions = {}): Promise<LinkAck> {
    this.#open();
    const fields = { ...(o.devices ? { devices: o.devices } : {}), ...(o.ttl ? { ttl: o.ttl } : {}) };
    const r = await this.conn.request("send", { to: wire(to), mid, ...fields }, body);
    const h = r.header;
    return {
      mid,
      ts: typeof h.ts === "number" ? h.ts : this.clock.now(),
      seq: typeof h.seq === "number" ? h.seq : 0,
      ...(h.dup === true ? { dup: true } : {}),
    };
  }

  receive(r: LinkReceiver): () => void {
    this.#receivers.add(r);
    return () => this.#receivers.delete(r);
  }

  async signal(to: Target, mid: string, body: Uint8Array, o: LinkSendOptions = {}): Promise<void> {
    this.#open();
    const devices = o.devices ? { devices: o.devices } : {};
    await this.conn.request("send", { to: wire(to), mid, ephemeral: true, ...devices }, body);
  }

  signals(r: LinkReceiver): () => void {
    this.#signals.add(r);
    return () => this.#signals.delete(r);
  }

  #open(): void {
    if (this.#closed) throw new BackendError("closed", "The link to the server is closed");
  }

  /** Ends delivery and the connection: sends still waiting reject with its reason (`closed`). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#receivers.clear();
    this.#signals.clear();
    await this.conn.close();
  }
}
