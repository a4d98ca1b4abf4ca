/**
 * How one `BackendEvent` changes the UI's model of the chat (`ChatState`): messages, presence,
 * rooms, notices, connection and encryption state, typing, away replies, file offers and transfers.
 *
 * Contract: `applyEvent(state, event)` updates the state and returns the notification to raise, or
 * null; plain data, no terminal, time from the state's injected `now`.
 */
import { sizeText } from "../../common/progress.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import type { BackendEvent } from "../backend.ts";
import type { ChatState, Notice } from "./chat_state.ts";
import type { ChatBuffer, Line } from "./buffers.ts";
import { withoutHash } from "../../protocol/names.ts";

/** How long a typing indicator lasts without a new typing event, in ms. */
const TYPING_TTL = 6000;

/** The same away reason again this soon (another device of the same user answered too) is not shown twice. */
const AWAY_REPEAT_MS = 60_000;

/** An online and an offline line for one person this close together become "joined and left". */
const MERGE_PRESENCE_MS = 60_000;

type EventOf<T extends BackendEvent["type"]> = Extract<BackendEvent, { type: T }>;

/** Applies one backend event to the chat model; returns the notification to raise, if any. */
export function applyEvent(s: ChatState, e: BackendEvent): Notice | null {
  switch (e.type) {
    case "message":
      return s.addMessage(e.message, true);
    case "message.changed":
      s.changeMessage(e.message);
      return null;
    case "messages.expired":
      for (const mid of e.mids) for (const b of s.buffers.buffers) b.removeMessage(mid);
      return null;
    case "presence":
      return presence(s, e);
    case "room":
      return room(s, e);
    case "notice":
      return notice(s, e);
    case "disconnected":
      return disconnected(s, e);
    case "role":
      return null; // the status line and the command checks read the role from the backend
    case "connection":
      s.connection = e.state;
      return null;
    case "encryption":
      return encryption(s, e);
    case "typing":
      return typing(s, e);
    case "away":
      return away(s, e);
    case "seen": // read on another device: counts as read here too
      s.bufferOf(e.target)?.seenUpTo(e.upTo);
      return null;
    case "file.offer":
      return fileOffer(s, e);
    case "file.withdrawn": {
      const from = sanitizeName(e.from);
      const where = e.room ? ` in #${sanitizeName(e.room)}` : "";
      s.alert(
        fileBuffer(s, { user: e.from, ...(e.room ? { room: e.room } : {}) }),
        `${from} withdrew ${sanitize(e.name)}${where}: it cannot be taken now`,
      );
      return null;
    }
    case "transfer":
      s.transfer(e);
      return null;
  }
  return null;
}

function presence(s: ChatState, e: EventOf<"presence">): null {
  const u = sanitizeName(e.user);
  s.known.add(u);
  if (e.online) {
    if (e.presence) s.presence.set(u, e.presence);
    if (u === s.me && e.presence) s.myStatus = e.presence.status;
  } else s.presence.delete(u);
  // Only where it matters: in the conversation with that person, if one is open (the member
  // list shows everyone else); a quick online-then-offline (a scripted command) is one line.
  const b = u === s.me ? null : s.buffers.find("dm", u);
  if (!b) return null;
  if (!e.online || e.presence?.status === "free") b.away = null; // back: the reason they told is old
  const last = b.lines[b.lines.length - 1];
  if (
    !e.online && last?.kind === "info" && last.text.startsWith(`${u} is online`) &&
    s.now() - last.ts < MERGE_PRESENCE_MS
  ) {
    last.text = `${u} joined and left`;
    last.cacheWidth = undefined;
    return null;
  }
  s.info(b, `${u} is ${e.online ? (e.presence?.status === "busy" ? "online (busy)" : "online") : "offline"}`);
  return null;
}

function room(s: ChatState, e: EventOf<"room">): null {
  const name = sanitizeName(e.room.name);
  const by = e.by && e.by !== s.me ? sanitizeName(e.by) : null; // someone else did it
  if (!e.room.members.includes(s.me) && (e.change === "left" || e.change === "kicked")) {
    s.rooms.delete(name);
    const b = s.buffers.find("room", name);
    if (b) s.buffers.close(b);
    if (by) s.alert(s.buffers.status, `You left #${name} (removed by ${by})`);
    else s.info(s.buffers.status, `You left #${name}`);
    return null;
  }
  const b = s.setRoom(e.room);
  const members = e.room.members.map(sanitizeName).join(", ");
  const user = e.user === undefined ? null : sanitizeName(e.user);
  if (e.change === "created" || (e.change === "joined" && (user === null || user === s.me))) {
    // Put in a room by someone else: news for the user, wherever they look.
    if (by) s.alert(b, `You are in #${name}: ${members} (added by ${by})`);
    else s.info(b, `You are in #${name}: ${members}`);
  } else if (user && e.change === "joined" && e.by === e.user) {
    s.info(b, `${user} joined (an open room); members: ${members}`);
  } else if (user && (e.change === "joined" || e.change === "kicked")) {
    const who = e.by === s.me ? "You" : sanitizeName(e.by ?? "An admin");
    s.info(b, `${who} ${e.change === "joined" ? "added" : "removed"} ${user}; members: ${members}`);
  } else if (user && e.change === "left") s.info(b, `${user} left; members: ${members}`);
  else if (e.by) s.info(b, `Members: ${members}`);
  return null;
}

