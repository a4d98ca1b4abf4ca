/**
 * Watch together in the full-screen peer client (issue 39.7): `/watch-together @PEER [PATH]`.
 *
 * Contract: the node's `PeerWatch` (peer/watch.ts: copies by SHA-256, sealed controls, the session's
 * clock) is given through `TuiOptions.peerWatch`, and local files open through
 * `TuiOptions.openLocalVideo` (client.ts: ffmpeg's probe and video/local_playback.ts). PATH starts
 * the video for both (offered to the peer first when it holds no copy), without it this user joins
 * what the peer plays. The copy here plays in the video view (video_view.ts) with this client's own
 * renderer and pane size, from the shared position; space, ←/→ play, pause and seek for both, `q`
 * or `/stop` leaves (only here). Every change, refusal and note is a line in the peer's buffer; the
 * status line says who set the state. Never touches the terminal.
 */
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import type { VideoAction } from "../video/video_keys.ts";
import { WatchedPlayer } from "../video/watch_viewer.ts";
import { watchLine } from "../video/watch_room.ts";
import type { PeerWatch, PeerWatchEvent } from "../peer/watch.ts";
import type { AppHost } from "./app_host.ts";
import type { PlayHooks } from "./play_hooks.ts";
import type { VideoPlayer } from "../video/player.ts";

/** What the peer view needs of the video view: play a local file from a position, and stop. */
export interface LocalPlays {
  playFile(path: string, start: number, label: string, hooks: PlayHooks): Promise<void>;
  stop(): Promise<void>;
}

export class TuiPeerWatch {
  /** The peer watched with here, or null. */
  viewing: string | null = null;
  #shown: VideoPlayer | null = null;
  #status = "";

  constructor(readonly app: AppHost, readonly video: LocalPlays, readonly pw: PeerWatch) {
    pw.player = () => new WatchedPlayer(() => app.clock.now());
    pw.on((e) => this.app.later(() => this.#event(e)));
  }

  /** Status-line items while watching. */
  extras(): string[] {
    return this.viewing && this.#status ? [this.#status] : [];
  }

  /** `/watch-together @PEER [PATH]`: starts PATH for both, or joins what PEER plays. */
  async start(peer: string, path?: string): Promise<void> {
    const name = peer.replace(/^@/, "");
    if (this.viewing && this.viewing !== name) await this.leave();
    this.viewing = name;
    if (!path) {
      await this.pw.join(name);
      return this.#say(name, `Watching with ${name}: waiting for what ${name} plays`);
    }
    this.#say(name, `Starting ${sanitize(path)} with ${name}…`);
    await this.pw.start(name, path);
  }

  /** A video key while watching: for both; `q` leaves. */
  async act(a: VideoAction): Promise<void> {
    const peer = this.viewing;
    if (!peer) return;
    if (a.do === "stop") return this.leave();
    const s = this.pw.session(peer)?.session.state;
    if (!s) return;
    if (a.do === "pause") await this.pw.control(peer, s.paused ? { play: true } : { pause: true });
    else {await this.pw.control(peer, {
        seek: Math.max(0, (s.paused ? s.pos : this.pw.position(peer)) + a.ms),
      });}
  }

  /** Stops watching here (the peer goes on). */
  async leave(): Promise<void> {
    const peer = this.viewing;
    if (!peer) return;
    this.viewing = null;
    this.#status = "";
    const player = this.pw.session(peer)?.follower.player;
    this.pw.leave(peer);
    if (player instanceof WatchedPlayer) await player.attach(null);
    if (this.#shown) await this.video.stop().catch(() => {});
    this.#shown = null;
    this.#say(peer, `You left watching with ${peer}; /watch-together @${peer} joins again`);
  }

  #event(e: PeerWatchEvent): void {
    const peer = e.name;
    if (e.type === "note") return this.#say(peer, e.text, e.level === "warn" ? "error" : "info");
    if (e.type === "invited") {
      if (this.viewing === peer) return;
      return this.#say(peer, `${peer} plays a video to watch together: /watch-together @${peer} joins`);
    }
    if (e.type === "video") return this.#show(peer, e.path, e.player);
    const ev = e.event;
    this.#say(peer, sanitize(watchLine(ev)), ev.type === "refused" ? "error" : "info");
    if (ev.type === "state" && this.viewing === peer) {
      const by = ev.by === this.app.backend.user ? "you" : sanitizeName(ev.by);
      const where = ((ev.state.paused ? ev.state.pos : this.pw.position(peer)) / 1000).toFixed(1);
      const step = e.step === undefined ? "" : `, in step ${e.step} ms`;
      this.#status = `[together @${peer}: ${
        ev.state.paused ? "paused" : "playing"
      } at ${where} s by ${by}${step}]`;
    }
  }

  /** The session's video changed: this client's copy plays from the shared position. */
  #show(peer: string, path: string | null, followed: unknown): void {
    if (this.viewing !== peer || !path || !(followed instanceof WatchedPlayer)) return;
    const start = followed.position;
    const asked = this.app.clock.now();
    const hooks: PlayHooks = {
      started: (p) => {
        if (this.viewing !== peer) return void p.stop().catch(() => {});
        this.#shown = p;
        const at = followed.paused ? start : start + (this.app.clock.now() - asked);
        void followed.attach(p, at); // a paused state pauses it at the next tick
      },
      ended: (p) => {
        if (this.#shown === p) this.#shown = null;
      },
    };
    this.app.track(this.video.playFile(path, start, `together @${peer}`, hooks), () => {});
  }

  #say(peer: string, text: string, level: "info" | "error" = "info"): void {
    this.app.later(() => this.app.state.info(this.app.state.buffers.ensure("dm", peer), text, level));
  }
}
