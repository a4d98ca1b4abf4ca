/**
 * Room and broadcast sealing under my sender key (`RoomManager`), and the sender-key handouts as
 * data: a seal never sends. `RoomSealer.seal` rotates my chain when due and answers, with the sealed
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
import { encodePayload } from "./keys.ts";
import type { DeviceLists, DmSealed, DmSealer, E2eDirectory } from "./dm_seal.ts";
import type { RoomLogs } from "./room_log.ts";
import type { OpenedRoomMessage, RoomManager } from "../../crypto/room_manager.ts";

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

/** The rooms with handouts kept ("skpend:<room>"), so a handout's mid can be found without its room. */
const PENDING_ROOMS = "skpend:rooms";

const skd = (e: Pending) => encodePayload({ v: 1, k: "skd", mid: e.mid, dist: e.dist });

/** The sender-key room of a target: the room's name, or "*" for broadcasts. */
export const senderKeyRoom = (to: Target): string => to.kind === "room" ? to.name! : BROADCAST_ROOM;

/** Set once this folder has adopted the 0.1.0 rooms I am an admin of (`adoptLegacyRooms`). */
const ADOPTED = "rooms:adopted-0.1.0";

/** What the room sealer reads of the signed membership logs (e2e/room_log.ts). */
export type RoomLogPort = Pick<
  RoomLogs,
  "recipients" | "unadopted" | "state" | "refusal" | "unlogged" | "invalidate" | "isLatest"
>;

/** Tells the user something (a notice). */
export type Notice = (level: "info" | "warn" | "error", text: string) => void;

/**
 * My sender keys and their handouts, the held 0.1.0 room keys and the room pushes (see the module
 * comment), over the keystore `cs`; handouts are sealed as DMs by `dms`, to the devices `devices` lists.
 */
export class RoomSealer {
  constructor(
    readonly cs: CryptoStateStore,
    readonly rooms: Pick<
      RoomManager,
      "planSend" | "encrypt" | "markDistributed" | "memberLeft" | "acceptDistribution" | "open"
    >,
    readonly dms: Pick<DmSealer, "encrypt">,
    readonly devices: Pick<DeviceLists, "me" | "self" | "current" | "addresses">,
    readonly logs: RoomLogPort,
    readonly dir: Pick<E2eDirectory, "everyone" | "signKeyOf">,
    readonly notice: Notice,
  ) {}

  /** Who this client is. */
  get me(): string {
    return this.devices.me;
  }

