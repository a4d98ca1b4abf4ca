/**
 * Parley's side as IRC lines (issue 72): a message as PRIVMSGs (tags `time`, `msgid`, `account`,
 * `+draft/reply`; an action as CTCP ACTION; a long or multi-line text cut to fit), a change of one
 * (an edit, a deletion, a reaction) as a readable line or a TAGMSG, presence as AWAY, room changes as
 * JOIN/PART/KICK/TOPIC, and notices as NOTICEs from the control user. face.ts sends them; what a
 * connection may see of the tags is conn.ts's.
 */
import type { BackendEvent, ChatMessage } from "../backend.ts";
import { type IrcMessage, splitText, toIrcText } from "./codec.ts";
import { actionOf } from "../core/action.ts";
import { CONTROL_NICK, ircTarget, nickOf } from "./names.ts";
import { SERVER } from "./conn.ts";

/** `nick!nick@parley`: a user's source. */
export const sourceOf = (user: string): string => `${nickOf(user)}!${nickOf(user)}@${SERVER}`;
const CONTROL_SOURCE = `${CONTROL_NICK}!${CONTROL_NICK}@${SERVER}`;
const enc = new TextEncoder();

/** Lines of `text` from `source` to `target`, each within the 512-byte body. */
export function textLines(
  command: "PRIVMSG" | "NOTICE",
  source: string,
  target: string,
  text: string,
  tags: Record<string, string> = {},
): IrcMessage[] {
  const budget = 512 - enc.encode(`:${source} ${command} ${target} :\r\n`).length;
  return splitText(text, budget).map((t, i) => ({
    tags: i === 0 ? tags : { ...tags, ...(tags.msgid ? { msgid: `${tags.msgid}-${i}` } : {}) },
    source,
    command,
    params: [target, t],
  }));
}

/** A NOTICE from the control user to `me`. */
export const controlNotice = (me: string, text: string): IrcMessage[] =>
  textLines("NOTICE", CONTROL_SOURCE, me, text);

/** Where a message shows: a DM by the other's nick (or mine, when it came to me), a room as its channel. */
export function ircWhere(m: Pick<ChatMessage, "from" | "to">, user: string): string {
  if (m.to.kind !== "user") return ircTarget(m.to);
  return m.from === user ? nickOf(m.to.name!) : nickOf(user);
}

/**
 * A message as PRIVMSG lines (a topic's setting line as TOPIC; a deleted one as nothing). A reply
 * whose original is known (`quote`: "bob: its text") reads "(re bob: its te…) text" for the clients
 * without message-tags, which see no `+draft/reply`.
 */
export function messageLines(m: ChatMessage, user: string, quote?: string): IrcMessage[] {
  const where = ircWhere(m, user);
  const tags: Record<string, string> = {
    time: new Date(m.ts).toISOString(),
    msgid: m.mid,
    account: m.from,
    ...(m.replyTo ? { "+draft/reply": m.replyTo } : {}),
  };
  if (m.topic !== undefined && m.to.kind === "room") {
    return [{ tags, source: sourceOf(m.from), command: "TOPIC", params: [where, m.topic] }];
  }
  if (m.deleted) return [];
  if (m.setting) return textLines("NOTICE", sourceOf(m.from), where, m.text, tags);
  const lines = textLines("PRIVMSG", sourceOf(m.from), where, toIrcText(m.text), tags);
  if (!m.replyTo || quote === undefined || actionOf(m.text) !== null) return lines;
  const short = [...quote].length > 40 ? [...quote].slice(0, 39).join("") + "…" : quote;
  const readable = textLines("PRIVMSG", sourceOf(m.from), where, `(re ${short}) ${m.text}`, tags);
  return [
    ...lines.map((l) => ({ ...l, cap: "message-tags" })),
    ...readable.map((l) => ({ ...l, without: "message-tags" })),
  ];
}

/** The state of a message a change is compared with. */
export interface Seen {
  from: string;
  text: string;
  edited?: number;
  deleted?: boolean;
  reactions: Record<string, string[]>;
}

/** What changed between `before` and message `m` now, as lines: an edit, a deletion, reactions. */
export function changeLines(before: Seen | undefined, m: ChatMessage, user: string): IrcMessage[] {
  const where = ircWhere(m, user), time = new Date(m.ts).toISOString();
  const out: IrcMessage[] = [];
  if (m.deleted && !before?.deleted) {
    out.push(...redactLines(m.from, where, m.mid, time));
  } else if (!m.deleted && m.edited !== undefined && m.edited !== before?.edited) {
    out.push(...editLines(m.from, where, m.mid, m.text, new Date(m.edited).toISOString()));
  }
  const old = before?.reactions ?? {};
  for (const [emoji, who] of Object.entries(m.reactions ?? {})) {
    for (const u of who) if (!old[emoji]?.includes(u)) out.push(...reactLine(u, where, m.mid, emoji, true));
  }
  for (const [emoji, who] of Object.entries(old)) {
    for (const u of who) {
      if (!m.reactions?.[emoji]?.includes(u)) out.push(...reactLine(u, where, m.mid, emoji, false));
    }
  }
  return out;
}

