/**
 * The conversation engine's rules as tables (issue 35.2): inputs in, state and effects out, with no
 * link, connection, store or timer. Each row feeds a list of inputs to a fresh engine and checks the
 * effects of the last one (and, where it matters, the state after it).
 */
import assert from "node:assert/strict";
import { utf8 } from "../../common/bytes.ts";
import type { ChatMessage } from "../backend.ts";
import { type Effect, type EngineState, initial, type Input, type Opening, step } from "./engine.ts";
import { type OutboxEffect, type OutboxInput, outboxStep, POISON_DROPS } from "./engine_outbox.ts";
import type { SealedEnvelope } from "./link.ts";

const CONV = "d:alice:bob";
const env = (seq: number): SealedEnvelope => ({
  seq,
  mid: `m${seq}`,
  ts: 1000 + seq,
  from: "alice",
  to: { kind: "user", name: "bob" },
  body: utf8.encode(`text ${seq}`),
});
const msg = (seq: number): ChatMessage => ({ ...env(seq), text: `text ${seq}` });
const opened = (seq: number, opening: Opening, replay = false): Input => ({
  kind: "opened",
  env: env(seq),
  replay,
  opening,
});
const read = (seq: number, stored = false): Opening => ({ kind: "message", message: msg(seq), stored });
const follow: Input = { kind: "follow", now: 5 };
const lost = { type: "disconnected", code: "closed", reason: "gone" } as const;

/** Feeds `inputs` to a fresh engine for bob: the state after all of them and the last one's effects. */
function run(inputs: Input[]): { state: EngineState; effects: Effect[] } {
  let state = initial("bob"), effects: Effect[] = [];
  for (const i of inputs) ({ state, effects } = step(state, i));
  return { state, effects };
}

/** Effects in a short form a table can spell: kind and the one field that tells them apart. */
function brief(fx: Effect[]): string[] {
  return fx.map((f) => {
    switch (f.kind) {
      case "emit":
        return f.event.type === "message"
          ? `emit message ${f.event.message.seq}`
          : f.event.type === "notice"
          ? `emit ${f.event.level}: ${f.event.text}`
          : `emit ${f.event.type}`;
      case "open":
        return `open ${f.env.seq}${f.replay ? " replay" : ""}`;
      case "save":
        return `save ${f.message.seq}`;
      case "ack":
        return `ack ${f.acks.map((a) => `${a.conv}@${a.seq}`).join(",")}${
          f.batch.length ? ` batch ${f.batch.length}` : ""
        }`;
      case "schedule":
        return `schedule ${f.everyMs}`;
      case "purge":
        return `purge ${f.now}`;
      case "send":
        return `send ${f.mode}`;
      default:
        return f.kind;
    }
  });
}

