/**
 * The message pane: wrapped lines with time, aligned coloured nicks, the read marker and the search
 * hit, drawn bottom-anchored at the buffer's scroll position. Pure (writes into a `Screen`).
 *
 * Contract: `paneMeasure` gives the rows a line takes (the read-marker row counts with the first
 * unread line, a day row with the first line of each day) and is what the buffer's scroll
 * functions must use; `drawMessages` draws the rows that end at the scroll position, top-aligned
 * when the buffer is shorter than the pane. Wrapped rows are cached on the line per text width, so
 * only visible lines are ever wrapped.
 */
import { type ChatBuffer, countsUnread, type Line, type Measure } from "./buffers.ts";
import type { Layout } from "./layout.ts";
import { BOLD, REVERSE, Screen, style } from "./screen.ts";
import { fit, graphemes, wrap } from "./width.ts";
import { dayOf } from "./command_context.ts";
import { colourIndex, findSetting, type Look } from "./settings.ts";

/**
 * Nick colours (the WeeChat habit), the `nick_colors` setting's default (settings.ts): greens, yellows,
 * blues, magentas and cyans. Red is kept for errors, grey for times and offline people, and bold
 * bright white (`OWN_NICK_STYLE`) for the user.
 */
const NICK_COLOURS = findSetting("nick_colors")!.default.split(",").map(colourIndex);
export const OWN_NICK_STYLE = style(15, -1, BOLD);
export const TIME_STYLE = style(8);
export const SEP_STYLE = style(8);
const MARKER_STYLE = style(1);

/** A stable colour for a nick (the same in every session: a hash of the name). */
export function nickColour(nick: string, colours: readonly number[] = NICK_COLOURS): number {
  let h = 0;
  for (let i = 0; i < nick.length; i++) h = (h * 31 + nick.charCodeAt(i)) >>> 0;
  return colours[h % colours.length] ?? NICK_COLOURS[0]!;
}

export function lineRows(line: Line, width: number): string[] {
  if (line.cacheWidth !== width || !line.cacheRows) {
    const rows = wrap(line.text, width, line.hang);
    line.cacheRows = line.picture ? [...rows, ...new Array<string>(line.picture.rows).fill("")] : rows;
    line.cacheWidth = width;
  }
  return line.cacheRows;
}

/**
 * Grapheme-split rows of the lines drawn in the last frame (splitting is the costly part), kept
 * while the line's wrapped rows are the same ones: a line rewritten in place (a transfer's progress,
 * "joined and left") drops its `cacheWidth`, gets new rows and is split again.
 */
let frameCache = new Map<Line, { src: string[]; rows: string[][] }>();

function rowGraphemes(
  line: Line,
  width: number,
  next: Map<Line, { src: string[]; rows: string[][] }>,
): string[][] {
  const src = lineRows(line, width);
  let c = frameCache.get(line);
  if (!c || c.src !== src) c = { src, rows: src.map(graphemes) };
  next.set(line, c);
  return c.rows;
}

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** The day a line was written (local time, `dayOf`), kept on the line once worked out. */
const dayKey = (l: Line): string => l.day ??= dayOf(l.ts);

