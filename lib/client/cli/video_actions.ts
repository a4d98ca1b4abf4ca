/**
 * What the scripted video commands do once logged in (registered by cli/video.ts, which documents
 * their fixed output): `videos` lists, `play` draws a server video and prints the one summary line of
 * frames per rendition, `stream` offers a local video and relays it once accepted, `watch` accepts
 * an offer and draws it; `playDecoder`, the JPEG decoder of a playback (the full-screen client's too).
 * Output through `CliIo`; drawing through the injected terminal. Loaded only when a video command runs.
 */
import { safeJson } from "../../common/sanitize.ts";
import { FFMPEG_HINT, findFfmpeg, isVideoFile } from "../../media/ffmpeg.ts";
import { FfmpegJpegDecoder, type FrameDecoder } from "../../media/ffmpeg_decoder.ts";
import type { GraphicsKind } from "../../media/term_detect.ts";
import { JpegDecoder } from "../../media/decoder.ts";
import { RENDITIONS } from "../../media/thirds.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { PLAY_LEAD_MS, type PlayerSummary, VideoPlayer } from "../video/player.ts";
import { videoOf } from "../video/client_video.ts";
import { type ReadiedFile, readyFile } from "../video/stream_send.ts";
import { detectTerminal } from "../video/terminal.ts";
import { denoTerminalIo } from "../term/terminal.ts";
import type { FrameSource, VideoFrame } from "../video/video_client.ts";
import { framesFormat, VideoClient } from "../video/video_client.ts";
import {
  controls,
  framesWanted,
  fullPane,
  kittyTransferOf,
  onScreen,
  positiveInt,
  renderer,
  sizedNow,
  stopOnInterrupt,
  type VideoCliIo,
  type VideoOpts,
} from "./video_screen.ts";

/**
 * The JPEG decoder of a playback drawn with `kind` (unknown yet: any): a long-lived ffmpeg when there
 * is one (WASM behind it) for every renderer — even half-block frames cost less CPU there than in
 * WASM (client 1.73 → 1.60 s for 480 frames at 200×60); without ffmpeg a WASM worker for kitty and
 * sixel, and nothing for half-blocks (the player decodes those small frames in-thread). One ffmpeg
 * takes every frame size (the poster's, then the pane's); only an ffmpeg older than 4.4 needs a
 * spare process per size, kept from the start for kitty and sixel (their poster comes at the
 * rendition's size) and not for half-blocks (frames of the pane's size, no poster). Kitty frames
 * come out of ffmpeg as RGB, which the kitty renderer sends as they are (no packing per frame), and
 * sixel frames too (the encoder reads RGB in place: a quarter fewer bytes through the pipe than RGBA);
 * half-block frames as YUV 4:4:4, made RGBA here (cheaper than ffmpeg's conversion of small frames).
 */
export function playDecoder(ffmpeg: string | null, kind?: GraphicsKind): FrameDecoder | undefined {
  if (ffmpeg) {
    return new FfmpegJpegDecoder(ffmpeg, new JpegDecoder(), {
      spare: kind !== "halfblock",
      output: kind === "kitty" || kind === "sixel" ? "rgb" : kind === "halfblock" ? "yuv" : "rgba",
    });
  }
  return VideoPlayer.wasmDecoder(kind);
}

/** `videos [--json]`: one line a video (or JSON), a note while the server still prepares them. */
export async function listVideos(io: VideoCliIo, c: ChatClient, o: VideoOpts): Promise<void> {
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
}

