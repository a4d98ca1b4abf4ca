/**
 * `ServerCommands`: the current `ServerSession` (server_session.ts: the connection and what its
 * login gave; a reconnect brings another, `useSession`) and the commands that are one request to
 * the server over it and its answer — presence and status, registered users, rooms (membership changes signed into
 * the room's log when the codec has keys), moderation, and the key commands answered by the codec's
 * `KeyOps`. `ChatClient` (chat_client.ts) holds one as its `commands` part and builds its `rooms`,
 * `moderation`, `blocks`, `keys` and `remote` capabilities over it; the refusals are the server's (or
 * "no_keys" without keys).
 */
import {
  BackendError,
  type BlockControls,
  type DeviceInfo,
  type Fingerprint,
  type KickedEntry,
  type ModerationControls,
  type OpenRoomInfo,
  type Presence,
  type Role,
  type RoomControls,
  type RoomInfo,
  type Status,
} from "../backend.ts";
import type { BodyCodec, KeyOps, LogVerb, MembershipVerb } from "../e2e/mod.ts";
import { normalizeName } from "../../protocol/names.ts";
import { sha256Hex } from "../../common/bytes.ts";
import type { Connection } from "../session/connection.ts";
import { kickedEntries, wire } from "../session/wire_events.ts";
import type { AccountSecrets } from "../../crypto/account_kdf.ts";
import type { ServerSession } from "./server_session.ts";

export class ServerCommands {
  #session: ServerSession;
  readonly #codec: () => BodyCodec;
  /** `codec`: the holder's current body codec (it changes once end-to-end keys attach). */
  constructor(session: ServerSession, codec: () => BodyCodec) {
    this.#session = session;
    this.#codec = codec;
  }
  /** The current session. */
  get session(): ServerSession {
    return this.#session;
  }
  /** Makes `s` the current session (a reconnect's). */
  useSession(s: ServerSession): void {
    this.#session = s;
  }
  /** The current connection. */
  get conn(): Connection {
    return this.#session.conn;
  }
  /** Who is logged in. */
  get user(): string {
    return this.#session.user;
  }
  /** "host:port" of the node connected. */
  get server(): string {
    return this.#session.server;
  }
  /** The largest frame the server reads. */
  get maxFrame(): number {
    return this.#session.maxFrame;
  }
  /** The server's nonce for this session: what device proofs sign. */
  get nonce(): string {
    return this.#session.nonce;
  }
  /** What the password gave at login. */
  get account(): AccountSecrets | undefined {
    return this.#session.account;
  }
  /** The current body codec. */
  get codec(): BodyCodec {
    return this.#codec();
  }

  async who(): Promise<Presence[]> {
    return (await this.conn.request("who")).header.users as Presence[];
  }
  async whois(user: string): Promise<Presence | null> {
    const r = await this.conn.request("whois", { user });
    return (r.header.presence as Presence | null) ?? null;
  }
  async setStatus(status: Status): Promise<void> {
    await this.conn.request("status", { status });
  }
  /** All registered user names (and roles). */
  async users(): Promise<{ user: string; role: Role }[]> {
    return (await this.conn.request("users")).header.users as { user: string; role: Role }[];
  }

