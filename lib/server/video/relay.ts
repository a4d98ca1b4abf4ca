/**
 * StreamRelay — user-to-user video streams. The server only relays: `stream.offer` goes to every
 * session of the recipient, the first `stream.answer` from one of them decides, and only after an
 * acceptance does the server pass `stream.frame`s (sealed JPEGs it cannot read) from the sender's
 * session to the accepting session; the recipient's other sessions are told it was answered
 * (`stream.stop`, reason "answered") so their prompts go. Frames are never stored or queued: one is relayed only when
 * the recipient's outbox is nearly empty, otherwise it is dropped and the sender told so in the
 * reply (it then sends fewer). Either side may `stream.stop`; a closed session stops its streams.
 * Across nodes (issue 16): an offer to a user on another node goes over the bus; that node keeps a
 * proxy (the recipient's side) and the sender's node sends frames to it over the bus, paced by the
 * same token bucket (the far outbox is checked there: a frame for a slow reader is dropped there).
 */
import { ErrorCode } from "../../protocol/errors.ts";
import type { Outbound, Request } from "../../protocol/messages.ts";
import { normalizeName } from "../../protocol/names.ts";
import { fromBase64, toBase64 } from "../../common/bytes.ts";
import type { BusEvent } from "../bus/bus.ts";
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
  /** The recipient session that accepted; null while pending (or accepted on another node). */
  peer: Session | null;
  /** The node whose session accepted, when it is not this one. */
  peerNode: string | null;
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

/** The recipient's side of an offer made on another node (`origin`). */
interface Proxy {
  origin: string;
  to: string;
  peer: Session | null;
}

type StreamEvent = Extract<BusEvent, { t: "stream" }>;

export class StreamRelay {
  readonly #offers = new Map<string, Offer>();
  readonly #proxies = new Map<string, Proxy>();

