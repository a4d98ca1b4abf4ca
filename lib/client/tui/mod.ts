/**
 * Entry of the full-screen chat UI: `runTui(backend, opts)` opens the terminal, runs `TuiApp` until
 * `/quit` (or end of input) and restores the terminal. The caller (client.ts) resolves options —
 * e.g. `notify: detectNotifyMode(Deno.env.toObject())` — nothing here reads flags or environment.
 */
import type { ChatBackend } from "../backend.ts";
import type { Clock } from "../../common/clock.ts";
import { TuiApp } from "./app.ts";
import type { NotifyMode } from "./notify.ts";
import { openTerminal, type TerminalIo } from "./terminal.ts";

export { TuiApp, type TuiOptions } from "./app.ts";
export { detectNotifyMode, type NotifyMode } from "./notify.ts";
export { FakeBackend } from "./fake_backend.ts";
export { benchTui } from "./bench.ts";

export interface RunTuiOptions {
  notify?: NotifyMode;
  clock?: Clock;
  formatTime?: (ts: number) => string;
  /** A terminal to use instead of the process's own (tests, pseudo-terminals). */
  terminal?: TerminalIo;
  /** Milliseconds a lone ESC waits before it counts as the Escape key. */
  escapeDelay?: number;
}

/** Runs the TUI until the user quits; always restores the terminal. */
export async function runTui(backend: ChatBackend, opts: RunTuiOptions = {}): Promise<void> {
  const term = opts.terminal ?? openTerminal();
  let escTimer: ReturnType<typeof setTimeout> | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    const { cols, rows } = term.size();
    const app = new TuiApp(backend, {
      output: term,
      cols,
      rows,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.formatTime ? { formatTime: opts.formatTime } : {}),
      notify: opts.notify ?? "bell",
    });
    term.onResize(() => {
      const s = term.size();
      app.resize(s.cols, s.rows);
    });
    app.start();
    ticker = setInterval(() => {
      term.pollSize();
      app.tick();
    }, 1000);
    const reading = (async () => {
      for (;;) {
        const chunk = await term.read();
        if (chunk === null) return;
        app.feed(chunk);
        clearTimeout(escTimer);
        if (app.inputPending) escTimer = setTimeout(() => app.flushInput(), opts.escapeDelay ?? 25);
      }
    })();
    await Promise.race([app.done, reading]);
    app.stop();
  } finally {
    clearTimeout(escTimer);
    clearInterval(ticker);
    term.restore();
  }
}
