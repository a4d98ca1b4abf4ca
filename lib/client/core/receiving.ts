/**
 * How the conversation core (`ChatClient`) receives on one connection: functions over a small
 * per-session record (`InboundState`) the core holds, as sending.ts does for sending.
 * - `openInbound`: wires the connection's pushes and its `Link` (core/server_link.ts) to the core:
 *   pushed frames become `BackendEvent`s in arrival order (presence, rooms and role; room changes go
 *   to the codec's `onPush`), sealed messages and signals (typing, room signals) arrive through the
 *   link and are opened in the same order, messages saved before they are emitted.
 * - `receive`: opens and saves one message; a message that cannot be read is said as an error notice
 *   naming sender and seq, never dropped silently.
 * - `sync`: the offline queue (the messages that arrive until its reply: the `Feed`, feed.ts, keeps
 *   them from the live path); `history`: a conversation's history.
 * - `ack`: what the caller has consumed, and the control messages the codec consumed (room keys)
 *   with them once no unread message precedes them.
 */
import type { ChatMessage, Target } from "../backend.ts";
import type { Frame } from "../../protocol/frame.ts";
import { UnreadableError } from "../e2e/mod.ts";
import { convOf, pushEvents, wire } from "../session/wire_events.ts";
import { envelopeOf } from "./server_link.ts";
import { decodeTyping } from "./typing.ts";
import type { ClientHost } from "./client_host.ts";
import type { SealedEnvelope } from "./link.ts";
import { Feed } from "./feed.ts";

/** What receiving keeps for one connection; a reconnect opens a fresh one. */
export interface InboundState {
  /** Everything received so far, opened in arrival order. */
  opening: Promise<unknown>;
  /** Connecting, syncing or live: where an arriving message goes (feed.ts). */
  readonly feed: Feed;
  /** Chat messages handed out and not acknowledged yet, by conversation. */
  readonly unacked: Map<string, number[]>;
  /** Control messages consumed by the codec, acknowledged with the next `ack`. */
  control: { conv: string; seq: number }[];
}

/** Wires the connection's pushes and the link's messages and signals to the core; answers the state to keep. */
export function openInbound(host: ClientHost): InboundState {
  const st: InboundState = { opening: Promise.resolve(), feed: new Feed(), unacked: new Map(), control: [] };
  host.conn.onPush((f) => onPush(host, st, f));
  // Sealed messages and signals come through the link, read in step with the pushes above.
  host.link.receive((e) => onMessage(host, st, e));
  host.link.signals((e) => onSignal(host, st, e));
  return st;
}

function onPush(host: ClientHost, st: InboundState, f: Frame): void {
  const h = f.header;
  switch (h.t) {
    case "msg":
    case "ephemeral":
      return; // through the link: onMessage, onSignal
    case "role":
      if (h.role === "admin" || h.role === "user") {
        host.role = h.role;
        host.notify({ type: "role", role: h.role });
      }
      return;
    default: {
      for (const e of pushEvents(h)) host.notify(e);
    }
  }
  const codec = host.codec;
  if (codec.onPush) {
    st.opening = st.opening.then(() => codec.onPush!(h)).catch((e) =>
      host.notify({
        type: "notice",
        level: "warn",
        text: `Encryption: ${e instanceof Error ? e.message : e}`,
      })
    );
  }
}

/** A message from the link: the sync's while it collects the queue, else live, opened in arrival order. */
function onMessage(host: ClientHost, st: InboundState, e: SealedEnvelope): void {
  if (!st.feed.take(e)) return;
  st.opening = st.opening.then(() => receive(host, st, e)).then((m) => {
    if (m) host.notify({ type: "message", message: m });
  }).catch(() => {});
}

/** A typing event (issue 14) or another room signal: opened in arrival order, never stored or acked. */
function onSignal(host: ClientHost, st: InboundState, e: SealedEnvelope): void {
  const codec = host.codec;
  if (!codec.openSignal) return;
  const m = { mid: e.mid, from: e.from, to: e.to };
  st.opening = st.opening.then(() => codec.openSignal!(m, e.body)).then((p) => {
    const t = p && decodeTyping(p, m.mid);
    if (t) host.notify({ type: "typing", from: m.from, to: m.to, active: t.active });
    // Another signal, in a room or a DM (a kind of its own, e.g. video/watch_together.ts): its plaintext.
    else if (p && m.to.kind !== "broadcast") host.notify({ type: "signal", ...m, plaintext: p });
  }).catch(() => {});
}

