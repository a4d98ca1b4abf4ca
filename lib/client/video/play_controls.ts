/**
 * Playback controls of the scripted player (`parley play`, `parley watch`) on a terminal, while a
 * VideoPlayer draws. Keys: stdin (which the caller put in raw mode) is read through the TUI's
 * `KeyDecoder`; the video keys (video_keys.ts: q, space, ←/→) act on the player — a live stream
 * (`seekable` false) only stops — and Ctrl-C stops it too (raw mode delivers it as a byte instead
 * of SIGINT).
 * Window size: when the terminal changes size (`TerminalIo.onResize`) and then holds still for
 * `settleMs` (dragging a window's edge sends many changes, and each new size restarts the server's
 * ffmpeg), the screen is cleared and the player gets the pane of the new size: later frames are
 * drawn there, and the server sends them at its pixels. Nothing is read when stdin is not a
 * terminal. The returned function stops reading keys and releases the size listener. All
 * terminal access goes through `TerminalIo` (lib/client/term/terminal.ts).
 */
import type { PaneGeometry } from "../../media/mod.ts";
import { KeyDecoder } from "../term/keys.ts";
import type { TerminalIo } from "../term/terminal.ts";
import { applyVideoAction, videoActions, type VideoControls } from "./video_keys.ts";

/** What the controls drive (VideoPlayer has it all). */
export interface Controlled extends VideoControls {
  resize(pane: PaneGeometry): Promise<void>;
  invalidate(): void;
}

export interface ControlOptions {
  /** Space pauses and the arrows seek (a server video); false: a live stream, which only stops. */
  seekable: boolean;
  /** The pane for a terminal of `cols` × `rows` cells. */
  pane: (cols: number, rows: number) => PaneGeometry;
  /** Writes to the terminal (the screen is cleared before a resized picture). */
  draw: (out: string) => void;
  /** Quiet time after the last size change before the new size is taken (default 150 ms). */
  settleMs?: number;
}

export function controlPlayback(io: TerminalIo, player: Controlled, o: ControlOptions): () => void {
  let live = true;
  const quiet = () => {}; // a failed pause or seek (connection gone) ends the play anyway
  const keys = new KeyDecoder();
  if (io.stdinIsTerminal()) {
    void (async () => {
      while (live) {
        const chunk = await io.read().catch(() => null);
        if (!chunk || !live) return;
        for (const ev of keys.push(chunk)) {
          if (ev.type === "key" && ev.key === "C-c") void player.stop().catch(quiet);
          for (const a of videoActions(ev)) {
            if (a.do === "stop" || o.seekable) void applyVideoAction(player, a).catch(quiet);
          }
        }
      }
    })();
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const resized = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      let size: { columns: number; rows: number };
      try {
        size = io.size();
      } catch {
        return; // no terminal any more: keep the pane
      }
      if (!live || size.columns <= 0 || size.rows <= 0) return;
      o.draw("\x1b[0m\x1b[2J"); // the old picture may lie outside the new pane
      player.invalidate();
      void player.resize(o.pane(size.columns, size.rows)).catch(quiet);
    }, o.settleMs ?? 150);
  };
  const offResize = io.onResize?.(resized);
  return () => {
    if (!live) return;
    live = false;
    clearTimeout(timer);
    offResize?.();
  };
}
