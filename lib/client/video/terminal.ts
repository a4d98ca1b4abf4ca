/**
 * Terminal graphics detection for the scripted player — by query, not by terminal name. On a TTY
 * (stdin and stdout) it switches stdin to raw mode, writes `DETECT_QUERY` (kitty graphics query,
 * cell and window size, DA1) and reads the replies for a short time; the DA1 reply ends it early.
 * A non-TTY stdout or no reply gives half-blocks; an explicit kitty or sixel still asks for the
 * cell size (`CELL_QUERY`), so frames are requested at the pane's real pixel size. The cell size is
 * CSI 16 t's, else the window's pixels ÷ cells (CSI 14 t), else unset (the player assumes 10×20). The full-screen client
 * reads its own input and can call `parseDetectReplies`/`chooseGraphics` from lib/media directly.
 * Where kitty may be the renderer and the terminal io has temporary files, the same round asks whether
 * the terminal reads pixels from them (a 3-byte file, `kittyFileQuery`, deleted after the replies):
 * `kittyFile` is set on an OK (`kittyTransfer`; `transfer` "file" skips the question, "direct" never).
 * The terminal itself (`TerminalIo`, `denoTerminalIo`) lives in lib/client/term/terminal.ts.
 */
import type { TempFiles, TerminalIo } from "../term/terminal.ts";
import {
  CELL_QUERY,
  cellPixels,
  chooseGraphics,
  DETECT_QUERY,
  type DetectResult,
  type GraphicsKind,
  kittyTransfer,
  type KittyTransferSetting,
  parseDetectReplies,
  TITLE_POP,
  TITLE_PUSH,
} from "../../media/term_detect.ts";
import { kittyFileQuery } from "../../media/render_kitty.ts";

export interface TerminalInfo {
  kind: GraphicsKind;
  cols: number;
  rows: number;
  cellWidth?: number;
  cellHeight?: number;
  isTerminal: boolean;
  /** Kitty frames' pixels go through these temporary files (the terminal said it reads them). */
  kittyFile?: TempFiles;
}

/** Finds the renderer and the drawing area. `forced` skips the query. */
export async function detectTerminal(
  io: TerminalIo,
  o: {
    forced?: GraphicsKind;
    timeoutMs?: number;
    defaultSize?: { cols: number; rows: number };
    /** How kitty frames travel (default auto: temporary files when the terminal says it reads them). */
    transfer?: KittyTransferSetting;
  } = {},
): Promise<TerminalInfo> {
  const tty = io.stdoutIsTerminal();
  let cols = o.defaultSize?.cols ?? 80, rows = o.defaultSize?.rows ?? 24;
  if (tty) {
    try {
      const s = io.size();
      if (s.columns > 0 && s.rows > 0) [cols, rows] = [s.columns, s.rows];
    } catch { /* keep the default */ }
  }
  const ask = tty && io.stdinIsTerminal();
  if (o.forced === "halfblock" || (o.forced && !ask)) return { kind: o.forced, cols, rows, isTerminal: tty };
  if (!ask) return { kind: "halfblock", cols, rows, isTerminal: tty };
  const files = io.tempFiles, transfer = o.transfer ?? "auto";
  // The temporary file question, only where its answer could matter: kitty possible, a way to put files.
  const probe = files && transfer === "auto" && (o.forced ?? "kitty") === "kitty"
    ? files.put(PROBE_PIXEL)
    : null;
  const query = (probe ? TITLE_PUSH + kittyFileQuery(probe) + TITLE_POP : "") +
    (o.forced ? CELL_QUERY : DETECT_QUERY);
  let r: DetectResult;
  try {
    r = await queryTerminal(io, query, o.timeoutMs ?? 300);
  } finally {
    if (probe) files!.drop(probe); // kitty deleted it if it read it
  }
  const info: TerminalInfo = { kind: o.forced ?? chooseGraphics(r), cols, rows, isTerminal: true };
  const cell = cellPixels(r, cols, rows);
  if (cell.from !== "default") [info.cellWidth, info.cellHeight] = [cell.width, cell.height];
  if (files && info.kind === "kitty" && kittyTransfer(transfer, r) === "file") info.kittyFile = files;
  return info;
}

/** The temporary file query's image: one black RGB pixel. */
const PROBE_PIXEL = new Uint8Array(3);

/** Writes `query` in raw mode and reads replies until DA1 or `timeoutMs`. */
async function queryTerminal(io: TerminalIo, query: string, timeoutMs: number): Promise<DetectResult> {
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const dec = new TextDecoder();
  io.setRaw(true);
  try {
    io.write(new TextEncoder().encode(query));
    const deadline = new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)));
    for (;;) {
      const chunk = await Promise.race([io.read(), deadline]);
      if (!chunk) break;
      text += dec.decode(chunk, { stream: true });
      if (parseDetectReplies(text).complete) break;
    }
  } finally {
    clearTimeout(timer);
    io.setRaw(false);
  }
  return parseDetectReplies(text);
}
