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
 * What each command does once logged in is video_actions.ts; the terminal side video_screen.ts.
 */
import type { Command } from "commander";
import {
  FfmpegJpegDecoder,
  findFfmpeg,
  type FrameDecoder,
  type GraphicsKind,
  JpegDecoder,
} from "../../media/mod.ts";
import { VideoPlayer } from "../video/player.ts";
import { listVideos, playVideo, streamVideo, watchVideo } from "./video_actions.ts";
import { framesWanted, renderer, videoAction, type VideoCliIo } from "./video_screen.ts";

export type { VideoCliIo } from "./video_screen.ts";

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

/** Registers `videos`, `play`, `stream` and `watch` on the program (in this order: --help lists them so). */
export function registerVideoCommands(program: Command, io: VideoCliIo): void {
  program.command("videos").description("list the server's videos").option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley videos\n  parley videos --json")
    .action(videoAction(io, (c, o) => listVideos(io, c, o)));
  registerPlay(program, io);
  registerStream(program, io);
  program.command("watch").description("accept a user's video stream and draw it (q stops)")
    .option("--accept-from <user>", "only accept a stream from USER")
    .option("--frames <n>", "stop after N frames")
    .option("--renderer <kind>", "kitty, sixel or halfblock (default: ask the terminal)")
    .option("--wait <seconds>", "how long to wait for an offer (default 60)")
    .addHelpText(
      "after",
      "\nExamples:\n  parley watch\n  parley watch --accept-from alice --renderer halfblock",
    )
    .action(async (...a: unknown[]) => {
      const chosen = renderer((a[a.length - 1] as Command).optsWithGlobals().renderer);
      // Stream frames are JPEGs: the decoder starts now and is ready when the offer comes.
      const early = playDecoder(findFfmpeg(io.env), chosen);
      void early?.warm();
      try {
        await videoAction(io, (c, o) => watchVideo(io, c, o, early), true)(...a);
      } finally {
        early?.close();
      }
    });
}

function registerPlay(program: Command, io: VideoCliIo): void {
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
      const opts = (a[a.length - 1] as Command).optsWithGlobals();
      const chosen = renderer(opts.renderer);
      framesWanted(opts.frameFormat); // a bad value fails before logging in
      // The JPEG decoder starts now, while the client logs in (~300 ms on a busy machine); for
      // half-blocks only once it is known that frames come as JPEG (raw ones need none).
      const early = playDecoder(findFfmpeg(io.env), chosen);
      if (chosen !== "halfblock") void early?.warm();
      try {
        await videoAction(io, (c, o, args) => playVideo(io, c, o, args[0]!, early))(...a);
      } finally {
        early?.close();
      }
    });
}

function registerStream(program: Command, io: VideoCliIo): void {
  program.command("stream").description("offer a local video to a user and stream it once accepted")
    .argument("<user>").argument("<file>")
    .option("--height <px>", "largest frame height to send (default 720)")
    .option("--frames <n>", "stop after N frames")
    .option("--wait <seconds>", "how long to wait for the answer (default 60)")
    .addHelpText(
      "after",
      "\nExamples:\n  parley stream bob ./holiday.mp4\n  parley stream bob ./talk.mkv --height 480 --frames 600 --wait 120",
    )
    .action(videoAction(io, (c, o, args) => streamVideo(io, c, o, args), true));
}
