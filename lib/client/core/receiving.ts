/**
 * How the conversation core (`ChatClient`) receives on one connection: the driving half of the
 * receive path, whose decisions are the engine's (engine.ts, through the core's `Driver`).
 * - `openInbound`: wires a server connection's pushes and the session's `Link` (core/server_link.ts,
 *   peer/channel_link.ts) to the core: pushed frames become `BackendEvent`s in arrival order
 *   (presence, rooms and role; room changes go to the codec's `onPush`), sealed messages and signals
 *   (typing, room signals) arrive through the link and are opened in the same order — a message's
 *   receiver resolving once it is saved, as a peer channel's ack waits for —; a new connection tells
 *   the engine (`connected`).
 *   A signal the codec refuses is said as a warning naming its sender (both modes), never dropped silently.
 * - `receive`: opens one envelope through the body codec (the port the engine does not hold) and
 *   tells the engine what that gave: it saves before it tells, and says an unreadable message as an
 *   error notice naming sender and seq.
 * - `sync`: the offline queue (the engine keeps what arrives until its reply from the live path);
 *   `history`: a page of a conversation's history (before a seq: issue 68), what could not be opened counted.
 * - `ack`: what the caller has consumed, and the consumed control messages the engine lets go with it.
 */
import type { ChatMessage, HistoryPage, HistoryQuery, Target } from "../backend.ts";
import type { Frame } from "../../protocol/frame.ts";
import { UnreadableError } from "../e2e/mod.ts";
import { convOf, pushEvents, wire } from "../session/wire_events.ts";
import { envelopeOf } from "./server_link.ts";
import { decodeTyping } from "./typing.ts";
import { decodeAway } from "./away.ts";
import type { ClientHost } from "./client_host.ts";
import { HeldBack, type SealedEnvelope } from "./link.ts";
import type { Effect, Opening } from "./engine.ts";

/** What receiving keeps for one connection; a reconnect opens a fresh one. */
export interface InboundState {
  /** Everything received so far, opened in arrival order. */
  opening: Promise<unknown>;
}

