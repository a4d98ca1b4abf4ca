/**
 * The mapping, one table (issue 72): each IRC verb a registered client may send, the parameters it
 * needs and what it does on the ChatBackend — DMs are queries (`PRIVMSG nick`), rooms channels
 * (`#room`), broadcast `&broadcast` (names.ts); JOIN/PART/TOPIC/NAMES/WHO/WHOIS/AWAY/INVITE/KICK/
 * LIST/QUIT/PING/MODE/TAGMSG; commands to the control user go to control.ts. A refusal of the
 * backend (a BackendError) is a NOTICE from the control user saying why; nothing is sent half.
 */
import { BackendError, capability, type ChatMessage } from "../backend.ts";
import { fromIrcText, type IrcMessage } from "./codec.ts";
import { type IrcConn, SERVER } from "./conn.ts";
import { BROADCAST_CHANNEL, CONTROL_NICK, nickOf, parleyTarget, userOf } from "./names.ts";
import { ERR, RPL } from "./numerics.ts";
import { withoutHash } from "../../protocol/names.ts";
import { channel, channels, sendJoin, sendList, sendNames, sendTopic, sendWho } from "./chan.ts";
import { controlNotice, editLines, redactLines, sourceOf } from "./events.ts";
import { controlCommand } from "./control.ts";
import type { FaceHost } from "./face_host.ts";
import { markLine } from "./markers.ts";
import { chathistory } from "./history.ts";

type Handler = (f: FaceHost, c: IrcConn, p: string[], m: IrcMessage) => Promise<void> | void;

/** The verbs: how many parameters each needs, and its handler. */
export const VERBS: Record<string, { min: number; run: Handler }> = {
  PING: {
    min: 1,
    run: (_f, c, p) => c.send({ tags: {}, source: SERVER, command: "PONG", params: [SERVER, p[0]!] }),
  },
  PONG: { min: 0, run: () => {} },
  PRIVMSG: { min: 0, run: (f, c, p, m) => say(f, c, p, m, true) },
  NOTICE: { min: 0, run: (f, c, p, m) => say(f, c, p, m, false) },
  TAGMSG: { min: 1, run: tagmsg },
  REDACT: { min: 2, run: redact },
  EDIT: { min: 1, run: edit },
  MARKREAD: { min: 1, run: markread },
  CHATHISTORY: {
    min: 1,
    run: (f, c, p) =>
      c.caps.has("draft/chathistory")
        ? chathistory(f, c, p)
        : c.reply(ERR.UNKNOWNCOMMAND, "CHATHISTORY", "Unknown command"),
  },
  JOIN: { min: 1, run: join },
  PART: { min: 1, run: part },
  TOPIC: { min: 1, run: topic },
  NAMES: {
    min: 1,
    run: async (f, c, p) => {
      const ch = await channel(f.backend, p[0]!);
      ch ? sendNames(c, ch) : c.reply(RPL.ENDOFNAMES, p[0]!, "End of /NAMES list");
    },
  },
  WHO: { min: 1, run: who },
  WHOIS: { min: 1, run: whois },
  AWAY: { min: 0, run: away },
  INVITE: {
    min: 2,
    run: async (f, c, p) => {
      const user = userOf(p[0]!);
      if (!user) return c.reply(ERR.NOSUCHNICK, p[0]!, "No such nick");
      await capability(f.backend, "rooms").invite(withoutHash(p[1]!), user);
      c.reply(RPL.INVITING, p[0]!, p[1]!);
    },
  },
  KICK: {
    min: 2,
    run: async (f, c, p) => {
      const user = userOf(p[1]!);
      if (!user) return c.reply(ERR.NOSUCHNICK, p[1]!, "No such nick");
      await capability(f.backend, "rooms").kick(withoutHash(p[0]!), user);
    },
  },
  LIST: { min: 0, run: (f, c) => sendList(f.backend, c) },
  MODE: {
    min: 1,
    run: (_f, c, p) => {
      if (p[0]!.startsWith("#") || p[0] === BROADCAST_CHANNEL) {
        return c.reply(RPL.CHANNELMODEIS, p[0]!, "+nt");
      }
      if (p.length === 1) c.reply(RPL.UMODEIS, "+i");
    },
  },
  NICK: {
    min: 0,
    run: (f, c) => c.send({ tags: {}, source: sourceOf(f.account), command: "NICK", params: [f.nick] }),
  },
  QUIT: {
    min: 0,
    run: (_f, c, p) => c.close(`Closing link (${p[0] ?? "quit"}); the Parley session stays online`),
  },
};

