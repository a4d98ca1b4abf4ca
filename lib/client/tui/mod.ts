/**
 * Entry of the full-screen chat UI: `runTui(backend, opts)` opens the terminal, runs `TuiApp` until
 * `/quit` (or end of input) and restores the terminal. The caller (client.ts) resolves options —
 * e.g. `notify: detectNotifyMode(Deno.env.toObject())` — nothing here reads flags or environment.
 * Video graphics: unless `renderer` is given, the terminal is asked at start (kitty graphics query,
 * cell size, DA1 — lib/media's DETECT_QUERY) and its replies are taken out of the first input;
 * no answer within `detectMs` means half-blocks. Keys typed meanwhile still reach the app. Before
 * that query, emoji_probe.ts asks how the terminal draws joined emoji, which width.ts then follows.
 */
import type { ChatBackend } from "../backend.ts";
import type { Clock } from "../../common/clock.ts";
import { TuiApp } from "./app.ts";
import type { NotifyMode } from "./notify.ts";
import type { ClientFiles } from "../session/home_dir.ts";
import { EMOJI_PROBE, parseEmojiReplies } from "./emoji_probe.ts";
import { type EmojiCells, useEmojiCells } from "./width.ts";
import { type FullScreenIo, openTerminal } from "./terminal.ts";
import type { CommandSpec } from "./command_context.ts";
import type { PictureLoader, TuiOptions } from "./app_options.ts";
import {
  cellPixels,
  chooseGraphics,
  DETECT_QUERY,
  type FrameDecoder,
  type GraphicsKind,
  parseDetectReplies,
} from "../../media/mod.ts";

export { detectNotifyMode, type NotifyMode } from "./notify.ts";
export { PEER_COMMANDS } from "./commands_peer.ts";
export type { CommandSpec, FullScreenIo, PictureLoader };
export type { Clock } from "../../common/clock.ts";
export type {
  FrameDecoder,
  GraphicsKind,
  ImageFormat,
  ImageHeader,
  ImageRefusal,
  ImageThumbnail,
  RgbaImage,
} from "../../media/mod.ts";

/**
 * The contract the TUI drives: `ChatBackend`, declared and documented in lib/client/backend.ts (its
 * one home; not re-exported from this entry, which only passes it to the app). `@internal` tells
 * `deno doc --lint` that this entry does not document it.
 * @internal
 */
type Backend = ChatBackend;

/**
 * Peer mode's watch together (`PeerWatch`, peer/watch.ts, documented at home; not re-exported) and
 * how a local video opens for it (video/local_playback.ts through client.ts).
 * @internal
 */
type PeerWatchPort = NonNullable<TuiOptions["peerWatch"]>;
/**
 * Opens a local video for a pane (see `PeerWatchPort`).
 * @internal
 */
type LocalVideoOpener = NonNullable<TuiOptions["openLocalVideo"]>;

/**
 * The settings file and the conversation logs (`ClientFiles`, session/home_dir.ts, documented at
 * home; not re-exported).
 * @internal
 */
type SettingsFiles = ClientFiles;

/** How `runTui` runs: what the caller resolved from flags and environment, and test doubles. */
export interface RunTuiOptions {
  /** How a DM or a mention is announced as the terminal allows (default "bell"; the `notify` setting's `auto`). */
  notify?: NotifyMode;
  /** The settings file (read before the first frame) and the conversation logs: start/launch.ts `screenFiles`. */
  files?: SettingsFiles;
  /** Time source of the app (default: the system clock). */
  clock?: Clock;
  /** Formats a message time for the screen (default: local HH:MM). */
  formatTime?: (ts: number) => string;
  /** A terminal to use instead of the process's own (tests, pseudo-terminals). */
  terminal?: FullScreenIo;
  /** Milliseconds a lone ESC waits before it counts as the Escape key. */
  escapeDelay?: number;
  /** Draw videos with this renderer instead of asking the terminal. */
  renderer?: GraphicsKind;
  /** How long to wait for the terminal's graphics replies (default 300 ms). */
  detectMs?: number;
  /** The command table (peer mode: PEER_COMMANDS). */
  commands?: readonly CommandSpec[];
  /** Makes the JPEG decoder of one playback (see `TuiOptions.videoDecoder`). */
  videoDecoder?: (kind: GraphicsKind) => FrameDecoder | undefined;
  /** Completes file paths after /send and /stream (see `TuiOptions.listPaths`). */
  listPaths?: (typed: string) => string[];
  /** Reads, checks and scales a received picture (see `TuiOptions.loadPicture`). */
  loadPicture?: PictureLoader;
  /** Peer mode's watch together (`/watch-together @PEER [PATH]`): the node's. */
  peerWatch?: PeerWatchPort;
  /** Opens a local video from a position for a pane (none without ffmpeg). */
  openLocalVideo?: LocalVideoOpener;
}

