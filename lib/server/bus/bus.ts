/**
 * The bus between server nodes (issue 16): what one node tells the others, live, at most once. It
 * carries no truth: messages are in the store and a node that misses a `msg` event catches up by
 * seq (lib/server/cluster.ts). `MemoryBus` joins nodes of one process (tests, one-machine demos);
 * `NatsBus` (nats_bus.ts) joins processes over NATS. Both carry only envelopes sealed under the
 * cluster key (seal.ts: encrypted, authenticated, replay-checked, schema-checked) and pass
 * bus_conformance.ts.
 */
import type { BusEvent } from "./bus_event.ts";
import { BusSeal, type SealOptions } from "./seal.ts";

export type { BusEvent, PresenceEntry } from "./bus_event.ts";

export interface Bus {
  /** This node's id (unique per process start). */
  readonly node: string;
  /** Sends to every other node (sealed under the cluster key, seal.ts); never delivered back to this one. */
  publish(e: BusEvent): void;
  /**
   * Sends to one other node only (sealed the same way; bus protocol 4: a `msg` event with that node's
   * share of a batch, cluster_route.ts). Heard by its one handler in the sender's order among the
   * sender's `publish` events. Absent: the cluster sends every event to every node.
   */
  publishTo?(node: string, e: BusEvent): void;
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
  /** `wire` to every node but `from`, or to node `to` alone. */
  send(from: MemoryBus | null, wire: Uint8Array, to?: string): void {
    for (const t of this.#taps) t(wire.slice());
    for (const b of this.#nodes) {
      if (b !== from && (to === undefined || b.node === to)) b.receive(wire.slice());
    }
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
  /**
   * Resolves once every node has handled every event sent so far, and those their handlers sent in
   * turn (a test's fence for "nothing more comes": no wall time).
   */
  async settled(): Promise<void> {
    for (;;) {
      const queues = [...this.#nodes].map((b) => b.queue);
      await Promise.all(queues);
      if ([...this.#nodes].every((b, i) => b.queue === queues[i])) return;
    }
  }
}

export class MemoryBus implements Bus {
  #fn: ((from: string, e: BusEvent) => void) | null = null;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  constructor(readonly net: MemoryBusNet, readonly node: string, readonly seal: BusSeal) {}
  /** The events received and not yet handled (MemoryBusNet.settled). */
  get queue(): Promise<void> {
    return this.#queue;
  }
  publish(e: BusEvent): void {
    if (!this.#closed) this.net.send(this, this.seal.seal(this.node, e));
  }
  publishTo(node: string, e: BusEvent): void {
    if (!this.#closed) this.net.send(this, this.seal.seal(this.node, e), node);
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
