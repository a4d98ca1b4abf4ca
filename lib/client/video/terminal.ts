/**
 * Terminal graphics detection for the scripted player — by query, not by terminal name. On a TTY
 * (stdin and stdout) it switches stdin to raw mode, writes `DETECT_QUERY` (kitty graphics query,
 * cell and window size, DA1) and reads the replies for a short time; the DA1 reply ends it early.
 * A non-TTY stdout or no reply gives half-blocks; an explicit kitty or sixel still asks for the
 * cell size (`CELL_QUERY`), so frames are requested at the pane's real pixel size. The cell size is
 * CSI 16 t's, else the window's pixels ÷ cells (CSI 14 t), else unset (the player assumes 10×20). The full-screen client
 * reads its own input and can call `parseDetectReplies`/`chooseGraphics` from lib/media directly.
 * `denoTerminalIo` is the real terminal (stdin, stdout, `stty`, SIGWINCH) behind `TerminalIo`.
 */
import {
  CELL_QUERY,
  cellPixels,
  chooseGraphics,
  DETECT_QUERY,
  type DetectResult,
  type GraphicsKind,
  parseDetectReplies,
} from "../../media/mod.ts";

export interface TerminalInfo {
  kind: GraphicsKind;
  cols: number;
  rows: number;
  cellWidth?: number;
  cellHeight?: number;
  isTerminal: boolean;
}

export interface TerminalIo {
  stdinIsTerminal: () => boolean;
  stdoutIsTerminal: () => boolean;
  size: () => { columns: number; rows: number };
  setRaw: (raw: boolean) => void;
  write: (b: Uint8Array) => void;
  /** Reads one chunk (null at end). */
  read: () => Promise<Uint8Array | null>;
  /**
   * Turns the terminal's output processing off (`stty -opost`: the kernel then passes bytes through
   * instead of scanning each for newlines) and returns what puts the settings back as they were;
   * null when it cannot (no terminal on stdin and stdout, no `stty`, Windows). For a player that
   * writes only escape sequences and cursor moves: 0.3 s of kernel CPU per 480 frames of 42 KB.
   */
  rawOutput?: () => Promise<(() => Promise<void>) | null>;
  /** Calls `h` whenever the terminal changes size (SIGWINCH); returns what stops it. */
  onResize?: (h: () => void) => () => void;
}

/** Runs `stty` on the terminal of stdin; its standard output, or null when it failed. */
async function stty(args: string[]): Promise<string | null> {
  try {
    const o = await new Deno.Command("stty", { args, stdin: "inherit", stdout: "piped", stderr: "null" })
      .output();
    return o.success ? new TextDecoder().decode(o.stdout).trim() : null;
  } catch {
    return null; // no stty
  }
}

export function denoTerminalIo(): TerminalIo {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return {
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    stdoutIsTerminal: () => Deno.stdout.isTerminal(),
    size: () => Deno.consoleSize(),
    setRaw: (raw) => Deno.stdin.setRaw(raw),
    write: (b) => {
      let o = 0;
      while (o < b.length) o += Deno.stdout.writeSync(b.subarray(o));
    },
    read: async () => {
      reader ??= Deno.stdin.readable.getReader();
      const r = await reader.read();
      return r.done ? null : r.value;
    },
    rawOutput: async () => {
      if (Deno.build.os === "windows" || !Deno.stdin.isTerminal() || !Deno.stdout.isTerminal()) return null;
      const saved = await stty(["-g"]); // every setting, in the form stty takes back
      if (!saved || !/^[\w:=.-]+$/.test(saved) || (await stty(["-opost"])) === null) return null;
      return async () => void (await stty([saved]));
    },
    onResize: (h) => {
      try {
        Deno.addSignalListener("SIGWINCH", h);
      } catch {
        return () => {}; // no such signal here (Windows)
      }
      return () => Deno.removeSignalListener("SIGWINCH", h);
    },
  };
}

/** Finds the renderer and the drawing area. `forced` skips the query. */
export async function detectTerminal(
  io: TerminalIo,
  o: { forced?: GraphicsKind; timeoutMs?: number; defaultSize?: { cols: number; rows: number } } = {},
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
  const r = await queryTerminal(io, o.forced ? CELL_QUERY : DETECT_QUERY, o.timeoutMs ?? 300);
  const info: TerminalInfo = { kind: o.forced ?? chooseGraphics(r), cols, rows, isTerminal: true };
  const cell = cellPixels(r, cols, rows);
  if (cell.from !== "default") [info.cellWidth, info.cellHeight] = [cell.width, cell.height];
  return info;
}

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
