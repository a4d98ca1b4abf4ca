/**
 * The TUI event loop. Everything arrives through one queue — terminal input, backend events,
 * resizes, results of commands — and each pass drains the queue, then draws once: redraws are
 * coalesced and only changed cells are written (see `screen.ts`).
 *
 * Contract: `TuiApp` does no I/O of its own: it writes to the injected `output`, takes input bytes
 * from `feed`, sizes from `resize`, time from the injected `Clock`, and talks to the chat only via
 * the `ChatBackend`. `idle()` resolves when the queue is empty and no command is pending (tests
 * and benches await it). `done` resolves after `/quit`. Its options are in app_options.ts, what it
 * loads at start in app_start.ts, keys in app_keys.ts, submitted lines in app_commands.ts.
 */
import type { ChatBackend, ChatMessage, Target } from "../backend.ts";
import { type Clock, systemClock } from "../../common/clock.ts";
import { ChatState } from "./chat_state.ts";
import { applyEvent } from "./chat_events.ts";
import { submitLine } from "./app_commands.ts";
import { KeyDecoder, type KeyEvent } from "../term/keys.ts";
import { bindKey } from "./app_keys.ts";
import { notification } from "./notify.ts";
import { render, type ViewState } from "./render.ts";
import { diff, type Screen } from "./screen.ts";
import { sanitize } from "../../common/sanitize.ts";
import { Completer } from "./completion.ts";
import { COMMANDS, type CommandSpec } from "./commands.ts";
import { TuiVideo } from "./video_view.ts";
import { TuiPictures } from "./picture_view.ts";
import { localTime, type SearchState, type TuiOptions } from "./app_options.ts";
import { loadAtStart } from "./app_start.ts";
import { TuiSelect } from "./select.ts";
import type { AppHost } from "./app_host.ts";
import { InputHold } from "./input_hold.ts";
import { TuiSettings } from "./app_settings.ts";

type Item =
  | { t: "input"; events: KeyEvent[] }
  | { t: "event"; e: Parameters<Parameters<ChatBackend["on"]>[0]>[0] }
  | { t: "resize"; cols: number; rows: number }
  | { t: "run"; fn: () => void };

export class TuiApp implements AppHost {
  readonly state: ChatState;
  readonly completer = new Completer();
  /** `/play`, `/stream`, `/accept`, `/stop` and the video keys (video_view.ts). */
  readonly video: TuiVideo = new TuiVideo(this);
  /** Received pictures: thumbnails and the full view (picture_view.ts). */
  readonly pictures: TuiPictures = new TuiPictures(this);
  /** Selection mode: keys on a selected message (select.ts). */
  readonly select: TuiSelect = new TuiSelect(this);
  cols: number;
  rows: number;
  /** The server's video names (Tab after /play). */
  videoNames: string[] = [];
  showBuffers = true;
  showMembers = true;
  search: SearchState | null = null;
  /** `/quit` warned once about unsent messages. */
  quitWarned = false;
  found: ChatMessage[] = [];
  /** How many frames were drawn (tests check coalescing). */
  draws = 0;
  readonly #hold = new InputHold((events) => this.#enqueue({ t: "input", events }), (fn) => this.later(fn));
  readonly clock: Clock;
  formatTime: (ts: number) => string = localTime;
  readonly settings: TuiSettings;
  readonly commands: readonly CommandSpec[];
  #queue: Item[] = [];
  #scheduled = false;
  #pending = new Set<Promise<void>>();
  #prev: Screen | null = null;
  /** The screen before `#prev`, reused for the next frame (two buffers, no per-frame allocation). */
  #spare: Screen | null = null;
  #decoder = new KeyDecoder();
  #bells: string[] = [];
  #unsubscribe: (() => void) | null = null;
  #quit!: () => void;
  #typingSent = 0;
  readonly done: Promise<void>;

  constructor(readonly backend: ChatBackend, readonly opts: TuiOptions) {
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.clock = opts.clock ?? systemClock;
    this.settings = new TuiSettings(this); // the time format, side lists, colours, notify, emoji
    this.commands = opts.commands ?? COMMANDS;
    this.state = new ChatState(backend.user, () => this.clock.now());
    this.done = new Promise((r) => (this.#quit = r));
    if (opts.graphics) this.video.graphics = opts.graphics;
  }

  /** Subscribes to the backend, loads rooms and who is online, draws the first frame. */
  start(): void {
    this.#unsubscribe = this.backend.on((e) => this.#enqueue({ t: "event", e }));
    loadAtStart(this);
    this.#schedule();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** Terminal input bytes. */
  feed(bytes: Uint8Array): void {
    this.#enqueue({ t: "input", events: this.#decoder.push(bytes) });
  }
  /** Terminal input as text (tests). */
  feedText(text: string): void {
    this.#enqueue({ t: "input", events: this.#decoder.pushText(text) });
  }
  /** True when an escape sequence is incomplete; call `flushInput` after a short pause. */
  get inputPending(): boolean {
    return this.#decoder.pending;
  }
  flushInput(): void {
    this.#enqueue({ t: "input", events: this.#decoder.flush() });
  }
  resize(cols: number, rows: number): void {
    this.#enqueue({ t: "resize", cols, rows });
  }
  /** Redraws (the clock in the status line, typing expiry); runTui calls it every few seconds. */
  tick(): void {
    this.#enqueue({ t: "run", fn: () => {} });
  }
  /** Forces a full repaint on the next pass (Ctrl-L). */
  invalidate(): void {
    this.#prev = null;
  }

  /** Resolves when the queue is drained and no command is running. */
  async idle(): Promise<void> {
    while (this.#scheduled || this.#pending.size) {
      if (this.#pending.size) await Promise.allSettled([...this.#pending]);
      else await new Promise<void>((r) => queueMicrotask(r));
    }
  }

  /** Runs a backend call; `ok` runs in a later pass with the result, an error is printed. */
  track<T>(p: Promise<T>, ok: (v: T) => void, buf = this.state.buffers.current): void {
    const w: Promise<void> = p.then(
      (v) => this.#enqueue({ t: "run", fn: () => ok(v) }),
      (err) =>
        this.#enqueue({
          t: "run",
          fn: () => this.state.info(buf, (err as Error).message ?? String(err), "error"),
        }),
    ).finally(() => this.#pending.delete(w));
    this.#pending.add(w);
  }

  #enqueue(it: Item): void {
    this.#queue.push(it);
    this.#schedule();
  }
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#pass());
  }

  #pass(): void {
    while (this.#queue.length) {
      const items = this.#queue;
      this.#queue = [];
      for (const it of items) {
        try {
          this.#handle(it);
        } catch (err) {
          this.state.info(this.state.buffers.current, `Internal error: ${(err as Error).message}`, "error");
        }
      }
    }
    this.#scheduled = false;
    this.#draw();
  }

