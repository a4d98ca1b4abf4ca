/**
 * What a command handler may use (`CommandContext`, provided by the app) and small helpers shared by
 * the handlers in `commands.ts`. Handlers never touch the terminal.
 */
import type { ChatBackend, ChatMessage, Presence, Target } from "../backend.ts";
import type { Line } from "./buffers.ts";
import { withoutHash } from "../../protocol/names.ts";
import { sanitize } from "../../common/sanitize.ts";

/** The app's video controls (video_view.ts), for the video commands. */
export interface VideoControls {
  play(name: string, thirds: boolean): Promise<void>;
  stream(user: string, file: string): void;
  accept(): Promise<void>;
  stop(): Promise<void>;
  /** Watch together (watch_view.ts): joins session `name` (a room's or DM's key; in peer mode a peer); with
   * `video` (in peer mode a local file), starts it for everyone. */
  watch?: { start(name: string, video?: string): Promise<void> };
}

export interface CommandContext {
  backend: ChatBackend;
  /** Conversation of the current buffer; null in the status buffer. */
  target: Target | null;
  /** Prints a line in this buffer; `hang`: its rows after the first indented by that many cells (`/help`). */
  print(text: string, level?: "info" | "error", hang?: number): void;
  /** Opens (and with `focus`, switches to) the buffer of a conversation. */
  open(target: Target, focus: boolean): void;
  /** Closes the current buffer (not the status buffer). */
  closeCurrent(): void;
  /** Takes every line off the current buffer's screen (`/clear`; its history stays where it is kept). */
  clearCurrent?(): void;
  /** The buffers' labels in list order ("status", "#dev", "bob"), for `/buffer`. */
  bufferLabels?(): string[];
  /** Shows buffer `index` (0-based, in list order). */
  showBuffer?(index: number): void;
  /** Gives the current buffer number `n` (from 2; `/buffer move N`). */
  moveBuffer?(n: number): void;
  send(target: Target, text: string, replyTo?: string): Promise<void>;
  /** The last message of the current buffer (one's own with `own`), confirmed by the server; null if none. */
  lastMessage?(own: boolean): Line | null;
  /** The message selected in the current buffer (selection mode, select.ts) when the line was typed; null if none. */
  selectedMessage?(): Line | null;
  /** Adds fetched messages (history, inbox) to their buffers; resolves with how many were new there. */
  addMessages(messages: ChatMessage[]): Promise<number>;
  quit(): Promise<void>;
  /** Set once `/quit` warned about unsent messages (a second `/quit` leaves). */
  quitWarned: boolean;
  /** The matches the last `/search` printed, numbered from 1 (`/goto N` shows one). */
  found?: ChatMessage[];
  /** Goes to the buffer of `m` and shows its line, selected; false when that line is not there. */
  showMessage?(m: ChatMessage): Promise<boolean>;
  now(): number;
  formatTime(ts: number): string;
  /** Text that lists commands for `/help`. */
  helpLines(cmd?: string): string[];
  /** Records the user's own status after `/busy` or `/free` succeeded. */
  setOwnStatus(status: "busy" | "free"): void;
  video: VideoControls;
  /**
   * A downloaded file was saved: shown as a picture when it is one (picture_view.ts), in its
   * conversation (the room it was offered in, or the DM with its sender).
   */
  savedFile?(path: string, name: string, from: { user: string; room?: string }): void;
  /** The away reason `user` last told this client (a reply to a direct message), while they are busy. */
  awayOf?(user: string): { text: string; at: number } | null;
  /** True for a user the client already knows (online, a room member or an open query). */
  isUser?(name: string): boolean;
  /** Closes the buffer of a conversation, if open. */
  closeTarget?(target: Target): void;
  /** The mute list changed (`/mute`, `/unmute`): the buffers follow `names`. */
  mutedChanged?(names: string[]): void;
  /** The highlight words changed (`/highlight`, `/unhighlight`): lines from now on follow `words`. */
  highlightsChanged?(words: string[]): void;
  /** Takes the line of message `mid` off the screen (an outbox entry the user dropped). */
  removeMessage?(mid: string): void;
  /** `/set` (app_settings.ts): every setting's line, and a change checked, applied and saved (rejects with why not). */
  settings?: {
    list(): string[];
    set(name: string, value: string): Promise<string>;
    outgoing(text: string): string;
  };
}

/** `/help`'s rows: two spaces, the command in HELP_HEAD cells, a space, then its help (parse.ts `helpLines`). */
export const HELP_HEAD = 24;
/** Where a `/help` row's help starts: its wrapped rows start there too (a longer command puts it on the next row). */
export const HELP_HANG = 2 + HELP_HEAD + 1;

