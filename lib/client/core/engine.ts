/**
 * The conversation engine (issue 35.2): the decisions of the conversation core as a state machine
 * with no I/O — no promises, no clock reads (times come in the inputs), no store, no link. `step`
 * takes the current `EngineState` and one `Input` and answers the new state and the `Effect`s to
 * carry out, in order; driver.ts carries them out (the link, the connection, the local store, the
 * timer) and feeds what comes back in as further inputs.
 * - The feed's phases: `connecting` (logged in, not synced: a message that comes is live),
 *   `syncing` (every message that arrives before the sync's reply is the offline queue, live ones
 *   included, kept for the sync and never also told as live), `live` (each one opened and told at
 *   once). A second sync while one is under way is a bug (it throws).
 * - Opening is a port, not a decision: an `open` effect asks the driver to open a sealed envelope
 *   through the body codec (async, keyed state of its own: e2e/), in arrival order; its outcome
 *   comes back as `opened`. A readable message is saved before it is told (`save`, unless the codec
 *   stored it), a control message the codec consumed (a room key) waits to be acknowledged, an
 *   unreadable one is said as an error notice naming sender and seq and acknowledged like a
 *   consumed one (never redelivered, never dropped silently). One the codec holds back (`held`: a
 *   peer's changed key waits for trust) changes nothing: its carrier brings it again later.
 * - What a carrier acknowledges itself (a peer channel's envelope, seq 0: acknowledged once its
 *   receiver saved it) is never kept for the engine's acknowledgements; the rest of its walk (open,
 *   save before tell) is the same in both modes.
 * - Acknowledgements: what the caller consumed, and with it each consumed control message of a
 *   conversation once no unread message of it precedes it (acknowledging it earlier would drop that
 *   message from the server's queue). While a UI follows the feed, what it was handed waits in a
 *   batch acknowledged every `ACK_EVERY_MS` (`tick`; a batch the server did not take goes back in
 *   front); the same tick purges disappearing messages. A new connection starts afresh: what the old
 *   one handed out is redelivered by the server.
 * - Shown once (issue 74): while a UI follows, every message handed to it is remembered (`shown`,
 *   across connections) until the server confirms its acknowledgement (`acked`). One the server hands
 *   again under the same seq — after a reconnect, a failover to another node — is not opened, saved
 *   nor told again; it only goes with the next acknowledgement. The one home of that rule.
 * - Events: while a UI follows, a lost connection reconnects instead of being told; after catching
 *   up, the outbox is sent again in order with the same mids (`resend`). The outbox's own rules
 *   (drop on the answer, failed after `POISON_DROPS`, one-shot or kept) are engine_outbox.ts.
 */
import type { BackendEvent, ChatMessage } from "../backend.ts";
import { convOf } from "../session/wire_events.ts";
import type { SealedEnvelope } from "./link.ts";
import { Run } from "./run.ts";

/** How often a following UI's acknowledgements go out (and disappearing messages are purged). */
export const ACK_EVERY_MS = 500;

/** Where a connection's feed is: before its first sync, collecting the queue, or following live. */
export type FeedPhase = "connecting" | "syncing" | "live";

/** A message of a conversation, as the server's acknowledgements name it. */
export interface Seen {
  conv: string;
  seq: number;
}

type Disconnected = Extract<BackendEvent, { type: "disconnected" }>;

/** What the engine keeps: per connection (the feed, what is unread) and across them (the batch). */
export interface EngineState {
  /** Who is logged in (conversation keys are theirs). */
  readonly me: string;
  /** A UI follows the feed: handed messages are batched, a loss reconnects. */
  readonly following: boolean;
  /** The acknowledgement tick runs. */
  readonly ticking: boolean;
  /** Which session is current (counted by `connected`): a reply of an older one changes nothing. */
  readonly session: number;
  readonly phase: FeedPhase;
  /** Messages that arrived while syncing, in order. */
  readonly queue: Run<SealedEnvelope>;
  /** Chat messages handed out and not acknowledged yet, by conversation. */
  readonly unacked: Readonly<Record<string, Run<number>>>;
  /** Control messages consumed (or unreadable), acknowledged once nothing unread precedes them. */
  readonly control: readonly Seen[];
  /** Handed to a following UI, acknowledged at the next tick. */
  readonly batch: Run<ChatMessage>;
  /** Seqs handed to a following UI whose acknowledgement the server has not confirmed, by conversation, ascending; kept across connections. */
  readonly shown: Readonly<Record<string, Run<number>>>;
}