  #handle(it: Item): void {
    switch (it.t) {
      case "input": // keys after a submitted command wait for it (input_hold.ts)
        this.#hold.take(it.events, (ev) => bindKey(this, ev));
        break;
      case "event": {
        if (it.e.type === "stream.offer") return this.video.offered(it.e.offer);
        if (it.e.type === "stream.withdrawn") return this.video.withdrawn(it.e.sid, it.e.from, it.e.by);
        if (it.e.type === "signal") return this.video.watch.signal(it.e); // watch together (watch_view.ts)
        const n = applyEvent(this.state, it.e);
        if (n && this.state.myStatus !== "busy") this.#notify(n.title, n.body); // busy: do not disturb
        if (it.e.type === "message") this.backend.feed?.markSeen([it.e.message]); // it is in its buffer now
        break;
      }
      case "resize":
        this.cols = it.cols;
        this.rows = it.rows;
        this.#prev = null;
        break;
      case "run":
        it.fn();
        break;
    }
  }

  #notify(title: string, body: string): void {
    this.#bells.push(notification(this.settings.notify(), title, body));
  }

  view(): ViewState {
    return {
      server: sanitize(this.backend.server),
      user: this.backend.user,
      role: this.backend.role,
      myStatus: this.state.myStatus,
      connection: this.state.connection,
      encryption: this.state.encryption,
      buffers: this.state.buffers,
      showBuffers: this.showBuffers,
      showMembers: this.showMembers,
      members: this.state.members(),
      now: this.clock.now(),
      formatTime: this.formatTime,
      look: this.settings.look,
      extras: [...this.state.extras(), ...this.video.extras()],
      search: this.search,
      selected: this.select.highlighted,
      banner: this.select.banner(),
      video: this.video.playing ? { status: this.video.status } : this.pictures.fullStatus(),
      placePicture: (line, row, col) => this.pictures.place(line, row, col),
    };
  }

  #draw(): void {
    if (this.video.syncPane()) this.#prev = null; // the pane moved: repaint everything
    this.pictures.begin();
    const screen = render(this.view(), this.cols, this.rows, this.#spare);
    if (this.pictures.moved()) this.#prev = null; // a picture moved or went: clear it with a repaint
    const repainted = !this.#prev;
    if (repainted) this.video.repainted(); // the picture was cleared: its next frame is drawn whole
    const out = diff(this.#prev, screen) + this.pictures.paint(repainted) + this.#bells.join("");
    this.#bells = [];
    this.#spare = this.#prev;
    this.#prev = screen;
    this.draws++;
    if (out) this.opts.output.write(out);
  }

  /** Sends text to a conversation; the sent message shows when the backend confirms it. */
  sendText(target: Target, text: string, replyTo?: string): Promise<void> {
    const buf = this.state.buffers.current;
    this.#typing(false);
    return this.backend.send(target, this.settings.outgoing(text), replyTo ? { replyTo } : undefined).then(
      (m) => this.#enqueue({ t: "run", fn: () => this.state.addMessage(m, false) }),
      (err) => {
        this.#enqueue({
          t: "run",
          fn: () => this.state.info(buf, `Not sent: ${(err as Error).message}`, "error"),
        });
      },
    );
  }

  /** Tells the backend the user is typing (at most every 3 s) or stopped. */
  #typing(active: boolean): void {
    const t = this.state.buffers.current.target;
    if (!t || !this.backend.typing) return;
    const now = this.clock.now();
    if (active && now - this.#typingSent < 3000) return;
    if (!active && this.#typingSent === 0) return;
    this.#typingSent = active ? now : 0;
    this.backend.typing(t, active);
  }

  /** Called by the key bindings after the input line changed. */
  edited(): void {
    const ed = this.state.buffers.current.editor;
    this.#typing(ed.text !== "" && !ed.text.startsWith("/"));
  }

  /** Handles a submitted input line (see `app_commands.ts`). */
  submit(line: string): void {
    submitLine(this, line);
  }

  /** Keys typed after a command wait for it (input_hold.ts). */
  holdInput(p: Promise<unknown>): void {
    this.#hold.hold(p);
  }

  /** Runs `fn` in the next pass (results of async work). */
  later(fn: () => void): void {
    this.#enqueue({ t: "run", fn });
  }

  /** Stops listening, closes the backend and resolves `done`. */
  async quit(): Promise<void> {
    this.stop();
    if (this.video.playing) await this.video.stop().catch(() => {});
    await this.backend.close().catch(() => {});
    await this.settings.flushed(); // the conversation logs' last lines are on disk
    this.#quit();
  }
}
