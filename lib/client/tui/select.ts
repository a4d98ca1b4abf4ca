/**
 * Selection mode of the full-screen client (issue 39), as WeeChat/gomuks/iamb users know it: Alt+S
 * (or Ctrl+Up) highlights the newest message of the buffer; Up/Down or k/j move the highlight (the
 * view scrolls to keep it shown); r replies (the quote shows above the input line, Enter sends),
 * e edits one's own message (the input line holds its text, Enter saves), d deletes it (y/n), + or a
 * reacts (the input line holds `/react :`, Tab completes the emoji, the same reaction again takes it
 * back), / starts a command line that acts on it, h or Enter shows its earlier texts, Esc (q, Ctrl-G)
 * leaves. Other keys pass on (buffer switching, PgUp/PgDn); other letters do nothing while browsing.
 *
 * Contract: the actions run the slash commands of commands_changes.ts with the selected message as
 * the one they act on (`target(buf)`, read by the command context), so keys and commands share one
 * set of rules. `banner()` is what shows between the status line and the input line (the layout
 * gives it rows); `messagePane(app)` is the message pane's height and row measure with those rows
 * taken, which every scroll must use. No I/O: the backend is reached through the commands and the
 * `ChatBackend.changes.editsOf`.
 */
import type { AppHost } from "./app_host.ts";
import type { ChatBuffer, Line, Measure, ScrollPos } from "./buffers.ts";
import type { KeyEvent } from "../term/keys.ts";
import { layout } from "./layout.ts";
import { paneMeasure } from "./render_messages.ts";
import { textWidth } from "./width.ts";
import { firstLine } from "./chat_lines.ts";
import { historyRows } from "./select_history.ts";

export type SelectMode = "browse" | "reply" | "edit" | "react" | "command" | "delete" | "history";

/** The message pane of the current buffer as drawn now: its height and how many rows a line takes. */
export function messagePane(app: AppHost): { buf: ChatBuffer; height: number; measure: Measure } {
  const lay = layout(
    app.cols,
    app.rows,
    app.showBuffers,
    app.showMembers,
    textWidth(app.formatTime(app.clock.now())),
    app.select.banner().length,
    app.settings.look,
  );
  const buf = app.state.buffers.current;
  return { buf, height: lay.messages.height, measure: paneMeasure(buf, lay.textWidth, app.clock.now()) };
}

/** Scrolls the least needed for every row of `line` to show (its first rows when it is taller). */
export function reveal(buf: ChatBuffer, line: Line, height: number, measure: Measure): void {
  const lines = buf.lines;
  const i = lines.indexOf(line);
  if (i < 0) return;
  const bottom = buf.scroll ? lines.indexOf(buf.scroll.line) : lines.length - 1;
  const skip = buf.scroll?.skip ?? 0;
  if (bottom < 0 || i > bottom || (i === bottom && skip > 0)) return buf.scrollTo(line);
  let rows = -skip;
  for (let k = i; k <= bottom; k++) rows += measure(lines[k]!);
  if (rows <= height) return;
  // Its first row is above the view: the view's top row becomes its first row.
  let acc = 0;
  let k = i;
  for (; k < lines.length; k++) {
    acc += measure(lines[k]!);
    if (acc >= height) break;
  }
  if (k >= lines.length || (k === lines.length - 1 && acc === height)) buf.scroll = null;
  else buf.scroll = { line: lines[k]!, skip: acc - height };
}

/** Lines that can be selected: a message with an id the server confirmed, not deleted, not a setting line. */
const selectable = (l: Line) =>
  l.mid !== undefined && (l.seq ?? 0) > 0 && !l.deleted && !l.setting &&
  (l.kind === "msg" || l.kind === "own");

export class TuiSelect {
  line: Line | null = null;
  mode: SelectMode | null = null;
  #buf: ChatBuffer | null = null;
  #saved: ScrollPos | null = null;
  #history: string[] = [];

  constructor(readonly app: AppHost) {}

  /** The selected message in `buf`, which `/reply /edit /delete /react` act on; null when none. */
  target(buf: ChatBuffer): Line | null {
    return this.#valid() && this.#buf === buf ? this.line : null;
  }

  /** The line drawn highlighted in the current buffer. */
  get highlighted(): Line | null {
    return this.target(this.app.state.buffers.current);
  }