/** What opening one envelope gave (the codec's answer, told back by the driver). */
export type Opening =
  | { kind: "message"; message: ChatMessage; /** the codec saved it already */ stored: boolean }
  | { kind: "consumed" }
  | { kind: "unreadable"; why: string }
  | { kind: "failed"; why: string }
  /** The codec cannot take it now (a changed key waits for trust): nothing told, not acknowledged. */
  | { kind: "held"; why: string };

export type Input =
  /** A session became current (the first, or a reconnect's). */
  | { kind: "connected" }
  /** A UI starts following the feed. */
  | { kind: "follow"; now: number }
  /** A sealed message arrived on the link. */
  | { kind: "envelope"; env: SealedEnvelope }
  | { kind: "syncStart" }
  /** The sync of `session` got its reply, or failed. */
  | { kind: "syncEnd"; session: number }
  | { kind: "opened"; env: SealedEnvelope; replay: boolean; opening: Opening }
  /** Caught up after a sync: `tell` the queued messages as events (else the caller shows them). */
  | { kind: "caughtUp"; messages: readonly ChatMessage[]; tell: boolean }
  /** The caller consumed these messages. */
  | { kind: "ack"; messages: readonly ChatMessage[] }
  /** The tick: `connOpen` whether the current connection can carry an ack. */
  | { kind: "tick"; now: number; connOpen: boolean }
  | { kind: "ackFailed"; messages: readonly ChatMessage[] }
  /** The server took these acknowledgements. */
  | { kind: "acked"; acks: readonly Seen[] }
  /** An event of the core's parts or the codec. */
  | { kind: "event"; event: BackendEvent }
  /** The user sends a text: `online` whether the connection is up, `kept` whether an outbox exists. */
  | { kind: "sendRequest"; online: boolean; hasOutbox: boolean }
  | { kind: "close"; connOpen: boolean };

export type Effect =
  | { kind: "emit"; event: BackendEvent }
  | { kind: "reconnect"; event: Disconnected }
  | { kind: "open"; env: SealedEnvelope; replay: boolean }
  | { kind: "save"; message: ChatMessage }
  /** Acknowledge `acks`; `batch`: put back with `ackFailed` when the server did not take them. */
  | { kind: "ack"; acks: Seen[]; batch: readonly ChatMessage[] }
  | { kind: "schedule"; everyMs: number }
  | { kind: "unschedule" }
  | { kind: "purge"; now: number }
  /** Send the outbox again, in order, with the same mids. */
  | { kind: "resend" }
  /** How a text goes: one-shot (dropped once answered), kept (sent now, kept until taken), queued (offline). */
  | { kind: "send"; mode: "one-shot" | "kept" | "queued" };

export interface Step {
  state: EngineState;
  effects: Effect[];
}

/** The state before any session: nobody follows, nothing unread. */
export function initial(me: string): EngineState {
  return {
    me,
    following: false,
    ticking: false,
    session: 0,
    phase: "connecting",
    queue: Run.empty(),
    unacked: {},
    control: [],
    batch: Run.empty(),
    shown: {},
  };
}

