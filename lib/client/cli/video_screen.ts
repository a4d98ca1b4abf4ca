/**
 * The terminal side of the scripted video commands (cli/video.ts): the flags they share (`--frames`,
 * `--renderer`, `--frame-format`; PARLEY_KITTY_TRANSFER from the environment), the screen set up and always restored around a playback, stopping
 * on Ctrl-C, SIGTERM or SIGHUP, and the keys and window resizes of a player on a terminal. The
 * terminal is the injected `TerminalIo` (term/terminal.ts); nothing here opens one.
 */
import type { Command } from "commander";
import { type GraphicsKind, KITTY_TRANSFERS, type KittyTransferSetting } from "../../media/term_detect.ts";
import { afterIo } from "../../common/turn.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { ConnectFlags } from "../start/session_setup.ts";
import { controlPlayback } from "../video/play_controls.ts";
import type { VideoPlayer } from "../video/player.ts";
import type { TerminalInfo } from "../video/terminal.ts";
import type { FramesWanted } from "../video/video_client.ts";
import type { TerminalIo } from "../term/terminal.ts";
import { type CliIo, scriptedSession } from "./io.ts";

/** The scripted video commands' io: CliIo and the terminal they draw on. */
export interface VideoCliIo extends CliIo {
  /** The terminal to query and draw on (default: the process's stdin/stdout). */
  terminal?: TerminalIo;
}

/** A video command's options, with the global connection flags. */
export type VideoOpts = ConnectFlags & Record<string, unknown>;

/** What a video command does once logged in: the client, its options, its arguments. */
export type VideoAction = (c: ChatClient, o: VideoOpts, args: string[]) => Promise<void>;

/**
 * A commander action that logs in and runs `fn`. With the client folder (`e2e`: keepHistory) the
 * session has its end-to-end keys; without, a login remembered on this machine serves instead of
 * the password.
 */
export function videoAction(io: CliIo, fn: VideoAction, e2e = false): (...a: unknown[]) => Promise<void> {
  return async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const o = cmd.optsWithGlobals() as VideoOpts;
    await scriptedSession(io, o, { keepHistory: e2e, remembered: !e2e }, (c) => fn(c, o, cmd.args));
  };
}

const enc = new TextEncoder();

/** The value of a flag taking a whole number ≥ 1 (`--frames`, `--height`, `--wait`), if given. */
export function positiveInt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new BackendError("usage", `${flag} takes a whole number ≥ 1`);
  return n;
}

/** `--renderer`: kitty, sixel or halfblock; undefined: ask the terminal. */
export function renderer(v: unknown): GraphicsKind | undefined {
  if (v === undefined) return undefined;
  if (v === "kitty" || v === "sixel" || v === "halfblock") return v;
  throw new BackendError("usage", `--renderer is kitty, sixel or halfblock, not "${v}"`);
}

/**
 * PARLEY_KITTY_TRANSFER: how kitty frames reach the terminal — auto (the default: through temporary
 * files when the terminal answers that it reads them, else in the escape sequences), file (without
 * asking) or direct (never temporary files).
 */
export function kittyTransferOf(io: Pick<CliIo, "env">): KittyTransferSetting {
  const v = io.env.get("PARLEY_KITTY_TRANSFER");
  if (v === undefined || v === "") return "auto";
  const known = KITTY_TRANSFERS.find((k) => k === v);
  if (known) return known;
  throw new BackendError("usage", `PARLEY_KITTY_TRANSFER is ${KITTY_TRANSFERS.join(", ")}, not "${v}"`);
}

/** `--frame-format`: auto (the default), jpeg or rgb. */
export function framesWanted(v: unknown): FramesWanted {
  if (v === undefined) return "auto";
  if (v === "auto" || v === "jpeg" || v === "rgb") return v;
  throw new BackendError("usage", `--frame-format is auto, jpeg or rgb, not "${v}"`);
}

/**
 * Sets up the screen, runs `body` with a draw function, and always restores the terminal. Output
 * processing goes off (`rawOutput`: two `stty` runs, ~10–30 ms, each start blocking the thread) only
 * on the turn after the body's first draw, the first picture: a picture has no newline for the kernel
 * to change, and the first one must not wait behind those processes (issue 75).
 */
export async function onScreen<T>(
  tio: TerminalIo,
  term: TerminalInfo,
  body: (draw: (b: string | Uint8Array) => void) => Promise<T>,
): Promise<T> {
  const write = (b: string | Uint8Array) => tio.write(typeof b === "string" ? enc.encode(b) : b);
  // Keys are read in raw mode (video/play_controls.ts). It goes on before output processing goes off:
  // Deno keeps the settings it found at its first switch to raw mode and puts them back when the
  // process ends, so they must be the user's own.
  const keys = term.isTerminal && tio.stdinIsTerminal();
  if (keys) tio.setRaw(true);
  // The picture is escape sequences and cursor moves only: the kernel need not scan it for newlines.
  const off: { put?: Promise<(() => Promise<void>) | null>; cancel?: () => void } = {};
  const draw = (b: string | Uint8Array) => {
    write(b);
    const rawOutput = term.isTerminal ? tio.rawOutput : undefined;
    if (off.cancel || !rawOutput) return;
    off.cancel = afterIo(() => (off.put = rawOutput().catch(() => null)));
  };
  if (term.isTerminal) write("\x1b[?25l\x1b[2J");
  try {
    return await body(draw);
  } finally {
    off.cancel?.(); // not started yet: never started
    await (await off.put)?.();
    if (keys) tio.setRaw(false);
    write(term.isTerminal ? `\x1b[0m\x1b[?25h\x1b[${term.rows};1H\n` : "\x1b[0m\n");
  }
}

/**
 * Calls `stop` on Ctrl-C (and on SIGTERM or SIGHUP, which would otherwise end the process before the
 * terminal is put back) while `fn` runs.
 */
export async function stopOnInterrupt<T>(stop: () => void, fn: () => Promise<T>): Promise<T> {
  const h = () => stop();
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const s of signals) {
    try {
      Deno.addSignalListener(s, h);
    } catch { /* no such signal here (e.g. Windows) */ }
  }
  try {
    return await fn();
  } finally {
    for (const s of signals) {
      try {
        Deno.removeSignalListener(s, h);
      } catch { /* as above */ }
    }
  }
}

/**
 * Keys (q, space, arrows, Ctrl-C) and window resizes for a player drawing on a terminal (nothing
 * when the output is not one); returns what releases them.
 */
export function controls(
  t: TerminalIo,
  term: TerminalInfo,
  player: VideoPlayer,
  draw: (b: string) => void,
  seekable: boolean,
): () => void {
  if (!term.isTerminal) return () => {};
  return controlPlayback(t, player, {
    seekable,
    draw,
    pane: (cols, rows) => fullPane({ ...term, cols, rows }),
  });
}

/** `term` with the terminal's size now (a terminal found a while ago: its window may have changed). */
export function sizedNow(t: TerminalIo, term: TerminalInfo): TerminalInfo {
  if (!term.isTerminal) return term;
  try {
    const s = t.size();
    return s.columns > 0 && s.rows > 0 ? { ...term, cols: s.columns, rows: s.rows } : term;
  } catch {
    return term; // the size cannot be read now: as it was
  }
}

/** The whole terminal as the drawing pane. */
export function fullPane(term: { cols: number; rows: number; cellWidth?: number; cellHeight?: number }) {
  return {
    row: 1,
    col: 1,
    cols: term.cols,
    rows: term.rows,
    cellWidth: term.cellWidth,
    cellHeight: term.cellHeight,
  };
}
