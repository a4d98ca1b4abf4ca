/**
 * Each buffer's scrollback (the list of buffers is buffer_list.ts). Plain data, no terminal.
 *
 * Contract:
 * - `ChatBuffer.add` appends a line (dropping a message whose sender and `mid` are already there —
 *   ids are per sender, issue 69 N2; a pending one of the same `mid` is marked sent instead), counts it as unread (and highlight) when the
 *   buffer is not active, and keeps at most `MAX_LINES` lines. `addHistory` merges older messages in
 *   time order; `addUnseen` adds what arrived while away behind the read marker (`shown` hears both).
 * - The scroll position is a reference to the line at the bottom of the view plus how many of its
 *   rows are hidden below, so new lines arriving never move what the user is reading; `null` means
 *   "follow the newest line". Row counts come from a `measure` callback (wrapping is the renderer's).
 * - `search` finds the newest line before a given one whose nick or text contains the query.
 */
import type { Target } from "../backend.ts";
import { LineEditor } from "./editor.ts";

export const MAX_LINES = 20000;
const msgKey = (l: Line, mid = l.mid) => `${l.from} ${mid}`; // a message: its sender and id

export type LineKind = "msg" | "own" | "info" | "error" | "broadcast";

export interface Line {
  ts: number;
  from: string;
  /** Sanitised text (may hold `\n`). */
  text: string;
  kind: LineKind;
  highlight: boolean;
  mid?: string;
  seq?: number;
  /** One's own text waiting in the outbox (drawn with a marker until the server confirms it). */
  pending?: boolean;
  /** One's own text the server can never take (drawn with "✗"; `/outbox drop N` removes it). */
  failed?: boolean;
  /** Deleted for everyone (issue 39.3): drawn as "message deleted". */
  deleted?: boolean;
  /** A conversation's setting line (its disappearing time, a topic): no text to reply to, edit or react to. */
  setting?: boolean;
  /** A room topic's setting line as it came: the new topic ("" cleared), which the buffer takes. */
  topic?: string;
  /** An action ("/me waves", core/action.ts): drawn "* alice waves", its `body` the text with the marker. */
  action?: boolean;
  /** The id of the message this line answers (its quote is drawn again when that message changes). */
  replyTo?: string;
  /** That message's sender, when the reply names it (issue 69 N2: a quote is by sender and id). */
  replyBy?: string;
  /** The message's own text when `text` shows more (a quote, "(edited)", reactions): what `e` edits. */
  body?: string;
  /** Cells every row after the first is indented by (`/help`'s rows: width.ts `wrap`). */
  hang?: number;
  /** A picture shown under the text (picture_view.ts): this many blank rows are kept for it. */
  picture?: { rows: number };
  /** Render cache: the day it was written ("2026-11-27", local time), for the day rows. */
  day?: string;
  /** Render cache: width the rows were wrapped for, and the rows. */
  cacheWidth?: number;
  cacheRows?: string[];
}

export interface ScrollPos {
  line: Line;
  skip: number;
}

export type BufferKind = "status" | "room" | "dm";
/** Rows a line takes in the message pane. */
export type Measure = (line: Line) => number;

export function bufferKey(kind: BufferKind, name: string): string {
  return kind === "status" ? "status" : (kind === "room" ? "#" : "@") + name;
}

/** A line that counts as unread when it arrives out of view: a message of someone else, or a highlight. */
export const countsUnread = (l: Line): boolean => l.kind === "msg" || l.kind === "broadcast" || l.highlight;

export class ChatBuffer {
  readonly key: string;
  lines: Line[] = [];
  unread = 0;
  highlights = 0;
  /** Muted (`/mute`): its lines raise no highlight, bell or notification, and it is drawn dim. */
  muted = false;
  /** A room's topic ("" none), for the title bar: the start's load, then each topic line added. */
  topic = "";
  /** A conversation's peer's away reason as they last told it (`/whois` says it), until they are free or offline. */
  away: { text: string; at: number } | null = null;
  markerAfter: Line | null = null;
  markerBefore: Line | null = null; // instead of `markerAfter` when the first unread line is the first
  scroll: ScrollPos | null = null;
  readonly editor = new LineEditor();
  speakers: string[] = []; // nicks that spoke here, most recent first
  #mids = new Set<string>();

