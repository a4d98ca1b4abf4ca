/**
 * Watch together in the full-screen client (issue 39.7, issue 70: one view of every mode):
 * `/watch-together #ROOM|@USER [VIDEO]` with a server, `/watch-together @PEER [PATH]` in peer mode.
 *
 * Contract: the sessions are video/watch_sessions.ts's; what differs between the modes comes as a
 * `WatchPort` (watch_ports.ts): how sessions are made, checked and left, where this client's copy of a
 * video plays from (the server's library, a local file) and the mode's words. The rest is here, once:
 * joining (a late joiner starts at the shared position, or waits for a video), the status line
 * (`[together NAME: … playing at 12.0 s by alice, in step 3 ms]`: who made the change and how long after
 * it was made the player here was told), the lines in the session's buffer (a video started while this
 * user does not watch, a refusal, a note), and the player: the copy plays in the video view
 * (video_view.ts) with this client's own renderer and pane size; space, ←/→ play, pause and seek for
 * everyone when this user may control (else refused with a line that says who may); `q`, `/stop` or the
 * end of the video leaves (only this view stops). Never touches the terminal; talks to the chat only
 * through the port.
 */
import type { BackendEvent } from "../backend.ts";
import type { VideoAction } from "../video/video_keys.ts";
import { sanitizeName } from "../../common/sanitize.ts";
import { positionAt, type WatchState } from "../video/watch_together.ts";
import type { WatchEvent } from "../video/watch_room.ts";
import type { SessionEvent, WatchSessions } from "../video/watch_sessions.ts";
import { WatchedPlayer } from "../video/watch_viewer.ts";
import type { PeerWatchEvent } from "../peer/watch.ts";
import type { AppHost } from "./app_host.ts";
import type { PlayHooks } from "./play_hooks.ts";
import type { VideoPlayer } from "../video/player.ts";

/** A note of the sessions (peer mode's: a copy offered, none held, a peer that did not answer). */
export type WatchNote = Extract<PeerWatchEvent, { type: "note" }>;

/** What a mode says (`name`: a session as the sessions name it). */
export interface WatchWords {
  /** "#room", or "@peer". */
  name(name: string): string;
  /** The buffer of session `name`'s lines. */
  buffer(name: string): { kind: "room" | "dm"; name: string };
  /** The video as the status line shows it, with a space after (nothing for a file's SHA-256). */
  shown(video: string): string;
  /** Joined, nothing plays yet. */
  waiting(name: string): string;
  /** VIDEO is being started (before the sessions are asked). */
  starting?(name: string, video: string): string;
  /** `by` plays `video` in `name` while this user does not watch it. */
  announce(name: string, by: string, video: string): string;
  left(name: string, video: string): string;
  /** The line (sanitized) a change or a refusal makes in the session's buffer; null: none. */
  event(e: WatchEvent): string | null;
}

/** What differs between the modes (watch_ports.ts). */
export interface WatchPort {
  /** The session of `/watch-together TYPED`. */
  nameOf(typed: string): string;
  /** The sessions (made on first use); throws when this client cannot watch together. */
  sessions(): WatchSessions<WatchNote>;
  /** Client mode: whether the chat's signals go to the sessions (this client can watch together; the
   * sessions' `hear`). Peer mode has none: its sessions hear the core themselves, listened to from the start. */
  hears?(): boolean;
  /** Checks `/watch-together NAME [VIDEO]` (refused: throws); true when it starts VIDEO, else it joins. */
  check(name: string, video?: string): Promise<boolean>;
  /** This user left session `name`: peer mode closes it, client mode follows on (to announce). */
  left(name: string): void;
  /** Plays this client's copy `source` of the shared video from `start` ms. */
  play(source: string, start: number, label: string, hooks: PlayHooks): Promise<void>;
  /** Stops what plays. */
  stop(): Promise<void>;
  readonly words: WatchWords;
}

interface Viewing {
  name: string;
  /** The video shown (the player of `shown`); "" before the first state. */
  video: string;
  shown: VideoPlayer | null;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** `/watch-together` of one full-screen client: the sessions of its port and the one watched here. */
export class TuiWatch {
  #sessions: WatchSessions<WatchNote> | null = null;
  /** The video last announced in each session's buffer. */
  readonly #announced = new Map<string, string>();
  /** This client's copy of each session's video ("video" events). */
  readonly #copies = new Map<string, { video: string; source: string }>();
  #viewing: Viewing | null = null;
  /** The status-line item while watching. */
  #status = "";

  constructor(readonly app: AppHost, readonly port: WatchPort) {
    if (!port.hears) this.#ws();
  }

  /** The session watched here, or null. */
  get viewing(): string | null {
    return this.#viewing?.name ?? null;
  }

  /** Status-line items: the watched session's state, who changed it last and the step measured. */
  extras(): string[] {
    return this.#viewing && this.#status ? [this.#status] : [];
  }

  /** A sealed signal arrived (app.ts). */
  signal(e: Extract<BackendEvent, { type: "signal" }>): void {
    if (this.port.hears?.()) this.#ws().hear(e);
  }

  /** `/watch-together NAME [VIDEO]`: joins session NAME; with VIDEO starts it for everyone. */
  async start(typed: string, video?: string): Promise<void> {
    const name = this.port.nameOf(typed), ws = this.#ws();
    const starts = await this.port.check(name, video);
    const old = this.#viewing;
    if (old && old.name !== name) await this.leave(true);
    if (!old || old.name !== name) this.#viewing = { name, video: "", shown: null };
    if (starts) {
      const line = this.port.words.starting?.(name, video!);
      if (line) this.#say(name, line);
      return void await ws.start(name, video!);
    }
    await ws.join(name); // whoever may control answers with the current state
    const v = this.#viewing!;
    this.app.later(() => {
      if (ws.session(name)?.session.state) this.#follow(v);
      else this.#say(name, this.port.words.waiting(name));
    });
  }

