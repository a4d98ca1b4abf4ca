/**
 * The full-screen client's screen on the real terminal: the ONLY file in the TUI that touches the
 * terminal (through lib/client/term/terminal.ts, the client's one `TerminalIo`) and process signals.
 * Everything else talks to the small `FullScreenIo` interface, so tests use a fake.
 *
 * Contract: `openTerminal()` saves the window title (title stack) and switches to raw mode, the
 * alternate screen and bracketed paste; `restore()` undoes all of it exactly once and also runs on process unload, an uncaught error,
 * an unhandled rejection and SIGTERM/SIGHUP, so a crash never leaves the shell in raw mode.
 * `onResize` fires on SIGWINCH (and from `pollSize()` where signals do not exist, e.g. Windows).
 */
import { TITLE_POP, TITLE_PUSH } from "../../media/mod.ts";
import { denoTerminalIo, type TerminalIo } from "../term/terminal.ts";

/** The screen as the full-screen client uses it (text out, bytes in, size in cells). */
export interface FullScreenIo {
  /** The screen size in cells. */
  size(): { cols: number; rows: number };
  /** Writes text (escape sequences included) to the screen. */
  write(s: string): void;
  /** Reads one chunk of input; null at end of input. */
  read(): Promise<Uint8Array | null>;
  /** Calls `cb` after the screen size changed. */
  onResize(cb: () => void): void;
  /** Checks the size and fires the resize callbacks when it changed. */
  pollSize(): void;
  /** Leaves raw mode and the alternate screen and puts the window title back; runs once. */
  restore(): void;
}

/** The window title is pushed at the start and popped at the end: whatever set it meanwhile is undone. */
const ENTER = TITLE_PUSH + "\x1b[?1049h\x1b[?2004h\x1b[?1004h\x1b[?7l\x1b[H\x1b[2J";
const LEAVE = "\x1b[0m\x1b[?1004l\x1b[?2004l\x1b[?7h\x1b[?25h\x1b[?1049l" + TITLE_POP;

export function openTerminal(dev: TerminalIo = denoTerminalIo()): FullScreenIo {
  const enc = new TextEncoder();
  const writeAll = (s: string) => dev.write(enc.encode(s));
  const size = () => {
    try {
      const { columns, rows } = dev.size();
      return { cols: columns, rows };
    } catch {
      return { cols: 80, rows: 24 };
    }
  };
  const resizeCbs: (() => void)[] = [];
  let last = size();
  const fireResize = () => {
    last = size();
    for (const cb of resizeCbs) cb();
  };
  let restored = false;
  const signals: [Deno.Signal, () => void][] = [];
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      writeAll(LEAVE);
    } catch { /* stdout gone */ }
    try {
      if (dev.stdinIsTerminal()) dev.setRaw(false);
    } catch { /* not a tty */ }
    stopResize();
    for (const [sig, fn] of signals) {
      try {
        Deno.removeSignalListener(sig, fn);
      } catch { /* unsupported */ }
    }
    globalThis.removeEventListener("unload", restore);
    globalThis.removeEventListener("error", onCrash);
    globalThis.removeEventListener("unhandledrejection", onCrash);
  };
  const onCrash = () => restore();
  const onSignal = (sig: Deno.Signal) => () => {
    restore();
    Deno.exit(sig === "SIGTERM" ? 143 : 129);
  };
  const stopResize = dev.onResize?.(fireResize) ?? (() => {});
  if (dev.stdinIsTerminal()) dev.setRaw(true);
  globalThis.addEventListener("unload", restore);
  globalThis.addEventListener("error", onCrash);
  globalThis.addEventListener("unhandledrejection", onCrash);
  for (const sig of ["SIGTERM", "SIGHUP"] as Deno.Signal[]) {
    const fn = onSignal(sig);
    try {
      Deno.addSignalListener(sig, fn);
      signals.push([sig, fn]);
    } catch { /* no such signal on this platform */ }
  }
  writeAll(ENTER);
  return {
    size,
    write: writeAll,
    read: () => dev.read(),
    onResize: (cb) => void resizeCbs.push(cb),
    pollSize: () => {
      const s = size();
      if (s.cols !== last.cols || s.rows !== last.rows) fireResize();
    },
    restore,
  };
}