  constructor(readonly hub: Hub, readonly limits: RelayLimits, readonly now: () => number) {
    hub.streamEvents = (from, e) => this.#onBus(from, e);
  }

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
    const elsewhere = this.hub.link?.remotePresence().some((p) => p.user === to) ?? false;
    if (online.length === 0 && !elsewhere) throw new VideoError(ErrorCode.Unavailable, `${to} is not online`);
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
      peerNode: null,
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
    if (elsewhere) this.hub.link!.publish({ t: "stream", op: "offer", sid: m.sid, user: to, h });
    return { sid: m.sid };
  }

  answer(s: Session, m: Request<"stream.answer">): { accepted: boolean } {
    const o = this.#offers.get(m.sid);
    const p = o ? null : this.#proxies.get(m.sid);
    if (p && p.to === s.user) {
      if (p.peer) throw new VideoError(ErrorCode.Duplicate, "This stream was already accepted");
      if (m.accept) p.peer = s;
      else this.#proxies.delete(m.sid);
      this.#answeredElsewhere(m.sid, s.user, s);
      const h = answerPush(m.sid, s.user, m);
      this.hub.link?.publish({ t: "stream", op: "answer", sid: m.sid, to: p.origin, accept: m.accept, h });
      return { accepted: m.accept };
    }
    if (!o || o.to !== s.user) {
      throw new VideoError("no_such_stream", "There is no such stream offered to you");
    }
    if (o.peer || o.peerNode) throw new VideoError(ErrorCode.Duplicate, "This stream was already accepted");
    if (m.accept) o.peer = s;
    else this.#offers.delete(m.sid);
    this.#answeredElsewhere(o.sid, o.to, s);
    o.from.send(answerPush(o.sid, s.user, m));
    return { accepted: m.accept };
  }

  /** The viewer of an accepted stream draws it at a new size: its sender is told (it may send smaller frames). */
  pane(s: Session, m: Request<"stream.pane">): Record<string, never> {
    const h: Outbound = { t: "stream.pane", sid: m.sid, from: s.user, width: m.width, height: m.height };
    const o = this.#offers.get(m.sid);
    const p = o ? null : this.#proxies.get(m.sid);
    if (p && p.peer === s) this.hub.link?.publish({ t: "stream", op: "pane", sid: m.sid, to: p.origin, h });
    else if (o && o.peer === s) o.from.send(h);
    else throw new VideoError("no_such_stream", "You are not watching a stream with that id");
    return {};
  }

  /** The recipient's sessions here other than `by` drop the offer: one of theirs answered it. */
  #answeredElsewhere(sid: string, user: string, by: Session | null): void {
    const h: Outbound = { t: "stream.stop", sid, by: user, reason: "answered" };
    for (const x of this.hub.sessionsOf(user)) if (x !== by) x.send(h);
  }

  /** Relays one sealed frame; `delivered` is false when it was dropped for a slow recipient. */
  frame(s: Session, m: Request<"stream.frame">, body: Uint8Array): { delivered: boolean } {
    const o = this.#offers.get(m.sid);
    if (!o || o.from !== s) throw new VideoError("no_such_stream", "You are not streaming with that id");
    if (!o.peer && !o.peerNode) {
      throw new VideoError(ErrorCode.Forbidden, `${o.to} has not accepted the stream yet`);
    }
    const now = this.now();
    o.tokens = Math.min(o.fps, o.tokens + ((now - o.refill) * o.fps * 2) / 1000);
    o.refill = now;
    const peer = o.peer;
    if (o.tokens < 1 || (peer && (peer.outbox.closed || peer.outbox.bytes > LOW_WATER))) {
      o.dropped++;
      return { delivered: false };
    }
    o.tokens--;
    const h: Outbound = { t: "stream.frame", sid: o.sid, from: s.user, pts: m.pts, index: m.index };
    if (peer) peer.send(h, body);
    else {this.hub.link?.publish({
        t: "stream",
        op: "frame",
        sid: o.sid,
        to: o.peerNode!,
        h,
        body: toBase64(body),
      });}
    o.relayed++;
    return { delivered: true };
  }

  stop(s: Session, m: Request<"stream.stop">): { relayed: number; dropped: number } {
    const o = this.#offers.get(m.sid);
    const p = o ? null : this.#proxies.get(m.sid);
    if (p && p.to === s.user) {
      this.#endProxy(m.sid, p, s, "stopped");
      return { relayed: 0, dropped: 0 };
    }
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
    for (const [sid, p] of [...this.#proxies]) if (p.peer === s) this.#endProxy(sid, p, s, "disconnected");
  }

  /** The recipient's side ends a stream offered from another node. */
  #endProxy(sid: string, p: Proxy, by: Session, reason: string): void {
    this.#proxies.delete(sid);
    const h: Outbound = { t: "stream.stop", sid, by: by.user, reason };
    this.hub.link?.publish({ t: "stream", op: "stop", sid, to: p.origin, h });
  }

  /** A stream event from another node. */
  #onBus(from: string, e: StreamEvent): void {
    if (e.to !== undefined && e.to !== this.hub.link?.node) return;
    const o = this.#offers.get(e.sid);
    const p = this.#proxies.get(e.sid);
    switch (e.op) {
      case "offer": {
        const online = [...this.hub.sessionsOf(e.user ?? "")].filter((x) => x.state === "ready");
        if (!online.length) return;
        this.#proxies.set(e.sid, { origin: from, to: e.user!, peer: null });
        for (const x of online) x.send(e.h);
        return;
      }
      case "answer":
        if (!o || o.peer || o.peerNode) return; // the first answer decides
        if (e.accept) o.peerNode = from;
        else this.#offers.delete(e.sid);
        this.#answeredElsewhere(e.sid, o.to, null);
        // …and on the other nodes (the answering node keeps its proxy: see "stop")
        this.hub.link?.publish({
          t: "stream",
          op: "stop",
          sid: e.sid,
          h: { t: "stream.stop", sid: e.sid, by: o.to, reason: "answered" },
        });
        o.from.send(e.h);
        return;
      case "pane":
        if (o && o.peerNode === from) o.from.send(e.h);
        return;
      case "frame":
        if (p?.peer && !p.peer.outbox.closed && p.peer.outbox.bytes <= LOW_WATER) {
          p.peer.send(e.h, fromBase64(e.body ?? ""));
        }
        return;
      case "stop":
        if (o && (o.peerNode === from || (!o.peer && !o.peerNode))) {
          this.#offers.delete(e.sid);
          o.from.send(e.h);
        }
        if (p && p.origin === from) {
          if (e.h.t === "stream.stop" && e.h.reason === "answered" && p.peer) return; // answered here: it goes on
          this.#proxies.delete(e.sid);
          if (p.peer) p.peer.send(e.h);
          else for (const x of this.hub.sessionsOf(p.to)) x.send(e.h);
        }
    }
  }

  #end(o: Offer, by: Session, reason: string, counts?: { sent: number; dropped: number }): void {
    this.#offers.delete(o.sid);
    const h: Outbound = { t: "stream.stop", sid: o.sid, by: by.user, reason, ...counts };
    if (by !== o.from) o.from.send(h);
    if (o.peer && by !== o.peer) o.peer.send(h);
    else if (o.peerNode) this.hub.link?.publish({ t: "stream", op: "stop", sid: o.sid, to: o.peerNode, h });
    else if (!o.peer && by === o.from) {
      for (const x of this.hub.sessionsOf(o.to)) x.send(h); // withdraw a pending offer
      this.hub.link?.publish({ t: "stream", op: "stop", sid: o.sid, h });
    }
  }
}

/** The answer as its sender gets it, with the viewer's pixels when it said them. */
function answerPush(sid: string, from: string, m: Request<"stream.answer">): Outbound {
  const h: Outbound = { t: "stream.answer", sid, from, accept: m.accept };
  if (m.accept && m.width !== undefined && m.height !== undefined) {
    Object.assign(h, { width: m.width, height: m.height });
  }
  return h;
}