const rows: { name: string; inputs: Input[]; effects: string[]; state?: (s: EngineState) => unknown }[] = [
  // The feed's phases.
  { name: "connecting: a message is live", inputs: [{ kind: "envelope", env: env(1) }], effects: ["open 1"] },
  {
    name: "syncing: a message is kept for the sync, not opened",
    inputs: [{ kind: "syncStart" }, { kind: "envelope", env: env(1) }],
    effects: [],
    state: (s) => s.queue.length === 1 && s.phase === "syncing",
  },
  {
    name: "the sync's reply: what arrived meanwhile opened as replay, in order; then live",
    inputs: [{ kind: "syncStart" }, { kind: "envelope", env: env(1) }, { kind: "envelope", env: env(2) }, {
      kind: "syncEnd",
      session: 0,
    }],
    effects: ["open 1 replay", "open 2 replay"],
    state: (s) => s.phase === "live" && s.queue.length === 0,
  },
  {
    name: "live after the sync",
    inputs: [{ kind: "syncStart" }, { kind: "syncEnd", session: 0 }, { kind: "envelope", env: env(3) }],
    effects: ["open 3"],
  },
  {
    name: "an older session's sync reply changes nothing",
    inputs: [{ kind: "connected" }, { kind: "syncStart" }, { kind: "envelope", env: env(1) }, {
      kind: "syncEnd",
      session: 0,
    }],
    effects: [],
    state: (s) => s.phase === "syncing" && s.queue.length === 1,
  },
  // Opening: saved before told; the codec's own save; replay not told.
  {
    name: "a live message is saved, then told",
    inputs: [opened(1, read(1))],
    effects: ["save 1", "emit message 1"],
  },
  {
    name: "one the codec saved is only told",
    inputs: [opened(1, read(1, true))],
    effects: ["emit message 1"],
  },
  { name: "a replayed one is saved, not told", inputs: [opened(1, read(1), true)], effects: ["save 1"] },
  {
    name: "an unreadable one is said as an error naming sender and seq",
    inputs: [opened(3, { kind: "unreadable", why: "no session" })],
    effects: ["emit error: Could not read message 3 from alice: no session"],
    state: (s) => s.control.length === 1,
  },
  {
    name: "one that failed otherwise is said too, and not acknowledged",
    inputs: [opened(3, { kind: "failed", why: "boom" }), { kind: "ack", messages: [] }],
    effects: [],
  },
  // A carrier that acknowledges itself (a peer channel: seq 0) leaves nothing for the engine's acks.
  {
    name: "a peer channel's message (seq 0) its codec saved is told, and kept for no acknowledgement",
    inputs: [follow, opened(0, { kind: "message", message: msg(7), stored: true })],
    effects: ["emit message 7"],
    state: (s) => Object.keys(s.unacked).length === 0 && s.batch.length === 0,
  },
  {
    name: "a peer channel's consumed one (seq 0) is kept for no acknowledgement",
    inputs: [opened(0, { kind: "consumed" })],
    effects: [],
    state: (s) => s.control.length === 0,
  },
  {
    name: "a peer channel's unreadable one (seq 0) is said by its id, kept for no acknowledgement",
    inputs: [opened(0, { kind: "unreadable", why: "no session" })],
    effects: ["emit error: Could not read message m0 from alice: no session"],
    state: (s) => s.control.length === 0,
  },
  {
    name: "one the codec held back (a changed key) is neither told nor kept",
    inputs: [opened(3, { kind: "held", why: "key changed" }), { kind: "ack", messages: [] }],
    effects: [],
    state: (s) => s.control.length === 0 && Object.keys(s.unacked).length === 0,
  },
  // What is acknowledged when.
  {
    name: "a consumed control message waits while an unread message precedes it",
    inputs: [opened(1, read(1)), opened(2, { kind: "consumed" }), { kind: "ack", messages: [] }],
    effects: [],
    state: (s) => s.control.length === 1,
  },
  {
    name: "… and goes with the ack of that message",
    inputs: [opened(1, read(1)), opened(2, { kind: "consumed" }), { kind: "ack", messages: [msg(1)] }],
    effects: [`ack ${CONV}@2`],
    state: (s) => s.control.length === 0 && s.unacked[CONV]?.length === 0,
  },
  {
    name: "an unreadable message goes with the next ack once nothing unread precedes it",
    inputs: [opened(3, { kind: "unreadable", why: "x" }), { kind: "ack", messages: [] }],
    effects: [`ack ${CONV}@3`],
  },
  {
    name: "a later unread message does not hold a control message back",
    inputs: [opened(2, { kind: "consumed" }), opened(5, read(5)), { kind: "ack", messages: [] }],
    effects: [`ack ${CONV}@2`],
  },
  // A following UI: the batch, the tick, the loss.
  {
    name: "follow: the tick is scheduled once, expired messages purged",
    inputs: [follow],
    effects: ["schedule 500", "purge 5"],
  },
  { name: "follow again: no second tick", inputs: [follow, follow], effects: ["purge 5"] },
  {
    name: "following: a told message waits in the batch; the tick acknowledges it, then purges",
    inputs: [follow, opened(1, read(1)), { kind: "tick", now: 9, connOpen: true }],
    effects: [`ack ${CONV}@1 batch 1`, "purge 9"],
    state: (s) => s.batch.length === 0,
  },
  {
    name: "the tick holds the batch while the connection is down",
    inputs: [follow, opened(1, read(1)), { kind: "tick", now: 9, connOpen: false }],
    effects: ["purge 9"],
    state: (s) => s.batch.length === 1,
  },
  {
    name: "a batch the server did not take goes back in front",
    inputs: [follow, { kind: "event", event: { type: "message", message: msg(2) } }, {
      kind: "ackFailed",
      messages: [msg(1)],
    }],
    effects: [],
    state: (s) => s.batch.items().map((m) => m.seq).join() === "1,2",
  },
  {
    name: "not following: a loss is told",
    inputs: [{ kind: "event", event: lost }],
    effects: ["emit disconnected"],
  },
  {
    name: "following: a loss reconnects",
    inputs: [follow, { kind: "event", event: lost }],
    effects: ["reconnect"],
  },
  {
    name: "a new connection starts afresh: nothing unread, no batch, connecting",
    inputs: [follow, { kind: "syncStart" }, opened(1, read(1)), opened(2, { kind: "consumed" }), {
      kind: "connected",
    }],
    effects: [],
    state: (s) =>
      s.batch.length === 0 && Object.keys(s.unacked).length === 0 && s.control.length === 0 &&
      s.phase === "connecting" && s.session === 1,
  },
  {
    name: "caught up: the queue told and batched, then the outbox again (same mids)",
    inputs: [follow, { kind: "caughtUp", messages: [msg(1)], tell: true }],
    effects: ["emit message 1", "resend"],
    state: (s) => s.batch.length === 1,
  },
  {
    name: "caught up for a screen that shows the queue itself: only the outbox",
    inputs: [follow, { kind: "caughtUp", messages: [msg(1)], tell: false }],
    effects: ["resend"],
  },
  {
    name: "close: the tick stops, the last batch goes",
    inputs: [follow, opened(1, read(1)), { kind: "close", connOpen: true }],
    effects: ["unschedule", `ack ${CONV}@1 batch 1`],
  },
  // How a text goes.
  {
    name: "a script's send: one-shot",
    inputs: [{ kind: "sendRequest", online: true, hasOutbox: true }],
    effects: ["send one-shot"],
  },
  {
    name: "a UI without an outbox: one-shot",
    inputs: [follow, { kind: "sendRequest", online: true, hasOutbox: false }],
    effects: ["send one-shot"],
  },
  {
    name: "a UI online: kept",
    inputs: [follow, { kind: "sendRequest", online: true, hasOutbox: true }],
    effects: ["send kept"],
  },
  {
    name: "a UI offline: queued",
    inputs: [follow, { kind: "sendRequest", online: false, hasOutbox: true }],
    effects: ["send queued"],
  },
];

