/**
 * The buffer list of the TUI. Plain data, no terminal.
 *
 * Contract: `BufferList` holds the status buffer (always first) then rooms and queries in the order
 * kept in the client folder (`setOrder`, `ChatBackend.local.bufferOrder`: numbers stay across restarts), a
 * new one last; `move` gives one another number (`/buffer move N`); `onOrder` hears every new order.
 * Exactly one is active. Switching away sets that buffer's read marker after its last line;
 * switching to a buffer clears its unread and highlight counts. Closing a buffer never closes the
 * status buffer. Buffers of muted conversations are marked `muted` (`setMuted`). `onRead` hears what
 * the user read (ChatState tells it of a line arriving in view too).
 */
import { bufferKey, type BufferKind, ChatBuffer, type Line } from "./buffers.ts";

/** How the mute list names buffer `b`'s conversation: "#room", the user, or "*" (the status buffer: broadcasts). */
const listName = (b: ChatBuffer): string => b.kind === "status" ? "*" : b.label;

/** The status buffer, then rooms and queries in opening order, one of them active. */
export class BufferList {
  readonly buffers: ChatBuffer[] = [new ChatBuffer("status", "status")];
  #active = 0;
  /** The muted conversations as the mute list names them ("#room", a user, "*": the status buffer). */
  #muted = new Set<string>();
  /** Told when the user reads a buffer up to a seq: on switching to it with unread lines, or a line arriving in view. */
  onRead: ((b: ChatBuffer, upTo: number) => void) | null = null;
  /** Told of the order after it changed (a buffer opened or moved), to keep it (`ChatBackend.local.bufferOrder`). */
  onOrder: ((names: string[]) => void) | null = null;
  /** Hears each line a buffer's `add` appends (app_settings.ts: a conversation's log). */
  onLine: ((buf: ChatBuffer, line: Line) => void) | null = null;
  /** The buffers' keys in order, the status buffer aside, closed ones kept in their place (they come back there). */
  #order: string[] = [];
  /** The terminal has not the focus (`setAway`): nothing is read. */
  away = false;

  /** The muted conversations (`ChatBackend.local.mutes`): each buffer, and every one opened later, follows them. */
  setMuted(names: readonly string[]): void {
    this.#muted = new Set(names);
    for (const b of this.buffers) b.muted = this.#muted.has(listName(b));
  }

  get active(): number {
    return this.#active;
  }
  get current(): ChatBuffer {
    return this.buffers[this.#active]!;
  }
  get status(): ChatBuffer {
    return this.buffers[0]!;
  }

  find(kind: BufferKind, name: string): ChatBuffer | undefined {
    const k = bufferKey(kind, name);
    return this.buffers.find((b) => b.key === k);
  }

  /** Returns the buffer, creating it when needed: in its kept place, else at the end of the list. */
  ensure(kind: BufferKind, name: string): ChatBuffer {
    let b = this.find(kind, name);
    if (!b) {
      const made: ChatBuffer = b = new ChatBuffer(kind, name, (line) => this.onLine?.(made, line));
      b.muted = this.#muted.has(listName(b));
      const known = this.#order.includes(b.key);
      if (!known) this.#order.push(b.key);
      const at = this.#rank(b.key);
      const i = this.buffers.findIndex((o, j) => j > 0 && this.#rank(o.key) > at);
      this.#insert(b, i < 0 ? this.buffers.length : i);
      if (!known) this.onOrder?.([...this.#order]);
    }
    return b;
  }

  /** Where `key` stands in the kept order. */
  #rank(key: string): number {
    return this.#order.indexOf(key);
  }

  /** Puts `b` at index `i`, the active buffer staying active. */
  #insert(b: ChatBuffer, i: number): void {
    this.buffers.splice(i, 0, b);
    if (i <= this.#active) this.#active++;
  }

  /**
   * The order kept in the client folder (`names`: buffer keys, first to last): the open buffers take
   * their places in it (the active one staying active); those it does not name follow, in their order.
   */
  setOrder(names: readonly string[]): void {
    const current = this.current;
    const open = this.buffers.slice(1).map((b) => b.key).filter((k) => !names.includes(k));
    this.#order = [...names, ...open];
    const rest = this.buffers.slice(1).sort((a, b) => this.#rank(a.key) - this.#rank(b.key));
    this.buffers.splice(1, rest.length, ...rest);
    this.#active = this.buffers.indexOf(current);
    if (open.length) this.onOrder?.([...this.#order]);
  }

  /** Gives `b` number `n` (from 2: 1 is the status buffer), the others between moving up or down; the new order kept. */
  move(b: ChatBuffer, n: number): void {
    const from = this.buffers.indexOf(b), to = Math.min(Math.max(n - 1, 1), this.buffers.length - 1);
    if (from <= 0 || from === to) return;
    const current = this.current;
    this.buffers.splice(from, 1);
    this.buffers.splice(to, 0, b);
    this.#active = this.buffers.indexOf(current);
    this.#order.splice(this.#rank(b.key), 1);
    const next = this.buffers[to + 1];
    const prev = this.buffers[to - 1]!;
    this.#order.splice(next ? this.#rank(next.key) : this.#rank(prev.key) + 1, 0, b.key);
    this.onOrder?.([...this.#order]);
  }

  switchTo(i: number): boolean {
    if (i < 0 || i >= this.buffers.length || i === this.#active) return false;
    const old = this.current;
    old.markerAfter = old.lines[old.lines.length - 1] ?? null;
    old.markerBefore = null;
    this.#active = i;
    if (!this.away) this.#read(this.current);
    return true;
  }

  /**
   * The terminal lost the focus (`away`: lines arriving in the current buffer count as unread, and
   * are not read) or got it back (the current buffer's unread lines are read now).
   */
  setAway(away: boolean): void {
    this.away = away;
    if (!away) this.#read(this.current);
  }

  /** `b` is on screen: its unread lines are read (`onRead`) and count no more. */
  #read(b: ChatBuffer): void {
    const upTo = b.unread ? b.lines.findLast((l) => l.seq)?.seq : undefined;
    if (upTo) this.onRead?.(b, upTo);
    b.unread = 0;
    b.highlights = 0;
  }

  focus(b: ChatBuffer): void {
    this.switchTo(this.buffers.indexOf(b));
  }

  next(): void {
    this.switchTo((this.#active + 1) % this.buffers.length);
  }
  prev(): void {
    this.switchTo((this.#active - 1 + this.buffers.length) % this.buffers.length);
  }

  /** Goes to the next buffer with highlights, else with unread lines (not a muted one's); false when none. */
  nextUnread(): boolean {
    const n = this.buffers.length;
    for (const want of ["hl", "unread"] as const) {
      for (let k = 1; k < n; k++) {
        const i = (this.#active + k) % n;
        const b = this.buffers[i]!;
        if (want === "hl" ? b.highlights > 0 : b.unread > 0 && !b.muted) return this.switchTo(i);
      }
    }
    return false;
  }

  close(b: ChatBuffer): void {
    const i = this.buffers.indexOf(b);
    if (i <= 0) return;
    if (i === this.#active) this.switchTo(i - 1);
    this.buffers.splice(i, 1);
    if (this.#active > i) this.#active--;
  }
}
