/**
 * Durations and points in time typed by the user. Pure.
 *
 * Contract: `parseDuration` accepts plain seconds (`600`) or a number with a unit `s m h d w`
 * (`10m`, `2h`) and returns milliseconds; `parseSince` accepts a duration meaning "that long ago"
 * or a date `YYYY-MM-DD[THH:MM]` (UTC) and returns ms since the epoch. Both throw an `Error` with a
 * sentence for the user on anything else.
 */

const UNIT: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

export function parseDuration(text: string): number {
  const m = /^(\d{1,9})([smhdw]?)$/i.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (try 600, 10m, 2h or 1d)`);
  return Number(m[1]) * UNIT[(m[2] || "s").toLowerCase()]!;
}

export function parseSince(text: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.test(text)) {
    const t = Date.parse(text.length === 10 ? text + "T00:00:00Z" : text + "Z");
    if (!Number.isNaN(t)) return t;
  }
  try {
    return now - parseDuration(text);
  } catch {
    throw new Error(`"${text}" is not a time (try 2h, 3d or 2026-01-31)`);
  }
}
