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
import type { VideoCliIo } from "./video_screen.ts";

export type { VideoCliIo } from "./video_screen.ts";

/**
 * What the commands do, loaded when one runs (cli/main.ts: no family loads its work eagerly): the
 * session, the player, the renderers and ffmpeg's modules are not loaded for --help or another command.
 */
const work = () =>
  Promise.all([import("./video_actions.ts"), import("./video_screen.ts"), import("../../media/ffmpeg.ts")]);

/** Registers `videos`, `play`, `stream` and `watch` on the program (in this order: --help lists them so). */
export function registerVideoCommands(program: Command, io: VideoCliIo): void {
  program.command("videos").description("list the server's videos").option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley videos\n  parley videos --json")
    .action(async (...a: unknown[]) => {
      const [run, screen] = await work();
      await screen.videoAction(io, (c, o) => run.listVideos(io, c, o))(...a);
    });
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
      const [run, screen, media] = await work();
      const chosen = screen.renderer((a[a.length - 1] as Command).optsWithGlobals().renderer);
      // Stream frames are JPEGs: the decoder starts now and is ready when the offer comes.
      const early = run.playDecoder(media.findFfmpeg(io.env), chosen);
      void early?.warm();
      try {
        await screen.videoAction(io, (c, o) => run.watchVideo(io, c, o, early), true)(...a);
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
      const [run, screen, media] = await work();
      const chosen = screen.renderer(opts.renderer);
      screen.framesWanted(opts.frameFormat); // a bad value fails before logging in
      // The JPEG decoder starts now, while the client logs in (~300 ms on a busy machine); for
      // half-blocks only once it is known that frames come as JPEG (raw ones need none).
      const early = run.playDecoder(media.findFfmpeg(io.env), chosen);
      if (chosen !== "halfblock") void early?.warm();
      try {
        await screen.videoAction(io, (c, o, args) => run.playVideo(io, c, o, args[0]!, early))(...a);
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
    .action(async (...a: unknown[]) => {
      const cmd = a[a.length - 1] as Command;
      const [run, screen] = await work();
      // The file's ffmpeg starts now, while the client logs in (issue 75).
      const readied = run.readyEarly(io, cmd.optsWithGlobals(), String(cmd.args[1]));
      try {
        await screen.videoAction(io, (c, o, args) => run.streamVideo(io, c, o, args, readied), true)(...a);
      } finally {
        await readied?.then((r) => r.stream.stop(), () => {});
      }
    });
}
