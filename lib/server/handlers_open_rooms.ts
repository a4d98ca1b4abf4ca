/**
 * Open rooms (issue 71.12): `room.join` (one enters an open room by themself), `room.public` (a room
 * admin opens or closes it, and sets its public description) and `room.directory` (the server's open
 * rooms, listed to anyone with their member counts and descriptions, never their members' names).
 * The server keeps the flag (store `setRoomPublic`) and refuses a self-join to a room it holds closed
 * (`room_closed`), but members' clients decide by the room's signed log (lib/crypto/membership_log.ts:
 * an admin's "open"/"close", a "join" signed by the joiner only while open): a request that changes
 * who may join, or who is in, of a room with a log carries its entry, appended through
 * handlers_rooms.ts `appendLog`. The description is public, not encrypted: the protocol's schema
 * bounds it and refuses control, bidi and separator characters.
 */
import { ErrorCode } from "../protocol/errors.ts";
import { OPEN_ROOMS_MAX, type Request } from "../protocol/messages.ts";
import { normalizeName } from "../protocol/names.ts";
import type { Core } from "./core.ts";
import { appendLog, notify, view } from "./handlers_rooms.ts";
import type { Session } from "./session.ts";
import type { RoomRow } from "./store/store.ts";

type Entry = { action: string; by: string; target: string } | undefined;

/** The room `raw` names, or null once the failure is sent. */
async function roomOf(c: Core, s: Session, id: number, raw: string): Promise<RoomRow | null> {
  const name = normalizeName(raw);
  const r = name ? await c.store.getRoom(name) : null;
  if (!r) s.fail(id, ErrorCode.NoSuchRoom, `There is no room named #${raw}`);
  return r;
}

/**
 * Why a request's log entry does not fit (a sentence), or null: a room with a log needs one whose
 * action is `action`, by the requester (its signature and the room's state are the clients' to check).
 */
async function entryRefusal(
  c: Core,
  s: Session,
  room: string,
  e: Entry,
  action: string,
): Promise<string | null> {
  if (!e) {
    return (await c.store.roomLog(room)).length
      ? `#${room} has a signed membership log: this change needs end-to-end keys (a client folder) to sign it`
      : null;
  }
  const target = action === "join" ? s.user : "";
  if (e.action !== action || e.by !== s.user || e.target !== target) {
    return `That membership change does not ${action} #${room} as ${s.user}`;
  }
  return null;
}

/** One enters an open room by themself; a closed one, or one they are in, is refused. */
export async function join(c: Core, s: Session, m: Request<"room.join">): Promise<void> {
  const r = await roomOf(c, s, m.id, m.room);
  if (!r) return;
  const name = r.name;
  if (r.members.some((x) => x.user === s.user)) {
    return s.fail(m.id, ErrorCode.AlreadyMember, `You are already in #${name}`);
  }
  if (!r.open) {
    return s.fail(m.id, ErrorCode.RoomClosed, `#${name} is not open: ask one of its members to invite you`);
  }
  const no = await entryRefusal(c, s, name, m.log, "join");
  if (no) return s.fail(m.id, ErrorCode.Invalid, no);
  if (!(await appendLog(c, s, m.id, name, m.log))) return;
  await c.messages.flush();
  await c.store.addMember(name, { user: s.user, sinceSeq: await c.store.lastSeq(), admin: false });
  c.log.info("room.join", { room: name, user: s.user });
  await notify(c, name, "joined", s.user, [], { user: s.user, signed: m.change, entry: m.log });
  s.reply(m.id, view((await c.store.getRoom(name))!));
}

/** A room admin opens or closes the room, and/or sets its public description. */
export async function setPublic(c: Core, s: Session, m: Request<"room.public">): Promise<void> {
  const r = await roomOf(c, s, m.id, m.room);
  if (!r) return;
  const name = r.name;
  const me = r.members.find((x) => x.user === s.user);
  if (!me) return s.fail(m.id, ErrorCode.NotMember, `You are not a member of #${name}`);
  if (!me.admin) {
    return s.fail(m.id, ErrorCode.Forbidden, `Only admins of #${name} can open or close it or describe it`);
  }
  if (m.open === undefined && m.description === undefined) {
    return s.fail(m.id, ErrorCode.Invalid, `Say whether #${name} is open, or give its description`);
  }
  const turn = m.open !== undefined && m.open !== r.open;
  if (m.open !== undefined && !turn && m.log) {
    return s.fail(m.id, ErrorCode.Invalid, `#${name} is already ${r.open ? "open" : "closed"}`);
  }
  if (turn) {
    const no = await entryRefusal(c, s, name, m.log, m.open ? "open" : "close");
    if (no) return s.fail(m.id, ErrorCode.Invalid, no);
    if (!(await appendLog(c, s, m.id, name, m.log))) return;
  }
  await c.store.setRoomPublic(name, { open: m.open, description: m.description });
  c.log.info("room.public", {
    room: name,
    by: s.user,
    open: m.open ?? r.open,
    described: m.description !== undefined,
  });
  if (turn) await notify(c, name, "updated", s.user, [], { entry: m.log });
  s.reply(m.id, { room: name, open: m.open ?? r.open, description: m.description ?? r.description });
}

/**
 * The server's open rooms (at most OPEN_ROOMS_MAX), to anyone: name, member count, description,
 * whether mine; with `room`, that one alone if open, with its log, members and admins (for a joiner).
 */
export async function directory(c: Core, s: Session, m: Request<"room.directory">): Promise<void> {
  if (m.room !== undefined) return await oneOpenRoom(c, s, m.id, m.room);
  const mine = new Set((await c.store.roomsOf(s.user)).map((r) => r.name));
  const rooms = (await c.store.openRooms(OPEN_ROOMS_MAX)).map((r) => ({ ...r, member: mine.has(r.name) }));
  s.reply(m.id, { rooms });
}

/** `room.directory` for one room: listed only while open, with what a joiner's client verifies. */
async function oneOpenRoom(c: Core, s: Session, id: number, raw: string): Promise<void> {
  const name = normalizeName(raw);
  const r = name ? await c.store.getRoom(name) : null;
  if (!r || !r.open) return s.reply(id, { rooms: [] });
  const log = (await c.store.roomLog(r.name)).map((e) => JSON.parse(e) as unknown);
  const member = r.members.some((x) => x.user === s.user);
  s.reply(id, {
    rooms: [{ name: r.name, members: r.members.length, description: r.description, member }],
    listing: { ...view(r), log },
  });
}