/** A registered client's command: through the table, with the numerics of bad input. */
export async function runCommand(f: FaceHost, c: IrcConn, m: IrcMessage): Promise<void> {
  const v = VERBS[m.command];
  if (!v) return c.reply(ERR.UNKNOWNCOMMAND, m.command, "Unknown command");
  if (m.params.length < v.min) return c.reply(ERR.NEEDMOREPARAMS, m.command, "Not enough parameters");
  try {
    await v.run(f, c, m.params, m);
  } catch (e) {
    if (!(e instanceof BackendError)) throw e; // a bug: listen.ts ends this connection and says so
    const code = e.code.toUpperCase();
    if (c.caps.has("standard-replies")) {
      c.send({ tags: {}, source: SERVER, command: "FAIL", params: [m.command, code, e.message] });
    } else for (const l of controlNotice(f.nick, `${m.command} refused: ${e.message}`)) c.send(l);
  }
}

/** At attach: the user's channels, each joined with topic and names. */
export async function joinAll(f: FaceHost, c: IrcConn): Promise<void> {
  for (const ch of await channels(f.backend)) await sendJoin(f.backend, c, ch);
}

async function say(f: FaceHost, c: IrcConn, p: string[], m: IrcMessage, privmsg: boolean): Promise<void> {
  if (p.length === 0) {
    return privmsg ? c.reply(ERR.NORECIPIENT, `No recipient given (${m.command})`) : undefined;
  }
  if (p.length === 1 || p[1] === "") {
    return privmsg ? c.reply(ERR.NOTEXTTOSEND, "No text to send") : undefined;
  }
  const [to, raw] = [p[0]!, p[1]!];
  if (to.toLowerCase() === CONTROL_NICK) return privmsg ? await controlCommand(f, c, raw) : undefined;
  const target = parleyTarget(to);
  if (!target) return privmsg ? c.reply(ERR.NOSUCHNICK, to, "No such nick/channel") : undefined;
  const text = fromIrcText(raw);
  if (text === null) return; // CTCP other than ACTION: nothing to carry
  const replyTo = m.tags["+draft/reply"];
  const sent = await f.backend.send(target, text, replyTo ? { replyTo } : {});
  f.echo(c, sent);
}

async function tagmsg(f: FaceHost, c: IrcConn, p: string[], m: IrcMessage): Promise<void> {
  const target = parleyTarget(p[0]!);
  if (!target) return c.reply(ERR.NOSUCHNICK, p[0]!, "No such nick/channel");
  const ref = m.tags["+draft/reply"];
  const react = m.tags["+draft/react"], unreact = m.tags["+draft/unreact"];
  if (ref && (react || unreact) && f.backend.changes) {
    f.remember(
      await f.backend.changes.changeMessage(ref, { kind: "react", emoji: (react || unreact)!, on: !!react }),
    );
  }
  const typing = m.tags["+typing"];
  if (typing) f.backend.typing?.(target, typing === "active");
  f.toAll([{ ...m, source: sourceOf(f.account) }], c);
}

