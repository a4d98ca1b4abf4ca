/**
 * Room and broadcast sealing under my sender key (`RoomManager`), and the sender-key handouts as
 * data: a seal never sends. `sealRoom` rotates my chain when due and answers, with the sealed
 * body, one `Handout` (a sealed "skd" DM, e2e/dm_seal.ts) per member still missing the chain; the
 * caller sends them before the body (e2e/body_codec.ts) and reports each with `handedOut`.
 *
 * - Who gets the key: every device of every member of the room's verified log (broadcasts: every
 *   registered user) and my other devices. A member is marked as holding the chain only once its
 *   handout went out (`handedOut`), as before, when the codec sent it itself.
 * - A handout not reported yet is kept in the keystore ("skpend:<room>": its mid and distribution;
 *   "skpend:rooms" lists those rooms, so the folder's other processes know its echo: `isOwnHandout`)
 *   and sealed again, under the same mid, with the next message of the room — by this process or
 *   another of the folder, after a crash too — so every message goes after a handout of its chain
 *   to each member (the server keeps the first copy of a mid: a repeat is a duplicate, not a second
 *   key). A member keeps the first distribution of a chain it gets, and the kept one is the oldest.
 * - A handout that cannot be sealed (a changed key) or sent is told as a notice; the message goes anyway.
 *
 * Room keys for a room made by Parley 0.1.0 that has no membership log yet (e2e/room_log.ts) are not
 * refused but held in the keystore ("held:<room>", the last MAX_HELD per room) until the room's admin
 * has signed its log, then installed for the senders that log lets in (`RoomLogs.refusal`, the same
 * rule as for any room key) and dropped, with a notice, otherwise (`holdKey`, `releaseHeld`).
 *
 * Pushed room changes (in order with messages, `roomChanged`): the room's verified log is read again,
 * a member who left or was kicked makes my chain rotate and their chains go, and a change made by
 * someone else is told with who signed it and whether it checks out (`describeChange`).
 * Runs under the folder's lock.
 */
import { randomId } from "../../common/random.ts";
import type { SenderKeyDistribution } from "../../crypto/sender_keys.ts";
import { type CryptoStateStore, mergeWrites, type StoreWrites } from "../../crypto/state_store.ts";
import { type SignedMembershipChange, verifyMembershipChange } from "../../crypto/membership.ts";
import type { Target } from "../backend.ts";
import type { Handout, LogVerb, MembershipVerb, Sealed } from "./body_codec.ts";
import type { DmSealed } from "./dm_seal.ts";
import { encodePayload } from "./keys.ts";
import type { E2eParts } from "./parts.ts";

/** The sender-key "room" that carries broadcasts. */
export const BROADCAST_ROOM = "*";

/** The text of an error, for a notice. */
export const errorText = (e: unknown): string => e instanceof Error ? e.message : String(e);

/** A handout not reported yet: to whom, under which mid, which distribution. */
interface Pending {
  to: string;
  mid: string;
  dist: SenderKeyDistribution;
}

const pendingKey = (room: string) => `skpend:${room}`;

async function pendingOf(p: E2eParts, room: string): Promise<Pending[]> {
  return ((await p.cs.get(pendingKey(room))) as Pending[] | undefined) ?? [];
}

/** The rooms with handouts kept ("skpend:<room>"), so a handout's mid can be found without its room. */
const PENDING_ROOMS = "skpend:rooms";

async function keepPending(p: E2eParts, room: string, list: Pending[]): Promise<void> {
  const key = pendingKey(room);
  const rooms = new Set(((await p.cs.get(PENDING_ROOMS)) as string[] | undefined) ?? []);
  const listed = rooms.has(room);
  if (list.length) rooms.add(room);
  else rooms.delete(room);
  const index = listed === rooms.has(room) ? {} : { [PENDING_ROOMS]: [...rooms] };
  await p.cs.commit(
    list.length ? { put: { [key]: list, ...index }, del: [] } : { put: index, del: [key] },
  );
}

/**
 * Whether `mid` is a handout of mine not reported yet: sent by another process of this folder (the
 * same device), whose echo reaches this one sealed for its member only; it is not a message to show.
 */
