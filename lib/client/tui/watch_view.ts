/**
 * Watch together in the full-screen client (issue 39.7): `/watch-together #ROOM|@USER [VIDEO]`.
 * A session is named by its key (video/watch_channel.ts: a room's name, or a DM's conversation key,
 * where both parties control it); its lines go to the room's or the DM's buffer.
 *
 * Contract: the sessions are video/watch_sessions.ts's (as the scripted client's and peer mode's): one
 * `WatchRoom` per room heard of, made on the first watch signal of the room or the first command,
 * with the room's admins from its signed log (who may control, read again for a sender not known as
 * one) and the server's clock from a few pings (the local clock when none answers). The app hands every "signal" event to `signal`; a room
 * whose video changes while this user is not watching gets a line in its buffer that says who
 * plays what and how to join. Watching, the video plays in the video view (video_view.ts) with
 * this client's own renderer and pane size, from the shared position (a late joiner starts where
 * the others are); space, ←/→ play, pause and seek for everyone when this user may control (else
 * refused with a line that says who may), `q` or `/stop` leaves (only this view stops). A change
 * from someone else is applied to the player at once; the status line then says who made it and
 * how long after it was made (on the server's clock) the player here was told (`in step N ms`):
 * the sync's own timestamps. Never touches the terminal; talks to the chat only through `backend.watch`.
 */
import type { BackendEvent } from "../backend.ts";
import type { VideoAction } from "../video/video_keys.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import { isWatch, positionAt } from "../video/watch_together.ts";
import type { WatchEvent, WatchRoom } from "../video/watch_room.ts";
import { signalKey, watchName, watchTarget } from "../video/watch_channel.ts";
import { type SessionEvent, WatchSessions } from "../video/watch_sessions.ts";
import { WatchedPlayer } from "../video/watch_viewer.ts";
import type { AppHost } from "./app_host.ts";
import type { PlayHooks, VideoPlays } from "./play_hooks.ts";

interface Viewing {
  room: string;
  w: WatchRoom;
  /** The video shown (the player of `shown`); "" before the first state. */
  video: string;
  shown: unknown;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** `/watch-together` of one full-screen client: the sessions of its rooms and the one watched here. */
export class TuiWatch {
  #sessions: WatchSessions | null = null;
  /** The video last announced in each room's buffer. */
  readonly #announced = new Map<string, string>();
  #viewing: Viewing | null = null;
  /** The status-line item while watching. */
  #status = "";

  constructor(readonly app: AppHost, readonly video: VideoPlays) {}

  /** The room whose video is watched here, or null. */
  get viewing(): string | null {
    return this.#viewing?.room ?? null;
  }

  /** Status-line items: the watched session's state, who changed it last and the step measured. */
  extras(): string[] {
    return this.#viewing && this.#status ? [this.#status] : [];
  }

  /** A sealed room signal arrived (app.ts): a watch control goes to its room's session. */
  signal(e: Extract<BackendEvent, { type: "signal" }>): void {
    const room = signalKey(e);
    if (room === null || !this.app.backend.watch || !isWatch(e.plaintext)) return; // another kind of signal
    this.#ws().signal(room, e);
  }

  /** `/watch-together #ROOM|@USER [VIDEO]`: joins session `room` (a key); with VIDEO (an admin) starts it for all. */
  async start(room: string, video?: string): Promise<void> {
    if (!this.app.backend.watch || !this.app.backend.video) {
      throw new Error("Watching together needs a client with end-to-end keys that can play videos");
    }
    const ws = this.#ws();
    const w = await ws.open(room);
    const admins = await ws.readAdmins(room); // the right may have changed since
    const may = w.o.mayControl(this.app.backend.user);
    const cur = w.session.state;
    const switching = video !== undefined && cur?.video !== video;
    if (switching && !may) {
      throw new Error(
        `Only the admins of #${room} (${admins.join(", ")}) start a video for everyone; ` +
          `/watch-together ${this.#name(room)} joins the one playing`,
      );
    }
    if (switching) {
      const names = (await this.app.backend.video.list()).map((v) => v.name);
      if (!names.includes(video!)) {
        throw new Error(`There is no video ${video} on the server (/videos lists them)`);
      }
    }
    const old = this.#viewing;
    if (old && old.room !== room) await this.leave(true);
    if (!old || old.room !== room) this.#viewing = { room, w, video: "", shown: null };
    if (switching) await w.control({ video: video! });
    else {
      await w.join(); // whoever may control answers with the current state
      const v = this.#viewing!;
      this.app.later(() => {
        if (v.w.session.state) this.#follow(v);
        else this.#say(room, `Watching ${this.#name(room)} together: waiting for someone to start a video`);
      });
    }
  }

