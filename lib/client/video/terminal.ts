/**
 * Terminal graphics detection for the scripted player — by query, not by terminal name. On a TTY
 * (stdin and stdout) it switches stdin to raw mode, writes `DETECT_QUERY` (kitty graphics query,
 * cell size, DA1) and reads the replies for a short time; the DA1 reply ends it early. A non-TTY
 * stdout, no reply, or an explicit choice gives half-blocks / that renderer. The full-screen client
 * reads its own input and can call `parseDetectReplies`/`chooseGraphics` from lib/media directly.
 */
import { chooseGraphics, DETECT_QUERY, type GraphicsKind, parseDetectReplies } from "../../media/mod.ts";

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
  if (o.forced) return { kind: o.forced, cols, rows, isTerminal: tty };
  if (!tty || !io.stdinIsTerminal()) return { kind: "halfblock", cols, rows, isTerminal: tty };
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const dec = new TextDecoder();
  io.setRaw(true);
  try {
    io.write(new TextEncoder().encode(DETECT_QUERY));
    const deadline = new Promise<null>((r) => (timer = setTimeout(() => r(null), o.timeoutMs ?? 300)));
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
  const r = parseDetectReplies(text);
  const info: TerminalInfo = { kind: chooseGraphics(r), cols, rows, isTerminal: true };
  if (r.cell) [info.cellWidth, info.cellHeight] = [r.cell.width, r.cell.height];
  return info;
}
