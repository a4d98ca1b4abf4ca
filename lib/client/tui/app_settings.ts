/**
 * The settings of one full-screen app (issue 71.11) and the conversation logs they turn on (71.13).
 * `TuiSettings` holds the values read from the config file (settings.ts's `parseConfig`; each bad line
 * said once in the status buffer, never a throw), gives the app what they change — the time format,
 * the nick and highlight colours, the side lists, the notification mode, emoji conversion — and
 * `/set NAME VALUE` applies one at once and saves the whole file (session/home_dir.ts's
 * `ClientFiles` as `TuiOptions.files`, through a temporary file). `log` on in a conversation appends each line its buffer
 * shows to `logs/USER/CONVERSATION.log` (0600), with a warning once that the file is not encrypted.
 */
import { convertEmoji } from "../core/emoji.ts";
import type { ChatBuffer, Line } from "./buffers.ts";
import type { NotifyMode } from "./notify.ts";
import type { TuiOptions } from "./app_options.ts";
import type { ChatState } from "./chat_state.ts";
import {
  checkSetting,
  colourIndex,
  configText,
  findSetting,
  formatTimeWith,
  type Look,
  parseConfig,
  SETTINGS,
} from "./settings.ts";

/** The part of the app the settings change. */
export interface SettingsApp {
  readonly opts: TuiOptions;
  readonly state: ChatState;
  formatTime: (ts: number) => string;
  showBuffers: boolean;
  showMembers: boolean;
  later(fn: () => void): void;
}

/** The conversation a buffer's setting is kept under ("#proj", "kofi"); null for the status buffer. */
export const conversationOf = (b: ChatBuffer): string | null => (b.kind === "status" ? null : b.label);

export class TuiSettings {
  #values = new Map<string, string>();
  #kept: string[] = [];
  #look: Look = { nickColours: [], highlight: 3, buffersWidth: null, membersWidth: null };
  #saving: Promise<void> = Promise.resolve();
  #appending = new Map<string, Promise<void>>();

  constructor(readonly app: SettingsApp) {
    this.#apply();
  }

  /** Takes the config file's text read at start (its problems said in the status buffer) and applies it. */
  load(): void {
    const st = this.app.state, files = this.app.opts.files;
    const { text = null, error: readError } = this.app.opts.config ?? {};
    if (readError) {
      st.info(st.buffers.status, `Settings not read from ${files?.configPath}: ${readError}`, "error");
    }
    const p = parseConfig(text ?? "");
    this.#values = p.values;
    this.#kept = p.kept;
    for (const m of p.problems) {
      st.info(st.buffers.status, `${files?.configPath ?? "config"} ${m}; that line is ignored`, "error");
    }
    this.#apply();
    st.buffers.onLine = (b, line) => this.#log(b, line);
  }

  /** A setting's value (its default when unset); `conv` for a per-conversation one. */
  get(name: string, conv?: string): string {
    const s = findSetting(name)!;
    return this.#values.get(conv === undefined ? s.name : `${s.name}.${conv}`) ?? s.default;
  }

  get look(): Look {
    return this.#look;
  }
  /** Text to send as typed: its emoticons and `:name:` made emoji unless `emoji` is off. */
  outgoing(text: string): string {
    return this.get("emoji") === "on" ? convertEmoji(text) : text;
  }
  notify(): NotifyMode {
    const v = this.get("notify");
    return v === "auto" ? this.app.opts.notify ?? "bell" : v as NotifyMode;
  }

  /** `/set`'s rows: every setting, its value here and its default. */
  list(buf: ChatBuffer): string[] {
    const conv = conversationOf(buf);
    return SETTINGS.map((s) => {
      const where = s.perConversation ? (conv ? ` (in ${conv})` : " (in a conversation)") : "";
      const v = s.perConversation && !conv ? "-" : this.get(s.name, s.perConversation ? conv! : undefined);
      return `${s.name}${where} = ${v}${v === s.default ? "" : `  (default ${s.default})`}`;
    });
  }

  /**
   * `/set NAME VALUE` in `buf`: checked, applied, saved. Resolves with the line to show; rejects with
   * a refusal's sentence (the allowed values named) or the file system's error.
   */
  async set(buf: ChatBuffer, name: string, value: string): Promise<string> {
    const conv = conversationOf(buf);
    const per = findSetting(name)?.perConversation;
    if (per && !conv) {
      throw new Error(`${name} is set in a conversation: go to one, then /set ${name} ${value}`);
    }
    const r = checkSetting(per ? `${name}.${conv}` : name, value);
    if ("error" in r) throw new Error(r.error);
    const was = this.#values.get(r.key);
    this.#values.set(r.key, r.value);
    this.#apply();
    const files = this.app.opts.files;
    if (!files) return `${r.key} = ${r.value} (for this session: no settings file)`;
    const text = configText(this.#values, this.#kept);
    await (this.#saving = this.#saving.then(() => files.saveConfig(text), () => files.saveConfig(text)));
    const warn = per && r.value === "on" && was !== "on"
      ? `; each line shown here is appended to ${files.logPath(conv!)}, which is NOT encrypted`
      : "";
    return `${per ? `${name} in ${conv}` : r.key} = ${r.value} (saved in ${files.configPath})${warn}`;
  }

  #apply(): void {
    const a = this.app, o = a.opts;
    const tf = this.get("time_format");
    a.formatTime = o.formatTime && tf === findSetting("time_format")!.default
      ? o.formatTime
      : (ts) => formatTimeWith(tf, ts);
    a.showBuffers = this.get("buffers") === "on";
    a.showMembers = this.get("nicklist") === "on";
    const width = (n: string) => (this.get(n) === "auto" ? null : Number(this.get(n)));
    this.#look = {
      nickColours: this.get("nick_colors").split(",").map(colourIndex),
      highlight: colourIndex(this.get("highlight_color")),
      buffersWidth: width("buffers_width"),
      membersWidth: width("nicklist_width"),
    };
  }

  /** A line shown in a buffer whose log is on: appended to its file, in order, a failure said once. */
  #log(b: ChatBuffer, line: Line): void {
    const conv = conversationOf(b), files = this.app.opts.files;
    if (!conv || !files || this.get("log", conv) !== "on") return;
    const who = line.kind === "info" ? "--" : line.kind === "error" ? "!!" : line.action ? "*" : line.from;
    const d = new Date(line.ts), two = (n: number) => String(n).padStart(2, "0");
    const when = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${
      formatTimeWith("%H:%M:%S", line.ts)
    }`;
    const text = `${when}\t${who}\t${line.text.replaceAll("\n", "\n\t\t")}\n`;
    const prev = this.#appending.get(conv) ?? Promise.resolve();
    const next = prev.then(() => files.appendLog(conv, text)).catch((e) => {
      if (!this.#appending.has(`!${conv}`)) {
        this.#appending.set(`!${conv}`, Promise.resolve());
        const why = `Log not written to ${files.logPath(conv)}: ${(e as Error).message}`;
        this.app.later(() => this.app.state.info(b, why, "error"));
      }
    });
    this.#appending.set(conv, next);
  }

  /** Resolves once every log line so far is written (tests, quit). */
  flushed(): Promise<void> {
    return Promise.all([...this.#appending.values(), this.#saving.catch(() => {})]).then(() => {});
  }
}
