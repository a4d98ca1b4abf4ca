/**
 * Handlers for send, sync (offline queue), unsend and history (ack: handlers_ack.ts). Bodies are
 * opaque bytes: stored and relayed, never parsed or logged (`--log-messages` logs sender, target,
 * size and seq only).
 */
import { encodeFrame } from "../protocol/frame.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { Request, Target } from "../protocol/messages.ts";
import { convKey, normalizeName } from "../protocol/names.ts";
import type { Core } from "./core.ts";
import { devicesChanged } from "./handlers_devices.ts";
import { msgFields, wireTarget } from "./hub.ts";
import type { Session } from "./session.ts";
import { SendReply } from "./send_reply.ts";
import type { StoredMessage, TargetKind } from "./store/store.ts";

/** Rows read per page of a sync (at most this many bodies in memory at once). */
const SYNC_PAGE = 64;

/** A checked target. */
type Stored = { kind: TargetKind; name: string; conv: string; afterSeq: number };
type Resolved = Stored | { err: string; msg: string };

/** Checks a target and the sender's right to it. */
async function resolveTarget(c: Core, s: Session, to: Target): Promise<Resolved> {
  if (to.kind === "broadcast") return { kind: "broadcast", name: "", conv: "b", afterSeq: 0 };
  const name = normalizeName(to.name);
  if (to.kind === "user") {
    if (!name || !(await c.knownUser(name))) {
      return { err: ErrorCode.NoSuchUser, msg: `There is no user named ${to.name}` };
    }
    return { kind: "user", name, conv: convKey("user", s.user, name), afterSeq: 0 };
  }
  const t = roomTarget(s, to.name, name, name ? await c.roomMembers(name) : null);
  if ("err" in t) return t;
  const room = await c.store.getRoom(t.name);
  const since = room?.members.find((m) => m.user === s.user)?.sinceSeq ?? 0;
  return { ...t, afterSeq: since };
}

/** A room target (`raw` as asked, `name` normalised) from its members (null: no such room): `s` must be one. */
function roomTarget(s: Session, raw: string, name: string | null, members: Set<string> | null): Resolved {
  if (!name || !members) return { err: ErrorCode.NoSuchRoom, msg: `There is no room named #${raw}` };
  if (!members.has(s.user)) return { err: ErrorCode.NotMember, msg: `You are not a member of #${name}` };
  return { kind: "room", name, conv: convKey("room", name), afterSeq: 0 };
}

/**
 * A send's target: at once when the hub knows it (a known user; a room in the membership cache,
 * whose history lookup a send skips), else as `resolveTarget`/`resolveRoomFast` find it.
 */
function sendTarget(c: Core, s: Session, to: Target): Resolved | Promise<Resolved> {
  if (to.kind === "broadcast") return resolveTarget(c, s, to);
  if (to.kind === "user") {
    // The usual send goes where the last one went: its target as then resolved (issue 37, B).
    const last = s.lastDm;
    if (last !== null && last.raw === to.name && last.user === s.user && c.hub.users.has(last.t.name)) {
      return last.t;
    }
    const name = normalizeName(to.name);
    if (!name || !c.hub.users.has(name)) return resolveTarget(c, s, to);
    const t = { kind: "user" as const, name, conv: convKey("user", s.user, name), afterSeq: 0 };
    s.lastDm = { raw: to.name, user: s.user, t };
    return t;
  }
  const name = normalizeName(to.name);
  const members = name ? c.hub.rooms.get(name) : undefined;
  return members ? roomTarget(s, to.name, name, members) : resolveRoomFast(c, s, to.name);
}

/**
 * `send`: at once, up to the group commit's queue, when nothing needs the store (the usual case:
 * a promise only where the store is asked); the reply follows the batch's commit (`SendReply`).
 */
export function send(c: Core, s: Session, m: Request<"send">, body: Uint8Array): void | Promise<void> {
  const t = sendTarget(c, s, m.to);
  return t instanceof Promise ? sendLater(c, s, m, body, t) : sendTo(c, s, m, body, t);
}

/**
 * `sendTo` once the target is resolved. The rare waits' closures live in functions of their own (this,
 * `storeLater`, `devicesLater`): no closure on a hot path (ARCHITECTURE.md rule 9).
 */
