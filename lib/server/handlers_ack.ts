/**
 * The `ack` handler: a device's cursors moved, in the next group commit (message_log.ts `ack`).
 * Bodies and conversations are never read; an entry counts only for the user's own conversations.
 */
import type { Request } from "../protocol/messages.ts";
import type { Core } from "./core.ts";
import type { Session } from "./session.ts";
import { handlerFailed } from "./send_reply.ts";

/**
 * Acknowledges in one transaction. Only the user's own conversations (their DMs, broadcasts,
 * rooms they are in) and only up to the last stored seq count; other entries are skipped and the
 * reply says how many were taken. The bound is the highest seq the message log knows is stored;
 * the store is asked only for an ack above it (on several nodes, a round trip per ack otherwise).
 * An ack of DMs and broadcasts below that bound is checked at once and returns no promise: the
 * connection's next requests are not chained behind its commit (issue 37, B: two promises and a
 * closure for each send after an ack). Its entries count as sends do: toward the connection's
 * window of uncommitted work (`Session.inflight`: a big ack holds the connection's reader until its
 * commit, so a flood of them is written one commit at a time while others are served between
 * them) and the log's backlog (message_log.ts `room`). One that asks the store or the room cache
 * holds the connection's next requests until its commit.
 */
export function ack(c: Core, s: Session, m: Request<"ack">): void | Promise<void> {
  const top = c.messages.storedTop;
  if (m.acks.some((a) => a.seq > top || a.conv.startsWith("r:"))) return ackLooked(c, s, m);
  void commitAcks(c, s, m, m.acks.filter((a) => ownPlain(s.user, a.conv)));
}

/** `ack` when the store or the room cache is asked: done once committed. */
async function ackLooked(c: Core, s: Session, m: Request<"ack">): Promise<void> {
  const top = c.messages.storedTop;
  const last = m.acks.some((a) => a.seq > top) ? await c.messages.refreshTop() : top;
  const ok: { conv: string; seq: number }[] = [];
  const rooms = new Map<string, boolean>();
  for (const a of m.acks) {
    if (a.seq > last || !(await ownConversation(c, s.user, a.conv, rooms))) continue;
    ok.push(a);
  }
  await commitAcks(c, s, m, ok);
}

/**
 * Queues the acks `ok` for the next message batch's commit (each device has its own cursors); the
 * reply follows that commit, and so does the promise. Only `sync` reads cursors, and it writes what
 * is queued first.
 */
function commitAcks(
  c: Core,
  s: Session,
  m: Request<"ack">,
  ok: { conv: string; seq: number }[],
): Promise<void> {
  const answer = { acked: ok.length, skipped: m.acks.length - ok.length };
  if (!ok.length) return Promise.resolve(s.reply(m.id, answer));
  s.inflight += ok.length;
  return c.messages.ack({ user: s.queue?.cursor ?? s.user, acks: ok }).then(
    () => {
      s.settled(ok.length);
      s.reply(m.id, answer);
    },
    (e) => {
      s.settled(ok.length);
      handlerFailed(c, s, "ack", m.id, e); // a store out of reach: `unavailable`, to ack again
    },
  );
}

/** Whether `conv` is a broadcast or one of `user`'s DMs (no room: `ownConversation` asks). */
function ownPlain(user: string, conv: string): boolean {
  return conv === "b" || (conv.startsWith("d:") && conv.slice(2).split(":").includes(user));
}

async function ownConversation(
  c: Core,
  user: string,
  conv: string,
  rooms: Map<string, boolean>,
): Promise<boolean> {
  if (!conv.startsWith("r:")) return ownPlain(user, conv);
  const name = conv.slice(2);
  let member = rooms.get(name);
  if (member === undefined) {
    member = (await c.roomMembers(name))?.has(user) ?? false;
    rooms.set(name, member);
  }
  return member;
}
