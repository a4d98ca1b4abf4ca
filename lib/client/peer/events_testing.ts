/**
 * Test helpers for peer mode: the next event of a node that `pred` accepts, or a rejection naming the
 * node after `ms`; a node on loopback with an in-memory store (`testNode`); a conversation whose
 * node has no link at all, to hand it payloads directly (`linklessConv`: its `received` takes them as
 * the node's codec does, through the history applier, and answers what that told); `dm`, a direct conversation.
 */
import type { Clock, Timers } from "../../common/clock.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import type { Applied } from "../e2e/mod.ts";
import { HistoryApplier } from "../e2e/apply.ts";
import { DmSealer } from "../e2e/dm_seal.ts";
import { PeerCodec, peerLedger, takeOpened } from "./codec.ts";
import { ChatClient } from "../core/chat_client.ts";
import type { BackendEvent, ChatMessage, Target } from "../backend.ts";
import { knownPeer } from "./keys.ts";
import type { PeerLimits } from "../../net/peer_net.ts";
import { keyChanged } from "./events.ts";
import { PeerNode } from "./node.ts";
import { PeerStore } from "./store.ts";
import { PeerSession, type SessionNode } from "./session.ts";

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
) => Promise<BackendEvent[]>;

/**
 * The conversation core of `store`'s node (named "alice", client mode's `ChatClient` over a
 * `PeerSession`), which has no link and no channel: what it writes waits in its outbox; payloads
 * are handed to `received`. `session.held` says the peer holds one of its texts.
 */
export function linklessConv(
  store: PeerStore,
  clock: Clock,
  events: BackendEvent[],
): { client: ChatClient<PeerSession>; session: PeerSession; received: Received } {
  const node: SessionNode = {
    name: "alice",
    listening: "",
    link: { receive: () => () => {}, signals: () => () => {}, close: () => Promise.resolve() } as never,
    maxFrame: 1 << 20,
    store,
    channel: () => undefined, // no peer ever connected
    writable: (peer) => knownPeer(store, peer).name,
    fingerprint: () => Promise.reject(new Error("none")),
    trust: () => Promise.reject(new Error("none")),
    inbox: () => [],
    typing: () => {},
    peers: () => [],
    files: { waitingFor: () => [], withdraw: () => false },
  };
  const session = new PeerSession(node);
  const codec = new PeerCodec({
    dm: { me: "alice" } as never, // never seals: no peer is connected
    serial: (fn) => fn(),
    bundle: () => null,
    history: undefined as never,
    keyChanged: (peer) => void events.push(keyChanged(peer)),
  }, DmSealer);
  const client = new ChatClient(session, store.local, codec, clock);
  client.on((e) => {
    if (e.type === "notice" || (e.type === "message.changed" && "by" in e)) events.push(e);
  });
  let told: BackendEvent[] = [];
  const tell = (e: Applied) => void told.push(e); // a change by its maker, a notice
  const ledger = peerLedger(store, clock, (peer, mid) => session.held(peer, mid));
  const history = new HistoryApplier("alice", ledger, store.local, clock, null, tell);
  const received: Received = async (from, mid, ts, plaintext, writes) => {
    told = [];
    const m = { seq: 0, mid, ts, from, to: { kind: "user" as const, name: "alice" }, text: "" };
    const saved = await takeOpened(history, m, plaintext, writes);
    return saved ? [{ type: "message", message: saved }, ...told] : told;
  };
  return { client, session, received };
}

/** A direct conversation with `peer`. */
export const dm = (peer: string): Target => ({ kind: "user", name: peer });

/** `n`'s text to `peer`, through its core (core/chat_client.ts `send`): answered at once, `pending` while `peer` is away. */
export const say = (
  n: PeerNode,
  peer: string,
  text: string,
  o: { replyTo?: string } = {},
): Promise<ChatMessage> => n.client.send(dm(peer), text, o);

/** Resolves with the first event of `n` from now on that `pred` accepts; rejects after `ms`. */
export function nextEvent(
  n: PeerNode,
  pred: (e: BackendEvent) => boolean,
  ms = 20_000,
): Promise<BackendEvent> {
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