/** How far `/help`'s row `l` hangs: the table's rows (and the keys') under their text column, one command's under its indent. */
export function helpHang(l: string, cmd?: string): number {
  return !l.startsWith("  ") ? 0 : cmd && cmd !== "keys" ? 2 : HELP_HANG;
}

/** One row of a command table: how the command is typed, explained and run. */
export interface CommandSpec {
  /** The command's name, typed after `/`. */
  name: string;
  /** Other names that run the same command. */
  aliases?: string[];
  /** An old name kept working: typing it prints this line, then runs the command (`/send` → `/send-file`). */
  aliasHints?: Record<string, string>;
  /** The argument line shown by /help (e.g. `/msg NICK TEXT`). */
  usage: string;
  /** One line saying what the command does. */
  help: string;
  /** Who may run it: everyone, or server admins only. */
  permission: "user" | "admin";
  /** More lines `/help NAME` shows after its help (`/set`: the settings). */
  details?: () => string[];
  /** Said after "needs admin rights" to a user who may not run it: what they may have meant. */
  refusedHint?: string;
  /**
   * Carries the command out with the words typed after its name. `ctx` is what the app lends a
   * handler (`CommandContext`, the TUI's own).
   * @internal
   */
  run(ctx: CommandContext, args: string[]): Promise<void> | void;
}

export const user = (s: string) => s.replace(/^@/, "");

export function ago(now: number, since: number): string {
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const pad2 = (n: number) => String(n).padStart(2, "0");
/** The local day of `ts`, as 2026-11-27. */
export const dayOf = (ts: number): string => {
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
};

/** `ts` as lists say it (`/search`, `/files`): its time, after its day unless that is today. */
export function whenText(ctx: CommandContext, ts: number): string {
  return `${dayOf(ts) === dayOf(ctx.now()) ? "" : `${dayOf(ts)} `}${ctx.formatTime(ts)}`;
}

/** `/whois` of a busy user whose away reason this client was not told (it comes with a reply to a direct message). */
export const AWAY_UNTOLD = "away; reason shown when you write to them";

/** One user's presence as `/who` says it; `/whois` (`whois`) says too where an away reason would come from. */
export function presenceLine(ctx: CommandContext, p: Presence, whois = false): string {
  // The address is shown to admins only (the server sends "" to others).
  const away = p.status === "busy" ? ctx.awayOf?.(p.user) : null; // told to me, end to end
  // The reason never reaches the server: /whois says where it comes from when none came yet (issue 71.14).
  // (Not in peer mode: its backend keeps no away reason, so no peer sends one.)
  const unknown = whois && p.status === "busy" && !away && ctx.awayOf && ctx.backend.away
    ? ` (${AWAY_UNTOLD})`
    : "";
  return `${p.user}${p.role === "admin" ? " (admin)" : ""} — ${p.status}${
    away ? ` (away: ${sanitize(away.text)}, said ${ago(ctx.now(), away.at)} ago)` : unknown
  }${p.addr ? ` — ${p.addr}` : ""} — active since ${ctx.formatTime(p.since)} (${ago(ctx.now(), p.since)})${
    p.node ? ` — on ${p.node}` : ""
  }`;
}

/**
 * Opens the query buffer of `name` at once (so the next line typed lands there) and, unless the
 * client already knows the user, asks the server: a name it does not know is an error and the
 * buffer is closed again, so `/msg nosuchuser` leaves nothing behind. Other failures (offline) pass.
 */
export async function openQuery(ctx: CommandContext, name: string, focus: boolean): Promise<Target> {
  const t: Target = { kind: "user", name: user(name) };
  ctx.open(t, focus);
  if (ctx.isUser?.(t.name!)) return t; // online, a room member or an open query: no round trip
  try {
    await ctx.backend.whois(t.name!);
  } catch (err) {
    if ((err as { code?: string }).code === "no_such_user") {
      ctx.closeTarget?.(t);
      throw err;
    }
  }
  return t;
}

/** Where a message went, as lists show it: `#room`, a user, or `*` for everyone. */
export function targetText(t: Target): string {
  return t.kind === "broadcast" ? "*" : t.kind === "room" ? `#${t.name}` : String(t.name);
}

export function needTarget(ctx: CommandContext): Target {
  if (!ctx.target) throw new Error("This is the status buffer: switch to a room or a query first");
  return ctx.target;
}

export function needRoom(ctx: CommandContext, arg?: string): string {
  if (arg) return withoutHash(arg);
  const t = ctx.target;
  if (t?.kind !== "room" || !t.name) throw new Error("Not in a room: give the room name");
  return t.name;
}