/** One input: the new state and what to do, in order. */
export function step(st: EngineState, input: Input): Step {
  switch (input.kind) {
    case "connected": {
      const fresh = { phase: "connecting", unacked: {}, control: [] } as const;
      const runs = { queue: Run.empty<SealedEnvelope>(), batch: Run.empty<ChatMessage>() };
      return { state: { ...st, ...fresh, ...runs, session: st.session + 1 }, effects: [] };
    }
    case "follow": {
      const effects: Effect[] = st.ticking ? [] : [{ kind: "schedule", everyMs: ACK_EVERY_MS }];
      effects.push({ kind: "purge", now: input.now }); // what ran out of time while away goes first
      return { state: { ...st, following: true, ticking: true }, effects };
    }
    case "envelope":
      if (st.phase === "syncing") return { state: { ...st, queue: st.queue.with(input.env) }, effects: [] };
      if (wasShown(st, input.env)) return { state: handedAgain(st, input.env), effects: [] };
      return { state: st, effects: [{ kind: "open", env: input.env, replay: false }] };
    case "syncStart":
      if (st.phase === "syncing") throw new Error("A sync is already under way on this connection");
      return { state: { ...st, phase: "syncing", queue: Run.empty() }, effects: [] };
    case "syncEnd": {
      if (input.session !== st.session) return { state: st, effects: [] };
      let next: EngineState = { ...st, phase: "live", queue: Run.empty() };
      const effects: Effect[] = [];
      for (const env of st.queue.items()) {
        if (wasShown(st, env)) next = handedAgain(next, env);
        else effects.push({ kind: "open", env, replay: true });
      }
      return { state: next, effects };
    }
    case "opened":
      return opened(st, input.env, input.replay, input.opening);
    case "caughtUp": {
      const told: Effect[] = input.tell
        ? input.messages.map((message) => ({ kind: "emit", event: { type: "message", message } }))
        : [];
      const batch = st.following ? input.messages.reduce((b, m) => b.with(m), st.batch) : st.batch;
      const shown = input.messages.reduce((s, m) => showing(s, st, m), st.shown);
      return { state: { ...st, batch, shown }, effects: [...told, { kind: "resend" }] };
    }
    case "ack":
      return acknowledge(st, input.messages, []);
    case "tick": {
      const sent = input.connOpen && st.batch.length
        ? acknowledge({ ...st, batch: Run.empty() }, st.batch.items(), st.batch.items())
        : null;
      const effects = [...(sent?.effects ?? []), { kind: "purge", now: input.now } as const];
      return { state: sent?.state ?? st, effects };
    }
    case "ackFailed":
      return { state: { ...st, batch: Run.of([...input.messages, ...st.batch.items()]) }, effects: [] };
    case "acked":
      return { state: acked(st, input.acks), effects: [] };
    case "event":
      return told(st, input.event);
    case "sendRequest": {
      const mode = !st.following || !input.hasOutbox ? "one-shot" : input.online ? "kept" : "queued";
      return { state: st, effects: [{ kind: "send", mode }] };
    }
    case "close": {
      const last = input.connOpen && st.batch.length
        ? acknowledge({ ...st, batch: Run.empty() }, st.batch.items(), st.batch.items())
        : null;
      return {
        state: { ...(last?.state ?? st), ticking: false },
        effects: [...(st.ticking ? [{ kind: "unschedule" } as const] : []), ...(last?.effects ?? [])],
      };
    }
  }
}

/** An event of the core: while a UI follows, a message waits for its ack and a loss reconnects. */
function told(st: EngineState, event: BackendEvent): Step {
  if (st.following && event.type === "disconnected") {
    return { state: st, effects: [{ kind: "reconnect", event }] };
  }
  if (!st.following || event.type !== "message") return { state: st, effects: [{ kind: "emit", event }] };
  const m = event.message;
  return {
    state: { ...st, batch: st.batch.with(m), shown: showing(st.shown, st, m) },
    effects: [{ kind: "emit", event }],
  };
}

/** `shown` with `m` handed to a following UI (a seq of a history page or my own send: none). */
function showing(shown: EngineState["shown"], st: EngineState, m: ChatMessage): EngineState["shown"] {
  if (!st.following || !(m.seq > 0)) return shown;
  const conv = convOf(st.me, m), run = shown[conv] ?? Run.empty<number>();
  const last = run.at(run.length - 1);
  if (last !== undefined && m.seq <= last) return shown; // already there (seqs of a conversation rise)
  return { ...shown, [conv]: run.with(m.seq) };
}

/** The conversation an envelope belongs to. */
function convOfEnv(st: EngineState, env: SealedEnvelope): string {
  return convOf(st.me, { seq: env.seq, mid: env.mid, ts: env.ts, from: env.from, to: env.to, text: "" });
}

