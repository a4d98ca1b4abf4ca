/**
 * Handlers for room.create, room.invite, room.leave, room.kick, room.list and room.adopt (open
 * rooms' room.join, room.public and room.directory: handlers_open_rooms.ts). Room
 * admins invite and kick. A membership change signed by the client (`change`, opaque here) is
 * relayed to every member in the `room` event as `signed`; clients verify it against the signer's
 * identity key.
 * The room's membership log (lib/crypto/membership_log.ts) is stored and relayed here but decided
 * on clients: a request's `log` entry (shape checked by the protocol) is appended only when its
 * epoch is the next one, sent in the `room` event as `entry`, and `room.list` gives every room's
 * whole log so a new member gets the chain from its creation. A room made before logs (0.1.0) gets
 * its first entry from an admin (`room.adopt`); its members' clients verify it like any genesis.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Request } from "../protocol/messages.ts";
import { normalizeName } from "../protocol/names.ts";
import type { Core } from "./core.ts";
import type { Session } from "./session.ts";
import type { RoomRow } from "./store/store.ts";

export const view = (r: RoomRow) => ({
  name: r.name,
  members: r.members.map((m) => m.user),
  admins: r.members.filter((m) => m.admin).map((m) => m.user),
});

export async function notify(
  c: Core,
  room: string,
  change: string,
  by: string,
  extra: string[] = [],
  more: { user?: string; signed?: unknown; entry?: unknown } = {},
): Promise<void> {
  const r = await c.store.getRoom(room);
  if (!r) return;
  c.hub.rooms.set(room, new Set(r.members.map((m) => m.user)));
  const v = view(r);
  const h = {
    t: "room",
    room,
    members: v.members,
    admins: v.admins,
    change,
    by,
    ...(more.user ? { user: more.user } : {}),
    ...(more.signed ? { signed: more.signed } : {}),
    ...(more.entry ? { entry: more.entry } : {}),
  } as const;
  const users = [...new Set([...v.members, ...extra])];
  c.hub.toUsers(users, h);
  c.hub.link?.publish({ t: "room", room, users, h });
}

/** Appends a request's log entry; false (and a failure sent) when it is not the room's next epoch. */
export async function appendLog(
  c: Core,
  s: Session,
  id: number,
  room: string,
  entry: unknown,
): Promise<boolean> {
  if (!entry) return true;
  const e = entry as { room: string; epoch: number };
  if (e.room === room && await c.store.appendRoomLog(room, e.epoch, JSON.stringify(entry))) return true;
  s.fail(id, ErrorCode.Invalid, `That membership change of #${room} is not the next one; reload and retry`);
  return false;
}

export async function create(c: Core, s: Session, m: Request<"room.create">): Promise<void> {
  const name = normalizeName(m.room);
  if (!name) return s.fail(m.id, ErrorCode.BadName, `"${m.room}" is not a valid room name`);
  const members = new Set<string>([s.user]);
  for (const raw of m.members) {
    const u = normalizeName(raw);
    if (!u || !(await c.knownUser(u))) {
      return s.fail(m.id, ErrorCode.NoSuchUser, `There is no user named ${raw}`);
    }
    members.add(u);
  }
  const since = await c.store.lastSeq();
  const created = await c.store.createRoom({
    name,
    createdBy: s.user,
    createdAt: c.clock.now(),
    members: [...members].map((user) => ({ user, sinceSeq: since, admin: user === s.user })),
  });
  if (!created) return s.fail(m.id, ErrorCode.RoomExists, `A room named #${name} already exists`);
  c.log.info("room.create", { room: name, by: s.user, members: members.size });
  if (!(await appendLog(c, s, m.id, name, m.log))) return;
  await notify(c, name, "created", s.user, [], { signed: m.change, entry: m.log });
  s.reply(m.id, view((await c.store.getRoom(name))!));
}

export async function invite(c: Core, s: Session, m: Request<"room.invite">): Promise<void> {
  const name = normalizeName(m.room);
  const r = name ? await c.store.getRoom(name) : null;
  if (!name || !r) return s.fail(m.id, ErrorCode.NoSuchRoom, `There is no room named #${m.room}`);
  const me = r.members.find((x) => x.user === s.user);
  if (!me) return s.fail(m.id, ErrorCode.NotMember, `You are not a member of #${name}`);
  if (!me.admin) return s.fail(m.id, ErrorCode.Forbidden, `Only admins of #${name} can invite`);
  const u = normalizeName(m.user);
  if (!u || !(await c.knownUser(u))) {
    return s.fail(m.id, ErrorCode.NoSuchUser, `There is no user named ${m.user}`);
  }
  if (r.members.some((x) => x.user === u)) {
    return s.fail(m.id, ErrorCode.AlreadyMember, `${u} is already in #${name}`);
  }
  if (!(await appendLog(c, s, m.id, name, m.log))) return;
  await c.messages.flush();
  await c.store.addMember(name, { user: u, sinceSeq: await c.store.lastSeq(), admin: false });
  c.log.info("room.invite", { room: name, by: s.user, user: u });
  await notify(c, name, "joined", s.user, [], { user: u, signed: m.change, entry: m.log });
  s.reply(m.id, { room: name, user: u });
}