export async function isOwnHandout(p: E2eParts, mid: string): Promise<boolean> {
  for (const room of ((await p.cs.get(PENDING_ROOMS)) as string[] | undefined) ?? []) {
    if ((await pendingOf(p, room)).some((e) => e.mid === mid)) return true;
  }
  return false;
}

const skd = (e: Pending) => encodePayload({ v: 1, k: "skd", mid: e.mid, dist: e.dist });

/** The sender-key room of a target: the room's name, or "*" for broadcasts. */
export const senderKeyRoom = (to: Target): string => to.kind === "room" ? to.name! : BROADCAST_ROOM;

/** Seals `payload` for `to`: a DM (e2e/dm_seal.ts), else a room or broadcasts (`sealRoom`). */
export function sealFor(p: E2eParts, to: Target, payload: Uint8Array): Promise<Sealed> {
  return to.kind === "user" ? p.dms.encrypt(to.name!, payload) : sealRoom(p, to, payload);
}

/** Seals `payload` for a room (or broadcasts) under my sender key, with the handouts it needs first. */
export async function sealRoom(p: E2eParts, to: Target, payload: Uint8Array): Promise<Sealed> {
  const { room, handouts } = await planHandouts(p, to);
  return { body: await p.rooms.encrypt(room, payload), handouts };
}

/**
 * Makes my sender key for a room (or broadcasts) usable: rotated when due, and a sealed handout for
 * every member with a device still missing it (a kept one under its first mid). Sends nothing.
 */
export async function planHandouts(p: E2eParts, to: Target): Promise<{ room: string; handouts: Handout[] }> {
  const room = senderKeyRoom(to);
  const members = to.kind === "room" ? await p.logs.recipients(room) : await p.dir.everyone();
  const users = new Set([...members, p.me]);
  // A member may have linked a device while this client was away (broadcasts: every user's, at once).
  await p.devices.current(to.kind === "room" ? [...users] : undefined);
  const byUser = new Map<string, string[]>();
  for (const u of users) byUser.set(u, await p.devices.addresses(u));
  const addrs = [...byUser.values()].flat().filter((a) => a !== p.dm.self);
  const plan = await p.rooms.planSend(room, addrs);
  const chainId = plan.dist.chainId;
  const stored = await pendingOf(p, room);
  const kept = stored.filter((e) => e.dist.chainId === chainId);
  const next: Pending[] = [], handouts: Handout[] = [];
  for (const [u, as] of byUser) {
    if (!as.some((a) => plan.missing.includes(a))) continue;
    const e = kept.find((k) => k.to === u) ?? { to: u, mid: randomId(undefined, 12), dist: plan.dist };
    try {
      handouts.push({ to: u, mid: e.mid, room, chainId, ...await p.dms.encrypt(u, skd(e)) });
      next.push(e);
    } catch (err) {
      cannotRead(p, to, u, err);
    }
  }
  const mids = (l: Pending[]) => l.map((e) => e.mid).join(" ");
  if (mids(next) !== mids(stored)) await keepPending(p, room, next); // most seals: none, and none before
  return { room, handouts };
}

/** Tells that member `u` cannot read what I send to `to` (their handout failed). */
function cannotRead(p: E2eParts, to: Target, u: string, e: unknown): void {
  const where = to.kind === "room" ? `#${to.name}` : "broadcasts";
  p.notice("warn", `${u === p.me ? "Your other devices" : u} cannot read ${where} from you: ${errorText(e)}`);
}

/**
 * A handout went out (its DM recorded as consumed by the codec first): its member's devices as
 * holding the chain, and it is no longer kept. A failed one is told and stays kept.
 */
export async function handedOut(
  p: E2eParts,
  h: Handout,
  r: { seq: number } | { error: unknown },
): Promise<void> {
  if ("error" in r) {
    cannotRead(
      p,
      h.room === BROADCAST_ROOM ? { kind: "broadcast" } : { kind: "room", name: h.room },
      h.to,
      r.error,
    );
    return;
  }
  const got = (await p.devices.addresses(h.to)).filter((a) => a !== p.dm.self);
  await p.rooms.markDistributed(h.room, h.chainId, got);
  await keepPending(p, h.room, (await pendingOf(p, h.room)).filter((e) => e.mid !== h.mid));
}

