/**
 * What differs between the modes of watch together in the full-screen client (watch_view.ts
 * `WatchPort`, issue 70): `serverWatch`, a client of a server — sessions of rooms and DMs over the
 * backend's sealed signals, a video of the server's library, started by a room's admins (either party
 * of a DM); `peerWatch`, peer mode — the node's `PeerWatch` (peer/watch.ts: copies by SHA-256, each
 * peer's sealed signals), a local file, started by either peer. And each mode's words.
 */
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import { watchLine } from "../video/watch_room.ts";
import { watchName, watchTarget } from "../video/watch_channel.ts";
import { WatchSessions } from "../video/watch_sessions.ts";
import type { PeerWatch } from "../peer/watch.ts";
import type { AppHost } from "./app_host.ts";
import type { LocalPlays, VideoPlays } from "./play_hooks.ts";
import type { WatchNote, WatchPort } from "./watch_view.ts";

const NEEDS = "Watching together needs a client with end-to-end keys that can play videos";

/** A client of a server: session NAME is a room's name or a DM's conversation key (watch_channel.ts). */
export function serverWatch(app: AppHost, video: VideoPlays): WatchPort {
  let made: WatchSessions<WatchNote> | null = null;
  const me = () => app.backend.user, name = (key: string) => watchName(me(), key);
  const sessions = () => {
    const ch = app.backend.watch;
    if (made) return made;
    if (!ch) throw new Error(NEEDS);
    return (made = new WatchSessions<WatchNote>({
      me: me(),
      now: () => app.clock.now(),
      keyOf: (key) => key,
      // A ping that fails: the local clock stands for the server's.
      channel: { ...ch, serverTime: () => ch.serverTime().catch(() => app.clock.now()) },
      resampleMs: 0,
      openOnSignal: true,
    }));
  };
  return {
    nameOf: (key) => key,
    sessions,
    hears: () => !!app.backend.watch,
    check: async (room, v) => {
      if (!app.backend.watch || !app.backend.video) throw new Error(NEEDS);
      const ws = sessions(), w = await ws.open(room);
      const admins = await ws.readAdmins(room); // the right may have changed since
      if (v === undefined || w.session.state?.video === v) return false; // joins the one playing
      if (!w.o.mayControl(me())) {
        throw new Error(
          `Only the admins of #${room} (${admins.join(", ")}) start a video for everyone; ` +
            `/watch-together ${name(room)} joins the one playing`,
        );
      }
      if (!(await app.backend.video.list()).some((x) => x.name === v)) {
        throw new Error(`There is no video ${v} on the server (/videos lists them)`);
      }
      return true;
    },
    left: () => {}, // the session goes on here, to announce what plays next
    play: (v, start, label, hooks) => video.playAt(v, start, label, hooks),
    stop: () => video.stop(),
    words: {
      name,
      buffer: (key) => {
        const t = watchTarget(me(), key);
        return { kind: t.kind === "room" ? "room" : "dm", name: t.name! };
      },
      shown: (v) => `${sanitize(v)} `,
      waiting: (key) => `Watching ${name(key)} together: waiting for someone to start a video`,
      announce: (key, by, v) =>
        `${by} started watching ${sanitize(v)} together in ${name(key)}: /watch-together ${name(key)} joins`,
      left: (key, v) =>
        `You left watching ${sanitize(v)} in ${name(key)}; /watch-together ${name(key)} joins again`,
      event: (e) =>
        e.type === "refused"
          ? `Refused a watch-together control from ${sanitizeName(e.from)}: ${sanitize(e.why)}`
          : null, // the status line says it
    },
  };
}

/** Peer mode: session NAME is a peer's; PATH starts the video for both, without it this user joins. */
export function peerWatch(video: LocalPlays, pw: PeerWatch): WatchPort {
  return {
    nameOf: (typed) => pw.named(typed), // "@Bob" is bob's session, as PeerWatch names it
    sessions: () => pw,
    check: (_peer, path) => Promise.resolve(path !== undefined),
    left: (peer) => pw.leave(peer), // its next state is an invitation
    play: (path, start, label, hooks) => video.playFile(path, start, label, hooks),
    stop: () => video.stop(),
    words: {
      name: (peer) => `@${peer}`,
      buffer: (peer) => ({ kind: "dm", name: peer }),
      shown: () => "", // a SHA-256
      waiting: (peer) => `Watching with ${peer}: waiting for what ${peer} plays`,
      starting: (peer, path) => `Starting ${sanitize(path)} with ${peer}…`,
      announce: (peer) => `${peer} plays a video to watch together: /watch-together @${peer} joins`,
      left: (peer) => `You left watching with ${peer}; /watch-together @${peer} joins again`,
      event: (e) => sanitize(watchLine(e)), // every change and refusal
    },
  };
}
