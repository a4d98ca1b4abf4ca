/**
 * Device link channels (issue 9): `link.open/join/msg`, a rendezvous between two sessions of one
 * user; bodies are relayed as is (sealed by the clients under a key from the one-time code the
 * server never sees). Across nodes (issue 16) the two sessions may be on different nodes: a join for
 * a channel unknown here asks the other nodes over the bus (the node holding it answers within
 * JOIN_WAIT_MS), and each side then relays bodies to the other's node. No I/O besides sessions and
 * the bus.
 */
import { fromBase64, toBase64 } from "../common/bytes.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { Request } from "../protocol/messages.ts";
import type { BusEvent } from "./bus/bus.ts";
import type { Core } from "./core.ts";
import type { Session } from "./session.ts";

/** The other end of a channel on another node. */
interface Remote {
  remote: string;
}
type End = Session | Remote;
const isRemote = (e: End | null): e is Remote => e !== null && "remote" in e;

interface Link {
  user: string;
  /** The opening side (always a local session on the node that opened it). */
  a: End;
  b: End | null;
  expires: number;
}
const LINK_TTL_MS = 10 * 60_000;
const JOIN_WAIT_MS = 2000;
const links = new WeakMap<Core, Map<string, Link>>();
/** Joins waiting for another node's answer: channel → the joining session. */
const joining = new WeakMap<Core, Map<string, { s: Session; done: (ok: boolean) => void }>>();

type LinkEvent = Extract<BusEvent, { t: "link" }>;

function linksOf(c: Core): Map<string, Link> {
  let m = links.get(c);
  if (!m) links.set(c, m = new Map());
  const now = c.clock.now();
  for (const [k, l] of m) {
    const gone = (e: End | null) => e !== null && !isRemote(e) && e.state === "closed";
    if (l.expires < now || gone(l.a) || gone(l.b)) m.delete(k);
  }
  return m;
}

function joinsOf(c: Core): Map<string, { s: Session; done: (ok: boolean) => void }> {
  let m = joining.get(c);
  if (!m) joining.set(c, m = new Map());
  return m;
}

export function linkOpen(c: Core, s: Session, m: Request<"link.open">): Promise<void> {
  const all = linksOf(c);
  for (const [k, l] of all) if (l.a === s) all.delete(k); // one open channel per session
  if (all.has(m.channel)) {
    return Promise.resolve(s.fail(m.id, ErrorCode.Duplicate, "That link code is in use"));
  }
  all.set(m.channel, { user: s.user, a: s, b: null, expires: c.clock.now() + LINK_TTL_MS });
  s.reply(m.id, { expires: c.clock.now() + LINK_TTL_MS });
  return Promise.resolve();
}

export async function linkJoin(c: Core, s: Session, m: Request<"link.join">): Promise<void> {
  const l = linksOf(c).get(m.channel);
  const refuse = () =>
    s.fail(
      m.id,
      ErrorCode.NoSuchLink,
      "No device of this account is waiting for that code (it may have expired)",
    );
  if (!l && c.hub.link) {
    // Perhaps opened on another node: ask, and wait for the answer of the node that holds it.
    const answer = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => done(null), JOIN_WAIT_MS);
      const done = (node: string | null) => {
        clearTimeout(timer);
        joinsOf(c).delete(m.channel);
        resolve(node);
      };
      joinsOf(c).set(m.channel, { s, done: (ok) => done(ok ? "" : null) });
      c.hub.link!.publish({
        t: "link",
        op: "join",
        channel: m.channel,
        user: s.user,
        node: c.hub.link!.node,
      });
    });
    if (answer === null || s.state === "closed") return refuse();
    return s.reply(m.id, {});
  }
  if (!l || l.user !== s.user || l.b || l.a === s) return refuse();
  l.b = s;
  send(c, l.a, m.channel, { event: "joined" });
  s.reply(m.id, {});
}

export function linkMsg(c: Core, s: Session, m: Request<"link.msg">, body: Uint8Array): Promise<void> {
  const l = linksOf(c).get(m.channel);
  const peer = l && l.b ? (s === l.a ? l.b : s === l.b ? l.a : null) : null;
  if (!peer || (!isRemote(peer) && peer.state === "closed")) {
    s.fail(m.id, ErrorCode.NoSuchLink, "The other device is not on this link any more");
    return Promise.resolve();
  }
  send(c, peer, m.channel, {}, body.slice());
  s.reply(m.id, {});
  return Promise.resolve();
}

function send(c: Core, to: End, channel: string, h: { event?: "joined" }, body?: Uint8Array): void {
  if (!isRemote(to)) {
    to.send({ t: "link", channel, ...h }, body);
    return;
  }
  c.hub.link?.publish({
    t: "link",
    op: h.event ? "joined" : "msg",
    channel,
    to: to.remote,
    ...(body ? { body: toBase64(body) } : {}),
  });
}

/** A link event from another node (lib/server/cluster.ts). */
export function linkEvent(c: Core, from: string, e: LinkEvent): void {
  const me = c.hub.link?.node;
  if (e.op === "join") {
    const l = linksOf(c).get(e.channel);
    if (!l || l.user !== e.user || l.b || isRemote(l.a)) return; // not ours (or taken): another node may answer
    l.b = { remote: from };
    (l.a as Session).send({ t: "link", channel: e.channel, event: "joined" });
    c.hub.link?.publish({ t: "link", op: "joined", channel: e.channel, to: from });
    return;
  }
  if (e.to !== me) return;
  const l = linksOf(c).get(e.channel);
  if (e.op === "joined") {
    // Our join was taken by `from`: this node's end is the session that asked.
    const j = joinsOf(c).get(e.channel);
    if (!j) return;
    linksOf(c).set(e.channel, {
      user: j.s.user,
      a: { remote: from },
      b: j.s,
      expires: c.clock.now() + LINK_TTL_MS,
    });
    j.done(true);
    return;
  }
  if (!l) return;
  const local = [l.a, l.b].find((x) => x !== null && !isRemote(x)) as Session | undefined;
  if (local && local.state !== "closed") {
    local.send({ t: "link", channel: e.channel }, fromBase64(e.body ?? ""));
  }
}
