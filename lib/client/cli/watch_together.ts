/**
 * `parley watch-together '#room' VIDEO` (issue 39.7), scripted: joins the room's watch-together
 * session (video/watch_room.ts) over sealed room signals and prints one line per state change
 * (`playing VIDEO at 12.345s by alice (n 3)`, `paused …`, `refused USER: why`). Lines on standard
 * input control it (the room's admins only, as its signed log says): `play`, `pause`, `seek SECONDS`,
 * `where` (prints `position SECONDS`), `quit`; it ends at the end of input. An admin who hears no
 * state within a second of joining starts VIDEO. `parley watch-together @USER VIDEO` watches with
 * one user in a DM, where both control it (signals go to every device of the other one, a session
 * started from its prekey bundle where there was none). The session is video/watch_sessions.ts's, as
 * peer mode's; its playhead has no pictures: the position follows the shared state on this machine's
 * clock, offset to the server's by a few pings.
 */
import type { Command } from "commander";
import { BackendError } from "../backend.ts";
import { type CliIo, scriptedSession } from "./io.ts";
import type { ConnectFlags } from "../start/session_setup.ts";
import { systemClock } from "../../common/clock.ts";
import type { WatchRoom } from "../video/watch_room.ts";

/** An admin who hears no state this long after joining starts the video, ms. */
const START_AFTER_MS = 1000;

async function control(w: WatchRoom, line: string, out: (s: string) => void): Promise<boolean> {
  const [verb, arg] = line.trim().split(/\s+/);
  if (verb === "quit") return false;
  if (verb === "where") out(`position ${(w.follower.player.position / 1000).toFixed(3)}s`);
  else if (verb === "play") await w.control({ play: true });
  else if (verb === "pause") await w.control({ pause: true });
  else if (verb === "seek" && Number.isFinite(Number(arg))) await w.control({ seek: Number(arg) * 1000 });
  else if (verb) throw new BackendError("usage", `play, pause, seek SECONDS, where or quit, not "${line}"`);
  return true;
}

export function registerWatchTogetherCommand(program: Command, io: CliIo): void {
  program.command("watch-together").description(
    "watch a server video together with a room or a user (@USER), in step (lines on stdin: play, pause, seek SECONDS, where, quit)",
  ).argument("<room>", "#ROOM, or @USER for a DM").argument("<video>")
    .addHelpText(
      "after",
      "\nExamples:\n  parley watch-together '#movies' sample\n  parley watch-together @bob sample\n" +
        "  echo pause | parley watch-together '#movies' sample",
    )
    .action(async (roomArg: string, video: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as ConnectFlags;
      const now = io.now ?? systemClock.now;
      // Watch together's modules load when the command runs (cli/main.ts: no family loads its work eagerly).
      const [{ watchLine }, { WatchSessions }, { watchKeyOf }] = await Promise.all([
        import("../video/watch_room.ts"),
        import("../video/watch_sessions.ts"),
        import("../video/watch_channel.ts"),
      ]);
      await scriptedSession(io, o, { keepHistory: true }, async (c) => {
        const room = watchKeyOf(c.user, roomArg);
        const sessions = new WatchSessions({
          me: c.user,
          now,
          keyOf: (key) => key,
          core: c, // heard until `close`
          resampleMs: 0,
        });
        sessions.on((e) => void (e.type === "watch" && e.name === room && io.out(watchLine(e.event))));
        try {
          await c.sync(); // live delivery: signals reach live sessions only (the queue stays unacknowledged)
          await sessions.join(room);
          const w = sessions.session(room)!;
          if (w.o.mayControl(c.user)) {
            await new Promise((r) => setTimeout(r, START_AFTER_MS));
            if (!w.session.state) await w.control({ video });
          }
          if (!io.scriptLines) return;
          for await (const line of io.scriptLines("-")) {
            try {
              if (!(await control(w, line, io.out))) break;
            } catch (e) {
              io.err(`parley: ${(e as Error).message}`);
            }
          }
        } finally {
          sessions.close();
        }
      });
    });
}
