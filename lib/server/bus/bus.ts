/**
 * The bus between server nodes (issue 16): what one node tells the others, live, at most once. It
 * carries no truth: messages are in the store and a node that misses a `msg` event catches up by
 * seq (lib/server/cluster.ts). `MemoryBus` joins nodes of one process (tests, one-machine demos);
 * `NatsBus` (nats_bus.ts) joins processes over NATS. Both carry only envelopes sealed under the
 * cluster key (seal.ts: encrypted, authenticated, replay-checked, schema-checked) and pass
 * bus_conformance.ts.
 */
import type { Outbound } from "../../protocol/messages.ts";
import { BusSeal, type SealOptions } from "./seal.ts";

export interface PresenceEntry {
  user: string;
  addr: string;
  since: number;
  status: string;
  role: string;
  /** The node the user is logged in on (set when this node is one of several). */
  node?: string;
}

export type BusEvent =
  /** A message was stored with this seq: read it (and any earlier missed ones) from the store. */
  | { t: "msg"; seq: number }
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
  /**
   * User-to-user streams across nodes (server/video/relay.ts): `h` goes to the local sessions of the
   * recipient (`offer`, to every node) or of the other side (`to` one node); `frame` carries a body.
   */
  | {
    t: "stream";
    op: "offer" | "answer" | "frame" | "stop";
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
  | {
    t: "link";
    op: "join" | "joined" | "msg";
    channel: string;
    user?: string;
    node?: string;
    to?: string;
    body?: string;
  };

export interface Bus {
  /** This node's id (unique per process start). */
  readonly node: string;
  /** Sends to every other node (sealed under the cluster key, seal.ts); never delivered back to this one. */
  publish(e: BusEvent): void;
  /**
   * Every event from other nodes of the same cluster key, in each sender's order, opened and
   * schema-checked; anything else on the bus (no key, another key, tampered, replayed) is dropped.
   * One handler per bus.
   */
  subscribe(fn: (from: string, e: BusEvent) => void): void;
  /** Resolves once the bus server answers a round trip (`/healthz`); absent: always reachable (in memory). */
  ping?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Nodes of one process joined in memory: delivery is asynchronous, like a network bus, and carries
 * the same sealed bytes. `inject` and `tap` are an outsider on the wire (tests).
 */
export class MemoryBusNet {
  readonly #nodes = new Set<MemoryBus>();
  readonly #taps: ((wire: Uint8Array) => void)[] = [];
  join(node: string, o: SealOptions): MemoryBus {
    const b = new MemoryBus(this, node, new BusSeal(o, "memory"));
    this.#nodes.add(b);
    return b;
  }
  send(from: MemoryBus | null, wire: Uint8Array): void {
    for (const t of this.#taps) t(wire.slice());
    for (const b of this.#nodes) if (b !== from) b.receive(wire.slice());
  }
  /** Puts raw bytes on the wire, as a publisher with no node of its own. */
  inject(wire: Uint8Array): void {
    this.send(null, wire);
  }
  /** Sees every envelope sent, as bytes. */
  tap(fn: (wire: Uint8Array) => void): void {
    this.#taps.push(fn);
  }
  leave(b: MemoryBus): void {
    this.#nodes.delete(b);
  }
}

export class MemoryBus implements Bus {
  #fn: ((from: string, e: BusEvent) => void) | null = null;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  constructor(readonly net: MemoryBusNet, readonly node: string, readonly seal: BusSeal) {}
  publish(e: BusEvent): void {
    if (!this.#closed) this.net.send(this, this.seal.seal(this.node, e));
  }
  subscribe(fn: (from: string, e: BusEvent) => void): void {
    this.#fn = fn;
  }
  receive(wire: Uint8Array): void {
    this.#queue = this.#queue.then(() => {
      if (this.#closed) return;
      const env = this.seal.open(wire);
      if (env) this.#fn?.(env.from, env.e);
    });
  }
  close(): Promise<void> {
    this.#closed = true;
    this.net.leave(this);
    return Promise.resolve();
  }
}
