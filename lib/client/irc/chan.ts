/**
 * Channels as IRC sees them (issue 72): a room's JOIN with its topic and names, NAMES (admins with
 * `@`), WHO, LIST, and the broadcast channel whose members are the users online. mapping.ts's
 * table calls these; the rooms come from the backend's rooms capability.
 */
import type { ChatBackend, RoomInfo } from "../backend.ts";
import type { IrcConn } from "./conn.ts";
import { SERVER } from "./conn.ts";
import { BROADCAST_CHANNEL, nickOf } from "./names.ts";
import { RPL } from "./numerics.ts";
import { withoutHash } from "../../protocol/names.ts";
import { sourceOf } from "./events.ts";

/** A channel's members and its operators (room admins), as Parley names. */
export interface ChannelView {
  name: string;
  members: string[];
  admins: string[];
}

/** Every channel the user is in: their rooms and the broadcast channel. */
export async function channels(b: ChatBackend): Promise<ChannelView[]> {
  const rooms: RoomInfo[] = b.rooms ? await b.rooms.list() : [];
  const out: ChannelView[] = rooms.map((r) => ({ name: `#${r.name}`, members: r.members, admins: r.admins }));
  out.push({ name: BROADCAST_CHANNEL, members: await everyone(b), admins: [] });
  return out;
}

/** The channel `name` (room or broadcast) the user is in, or null. */
export async function channel(b: ChatBackend, name: string): Promise<ChannelView | null> {
  const lower = name.toLowerCase();
  return (await channels(b)).find((c) => c.name === lower) ?? null;
}

/** The broadcast channel's members: whoever is online (presence comes as its JOIN and PART, face.ts). */
async function everyone(b: ChatBackend): Promise<string[]> {
  return [...new Set([b.user, ...(await b.who()).map((p) => p.user)])];
}

/** RPL_NAMREPLY lines (several when long) and RPL_ENDOFNAMES. */
export function sendNames(c: IrcConn, ch: ChannelView): void {
  const names = ch.members.map((u) => (ch.admins.includes(u) ? "@" : "") + nickOf(u));
  let line: string[] = [];
  const flush = () => line.length && c.reply(RPL.NAMREPLY, "=", ch.name, line.join(" "));
  for (const n of names) {
    line.push(n);
    if (line.join(" ").length > 380) {
      flush();
      line = [];
    }
  }
  flush();
  c.reply(RPL.ENDOFNAMES, ch.name, "End of /NAMES list");
}

/** A room's topic as RPL_TOPIC and RPL_TOPICWHOTIME, or RPL_NOTOPIC. */
export async function sendTopic(
  b: ChatBackend,
  c: IrcConn,
  ch: ChannelView,
  quietIfNone = false,
): Promise<void> {
  const t = ch.name === BROADCAST_CHANNEL ? null : await b.rooms?.topic?.(withoutHash(ch.name));
  if (!t || t.text === "") {
    if (!quietIfNone) c.reply(RPL.NOTOPIC, ch.name, "No topic is set");
    return;
  }
  c.reply(RPL.TOPIC, ch.name, t.text);
  c.reply(RPL.TOPICWHOTIME, ch.name, nickOf(t.by), String(Math.floor(t.at / 1000)));
}

/** The user's JOIN of `ch` as a client sees it at attach or after `JOIN`: the line, topic, names. */
export async function sendJoin(b: ChatBackend, c: IrcConn, ch: ChannelView): Promise<void> {
  c.send({ tags: { account: b.user }, source: sourceOf(b.user), command: "JOIN", params: [ch.name] });
  await sendTopic(b, c, ch, true);
  sendNames(c, ch);
}

/** WHO of a channel or a nick: RPL_WHOREPLY lines (H here, G away or offline) and RPL_ENDOFWHO. */
export async function sendWho(
  b: ChatBackend,
  c: IrcConn,
  mask: string,
  users: string[],
  chan: string,
): Promise<void> {
  const online = new Map((await b.who()).map((p) => [p.user, p]));
  for (const u of users) {
    const p = online.get(u);
    const here = p && p.status === "free" ? "H" : "G";
    c.reply(RPL.WHOREPLY, chan, nickOf(u), SERVER, SERVER, nickOf(u), here, `0 ${u}`);
  }
  c.reply(RPL.ENDOFWHO, mask, "End of /WHO list");
}

/**
 * LIST: every channel the user is in, with its member count and topic, then the server's open rooms
 * the user is not in (JOIN enters them), with their public description marked `[open]`.
 */
export async function sendList(b: ChatBackend, c: IrcConn): Promise<void> {
  c.reply(RPL.LISTSTART, "Channel", "Users  Name");
  const mine = await channels(b);
  for (const ch of mine) {
    const t = ch.name === BROADCAST_CHANNEL ? null : await b.rooms?.topic?.(withoutHash(ch.name));
    c.reply(RPL.LIST, ch.name, String(ch.members.length), t?.text ?? "");
  }
  const joined = new Set(mine.map((ch) => ch.name));
  for (const r of (await b.rooms?.openRooms?.()) ?? []) {
    if (r.member || joined.has(`#${r.name}`)) continue;
    c.reply(RPL.LIST, `#${r.name}`, String(r.members), `[open] ${r.description}`.trimEnd());
  }
  c.reply(RPL.LISTEND, "End of /LIST");
}
