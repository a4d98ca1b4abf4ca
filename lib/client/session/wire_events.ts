/**
 * Pure translations between server frames and the `ChatBackend` vocabulary: push headers
 * (presence, room, notice, bye) → `BackendEvent`s, the kicked list, a user-typed target → its
 * wire form, and a message → its conversation key (the server's `convKey`). Server-supplied
 * fields are coerced to the types the events promise (a malformed frame gives a well-typed
 * event, never a crash later); a malformed reply is a `BackendError`.
 */
import { convKey, normalizeName } from "../../protocol/names.ts";
import { systemClock } from "../../common/clock.ts";
import { localizeUntil } from "../../common/parse_time.ts";
import {
  BackendError,
  type BackendEvent,
  type ChatMessage,
  type KickedEntry,
  type Target,
} from "../backend.ts";

/**
 * The events for a pushed header other than `msg` (none when it carries none): a `presences`
 * frame (several presence changes batched by the server) gives one presence event per change; in
 * its short form (messages.ts) a name alone is online, free, since the frame's `at`.
 */
export function pushEvents(h: Record<string, unknown>, now = systemClock.now()): BackendEvent[] {
  if (h.t === "presences") {
    const on = Array.isArray(h.on) ? h.on : [], off = Array.isArray(h.off) ? h.off : [];
    const events = [
      ...on.map((x) => {
        if (typeof x === "string") return presenceEvent({ user: x, online: true, since: h.at });
        const [user, status, since] = Array.isArray(x) ? x : [];
        return presenceEvent({ user, online: true, status, since });
      }),
      ...off.map((user) => presenceEvent({ user, online: false })),
    ];
    return events.filter((e): e is BackendEvent => e !== null);
  }
  const e = pushEvent(h, now);
  return e ? [e] : [];
}

/** `x` when it is a string, else `fallback`. */
const str = <T>(x: unknown, fallback: T): string | T => typeof x === "string" ? x : fallback;
/** `x` when it is a finite number, else `fallback`. */
const num = <T>(x: unknown, fallback: T): number | T =>
  typeof x === "number" && Number.isFinite(x) ? x : fallback;

/** A presence change, or null when it names no user. */
function presenceEvent(h: Record<string, unknown>): BackendEvent | null {
  const user = str(h.user, null);
  if (user === null) return null;
  return {
    type: "presence",
    user,
    online: h.online === true,
    presence: h.online === true
      ? {
        user,
        addr: str(h.addr, ""),
        since: num(h.since, 0),
        status: h.status === "busy" ? "busy" : "free",
        role: "user",
      }
      : undefined,
  };
}

/** Header fields that are strings (numbers) in every server frame that has them (null or absent is fine). */
const STRING_FIELDS = [
  "mid",
  "from",
  "conv",
  "room",
  "sid",
  "code",
  "msg",
  "reason",
  "change",
  "by",
  "user",
] as const;
const NUMBER_FIELDS = ["id", "req", "seq", "ts"] as const;

/**
 * Whether a server frame's common fields have their types (checked once, where frames arrive, so
 * no handler meets an object where it reads a string): a frame that fails is not handled.
 */
export function serverHeaderOk(h: Record<string, unknown>): boolean {
  for (const k of STRING_FIELDS) if (h[k] != null && typeof h[k] !== "string") return false;
  for (const k of NUMBER_FIELDS) if (h[k] != null && num(h[k], null) === null) return false;
  return true;
}

/** The event for a pushed header other than `msg`, or null when it carries none. */
export function pushEvent(h: Record<string, unknown>, now = systemClock.now()): BackendEvent | null {
  switch (h.t) {
    case "presence":
      return presenceEvent(h);
    case "room": {
      const name = str(h.room, null), by = str(h.by, undefined), user = str(h.user, undefined);
      if (name === null) return null;
      return {
        type: "room",
        room: { name, members: strings(h.members), admins: strings(h.admins) },
        change: h.change as "created",
        ...(by === undefined ? {} : { by }),
        ...(user === undefined ? {} : { user }),
      };
    }
    case "notice": {
      const text = str(h.text, null);
      if (text === null) return null;
      return { type: "notice", text, level: h.level === "warn" || h.level === "error" ? h.level : "info" };
    }
    case "bye":
      return {
        type: "notice",
        level: "error",
        text: localizeUntil(str(h.reason, "The server closed the connection"), num(h.until, undefined), now),
      };
    default:
      return null;
  }
}

interface WireKick {
  user: string;
  by: string;
  at: number;
  bannedUntil: number | null;
  reason: string | null;
}

/** Only the string items of a server-supplied list (none when it is not a list). */
function strings(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((u): u is string => typeof u === "string") : [];
}

export function kickedEntries(raw: unknown): KickedEntry[] {
  const ok = (k: unknown): k is WireKick =>
    typeof k === "object" && k !== null && typeof (k as WireKick).user === "string" &&
    typeof (k as WireKick).by === "string" && num((k as WireKick).at, null) !== null;
  if (!Array.isArray(raw) || !raw.every(ok)) {
    throw new BackendError("bad_reply", "The server's list of kicks is malformed");
  }
  return raw.map((k) => ({
    user: k.user,
    by: k.by,
    at: k.at,
    ...(num(k.bannedUntil, 0) ? { bannedUntil: k.bannedUntil as number } : {}),
    ...(str(k.reason, "") ? { reason: k.reason as string } : {}),
  }));
}

/** A target with its name normalised; a name that cannot be valid is an error before any request. */
export function wire(t: Target): Target {
  if (t.kind === "broadcast") return { kind: "broadcast" };
  const name = normalizeName(t.name ?? "");
  if (!name) {
    throw new BackendError(
      "bad_name",
      `"${t.name ?? ""}" is not a valid ${t.kind === "room" ? "room" : "user"} name`,
    );
  }
  return { kind: t.kind, name };
}

/** The conversation `m` is part of for user `me`: its room, everyone, or the other party of a DM. */
export function conversationOf(me: string, m: ChatMessage): Target {
  if (m.to.kind !== "user") return m.to;
  return { kind: "user", name: m.from === me ? m.to.name ?? "" : m.from };
}

/** The conversation key of target `to` (wire form) as `me` sees it: `convOf` of a message of mine to it. */
export function convOfTarget(me: string, to: Target): string {
  return convOf(me, { seq: 0, mid: "", ts: 0, text: "", from: me, to });
}

/** The conversation a message belongs to, as `me` sees it (the key the server's cursors use). */
export function convOf(me: string, m: ChatMessage): string {
  if (m.to.kind === "broadcast") return convKey("broadcast", "");
  if (m.to.kind === "room") return convKey("room", m.to.name ?? "");
  return convKey("user", me, conversationOf(me, m).name!);
}