/**
 * Opens, saves and returns a message; null for a control message the codec consumed or for one
 * that could not be read (reported as an error notice naming sender and seq, never dropped silently).
 */
export async function receive(
  host: ClientHost,
  st: InboundState,
  e: SealedEnvelope,
  replay = false,
): Promise<ChatMessage | null> {
  const codec = host.codec;
  const head = header(e, replay);
  const conv = convOf(host.user, head);
  try {
    if (codec.receive) {
      const m = await codec.receive(head, conv, e.body);
      if (m === null) st.control.push({ conv, seq: e.seq });
      else track(host, st, m);
      return m;
    }
    const m = { ...head, text: await codec.open(head.from, head.to, head.mid, e.body) };
    host.store?.save([m]);
    track(host, st, m);
    return m;
  } catch (err) {
    // Never readable: acknowledged with the consumed control messages, so it is not redelivered.
    if (err instanceof UnreadableError) st.control.push({ conv, seq: e.seq });
    host.notify({
      type: "notice",
      level: "error",
      text: `Could not read message ${e.seq} from ${e.from}: ${err instanceof Error ? err.message : err}`,
    });
    return null;
  }
}

function track(host: ClientHost, st: InboundState, m: ChatMessage): void {
  const conv = convOf(host.user, m);
  const l = st.unacked.get(conv) ?? [];
  l.push(m.seq);
  st.unacked.set(conv, l);
}

/** Fetches the offline queue (not acknowledged yet); live messages follow as events. */
export async function sync(host: ClientHost, st: InboundState): Promise<ChatMessage[]> {
  // Messages that arrive before the reply are the queue (the feed keeps them from the live path).
  st.feed.beginSync();
  let got: SealedEnvelope[];
  try {
    await host.conn.request("sync");
  } finally {
    got = st.feed.endSync();
  }
  await st.opening;
  const out: ChatMessage[] = [];
  for (const e of got) {
    const m = await receive(host, st, e, true);
    if (m) out.push(m);
  }
  return out;
}

/** History of one conversation since a time (ms since epoch), oldest first, opened and saved. */
export async function history(
  host: ClientHost,
  st: InboundState,
  target: Target,
  since?: number,
): Promise<ChatMessage[]> {
  const r = await host.conn.request("history", {
    to: wire(target),
    ...(since !== undefined ? { since } : {}),
  });
  const out: ChatMessage[] = [];
  for (const f of r.items) {
    const m = await receive(host, st, envelopeOf(f), true);
    if (m) out.push(m);
  }
  return out;
}

/** Acknowledges messages: the server drops them from this user's queue. */
export async function ack(host: ClientHost, st: InboundState, ms: ChatMessage[]): Promise<void> {
  const max = new Map<string, number>();
  for (const m of ms) {
    const conv = convOf(host.user, m);
    max.set(conv, Math.max(max.get(conv) ?? 0, m.seq));
  }
  for (const [conv, seq] of max) {
    st.unacked.set(conv, (st.unacked.get(conv) ?? []).filter((x) => x > seq));
  }
  // Consumed control messages (room keys) are acknowledged once no unread message precedes them.
  const keep: { conv: string; seq: number }[] = [];
  for (const c of st.control) {
    const first = Math.min(...(st.unacked.get(c.conv) ?? []));
    if (c.seq < first) max.set(c.conv, Math.max(max.get(c.conv) ?? 0, c.seq));
    else keep.push(c);
  }
  st.control = keep;
  if (max.size === 0) return;
  await host.conn.request("ack", { acks: [...max].map(([conv, seq]) => ({ conv, seq })) });
}

/** A message from its envelope (text still empty). */
function header(e: SealedEnvelope, replay: boolean): ChatMessage {
  const m: ChatMessage = { seq: e.seq, mid: e.mid, ts: e.ts, from: e.from, to: e.to, text: "" };
  if (replay) m.replay = true;
  return m;
}
