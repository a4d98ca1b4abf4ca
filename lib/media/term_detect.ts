/**
 * Terminal graphics detection by query, not by name — pure. `DETECT_QUERY` asks for kitty
 * graphics support (a 1×1 query image, id 31), the cell size in pixels (CSI 16 t), the window
 * size in pixels (CSI 14 t) and the primary device attributes (DA1, CSI c); `CELL_QUERY` asks only
 * for the sizes (a renderer chosen by hand still needs them). Terminals answer in order, and every
 * terminal answers DA1, so the DA1 reply ends detection. `cellPixels` takes the cell size from
 * CSI 16 t, else the window's pixels ÷ its cells, else 10×20. `parseDetectReplies` reads whatever arrived (possibly mixed with
 * keystrokes, which it hands back) and `chooseGraphics` picks kitty, then sixel (attribute 4 in
 * DA1), else truecolor half-blocks. A temporary file query (render_kitty.ts `kittyFileQuery`, id 32) sent
 * before the DA1 is answered `OK` or an error: `kittyTransfer` sends kitty frames through temporary
 * files only on its `OK` (an error or silence: the pixels go in the escape sequences, base64).
 */

import { KITTY_FILE_QUERY_ID } from "./render_kitty.ts";

/** The terminal graphics a picture is drawn with. */
export type GraphicsKind = "kitty" | "sixel" | "halfblock";

/** Cell size, window size (both in pixels), then DA1 to end the replies. */
export const CELL_QUERY: string = "\x1b[16t\x1b[14t\x1b[c";

/** Saves the window title on the terminal's title stack (XTWINOPS 22;0), and takes it back (23;0). */
export const TITLE_PUSH: string = "\x1b[22;0t";
/** Takes the saved window title back (XTWINOPS 23;0). */
export const TITLE_POP: string = "\x1b[23;0t";

/**
 * The kitty query sits between a title push and pop: tmux and screen take an APC string they do
 * not know for a window title, so without them the pane kept `Gi=31,s=1,…` as its title.
 */
export const DETECT_QUERY: string = TITLE_PUSH + "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\" + TITLE_POP +
  CELL_QUERY;

/** The cell size assumed when the terminal tells nothing. */
export const DEFAULT_CELL = { width: 10, height: 20 } as const;

/** What the terminal's replies to `DETECT_QUERY` told. */
export interface DetectResult {
  /** A kitty graphics OK reply for id 31 was seen. */
  kitty: boolean;
  /** DA1 listed attribute 4. */
  sixel: boolean;
  /** The DA1 reply arrived: nothing more will come. */
  complete: boolean;
  /** Cell size in pixels, if the terminal answered CSI 16 t. */
  cell?: { width: number; height: number };
  /** Text area size in pixels, if the terminal answered CSI 14 t. */
  window?: { width: number; height: number };
  /** The temporary file query's answer (id 32): true OK, false an error, absent none came. */
  kittyFile?: boolean;
  /** Bytes that were not replies (user input typed meanwhile). */
  rest: string;
}

/** How kitty frames reach the terminal: `auto` asks (temporary files on an OK), or always one way. */
export type KittyTransferSetting = "auto" | "file" | "direct";

/** The settings `PARLEY_KITTY_TRANSFER` takes. */
export const KITTY_TRANSFERS: readonly KittyTransferSetting[] = ["auto", "file", "direct"];

/** Temporary files (`file`) or pixels in the escape sequences (`direct`) for this setting and these replies. */
export function kittyTransfer(
  setting: KittyTransferSetting,
  r: Pick<DetectResult, "kittyFile">,
): "file" | "direct" {
  if (setting !== "auto") return setting;
  return r.kittyFile === true ? "file" : "direct";
}

// deno-lint-ignore no-control-regex
const KITTY_RE = /\x1b_G([^\x1b]*)\x1b\\/g;
const FILE_ID_RE = new RegExp(`(^|,)i=${KITTY_FILE_QUERY_ID}(,|$)`);
// deno-lint-ignore no-control-regex
const DA1_RE = /\x1b\[\?([\d;]*)c/;
// deno-lint-ignore no-control-regex
const CELL_RE = /\x1b\[6;(\d+);(\d+)t/;
// deno-lint-ignore no-control-regex
const WINDOW_RE = /\x1b\[4;(\d+);(\d+)t/;

/** Parses the replies received so far. */
export function parseDetectReplies(input: string): DetectResult {
  let kitty = false;
  let kittyFile: boolean | undefined;
  let rest = input.replace(KITTY_RE, (_m, body: string) => {
    const [keys = "", msg = ""] = body.split(";");
    if (/(^|,)i=31(,|$)/.test(keys) && msg.startsWith("OK")) kitty = true;
    if (FILE_ID_RE.test(keys)) kittyFile = msg === "OK";
    return "";
  });
  let cell: DetectResult["cell"];
  const c = CELL_RE.exec(rest);
  if (c) {
    cell = { height: Number(c[1]), width: Number(c[2]) };
    rest = rest.replace(CELL_RE, "");
  }
  let window: DetectResult["window"];
  const wm = WINDOW_RE.exec(rest);
  if (wm) {
    window = { height: Number(wm[1]), width: Number(wm[2]) };
    rest = rest.replace(WINDOW_RE, "");
  }
  const da = DA1_RE.exec(rest);
  let sixel = false;
  if (da) {
    sixel = da[1]!.split(";").includes("4");
    rest = rest.replace(DA1_RE, "");
  }
  const out: DetectResult = { kitty, sixel, complete: da !== null, rest };
  if (cell && cell.width > 0 && cell.height > 0) out.cell = cell;
  if (window && window.width > 0 && window.height > 0) out.window = window;
  if (kittyFile !== undefined) out.kittyFile = kittyFile;
  return out;
}

/**
 * The cell size in pixels: the CSI 16 t answer, else the window's pixels divided by its `cols` ×
 * `rows` cells (CSI 14 t), else `DEFAULT_CELL`; `from` says which.
 */
export function cellPixels(
  r: Pick<DetectResult, "cell" | "window">,
  cols: number,
  rows: number,
): { width: number; height: number; from: "cell" | "window" | "default" } {
  if (r.cell) return { ...r.cell, from: "cell" };
  if (r.window && cols > 0 && rows > 0) {
    const width = Math.floor(r.window.width / cols), height = Math.floor(r.window.height / rows);
    if (width > 0 && height > 0) return { width, height, from: "window" };
  }
  return { ...DEFAULT_CELL, from: "default" };
}

/** The renderer to use for these replies. */
export function chooseGraphics(r: Pick<DetectResult, "kitty" | "sixel">): GraphicsKind {
  return r.kitty ? "kitty" : r.sixel ? "sixel" : "halfblock";
}
