/**
 * What the full-screen app asks the backend for when it starts, after it subscribed to its events:
 * the welcome line, the settings (app_settings.ts), muted conversations, the buffer list's order and highlight words, rooms (with the topics the folder
 * holds), registered users, videos and peers (for Tab), then the catch-up of what arrived while
 * away, and only then who is online (presence pushes start once the queue is synced). What the
 * user reads goes to `ChatBackend.read` (the other devices are told). Each answer is applied in a
 * later pass of the app's queue (`app.track`); nothing is drawn here.
 */
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import type { AppHost } from "./app_host.ts";

/** Starts the loads of `TuiApp.start()`; their results land in the app's state as they come. */
export function loadAtStart(app: AppHost): void {
  app.state.info(
    app.state.buffers.status,
    `Welcome to Parley, ${app.backend.user}. Type /help for commands.`,
  );
  app.settings.load(); // the config file's bad lines said here, under the welcome
  const { rooms, video, peers, mutes, highlights, bufferOrder } = app.backend;
  // What the user reads here, the account's other devices count as read (e2e/seen_sync.ts).
  app.state.buffers.onRead = (b, upTo) => app.backend.feed?.read(b.target ?? { kind: "broadcast" }, upTo);
  // Muted conversations and highlight words first (answered at once from the folder): the catch-up follows them.
  if (mutes) app.track(mutes.list(), (names) => app.state.buffers.setMuted(names));
  // The buffer list's order kept in the folder (numbers stay across restarts); every change kept there.
  if (bufferOrder) {
    app.track(bufferOrder.list(), (names) => {
      app.state.buffers.setOrder(names);
      app.state.buffers.onOrder = (order) => void bufferOrder.save(order).catch(() => {});
    });
  }
  if (highlights) app.track(highlights.list(), (words) => app.state.setHighlights(words));
  if (rooms) {
    app.track(rooms.list(), (rs) => {
      for (const r of rs) {
        const b = app.state.setRoom(r);
        // The topic held in the folder, unless a topic line came meanwhile (it is newer).
        if (rooms.topic) {
          app.track(rooms.topic(r.name), (t) => void (t && !b.topic && (b.topic = sanitize(t.text))));
        }
      }
    });
  }
  // Tab completes registered users who are offline, and the server's videos after /play.
  if (app.backend.users) {
    app.track(app.backend.users(), (us) => us.forEach((u) => app.state.known.add(sanitizeName(u.user))));
  }
  if (video) app.track(video.list().catch(() => []), (vs) => (app.videoNames = vs.map((v) => v.name)));
  if (peers) {
    app.track(peers.list(), (ps) => ps.forEach((p) => app.state.known.add(sanitizeName(p.name))));
  }
  const who = () =>
    app.track(app.backend.who(), (ps) => {
      for (const p of ps) app.state.presence.set(p.user, p);
      const me = app.state.presence.get(app.backend.user);
      if (me) app.state.myStatus = me.status;
    });
  // Subscribed first, then the queue: nothing that arrived while away can pass unseen. Presence
  // pushes start once the queue is synced, so who is online is asked after that (no gap).
  const feed = app.backend.feed;
  if (feed) {
    app.track(feed.catchUp(), (c) => {
      app.state.catchUp(c);
      feed.markSeen(c.unseen);
      who();
    }, app.state.buffers.status);
  } else who();
}