  /** Still selecting: the same buffer is shown and the line is still in it (not expired, dropped). */
  #valid(): boolean {
    if (!this.mode || !this.line) return false;
    const buf = this.app.state.buffers.current;
    if (buf !== this.#buf || !buf.lines.includes(this.line)) {
      this.#reset();
      return false;
    }
    return true;
  }

  #reset(): void {
    this.line = this.mode = this.#buf = null;
    this.#history = [];
  }

  /** Rows shown between the status line and the input line. */
  banner(): string[] {
    if (!this.#valid()) return [];
    const l = this.line!;
    const who = l.kind === "own" ? "your message" : `${l.from}'s message`;
    const quote = firstLine(l.body ?? l.text);
    switch (this.mode) {
      case "browse":
        return [
          `Selected ${who} — ↑↓ move, r reply, e edit, d delete, + react, / command, h history, Esc leave`,
        ];
      case "reply":
        return [`↪ Reply to ${l.from}: ${quote} — Enter sends, Esc cancels`];
      case "edit":
        return [`✎ Edit your message — Enter saves, Esc cancels`];
      case "react":
        return [`React to ${who}: ${quote} — :name Tab completes, Enter toggles, Esc cancels`];
      case "command":
        return [`A command on ${who}: ${quote} — /reply /edit /delete /react act on it, Esc cancels`];
      case "delete":
        return [`Delete ${who} "${quote}" for everyone? y/n`];
      case "history":
        return this.#history;
    }
    return [];
  }

  /** Handles a key of selection mode (and Alt+S / Ctrl+Up to enter it); false: not one of its keys. */
  key(ev: KeyEvent): boolean {
    const k = ev.type === "key" ? ev.key : null;
    if (!this.#valid()) {
      // Not over a playing video: its picture has the whole pane (video_view.ts), no banner rows.
      return (k === "M-s" || k === "C-Up") && !this.app.video.playing && (this.#enter(), true);
    }
    const ed = this.#buf!.editor;
    switch (this.mode) {
      case "browse":
      case "delete":
        if (ev.type === "paste") return true;
        if (ev.type === "text") {
          for (const ch of ev.text) {
            if (this.mode === "browse" || this.mode === "delete") this.#browseKey(ch);
            else if (this.mode) ed.insert(ch); // r, e, + started a reply, an edit, a reaction
          }
          return true;
        }
        return this.#browseKey(k!);
      case "history":
        this.mode = "browse";
        if (k === "Escape" || k === "Enter" || (ev.type === "text" && /^[hq]$/.test(ev.text))) return true;
        return this.key(ev);
      default:
        if (k === "Escape" || k === "C-g") {
          if (this.mode !== "reply") ed.set("");
          this.mode = "browse";
          return true;
        }
        if (k !== "Enter") return false;
        this.#submit(ed.submit());
        return true;
    }
  }

  #enter(): void {
    const buf = this.app.state.buffers.current;
    const line = buf.lines.findLast(selectable);
    if (!line) return this.app.state.info(buf, "There is no message here to select");
    this.#buf = buf;
    this.#saved = buf.scroll;
    this.line = line;
    this.mode = "browse";
    this.#show();
  }

  /** Shows the line of message `mid` in the current buffer, selected when it can be (`/goto`); false when it is not there. */
  pick(mid: string): boolean {
    const buf = this.app.state.buffers.current;
    const line = buf.lines.find((l) => l.mid === mid);
    if (!line) return false;
    if (!selectable(line)) {
      const p = messagePane(this.app);
      reveal(p.buf, line, p.height, p.measure);
      return true;
    }
    this.#buf = buf;
    this.#saved = buf.scroll;
    this.line = line;
    this.mode = "browse";
    this.#show();
    return true;
  }

  #show(): void {
    const p = messagePane(this.app);
    reveal(p.buf, this.line!, p.height, p.measure);
  }

  #move(by: number): void {
    const lines = this.#buf!.lines;
    for (let i = lines.indexOf(this.line!) + by; i >= 0 && i < lines.length; i += by) {
      if (!selectable(lines[i]!)) continue;
      this.line = lines[i]!;
      return this.#show();
    }
  }

  /** Leaves selection mode; `back` returns the view to where it was before. */
  leave(back: boolean): void {
    if (this.#buf) this.#buf.scroll = back ? this.#saved : null;
    this.#reset();
  }

  #browseKey(k: string): boolean {
    const l = this.line!;
    const st = this.app.state;
    if (this.mode === "delete") {
      if (k === "y" || k === "Y") return this.#run("/delete"), true;
      if (k === "n" || k === "N" || k === "Escape" || k === "C-g") this.mode = "browse";
      return true;
    }
    const ed = this.#buf!.editor;
    switch (k) {
      case "Up":
      case "k":
        return this.#move(-1), true;
      case "Down":
      case "j":
        return this.#move(1), true;
      case "Escape":
      case "q":
      case "C-g":
      case "C-c":
        return this.leave(true), true;
      case "r":
        this.mode = "reply";
        return true;
      case "e":
        if (l.kind !== "own") st.info(this.#buf!, "You can edit only your own messages", "error");
        else {
          this.mode = "edit";
          ed.set((l.body ?? l.text).replace(/\n/g, " "));
        }
        return true;
      case "d":
        this.mode = "delete";
        return true;
      case "/":
        this.mode = "command";
        ed.set("/");
        return true;
      case "+":
      case "a":
        this.mode = "react";
        ed.set("/react :");
        return true;
      case "h":
      case "Enter":
        return this.#showHistory(l), true;
    }
    return k.length === 1; // a letter does nothing here; other keys (Alt+1, PgUp) go on
  }

  #submit(text: string): void {
    if (!text.trim()) return;
    const mode = this.mode;
    if (mode === "edit") return this.#run(`/edit ${text}`);
    if (text.startsWith("/") || mode === "command") return this.#run(text);
    this.#run(mode === "react" ? `/react ${text}` : `/reply ${text}`);
  }

  /** Runs a command line with the selected message as its target, then leaves selection mode. */
  #run(line: string): void {
    this.app.submit(line); // the command context took the target already
    this.leave(false);
  }

  #showHistory(l: Line): void {
    const c = this.app.backend.changes;
    const buf = this.#buf!;
    if (!c) return this.app.state.info(buf, "This conversation keeps no edit history", "error");
    this.app.track(c.editsOf(l.mid!), (edits) => {
      if (this.line !== l || !this.#valid()) return;
      this.#history = historyRows(l, edits, this.app.formatTime, Math.max(2, Math.floor(this.app.rows / 3)));
      this.mode = "history";
    }, buf);
  }
}