/** A reaction as a TAGMSG (`+draft/react`, `+draft/unreact`) for clients with message-tags. */
function reactLine(user: string, where: string, mid: string, emoji: string, on: boolean): IrcMessage[] {
  const tag = on ? "+draft/react" : "+draft/unreact";
  return [{
    tags: { [tag]: emoji, "+draft/reply": mid, account: user },
    source: sourceOf(user),
    command: "TAGMSG",
    params: [where],
  }];
}

/** The readable line a client without message-tags gets for a TAGMSG (a reaction), or null. */
export function tagFallback(m: IrcMessage): IrcMessage | null {
  const react = m.tags["+draft/react"], unreact = m.tags["+draft/unreact"];
  if (react === undefined && unreact === undefined) return null;
  const text = react !== undefined ? `reacted ${react}` : `took back the reaction ${unreact}`;
  return { tags: {}, source: m.source!, command: "NOTICE", params: [m.params[0]!, `(${text})`] };
}

/** A backend event other than a message, as lines to every attached client (none: not shown). */
export function eventLines(e: BackendEvent, user: string): IrcMessage[] {
  const me = nickOf(user);
  switch (e.type) {
    case "notice":
      return controlNotice(me, e.text);
    case "presence": { // for away-notify; face.ts makes the JOIN and PART of the broadcast channel
      const why = !e.online ? ["offline"] : e.presence?.status === "busy" ? ["busy"] : [];
      return [{ tags: {}, source: sourceOf(e.user), command: "AWAY", params: why, cap: "away-notify" }];
    }
    case "room": {
      const chan = `#${e.room.name}`, who = e.user ?? user;
      if (e.change === "joined" || e.change === "created") {
        const join: IrcMessage = {
          tags: { account: who },
          source: sourceOf(who),
          command: "JOIN",
          params: [chan],
        };
        if (!e.by || e.by === who) return [join];
        const invite = { tags: {}, source: sourceOf(e.by), command: "INVITE", params: [nickOf(who), chan] };
        return [{ ...invite, cap: "invite-notify" }, join]; // invite-notify: who brought them in
      }
      if (e.change === "left") return [{ tags: {}, source: sourceOf(who), command: "PART", params: [chan] }];
      if (e.change === "kicked") {
        return [{
          tags: {},
          source: sourceOf(e.by ?? user),
          command: "KICK",
          params: [chan, nickOf(who), "removed"],
        }];
      }
      return [];
    }
    case "typing":
      return [{
        tags: { "+typing": e.active ? "active" : "done" },
        source: sourceOf(e.from),
        command: "TAGMSG",
        params: [ircWhere({ from: e.from, to: e.to }, user)],
      }];
    case "file.offer": {
      const o = e.offer;
      return controlNotice(
        me,
        `${o.from} offers the file ${o.name} (${o.size} bytes): /msg ${CONTROL_NICK} files, then accept N`,
      );
    }
    case "away":
      return textLines("NOTICE", sourceOf(e.from), me, `(away) ${e.text}`);
    case "disconnected":
      return controlNotice(me, `Disconnected from the Parley server: ${e.reason}`);
    case "connection":
      return e.state === "connecting" ? [] : controlNotice(me, `Parley server connection: ${e.state}`);
    default:
      return [];
  }
}

/** A deletion: REDACT for clients with draft/message-redaction, a readable NOTICE for the others. */
export function redactLines(by: string, where: string, mid: string, time: string): IrcMessage[] {
  const redact = {
    tags: { time, account: by },
    source: sourceOf(by),
    command: "REDACT",
    params: [where, mid],
  };
  const text = textLines("NOTICE", sourceOf(by), where, "(deleted a message)", { time, "+draft/reply": mid });
  return [
    { ...redact, cap: "draft/message-redaction" },
    ...text.map((l) => ({ ...l, without: "draft/message-redaction" })),
  ];
}

/** The most bytes of an edit's text carried in its `draft/edit-text` tag (the tag part holds 4094). */
const EDIT_TAG_MAX = 3000;

/**
 * An edit: `EDIT` with `draft/target-msgid` and `draft/edit-text` (the draft/message-edit draft) for the
 * clients that negotiated it, "(edited) text" lines replying to the message for the others.
 */
export function editLines(by: string, where: string, mid: string, text: string, time: string): IrcMessage[] {
  const readable = textLines("PRIVMSG", sourceOf(by), where, `(edited) ${toIrcText(text)}`, {
    time,
    account: by,
    "+draft/reply": mid,
  });
  if (enc.encode(text).length > EDIT_TAG_MAX) return readable; // too long for a tag: the text lines for all
  const edit: IrcMessage = {
    tags: { time, account: by, "draft/target-msgid": mid, "draft/edit-text": text },
    source: sourceOf(by),
    command: "EDIT",
    params: [where],
    cap: "draft/message-edit",
  };
  return [edit, ...readable.map((l) => ({ ...l, without: "draft/message-edit" }))];
}
