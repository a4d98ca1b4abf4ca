/**
 * The driver carries the engine's effects out (driver.ts): a batch the server did not take is fed
 * back and goes again at the next tick, a caller's failed ack rejects, a failed purge is said as a
 * warning, and the tick's timer starts once and stops at close. Fake ports; ticks fed by hand.
 */
import assert from "node:assert/strict";
import type { BackendEvent, ChatMessage } from "../backend.ts";
import { Driver } from "./driver.ts";
import type { Seen } from "./engine.ts";

const msg = (seq: number): ChatMessage => ({
  seq,
  mid: `m${seq}`,
  ts: seq,
  from: "alice",
  to: { kind: "user", name: "bob" },
  text: "hi",
});

function driver(o: { ackFails?: boolean; purgeFails?: boolean } = {}) {
  const acks: Seen[][] = [], events: BackendEvent[] = [], timers = { started: 0, stopped: 0 };
  const d = new Driver("bob", {
    emit: (e) => void events.push(e),
    reconnect: () => {},
    save: () => {},
    ack: (a) => (acks.push(a), o.ackFails ? Promise.reject(new Error("closed")) : Promise.resolve()),
    purge: () => {
      if (o.purgeFails) throw new Error("disk full");
    },
    resend: () => {},
    now: () => 0,
    connOpen: () => true,
    every: () => (timers.started++, () => void timers.stopped++),
  });
  return { d, acks, events, timers };
}

Deno.test("driver: a batch the server did not take is put back and goes at the next tick", async () => {
  const t = driver({ ackFails: true });
  t.d.step({ kind: "follow", now: 0 }); // state only: no timer in this test
  await t.d.drive({ kind: "event", event: { type: "message", message: msg(4) } });
  await t.d.drive({ kind: "tick", now: 1, connOpen: true });
  assert.deepEqual(t.acks, [[{ conv: "d:alice:bob", seq: 4 }]]);
  assert.deepEqual(t.d.state.batch.items().map((m) => m.seq), [4], "put back");
  await assert.rejects(
    t.d.drive({ kind: "ack", messages: [msg(4)] }),
    /closed/,
    "a caller's ack is the caller's",
  );
});

Deno.test("driver: a failed purge is a warning notice; the tick's timer starts once and stops at close", async () => {
  const t = driver({ purgeFails: true });
  await t.d.drive({ kind: "follow", now: 0 });
  await t.d.drive({ kind: "follow", now: 0 });
  assert.deepEqual(
    t.events.map((e) => e.type === "notice" && `${e.level}: ${e.text}`),
    ["warn: Disappearing messages: disk full", "warn: Disappearing messages: disk full"],
  );
  assert.deepEqual(t.timers, { started: 1, stopped: 0 });
  await t.d.drive({ kind: "close", connOpen: true });
  assert.deepEqual(t.timers, { started: 1, stopped: 1 });
});