function sendLater(
  c: Core,
  s: Session,
  m: Request<"send">,
  body: Uint8Array,
  t: Promise<Resolved>,
): Promise<void> {
  return t.then((t) => sendTo(c, s, m, body, t));
}

function sendTo(
  c: Core,
  s: Session,
  m: Request<"send">,
  body: Uint8Array,
  t: Resolved,
): void | Promise<void> {
  if ("err" in t) return s.fail(m.id, t.err, t.msg);
  if (t.kind === "user" && m.devices) return sendDevices(c, s, m, body, t, m.devices);
  return sendChecked(c, s, m, body, t);
}

/** A send whose target and devices passed: relayed (a signal) or queued for the group commit. */
function sendChecked(
  c: Core,
  s: Session,
  m: Request<"send">,
  body: Uint8Array,
  t: Stored,
): void | Promise<void> {
  if (m.ephemeral) return relaySignal(c, s, m, t, body); // a DM signal's devices checked as a message's
  const now = c.clock.now(); // read once: the floor's check and the message's time
  const low = c.dataSpaceRefusal(body.length, now); // the free-space floor (--min-free)
  if (low) return s.fail(m.id, low.code, low.msg);
  const room = c.reserveQuota(s.user, body.length);
  if (typeof room !== "boolean") return storeLater(c, s, m, body, t, room);
  store(c, s, m, body, t, room, now);
}

/** `store` once the sender's quota is known; the clock is read again (messages are queued in time order). */
function storeLater(
  c: Core,
  s: Session,
  m: Request<"send">,
  body: Uint8Array,
  t: Stored,
  room: Promise<boolean>,
): Promise<void> {
  return room.then((ok) => store(c, s, m, body, t, ok, c.clock.now()));
}

/** A DM naming the devices it was encrypted for: refused with the current lists when they changed. */
function sendDevices(
  c: Core,
  s: Session,
  m: Request<"send">,
  body: Uint8Array,
  t: Stored,
  devices: string[],
): void | Promise<void> {
  const want = devicesChanged(c, s, t.name, devices);
  if (want instanceof Promise) return devicesLater(c, s, m, body, t, want);
  return want ? refuseDevices(s, m.id, want) : sendChecked(c, s, m, body, t);
}

/** `sendDevices` once the device lists are read (apart, as `sendLater`). */
function devicesLater(
  c: Core,
  s: Session,
  m: Request<"send">,
  body: Uint8Array,
  t: Stored,
  want: Promise<Record<string, number[]> | null>,
): Promise<void> {
  return want.then((w) => w ? refuseDevices(s, m.id, w) : sendChecked(c, s, m, body, t));
}

function refuseDevices(s: Session, id: number, devices: Record<string, number[]>): void {
  s.send({
    t: "err",
    id,
    code: ErrorCode.DevicesChanged,
    msg: "The recipient's or your devices changed: encrypt again for these",
    devices,
  });
}

/** Queues the message for the group commit (`quota`: its bytes were reserved; `ts`: now). */
function store(
  c: Core,
  s: Session,
  m: Request<"send">,
  body: Uint8Array,
  t: Stored,
  quota: boolean,
  ts: number,
): void {
  if (!quota) {
    const mib = Math.round(c.config.quotaBytes / 1048576 * 10) / 10;
    return s.fail(
      m.id,
      ErrorCode.Quota,
      `Your stored messages would exceed your quota of ${mib} MiB; nothing was stored`,
    );
  }
  s.inflight++;
  // The stored row once the store gives it its seq (the embedded store's is this object: no copy). Its
  // body stays the view of the piece read (no copy either: each read's piece is a buffer never written
  // again, and the decoder frees none a frame handed out views); the row is let go once its batch is
  // stored and fanned out (issue 37: the copy into shared chunks cost B ~2%, 6.45 → 6.33 µs per DM).
  const msg: StoredMessage = {
    seq: 0,
    mid: m.mid,
    sender: s.user,
    kind: t.kind,
    target: t.name,
    conv: t.conv,
    ts,
    body,
  };
  if (m.ttl) msg.expires = ts + m.ttl * 1000;
  // The sender's next request is handled while this one waits for group commit.
  c.messages.enqueue(new SendReply(c, s, m.id, msg));
}

