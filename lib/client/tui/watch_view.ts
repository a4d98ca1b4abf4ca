/**
 * Watch together in the full-screen client (issue 39.7): `/watch-together #ROOM|@USER [VIDEO]`.
 * A session is named by its key (video/watch_channel.ts: a room's name, or a DM's conversation key,
 * where both parties control it); its lines go to the room's or the DM's buffer.
 *
 * Contract: one `WatchRoom` (video/watch_room.ts) per room heard of, made on the first watch signal
 * of the room or the first command, with the room's admins from its signed log (who may control)
 * and the server's clock from a few pings. The app hands every "signal" event to `signal`; a room
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
import { ClockOffset, isWatch, positionAt } from "../video/watch_together.ts";
import { type SealedRoomSignals, type WatchEvent, WatchRoom } from "../video/watch_room.ts";
import { sampleClock, signalKey, watchName, watchTarget } from "../video/watch_channel.ts";
import { WatchedPlayer } from "../video/watch_viewer.ts";
import { freshStep } from "../video/watch_sessions.ts";
import type { AppHost } from "./app_host.ts";
import type { PlayHooks, VideoPlays } from "./play_hooks.ts";

type Signal = Parameters<Parameters<SealedRoomSignals["onSignal"]>[0]>[0];

/** What this client knows of one room's session. */
interface RoomWatch {
  ready: Promise<WatchRoom>;
  /** Signals of the room delivered in order (one may wait for the admins to be read again). */
  delivered: Promise<void>;
  admins: Set<string>;
  deliver: ((s: Signal) => void) | null;
  /** The video last announced in the room's buffer. */
  announced: string;
}

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
  readonly #rooms = new Map<string, RoomWatch>();
  readonly #clock = new ClockOffset();
  #sampled: Promise<void> | null = null;
  #viewing: Viewing | null = null;
  /** The status-line item while watching. */
  #status = "";

  constructor(readonly app: AppHost, readonly video: VideoPlays) {}

  /** The room whose video is watched here, or null. */
  get viewing(): string | null {
    return this.#viewing?.room ?? null;
  }

  /** Now on the server's clock. */
  serverNow(): number {
    return this.#clock.server(this.app.clock.now());
  }

  /** Status-line items: the watched session's state, who changed it last and the step measured. */
  extras(): string[] {
    return this.#viewing && this.#status ? [this.#status] : [];
  }

  /** A sealed room signal arrived (app.ts): a watch control goes to its room's session. */
  signal(e: Extract<BackendEvent, { type: "signal" }>): void {
    const room = signalKey(e);
    if (room === null || !this.app.backend.watch) return;
    const s: Signal = { from: e.from, room, mid: e.mid, plaintext: e.plaintext };
    if (!this.#rooms.has(room) && !isWatch(s.plaintext)) return; // another kind of signal
    const r = this.#entry(room);
    const ch = this.app.backend.watch;
    r.delivered = r.delivered.then(async () => {
      await r.ready;
      // Someone not known as an admin: the room's signed log may have made them one since.
      if (!r.admins.has(s.from)) r.admins = new Set(await ch.roomAdmins(room).catch(() => [...r.admins]));
      r.deliver?.(s);
    }).catch(() => {});
  }

  /** `/watch-together #ROOM|@USER [VIDEO]`: joins session `room` (a key); with VIDEO (an admin) starts it for all. */
  async start(room: string, video?: string): Promise<void> {
    const ch = this.app.backend.watch;
    if (!ch || !this.app.backend.video) {
      throw new Error("Watching together needs a client with end-to-end keys that can play videos");
    }
    const r = this.#entry(room);
    const w = await r.ready;
    r.admins = new Set(await ch.roomAdmins(room)); // the right may have changed since
    const may = w.o.mayControl(this.app.backend.user);
    const cur = w.session.state;
    const switching = video !== undefined && cur?.video !== video;
    if (switching && !may) {
      throw new Error(
        `Only the admins of #${room} (${[...r.admins].join(", ")}) start a video for everyone; ` +
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
    const r = this.#rooms.get(v.room);
    if (r && !r.admins.has(me)) r.admins = new Set(await this.app.backend.watch!.roomAdmins(v.room)); // made one since?
    if (!v.w.o.mayControl(me)) {
      const why = `only the admins of #${v.room} play, pause and seek (q leaves)`;
      this.app.later(() => (this.#status = `[together ${this.#name(v.room)}: ${why}]`));
      throw new Error(`Refused: ${why}`);
    }
    if (a.do === "pause") await v.w.control(s.paused ? { play: true } : { pause: true });
    else await v.w.control({ seek: positionAt(s, this.serverNow()) + a.ms });
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

  #entry(room: string): RoomWatch {
    const known = this.#rooms.get(room);
    if (known) return known;
    const ch = this.app.backend.watch!;
    const r: RoomWatch = {
      ready: null!,
      delivered: Promise.resolve(),
      admins: new Set(),
      deliver: null,
      announced: "",
    };
    this.#sampled ??= sampleClock(ch, this.#clock, () => this.app.clock.now()).catch(() => {
      this.#sampled = null; // try again next time; the local clock meanwhile
    });
    r.ready = Promise.all([ch.roomAdmins(room), this.#sampled]).then(([admins]) => {
      r.admins = new Set(admins);
      return this.#room(room, r);
    });
    r.ready.catch(() => this.#rooms.delete(room));
    this.#rooms.set(room, r);
    return r;
  }

  #room(room: string, r: RoomWatch): WatchRoom {
    const me = this.app.backend.user;
    const w: WatchRoom = new WatchRoom({
      room,
      me,
      channel: {
        send: (to, payload) => this.app.backend.watch!.signal(to, payload),
        onSignal: (cb) => {
          r.deliver = cb;
          return () => (r.deliver = null);
        },
      },
      player: new WatchedPlayer(() => this.app.clock.now()),
      serverNow: () => this.serverNow(),
      mayControl: (u) => r.admins.has(u),
      onChange: (e) => {
        if (e.type !== "state" || e.by === me) return this.app.later(() => this.#changed(room, r, e));
        // How long after the change was made (server clock) this player was told: the sync's step.
        const player = w.follower.player as WatchedPlayer;
        const before = player.toldAt;
        void w.follower.sync().then(() => {
          const told = player.toldAt !== before ? this.#clock.server(player.toldAt) : this.serverNow();
          // An older state is an answer to someone's hello, not a change just made: no step to show.
          this.app.later(() => this.#changed(room, r, e, freshStep(told - e.state.at)));
        });
      },
    });
    return w;
  }

  #changed(room: string, r: RoomWatch, e: WatchEvent, ms?: number): void {
    const v = this.#viewing?.room === room ? this.#viewing : null;
    if (e.type === "refused") {
      const text = `Refused a watch-together control from ${sanitizeName(e.from)}: ${sanitize(e.why)}`;
      return this.#say(room, text, "error");
    }
    const s = e.state;
    const by = e.by === this.app.backend.user ? "you" : sanitizeName(e.by);
    if (!v) {
      if (s.video === r.announced) return;
      r.announced = s.video;
      return this.#say(
        room,
        `${by} started watching ${sanitize(s.video)} together in ${this.#name(room)}: /watch-together ${
          this.#name(room)
        } joins`,
      );
    }
    r.announced = s.video;
    this.#describe(v, by, ms);
    this.#follow(v);
  }

  /** The status-line item: the shared state, who set it, and how long after it applied here. */
  #describe(v: Viewing, by: string, ms?: number): void {
    const s = v.w.session.state;
    if (!s) return;
    const how = `${s.paused ? "paused" : "playing"} at ${secs(positionAt(s, this.serverNow()))} by ${by}`;
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
    const start = positionAt(s, this.serverNow());
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
