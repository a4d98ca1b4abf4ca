/**
 * Scripted video commands (fixed contract, registered on the `parley` program by cli/main.ts):
 *   videos [--json]                                   list the server's videos
 *   play NAME [--thirds] [--frames N] [--renderer kitty|sixel|halfblock]
 *                                                     draw to stdout, then ONE summary line
 *                                                     `240p: A 720p: B 1080p: C` (frames received)
 *   stream USER FILE [--height PX] [--frames N] [--wait S]   offer a local video, stream once accepted
 *   watch [--accept-from USER] [--frames N] [--renderer …] [--wait S]   accept an offer and draw it
 * The renderer is found by querying the terminal unless `--renderer` is given; a stdout that is
 * not a terminal gets half-blocks at 80×24. Drawing bytes go to `io.write` (default: stdout). On a
 * terminal, `play` takes q, space, ←/→ and Ctrl-C and follows window resizes (video/play_controls.ts);
 * `watch` takes q and Ctrl-C and follows resizes.
 * `stream` and `watch` log in with the client folder's keystore, so the frame key travels end to
 * end (an encrypted DM control message), never inside the offer the server relays.
 */
import { safeJson } from "../../common/sanitize.ts";
import type { Command } from "commander";
import {
  FFMPEG_HINT,
  FfmpegJpegDecoder,
  findFfmpeg,
  type FrameDecoder,
  type GraphicsKind,
  isVideoFile,
  JpegDecoder,
  RENDITIONS,
} from "../../media/mod.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { type CliIo, scriptedSession } from "./io.ts";
import type { ConnectFlags } from "../start/session_setup.ts";
import { PLAY_LEAD_MS, type PlayerSummary, VideoPlayer } from "../video/player.ts";
import { videoOf } from "../video/client_video.ts";
import { controlPlayback } from "../video/play_controls.ts";
import { detectTerminal, type TerminalInfo } from "../video/terminal.ts";
import { denoTerminalIo, type TerminalIo } from "../term/terminal.ts";
import type { FrameSource, FramesWanted, VideoFrame } from "../video/video_client.ts";
import { framesFormat, VideoClient } from "../video/video_client.ts";

export interface VideoCliIo extends CliIo {
  /** The terminal to query and draw on (default: the process's stdin/stdout). */
  terminal?: TerminalIo;
}

const enc = new TextEncoder();
type Opts = ConnectFlags & Record<string, unknown>;

function positiveInt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new BackendError("usage", `${flag} takes a whole number ≥ 1`);
  return n;
}

function renderer(v: unknown): GraphicsKind | undefined {
  if (v === undefined) return undefined;
  if (v === "kitty" || v === "sixel" || v === "halfblock") return v;
  throw new BackendError("usage", `--renderer is kitty, sixel or halfblock, not "${v}"`);
}

function framesWanted(v: unknown): FramesWanted {
  if (v === undefined) return "auto";
  if (v === "auto" || v === "jpeg" || v === "rgb") return v;
  throw new BackendError("usage", `--frame-format is auto, jpeg or rgb, not "${v}"`);
}

/** Sets up the screen, runs `body` with a draw function, and always restores the terminal. */
async function onScreen<T>(
  tio: TerminalIo,
  term: TerminalInfo,
  body: (draw: (b: string | Uint8Array) => void) => Promise<T>,
): Promise<T> {
  const draw = (b: string | Uint8Array) => tio.write(typeof b === "string" ? enc.encode(b) : b);
  // Keys are read in raw mode (video/play_controls.ts). It goes on before output processing goes off:
  // Deno keeps the settings it found at its first switch to raw mode and puts them back when the
  // process ends, so they must be the user's own.
  const keys = term.isTerminal && tio.stdinIsTerminal();
  if (keys) tio.setRaw(true);
  // The picture is escape sequences and cursor moves only: the kernel need not scan it for newlines.
  const restore = term.isTerminal ? await tio.rawOutput?.() : null;
  if (term.isTerminal) draw("\x1b[?25l\x1b[2J");
  try {
    return await body(draw);
  } finally {
    await restore?.();
    if (keys) tio.setRaw(false);
    draw(term.isTerminal ? `\x1b[0m\x1b[?25h\x1b[${term.rows};1H\n` : "\x1b[0m\n");
  }
}