async function join(f: FaceHost, c: IrcConn, p: string[]): Promise<void> {
  for (const name of p[0]!.split(",")) {
    const ch = await channel(f.backend, name);
    if (ch) {
      await sendJoin(f.backend, c, ch); // in it already: this client is told again
      continue;
    }
    const t = parleyTarget(name);
    if (t?.kind !== "room" || !f.backend.rooms) {
      c.reply(ERR.NOSUCHCHANNEL, name, "No such channel");
      continue;
    }
    const rooms = f.backend.rooms; // every client sees the JOIN when the backend says (face.ts)
    // An open room is joined; a room nobody made yet is made (issue 71.12: a closed one is refused).
    await (rooms.join
      ? rooms.join(t.name!).catch((e) => {
        if (e instanceof BackendError && e.code === "no_such_room") return rooms.create(t.name!, []);
        throw e;
      })
      : rooms.create(t.name!, []));
  }
}

async function part(f: FaceHost, c: IrcConn, p: string[]): Promise<void> {
  for (const name of p[0]!.split(",")) {
    const ch = await channel(f.backend, name);
    if (!ch || name === BROADCAST_CHANNEL) {
      c.reply(
        ERR.NOTONCHANNEL,
        name,
        ch ? "The broadcast channel cannot be left" : "You're not on that channel",
      );
      continue;
    }
    if (p[1]) await f.backend.send({ kind: "room", name: withoutHash(ch.name) }, `/me left: ${p[1]}`);
    await capability(f.backend, "rooms").leave(withoutHash(ch.name));
    const line: IrcMessage = {
      tags: {},
      source: sourceOf(f.account),
      command: "PART",
      params: [ch.name, ...(p[1] ? [p[1]] : [])],
    };
    for (const x of f.conns) x.send(line);
  }
}

async function topic(f: FaceHost, c: IrcConn, p: string[]): Promise<void> {
  const ch = await channel(f.backend, p[0]!);
  if (!ch) return c.reply(ERR.NOTONCHANNEL, p[0]!, "You're not on that channel");
  if (p.length === 1) return await sendTopic(f.backend, c, ch);
  if (!f.backend.rooms?.setTopic || !ch.name.startsWith("#")) {
    return c.reply(ERR.CHANOPRIVSNEEDED, ch.name, "This channel's topic cannot be set");
  }
  const line = await f.backend.rooms.setTopic(withoutHash(ch.name), p[1]!);
  f.echo(c, line);
}

async function who(f: FaceHost, c: IrcConn, p: string[]): Promise<void> {
  const ch = await channel(f.backend, p[0]!);
  if (ch) return await sendWho(f.backend, c, p[0]!, ch.members, ch.name);
  const user = userOf(p[0]!);
  await sendWho(f.backend, c, p[0]!, user ? [user] : [], "*");
}

async function whois(f: FaceHost, c: IrcConn, p: string[]): Promise<void> {
  const nick = p[p.length - 1]!, user = userOf(nick);
  let pres = null;
  try {
    pres = user ? await f.backend.whois(user) : null;
  } catch (e) {
    if (!(e instanceof BackendError) || e.code !== "no_such_user") throw e;
    return c.reply(ERR.NOSUCHNICK, nick, "No such nick"), c.reply(RPL.ENDOFWHOIS, nick, "End of /WHOIS list");
  }
  if (!user) return c.reply(ERR.NOSUCHNICK, nick, "No such nick");
  c.reply(RPL.WHOISUSER, nickOf(user), nickOf(user), SERVER, "*", user);
  const where = pres ? `online since ${new Date(pres.since).toISOString()}` : "offline";
  c.reply(RPL.WHOISSERVER, nickOf(user), SERVER, `${where}${pres?.addr ? ` from ${pres.addr}` : ""}`);
  if (!pres) c.reply(RPL.AWAY, nickOf(user), "offline");
  else if (pres.status === "busy") c.reply(RPL.AWAY, nickOf(user), "busy");
  const rooms = (await channels(f.backend)).filter((ch) => ch.members.includes(user)).map((ch) => ch.name);
  if (rooms.length) c.reply(RPL.WHOISCHANNELS, nickOf(user), rooms.join(" "));
  c.reply(RPL.ENDOFWHOIS, nickOf(user), "End of /WHOIS list");
}

