/**
 * What one server node tells the others over the bus (`BusEvent`, and the `PresenceEntry` of a
 * presence event) and which version of it (`BUS_PROTOCOL`): the bus (bus.ts), its seal (seal.ts)
 * and its schema (bus_schema.ts) all speak it, so it stands below them. bus.ts exports these types
 * too. Types and one constant.
 */
import type { Outbound } from "../../protocol/messages.ts";

/**
 * The bus protocol this node speaks, said with its heartbeat in PostgreSQL (postgres_store.ts): 1 —
 * 0.21 and 0.22.0, which do not say it — takes a `msg` event only without rows (0.21 refuses one
 * with them); 2 (0.23.0–0.25.0) takes rows in JSON (`rows`); 3 takes them binary too (`packed`: bus_rows.ts, the
 * envelope's plaintext); 4 takes `route` events and `msg` events sent to it alone (bus.ts `publishTo`),
 * each with only the rows for its users and the seqs left out (`skip`). A node reads every older
 * shape; it sends in the shape the oldest live node takes (cluster.ts), so a rolling upgrade delivers
 * at full speed.
 */
export const BUS_PROTOCOL = 4;

export interface PresenceEntry {
  user: string;
  addr: string;
  since: number;
  status: string;
  role: string;
  /** The node the user is logged in on (set when this node is one of several). */
  node?: string;
}

/** A stored message as it travels on the bus (cluster.ts): its row with the body in base64. */
export interface BusRow {
  seq: number;
  mid: string;
  sender: string;
  kind: "user" | "room" | "broadcast";
  target: string;
  conv: string;
  ts: number;
  body: string;
  expires?: number;
}

/** A stored message as bus protocol 3 carries it (bus_rows.ts): its row, the body as bytes. */
export type PackedRow = Omit<BusRow, "body"> & { body: Uint8Array };

export type BusEvent =
  /**
   * Messages were stored up to this seq: with `rows` or `packed` (a batch small enough to carry), they
   * are those messages and a node fans them out without reading the store; without, read them from the
   * store. `packed` travels binary (seal.ts, bus_rows.ts), never beside `rows`. Sent to one node
   * (protocol 4, cluster_route.ts): `packed` holds only the rows for its users, `skip` the batch's
   * other seqs as `[lo, hi]` pairs, and `ep` the route epoch of that node they were left out by.
   */
  | {
    t: "msg";
    seq: number;
    rows?: BusRow[];
    packed?: readonly PackedRow[];
    skip?: readonly number[];
    ep?: number;
  }
  /**
   * Every user with a session on the sending node (quiet ones too), and its route epoch: how many times
   * a user came to it (protocol 4; sent on each heartbeat and on change, cluster_route.ts).
   */
  | { t: "route"; ep: number; users: string[] }
  /** End every session of `user` (or only those of one `device`) with this `bye`. */
  | { t: "kick"; user: string; code: string; reason: string; until?: number; device?: number }
  /** The node's logged-in users, sent on every heartbeat and on change; `[]` when it stops. */
  | { t: "presence"; users: PresenceEntry[]; stopping?: boolean }
  /** A user's role changed: update their sessions and tell them. */
  | { t: "role"; user: string; role: "admin" | "user"; note: string }
  /** A room changed: drop its cached members and push `h` to the local sessions of `users`. */
  | { t: "room"; room: string; users: string[]; h: Outbound }
  /** Push `h` to the local sessions of `users` (or, with no users, to every logged-in session). */
  | { t: "push"; users?: string[]; h: Outbound }
  /** `user` set their status: update their sessions here and queue the presence change for live ones. */
  | { t: "status"; user: string; status: "busy" | "free"; since: number }
  /** A name was registered. */
  | { t: "user"; user: string }
  /** `user`'s device rows changed: drop them from memory (the next read asks the store, never the event). */
  | { t: "devices"; user: string }
  /**
   * User-to-user streams across nodes (server/video/relay.ts): `h` goes to the local sessions of the
   * recipient (`offer`, to every node) or of the other side (`to` one node); `frame` carries a body.
   */
  | {
    t: "stream";
    op: "offer" | "answer" | "frame" | "stop" | "pane";
    sid: string;
    h: Outbound;
    user?: string;
    to?: string;
    accept?: boolean;
    body?: string;
  }
  /**
   * Device link channels across nodes (server/handlers_link.ts): `join` asks every node for `channel`
   * (from `user`); the node holding it answers `joined` `to` the asking node; `msg` relays a body
   * (base64) `to` the node of the other end.
   */
  /**
   * Relayed files across nodes (server/file_share.ts): `node` announces this node (its marker is in
   * its files folder: do we share it?); `changed` says a file changed here: read it again from the
   * shared folder, never from the event.
   */
  | { t: "file"; op: "node" | "changed"; fid?: string }
  /**
   * This node presents the certificate with this fingerprint to clients (cert_check.ts): said at
   * start, and once in answer to a node not heard before.
   */
  | { t: "cert"; fingerprint: string }
  | {
    t: "link";
    op: "join" | "joined" | "msg";
    channel: string;
    user?: string;
    node?: string;
    to?: string;
    body?: string;
  };