/** The handout sealed again for its member's devices as now known (after a `devices_changed`). */
export async function resealHandout(p: E2eParts, h: Handout): Promise<DmSealed> {
  const e = (await pendingOf(p, h.room)).find((k) => k.mid === h.mid);
  if (!e) throw new Error(`The room key for ${h.to} is no longer waiting to be handed out`);
  return await p.dms.encrypt(h.to, skd(e));
}

/** Set once this folder has adopted the 0.1.0 rooms it is an admin of (`adoptLegacyRooms`). */
const ADOPTED = "rooms:adopted-0.1.0";

/**
 * Once per folder (the upgrade from 0.1.0): each room I am an admin of that has no membership log
 * gets its genesis entry signed by me (e2e/room_log.ts) and a fresh sender key for its members,
 * kept as handouts that go out with the room's next message.
 */
export async function adoptLegacyRooms(p: E2eParts): Promise<void> {
  if (await p.cs.get(ADOPTED)) return;
  for (const room of await p.logs.unadopted()) {
    const members = (await p.logs.state(room)).members;
    await planHandouts(p, { kind: "room", name: room });
    p.notice(
      "info",
      `#${room} (made by Parley 0.1.0) now has a membership log signed by you: ${members.join(", ")}`,
    );
  }
  await p.cs.commit({ put: { [ADOPTED]: true }, del: [] });
}

/** How many room keys one room holds at most (a member sending key after key cannot grow it further). */
const MAX_HELD = 32;

/** A held room key: the sender's device address, its user, the key. */
export interface Held {
  from: string;
  user: string;
  dist: SenderKeyDistribution;
}

const keyOf = (room: string) => `held:${room}`;

/** The writes that hold `h` for its room. */
export async function holdKey(cs: Pick<CryptoStateStore, "get">, h: Held): Promise<StoreWrites> {
  const held = ((await cs.get(keyOf(h.dist.room))) as Held[] | undefined) ?? [];
  return { put: { [keyOf(h.dist.room)]: [...held, h].slice(-MAX_HELD) }, del: [] };
}

/**
 * Installs what the room's verified log now allows (writes committed here) and answers the users
 * whose keys are still held (the room still has no log).
 */
export async function releaseHeld(p: E2eParts, room: string): Promise<string[]> {
  const { cs, logs, rooms } = p;
  const warn = (text: string) => p.notice("warn", text);
  const held = (await cs.get(keyOf(room))) as Held[] | undefined;
  if (!held) return [];
  let w: StoreWrites = { put: {}, del: [] };
  const keep: Held[] = [];
  for (const h of held) {
    const refused = await logs.refusal(room, h.user);
    if (refused === null) w = mergeWrites(w, await rooms.acceptDistribution(h.from, h.dist));
    else if (logs.unlogged(room)) keep.push(h);
    else if (refused) warn(`A room key from ${h.user} for #${room} was refused: ${refused}`);
  }
  if (keep.length < held.length) {
    if (keep.length) w.put[keyOf(room)] = keep;
    else w.del.push(keyOf(room));
    await cs.commit(w);
  }
  return keep.map((h) => h.user);
}