/** Largest signal body (a typing event sealed for a few devices is far smaller). */
const SIGNAL_MAX = 16 * 1024;

/**
 * An ephemeral `send` (typing, issue 14): relayed now to the live sessions of the recipients (a
 * DM's recipient, a room's other members), never stored, never queued for a session that has not
 * synced or a user who is offline, never sent to the sender's own sessions. A DM's `devices` were
 * checked as a message's (`devices_changed`). The reply says to how many sessions it went.
 */
function relaySignal(
  c: Core,
  s: Session,
  m: Request<"send">,
  t: { kind: TargetKind; name: string; conv: string },
  body: Uint8Array,
): void {
  if (t.kind === "broadcast") return s.fail(m.id, ErrorCode.Invalid, "Signals go to a user or a room");
  if (body.length > SIGNAL_MAX) return s.fail(m.id, ErrorCode.Invalid, "A signal is at most 16 KiB");
  const h = {
    t: "ephemeral" as const,
    mid: m.mid,
    from: s.user,
    to: wireTarget({ kind: t.kind, target: t.name }),
    ts: c.clock.now(),
    conv: t.conv,
  };
  const users = t.kind === "room" ? c.hub.roomUsers(t.name) : [t.name];
  const frame = encodeFrame(h, body);
  let n = 0;
  for (const u of users) {
    if (u === s.user) continue;
    for (const x of c.hub.sessionsOf(u)) if (x.delivery === "live" && x.outbox.push(frame)) n++;
  }
  s.reply(m.id, { delivered: n });
}

/** Room sends skip the history lookup: membership from the cache is enough. */
async function resolveRoomFast(c: Core, s: Session, raw: string): Promise<Resolved> {
  const name = normalizeName(raw);
  return roomTarget(s, raw, name, name ? await c.roomMembers(name) : null);
}

export async function sync(c: Core, s: Session, m: Request<"sync">): Promise<void> {
  await c.messages.flush();
  s.beginSync();
  let after = 0, count = 0, bytes = 0;
  for (;;) {
    let page;
    try {
      page = await c.store.pending(s.user, after, SYNC_PAGE, s.queue ?? undefined);
    } catch (e) { // the store out of reach: the client is told; live delivery is not left held (issue 74.4)
      c.messages.deliveries += s.abortSync().n;
      throw e;
    }
    for (const row of page) {
      // Never more than half the send queue waiting: a reader slower than the queue is fed gently
      // instead of overflowing it (and being dropped as too slow).
      if (s.outbox.bytes + row.body.length > c.config.maxQueueBytes / 2) await s.outbox.drained();
      if (s.state === "closed") break;
      bytes += s.outbox.pushMsg(msgFields(row), row.body);
      after = row.seq;
      count++;
    }
    if (page.length < SYNC_PAGE || s.state === "closed") break;
    await s.outbox.drained();
  }
  const held = s.endSync(after);
  c.messages.deliveries += held.n;
  c.hub.metrics.delivered(count + held.n, bytes + held.bytes);
  s.reply(m.id, { count, lastSeq: after });
}

/** `message.unsend`: the sender deletes their stored message (issue 39.3); offline members never get it. */
export async function unsend(c: Core, s: Session, m: Request<"message.unsend">): Promise<void> {
  const freed = await c.store.unsendMessage(s.user, m.mid);
  if (freed !== null) c.releaseQuota(s.user, freed);
  s.reply(m.id, { deleted: freed !== null });
}

export async function history(c: Core, s: Session, m: Request<"history">): Promise<void> {
  const t = await resolveTarget(c, s, m.to);
  if ("err" in t) return s.fail(m.id, t.err, t.msg);
  const limit = Math.min(m.limit ?? c.config.historyLimit, c.config.historyLimit);
  // At most half the send queue of bodies per answer (the newest that fit), read only as far as that.
  const budget = Math.max(1, Math.floor(c.config.maxQueueBytes / 2));
  const rows = await c.store.history(t.conv, m.since ?? 0, t.afterSeq, limit, budget, m.before);
  for (const row of rows) {
    if (s.outbox.bytes + row.body.length > budget) await s.outbox.drained();
    if (s.state === "closed") return;
    s.outbox.pushMsg(msgFields(row, m.id), row.body);
  }
  s.reply(m.id, { count: rows.length });
}