  /** A video key while watching: play/pause and seek for everyone, or leave (`q`). */
  async act(a: VideoAction): Promise<void> {
    const v = this.#viewing;
    if (!v) return;
    if (a.do === "stop") return this.leave(true);
    const ws = this.#ws(), w = ws.session(v.name), s = w?.session.state;
    if (!w || !s) return;
    const me = this.app.backend.user;
    if (!w.o.mayControl(me)) await ws.readAdmins(v.name); // made one since?
    if (!w.o.mayControl(me)) {
      const name = this.port.words.name(v.name);
      const why = `only the admins of ${name} play, pause and seek (q leaves)`;
      this.app.later(() => (this.#status = `[together ${name}: ${why}]`));
      throw new Error(`Refused: ${why}`);
    }
    if (a.do === "pause") await w.control(s.paused ? { play: true } : { pause: true });
    else await w.control({ seek: Math.max(0, positionAt(s, w.o.serverNow()) + a.ms) });
  }

  /** Stops watching here (the others go on); `stop`: the player too (else it ended by itself). */
  async leave(stop: boolean): Promise<void> {
    const v = this.#viewing;
    if (!v) return;
    this.#viewing = null;
    this.#status = "";
    const player = this.#ws().session(v.name)?.follower.player;
    this.port.left(v.name);
    if (player instanceof WatchedPlayer) await player.attach(null);
    if (stop && v.shown) await this.port.stop().catch(() => {});
    this.#say(v.name, this.port.words.left(v.name, v.video));
  }

  /** The sessions, listened to from their first use. */
  #ws(): WatchSessions<WatchNote> {
    if (this.#sessions) return this.#sessions;
    const ws = this.port.sessions();
    ws.player = () => new WatchedPlayer(() => this.app.clock.now());
    ws.on((e) => this.app.later(() => this.#event(e)));
    return (this.#sessions = ws);
  }

  #event(e: SessionEvent | WatchNote): void {
    const name = e.name, w = this.port.words;
    const v = this.#viewing?.name === name ? this.#viewing : null;
    if (e.type === "note") return this.#say(name, e.text, e.level === "warn" ? "error" : "info");
    if (e.type === "invited") return v ? undefined : this.#say(name, w.announce(name, name, e.state.video));
    if (e.type === "video") {
      if (e.path !== null) this.#copies.set(name, { video: e.state.video, source: e.path });
      return v ? this.#follow(v) : undefined;
    }
    const ev = e.event, line = w.event(ev);
    if (line !== null) this.#say(name, line, ev.type === "refused" ? "error" : "info");
    if (ev.type === "refused") return;
    const by = this.#by(ev.by);
    if (!v) {
      if (ev.state.video === this.#announced.get(name)) return;
      this.#announced.set(name, ev.state.video);
      return this.#say(name, w.announce(name, by, ev.state.video));
    }
    this.#announced.set(name, ev.state.video);
    this.#describe(v, ev.state, by, e.step);
    this.#follow(v);
  }

  #by(user: string): string {
    return user === this.app.backend.user ? "you" : sanitizeName(user);
  }

  /** The status-line item: the shared state, who set it, and how long after it applied here. */
  #describe(v: Viewing, s: WatchState, by: string, ms?: number): void {
    const w = this.#ws().session(v.name);
    if (!w) return;
    const how = `${s.paused ? "paused" : "playing"} at ${secs(positionAt(s, w.o.serverNow()))} by ${by}`;
    const lag = ms === undefined ? "" : `, in step ${ms} ms`;
    this.#status = `[together ${this.port.words.name(v.name)}: ${
      this.port.words.shown(s.video)
    }${how}${lag}]`;
  }

  /** Starts this client's copy of the shared video when it is not shown yet (joined, or another video). */
  #follow(v: Viewing): void {
    const w = this.#ws().session(v.name), s = w?.session.state, copy = this.#copies.get(v.name);
    if (!w || !s || v.video === s.video || this.#viewing !== v || copy?.video !== s.video) return;
    v.video = s.video;
    v.shown = null; // the player shown before (another video) ends without ending the watch
    if (!this.#status) this.#describe(v, s, this.#by(w.session.by));
    const player = w.follower.player as WatchedPlayer;
    const start = positionAt(s, w.o.serverNow());
    const asked = this.app.clock.now();
    const hooks: PlayHooks = {
      started: (p) => {
        if (this.#viewing !== v) return void p.stop().catch(() => {}); // left while it started
        v.shown = p;
        // Where the picture is: from `start`, playing since it was asked for. The follower then
        // pauses it, or seeks it when the state changed meanwhile (never for the start-up time).
        const at = s.paused ? start : start + (this.app.clock.now() - asked);
        void player.attach(p, at).then(() => w.follower.sync());
      },
      ended: (p) => {
        if (this.#viewing === v && v.shown === p) void this.leave(false);
      },
    };
    const label = `together ${this.port.words.name(v.name)}`;
    this.app.track(this.port.play(copy.source, start, label, hooks), () => {});
  }

  /** A line in the buffer of session `name` (the room's, or the DM's). */
  #say(name: string, text: string, level: "info" | "error" = "info"): void {
    const b = this.port.words.buffer(name);
    this.app.later(() => this.app.state.info(this.app.state.buffers.ensure(b.kind, b.name), text, level));
  }
}