/** Applies a pushed `room` frame header `h`. */
export async function roomChanged(p: E2eParts, h: Record<string, unknown>): Promise<void> {
  const room = String(h.room);
  const members = Array.isArray(h.members) ? h.members : [];
  const change = String(h.change);
  const by = String(h.by ?? "");
  const user = typeof h.user === "string" ? h.user : change === "left" ? by : "";
  p.logs.invalidate(room);
  let inLog = false; // the change is the latest entry of the room's verified membership log
  if (members.includes(p.me)) {
    inLog = await p.logs.isLatest(room, h.entry).catch((e) => {
      p.notice("error", errorText(e));
      return false;
    });
  }
  if (change === "updated" && inLog && by !== p.me) { // room.adopt: a 0.1.0 room got its log
    p.notice(
      "info",
      `${by} signed #${room}'s membership log (a room made by Parley 0.1.0): ${members.join(", ")}`,
    );
  }
  if ((change === "left" || change === "kicked") && user) {
    await p.rooms.memberLeft(room, user, await p.devices.addresses(user));
  }
  const verb = openRoomVerb(change, by, user, h.entry) ?? MEMBERSHIP_VERBS[change];
  if (by && by !== p.me && verb) {
    const n = await describeChange(p, h, room, verb, by, user, inLog || !members.includes(p.me));
    p.notice(n.level, n.text);
  }
}

/** An open room's change (issue 71.12): a self-join ("joined" by the joiner), an open or a close ("updated"). */
function openRoomVerb(change: string, by: string, user: string, entry: unknown): LogVerb | undefined {
  if (change === "joined" && by && user === by) return "enter";
  const action = typeof entry === "object" && entry !== null
    ? (entry as { action?: unknown }).action
    : undefined;
  if (change === "updated" && (action === "open" || action === "close")) return action;
  return undefined;
}

/** The membership verb of a room push's `change`. */
export const MEMBERSHIP_VERBS: Record<string, MembershipVerb> = {
  created: "create",
  joined: "join",
  left: "leave",
  kicked: "kick",
};

/** A notice for the user about a room membership change. */
export interface ChangeNotice {
  level: "info" | "warn" | "error";
  text: string;
}

/**
 * What to tell the user about a membership change by `by` in push `h`, its signature checked;
 * `inLog`: the change is the latest entry of the room's verified membership log (else it is a
 * change the log does not hold, e.g. one the server invented or replayed, and is flagged).
 */
export async function describeChange(
  p: E2eParts,
  h: Record<string, unknown>,
  room: string,
  verb: LogVerb,
  by: string,
  user: string,
  inLog: boolean,
): Promise<ChangeNotice> {
  if (verb === "enter" || verb === "open" || verb === "close") return openRoomChange(room, verb, by, inLog);
  const members = (h.members as string[]) ?? [];
  const admins = (h.admins as string[]) ?? [];
  const what = verb === "create"
    ? `${by} created #${room} with ${members.join(", ")}`
    : verb === "join"
    ? `${by} added ${user} to #${room}`
    : verb === "leave"
    ? `${by} left #${room}`
    : `${by} removed ${user} from #${room}`;
  if (!inLog) return { level: "warn", text: `${what} (not in #${room}'s signed membership log: ignored)` };
  const s = h.signed as SignedMembershipChange | undefined;
  if (!s || typeof s !== "object" || !s.change) {
    return { level: "warn", text: `${what} (not signed: this change may not come from ${by})` };
  }
  const c = s.change;
  const target = verb === "create" ? [...members].sort().join(",") : user;
  let ok = c.room === room && c.action === verb && c.by === by && c.target === target &&
    (verb === "leave" || admins.includes(by));
  if (ok) ok = await verifyMembershipChange(s, [await p.dir.signKeyOf(by)]);
  if (ok) return { level: "info", text: `${what} (signed by ${by}, verified)` };
  return { level: "error", text: `${what}, but its signature does not match ${by}'s identity key` };
}

/**
 * An open room's change (issue 71.12): a self-join, an open, a close. Its only record is the signed
 * log entry (no 0.1 signed change): shown as checked when it is the latest entry of the verified log.
 */
function openRoomChange(
  room: string,
  verb: "enter" | "open" | "close",
  by: string,
  inLog: boolean,
): ChangeNotice {
  const what = verb === "enter"
    ? `${by} joined #${room} by themself (an open room)`
    : verb === "open"
    ? `${by} opened #${room}: anyone on the server may join it`
    : `${by} closed #${room}: nobody joins by themself any more`;
  if (!inLog) return { level: "warn", text: `${what} (not in #${room}'s signed membership log: ignored)` };
  return { level: "info", text: `${what} (signed by ${by}, verified)` };
}
