/**
 * A screen model (a grid of cells) and the diff that turns one screen into the next with the
 * fewest escape sequences. Pure: produces strings, writes nothing.
 *
 * Contract: a cell holds one grapheme (a wide one spans two cells; the second holds "") and a
 * packed style. `Screen.put` writes sanitised text clipped to a width and never splits a wide
 * character. `diff(prev, next)` returns output that changes a terminal showing `prev` into `next`:
 * only changed cells are written (a full clear and repaint when `prev` is null or another size),
 * wrapped in synchronized-output mode 2026 so the terminal shows no half-drawn frame; "" when nothing
 * changed. After a wide or composed grapheme the cursor is placed explicitly, so a terminal that
 * measures an emoji differently cannot shift the rest of the row.
 */
import { graphemes, graphemeWidth } from "./width.ts";

/** Style bits: fg colour (0 = default, else 1 + xterm-256 index), bg colour, attributes. */
export const BOLD = 1 << 18;
export const REVERSE = 1 << 19;
export const UNDERLINE = 1 << 20;
export const DIM = 1 << 21;

export function style(fg = -1, bg = -1, attrs = 0): number {
  return (fg + 1) | ((bg + 1) << 9) | attrs;
}

export function sgr(st: number): string {
  const parts = ["0"];
  if (st & BOLD) parts.push("1");
  if (st & DIM) parts.push("2");
  if (st & UNDERLINE) parts.push("4");
  if (st & REVERSE) parts.push("7");
  const fg = (st & 0x1ff) - 1;
  const bg = ((st >> 9) & 0x1ff) - 1;
  if (fg >= 0) parts.push(fg < 8 ? String(30 + fg) : fg < 16 ? String(82 + fg) : `38;5;${fg}`);
  if (bg >= 0) parts.push(bg < 8 ? String(40 + bg) : bg < 16 ? String(92 + bg) : `48;5;${bg}`);
  return `\x1b[${parts.join(";")}m`;
}

export class Screen {
  readonly chars: string[];
  readonly styles: Uint32Array;
  cursorRow = 0;
  cursorCol = 0;
  cursorVisible = true;

  constructor(readonly cols: number, readonly rows: number) {
    this.chars = new Array(cols * rows).fill(" ");
    this.styles = new Uint32Array(cols * rows);
  }

  /** Fills a rectangle of a row with spaces in a style. */
  fill(row: number, col: number, width: number, st = 0): void {
    if (row < 0 || row >= this.rows) return;
    const end = Math.min(this.cols, col + width);
    for (let c = Math.max(0, col); c < end; c++) {
      this.chars[row * this.cols + c] = " ";
      this.styles[row * this.cols + c] = st;
    }
  }

  /** Writes text at (row, col) within `width` cells; returns the cells used. */
  put(row: number, col: number, text: string, st = 0, width = this.cols - col): number {
    if (row < 0 || row >= this.rows) return 0;
    if (/^[ -~]*$/.test(text)) { // printable ASCII: one cell per character, no splitting needed
      const n = Math.max(0, Math.min(text.length, this.cols - col, width));
      const base = row * this.cols + col;
      for (let k = 0; k < n; k++) {
        this.chars[base + k] = text[k]!;
        this.styles[base + k] = st;
      }
      return n;
    }
    return this.putGraphemes(row, col, graphemes(text), st, width);
  }

  /** Like `put` for text already split into grapheme clusters. */
  putGraphemes(row: number, col: number, gs: readonly string[], st = 0, width = this.cols - col): number {
    if (row < 0 || row >= this.rows) return 0;
    const limit = Math.min(this.cols, col + width);
    let c = col;
    for (const g of gs) {
      const w = graphemeWidth(g);
      if (w === 0) continue; // zero-width leftovers (e.g. U+200B) are dropped to keep columns exact
      if (c + w > limit) {
        if (w === 2 && c < limit) this.fill(row, c, 1, st);
        c += w;
        break;
      }
      const i = row * this.cols + c;
      this.chars[i] = g;
      this.styles[i] = st;
      if (w === 2) {
        this.chars[i + 1] = "";
        this.styles[i + 1] = st;
      }
      c += w;
    }
    return Math.min(c, limit) - col;
  }

  /** Blanks the whole screen so it can be drawn again (reuse instead of allocating). */
  clear(): void {
    this.chars.fill(" ");
    this.styles.fill(0);
    this.cursorRow = 0;
    this.cursorCol = 0;
    this.cursorVisible = true;
  }

  /** The text of one row (for tests and debugging). */
  rowText(row: number): string {
    return this.chars.slice(row * this.cols, (row + 1) * this.cols).join("").trimEnd();
  }
}

const isComposed = (g: string) =>
  g.length > 2 || (g.length === 2 && !/^[\ud800-\udbff][\udc00-\udfff]$/.test(g));

/** Escape output that turns `prev` into `next`; see the module contract. */
export function diff(prev: Screen | null, next: Screen): string {
  const full = !prev || prev.cols !== next.cols || prev.rows !== next.rows;
  const out: string[] = [];
  let curR = -1;
  let curC = -1;
  let curStyle = 0; // every diff leaves the terminal with the default style
  if (full) out.push("\x1b[0m\x1b[H\x1b[2J");
  const { cols, rows, chars, styles } = next;
  for (let r = 0; r < rows; r++) {
    let forceRest = false;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const ch = chars[i]!;
      if (ch === "") continue;
      const changed = full || forceRest || ch !== prev!.chars[i] || styles[i] !== prev!.styles[i];
      if (!changed) continue;
      if (full && ch === " " && styles[i] === 0) continue;
      if (curR !== r || curC !== c) out.push(`\x1b[${r + 1};${c + 1}H`);
      if (styles[i] !== curStyle) {
        curStyle = styles[i]!;
        out.push(sgr(curStyle));
      }
      out.push(ch);
      const w = graphemeWidth(ch);
      curR = r;
      curC = c + w;
      if (w !== 1 || ch.length > 1) {
        curC = -1; // place the cursor explicitly after wide or composed graphemes
        if (isComposed(ch)) forceRest = true;
      }
    }
  }
  const cursorMoved = full || prev!.cursorRow !== next.cursorRow || prev!.cursorCol !== next.cursorCol ||
    prev!.cursorVisible !== next.cursorVisible;
  if (out.length === 0 && !cursorMoved) return "";
  if (curStyle !== 0) out.push("\x1b[0m");
  out.push(`\x1b[${next.cursorRow + 1};${next.cursorCol + 1}H`);
  out.push(next.cursorVisible ? "\x1b[?25h" : "\x1b[?25l");
  return "\x1b[?2026h" + out.join("") + "\x1b[?2026l";
}
