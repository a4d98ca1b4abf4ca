/**
 * Where each part of the screen goes for a terminal size. Pure.
 *
 * Contract: row 0 is the title bar, the last row the input line, the row above it the status line
 * (or, with `bannerRows`, that many rows of the banner — a reply's quote, a question — and the status
 * line above them);
 * between them the buffer list (left), the message pane and the member list (right), each side list
 * followed/preceded by a one-column separator. Side lists can be turned off and are dropped
 * automatically below `SIDE_MIN_COLS` columns; their widths follow the screen unless `widths` fixes them. The message pane's text column starts after a time
 * column, a right-aligned nick column and ` │ `.
 */

import type { Look } from "./settings.ts";

export interface Rect {
  row: number;
  col: number;
  width: number;
  height: number;
}

export interface Layout {
  cols: number;
  rows: number;
  title: Rect;
  buffers: Rect | null;
  messages: Rect;
  members: Rect | null;
  status: Rect;
  input: Rect;
  /** Rows between the status line and the input line (selection mode: select.ts), or null. */
  banner: Rect | null;
  timeWidth: number;
  nickWidth: number;
  /** Width of wrapped message text. */
  textWidth: number;
  /** True when the terminal is too small to draw anything useful. */
  tooSmall: boolean;
}

export const SIDE_MIN_COLS = 60;
export const MIN_COLS = 20;
export const MIN_ROWS = 5;

/** The side lists' widths as the screen gives them (the settings' `auto`). */
const NO_WIDTHS = { buffersWidth: null, membersWidth: null };
const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

export function layout(
  cols: number,
  rows: number,
  showBuffers: boolean,
  showMembers: boolean,
  timeWidth = 5,
  bannerRows = 0,
  widths: Pick<Look, "buffersWidth" | "membersWidth"> = NO_WIDTHS,
): Layout {
  const tooSmall = cols < MIN_COLS || rows < MIN_ROWS;
  const ban = Math.max(0, Math.min(bannerRows, rows - 4));
  const midH = Math.max(1, rows - 3 - ban);
  const side = cols >= SIDE_MIN_COLS;
  const sideW = clamp(Math.floor(cols * 0.12), 12, 24);
  const bw = showBuffers && side ? widths.buffersWidth ?? sideW : 0;
  const mw = showMembers && side ? widths.membersWidth ?? sideW : 0;
  const msgCol = bw ? bw + 1 : 0;
  const msgW = Math.max(1, cols - msgCol - (mw ? mw + 1 : 0));
  const nickWidth = msgW >= 100 ? 12 : msgW >= 50 ? 9 : 6;
  const prefix = timeWidth + 1 + nickWidth + 3;
  return {
    cols,
    rows,
    title: { row: 0, col: 0, width: cols, height: 1 },
    buffers: bw ? { row: 1, col: 0, width: bw, height: midH } : null,
    messages: { row: 1, col: msgCol, width: msgW, height: midH },
    members: mw ? { row: 1, col: cols - mw, width: mw, height: midH } : null,
    status: { row: rows - 2 - ban, col: 0, width: cols, height: 1 },
    input: { row: rows - 1, col: 0, width: cols, height: 1 },
    banner: ban ? { row: rows - 1 - ban, col: 0, width: cols, height: ban } : null,
    timeWidth,
    nickWidth,
    textWidth: Math.max(1, msgW - prefix),
    tooSmall,
  };
}
