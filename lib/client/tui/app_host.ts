/**
 * The app as its parts see it (`AppHost`): the key bindings (app_keys.ts), the submitted lines
 * (app_commands.ts), the start (app_start.ts) and the views (video, watch together, pictures,
 * selection) take an `AppHost`, which `TuiApp` (app.ts) implements. They import this file, never
 * app.ts, so app.ts stands above them all. Types only; no I/O.
 */
import type { ChatBackend, ChatMessage, Target } from "../backend.ts";
import type { Clock } from "../../common/clock.ts";
import type { KeyEvent } from "../term/keys.ts";
import type { ChatState } from "./chat_state.ts";
import type { ChatBuffer, Line } from "./buffers.ts";
import type { CommandSpec } from "./commands.ts";
import type { VideoControls } from "./command_context.ts";
import type { Completer } from "./completion.ts";
import type { Rect } from "./layout.ts";
import type { GraphicsInfo, SearchState, TuiOptions } from "./app_options.ts";
import type { TuiSettings } from "./app_settings.ts";

/** The video view (video_view.ts) as the other parts use it: the commands' controls, its pane, its keys. */
export interface VideoPane extends VideoControls {
  /** True while a video plays or a stream shows. */
  readonly playing: boolean;
  /** How videos are drawn. */
  readonly graphics: GraphicsInfo;
  /** The message pane rectangle for the current size and toggles. */
  paneRect(): Rect;
  /** Handles a key while a video plays or a stream is offered; true when it took the key. */
  key(ev: KeyEvent): boolean;
}

/** The pictures view (picture_view.ts) as the key bindings and commands use it. */
export interface PicturePane {
  /** A downloaded file was saved into `buf`'s conversation: shown when it is a picture. */
  saved(path: string, name: string, buf: ChatBuffer): void;
  /** Handles a key of the full-size picture view; true when it took the key. */
  key(ev: KeyEvent): boolean;
}

/** Selection mode (select.ts) as the key bindings, commands and the message pane use it. */
export interface SelectPane {
  /** The message selected in `buf`, if selection mode is on there. */
  target(buf: ChatBuffer): Line | null;
  /** The lines shown above the message pane in selection mode (none otherwise). */
  banner(): string[];
  /** Handles a key in selection mode (or the key that enters it); true when it took the key. */
  key(ev: KeyEvent): boolean;
  /** Shows the line of message `mid` in the current buffer, selected when it can be; false when it is not there. */
  pick(mid: string): boolean;
}

/** What the app's parts ask of the app (app.ts documents each member on `TuiApp`). */
export interface AppHost {
  readonly backend: ChatBackend;
  readonly opts: TuiOptions;
  readonly state: ChatState;
  readonly clock: Clock;
  formatTime: (ts: number) => string;
  /** The settings (`/set`, the config file): app_settings.ts. */
  readonly settings: TuiSettings;
  readonly commands: readonly CommandSpec[];
  readonly completer: Completer;
  readonly video: VideoPane;
  readonly pictures: PicturePane;
  readonly select: SelectPane;
  readonly cols: number;
  readonly rows: number;
  videoNames: string[];
  showBuffers: boolean;
  showMembers: boolean;
  search: SearchState | null;
  quitWarned: boolean;
  /** The matches the last `/search` printed (`/goto N`). */
  found: ChatMessage[];
  /** Forces a full repaint on the next pass. */
  invalidate(): void;
  /** Runs a backend call; `ok` runs in a later pass with the result, an error is printed in `buf`. */
  track<T>(p: Promise<T>, ok: (v: T) => void, buf?: ChatBuffer): void;
  /** Runs `fn` in the next pass. */
  later(fn: () => void): void;
  /** Handles a submitted input line. */
  submit(line: string): void;
  /** The keys typed after a submitted command wait until `p` (the command) settles, a moment at most. */
  holdInput(p: Promise<unknown>): void;
  /** Sends text to a conversation. */
  sendText(target: Target, text: string, replyTo?: string): Promise<void>;
  /** Called by the key bindings after the input line changed. */
  edited(): void;
  /** Stops listening, closes the backend and resolves the app's `done`. */
  quit(): Promise<void>;
}
