/**
 * Display width of text in terminal cells, built on `string-width` per grapheme cluster. Pure but for
 * one setting of the module, `useEmojiCells`, which the terminal's entry (mod.ts) makes once the
 * terminal told how it draws emoji (emoji_probe.ts); width and wrap caches follow it.
 *
 * Contract: `clusters` splits text into user-perceived characters (`Intl.Segmenter`), `graphemes`
 * into the units drawn; `graphemeWidth` is 0, 1 or 2 cells; `wrap` breaks text into rows no wider
 * than `width` (at spaces when it can, never inside a grapheme, honouring `\n`); `truncate` and
 * `fit` cut to a width with an ellipsis or padding. Input must already be sanitised (no control
 * characters).
 *
 * Emoji (issue 71.24): U+FE0F (emoji presentation) stays in what is drawn (`❤️` keeps it): on a
 * narrow character it takes one cell in tmux and xterm.js — the widths they agree on, and the default
 * — or what the terminal's probe measured (two in kitty). A sequence joined with U+200D (a family,
 * "woman technologist", the rainbow flag) is drawn whole, one cluster, in a terminal that the probe
 * saw join it (tmux: the cells of its first part) when it fits a tmux cell (JOIN_MAX_BYTES), and as
 * its parts, two cells each, without the joiner, where the terminal does not join or said nothing (xterm.js: the parts' cells, so the rest
 * of the row stays in line). A skin-tone modifier likewise stays on its emoji only where the probe
 * saw the terminal draw the pair in two cells. The text itself (sent, stored, edited) is never changed.
 */
import stringWidth from "string-width";

const segmenter = new Intl.Segmenter();
const widthCache = new Map<string, number>();

/**
 * Characters that always stand alone as one grapheme (no combining marks, joiners, variation
 * selectors, jamo or surrogates): text made only of them is split without `Intl.Segmenter`.
 */
const SIMPLE =
  /^[\x20-\u02ff\u2010-\u2027\u2030-\u205e\u2070-\u20cf\u2100-\u2bff\u3000-\u3098\u309b-\u9fff\uac00-\ud7a3\uff00-\uffef]*$/;

/** Splits text into grapheme clusters (the units the line editor moves over and deletes). */
export function clusters(text: string): string[] {
  if (text.length <= 1 || SIMPLE.test(text)) return text.split("");
  const out: string[] = [];
  for (const s of segmenter.segment(text)) out.push(s.segment);
  return out;
}

/**
 * How the terminal draws emoji sequences (emoji_probe.ts measures it): the cells of a narrow character
 * with U+FE0F, and whether it joins U+200D sequences and skin-tone modifiers into one glyph.
 */
export interface EmojiCells {
  vs16: 1 | 2;
  zwj: boolean;
  tone: boolean;
}

/** What tmux and xterm.js agree on, used until (or unless) the terminal tells otherwise. */
export const AGREED_EMOJI: EmojiCells = { vs16: 1, zwj: false, tone: false };
let emoji: EmojiCells = AGREED_EMOJI;

/** Draws emoji as a terminal measured by emoji_probe.ts does (the caller repaints; caches are dropped). */
export function useEmojiCells(cells: EmojiCells): void {
  emoji = cells;
  widthCache.clear();
}

/** Splits text into the units drawn in cells: clusters, with joined emoji split where the terminal splits them. */
export function graphemes(text: string): string[] {
  if (text.length <= 1 || SIMPLE.test(text)) return text.split("");
  const out: string[] = [];
  for (const s of segmenter.segment(text)) {
    const g = s.segment;
    if (g.length > 2 && EMOJI_JOINED.test(g)) splitEmoji(g, out);
    else out.push(g);
  }
  return out;
}

/** U+FE0F, the emoji presentation selector. */
const VS16 = "\ufe0f";
const ZWJ = "\u200d";

/** A grapheme holding a zero-width joiner or a skin-tone modifier after an emoji. */
const EMOJI_JOINED = /\p{Extended_Pictographic}.*(\u200d|[\u{1f3fb}-\u{1f3ff}])/u;
const SKIN_TONE = /([\u{1f3fb}-\u{1f3ff}])/u;

/**
 * The longest sequence drawn joined, in UTF-8 bytes: tmux keeps at most 21 in a cell (its UTF8_SIZE)
 * and drops the rest of a longer one from the screen (a family of four, 25 bytes, lost its last
 * person), so a longer sequence is drawn as its parts in every terminal.
 */
const JOIN_MAX_BYTES = 21;

