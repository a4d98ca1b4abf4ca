/**
 * The buffer list of the TUI. Plain data, no terminal.
 *
 * Contract: `BufferList` holds the status buffer (always first) then rooms and queries in opening
 * order; exactly one is active. Switching away sets that buffer's read marker after its last line;
 * switching to a buffer clears its unread and highlight counts. Closing a buffer never closes the
 * status buffer. Buffers of muted conversations are marked `muted` (`setMuted`). `onRead` hears what
 * the user read (ChatState tells it of a line arriving in view too).
 */
import { bufferKey, type BufferKind, ChatBuffer } from "./buffers.ts";

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
  /** The terminal has not the focus (`setAway`): nothing is read. */
  away = false;

  /** The muted conversations (`ChatBackend.mutes`): each buffer, and every one opened later, follows them. */
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

  /** Returns the buffer, creating it at the end of the list when needed. */
  ensure(kind: BufferKind, name: string): ChatBuffer {
    let b = this.find(kind, name);
    if (!b) {
      b = new ChatBuffer(kind, name);
      b.muted = this.#muted.has(listName(b));
      this.buffers.push(b);
    }
    return b;
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
