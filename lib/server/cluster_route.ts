/**
 * Which node hears which row of a batch (issue 73, bus protocol 4), for cluster.ts. Every node says
 * with a `route` event which users have a session on it (quiet ones too) and its route epoch: how many
 * times a user came to it. A node that stored a batch sends each other node only the rows for its
 * users (a DM whose sender or recipient is there; every room and broadcast row), and the batch's other
 * seqs as ranges to step over, with the epoch it judged them by. The receiver steps over them only
 * while its epoch is still that one: a user that came since (a login during the send, its `route`
 * event not heard yet) makes it read those seqs from the store instead, so nothing is missed. A user
 * that left stays listed until the next `route` event: extra rows only. Pure: no I/O, no clock.
 */
import type { StoredMessage } from "./store/store.ts";

/** A node's share of a batch: its rows, and the other seqs as `[lo, hi]` pairs (ascending, apart). */
export interface Share {
  rows: StoredMessage[];
  skip: number[];
}

/** The rows of `rows` (sorted by seq) for a node holding `users`, and the seqs of the others as ranges. */
export function shareOf(rows: readonly StoredMessage[], users: ReadonlySet<string>): Share {
  const out: Share = { rows: [], skip: [] };
  for (const r of rows) {
    if (r.kind !== "user" || users.has(r.target) || users.has(r.sender)) {
      out.rows.push(r);
      continue;
    }
    const n = out.skip.length;
    if (n && out.skip[n - 1] === r.seq - 1) out.skip[n - 1] = r.seq;
    else out.skip.push(r.seq, r.seq);
  }
  return out;
}

/** This node's route epoch and the other nodes' users and epochs, as their `route` events said. */
export class Routes {
  /** This node's epoch: one more each time a user comes (a first session here, quiet or not). */
  ep = 0;
  readonly #nodes = new Map<string, { users: ReadonlySet<string>; ep: number }>();

  /** A user came to this node: a left-out seq judged before now is read from the store. */
  came(): void {
    this.ep++;
  }

  /** Node `node` said it holds `users` at epoch `ep`. */
  heard(node: string, ep: number, users: readonly string[]): void {
    this.#nodes.set(node, { users: new Set(users), ep });
  }

  /** `node` is gone (stopped, or not heard from): nothing is sent to it by route. */
  forget(node: string): void {
    this.#nodes.delete(node);
  }

  /** What `node` last said (none yet: it gets every row). */
  of(node: string): { users: ReadonlySet<string>; ep: number } | undefined {
    return this.#nodes.get(node);
  }
}