/**
 * Stops `src` on Ctrl-C (and on SIGTERM or SIGHUP, which would otherwise end the process before the
 * terminal is put back) while `fn` runs.
 */
async function stopOnInterrupt<T>(stop: () => void, fn: () => Promise<T>): Promise<T> {
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
 * The JPEG decoder of a playback drawn with `kind` (unknown yet: any): a long-lived ffmpeg when there
 * is one (WASM behind it) for every renderer — even half-block frames cost less CPU there than in
 * WASM (client 1.73 → 1.60 s for 480 frames at 200×60); without ffmpeg a WASM worker for kitty and
 * sixel, and nothing for half-blocks (the player decodes those small frames in-thread). One ffmpeg
 * takes every frame size (the poster's, then the pane's); only an ffmpeg older than 4.4 needs a
 * spare process per size, kept from the start for kitty and sixel (their poster comes at the
 * rendition's size) and not for half-blocks (frames of the pane's size, no poster). Kitty frames
 * come out of ffmpeg as RGB, which the kitty renderer sends as they are (no packing per frame);
 * half-block frames as YUV 4:4:4, made RGBA here (cheaper than ffmpeg's conversion of small frames).
 */
export function playDecoder(ffmpeg: string | null, kind?: GraphicsKind): FrameDecoder | undefined {
  if (ffmpeg) {
    return new FfmpegJpegDecoder(ffmpeg, new JpegDecoder(), {
      spare: kind !== "halfblock",
      output: kind === "kitty" ? "rgb" : kind === "halfblock" ? "yuv" : "rgba",
    });
  }
  return VideoPlayer.wasmDecoder(kind);
}

export function registerVideoCommands(program: Command, io: VideoCliIo): void {
  const tio = () => io.terminal ?? denoTerminalIo();
  const run = (fn: (c: ChatClient, o: Opts, args: string[]) => Promise<void>, e2e = false) =>
  async (
    ...a: unknown[]
  ) => {
    const cmd = a[a.length - 1] as Command;
    const o = cmd.optsWithGlobals() as Opts;
    // With the client folder (keepHistory) the session has its end-to-end keys; without, a login
    // remembered on this machine serves instead of the password.
    await scriptedSession(io, o, { keepHistory: e2e, remembered: !e2e }, (c) => fn(c, o, cmd.args));
  };

  program.command("videos").description("list the server's videos").option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley videos\n  parley videos --json")
    .action(run(async (c, o) => {
      const r = await new VideoClient(c.conn).list();
      if (o.json) return io.out(safeJson(r.videos));
      if (r.preparing) io.err("The server is still preparing its videos; more may appear");
      if (!r.videos.length) io.err("There are no videos on the server");
      for (const v of r.videos) {
        io.out(
          `${v.name}  ${v.duration.toFixed(1)} s  ${v.fps} fps  ${v.width}×${v.height}  ${
            v.renditions.join(" ")
          }`,
        );
      }
    }));

  program.command("play").description(
    "play a server video in this terminal (q stops, space pauses, ←/→ seek 5 s; it follows the window's size)",
  ).argument("<name>")
    .option("--thirds", "first third at 240p, middle at 720p, last at 1080p")
    .option("--frames <n>", "stop after N frames")
    .option("--renderer <kind>", "kitty, sixel or halfblock (default: ask the terminal)")
    .option(
      "--frame-format <f>",
      "half-block frames as raw RGB (more bytes, less CPU), jpeg, or auto: rgb when the server is on loopback or a private network (default auto)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  parley play sample\n  parley play sample --thirds --frames 90 --renderer halfblock\n  parley play sample --renderer halfblock --frame-format jpeg",
    )
    .action(async (...a: unknown[]) => {
      const opts = (a[a.length - 1] as Command).optsWithGlobals() as Opts;
      const chosen = renderer(opts.renderer);
      framesWanted(opts.frameFormat); // a bad value fails before logging in
      // The JPEG decoder starts now, while the client logs in (~300 ms on a busy machine); for
      // half-blocks only once it is known that frames come as JPEG (raw ones need none).
      const early = playDecoder(findFfmpeg(io.env), chosen);
      if (chosen !== "halfblock") void early?.warm();
      try {
        await run((c, o, args) => play(c, o, args, early))(...a);
      } finally {
        early?.close();
      }
    });

  const play = async (c: ChatClient, o: Opts, args: string[], early: FrameDecoder | undefined) => {
    const max = positiveInt(o.frames, "--frames");
    const t = tio();
    const asked = performance.now();
    let firstMs = -1; // play start (terminal query included) → first picture written
    const term = await detectTerminal(t, { forced: renderer(o.renderer) });
    // A WASM worker started before half-blocks were detected is not used (they decode in-thread).
    const decoder = term.kind === "halfblock" && early instanceof JpegDecoder ? undefined : early;
    const pane = fullPane(term);
    const px = VideoPlayer.pixelsFor(term.kind, pane);
    const format = term.kind === "halfblock" ? framesWanted(o.frameFormat) : "jpeg";
    if (framesFormat(format, c.conn.conn.remoteAddr.hostname) === "jpeg") void decoder?.warm();
    const vc = new VideoClient(c.conn);
    const pb = await vc.play(args[0]!, {
      mode: o.thirds ? "thirds" : "adaptive",
      ...px,
      lead: PLAY_LEAD_MS,
      format,
    });
    const counts: Record<string, number> = Object.fromEntries(RENDITIONS.map((r) => [r, 0]));
    let total = 0;
    let shown = null as PlayerSummary | null; // set inside the callback below
    pb.onFrame((f) => {
      if (max !== undefined && total >= max) return;
      counts[f.rendition]!++;
      if (++total === max) pb.stopAfterThis(); // this frame is still drawn
    });
    // A signal stops the player once there is one: a paused player waits for no frame, so stopping
    // only its source would leave it waiting.
    let player: VideoPlayer | null = null;
    const interrupt = () => void (player ? player.stop() : pb.stop()).catch(() => {});
    await onScreen(t, term, (draw) =>
      stopOnInterrupt(interrupt, async () => {
        player = new VideoPlayer(pb, {
          kind: term.kind,
          pane,
          draw: (b) => {
            draw(b);
            if (firstMs < 0) firstMs = performance.now() - asked; // the first draw is a picture
          },
          label: o.thirds ? "thirds" : "adaptive",
          ...(decoder ? { decoder } : {}),
        });
        const release = controls(t, term, player, draw, true);
        try {
          shown = await player.done;
        } finally {
          release();
        }
        await Promise.race([pb.ended, new Promise((r) => setTimeout(r, 2000))]);
      }));
    if (shown) {
      const first = firstMs >= 0 ? `, first frame after ${Math.round(firstMs)} ms` : "";
      io.err(`parley: ${shown.shown} frames shown, ${shown.dropped} dropped${first}`);
    }
    const end = await Promise.race([pb.ended, Promise.resolve(null)]);
    if (end?.reason === "error") {
      io.err(`parley: playback failed: ${String(end.stats.error ?? "ffmpeg error")}`);
    }
    io.out(RENDITIONS.map((r) => `${r}: ${counts[r]}`).join(" "));
  };

  program.command("stream").description("offer a local video to a user and stream it once accepted")
    .argument("<user>").argument("<file>")
    .option("--height <px>", "largest frame height to send (default 720)")
    .option("--frames <n>", "stop after N frames")
    .option("--wait <seconds>", "how long to wait for the answer (default 60)")
    .addHelpText(
      "after",
      "\nExamples:\n  parley stream bob ./holiday.mp4\n  parley stream bob ./talk.mkv --height 480 --frames 600 --wait 120",
    )
    .action(run(async (c, o, args) => {
      const [user, file] = [args[0]!, args[1]!];
      const ffmpeg = findFfmpeg(io.env);
      if (!ffmpeg) throw new BackendError("unavailable", `Streaming needs ffmpeg: ${FFMPEG_HINT}`);
      if (!(await isVideoFile(file))) throw new BackendError("usage", `Cannot read the video file ${file}`);
      const peers = videoOf(c).peers;
      const ac = new AbortController();
      const r = await stopOnInterrupt(() => ac.abort(), () =>
        peers.send(user, file, {
          ffmpeg,
          maxHeight: positiveInt(o.height, "--height"),
          maxFrames: positiveInt(o.frames, "--frames"),
          waitMs: (positiveInt(o.wait, "--wait") ?? 60) * 1000,
          onAccepted: () => io.err(`${user} accepted; streaming`),
          // Only once the file was read as a video and the offer is out (issue 14).
          onOffered: () => io.err(`Offered ${file} to ${user}; waiting for them to accept…`),
          signal: ac.signal,
        }));
      if (r.reason === "refused") throw new BackendError("refused", `${user} did not accept the stream`);
      const how = r.reason === "end" ? "" : r.by && r.by !== c.user ? ` (stopped by ${r.by})` : " (stopped)";
      io.out(`Streamed ${r.relayed} frames to ${user}, ${r.dropped} dropped${how}`);
    }, true));

  program.command("watch").description("accept a user's video stream and draw it (q stops)")
    .option("--accept-from <user>", "only accept a stream from USER")
    .option("--frames <n>", "stop after N frames")
    .option("--renderer <kind>", "kitty, sixel or halfblock (default: ask the terminal)")
    .option("--wait <seconds>", "how long to wait for an offer (default 60)")
    .addHelpText(
      "after",
      "\nExamples:\n  parley watch\n  parley watch --accept-from alice --renderer halfblock",
    )
    .action(run(async (c, o) => {
      const max = positiveInt(o.frames, "--frames");
      const peers = videoOf(c).peers;
      const from = o.acceptFrom as string | undefined;
      await c.sync(); // live delivery of DMs: the frame key arrives as one
      io.err(`Waiting for a stream${from ? ` from ${from}` : ""}…`);
      const offer = await peers.waitOffer(from, (positiveInt(o.wait, "--wait") ?? 60) * 1000);
      const incoming = await peers.accept(offer);
      await c.ack([]).catch(() => {}); // the consumed key message leaves the server's queue
      io.err(`Accepted ${offer.name} from ${offer.from}`);
      const t = tio();
      const term = await detectTerminal(t, { forced: renderer(o.renderer) });
      const pane = fullPane(term);
      let taken = 0;
      const counted: FrameSource = {
        get dropped() {
          return incoming.dropped;
        },
        next: async (): Promise<VideoFrame | null> => {
          if (max !== undefined && taken >= max) return null;
          const f = await incoming.next();
          if (f) taken++;
          return f;
        },
        stop: () => incoming.stop(),
      };
      const sum = await onScreen(t, term, (draw) =>
        stopOnInterrupt(() => void incoming.stop(), async () => {
          const player = new VideoPlayer(counted, {
            kind: term.kind,
            pane,
            draw,
            label: `from ${offer.from}`,
          });
          const release = controls(t, term, player, draw, false);
          try {
            return await player.done;
          } finally {
            release();
            await incoming.stop();
          }
        }));
      const end = await incoming.ended;
      const who = end.by === c.user ? "" : ` (stopped by ${end.by})`;
      const sent = incoming.sender ? ` sent: ${incoming.sender.sent}` : "";
      io.out(`frames: ${sum.shown} dropped: ${sum.dropped}${sent}${who}`);
    }, true));
}

/**
 * Keys (q, space, arrows, Ctrl-C) and window resizes for a player drawing on a terminal (nothing
 * when the output is not one); returns what releases them.
 */
function controls(
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

/** The whole terminal as the drawing pane. */
function fullPane(term: { cols: number; rows: number; cellWidth?: number; cellHeight?: number }) {
  return {
    row: 1,
    col: 1,
    cols: term.cols,
    rows: term.rows,
    cellWidth: term.cellWidth,
    cellHeight: term.cellHeight,
  };
}
