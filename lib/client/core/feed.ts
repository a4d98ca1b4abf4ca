/**
 * `Feed`: the phases of one connection's message feed (issue 35.2), a small state machine with no
 * I/O. `connecting`: logged in, not synced (the server pushes no messages yet; one that came would
 * be taken as live). `syncing`: the offline queue is coming — every message that arrives before the
 * sync's reply belongs to it, live ones included (the server holds those back and sends them before
 * its reply), so the feed keeps them for the sync and they are never also told as live. `live`: each
 * message that arrives is opened and told at once. A sync may start again from `live`; a second sync
 * while one is under way is a bug (it throws).
 */
import type { SealedEnvelope } from "./link.ts";

/** Where a connection's feed is: before its first sync, collecting the queue, or following live. */
export type FeedPhase = "connecting" | "syncing" | "live";

export class Feed {
  #phase: FeedPhase = "connecting";
  #queue: SealedEnvelope[] = [];

  get phase(): FeedPhase {
    return this.#phase;
  }

  /** A message arrived: true when it is live (to be opened and told now), false when the sync keeps it. */
  take(e: SealedEnvelope): boolean {
    if (this.#phase !== "syncing") return true;
    this.#queue.push(e);
    return false;
  }

  /** A sync starts: what arrives from now until `endSync` is the queue. */
  beginSync(): void {
    if (this.#phase === "syncing") throw new Error("A sync is already under way on this connection");
    this.#phase = "syncing";
    this.#queue = [];
  }

  /** The sync's reply came (or the sync failed): live from now on; answers what arrived meanwhile, in order. */
  endSync(): SealedEnvelope[] {
    const q = this.#queue;
    this.#queue = [];
    this.#phase = "live";
    return q;
  }
}