async function away(f: FaceHost, c: IrcConn, p: string[]): Promise<void> {
  const reason = p[0] ?? "";
  await f.backend.setStatus(reason ? "busy" : "free");
  f.backend.away?.set(reason || null);
  c.reply(
    reason ? RPL.NOWAWAY : RPL.UNAWAY,
    reason ? "You have been marked as being away" : "You are no longer marked as being away",
  );
  const line: IrcMessage = {
    tags: {},
    source: sourceOf(f.account),
    command: "AWAY",
    params: reason ? [reason] : [],
  };
  for (const x of f.conns) if (x !== c && x.caps.has("away-notify")) x.send(line);
}

/** `REDACT TARGET MSGID [REASON]` (draft/message-redaction): deletes one's message for everyone. */
async function redact(f: FaceHost, c: IrcConn, p: string[]): Promise<void> {
  if (!f.backend.changes) {
    return c.reply(ERR.UNKNOWNCOMMAND, "REDACT", "Messages cannot be deleted here");
  }
  const m = await f.backend.changes.changeMessage(p[1]!, { kind: "delete" });
  f.remember(m);
  const lines = redactLines(f.account, p[0]!, m.mid, new Date(m.ts).toISOString());
  f.toAll(lines, c);
  if (c.caps.has("echo-message")) { for (const l of lines) c.send(l); }
}

/** `@draft/target-msgid=ID;draft/edit-text=TEXT EDIT TARGET` (draft/message-edit): edits one's message. */
async function edit(f: FaceHost, c: IrcConn, p: string[], msg: IrcMessage): Promise<void> {
  const mid = msg.tags["draft/target-msgid"], text = msg.tags["draft/edit-text"];
  const fail = (code: string, why: string) =>
    c.send({
      tags: {},
      source: SERVER,
      command: "FAIL",
      params: ["EDIT", code, p[0]!, ...(mid ? [mid] : []), why],
    });
  if (!c.caps.has("draft/message-edit")) return c.reply(ERR.UNKNOWNCOMMAND, "EDIT", "Unknown command");
  if (!mid || !text) return fail("INVALID_EDIT", "EDIT needs draft/target-msgid and draft/edit-text");
  if (!f.backend.changes) return fail("EDIT_FORBIDDEN", "Messages cannot be edited here");
  let m: ChatMessage;
  try {
    m = await f.backend.changes.changeMessage(mid, { kind: "edit", text });
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    return fail(e.code === "edit_window" ? "EDIT_WINDOW_EXPIRED" : "EDIT_FORBIDDEN", e.message);
  }
  f.remember(m);
  const lines = editLines(f.account, p[0]!, m.mid, m.text, new Date(m.edited ?? m.ts).toISOString());
  f.toAll(lines, c);
  if (c.caps.has("echo-message")) { for (const l of lines) c.send(l); }
}

/** `MARKREAD TARGET [timestamp=ISO]` (draft/read-marker): the marker asked, or moved forward. */
function markread(f: FaceHost, c: IrcConn, p: string[]): void {
  if (!c.caps.has("draft/read-marker")) return c.reply(ERR.UNKNOWNCOMMAND, "MARKREAD", "Unknown command");
  const [where, at] = [p[0]!, p[1]];
  const fail = (why: string) =>
    c.send({ tags: {}, source: SERVER, command: "FAIL", params: ["MARKREAD", "INVALID_PARAMS", where, why] });
  if (!parleyTarget(where)) return fail("No such conversation");
  if (at !== undefined) {
    const m = /^timestamp=(.+)$/.exec(at), t = m ? new Date(m[1]!) : null;
    if (!t || Number.isNaN(t.getTime())) return fail("The marker is timestamp=YYYY-MM-DDThh:mm:ss.sssZ");
    if (f.markRead(where, t.toISOString())) return; // every client was told, this one too
  }
  c.send(markLine(where, f.markers.get(where)));
}