/** `play NAME`: draws the video (decoded by `early` when given), then `240p: A 720p: B 1080p: C`. */
export async function playVideo(
  io: VideoCliIo,
  c: ChatClient,
  o: VideoOpts,
  name: string,
  early: FrameDecoder | undefined,
): Promise<void> {
  const max = positiveInt(o.frames, "--frames");
  const t = io.terminal ?? denoTerminalIo();
  const asked = performance.now();
  let firstMs = -1; // play start (terminal query included) → first picture written
  const term = await detectTerminal(t, { forced: renderer(o.renderer), transfer: kittyTransferOf(io) });
  // A WASM worker started before half-blocks were detected is not used (they decode in-thread).
  const decoder = term.kind === "halfblock" && early instanceof JpegDecoder ? undefined : early;
  const pane = fullPane(term);
  const px = VideoPlayer.pixelsFor(term.kind, pane);
  const format = term.kind === "halfblock" ? framesWanted(o.frameFormat) : "jpeg";
  if (framesFormat(format, c.conn.conn.remoteAddr.hostname) === "jpeg") void decoder?.warm();
  const vc = new VideoClient(c.conn);
  const counts: Record<string, number> = Object.fromEntries(RENDITIONS.map((r) => [r, 0]));
  let total = 0;
  let shown = null as PlayerSummary | null; // set inside the callback below
  // Counted from the first frame, one that came before the play's reply too (the server sends the first at once).
  const playing = vc.play(name, {
    mode: o.thirds ? "thirds" : "adaptive",
    ...px,
    lead: PLAY_LEAD_MS,
    format,
    onFrame: (f, p) => {
      if (max !== undefined && total >= max) return;
      counts[f.rendition]!++;
      if (++total === max) p.stopAfterThis(); // this frame is still drawn
    },
  });
  // The renderer is set up while the request is on its way (issue 75).
  const painter = VideoPlayer.painterFor(term.kind, term.kittyFile);
  const pb = await playing.catch((e) => {
    painter.close();
    throw e;
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
        painter,
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
}

/**
 * `stream`'s file probed and its ffmpeg started, paused, while the client logs in, so that its first
 * frame is decoded before the viewer accepts (issue 75); none when ffmpeg or `--height` is missing or
 * wrong (`streamVideo` then says so). The caller stops it once the command ends (`ReadiedFile.stream`).
 */
export function readyEarly(io: VideoCliIo, o: VideoOpts, file: string): Promise<ReadiedFile> | undefined {
  const ffmpeg = findFfmpeg(io.env);
  let maxHeight: number | undefined;
  try {
    maxHeight = positiveInt(o.height, "--height");
  } catch {
    return undefined;
  }
  if (!ffmpeg) return undefined;
  const r = readyFile(file, { ffmpeg, ...(maxHeight ? { maxHeight } : {}) });
  r.catch(() => {}); // a file that is no video: streamVideo says so, or send throws this
  return r;
}

/** `stream USER FILE`: offers the file, streams it once accepted, says how many frames went. */
export async function streamVideo(
  io: VideoCliIo,
  c: ChatClient,
  o: VideoOpts,
  args: string[],
  readied?: Promise<ReadiedFile>,
): Promise<void> {
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
      ...(readied ? { readied } : {}),
    }));
  if (r.reason === "refused") throw new BackendError("refused", `${user} did not accept the stream`);
  const how = r.reason === "end" ? "" : r.by && r.by !== c.user ? ` (stopped by ${r.by})` : " (stopped)";
  io.out(`Streamed ${r.relayed} frames to ${user}, ${r.dropped} dropped${how}`);
}

/**
 * `watch`: waits for an offer (from `--accept-from` only, if given), accepts it and draws it, its
 * JPEGs decoded by `early` when given (started before the wait).
 */
export async function watchVideo(
  io: VideoCliIo,
  c: ChatClient,
  o: VideoOpts,
  early?: FrameDecoder,
): Promise<void> {
  // Every option is checked before waiting: a bad one must not cost an offer that came meanwhile.
  const max = positiveInt(o.frames, "--frames");
  const waitMs = (positiveInt(o.wait, "--wait") ?? 60) * 1000;
  const forced = renderer(o.renderer);
  const peers = videoOf(c).peers;
  const from = o.acceptFrom as string | undefined;
  const t = io.terminal ?? denoTerminalIo();
  // The terminal is asked while the client syncs and waits, not after the offer came (issue 75).
  const detected = detectTerminal(t, { forced, transfer: kittyTransferOf(io) });
  detected.catch(() => {}); // awaited once the offer came; a failed sync or wait says its own error
  await c.sync(); // live delivery of DMs: the frame key arrives as one
  io.err(`Waiting for a stream${from ? ` from ${from}` : ""}…`);
  // The renderer is set up while the offer is awaited, once the terminal is known (issue 75).
  const { value: offer, painter } = await VideoPlayer.painterWhile(detected, peers.waitOffer(from, waitMs));
  const term = sizedNow(t, await detected); // the window may have changed while waiting
  // A WASM worker started before half-blocks were detected is not used (they decode in-thread).
  const decoder = term.kind === "halfblock" && early instanceof JpegDecoder ? undefined : early;
  const pane = fullPane(term);
  const accepted = performance.now();
  let firstMs = -1; // the offer accepted → first picture written
  // The pixels drawn: the sender sends no larger frames.
  const incoming = await peers.accept(offer, VideoPlayer.pixelsFor(term.kind, pane)).catch((e) => {
    painter.close();
    throw e;
  });
  // The consumed key message leaves the server's queue; the first frame does not wait for it.
  const acked = c.ack([]).catch(() => {});
  io.err(`Accepted ${offer.name} from ${offer.from}`);
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
    setPane: (width, height) => incoming.setPane(width, height), // the window changed size
  };
  const sum = await onScreen(t, term, (draw) =>
    stopOnInterrupt(() => void incoming.stop(), async () => {
      const player = new VideoPlayer(counted, {
        kind: term.kind,
        pane,
        draw: (b) => {
          draw(b);
          if (firstMs < 0) firstMs = performance.now() - accepted; // the first draw is a picture
        },
        label: `from ${offer.from}`,
        ...(decoder ? { decoder } : {}),
        painter,
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
  await acked;
  const who = end.by === c.user ? "" : ` (stopped by ${end.by})`;
  const sent = incoming.sender ? ` sent: ${incoming.sender.sent}` : "";
  if (firstMs >= 0) io.err(`parley: first frame after ${Math.round(firstMs)} ms`);
  io.out(`frames: ${sum.shown} dropped: ${sum.dropped}${sent}${who}`);
}
