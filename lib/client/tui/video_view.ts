/**
 * Video inside the full-screen client: `/play` of a server video, `/stream` of a local file to a
 * user, accepting an offered stream (`/accept`, or `y` at the prompt; `n` refuses) and `/stop`.
 *
 * Contract: a playing video owns the message pane. While it plays, `render` leaves the pane blank
 * (so the screen diff never writes over the picture) except its last row, where the overlay line
 * (fps, dropped, rendition, kbit/s) is drawn like any other text; the `VideoPlayer` draws frames
 * straight to the output inside the pane, cursor saved and restored around each frame. When the
 * video ends the screen is repainted in full and the chat pane returns. With an empty input line,
 * `q` stops, space pauses, ←/→ seek 5 s (while watching together they go to `watch`,
 * watch_view.ts: for everyone); otherwise keys go to the input line. Talks to the chat only
 * through the video capability of `ChatBackend`; never sees frames or sockets.
 */
import { capability, type StreamOfferInfo, type VideoHandle } from "../backend.ts";
import { FFMPEG_HINT, type FramePainter, type PaneGeometry } from "../../media/mod.ts";
import { PLAY_LEAD_MS, VideoPlayer } from "../video/player.ts";
import { applyVideoAction, videoActions } from "../video/video_keys.ts";
import type { AppHost } from "./app_host.ts";
import type { GraphicsInfo } from "./app_options.ts";
import type { PlayHooks } from "./play_hooks.ts";
import type { KeyEvent } from "../term/keys.ts";
import { layout, type Rect } from "./layout.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import { textWidth } from "./width.ts";
import { TuiWatch } from "./watch_view.ts";
import { peerWatch, serverWatch } from "./watch_ports.ts";

const utf8d = new TextDecoder();

export class TuiVideo {
  graphics: GraphicsInfo = { kind: "halfblock" };
  /** The overlay line shown on the pane's last row while a video plays. */
  status = "";
  /** An offer waiting for y/n. */
  offer: StreamOfferInfo | null = null;
  #player: VideoPlayer | null = null;
  #label = "";
  #pane: PaneGeometry | null = null;
  #outgoing: { user: string; accepted: boolean; stop(): void } | null = null;
  /** `/watch-together` (watch_view.ts): in peer mode, of the node's PeerWatch (watch_ports.ts). */
  readonly watch: TuiWatch;

  constructor(readonly app: AppHost) {
    const pw = app.opts.peerWatch;
    this.watch = new TuiWatch(app, pw ? peerWatch(this, pw) : serverWatch(app, this));
  }

  /** True while a video occupies the message pane. */
  get playing(): boolean {
    return this.#player !== null;
  }

  /** The screen is being repainted in full (cleared): the playing video redraws its whole picture. */
  repainted(): void {
    this.#player?.invalidate();
  }

  /** The message pane rectangle for the current size and toggles. */
  paneRect(): Rect {
    const a = this.app;
    const time = textWidth(a.formatTime(a.clock.now()));
    return layout(a.cols, a.rows, a.showBuffers, a.showMembers, time, 0, a.settings.look).messages;
  }