for (const r of rows) {
  Deno.test(`engine: ${r.name}`, () => {
    const { state, effects } = run(r.inputs);
    assert.deepEqual(brief(effects), r.effects);
    if (r.state) assert.ok(r.state(state), "state after the inputs");
  });
}

Deno.test("engine: a second sync under way is a bug", () => {
  assert.throws(() => run([{ kind: "syncStart" }, { kind: "syncStart" }]), /already under way/);
});

const DROPPED = `The connection dropped each of the ${POISON_DROPS} times this message was sent ` +
  "(the server may refuse its size: at most 1024 bytes a frame)";
const p = { mid: "m", ts: 1, to: { kind: "user", name: "alice" } as const, text: "hello" };
const outboxRows: { name: string; input: OutboxInput; effects: OutboxEffect[] }[] = [
  {
    name: "answered: settled",
    input: { kind: "answered", message: msg(1) },
    effects: [{ kind: "settle", message: msg(1) }],
  },
  {
    name: "kept, refused for good: failed",
    input: { kind: "sendFailed", mid: "m", kept: true, offline: false, refusal: "too big" },
    effects: [{ kind: "fail", mid: "m", why: "too big" }, { kind: "rethrow" }],
  },
  {
    name: "one-shot: removed, even offline",
    input: { kind: "sendFailed", mid: "m", kept: false, offline: true, refusal: null },
    effects: [{ kind: "remove", mid: "m" }, { kind: "rethrow" }],
  },
  {
    name: "kept, answered with a refusal: removed",
    input: { kind: "sendFailed", mid: "m", kept: true, offline: false, refusal: null },
    effects: [{ kind: "remove", mid: "m" }, { kind: "rethrow" }],
  },
  {
    name: "kept, refused for speed: stays as it is (paced sends the same entry again)",
    input: { kind: "sendFailed", mid: "m", kept: true, offline: false, refusal: null, slow: true },
    effects: [{ kind: "rethrow" }],
  },
  {
    name: "kept, cut off: the drop noted",
    input: { kind: "sendFailed", mid: "m", kept: true, offline: true, refusal: null },
    effects: [{ kind: "noteDrop", mid: "m" }],
  },
  {
    name: "cut off fewer than POISON_DROPS times: kept",
    input: { kind: "dropNoted", mid: "m", drops: POISON_DROPS - 1, maxFrame: 1024 },
    effects: [{ kind: "rethrow" }],
  },
  {
    name: "cut off POISON_DROPS times: failed, refused as too large",
    input: { kind: "dropNoted", mid: "m", drops: POISON_DROPS, maxFrame: 1024 },
    effects: [
      { kind: "fail", mid: "m", why: DROPPED },
      { kind: "refuse", code: "frame_too_large", text: DROPPED },
    ],
  },
  {
    name: "the session's drop limit (chat_session.ts): failed at it, not at POISON_DROPS",
    input: { kind: "dropNoted", mid: "m", drops: 2, maxFrame: 1024, limit: 2 },
    effects: [
      { kind: "fail", mid: "m", why: DROPPED.replace(`${POISON_DROPS} times`, "2 times") },
      { kind: "refuse", code: "frame_too_large", text: DROPPED.replace(`${POISON_DROPS} times`, "2 times") },
    ],
  },
  {
    name: "a peer session's drop limit (Infinity): never failed by lost carriers",
    input: { kind: "dropNoted", mid: "m", drops: 1000, maxFrame: 1024, limit: Infinity },
    effects: [{ kind: "rethrow" }],
  },
  {
    name: "UI send refused for good: removed, told",
    input: { kind: "keptFailed", mid: "m", offline: true, refusal: "too big" },
    effects: [{ kind: "remove", mid: "m" }, { kind: "rethrow" }],
  },
  {
    name: "UI send cut off: pending",
    input: { kind: "keptFailed", mid: "m", offline: true, refusal: null },
    effects: [{ kind: "pending" }],
  },
  {
    name: "UI send answered with a refusal: told",
    input: { kind: "keptFailed", mid: "m", offline: false, refusal: null },
    effects: [{ kind: "rethrow" }],
  },
  {
    name: "resend refused for good: shown failed, said with its number",
    input: {
      kind: "resendFailed",
      me: "bob",
      entry: p,
      n: 2,
      offline: false,
      refusal: "too big",
      why: "too big",
    },
    effects: [
      { kind: "showFailed", message: { seq: 0, ...p, from: "bob", failed: "too big" } },
      { kind: "notice", text: 'Not sent, and never will be: "hello": too big (/outbox drop 2 removes it)' },
    ],
  },
  {
    name: "resend refused otherwise: said, the next goes",
    input: { kind: "resendFailed", me: "bob", entry: p, offline: false, refusal: null, why: "no" },
    effects: [{ kind: "notice", text: 'Not sent: "hello": no' }],
  },
  {
    name: "resend cut off: stops",
    input: { kind: "resendFailed", me: "bob", entry: p, offline: true, refusal: null, why: "gone" },
    effects: [{ kind: "rethrow" }],
  },
  {
    name: "one-shot, the server cannot store now: kept to send again, told (issue 74)",
    input: { kind: "sendFailed", mid: "m", kept: false, offline: false, refusal: null, later: true },
    effects: [{ kind: "keep", mid: "m" }, { kind: "rethrow" }],
  },
  {
    name: "kept, the server cannot store now: stays, told (issue 74)",
    input: { kind: "sendFailed", mid: "m", kept: true, offline: false, refusal: null, later: true },
    effects: [{ kind: "rethrow" }],
  },
  {
    name: "UI send, the server cannot store now: pending (issue 74)",
    input: { kind: "keptFailed", mid: "m", offline: false, refusal: null, later: true },
    effects: [{ kind: "pending" }],
  },
  {
    name: "resend, the server cannot store now: stops, nothing said per entry (issue 74)",
    input: {
      kind: "resendFailed",
      me: "bob",
      entry: p,
      offline: false,
      refusal: null,
      why: "no",
      later: true,
    },
    effects: [{ kind: "rethrow" }],
  },
];

for (const r of outboxRows) {
  Deno.test(`engine outbox: ${r.name}`, () => assert.deepEqual(outboxStep(r.input), r.effects));
}
