/**
 * The send path's decisions (issue 70.4), pure like engine.ts: which waiting message leaves next, on
 * which carrier, and when it is done. A lane is where messages go one after another in order — a peer
 * (its channel) in peer mode. Each lane keeps its queue (ids in the order written; the entries themselves
 * are rows of the folder's store, which stays the truth: a lane coming up is handed what the store holds
 * then), whether its carrier is up (a generation: each new channel or connection counts one), the one
 * message being handed to the carrier now, and those handed and not yet acknowledged. `sendStep` takes
 * the state and one `SendInput` and answers the new state and the `SendEffect`s, in order:
 * - A message leaves when its lane is up, nothing is being handed there, and fewer than `window` wait for
 *   their acknowledgement (a peer channel takes many; a window of 1 waits for each answer): `send`.
 * - Handed (`handed`): the next may go. Acknowledged (`acked`): out of the queue, `settle` it (into the
 *   history) — also one the lane does not hold (not up since a restart): the store settles what it has. Gone (`gone`: dropped by the user, failed for good): out of the queue, nothing more.
 * - The carrier went (`laneDown`): what was handed and not acknowledged goes again, with the same id, on
 *   the next generation (`laneUp`), in queue order; a hand-over of the old generation that ends later
 *   changes nothing. A hand-over that failed (`handFailed`: its carrier went, a changed key) leaves the
 *   message first in line for the next generation and stops the lane until then.
 * A lane's id is never handed twice on one generation.
 */

/** One message waiting to leave: its id, its lane, when it was written (the order of a lane). */
export interface Waiting {
  mid: string;
  lane: string;
  ts: number;
}

/** One lane: its queue, its carrier's generation (null: down), what is being handed and what waits for an ack. */
export interface Lane {
  readonly queue: readonly Waiting[];
  readonly up: number | null;
  readonly handing: string | null;
  readonly out: readonly string[];
}

export interface SendState {
  /** How many handed messages a lane may have unacknowledged. */
  readonly window: number;
  readonly lanes: Readonly<Record<string, Lane>>;
}

export type SendInput =
  /** A new message waits (written to the store already). */
  | { kind: "queued"; item: Waiting }
  /** The lane's carrier is up as generation `gen`; `waiting`: what the store holds for it now, oldest first. */
  | { kind: "laneUp"; lane: string; gen: number; waiting: readonly Waiting[] }
  | { kind: "laneDown"; lane: string; gen: number }
  /** The carrier of generation `gen` took `mid` (written, not acknowledged yet). */
  | { kind: "handed"; lane: string; mid: string; gen: number }
  /** Handing `mid` over failed: it waits for the next generation. */
  | { kind: "handFailed"; lane: string; mid: string; gen: number }
  /** The other side has `mid`. */
  | { kind: "acked"; lane: string; mid: string }
  /** `mid` will not be sent (dropped, failed for good, no longer in the store). */
  | { kind: "gone"; lane: string; mid: string };

export type SendEffect =
  /** Seal `mid` and hand it to the lane's carrier of generation `gen`; tell `handed` or `handFailed`. */
  | { kind: "send"; lane: string; mid: string; gen: number }
  /** `mid` was acknowledged: out of the outbox, into the history. */
  | { kind: "settle"; lane: string; mid: string };

export interface SendStep {
  state: SendState;
  effects: SendEffect[];
}

const EMPTY: Lane = { queue: [], up: null, handing: null, out: [] };

/** No lane yet; `window` as in `SendState`. */
export function sendInitial(window: number): SendState {
  return { window, lanes: {} };
}

/** One input: the new state and what to do. */
export function sendStep(st: SendState, input: SendInput): SendStep {
  const name = input.kind === "queued" ? input.item.lane : input.lane;
  const lane = st.lanes[name] ?? EMPTY;
  const next = laneStep(lane, input);
  if (next === null) return { state: st, effects: [] };
  const [after, effects] = pump(next.lane, name, st.window);
  return { state: { ...st, lanes: { ...st.lanes, [name]: after } }, effects: [...next.effects, ...effects] };
}

/** The lane after `input` and the effects of the input itself (null: nothing changes). */
function laneStep(l: Lane, input: SendInput): { lane: Lane; effects: SendEffect[] } | null {
  switch (input.kind) {
    case "queued":
      if (l.queue.some((w) => w.mid === input.item.mid)) return null;
      return { lane: { ...l, queue: [...l.queue, input.item] }, effects: [] };
    case "laneUp":
      return { lane: { queue: [...input.waiting], up: input.gen, handing: null, out: [] }, effects: [] };
    case "laneDown":
      if (l.up !== input.gen) return null;
      return { lane: { ...l, up: null, handing: null, out: [] }, effects: [] };
    case "handed":
      if (l.up !== input.gen || l.handing !== input.mid) return null;
      return { lane: { ...l, handing: null, out: [...l.out, input.mid] }, effects: [] };
    case "handFailed":
      if (l.up !== input.gen || l.handing !== input.mid) return null;
      return { lane: { ...l, up: null, handing: null, out: [] }, effects: [] };
    case "acked":
    case "gone": {
      if (!l.queue.some((w) => w.mid === input.mid)) {
        // Acknowledged all the same (a lane not up since a restart): the store settles what it holds.
        return input.kind === "acked"
          ? { lane: l, effects: [{ kind: "settle", lane: input.lane, mid: input.mid }] }
          : null;
      }
      const lane = {
        ...l,
        queue: l.queue.filter((w) => w.mid !== input.mid),
        out: l.out.filter((m) => m !== input.mid),
        handing: l.handing === input.mid ? null : l.handing,
      };
      const effects: SendEffect[] = input.kind === "acked"
        ? [{ kind: "settle", lane: input.lane, mid: input.mid }]
        : [];
      return { lane, effects };
    }
  }
}

/** The next message of the lane is handed over when it may be. */
function pump(l: Lane, name: string, window: number): [Lane, SendEffect[]] {
  if (l.up === null || l.handing !== null || l.out.length >= window) return [l, []];
  // Handed in queue order and taken out of the queue once acknowledged or gone, `out` is the queue's
  // first ids: the next to hand is the one after them (no search of the queue for each hand-over).
  const next = l.queue[l.out.length];
  if (!next) return [l, []];
  return [{ ...l, handing: next.mid }, [{ kind: "send", lane: name, mid: next.mid, gen: l.up }]];
}
