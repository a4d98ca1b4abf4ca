/**
 * Transfer progress as text (issue 12), and sizes typed by users (`parseSize`), the one home of the rule for both the full-screen client's
 * status line and the scripted commands' standard error: a bar, bytes done of the total, the rate
 * since the transfer started (or resumed) and the time left at that rate. `RateMeter` remembers
 * where and when each transfer was first seen; time is injected.
 */

/** Bytes in a short human form: 999 B, 12.3 KiB, 4.0 MiB, 1.2 GiB. */
export function sizeText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024, i++);
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * A size typed by a user — bytes, or a number with K, M, G or T (KiB … TiB; "GiB", "GB" and "g" alike)
 * — in bytes; null when it is not one.
 */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*$/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]) * 1024 ** (m[2] ? "kmgt".indexOf(m[2].toLowerCase()) + 1 : 0);
  return Number.isSafeInteger(Math.floor(n)) ? Math.floor(n) : null;
}

/** Seconds (rounded up) as m:ss, or h:mm:ss from an hour; "?" when unknown. */
export function clockText(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const t = Math.ceil(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), ss = t % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(ss)}` : `${m}:${two(ss)}`;
}

/** `[#####-----] 12.0 MiB/100.0 MiB 4.2 MiB/s ETA 0:21` (`width` cells of bar). */
export function progressText(done: number, total: number, bytesPerSec: number, width = 10): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const fill = Math.floor(frac * width);
  const bar = `[${"#".repeat(fill)}${"-".repeat(width - fill)}]`;
  const rate = bytesPerSec > 0 ? `${sizeText(Math.round(bytesPerSec))}/s` : "-- /s";
  const eta = bytesPerSec > 0 ? clockText((total - done) / bytesPerSec) : "?";
  return `${bar} ${sizeText(done)}/${sizeText(total)} ${rate} ETA ${eta}`;
}

/**
 * The bytes that redraw a status line in place on a terminal `columns` wide: back to the line's
 * start, the text cut to fit (so it never wraps), the rest of the old line cleared; `end` keeps it
 * and moves on to a new line. `line` must already be free of control characters.
 */
export function inPlace(line: string, columns: number, end = false): string {
  const cells = [...line];
  const fit = cells.length < columns ? line : cells.slice(0, Math.max(0, columns - 2)).join("") + "…";
  return `\r${fit}\x1b[K${end ? "\n" : ""}`;
}

/** Rates per transfer id: bytes moved since the first report of that id over the time since then. */
export class RateMeter {
  readonly #start = new Map<string, { at: number; done: number }>();

  constructor(readonly now: () => number) {}

  /** The rate of `id` now at `done` bytes (0 until some time has passed); forgets ended transfers. */
  rate(id: string, done: number, active = true): number {
    const now = this.now();
    let s = this.#start.get(id);
    if (!s || done < s.done) this.#start.set(id, s = { at: now, done });
    if (!active) this.#start.delete(id);
    const secs = (now - s.at) / 1000;
    return secs > 0 ? (done - s.done) / secs : 0;
  }
}