  /** A video key while watching: play/pause and seek for everyone, or leave (`q`). */
  async act(a: VideoAction): Promise<void> {
    const v = this.#viewing;
    if (!v) return;
    if (a.do === "stop") return this.leave(true);
    const s = v.w.session.state;
    if (!s) return;
    const me = this.app.backend.user;
    if (!v.w.o.mayControl(me)) await this.#ws().readAdmins(v.room); // made one since?
    if (!v.w.o.mayControl(me)) {
      const why = `only the admins of #${v.room} play, pause and seek (q leaves)`;
      this.app.later(() => (this.#status = `[together ${this.#name(v.room)}: ${why}]`));
      throw new Error(`Refused: ${why}`);
    }
    if (a.do === "pause") await v.w.control(s.paused ? { play: true } : { pause: true });
    else await v.w.control({ seek: positionAt(s, v.w.o.serverNow()) + a.ms });
  }

  /** Stops watching here (the others go on); `stop`: the player too (else it ended by itself). */
  async leave(stop: boolean): Promise<void> {
    const v = this.#viewing;
    if (!v) return;
    this.#viewing = null;
    this.#status = "";
    await (v.w.follower.player as WatchedPlayer).attach(null);
    if (stop && v.shown) await this.video.stop().catch(() => {});
    this.#say(
      v.room,
      `You left watching ${sanitize(v.video)} in ${this.#name(v.room)}; /watch-together ${
        this.#name(v.room)
      } joins again`,
    );
  }

  /** The sessions, made on first use (the channel is the backend's). */
  #ws(): WatchSessions {
    if (this.#sessions) return this.#sessions;
    const ch = this.app.backend.watch!;
    const ws = new WatchSessions({
      me: this.app.backend.user,
      now: () => this.app.clock.now(),
      keyOf: (key) => key,
      // A ping that fails: the local clock stands for the server's.
      channel: { ...ch, serverTime: () => ch.serverTime().catch(() => this.app.clock.now()) },
      resampleMs: 0,
      openOnSignal: true,
    });
    ws.player = () => new WatchedPlayer(() => this.app.clock.now());
    ws.on((e) => this.app.later(() => this.#changed(e)));
    return (this.#sessions = ws);
  }

  #changed(e: SessionEvent): void {
    if (e.type !== "watch") return;
    const room = e.name, ev: WatchEvent = e.event;
    const v = this.#viewing?.room === room ? this.#viewing : null;
    if (ev.type === "refused") {
      const text = `Refused a watch-together control from ${sanitizeName(ev.from)}: ${sanitize(ev.why)}`;
      return this.#say(room, text, "error");
    }
    const s = ev.state;
    const by = ev.by === this.app.backend.user ? "you" : sanitizeName(ev.by);
    if (!v) {
      if (s.video === this.#announced.get(room)) return;
      this.#announced.set(room, s.video);
      return this.#say(
        room,
        `${by} started watching ${sanitize(s.video)} together in ${this.#name(room)}: /watch-together ${
          this.#name(room)
        } joins`,
      );
    }
    this.#announced.set(room, s.video);
    this.#describe(v, by, e.step);
    this.#follow(v);
  }

  /** The status-line item: the shared state, who set it, and how long after it applied here. */
  #describe(v: Viewing, by: string, ms?: number): void {
    const s = v.w.session.state;
    if (!s) return;
    const how = `${s.paused ? "paused" : "playing"} at ${secs(positionAt(s, v.w.o.serverNow()))} by ${by}`;
    const lag = ms === undefined ? "" : `, in step ${ms} ms`;
    this.#status = `[together ${this.#name(v.room)}: ${sanitize(s.video)} ${how}${lag}]`;
  }

  /** Starts the player of the shared video when it is not shown yet (joined, or another video). */
  #follow(v: Viewing): void {
    const s = v.w.session.state;
    if (!s || v.video === s.video || this.#viewing !== v) return;
    v.video = s.video;
    v.shown = null; // the player shown before (another video) ends without ending the watch
    if (!this.#status) {
      this.#describe(v, v.w.session.by === this.app.backend.user ? "you" : sanitizeName(v.w.session.by));
    }
    const player = v.w.follower.player as WatchedPlayer;
    const start = positionAt(s, v.w.o.serverNow());
    const asked = this.app.clock.now();
    const hooks: PlayHooks = {
      started: (p) => {
        if (this.#viewing !== v) return void p.stop().catch(() => {}); // left while it started
        v.shown = p;
        // Where the picture is: from `start`, playing since it was asked for. The follower then
        // pauses it, or seeks it when the state changed meanwhile (never for the start-up time).
        const at = s.paused ? start : start + (this.app.clock.now() - asked);
        void player.attach(p, at).then(() => v.w.follower.sync());
      },
      ended: (p) => {
        if (this.#viewing === v && v.shown === p) void this.leave(false);
      },
    };
    const label = `together ${this.#name(v.room)}`;
    this.app.track(this.video.playAt(s.video, start, label, hooks), () => {});
  }

  /** "#room", or "@peer" for a DM's session. */
  #name(key: string): string {
    return watchName(this.app.backend.user, key);
  }

  /** A line in the buffer of session `key` (the room's, or the DM's). */
  #say(key: string, text: string, level: "info" | "error" = "info"): void {
    const t = watchTarget(this.app.backend.user, key);
    const buf = () => this.app.state.buffers.ensure(t.kind === "room" ? "room" : "dm", t.name!);
    this.app.later(() => this.app.state.info(buf(), text, level));
  }
}