/** Wires the connection's pushes and the link's messages and signals to the core; answers the state to keep. */
export function openInbound(host: ClientHost): InboundState {
  const st: InboundState = { opening: Promise.resolve() };
  void host.engine.drive({ kind: "connected" }); // the engine's feed and unread messages start afresh
  host.session.conn?.onPush((f) => onPush(host, st, f)); // a server's pushes
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

/**
 * A message from the link: the engine keeps it for the sync or has it opened now, in arrival order.
 * Resolves once it is saved; rejects with `HeldBack` when the codec held it back or it could not be
 * opened, so that a carrier acknowledging each message once its receiver resolves (a peer channel,
 * core/link.ts) does not, and brings it again later. The relay ignores the outcome (its acks are the engine's).
 */
function onMessage(host: ClientHost, st: InboundState, e: SealedEnvelope): Promise<void> {
  let taken = Promise.resolve();
  for (const f of host.engine.step({ kind: "envelope", env: e })) {
    if (f.kind !== "open") continue;
    const opened = st.opening.then(() => openAndTell(host, f.env, false));
    // A live text may be answered with the away reason (away.ts), not awaited here: it waits for this chain.
    st.opening = opened.then((o) => {
      if (o.kind === "message") host.away?.answer(o.message).catch(() => {}); // offline, no keys: nobody is told
    }).catch(() => {});
    taken = opened.then((o) => {
      if (o.kind === "held" || o.kind === "failed") throw new HeldBack(o.why);
    });
  }
  return taken;
}

/**
 * A typing event (issue 14) or another signal: opened in arrival order, never stored or acked; one the
 * codec refuses (replayed, forged, sealed for someone else) is dropped with a warning, each one.
 */
function onSignal(host: ClientHost, st: InboundState, e: SealedEnvelope): void {
  const codec = host.codec;
  if (!codec.openSignal) return;
  const m = { mid: e.mid, from: e.from, to: e.to };
  const opened = st.opening.then(() => codec.openSignal!(m, e.body)).catch((err) => {
    const text = `${e.from}: a signal that could not be opened was dropped (${(err as Error).message})`;
    host.notify({ type: "notice", level: "warn", text });
    return null;
  });
  st.opening = opened.then((p) => {
    const t = p && decodeTyping(p, m.mid);
    const away = p && !t && m.to.kind === "user" ? decodeAway(p, m.mid) : null;
    if (t) host.notify({ type: "typing", from: m.from, to: m.to, active: t.active });
    else if (away !== null) { // only one asked for: a direct text sent them lately (issue 69 A1)
      if (host.away?.expects(m.from)) host.notify({ type: "away", from: m.from, text: away });
    } // Another signal, in a room or a DM (a kind of its own, e.g. video/watch_together.ts): its plaintext.
    else if (p && m.to.kind !== "broadcast") host.notify({ type: "signal", ...m, plaintext: p });
  }).catch(() => {});
}

/** What opening an envelope needs of the core: its engine, its codec, who is logged in. */
export type OpenHost = Pick<ClientHost, "engine" | "codec" | "user">;

/**
 * Opens `e` and tells the engine what that gave (it saves, tells and keeps for the ack: engine.ts);
 * the message, or null for a control message the codec consumed, one that could not be read
 * (said as an error notice naming sender and seq, never dropped silently) or one it held back.
 */
export async function receive(
  host: OpenHost,
  e: SealedEnvelope,
  replay = false,
): Promise<ChatMessage | null> {
  const opening = await openAndTell(host, e, replay);
  return opening.kind === "message" ? opening.message : null;
}

async function openAndTell(host: OpenHost, e: SealedEnvelope, replay: boolean): Promise<Opening> {
  const opening = await open(host, e, replay);
  await host.engine.drive({ kind: "opened", env: e, replay, opening });
  return opening;
}

/** The body codec's answer for one envelope (the codec may save the message itself: `stored`). */
async function open(host: OpenHost, e: SealedEnvelope, replay: boolean): Promise<Opening> {
  const codec = host.codec;
  const head = header(e, replay);
  try {
    if (codec.receive) {
      const m = await codec.receive(head, convOf(host.user, head), e.body);
      return m === null ? { kind: "consumed" } : { kind: "message", message: m, stored: true };
    }
    const text = await codec.open(head.from, head.to, head.mid, e.body);
    return { kind: "message", message: { ...head, text }, stored: false };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (err instanceof HeldBack) return { kind: "held", why };
    return err instanceof UnreadableError ? { kind: "unreadable", why } : { kind: "failed", why };
  }
}

/** Fetches the offline queue (not acknowledged yet); live messages follow as events. */
export async function sync(host: ClientHost, st: InboundState): Promise<ChatMessage[]> {
  // Messages that arrive before the reply are the queue (the engine keeps them from the live path).
  host.engine.step({ kind: "syncStart" });
  const session = host.engine.state.session;
  let got: Effect[];
  try {
    await host.session.conn?.request("sync"); // no server: no queue
  } finally {
    got = host.engine.step({ kind: "syncEnd", session });
  }
  await st.opening;
  const out: ChatMessage[] = [];
  for (const f of got) {
    const m = f.kind === "open" ? await receive(host, f.env, f.replay) : null;
    if (m) out.push(m);
  }
  return out;
}

/**
 * A page of one conversation's history (since a time, before a seq: issue 68), oldest first, opened
 * and saved; what the server sent, its lowest seq (the next page's `before`) and how many could not be
 * opened here (each also said as an error notice, engine.ts).
 */
export async function history(
  host: ClientHost,
  _st: InboundState,
  target: Target,
  q: HistoryQuery = {},
): Promise<HistoryPage> {
  const conn = host.session.conn;
  if (!conn) throw new Error("A history page is a server's"); // peer mode reads its folder
  const r = await conn.request("history", {
    to: wire(target),
    ...(q.since !== undefined ? { since: q.since } : {}),
    ...(q.before !== undefined ? { before: q.before } : {}),
    ...(q.limit !== undefined ? { limit: q.limit } : {}),
  });
  const page: HistoryPage = { messages: [], count: r.items.length, oldest: null, unreadable: 0 };
  for (const f of r.items) {
    const e = envelopeOf(f);
    page.oldest = Math.min(page.oldest ?? e.seq, e.seq);
    const opening = await open(host, e, true);
    await host.engine.drive({ kind: "opened", env: e, replay: true, opening });
    if (opening.kind === "message") page.messages.push(opening.message);
    else if (opening.kind !== "consumed") page.unreadable++;
  }
  return page;
}

/** Acknowledges messages (and the control messages the engine lets go with them): the server drops them. */
export function ack(host: ClientHost, _st: InboundState, ms: ChatMessage[]): Promise<void> {
  return host.engine.drive({ kind: "ack", messages: ms });
}

/** A message from its envelope (text still empty). */
function header(e: SealedEnvelope, replay: boolean): ChatMessage {
  const m: ChatMessage = { seq: e.seq, mid: e.mid, ts: e.ts, from: e.from, to: e.to, text: "" };
  if (replay) m.replay = true;
  return m;
}