  /** `shown`: told each line `add` appends (a conversation's log, app_settings.ts). */
  constructor(readonly kind: BufferKind, readonly name: string, readonly shown?: (line: Line) => void) {
    this.key = bufferKey(kind, name);
  }

  get target(): Target | null {
    if (this.kind === "status") return null;
    return { kind: this.kind === "room" ? "room" : "user", name: this.name };
  }

  get label(): string {
    return this.kind === "room" ? "#" + this.name : this.name;
  }

  #note(line: Line): boolean {
    if (line.mid !== undefined) {
      if (this.#mids.has(msgKey(line))) {
        if (!line.pending) this.#confirm(line);
        return false;
      }
      this.#mids.add(msgKey(line));
    }
    if (line.topic !== undefined) this.topic = line.topic;
    if (line.kind === "msg" || line.kind === "own") {
      const i = this.speakers.indexOf(line.from);
      if (i >= 0) this.speakers.splice(i, 1);
      this.speakers.unshift(line.from);
      if (this.speakers.length > 200) this.speakers.length = 200;
    }
    return true;
  }

  /** A pending line was sent (or failed for good): the same line, without its marker (or with "✗"). */
  #confirm(sent: Line): void {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const l = this.lines[i]!;
      if (l.mid !== sent.mid || l.from !== sent.from) continue;
      if (l.pending) {
        l.pending = false;
        if (sent.failed) l.failed = true;
        else if (sent.seq !== undefined) l.seq = sent.seq;
        l.cacheWidth = undefined;
      }
      return;
    }
  }

  /** Takes every line off (`/clear`): messages loaded again (`/history`) show as new lines. */
  clear(): void {
    this.lines = [];
    this.#mids.clear();
    this.unread = this.highlights = 0;
    this.markerAfter = this.markerBefore = null;
    this.scroll = null;
  }

  /** Removes the line of message `mid` (an outbox entry the user dropped); true when there was one. */
  removeMessage(mid: string): boolean {
    const i = this.lines.findIndex((l) => l.mid === mid);
    if (i < 0) return false;
    const [l] = this.lines.splice(i, 1);
    this.#mids.delete(msgKey(l!, mid));
    if (this.scroll?.line === l) this.scroll = null;
    if (this.markerAfter === l) this.markerAfter = this.lines[i - 1] ?? null;
    if (this.markerBefore === l) this.markerBefore = this.lines[i] ?? null;
    return true;
  }

  /**
   * Another device of the user showed this conversation up to `seq` (e2e/seen_sync.ts): of the lines
   * counted unread (the last ones that count), those up to it count no more.
   */
  seenUpTo(seq: number): void {
    let unread = 0, highlights = 0, left = this.unread;
    for (let i = this.lines.length - 1; i >= 0 && left > 0; i--) {
      const l = this.lines[i]!;
      if (!countsUnread(l)) continue;
      left--;
      if ((l.seq ?? 0) <= seq && l.seq !== undefined) continue;
      unread++;
      if (l.highlight) highlights++;
    }
    this.unread = unread;
    this.highlights = Math.min(highlights, this.highlights);
  }

  /** Appends a line; returns false for a duplicate message (a pending one is marked sent). */
  add(line: Line, active: boolean): boolean {
    if (!this.#note(line)) return false;
    this.lines.push(line);
    this.shown?.(line);
    if (!active && countsUnread(line)) {
      this.unread++;
      if (line.highlight) this.highlights++;
    }
    this.#trim();
    return true;
  }

  /** Merges history lines (any order) by time; returns how many were new (with `tell`, each told to `shown`). */
  addHistory(lines: Line[], tell = false): number {
    const fresh = lines.filter((l) => this.#note(l));
    if (tell) fresh.forEach((l) => this.shown?.(l));
    if (!fresh.length) return 0;
    this.lines = this.lines.concat(fresh);
    this.lines.sort((a, b) => a.ts - b.ts || (a.seq ?? 0) - (b.seq ?? 0));
    this.#trim();
    return fresh.length;
  }

  /** Adds messages that arrived while away: the read marker goes before them, all count as unread. */
  addUnseen(lines: Line[], active: boolean): number {
    const before = this.lines[this.lines.length - 1] ?? null;
    const n = this.addHistory(lines, true); // new here: a log hears them (app_settings.ts)
    if (!n) return 0;
    const first = lines.reduce((a, l) => (l.ts < a.ts ? l : a));
    const i = this.lines.indexOf(first);
    this.markerAfter = i > 0 ? this.lines[i - 1]! : before;
    this.markerBefore = i === 0 ? first : null;
    if (!active) {
      this.unread += n;
      this.highlights += lines.filter((l) => l.highlight).length;
    }
    return n;
  }

  #trim(): void {
    if (this.lines.length <= MAX_LINES + 1000) return;
    const gone = this.lines.splice(0, this.lines.length - MAX_LINES);
    for (const l of gone) if (l.mid) this.#mids.delete(msgKey(l));
  }

  /** Index of the line at the bottom of the view. */
  #bottom(): { idx: number; skip: number } {
    if (!this.scroll) return { idx: this.lines.length - 1, skip: 0 };
    const idx = this.lines.indexOf(this.scroll.line);
    return idx < 0 ? { idx: 0, skip: 0 } : { idx, skip: this.scroll.skip };
  }

  /** Moves the view `n` rows towards older lines; `height` is the pane height. */
  scrollUp(n: number, height: number, measure: Measure): void {
    if (!this.lines.length) return;
    let { idx, skip } = this.#bottom();
    skip += n;
    while (idx > 0 && skip >= measure(this.lines[idx]!)) {
      skip -= measure(this.lines[idx]!);
      idx--;
    }
    // Never past the point where the first line is at the top of the view.
    let total = 0;
    let b = 0;
    for (; b < this.lines.length; b++) {
      total += measure(this.lines[b]!);
      if (total >= height) break;
    }
    if (total < height) {
      this.scroll = null;
      return;
    }
    const minSkip = total - height;
    if (idx < b || (idx === b && skip > minSkip)) {
      idx = b;
      skip = minSkip;
    }
    this.scroll = { line: this.lines[idx]!, skip };
  }

  /** Moves the view `n` rows towards newer lines; reaching the end follows new lines again. */
  scrollDown(n: number, measure: Measure): void {
    if (!this.scroll) return;
    let { idx, skip } = this.#bottom();
    skip -= n;
    while (skip < 0) {
      idx++;
      if (idx >= this.lines.length) {
        this.scroll = null;
        return;
      }
      skip += measure(this.lines[idx]!);
    }
    this.scroll = idx === this.lines.length - 1 && skip === 0 ? null : { line: this.lines[idx]!, skip };
  }

  /** Puts `line` at the bottom of the view. */
  scrollTo(line: Line): void {
    this.scroll = line === this.lines[this.lines.length - 1] ? null : { line, skip: 0 };
  }

  /** Lines below the view (for the -MORE- indicator). */
  linesBelow(): number {
    if (!this.scroll) return 0;
    const idx = this.lines.indexOf(this.scroll.line);
    return idx < 0 ? this.lines.length : this.lines.length - 1 - idx;
  }

  /** Newest line older than `before` (or anywhere, when null) that matches `query`. */
  search(query: string, before: Line | null): Line | null {
    const q = query.toLowerCase();
    if (!q) return null;
    let i = before ? this.lines.indexOf(before) - 1 : this.lines.length - 1;
    for (; i >= 0; i--) {
      const l = this.lines[i]!;
      if (l.text.toLowerCase().includes(q) || l.from.toLowerCase().includes(q)) return l;
    }
    return null;
  }
}