  /** The room's admins as its signed membership log says (end-to-end codec only). */
  roomAdmins(room: string): Promise<string[]> {
    if (!this.codec.roomAdmins) {
      throw new BackendError("unavailable", "This needs end-to-end keys (a client folder)");
    }
    return this.codec.roomAdmins(room);
  }
  /** The rooms this user is in, as the server lists them. */
  async roomList(): Promise<RoomInfo[]> {
    const rs = (await this.conn.request("room.list")).header.rooms as RoomInfo[];
    return rs.map((r) => ({
      name: r.name,
      members: r.members,
      admins: r.admins,
      ...(r.open ? { open: true } : {}),
      ...(r.description ? { description: r.description } : {}),
    })); // not the membership log
  }
  async #signed(room: string, action: LogVerb, target: string): Promise<Record<string, unknown>> {
    const r = normalizeName(room);
    const t = action === "create" || action === "open" || action === "close" ? target : normalizeName(target);
    const keys = this.codec.keys;
    if (!keys || !r || t === null) return {};
    const log = await keys.logEntry?.(r, action, t);
    // The signed record of 0.1's membership changes: none for an open room's (its log entry is signed).
    const legacy = action === "enter" || action === "open" || action === "close"
      ? undefined
      : await keys.signChange(r, action as MembershipVerb, t);
    return { ...(legacy ? { change: legacy } : {}), ...(log ? { log } : {}) };
  }
  /**
   * Joins an open room by myself (issue 71.12): the join is signed into its log, which this client
   * verifies first (e2e/room_log.ts); the server refuses a room it holds closed (`room_closed`).
   */
  async joinRoom(room: string): Promise<RoomInfo> {
    const name = normalizeName(room) ?? room;
    const h = (await this.conn.request("room.join", {
      room: name,
      ...(await this.#signed(name, "enter", this.user)),
    }))
      .header;
    return { name: String(h.name), members: h.members as string[], admins: h.admins as string[] };
  }
  /** The server's open rooms, members or not (name, member count, public description). */
  async openRooms(): Promise<OpenRoomInfo[]> {
    const rs = (await this.conn.request("room.directory")).header.rooms as OpenRoomInfo[];
    return rs.map((r) => ({
      name: r.name,
      members: r.members,
      description: r.description,
      member: r.member,
    }));
  }
  /**
   * A room admin opens or closes a room (signed into its log) and/or sets its public description. An
   * open asked of a room its log says is open already only sets the description (if one is given).
   */
  async setRoomPublic(
    room: string,
    p: { open?: boolean; description?: string },
  ): Promise<{ open: boolean; description: string }> {
    const name = normalizeName(room) ?? room;
    let signed: Record<string, unknown> = {};
    let open = p.open;
    if (open !== undefined) {
      try {
        signed = await this.#signed(name, open ? "open" : "close", "");
      } catch (e) {
        if (!(e instanceof BackendError && e.code === "unchanged" && p.description !== undefined)) throw e;
        open = undefined; // already so: the description alone
      }
    }
    const h = (await this.conn.request("room.public", {
      room: name,
      ...(open !== undefined ? { open } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
      ...signed,
    })).header;
    return { open: h.open === true, description: String(h.description ?? "") };
  }
  async createRoom(name: string, members: string[]): Promise<RoomInfo> {
    const all = [...new Set([this.user, ...members.map((m) => normalizeName(m) ?? m)])].sort().join(",");
    const change = await this.#signed(name, "create", all);
    const h = (await this.conn.request("room.create", { room: name, members, ...change })).header;
    return { name: String(h.name), members: h.members as string[], admins: h.admins as string[] };
  }
  async invite(room: string, user: string): Promise<void> {
    await this.conn.request("room.invite", { room, user, ...(await this.#signed(room, "join", user)) });
  }
  async leave(room: string): Promise<void> {
    await this.conn.request("room.leave", { room, ...(await this.#signed(room, "leave", this.user)) });
  }
  /** Removes a member from a room (room admins); everyone's room keys rotate. */
  async roomKick(room: string, user: string): Promise<void> {
    await this.conn.request("room.kick", { room, user, ...(await this.#signed(room, "kick", user)) });
  }

  async kick(user: string, banSeconds?: number, reason?: string): Promise<void> {
    await this.conn.request("admin.kick", {
      user,
      ...(banSeconds ? { ban: banSeconds } : {}),
      ...(reason ? { reason } : {}),
    });
  }
  async kicked(): Promise<KickedEntry[]> {
    return kickedEntries((await this.conn.request("admin.kicked")).header.kicks);
  }
  async grant(user: string): Promise<void> {
    await this.conn.request("admin.grant", { user });
  }
  async revoke(user: string): Promise<void> {
    await this.conn.request("admin.revoke", { user });
  }

  /** This account's devices (`device.list`), each key's SHA-256 as its fingerprint. */
  async devices(): Promise<DeviceInfo[]> {
    const rows = (await this.conn.request("device.list")).header.devices as {
      device: number;
      name: string;
      created: number;
      current: boolean;
      key?: string;
    }[];
    const out: DeviceInfo[] = [];
    for (const d of rows) {
      const hex = d.key ? await sha256Hex(d.key) : null;
      const fingerprint = hex ? hex.match(/.{4}/g)!.join(" ") : null;
      out.push({ device: d.device, name: d.name, created: d.created, current: d.current, fingerprint });
    }
    return out;
  }

  async fingerprint(user?: string): Promise<Fingerprint> {
    return await this.#keys(user).fingerprint(user === undefined ? undefined : this.#name(user));
  }
  async trust(user: string, number?: string): Promise<Fingerprint> {
    return await this.#keys(user).trust(this.#name(user), number);
  }
  async verify(user: string, number?: string): Promise<Fingerprint> {
    return await this.#keys(user).verify(this.#name(user), number);
  }
  /** The block list (a capability), once the codec has end-to-end keys (e2e/blocks.ts). */
  get blocks(): BlockControls | undefined {
    return this.codec.blocks ? blockControls(() => this) : undefined;
  }
  #keys(user?: string): KeyOps {
    if (this.codec.keys) return this.codec.keys;
    throw new BackendError(
      "no_keys",
      `End-to-end keys are not set up${user ? ` for ${user}` : ""} on this client yet`,
    );
  }
  #name(user: string): string {
    return wire({ kind: "user", name: user }).name!;
  }
}

/** Rooms as a capability object over the current connection's commands (`ChatClient.rooms`). */
export function roomControls(c: () => ServerCommands): Required<Omit<RoomControls, "topic" | "setTopic">> {
  return {
    list: () => c().roomList(),
    create: (name, members) => c().createRoom(name, members),
    invite: (room, user) => c().invite(room, user),
    leave: (room) => c().leave(room),
    kick: (room, user) => c().roomKick(room, user),
    join: (room) => c().joinRoom(room),
    openRooms: () => c().openRooms(),
    setPublic: (room, p) => c().setRoomPublic(room, p),
  };
}

/**
 * The block list as a capability object over the current codec's (e2e/blocks.ts): a name is
 * checked with the server before it is blocked (`no_such_user`); one cannot block oneself.
 */
export function blockControls(c: () => ServerCommands): BlockControls {
  const ops = () => {
    const b = c().codec.blocks;
    if (!b) throw new BackendError("no_keys", "Blocking needs end-to-end keys (a client folder)");
    return b;
  };
  const name = (user: string) => {
    const n = normalizeName(user.replace(/^@/, ""));
    if (!n) throw new BackendError("usage", `"${user}" is not a valid user name`);
    return n;
  };
  return {
    list: () => ops().list(),
    block: async (user) => {
      const n = name(user);
      if (n === c().user) throw new BackendError("usage", "You cannot block yourself");
      await c().whois(n); // a name nobody holds is refused here
      return await ops().set(n, true);
    },
    unblock: async (user) => {
      const n = name(user);
      if (!(await ops().has(n))) throw new BackendError("not_blocked", `${n} is not blocked`);
      return await ops().set(n, false);
    },
  };
}

/** Admin actions as a capability object over the current connection's commands; the server refuses a non-admin. */
export function moderationControls(c: () => ServerCommands): ModerationControls {
  return {
    kick: (user, banSeconds, reason) => c().kick(user, banSeconds, reason),
    kicked: () => c().kicked(),
    grant: (user) => c().grant(user),
    revoke: (user) => c().revoke(user),
  };
}
