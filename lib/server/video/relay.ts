/**
 * StreamRelay — user-to-user video streams. The server only relays: `stream.offer` goes to every
 * session of the recipient, the first `stream.answer` from one of them decides, and only after an
 * acceptance does the server pass `stream.frame`s (sealed JPEGs it cannot read) from the sender's
 * session to the accepting session. Frames are never stored or queued: one is relayed only when
 * the recipient's outbox is nearly empty, otherwise it is dropped and the sender told so in the
 * reply (it then sends fewer). Either side may `stream.stop`; a closed session stops its streams.
 */
import { ErrorCode } from "../../protocol/errors.ts";
import type { Outbound, Request } from "../../protocol/messages.ts";
import { normalizeName } from "../../protocol/names.ts";
import type { Hub } from "../hub.ts";
import type { Session } from "../session.ts";
import { LOW_WATER } from "./viewer.ts";
import { VideoError } from "./service.ts";

interface Offer {
  sid: string;
  from: Session;
  to: string;
  name: string;
  fps: number;
  /** The recipient session that accepted; null while pending. */
  peer: Session | null;
  relayed: number;
  dropped: number;
  /** Token bucket against a sender that ignores its own frame rate. */
  tokens: number;
  refill: number;
}

export interface RelayLimits {
  /** Offers (pending or accepted) one session may have as sender. */
  perSession: number;
  /** Streams relayed by the whole server. */
  total: number;
}

export class StreamRelay {
  readonly #offers = new Map<string, Offer>();

  constructor(readonly hub: Hub, readonly limits: RelayLimits, readonly now: () => number) {}

  get size(): number {
    return this.#offers.size;
  }

  offer(s: Session, m: Request<"stream.offer">): { sid: string } {
    const to = normalizeName(m.to);
    if (!to || !this.hub.users.has(to)) {
      throw new VideoError(ErrorCode.NoSuchUser, `There is no user named ${m.to}`);
    }
    if (to === s.user) throw new VideoError(ErrorCode.Invalid, "You cannot stream to yourself");
    const online = [...this.hub.sessionsOf(to)].filter((x) => x.state === "ready");
    if (online.length === 0) throw new VideoError(ErrorCode.Unavailable, `${to} is not online`);
    if (this.#offers.has(m.sid)) {
      throw new VideoError(ErrorCode.Duplicate, "That stream id is already in use");
    }
    const mine = [...this.#offers.values()].filter((o) => o.from === s).length;
    if (mine >= this.limits.perSession) {
      throw new VideoError(
        ErrorCode.RateLimited,
        `You can offer at most ${this.limits.perSession} streams at once`,
      );
    }
    if (this.#offers.size >= this.limits.total) {
      throw new VideoError(
        ErrorCode.Unavailable,
        "The server is relaying as many streams as it can; try later",
      );
    }
    const fps = Math.min(60, m.fps ?? 30);
    this.#offers.set(m.sid, {
      sid: m.sid,
      from: s,
      to,
      name: m.name,
      fps,
      peer: null,
      relayed: 0,
      dropped: 0,
      tokens: fps,
      refill: this.now(),
    });
    const h: Outbound = { t: "stream.offer", from: s.user, name: m.name, sid: m.sid };
    if (m.fps !== undefined) h.fps = m.fps;
    if (m.width !== undefined) h.width = m.width;
    if (m.height !== undefined) h.height = m.height;
    for (const x of online) x.send(h);
    return { sid: m.sid };
  }

  answer(s: Session, m: Request<"stream.answer">): { accepted: boolean } {
    const o = this.#offers.get(m.sid);
    if (!o || o.to !== s.user) {
      throw new VideoError("no_such_stream", "There is no such stream offered to you");
    }
    if (o.peer) throw new VideoError(ErrorCode.Duplicate, "This stream was already accepted");
    if (m.accept) o.peer = s;
    else this.#offers.delete(m.sid);
    o.from.send({ t: "stream.answer", sid: o.sid, from: s.user, accept: m.accept });
    return { accepted: m.accept };
  }

  /** Relays one sealed frame; `delivered` is false when it was dropped for a slow recipient. */
  frame(s: Session, m: Request<"stream.frame">, body: Uint8Array): { delivered: boolean } {
    const o = this.#offers.get(m.sid);
    if (!o || o.from !== s) throw new VideoError("no_such_stream", "You are not streaming with that id");
    if (!o.peer) throw new VideoError(ErrorCode.Forbidden, `${o.to} has not accepted the stream yet`);
    const now = this.now();
    o.tokens = Math.min(o.fps, o.tokens + ((now - o.refill) * o.fps * 2) / 1000);
    o.refill = now;
    const peer = o.peer;
    if (o.tokens < 1 || peer.outbox.closed || peer.outbox.bytes > LOW_WATER) {
      o.dropped++;
      return { delivered: false };
    }
    o.tokens--;
    peer.send({ t: "stream.frame", sid: o.sid, from: s.user, pts: m.pts, index: m.index }, body);
    o.relayed++;
    return { delivered: true };
  }

  stop(s: Session, m: Request<"stream.stop">): { relayed: number; dropped: number } {
    const o = this.#offers.get(m.sid);
    if (!o || (o.from !== s && o.to !== s.user)) {
      throw new VideoError("no_such_stream", "There is no such stream of yours");
    }
    // The sender's own figures (frames relayed, frames it dropped) reach the recipient unchanged.
    const counts = o.from === s && m.sent !== undefined && m.dropped !== undefined
      ? { sent: m.sent, dropped: m.dropped }
      : undefined;
    this.#end(o, s, "stopped", counts);
    return { relayed: o.relayed, dropped: o.dropped };
  }

  /** A session went away: its streams end and the other side is told. */
  closeSession(s: Session): void {
    for (const o of [...this.#offers.values()]) {
      if (o.from === s || o.peer === s) this.#end(o, s, "disconnected");
    }
  }

  #end(o: Offer, by: Session, reason: string, counts?: { sent: number; dropped: number }): void {
    this.#offers.delete(o.sid);
    const h: Outbound = { t: "stream.stop", sid: o.sid, by: by.user, reason, ...counts };
    if (by !== o.from) o.from.send(h);
    if (o.peer && by !== o.peer) o.peer.send(h);
    else if (!o.peer && by === o.from) {
      for (const x of this.hub.sessionsOf(o.to)) x.send(h); // withdraw a pending offer
    }
  }
}
