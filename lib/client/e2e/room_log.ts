/**
 * `RoomLogs`: the client side of the room membership log (lib/crypto/membership_log.ts). Before
 * a room message is sealed or a room key accepted, the room's whole log from `room.list` is
 * verified from its creation (signatures against pinned identity keys, admins from the log, the
 * hash chain, epochs, dates) and must extend the last log this client accepted (stored as
 * "mlog:<room>" = {epoch, head}); the server's member list must equal the log's members. Any
 * failure is a `BackendError("membership", …)` with one sentence, and the caller sends nothing.
 * `recipients()` is the one function that turns a room into sender-key recipients; `refusal()`
 * says why a room key from someone must not be installed.
 * A room made by 0.1.0 has no log: when this client is one of its admins (as the server lists
 * them), `state()` adopts it: it signs the genesis entry ("create", the members the server lists)
 * and publishes it (`room.adopt`), then verifies the room like any other (`verifyLog`, the same
 * rule as for a new room's genesis), and `onAdopt` rotates this client's sender key.
 * No lock of its own: `E2eCodec` calls it under its lock.
 */
import type { Clock } from "../../common/clock.ts";
import { loadIdentity } from "../../crypto/keystore.ts";
import {
  type LogAction,
  type LogEntry,
  type LogState,
  recipientsOf,
  sameMembers,
  signEntry,
  type SignKeyOf,
  verifyLog,
} from "../../crypto/membership_log.ts";
import type { CryptoStateStore } from "../../crypto/state_store.ts";
import { BackendError } from "../backend.ts";
import type { LogVerb } from "./body_codec.ts";
import type { Request } from "./dm_seal.ts";

const ACTION: Record<LogVerb, LogAction> = {
  create: "create",
  join: "add",
  leave: "leave",
  kick: "remove",
  enter: "join",
  open: "open",
  close: "close",
};

interface Listed {
  name: string;
  members: string[];
  admins?: string[];
  log?: unknown;
}

/** True when the server gives `r` no membership log (a room made by 0.1.0). */
const unlogged = (r: Listed) => !Array.isArray(r.log) || r.log.length === 0;

export class RoomLogs {
  readonly #listed = new Map<string, Listed>();
  /** Verified states of the listings in `#listed` (a listing is verified once). */
  readonly #verified = new Map<string, LogState>();

  constructor(
    readonly request: Request,
    readonly cs: CryptoStateStore,
    readonly signKeyOf: SignKeyOf,
    readonly clock: Clock,
    readonly me: string,
    readonly onAdopt: (room: string) => Promise<void> = () => Promise.resolve(),
  ) {}

  /** Forgets what `room.list` said about `room` (after any room push). */
  invalidate(room: string): void {
    this.#listed.delete(room);
    this.#verified.delete(room);
  }

