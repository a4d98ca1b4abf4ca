/**
 * Test helpers for peer mode: the next event of a node that `pred` accepts, or a rejection naming the
 * node after `ms`; a node on loopback with an in-memory store (`testNode`); a conversation whose
 * node has no link at all, to hand it payloads directly (`linklessConv`: its `received` takes them as
 * the node's codec does, through the history applier, and answers what that told).
 */
import type { Clock, Timers } from "../../common/clock.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import { type Applied, HistoryApplier } from "../e2e/mod.ts";
import { peerEvent, peerLedger, takeOpened } from "./codec.ts";
import { PeerConv } from "./conv.ts";
import type { PeerLimits } from "../../net/peer_net.ts";
import type { PeerEvent } from "./events.ts";
import { PeerNode } from "./node.ts";
import { PeerOutbox } from "./outbox.ts";
import { PeerStore } from "./store.ts";
import { PeerSession } from "./session.ts";

/**
 * A node named `name` on 127.0.0.1 (a free port), its store in memory; `out`: its downloads folder;
 * `limits`: its channels' caps and rates.
 */
export async function testNode(
  name: string,
  o: { clock?: Clock; timers?: Timers; out?: string; limits?: PeerLimits } = {},
): Promise<PeerNode> {
  return await PeerNode.start({
    name,
    store: await PeerStore.open(null, name),
    hostname: "127.0.0.1",
    port: 0,
    backoff: { minMs: 50, maxMs: 400 },
    ...(o.out !== undefined ? { downloads: o.out } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.timers ? { timers: o.timers } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
  });
}

/** A payload of `from`'s (id `mid`, sent at `ts`) opened with the ratchet writes `writes`: the events it makes. */
type Received = (
  from: string,
  mid: string,
  ts: number,
  plaintext: Uint8Array,
  writes: StoreWrites,
) => Promise<PeerEvent[]>;

/** The conversation of `store`'s node (named "alice"), which has no link: payloads are handed to `received`. */
export function linklessConv(
  store: PeerStore,
  clock: Clock,
  events: PeerEvent[],
): PeerConv & { received: Received } {
  const node = { name: "alice", listening: "", link: undefined as never, maxFrame: 1 << 20, store };
  const core = {
    me: "alice",
    session: new PeerSession({ ...node, channel: () => undefined }), // no peer ever connected
    store,
    dm: undefined as never,
    clock,
    serial: <T>(fn: () => Promise<T>) => fn(),
    link: () => undefined,
    carrier: undefined as never,
    codec: undefined as never,
    emit: (e: PeerEvent) => events.push(e),
  };
  const conv = new PeerConv(new PeerOutbox(core));
  let told: PeerEvent[] = [];
  const tell = (e: Applied) => {
    const pe = peerEvent(e);
    if (pe) told.push(pe);
  };
  const ledger = peerLedger(store, clock, (peer, mid) => conv.out.acked(peer, mid));
  const history = new HistoryApplier("alice", ledger, store.local, clock, null, tell);
  const received: Received = async (from, mid, ts, plaintext, writes) => {
    told = [];
    const m = { seq: 0, mid, ts, from, to: { kind: "user" as const, name: "alice" }, text: "" };
    const saved = await takeOpened(history, m, plaintext, writes);
    return saved ? [{ type: "message", message: saved }, ...told] : told;
  };
  return Object.assign(conv, { received });
}

/** Resolves with the first event of `n` from now on that `pred` accepts; rejects after `ms`. */
export function nextEvent(n: PeerNode, pred: (e: PeerEvent) => boolean, ms = 20_000): Promise<PeerEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`${n.name}: timed out waiting`));
    }, ms);
    const off = n.on((e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      off();
      resolve(e);
    });
  });
}
