/**
 * Durations and points in time typed by the user: the one home of that grammar, used by the TUI
 * (`/history SINCE`) and the scripted client (`read --since`). Pure.
 *
 * Contract: `parseDuration` accepts plain seconds (`600`) or a number with a unit `s m h d w`
 * (`10m`, `2h`) and returns milliseconds; `parseSince` accepts a duration meaning "that long ago"
 * or a date `YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z|±HH:MM]` (UTC when no zone is given), or a written
 * date `D Mon YYYY [HH:MM[:SS]]` (`1 Jun 2022 16:00:00`, month names in English, local time as the
 * screen shows it), and returns ms since the epoch. Both throw an `Error` with a sentence for the user on anything else.
 * `untilText` shows a coming time (a ban's or a lockout's end) as local time plus how long until it
 * ("19:09 (in 9 min)", with the day when it is not today); `localizeUntil` puts that in place of the
 * UTC ISO time in a server's sentence ("You are banned until 2026-01-01T12:09:00.000Z").
 * `parseKick` is the one ban grammar of every surface (TUI `/kick` and `/ban`, CLI `admin kick`, the
 * server console's `/kick`): `USER [DURATION] [REASON…]`, a second word that reads as a duration
 * bans for that long, the words after it are the reason shown to the user.
 * `isoSeconds` is the one format of times in scripted output (fixed contract) and the server console:
 * UTC ISO 8601 to the second ("2026-01-01T12:09:00Z").
 */

const UNIT: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

export function parseDuration(text: string): number {
  const m = /^(\d{1,9})([smhdw]?)$/i.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (try 600, 10m, 2h or 1d)`);
  return Number(m[1]) * UNIT[(m[2] || "s").toLowerCase()]!;
}

/** A duration in the grammar `parseDuration` reads, in its largest whole unit (90 → "90s", 86400 → "1d"). */
export function durationText(seconds: number): string {
  for (const u of ["w", "d", "h", "m"]) {
    const s = UNIT[u]! / 1000;
    if (seconds >= s && seconds % s === 0) return `${seconds / s}${u}`;
  }
  return `${seconds}s`;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

const MONTH_NAMES = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const WRITTEN_RE = /^(\d{1,2})\s+([a-z]{3,9})\.?,?\s+(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/i;

/** `1 Jun 2022 16:00:00` in local time, or null when `text` is not written that way. */
function writtenDate(text: string): number | null {
  const m = WRITTEN_RE.exec(text.trim());
  if (!m) return null;
  const name = m[2]!.toLowerCase();
  const month = MONTH_NAMES.findIndex((n) => n.startsWith(name)); // "Jun", "June", "Sept"
  if (month < 0) return null;
  const [day, year, h, min, sec] = [m[1], m[3], m[4] ?? "0", m[5] ?? "0", m[6] ?? "0"].map(
    Number,
  ) as number[];
  const d = new Date(year!, month, day!, h!, min!, sec!);
  if (d.getMonth() !== month || d.getDate() !== day || h! > 23 || min! > 59 || sec! > 59) return null;
  return d.getTime();
}

/**
 * A time typed for "since" (history): a written date, an ISO date or time, or a duration back from
 * `now`; refused when it is not one, or lies ahead (a minute's clock difference is let through).
 */
export function parseSince(text: string, now: number): number {
  const t = sinceTime(text, now);
  if (t > now + 60_000) {
    throw new Error(`"${text}" is in the future: history reaches up to now (try 2h, 3d or an earlier date)`);
  }
  return t;
}

function sinceTime(text: string, now: number): number {
  const w = writtenDate(text);
  if (w !== null) return w;
  const d = DATE_RE.exec(text);
  if (d) {
    const t = Date.parse(text + (d[1] ? "" : d[0].length === 10 ? "T00:00:00Z" : "Z"));
    if (!Number.isNaN(t)) return t;
  }
  try {
    return now - parseDuration(text);
  } catch {
    throw new Error(`"${text}" is not a time (try 2h, 3d, 2026-01-31 or 1 Jun 2026 16:00)`);
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** How long until `until`, in words: "in 40 s", "in 9 min", "in 5 h", "in 3 days". */
export function relativeText(until: number, now: number): string {
  const s = Math.max(0, Math.round((until - now) / 1000));
  if (s < 45) return `in ${s} s`;
  const min = Math.max(1, Math.round(s / 60)); // a one-minute ban read a moment later is still "in 1 min"
  if (min < 60) return `in ${min} min`;
  const h = Math.round(s / 3600);
  if (h < 48) return `in ${h} h`;
  return `in ${Math.round(s / 86400)} days`;
}

/** Local time of `until` (with the day when not today) and how long until it. */
export function untilText(until: number, now: number): string {
  const d = new Date(until);
  const today = new Date(now).toDateString() === d.toDateString();
  const day = today ? "" : `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} `;
  return `${day}${two(d.getHours())}:${two(d.getMinutes())} (${relativeText(until, now)})`;
}

/** Replaces the UTC ISO time in a server's sentence with `untilText`. */
export function localizeUntil(text: string, until: number | undefined, now: number): string {
  if (until === undefined || !Number.isFinite(until)) return text;
  return text.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/, untilText(until, now));
}

/** A time as scripted output and the server console print it: UTC ISO 8601 to the second, "…T12:09:00Z". */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The usage of a kick with an optional ban and reason, as every surface shows it. */
export const KICK_USAGE = "USER [DURATION] [REASON…]";

/** A kick as typed: `[USER, DURATION?, REASON…?]` (words split by KICK_USAGE, or more). */
export interface Kick {
  user: string;
  banSeconds?: number;
  reason?: string;
}

/**
 * Reads `USER [DURATION] [REASON…]`; a second word that is not a duration starts the reason, and a
 * duration of 0 is a plain kick (as the console always read it).
 */
export function parseKick(words: readonly string[]): Kick {
  const user = words[0] ?? "";
  if (!user) throw new Error(`Usage: kick ${KICK_USAGE}`);
  const [first = "", ...more] = words.slice(1).join(" ").trim().split(/\s+/);
  let banSeconds: number | undefined;
  try {
    banSeconds = first ? parseDuration(first) / 1000 : undefined;
  } catch {
    banSeconds = undefined;
  }
  const reason = (banSeconds === undefined ? [first, ...more] : more).join(" ").trim();
  return { user, ...(banSeconds ? { banSeconds } : {}), ...(reason ? { reason } : {}) };
}