  async #reload(): Promise<void> {
    const rs = (await this.request("room.list")).header.rooms;
    if (!Array.isArray(rs)) throw new BackendError("membership", "The server's room list is malformed");
    this.#listed.clear();
    this.#verified.clear();
    for (const r of rs as Listed[]) if (r && typeof r.name === "string") this.#listed.set(r.name, r);
  }

  async #list(room: string, fresh: boolean): Promise<Listed> {
    if (fresh || !this.#listed.has(room)) await this.#reload();
    const r = this.#listed.get(room);
    if (!r) {
      // The server lists only one's own rooms: its refusal of the room's history says which it is
      // (a room that does not exist, a typo, or one of others); only when it answers is it "not a member".
      await this.request("history", { to: { kind: "room", name: room }, limit: 1 });
      throw new BackendError("not_member", `You are not a member of #${room}`);
    }
    return r;
  }

  /** The verified state of `room`; throws `BackendError` when the log or the server's list is wrong. */
  async state(room: string, fresh = false): Promise<LogState> {
    let r = await this.#list(room, fresh);
    const done = this.#verified.get(room);
    if (done) return done;
    if (unlogged(r) && r.admins?.includes(this.me) && Array.isArray(r.members)) {
      await this.#adopt(r);
      r = await this.#list(room, true);
    }
    const key = `mlog:${room}`;
    const known = (await this.cs.get(key)) as { epoch: number; head: string } | undefined;
    const v = await verifyLog(room, r.log, this.signKeyOf, this.clock.now(), known);
    if (!v.ok) throw new BackendError("membership", `Not sent: ${v.error}`);
    const members = Array.isArray(r.members) ? r.members : [];
    if (!sameMembers(members, v.state.members)) {
      throw new BackendError(
        "membership",
        `Not sent: the server lists #${room}'s members as ${members.join(", ")}, ` +
          `but its signed membership log says ${v.state.members.join(", ")}`,
      );
    }
    if (!known || known.epoch !== v.state.epoch) {
      await this.cs.commit({ put: { [key]: { epoch: v.state.epoch, head: v.state.head } }, del: [] });
    }
    this.#verified.set(room, v.state);
    return v.state;
  }

  /** Signs and publishes the genesis entry of a 0.1.0 room I am an admin of (another admin may win). */
  async #adopt(r: Listed): Promise<void> {
    const target = [...new Set(r.members)].sort().join(",");
    const log = await signEntry(await loadIdentity(this.cs), null, {
      room: r.name,
      action: "create",
      target,
      by: this.me,
      at: this.clock.now(),
    });
    try {
      await this.request("room.adopt", { room: r.name, log });
    } catch (e) {
      if (!(e instanceof BackendError) || e.code !== "invalid") throw e; // another admin signed one first
      return;
    }
    await this.onAdopt(r.name);
  }

  /** The rooms I am an admin of that have no membership log yet (made by 0.1.0), from a fresh list. */
  async unadopted(): Promise<string[]> {
    await this.#reload();
    return [...this.#listed.values()].filter((r) => unlogged(r) && r.admins?.includes(this.me)).map((r) =>
      r.name
    );
  }

  /** True when the server gives `room` no membership log (made by 0.1.0, no admin has signed one yet). */
  unlogged(room: string): boolean {
    const r = this.#listed.get(room);
    return r !== undefined && unlogged(r);
  }

  /** True when `entry` (from a room push) is the last entry of `room`'s verified log. */
  async isLatest(room: string, entry: unknown): Promise<boolean> {
    await this.state(room);
    if (typeof entry !== "object" || entry === null) return false;
    const log = this.#listed.get(room)?.log as { sig?: unknown }[];
    return log.at(-1)?.sig === (entry as { sig?: unknown }).sig;
  }

  /** Who gets my sender key for `room`: the log's members (later, their devices). */
  async recipients(room: string): Promise<string[]> {
    return recipientsOf(await this.state(room));
  }

  /**
   * Null when `user` is a member of `room` by its verified log (re-read once if not), else why
   * not: a sentence, or "" when I am not in the room myself (nothing to tell).
   */
  async refusal(room: string, user: string): Promise<string | null> {
    try {
      if ((await this.state(room)).members.includes(user)) return null;
      if ((await this.state(room, true)).members.includes(user)) return null;
      return `${user} is not a member by #${room}'s signed membership log`;
    } catch (e) {
      if (e instanceof BackendError && e.code === "not_member") return "";
      return e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * The signed log entry for a change I make (`target` for "create": the sorted members,
   * comma-separated; for "open" and "close": ""). "enter" (a self-join) is signed on the open room's
   * log as the server lists it to a joiner, verified here first; undefined when it lists no such open
   * room. "open" when the log says open, or "close" when it says closed, is refused (`unchanged`).
   */
  async entry(me: string, room: string, verb: LogVerb, target: string): Promise<LogEntry | undefined> {
    const state = verb === "create"
      ? null
      : verb === "enter"
      ? await this.#joinable(room)
      : await this.state(room, true);
    if (verb === "enter" && !state) return undefined;
    if ((verb === "open" || verb === "close") && state!.open === (verb === "open")) {
      throw new BackendError("unchanged", `#${room} is already ${state!.open ? "open" : "closed"}`);
    }
    return await signEntry(await loadIdentity(this.cs), state, {
      room,
      action: ACTION[verb],
      target,
      by: me,
      at: this.clock.now(),
    });
  }

  /**
   * The verified state of an open room I am not in, from its log as the server gives a joiner
   * (`room.directory`); null when the server lists no such open room. The server saying "open" is not
   * enough: the log must say so (an admin's signed "open" with no "close" after it).
   */
  async #joinable(room: string): Promise<LogState | null> {
    const r = (await this.request("room.directory", { room })).header.listing as Listed | undefined;
    if (!r || typeof r !== "object" || r.name !== room) return null;
    const known = (await this.cs.get(`mlog:${room}`)) as { epoch: number; head: string } | undefined;
    const v = await verifyLog(room, r.log, this.signKeyOf, this.clock.now(), known);
    if (!v.ok) throw new BackendError("membership", `Not joined: ${v.error}`);
    if (v.state.members.includes(this.me)) {
      throw new BackendError("already_member", `You are already in #${room}`);
    }
    if (!v.state.open) {
      throw new BackendError(
        "room_closed",
        `Not joined: #${room} is not open by its signed membership log (whatever the server says)`,
      );
    }
    return v.state;
  }
}