/** Whether `env`'s seq was handed to the UI already (a binary search of its conversation's run). */
function wasShown(st: EngineState, env: SealedEnvelope): boolean {
  const run = st.shown[convOfEnv(st, env)];
  if (!run) return false;
  for (let lo = 0, hi = run.length - 1; lo <= hi;) {
    const mid = (lo + hi) >> 1, x = run.at(mid)!;
    if (x === env.seq) return true;
    if (x < env.seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** A message handed again (same seq): not opened, saved nor told; acknowledged with the next batch. */
function handedAgain(st: EngineState, env: SealedEnvelope): EngineState {
  const m: ChatMessage = { seq: env.seq, mid: env.mid, ts: env.ts, from: env.from, to: env.to, text: "" };
  if (st.following) return { ...st, batch: st.batch.with(m) };
  return { ...st, control: [...st.control, { conv: convOfEnv(st, env), seq: env.seq }] };
}

/** The server took `acks`: their seqs and those before them are no longer waited for. */
function acked(st: EngineState, acks: readonly Seen[]): EngineState {
  let shown = st.shown;
  for (const a of acks) {
    const run = shown[a.conv];
    if (!run) continue;
    const rest = run.items().filter((x) => x > a.seq);
    const next = { ...shown };
    if (rest.length) next[a.conv] = Run.of(rest);
    else delete next[a.conv];
    shown = next;
  }
  return shown === st.shown ? st : { ...st, shown };
}

/** An envelope was opened: saved before it is told, a control message or an unreadable one kept for the ack. */
function opened(st: EngineState, env: SealedEnvelope, replay: boolean, o: Opening): Step {
  const seen = { conv: convOfEnv(st, env), seq: env.seq };
  switch (o.kind) {
    case "message": {
      const m = o.message;
      const effects: Effect[] = o.stored ? [] : [{ kind: "save", message: m }];
      if (env.seq === 0) { // its carrier acknowledges it (a peer channel): saved, then told
        if (!replay) effects.push({ kind: "emit", event: { type: "message", message: m } });
        return { state: st, effects };
      }
      const key = convOf(st.me, m);
      const unacked = { ...st.unacked, [key]: (st.unacked[key] ?? Run.empty<number>()).with(m.seq) };
      let next: EngineState = { ...st, unacked };
      if (!replay) {
        const t = told(next, { type: "message", message: m });
        next = t.state;
        effects.push(...t.effects);
      }
      return { state: next, effects };
    }
    case "consumed":
      return { state: env.seq > 0 ? { ...st, control: [...st.control, seen] } : st, effects: [] };
    case "held":
      return { state: st, effects: [] };
    case "unreadable":
    case "failed": {
      const text = `Could not read message ${env.seq || env.mid} from ${env.from}: ${o.why}`;
      const control = o.kind === "unreadable" && env.seq > 0 ? [...st.control, seen] : st.control;
      return {
        state: { ...st, control },
        effects: [{
          kind: "emit",
          event: {
            type: "notice",
            level: "error",
            text,
            unreadable: { seq: env.seq, from: env.from, to: env.to },
          },
        }],
      };
    }
  }
}

/**
 * Acknowledges `ms` (the highest seq of each conversation), and each consumed control message once
 * no unread message of its conversation precedes it; `batch` rides along for a failed ack.
 */
function acknowledge(st: EngineState, ms: readonly ChatMessage[], batch: readonly ChatMessage[]): Step {
  const max = new Map<string, number>();
  for (const m of ms) {
    const conv = convOf(st.me, m);
    max.set(conv, Math.max(max.get(conv) ?? 0, m.seq));
  }
  const unacked = { ...st.unacked };
  for (const [conv, seq] of max) {
    unacked[conv] = Run.of((unacked[conv]?.items() ?? []).filter((x) => x > seq));
  }
  const control: Seen[] = [];
  for (const c of st.control) {
    const first = lowest(unacked[c.conv]);
    if (c.seq < first) max.set(c.conv, Math.max(max.get(c.conv) ?? 0, c.seq));
    else control.push(c);
  }
  const effects: Effect[] = max.size
    ? [{ kind: "ack", acks: [...max].map(([conv, seq]) => ({ conv, seq })), batch }]
    : [];
  return { state: { ...st, unacked, control }, effects };
}

/** The lowest seq of a run (Infinity for none), without spreading it into arguments. */
function lowest(r: Run<number> | undefined): number {
  let low = Infinity;
  for (const x of r?.items() ?? []) if (x < low) low = x;
  return low;
}