function notice(s: ChatState, e: EventOf<"notice">): null {
  const status = s.buffers.status;
  s.info(status, e.text, e.level === "error" ? "error" : "info");
  const cur = s.buffers.current;
  if (e.level !== "info" && cur !== status) s.info(cur, e.text, e.level === "error" ? "error" : "info");
  return null;
}

function disconnected(s: ChatState, e: EventOf<"disconnected">): Notice {
  s.connection = "offline";
  const text = `Disconnected: ${e.reason}`;
  // The server's goodbye (a kick, a ban, a shutdown) was said a moment ago as a notice: that line
  // becomes this one, not a second copy of it.
  const say = (b: ChatBuffer) => {
    const last = b.lines[b.lines.length - 1];
    if (last?.kind === "error" && last.text === sanitize(e.reason, true)) {
      last.text = sanitize(text, true);
      last.cacheWidth = undefined;
    } else s.info(b, text, "error");
  };
  say(s.buffers.status);
  // A kick or ban is said where the user is looking; a network loss only in the status buffer.
  const personal = e.code === "kicked" || e.code === "banned";
  if (personal && s.buffers.current !== s.buffers.status) say(s.buffers.current);
  return { title: "Parley", body: text };
}

function encryption(s: ChatState, e: EventOf<"encryption">): null {
  s.encryption = { state: e.state, ...(e.detail ? { detail: sanitize(e.detail) } : {}) };
  if (e.state !== "on") {
    s.info(s.buffers.current, `Encryption ${e.state}${e.detail ? ": " + e.detail : ""}`, "error");
  }
  return null;
}

/**
 * `from` answered a direct message with their away reason: said in the conversation with them as
 * their words, not Parley's (issue 69 A1) — a line of theirs, "* bob (away): …" in their colour.
 */
function away(s: ChatState, e: EventOf<"away">): null {
  const from = sanitizeName(e.from);
  const b = s.buffers.ensure("dm", from);
  const text = sanitize(`${from} (away): ${e.text}`, true), since = s.now() - AWAY_REPEAT_MS;
  b.away = { text: e.text, at: s.now() };
  const same = (l: Line) => l.kind === "msg" && l.action && !l.mid && l.text === text && l.ts >= since;
  if (b.lines.some(same)) return null;
  b.add({ ts: s.now(), from, text, kind: "msg", action: true, highlight: false }, true);
  return null;
}

function typing(s: ChatState, e: EventOf<"typing">): null {
  const b = s.bufferFor({ seq: 0, mid: "", ts: 0, from: e.from, to: e.to, text: "" });
  const key = `${b.key}|${sanitizeName(e.from)}`;
  if (e.active) s.typing.set(key, s.now() + TYPING_TTL);
  else s.typing.delete(key);
  return null;
}

function fileOffer(s: ChatState, e: EventOf<"file.offer">): Notice {
  const o = e.offer;
  const from = sanitizeName(o.from);
  const b = fileBuffer(s, { user: o.from, ...(o.room ? { room: o.room } : {}) }); // a room's file: in the room
  const key = o.verified ? "verified key" : "key not verified";
  const where = o.room ? ` to #${sanitizeName(o.room)}` : "";
  s.alert(b, `${from} offers ${sanitize(o.name)}${where} (${sizeText(o.size)}, ${key}): /accept or /reject`);
  return { title: `File from ${from}`, body: sanitize(o.name) };
}

/**
 * A file's conversation: the room it was offered in (issue 71.4), else the DM with its sender. Its
 * offer, withdrawal and picture go there (its transfer line too: ChatState.transfer).
 */
export function fileBuffer(s: ChatState, f: { user: string; room?: string }): ChatBuffer {
  return f.room
    ? s.buffers.ensure("room", sanitizeName(withoutHash(f.room)))
    : s.buffers.ensure("dm", sanitizeName(f.user));
}
