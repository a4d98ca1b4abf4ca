/**
 * Parley names as IRC names and back, reversibly (issue 72; pure). A Parley name (protocol/names.ts:
 * `[a-z0-9][a-z0-9_.-]{0,31}`) is an IRC nick once a leading digit gets a `_` before it and each `.`
 * becomes `|` (neither ever appears in a Parley name, so the way back is unique); a room is
 * `#room` as it is (every Parley name is a valid channel name); broadcast is the channel `&broadcast`
 * (`&` is no room's). `/msg *parley help` says this; codec_test.ts holds the table.
 */
import type { Target } from "../backend.ts";
import { normalizeName } from "../../protocol/names.ts";

/** The channel of broadcast (every registered user). */
export const BROADCAST_CHANNEL = "&broadcast";
/** The control user: Parley's notices come from it, commands go to it (control.ts). */
export const CONTROL_NICK = "*parley";

/** A Parley user name as an IRC nick. */
export function nickOf(user: string): string {
  const n = user.replaceAll(".", "|");
  return /^[0-9]/.test(n) ? "_" + n : n;
}

/** An IRC nick as a Parley user name (canonical), or null when no Parley name maps to it. */
export function userOf(nick: string): string | null {
  const lower = nick.toLowerCase();
  const n = (/^_[0-9]/.test(lower) ? lower.slice(1) : lower).replaceAll("|", ".");
  const name = normalizeName(n);
  return name !== null && nickOf(name) === lower ? name : null;
}

/** A conversation as IRC names it: a DM by the other's nick, a room as `#room`, broadcast as its channel. */
export function ircTarget(t: Target): string {
  if (t.kind === "broadcast") return BROADCAST_CHANNEL;
  if (t.kind === "room") return "#" + t.name!;
  return nickOf(t.name!);
}

/** An IRC target (channel or nick) as a Parley conversation, or null when it names none. */
export function parleyTarget(name: string): Target | null {
  if (name.toLowerCase() === BROADCAST_CHANNEL) return { kind: "broadcast" };
  if (name.startsWith("#")) {
    const room = normalizeName(name.slice(1));
    return room !== null && room === name.slice(1).toLowerCase() ? { kind: "room", name: room } : null;
  }
  const user = userOf(name);
  return user === null ? null : { kind: "user", name: user };
}
