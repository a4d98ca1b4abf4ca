/**
 * Durations and points in time typed by the user: the one home of that grammar, used by the TUI
 * (`/history SINCE`) and the scripted client (`read --since`). Pure.
 *
 * Contract: `parseDuration` accepts plain seconds (`600`) or a number with a unit `s m h d w`
 * (`10m`, `2h`) and returns milliseconds; `parseSince` accepts a duration meaning "that long ago"
 * or a date `YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z|±HH:MM]` (UTC when no zone is given) and returns ms
 * since the epoch. Both throw an `Error` with a sentence for the user on anything else.
 */

const UNIT: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

export function parseDuration(text: string): number {
  const m = /^(\d{1,9})([smhdw]?)$/i.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (try 600, 10m, 2h or 1d)`);
  return Number(m[1]) * UNIT[(m[2] || "s").toLowerCase()]!;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export function parseSince(text: string, now: number): number {
  const d = DATE_RE.exec(text);
  if (d) {
    const t = Date.parse(text + (d[1] ? "" : d[0].length === 10 ? "T00:00:00Z" : "Z"));
    if (!Number.isNaN(t)) return t;
  }
  try {
    return now - parseDuration(text);
  } catch {
    throw new Error(`"${text}" is not a time (try 2h, 3d or 2026-01-31)`);
  }
}