  /** The picture area: the message pane minus its last row (the overlay), 1-based. */
  #geometry(): PaneGeometry {
    const r = this.paneRect();
    const g = this.graphics;
    return {
      row: r.row + 1,
      col: r.col + 1,
      cols: r.width,
      rows: Math.max(1, r.height - 1),
      ...(g.cellWidth ? { cellWidth: g.cellWidth } : {}),
      ...(g.cellHeight ? { cellHeight: g.cellHeight } : {}),
    };
  }

  /** Status-line items: an open offer, an outgoing stream. */
  extras(): string[] {
    const out: string[] = [...this.watch.extras()];
    if (this.offer) {
      out.push(`[${sanitizeName(this.offer.from)} offers ${sanitize(this.offer.name)}: y/n]`);
    }
    if (this.#outgoing) {
      out.push(
        this.#outgoing.accepted ? `[▶ to ${this.#outgoing.user}]` : `[waiting for ${this.#outgoing.user}]`,
      );
    }
    return out;
  }

  /** Called before each draw: follows pane moves; true when the screen must be repainted. */
  syncPane(): boolean {
    if (!this.#player || !this.#pane) return false;
    const g = this.#geometry();
    const p = this.#pane;
    if (g.row === p.row && g.col === p.col && g.cols === p.cols && g.rows === p.rows) return false;
    this.#pane = g;
    this.#player.resize(g).catch(() => {});
    return true;
  }

  async play(name: string, thirds: boolean): Promise<void> {
    const [handle, painter] = await this.#early(() => this.#open(name, thirds));
    this.#begin(handle, thirds ? "thirds" : "adaptive", `Played ${name}`, undefined, painter);
  }

  /** Plays server video `name` from `start` ms (watch together), its overlay labelled `label`. */
  async playAt(name: string, start: number, label: string, hooks: PlayHooks): Promise<void> {
    const [handle, painter] = await this.#early(() => this.#open(name, false, start));
    this.#begin(handle, label, `Watched ${name}`, hooks, painter);
  }

  /** Plays local file `path` from `start` ms (peer mode's watch together) at this pane's size. */
  async playFile(path: string, start: number, label: string, hooks: PlayHooks): Promise<void> {
    const open = this.app.opts.openLocalVideo;
    if (!open) throw new Error(`Playing a local video needs ffmpeg: ${FFMPEG_HINT}`);
    const px = VideoPlayer.pixelsFor(this.graphics.kind, this.#geometry(), false);
    const [handle, painter] = await this.#early(() => open(path, start, px));
    this.#begin(handle, label, `Watched ${path}`, hooks, painter);
  }

  /**
   * `open` with the renderer made while it runs (issue 75: a sixel encoder's tables and warm-up overlap
   * the request, not the first frame); the painter is closed when `open` fails.
   */
  async #early<H extends VideoHandle>(open: () => Promise<H>): Promise<[H, FramePainter]> {
    const painter = VideoPlayer.painterFor(this.graphics.kind);
    try {
      return [await open(), painter];
    } catch (e) {
      painter.close();
      throw e;
    }
  }

  async #open(name: string, thirds: boolean, start?: number): Promise<VideoHandle> {
    const b = this.app.backend;
    const px = VideoPlayer.pixelsFor(this.graphics.kind, this.#geometry(), false);
    return await capability(b, "video").play(name, {
      mode: thirds ? "thirds" : "adaptive",
      ...px,
      lead: PLAY_LEAD_MS,
      // Half-block frames come raw over a local network (nothing to decode; see `FramesWanted`).
      format: this.graphics.kind === "halfblock" ? "auto" : "jpeg",
      ...(start ? { start: Math.round(start) } : {}),
    });
  }

  /** Shows a stream offer and waits for y/n (or /accept). */
  offered(o: StreamOfferInfo): void {
    this.offer = o;
    const st = this.app.state;
    const size = o.width && o.height ? ` (${o.width}×${o.height})` : "";
    st.info(
      st.buffers.current,
      `${sanitizeName(o.from)} offers to stream ${
        sanitize(o.name)
      }${size}: press y to accept, n to refuse (or /accept)`,
    );
  }

  withdrawn(sid: string, from: string, by?: string): void {
    if (this.offer?.sid !== sid) return;
    this.offer = null;
    const text = by === this.app.backend.user // another device of this account answered it
      ? `The stream offer from ${sanitizeName(from)} was answered on another of your devices`
      : `${sanitizeName(from)} withdrew the stream offer`;
    this.app.state.info(this.app.state.buffers.current, text);
  }

  async accept(): Promise<void> {
    const o = this.offer;
    if (!o) throw new Error("No stream is being offered to you");
    const b = this.app.backend;
    const video = capability(b, "video");
    this.offer = null;
    const px = VideoPlayer.pixelsFor(this.graphics.kind, this.#geometry(), false);
    const [s, painter] = await this.#early(() => video.accept(o.sid, px));
    const from = sanitizeName(o.from);
    this.#begin(s, `from ${from}`, `Stream ${sanitize(o.name)} from ${from}`, undefined, painter);
    s.ended.then((e) => {
      if (e.by !== this.app.backend.user) this.#say(`${sanitizeName(e.by)} stopped the stream`);
    });
  }

  async refuse(): Promise<void> {
    const o = this.offer;
    if (!o) return;
    this.offer = null;
    await this.app.backend.video?.refuse(o.sid);
    this.#say(`Refused the stream from ${sanitizeName(o.from)}`);
  }

  /** Offers a local file to `user`; progress and the end are printed in the current buffer. */
  stream(user: string, file: string): void {
    const b = this.app.backend;
    const video = capability(b, "video");
    if (this.#outgoing) throw new Error(`You are already streaming to ${this.#outgoing.user}; /stop first`);
    const out = video.offer(user, file);
    const o = { user: sanitizeName(user), accepted: false, stop: () => out.stop() };
    this.#outgoing = o;
    // Said only once the file was read as a video and offered; a bad file fails without it.
    const said = () =>
      this.#say(`Offered ${sanitize(file)} to ${o.user}; waiting for them to accept (/stop cancels)`);
    if (out.offered) out.offered.then(said);
    else said();
    out.accepted.then((a) => {
      if (!a) return;
      this.app.later(() => (o.accepted = true));
      this.#say(`${o.user} accepted; streaming`);
    });
    out.done.then(
      (r) => {
        const how = r.reason === "refused"
          ? `${o.user} did not accept the stream`
          : `Streamed ${r.relayed} frames to ${o.user}, ${r.dropped} dropped${
            r.by && r.by !== b.user ? ` (stopped by ${r.by})` : ""
          }`;
        this.#say(how);
      },
      (e) => this.#say(`Stream to ${o.user} failed: ${(e as Error).message}`, "error"),
    ).finally(() => this.app.later(() => (this.#outgoing = null)));
  }

  /** Stops the playing video and any outgoing stream. */
  async stop(): Promise<void> {
    const out = this.#outgoing;
    if (!this.#player && !out) throw new Error("Nothing is playing");
    out?.stop();
    await this.#player?.stop();
  }

  /** Video keys; true when the key was used. */
  key(ev: KeyEvent): boolean {
    if (this.app.state.buffers.current.editor.text !== "") return false;
    const text = ev.type === "text" ? ev.text : null;
    if (this.offer && (text === "y" || text === "n")) {
      this.app.track(text === "y" ? this.accept() : this.refuse(), () => {});
      return true;
    }
    const p = this.#player;
    const acts = p ? videoActions(ev) : [];
    if (!p || !acts.length) return false;
    // together: for everyone
    const w = this.watch.viewing ? this.watch : null;
    for (const a of acts) this.app.track(w ? w.act(a) : applyVideoAction(p, a), () => {});
    return true;
  }

  #say(text: string, level: "info" | "error" = "info"): void {
    this.app.later(() => this.app.state.info(this.app.state.buffers.current, text, level));
  }

  #begin(src: VideoHandle, label: string, what: string, hooks?: PlayHooks, painter?: FramePainter): void {
    const old = this.#player;
    old?.stop().catch(() => {});
    // Constructed inside a pass: that pass blanks the pane before the first frame is painted.
    this.app.later(() => {
      this.#label = label;
      this.status = "";
      this.#pane = this.#geometry();
      const out = this.app.opts.output;
      const decoder = this.app.opts.videoDecoder?.(this.graphics.kind);
      if (src.format !== "rgb") void decoder?.warm(); // raw frames: it starts only if a JPEG comes
      const player: VideoPlayer = new VideoPlayer(src, {
        kind: this.graphics.kind,
        pane: this.#pane,
        overlay: false,
        label: this.#label,
        ...(decoder ? { decoder } : {}),
        ...(painter ? { painter } : {}),
        draw: (b) => {
          if (this.#player !== player) return;
          const s = typeof b === "string" ? b : utf8d.decode(b);
          out.write(`\x1b[?2026h\x1b7${s}\x1b8\x1b[?2026l`);
        },
        onStatus: (line) => this.app.later(() => (this.status = line)),
      });
      this.#player = player;
      hooks?.started(player);
      void player.done.finally(() => decoder?.close());
      player.done.then((sum) =>
        this.app.later(() => {
          hooks?.ended(player);
          if (this.#player !== player) return;
          this.#player = null;
          this.#pane = null;
          this.status = "";
          this.app.invalidate();
          this.app.state.info(
            this.app.state.buffers.current,
            `${what}: ${sum.shown} frames shown, ${sum.dropped} dropped${renditionCounts(src, sum)}`,
          );
        })
      );
    });
  }
}

/**
 * " (240p: A 720p: B 1080p: C)" — frames received per rendition, as `parley play` prints them; frames
 * received but neither shown nor dropped (held when a seek or the stop came: never drawn) are said
 * before them, so that the counts add up (issue 71.6: "168 shown, 0 dropped (240p: 172 …)").
 */
function renditionCounts(src: VideoHandle, sum: { shown: number; dropped: number }): string {
  const r = src.perRendition;
  if (!r) return "";
  const over = Object.values(r).reduce((a, b) => a + b, 0) - sum.shown - sum.dropped;
  const passed = over > 0 ? `, ${over} passed over by a seek or the stop` : "";
  return `${passed} (${["240p", "720p", "1080p"].map((k) => `${k}: ${r[k] ?? 0}`).join(" ")})`;
}