function utf8Bytes(g: string): number {
  let n = 0;
  for (const ch of g) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/** A joined emoji as the terminal draws it: whole where it joins (`emoji`), else its parts without the joiner. */
function splitEmoji(g: string, out: string[]): void {
  const joined = g.includes(ZWJ);
  const whole = joined ? emoji.zwj && (emoji.tone || !SKIN_TONE.test(g)) : emoji.tone;
  if (whole && utf8Bytes(g) <= JOIN_MAX_BYTES) return void out.push(g);
  for (const part of g.split(ZWJ)) {
    if (emoji.tone) out.push(part);
    else for (const p of part.split(SKIN_TONE)) if (p !== "") out.push(p);
  }
}

/** Cells of a cluster string-width does not count as terminals draw it: U+FE0F and joined sequences. */
function emojiWidth(g: string): number {
  if (g.includes(ZWJ)) return graphemeWidth(g.slice(0, g.indexOf(ZWJ))); // drawn whole: its first part's cells
  const base = g.replaceAll(VS16, "");
  const w = base === "" ? 0 : Math.min(2, stringWidth(base));
  return w === 1 ? emoji.vs16 : w;
}

/** Cells taken by one grapheme cluster. */
export function graphemeWidth(g: string): number {
  if (g.length === 1) {
    const c = g.charCodeAt(0);
    if (c >= 0x20 && c < 0x7f) return 1;
  }
  let w = widthCache.get(g);
  if (w === undefined) {
    w = g.includes(VS16) || g.includes(ZWJ) ? emojiWidth(g) : Math.min(2, stringWidth(g));
    if (widthCache.size > 10000) widthCache.clear();
    widthCache.set(g, w);
  }
  return w;
}

/** Cells taken by a whole string. */
export function textWidth(text: string): number {
  if (/^[ -~]*$/.test(text)) return text.length;
  let w = 0;
  for (const g of graphemes(text)) w += graphemeWidth(g);
  return w;
}

/**
 * Word-wraps `text` into rows of at most `width` cells. Always returns at least one row. With `hang`,
 * every row after the first is indented by that many cells (a table row's text stays in its column),
 * unless that would leave fewer than HANG_ROOM cells.
 */
export function wrap(text: string, width: number, hang = 0): string[] {
  const w = Math.max(1, width);
  const h = hang > 0 && w - hang >= HANG_ROOM ? hang : 0;
  const rows: string[] = [];
  for (const para of text.split("\n")) wrapParagraph(para, rows.length ? w - h : w, w - h, rows);
  return h ? rows.map((r, i) => i ? " ".repeat(h) + r : r) : rows;
}

/** Fewest cells a hanging indent leaves for the text beside it. */
const HANG_ROOM = 16;

/** Wraps one paragraph into `rows`: its first row `width` cells at most, the others `later`. */
function wrapParagraph(text: string, first: number, later: number, rows: string[]): void {
  let width = first;
  if (text.length <= width && textWidth(text) <= width) {
    rows.push(text);
    return;
  }
  const gs = graphemes(text);
  let line: string[] = [];
  let lineW = 0;
  let lastSpace = -1; // index in `line` of the last space
  for (const g of gs) {
    const gw = graphemeWidth(g);
    if (lineW + gw > width && line.length > 0) {
      width = later;
      if (g === " ") {
        rows.push(line.join(""));
        line = [];
        lineW = 0;
        lastSpace = -1;
        continue;
      }
      if (lastSpace > 0) {
        rows.push(line.slice(0, lastSpace).join(""));
        line = line.slice(lastSpace + 1);
        lineW = textWidth(line.join(""));
      } else {
        rows.push(line.join(""));
        line = [];
        lineW = 0;
      }
      lastSpace = -1;
      for (let i = 0; i < line.length; i++) if (line[i] === " ") lastSpace = i;
    }
    if (g === " ") lastSpace = line.length;
    line.push(g);
    lineW += gw;
  }
  rows.push(line.join(""));
}

/** Cuts `text` to at most `width` cells, ending with `ellipsis` when something was cut. */
export function truncate(text: string, width: number, ellipsis = "…"): string {
  if (width <= 0) return "";
  if (textWidth(text) <= width) return text;
  const ew = textWidth(ellipsis);
  let out = "";
  let w = 0;
  for (const g of graphemes(text)) {
    const gw = graphemeWidth(g);
    if (w + gw > width - ew) break;
    out += g;
    w += gw;
  }
  return out + ellipsis;
}

/** Truncates then pads with spaces to exactly `width` cells; `right` aligns to the right. */
export function fit(text: string, width: number, right = false, ellipsis = "…"): string {
  const t = truncate(text, width, ellipsis);
  const pad = " ".repeat(Math.max(0, width - textWidth(t)));
  return right ? pad + t : t + pad;
}