export async function leave(c: Core, s: Session, m: Request<"room.leave">): Promise<void> {
  const name = normalizeName(m.room);
  const r = name ? await c.store.getRoom(name) : null;
  if (!name || !r) return s.fail(m.id, ErrorCode.NoSuchRoom, `There is no room named #${m.room}`);
  if (!r.members.some((x) => x.user === s.user)) {
    return s.fail(m.id, ErrorCode.NotMember, `You are not a member of #${name}`);
  }
  if (!(await appendLog(c, s, m.id, name, m.log))) return;
  await c.messages.flush();
  await c.store.removeMember(name, s.user);
  const rest = r.members.filter((x) => x.user !== s.user);
  if (rest.length > 0 && !rest.some((x) => x.admin)) {
    // Keep the room manageable: the longest-standing member becomes its admin.
    const heir = rest.reduce((a, b) => (a.sinceSeq <= b.sinceSeq ? a : b));
    await c.store.addMember(name, { ...heir, admin: true });
  }
  c.log.info("room.leave", { room: name, user: s.user });
  await notify(c, name, "left", s.user, [s.user], { user: s.user, signed: m.change, entry: m.log });
  s.reply(m.id, { room: name });
}

/** A room admin removes a member; the member and everyone left are told (clients rotate their keys). */
export async function kick(c: Core, s: Session, m: Request<"room.kick">): Promise<void> {
  const name = normalizeName(m.room);
  const r = name ? await c.store.getRoom(name) : null;
  if (!name || !r) return s.fail(m.id, ErrorCode.NoSuchRoom, `There is no room named #${m.room}`);
  const me = r.members.find((x) => x.user === s.user);
  if (!me) return s.fail(m.id, ErrorCode.NotMember, `You are not a member of #${name}`);
  if (!me.admin) return s.fail(m.id, ErrorCode.Forbidden, `Only admins of #${name} can remove members`);
  const u = normalizeName(m.user);
  if (!u || !r.members.some((x) => x.user === u)) {
    return s.fail(m.id, ErrorCode.NotMember, `${m.user} is not a member of #${name}`);
  }
  if (u === s.user) return s.fail(m.id, ErrorCode.Invalid, `Use room.leave to leave #${name}`);
  if (!(await appendLog(c, s, m.id, name, m.log))) return;
  await c.messages.flush();
  await c.store.removeMember(name, u);
  c.log.info("room.kick", { room: name, by: s.user, user: u });
  await c.store.audit({
    at: c.clock.now(),
    actor: s.user,
    action: "room.kick",
    target: u,
    detail: `#${name}`,
  });
  await notify(c, name, "kicked", s.user, [u], { user: u, signed: m.change, entry: m.log });
  s.reply(m.id, { room: name, user: u });
}

export async function list(c: Core, s: Session, m: Request<"room.list">): Promise<void> {
  const rooms = await c.store.roomsOf(s.user);
  const out = [];
  for (const r of rooms) {
    const log = (await c.store.roomLog(r.name)).map((e) => JSON.parse(e) as unknown);
    out.push({
      ...view(r),
      log,
      ...(r.open ? { open: true } : {}),
      ...(r.description ? { description: r.description } : {}),
    });
  }
  s.reply(m.id, { rooms: out });
}

/**
 * A room made by 0.1.0 has no membership log: one of its admins sends the genesis entry (epoch 0,
 * "create", the members as the admin's client lists them). Stored once; every member's client
 * verifies it exactly as it verifies a new room's, and the member list must match (client/e2e/room_log.ts).
 */
export async function adopt(c: Core, s: Session, m: Request<"room.adopt">): Promise<void> {
  const name = normalizeName(m.room);
  const r = name ? await c.store.getRoom(name) : null;
  if (!name || !r) return s.fail(m.id, ErrorCode.NoSuchRoom, `There is no room named #${m.room}`);
  const me = r.members.find((x) => x.user === s.user);
  if (!me) return s.fail(m.id, ErrorCode.NotMember, `You are not a member of #${name}`);
  if (!me.admin) {
    return s.fail(m.id, ErrorCode.Forbidden, `Only admins of #${name} can sign its first log entry`);
  }
  // Epoch 0, "create", the members listed here now: a genesis its members' clients would refuse
  // (their check against this list) could never be replaced, and the room would stay unusable.
  const members = r.members.map((x) => x.user).sort().join(",");
  if (m.log.epoch !== 0 || m.log.action !== "create" || m.log.by !== s.user || m.log.target !== members) {
    return s.fail(
      m.id,
      ErrorCode.Invalid,
      `The first membership change of #${name} must be signed by you and list its members now`,
    );
  }
  if (!(await appendLog(c, s, m.id, name, m.log))) return;
  c.log.info("room.adopt", { room: name, by: s.user, members: r.members.length });
  await notify(c, name, "updated", s.user, [], { entry: m.log });
  s.reply(m.id, { room: name });
}
