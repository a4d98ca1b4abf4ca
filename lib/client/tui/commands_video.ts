/**
 * The video rows of the command table (`COMMANDS` in commands.ts includes them): `/videos`,
 * `/play VIDEO [--thirds]`, `/watch-together #ROOM [VIDEO]`, `/stream USER FILE`, `/stop` (`/accept` of a
 * stream is in commands_files.ts). Handlers use the backend's video capability (asked through
 * `capability`) and the app's video controls (`ctx.video`); they never touch the terminal.
 */
import type { CommandSpec } from "./command_context.ts";
import { user } from "./command_context.ts";
import { watchKeyOf } from "../video/watch_channel.ts";
import { capability } from "../backend.ts";
import { counted } from "../../common/words.ts";

export const VIDEO_COMMANDS: readonly CommandSpec[] = [
  {
    name: "videos",
    usage: "",
    help: "List the server's videos",
    permission: "user",
    run: async (ctx) => {
      const list = await capability(ctx.backend, "video").list();
      if (!list.length) return ctx.print("There are no videos on the server");
      ctx.print(`${counted(list.length, "video")} (/play VIDEO [--thirds]):`);
      for (const v of list) {
        ctx.print(
          `  ${v.name}  ${v.duration.toFixed(1)} s  ${v.fps} fps  ${v.width}×${v.height}  ${
            v.renditions.join(" ")
          }`,
        );
      }
    },
  },
  {
    name: "play",
    usage: "VIDEO [--thirds]",
    help: "Play a server video here (q stops, space pauses, ←/→ seek 5 s)",
    permission: "user",
    run: async (ctx, [name, flag]) => {
      if (flag !== undefined && flag !== "--thirds") throw new Error("Usage: /play VIDEO [--thirds]");
      await ctx.video.play(name!, flag === "--thirds");
    },
  },
  {
    name: "watch-together",
    usage: "#ROOM|@USER [VIDEO]",
    help:
      "Watch a server video with a room or a user, in step: VIDEO starts it for all (room admins; both in a DM), without it you join; space, ←/→ act for all, q leaves",
    permission: "user",
    run: (ctx, [room, video]) => {
      if (!ctx.video.watch) throw new Error("This client cannot watch videos together");
      return ctx.video.watch.start(watchKeyOf(ctx.backend.user, room!), video);
    },
  },
  {
    name: "stream",
    usage: "USER FILE",
    help:
      "Offer a local video to a user; it streams, encrypted end to end, once they accept, no larger than their window shows it",
    permission: "user",
    run: (ctx, [u, file]) => ctx.video.stream(user(u!), file!),
  },
  {
    name: "stop",
    usage: "",
    help: "Stop the video playing here and any stream you send",
    permission: "user",
    run: (ctx) => ctx.video.stop(),
  },
];
