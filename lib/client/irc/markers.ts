/**
 * `draft/read-marker` (issue 72): how far the user read each conversation, as a time, shared by every
 * attached IRC client and the account's other devices (the backend's `read` and its "seen" events,
 * e2e/seen_sync.ts, speak seqs: the seqs and times of the last MAX_SEQS messages of each conversation
 * translate). face.ts keeps one; mapping.ts's MARKREAD reads and moves it.
 */

import type { IrcMessage } from "./codec.ts";

/** Messages per conversation whose seq and time are kept. */
const MAX_SEQS = 1000;

export class ReadMarkers {
  #marks = new Map<string, string>();
  #seqs = new Map<string, [string, number][]>();

  /** Message `seq` at `iso` in conversation `where` (its IRC name). */
  note(where: string, iso: string, seq: number): void {
    if (seq <= 0) return;
    const key = where.toLowerCase(), list = this.#seqs.get(key) ?? [];
    list.push([iso, seq]);
    list.sort((a, b) => a[1] - b[1]);
    if (list.length > MAX_SEQS) list.splice(0, list.length - MAX_SEQS);
    this.#seqs.set(key, list);
  }

  /** The marker of `where` (an ISO time), or null. */
  get(where: string): string | null {
    return this.#marks.get(where.toLowerCase()) ?? null;
  }

  /** Moves the marker forward to `iso`; false when it is there or further already (markers never go back). */
  set(where: string, iso: string): boolean {
    const key = where.toLowerCase(), now = this.#marks.get(key);
    if (now !== undefined && now >= iso) return false;
    this.#marks.set(key, iso);
    return true;
  }

  /** Every marker: conversation and time. */
  all(): [string, string][] {
    return [...this.#marks];
  }

  /** The newest seq at or before `iso` in `where`, or null. */
  seqAt(where: string, iso: string): number | null {
    const list = this.#seqs.get(where.toLowerCase()) ?? [];
    let best: number | null = null;
    for (const [t, s] of list) if (t <= iso) best = s;
    return best;
  }

  /** The time of seq `seq` (or the newest before it) in `where`, or null. */
  timeOf(where: string, seq: number): string | null {
    const list = this.#seqs.get(where.toLowerCase()) ?? [];
    let best: string | null = null;
    for (const [t, s] of list) if (s <= seq) best = t;
    return best;
  }
}

/** MARKREAD of `where` at `iso` (none: `*`), for the clients with draft/read-marker. */
export function markLine(where: string, iso: string | null): IrcMessage {
  const at = iso ? `timestamp=${iso}` : "*";
  return { tags: {}, source: "parley", command: "MARKREAD", params: [where, at], cap: "draft/read-marker" };
}
