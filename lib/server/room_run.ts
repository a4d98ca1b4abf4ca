/**
 * A run of one group commit's stored messages to the same room, fanned out together (issue 37): their
 * `msg` frames are written end to end into one buffer, which every member's session that sent none
 * of them gets as one piece (one push, and its outbox writes the piece as it is: no copy per frame),
 * instead of one frame pushed per message per member. The sessions that sent some of the run get
 * theirs one message at a time (`toSenders`), between their `ok`s, in the order they had before. A
 * session that is not live, or has seen part of the run in its sync, gets the frames one by one
 * (session.ts `deliver`). No I/O besides pushing into outboxes.
 */
import { putFrame } from "../protocol/frame_put.ts";
import { type Hub, msgText } from "./hub.ts";
import { smallFrame } from "./outbox.ts";
import type { Session } from "./session.ts";
import type { StoredMessage } from "./store/store.ts";

/** The most bytes a run's buffer may take (an outbox writes up to 256 KiB at once). */
export const RUN_BYTES = 256 * 1024;

/** A room's run fanned out by `fanOutRun`; `toSenders(k)` delivers its k-th message to the run's senders. */
export class RoomRun {
  /** How many frames were queued to the sessions that sent none of the run. */
  n = 0;
  /** The sessions of the run's senders (their own messages skipped). */
  readonly senders = new Set<Session>();

  constructor(
    readonly hub: Hub,
    readonly ms: readonly StoredMessage[],
    readonly froms: readonly (Session | null)[],
    readonly frames: readonly Uint8Array[],
  ) {
    for (const s of froms) if (s) this.senders.add(s);
  }

  /** Delivers the k-th message to the run's senders other than its own; returns how many frames were queued. */
  toSenders(k: number): number {
    const m = this.ms[k]!, frame = this.frames[k]!;
    const members = this.hub.rooms.get(m.target);
    let n = 0;
    for (const s of this.senders) {
      if (s !== this.froms[k] && members?.has(s.user)) n += s.deliver(m.seq, frame);
    }
    if (n) this.hub.metrics.delivered(n, n * frame.length);
    return n;
  }
}

/**
 * Fans out the stored rooms messages of `rows` from `i` on, as long as they go to the room of
 * `rows[i]` and fit RUN_BYTES; returns the run (its length: `ms.length`), or null when `rows[i]` is
 * not such a message (none stored, not to a room, or too big a frame: `Hub.fanOut` sends it).
 */
export function fanOutRun(
  hub: Hub,
  rows: readonly (StoredMessage | null)[],
  froms: readonly (Session | null)[],
  i: number,
): RoomRun | null {
  const first = rows[i];
  return first && first.kind === "room" ? roomRun(hub, rows, froms, i, first) : null;
}

/**
 * `fanOutRun` of a room message `first` (at `i`). Its own function: the context of its closure's
 * variables was made at entry, every DM's call too (ARCHITECTURE.md rule 9).
 */
function roomRun(
  hub: Hub,
  rows: readonly (StoredMessage | null)[],
  froms: readonly (Session | null)[],
  i: number,
  first: StoredMessage,
): RoomRun | null {
  const jsons: string[] = [];
  let most = 0;
  for (let j = i; j < rows.length; j++) {
    const r = rows[j];
    if (!r || r.kind !== "room" || r.target !== first.target) break;
    const json = msgText(r), size = smallFrame(json.length, r.body.length);
    if (!size || most + size > RUN_BYTES) break;
    jsons.push(json);
    most += size;
  }
  if (jsons.length === 0) return null;
  const ms = rows.slice(i, i + jsons.length) as StoredMessage[];
  const buf = new Uint8Array(most), frames: Uint8Array[] = [];
  let at = 0;
  for (let k = 0; k < ms.length; k++) {
    const end = putFrame(buf, at, jsons[k]!, ms[k]!.body);
    frames.push(buf.subarray(at, end));
    at = end;
  }
  const run = new RoomRun(hub, ms, froms.slice(i, i + ms.length), frames);
  const all = buf.subarray(0, at);
  let bytes = 0;
  const each = (s: Session) => {
    if (run.senders.has(s)) return;
    if (s.liveAfter(first.seq)) {
      if (s.outbox.push(all)) run.n += ms.length, bytes += at;
      return;
    }
    for (let k = 0; k < ms.length; k++) {
      const got = s.deliver(ms[k]!.seq, frames[k]!);
      run.n += got;
      bytes += got * frames[k]!.length;
    }
  };
  // (one callback for the run, no iterator per member: a paced room's commit is one run of 100)
  hub.rooms.get(first.target)?.forEach((u) => hub.eachSessionOf(u, each));
  hub.metrics.delivered(run.n, bytes);
  return run;
}
