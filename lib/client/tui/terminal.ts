/**
 * The real terminal — the ONLY file in the TUI that touches Deno.stdin/stdout, raw mode and
 * signals. Everything else talks to the small `TerminalIo` interface, so tests use a fake.
 *
 * Contract: `openTerminal()` saves the window title (title stack) and switches to raw mode, the
 * alternate screen and bracketed paste; `restore()` undoes all of it exactly once and also runs on process unload, an uncaught error,
 * an unhandled rejection and SIGTERM/SIGHUP, so a crash never leaves the shell in raw mode.
 * `onResize` fires on SIGWINCH (and from `pollSize()` where signals do not exist, e.g. Windows).
 */
import { TITLE_POP, TITLE_PUSH } from "../../media/mod.ts";

export interface TerminalIo {
  size(): { cols: number; rows: number };
  write(s: string): void;
  /** Reads one chunk of input; null at end of input. */
  read(): Promise<Uint8Array | null>;
  onResize(cb: () => void): void;
  /** Checks the size and fires the resize callbacks when it changed. */
  pollSize(): void;
  restore(): void;
}

/** The window title is pushed at the start and popped at the end: whatever set it meanwhile is undone. */
const ENTER = TITLE_PUSH + "\x1b[?1049h\x1b[?2004h\x1b[?7l\x1b[H\x1b[2J";
const LEAVE = "\x1b[0m\x1b[?2004l\x1b[?7h\x1b[?25h\x1b[?1049l" + TITLE_POP;

export function openTerminal(): TerminalIo {
  const enc = new TextEncoder();
  const writeAll = (s: string) => {
    const bytes = enc.encode(s);
    let off = 0;
    while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
  };
  const size = () => {
    try {
      const { columns, rows } = Deno.consoleSize();
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
      if (Deno.stdin.isTerminal()) Deno.stdin.setRaw(false);
    } catch { /* not a tty */ }
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
  if (Deno.stdin.isTerminal()) Deno.stdin.setRaw(true);
  globalThis.addEventListener("unload", restore);
  globalThis.addEventListener("error", onCrash);
  globalThis.addEventListener("unhandledrejection", onCrash);
  for (const sig of ["SIGWINCH", "SIGTERM", "SIGHUP"] as Deno.Signal[]) {
    const fn = sig === "SIGWINCH" ? fireResize : onSignal(sig);
    try {
      Deno.addSignalListener(sig, fn);
      signals.push([sig, fn]);
    } catch { /* no such signal on this platform */ }
  }
  writeAll(ENTER);
  const buf = new Uint8Array(4096);
  return {
    size,
    write: writeAll,
    read: async () => {
      const n = await Deno.stdin.read(buf);
      return n === null ? null : buf.slice(0, n);
    },
    onResize: (cb) => void resizeCbs.push(cb),
    pollSize: () => {
      const s = size();
      if (s.cols !== last.cols || s.rows !== last.rows) fireResize();
    },
    restore,
  };
}