  async #pendingOf(room: string): Promise<Pending[]> {
    return ((await this.cs.get(pendingKey(room))) as Pending[] | undefined) ?? [];
  }

  async #keepPending(room: string, list: Pending[]): Promise<void> {
    const key = pendingKey(room);
    const rooms = new Set(((await this.cs.get(PENDING_ROOMS)) as string[] | undefined) ?? []);
    const listed = rooms.has(room);
    if (list.length) rooms.add(room);
    else rooms.delete(room);
    const index = listed === rooms.has(room) ? {} : { [PENDING_ROOMS]: [...rooms] };
    await this.cs.commit(
      list.length ? { put: { [key]: list, ...index }, del: [] } : { put: index, del: [key] },
    );
  }

  /**
   * Whether `mid` is a handout of mine not reported yet: sent by another process of this folder (the
   * same device), whose echo reaches this one sealed for its member only; it is not a message to show.
   */
  async isOwnHandout(mid: string): Promise<boolean> {
    for (const room of ((await this.cs.get(PENDING_ROOMS)) as string[] | undefined) ?? []) {
      if ((await this.#pendingOf(room)).some((e) => e.mid === mid)) return true;
    }
    return false;
  }

  /** Seals `payload` for a room (or broadcasts) under my sender key, with the handouts it needs first. */
  async seal(to: Target, payload: Uint8Array): Promise<Sealed> {
    const { room, handouts } = await this.planHandouts(to);
    return { body: await this.rooms.encrypt(room, payload), handouts };
  }

  /**
   * Makes my sender key for a room (or broadcasts) usable: rotated when due, and a sealed handout for
   * every member with a device still missing it (a kept one under its first mid). Sends nothing.
   */
  async planHandouts(to: Target): Promise<{ room: string; handouts: Handout[] }> {
    const room = senderKeyRoom(to);
    const members = to.kind === "room" ? await this.logs.recipients(room) : await this.dir.everyone();
    const users = new Set([...members, this.me]);
    // A member may have linked a device while this client was away (broadcasts: every user's, at once).
    await this.devices.current(to.kind === "room" ? [...users] : undefined);
    const byUser = new Map<string, string[]>();
    for (const u of users) byUser.set(u, await this.devices.addresses(u));
    const addrs = [...byUser.values()].flat().filter((a) => a !== this.devices.self);
    const plan = await this.rooms.planSend(room, addrs);
    const chainId = plan.dist.chainId;
    const stored = await this.#pendingOf(room);
    const kept = stored.filter((e) => e.dist.chainId === chainId);
    const next: Pending[] = [], handouts: Handout[] = [];
    for (const [u, as] of byUser) {
      if (!as.some((a) => plan.missing.includes(a))) continue;
      const e = kept.find((k) => k.to === u) ?? { to: u, mid: randomId(undefined, 12), dist: plan.dist };
      try {
        handouts.push({ to: u, mid: e.mid, room, chainId, ...await this.dms.encrypt(u, skd(e)) });
        next.push(e);
      } catch (err) {
        this.#cannotRead(to, u, err);
      }
    }
    const mids = (l: Pending[]) => l.map((e) => e.mid).join(" ");
    if (mids(next) !== mids(stored)) await this.#keepPending(room, next); // most seals: none, and none before
    return { room, handouts };
  }

  /** Tells that member `u` cannot read what I send to `to` (their handout failed). */
  #cannotRead(to: Target, u: string, e: unknown): void {
    const where = to.kind === "room" ? `#${to.name}` : "broadcasts";
    this.notice(
      "warn",
      `${u === this.me ? "Your other devices" : u} cannot read ${where} from you: ${errorText(e)}`,
    );
  }

  /**
   * A handout went out (its DM recorded as consumed by the codec first): its member's devices as
   * holding the chain, and it is no longer kept. A failed one is told and stays kept.
   */
  async handedOut(h: Handout, r: { seq: number } | { error: unknown }): Promise<void> {
    if ("error" in r) {
      const to: Target = h.room === BROADCAST_ROOM ? { kind: "broadcast" } : { kind: "room", name: h.room };
      return this.#cannotRead(to, h.to, r.error);
    }
    const got = (await this.devices.addresses(h.to)).filter((a) => a !== this.devices.self);
    await this.rooms.markDistributed(h.room, h.chainId, got);
    await this.#keepPending(h.room, (await this.#pendingOf(h.room)).filter((e) => e.mid !== h.mid));
  }

  /** The handout sealed again for its member's devices as now known (after a `devices_changed`). */
  async resealHandout(h: Handout): Promise<DmSealed> {
    const e = (await this.#pendingOf(h.room)).find((k) => k.mid === h.mid);
    if (!e) throw new Error(`The room key for ${h.to} is no longer waiting to be handed out`);
    return await this.dms.encrypt(h.to, skd(e));
  }

  /**
   * Once per folder (the upgrade from 0.1.0): each room I am an admin of that has no membership log
   * gets its genesis entry signed by me (e2e/room_log.ts) and a fresh sender key for its members,
   * kept as handouts that go out with the room's next message.
   */
  async adoptLegacyRooms(): Promise<void> {
    if (await this.cs.get(ADOPTED)) return;
    for (const room of await this.logs.unadopted()) {
      const members = (await this.logs.state(room)).members;
      await this.planHandouts({ kind: "room", name: room });
      this.notice(
        "info",
        `#${room} (made by Parley 0.1.0) now has a membership log signed by you: ${members.join(", ")}`,
      );
    }
    await this.cs.commit({ put: { [ADOPTED]: true }, del: [] });
  }

  /**
   * Installs what the room's verified log now allows (writes committed here) and answers the users
   * whose keys are still held (the room still has no log).
   */
  async releaseHeld(room: string): Promise<string[]> {
    const { cs, logs, rooms } = this;
    const held = (await cs.get(keyOf(room))) as Held[] | undefined;
    if (!held) return [];
    let w: StoreWrites = { put: {}, del: [] };
    const keep: Held[] = [];
    for (const h of held) {
      const refused = await logs.refusal(room, h.user);
      if (refused === null) w = mergeWrites(w, await rooms.acceptDistribution(h.from, h.dist));
      else if (logs.unlogged(room)) keep.push(h);
      else if (refused) this.notice("warn", `A room key from ${h.user} for #${room} was refused: ${refused}`);
    }
    if (keep.length < held.length) {
      if (keep.length) w.put[keyOf(room)] = keep;
      else w.del.push(keyOf(room));
      await cs.commit(w);
    }
    return keep.map((h) => h.user);
  }

  /** Opens room (or broadcast) message `body` of `sender` with their chain; its step's writes to commit with it. */
  async open(room: string, sender: string, body: Uint8Array): Promise<OpenedRoomMessage> {
    return await this.rooms.open(room, sender, body, await this.devices.addresses(sender));
  }

  /**
   * A member's sender key for a room, from device `from` of `user`: the writes that install it, or
   * hold it (a 0.1.0 room no admin has adopted yet: its log decides once there), or none (refused);
   * `warn`: what to tell once they are committed.
   */
  async takeKey(
    from: string,
    user: string,
    dist: SenderKeyDistribution,
  ): Promise<{ writes: StoreWrites; warn?: string }> {
    const room = dist.room;
    const refused = room === BROADCAST_ROOM ? null : await this.logs.refusal(room, user);
    if (refused !== null && this.logs.unlogged(room)) {
      return {
        writes: await holdKey(this.cs, { from, user, dist }),
        warn: `A room key from ${user} for #${room} is kept until an admin of #${room} ` +
          `signs its membership log (a room made by Parley 0.1.0)`,
      };
    }
    // Refused: consumed (never retried), the key not installed.
    if (refused !== null) {
      return {
        writes: { put: {}, del: [] },
        ...(refused ? { warn: `A room key from ${user} for #${room} was refused: ${refused}` } : {}),
      };
    }
    return { writes: await this.rooms.acceptDistribution(from, dist) };
  }

  /** Applies a pushed `room` frame header `h`. */
  async roomChanged(h: Record<string, unknown>): Promise<void> {
    const room = String(h.room);
    const members = Array.isArray(h.members) ? h.members : [];
    const change = String(h.change);
    const by = String(h.by ?? "");
    const user = typeof h.user === "string" ? h.user : change === "left" ? by : "";
    this.logs.invalidate(room);
    let inLog = false; // the change is the latest entry of the room's verified membership log
    if (members.includes(this.me)) {
      inLog = await this.logs.isLatest(room, h.entry).catch((e) => {
        this.notice("error", errorText(e));
        return false;
      });
    }
    if (change === "updated" && inLog && by !== this.me) { // room.adopt: a 0.1.0 room got its log
      this.notice(
        "info",
        `${by} signed #${room}'s membership log (a room made by Parley 0.1.0): ${members.join(", ")}`,
      );
    }
    if ((change === "left" || change === "kicked") && user) {
      await this.rooms.memberLeft(room, user, await this.devices.addresses(user));
    }
    const verb = openRoomVerb(change, by, user, h.entry) ?? MEMBERSHIP_VERBS[change];
    if (by && by !== this.me && verb) {
      const inVerifiedLog = inLog || !members.includes(this.me);
      const n = await describeChange(this.dir, h, { room, verb, by, user, inLog: inVerifiedLog });
      this.notice(n.level, n.text);
    }
  }
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
  dir: Pick<E2eDirectory, "signKeyOf">,
  h: Record<string, unknown>,
  c0: { room: string; verb: LogVerb; by: string; user: string; inLog: boolean },
): Promise<ChangeNotice> {
  const { room, verb, by, user, inLog } = c0;
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
  if (ok) ok = await verifyMembershipChange(s, [await dir.signKeyOf(by)]);
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