/** Runs the TUI until the user quits; always restores the terminal. */
export async function runTui(backend: Backend, opts: RunTuiOptions = {}): Promise<void> {
  const term = opts.terminal ?? openTerminal();
  let escTimer: ReturnType<typeof setTimeout> | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    const { cols, rows } = term.size();
    const config = opts.files ? await readConfig(opts.files) : undefined;
    const app = new TuiApp(backend, {
      output: term,
      cols,
      rows,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.formatTime ? { formatTime: opts.formatTime } : {}),
      notify: opts.notify ?? "bell",
      ...(opts.files ? { files: opts.files, config } : {}),
      ...(opts.commands ? { commands: opts.commands } : {}),
      ...(opts.videoDecoder ? { videoDecoder: opts.videoDecoder } : {}),
      ...(opts.listPaths ? { listPaths: opts.listPaths } : {}),
      ...(opts.loadPicture ? { loadPicture: opts.loadPicture } : {}),
      ...(opts.peerWatch ? { peerWatch: opts.peerWatch } : {}),
      ...(opts.openLocalVideo ? { openLocalVideo: opts.openLocalVideo } : {}),
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
    // One read in flight at a time; a read the detection gave up on is the loop's next chunk.
    let inflight: Promise<Uint8Array | null> | null = null;
    const input = { read: () => (inflight ??= term.read()), taken: () => void (inflight = null) };
    const reading = (async () => {
      if (opts.renderer) app.video.graphics = { kind: opts.renderer };
      else {
        const found = await detectGraphics(term, input, opts.detectMs ?? 300);
        app.video.graphics = found.graphics;
        emojiAsDrawn(app, found.emoji); // the probe drew at the top left: repainted whole either way
        if (found.rest) app.feedText(found.rest);
        if (found.eof) return;
      }
      for (;;) {
        const chunk = await input.read();
        input.taken();
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

/** The settings file's text, or why it could not be read (said at start; never a crash). */
async function readConfig(files: ClientFiles): Promise<{ text: string | null; error?: string }> {
  try {
    return { text: await files.readConfig() };
  } catch (e) {
    return { text: null, error: (e as Error).message };
  }
}

/** Asks the terminal for graphics support and reads its replies from the first input. */
async function detectGraphics(
  term: FullScreenIo,
  input: { read(): Promise<Uint8Array | null>; taken(): void },
  ms: number,
): Promise<
  {
    graphics: { kind: GraphicsKind; cellWidth?: number; cellHeight?: number };
    rest: string;
    eof: boolean;
    emoji: EmojiCells | null;
  }
> {
  term.write(EMOJI_PROBE + DETECT_QUERY); // the probe's replies come first, DA1's last
  const dec = new TextDecoder();
  let text = "", eof = false, timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    for (;;) {
      const chunk = await Promise.race([input.read(), deadline]);
      if (chunk === "timeout") break; // the read in flight stays for the input loop
      input.taken();
      if (chunk === null) {
        eof = true;
        break;
      }
      text += dec.decode(chunk, { stream: true });
      if (parseDetectReplies(parseEmojiReplies(text).rest).complete) break;
    }
  } finally {
    clearTimeout(timer);
  }
  const emoji = parseEmojiReplies(text);
  const r = parseDetectReplies(emoji.rest);
  const graphics: { kind: GraphicsKind; cellWidth?: number; cellHeight?: number } = {
    kind: chooseGraphics(r),
  };
  const { cols, rows } = term.size();
  const cell = cellPixels(r, cols, rows);
  if (cell.from !== "default") [graphics.cellWidth, graphics.cellHeight] = [cell.width, cell.height];
  return { graphics, rest: r.rest, eof, emoji: emoji.cells };
}

/** Emoji drawn as the terminal told (width.ts), every line wrapped again and the screen repainted. */
function emojiAsDrawn(app: TuiApp, cells: EmojiCells | null): void {
  if (cells) useEmojiCells(cells);
  for (const b of app.state.buffers.buffers) for (const l of b.lines) l.cacheWidth = undefined;
  app.invalidate();
  app.tick();
}
