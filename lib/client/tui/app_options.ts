/**
 * The full-screen app's options (`TuiOptions`: output, size, clock, notify mode, graphics, command
 * table, decoders and loaders injected by the caller), its default time format, and the state of a
 * scrollback search. Types and one pure function; no I/O.
 */
import type { FrameDecoder, GraphicsKind, ImageThumbnail } from "../../media/mod.ts";
import type { Clock } from "../../common/clock.ts";
import type { NotifyMode } from "./notify.ts";
import type { CommandSpec } from "./commands.ts";
import type { PeerWatch } from "../peer/watch.ts";
import type { VideoHandle } from "../backend.ts";
import type { Line } from "./buffers.ts";
import type { ClientFiles } from "../session/home_dir.ts";

/** How videos are drawn: the terminal's graphics and, when known, a cell's size in pixels. */
export interface GraphicsInfo {
  kind: GraphicsKind;
  cellWidth?: number;
  cellHeight?: number;
}

/** Reads, checks and scales a saved picture to fit `box` (pixels). */
export type PictureLoader = (path: string, box: { width: number; height: number }) => Promise<ImageThumbnail>;

/** How the full-screen app runs: what `runTui` resolved, and test doubles. */
export interface TuiOptions {
  output: { write(s: string): void };
  cols: number;
  rows: number;
  clock?: Clock;
  /** Formats a timestamp for the message pane (default: local `HH:MM`). */
  formatTime?: (ts: number) => string;
  /** The notification mode the terminal allows (the `notify` setting's `auto`). */
  notify?: NotifyMode;
  /** The settings file and the conversation logs (start/launch.ts `screenFiles`); none: settings last a session. */
  files?: ClientFiles;
  /** The settings file's text as read at start (null: none yet), or why it could not be read. */
  config?: { text: string | null; error?: string };
  /** How videos are drawn (detected by `runTui`; default half-blocks). */
  graphics?: GraphicsInfo;
  /** The command table (default COMMANDS; peer mode passes PEER_COMMANDS): parsing, /help, Tab. */
  commands?: readonly CommandSpec[];
  /**
   * Makes the JPEG decoder of one playback drawn with `kind` (closed when it ends), e.g. the client's
   * long-lived ffmpeg decoder; undefined or absent: the player's own (in-thread for half-blocks, else a
   * WASM worker).
   */
  videoDecoder?: (kind: GraphicsKind) => FrameDecoder | undefined;
  /** Completes a file path as typed after /send or /stream (client.ts: file_disk's `pathCompletions`). */
  listPaths?: (typed: string) => string[];
  /** Reads, checks and scales a received picture (client.ts: media's `imageThumbnail`); none: no pictures. */
  loadPicture?: PictureLoader;
  /** Peer mode: the node's watch together (`/watch-together @PEER [PATH]`, watch_view.ts). */
  peerWatch?: PeerWatch;
  /** Opens a local video from `start` ms for a pane of `px` pixels (client.ts; none without ffmpeg). */
  openLocalVideo?: (
    path: string,
    start: number,
    px: { width: number; height: number },
  ) => Promise<VideoHandle>;
}

/** A timestamp as local `HH:MM` (the message pane's default time format). */
export function localTime(ts: number): string {
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** A scrollback search (Ctrl-F): the query, the line found, and where the view was before. */
export interface SearchState {
  query: string;
  hit: Line | null;
  failed: boolean;
  saved: { line: Line; skip: number } | null;
}