/** A day row's text: "Thursday 26 November 2026". */
export function dayLabel(ts: number): string {
  const d = new Date(ts);
  return `${DAYS[d.getDay()]} ${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
}

/**
 * The lines drawn under a day row (WeeChat's "day changed"): each whose day differs from the line
 * before it, and the first line when it is not from `now`'s day (an old conversation says when).
 */
export function dayStarts(lines: readonly Line[], now: number): Set<Line> {
  const out = new Set<Line>();
  let prev = dayOf(now);
  for (let i = 0; i < lines.length; i++) {
    const d = dayKey(lines[i]!);
    if (d !== prev) out.add(lines[i]!);
    prev = d;
  }
  return out;
}

/**
 * The line the read marker ("new messages") is drawn above, when it is shown: the first line after
 * the marker that is new to the user — another's message or a highlight (buffers.ts `countsUnread`),
 * never one's own text, answer or error line (issue 71.9).
 */
export function markerLine(buf: ChatBuffer): Line | null {
  if (buf.markerBefore) return buf.lines[0] === buf.markerBefore ? buf.markerBefore : null;
  if (!buf.markerAfter) return null;
  const i = buf.lines.lastIndexOf(buf.markerAfter);
  if (i < 0) return null;
  for (let k = i + 1; k < buf.lines.length; k++) if (countsUnread(buf.lines[k]!)) return buf.lines[k]!;
  return null;
}

/** The rows each line takes in the pane: its wrapped rows, and its day row and read-marker row when it has them. */
export function paneMeasure(buf: ChatBuffer, width: number, now: number): Measure {
  const marker = markerLine(buf);
  const days = dayStarts(buf.lines, now);
  return (l) => lineRows(l, width).length + (l === marker ? 1 : 0) + (days.has(l) ? 1 : 0);
}

interface Row {
  line: Line;
  /** Row of the wrapped line, -1 for the read marker, -2 for the day row. */
  index: number;
}

export interface MessageView {
  me: string;
  formatTime(ts: number): string;
  /** The settings' colours (app_settings.ts); none: the defaults. */
  look?: Look;
  /** Line to show as the current search hit. */
  searchHit: Line | null;
  /** Now (ms): a first line of another day gets a day row. */
  now: number;
  /** Told where a line's picture rows are drawn, when all of them are visible (0-based cell). */
  placePicture?: (line: Line, row: number, col: number) => void;
}

function nickCell(line: Line, me: string, look?: Look): { text: string; st: number } {
  switch (line.kind) {
    case "info":
      return { text: "--", st: style(6) };
    case "error":
      return { text: "!!", st: style(1, -1, BOLD) };
    default: {
      const st = line.from === me
        ? OWN_NICK_STYLE
        : line.highlight
        ? style(0, look?.highlight ?? 3, BOLD)
        : style(nickColour(line.from, look?.nickColours));
      return { text: line.action ? "*" : line.from, st }; // an action's text starts with its sender
    }
  }
}

const PENDING_STYLE = style(8);
const FAILED_STYLE = style(1);

function textStyle(line: Line): number {
  if (line.kind === "error") return style(1);
  if (line.kind === "broadcast") return style(11, -1, BOLD);
  if (line.kind === "info") return style(6);
  return 0;
}

export function drawMessages(screen: Screen, lay: Layout, buf: ChatBuffer, view: MessageView): void {
  const r = lay.messages;
  for (let y = 0; y < r.height; y++) screen.fill(r.row + y, r.col, r.width);
  const lines = buf.lines;
  if (!lines.length) return;
  const W = lay.textWidth;
  const marker = markerLine(buf);
  let idx = lines.length - 1;
  let skip = 0;
  if (buf.scroll) {
    const i = lines.indexOf(buf.scroll.line);
    idx = i < 0 ? 0 : i;
    skip = i < 0 ? 0 : buf.scroll.skip;
  }
  let rows: Row[] = [];
  const today = dayOf(view.now);
  for (; idx >= 0 && rows.length < r.height; idx--) {
    const line = lines[idx]!;
    const own: Row[] = [];
    if (dayKey(line) !== (idx > 0 ? dayKey(lines[idx - 1]!) : today)) own.push({ line, index: -2 });
    if (line === marker) own.push({ line, index: -1 });
    const n = lineRows(line, W).length;
    for (let k = 0; k < n; k++) own.push({ line, index: k });
    if (skip) own.splice(Math.max(0, own.length - skip));
    skip = 0;
    rows = own.concat(rows); // not unshift(...own): a long message's rows, one argument each
  }
  const shown = rows.slice(Math.max(0, rows.length - r.height));
  const nextCache: typeof frameCache = new Map();
  const textCol = r.col + lay.timeWidth + 1 + lay.nickWidth + 3;
  shown.forEach((row, y) => {
    const sr = r.row + y;
    const { line } = row;
    if (row.index < 0) {
      const label = row.index === -1 ? " new messages " : ` ${dayLabel(line.ts)} `;
      const side = Math.max(0, Math.floor((r.width - label.length) / 2));
      const st = row.index === -1 ? MARKER_STYLE : SEP_STYLE;
      screen.put(sr, r.col, "─".repeat(side) + label + "─".repeat(r.width), st, r.width);
      return;
    }
    if (row.index === 0) {
      screen.put(sr, r.col, fit(view.formatTime(line.ts), lay.timeWidth), TIME_STYLE);
      const nick = nickCell(line, view.me, view.look);
      screen.put(sr, r.col + lay.timeWidth + 1, fit(nick.text, lay.nickWidth, true, "+"), nick.st);
    }
    // A pending line (in the outbox, not confirmed by the server) has "⋯" for its separator; one the
    // server can never take, "✗" (it stays in the outbox until `/outbox drop`).
    const sep = line.pending ? "⋯" : line.failed ? "✗" : "│";
    screen.put(
      sr,
      r.col + lay.timeWidth + 1 + lay.nickWidth + 1,
      sep,
      line.failed ? FAILED_STYLE : SEP_STYLE,
      1,
    );
    const st = line === view.searchHit
      ? REVERSE
      : line.pending || line.failed
      ? PENDING_STYLE
      : textStyle(line);
    screen.putGraphemes(sr, textCol, rowGraphemes(line, W, nextCache)[row.index]!, st, W);
  });
  frameCache = nextCache;
  if (view.placePicture) placePictures(shown, W, r.row, textCol, view.placePicture);
}

/** Reports each picture whose rows (the last ones of its line) are all among the rows shown. */
function placePictures(
  shown: Row[],
  width: number,
  top: number,
  col: number,
  place: MessageView["placePicture"],
) {
  shown.forEach((row, y) => {
    const p = row.line.picture;
    if (!p || row.index !== lineRows(row.line, width).length - p.rows) return;
    const last = shown[y + p.rows - 1];
    if (last?.line === row.line) place!(row.line, top + y, col);
  });
}
