/**
 * Issue 70, client mode: a change made while the full-screen client is offline (an edit, a reaction,
 * a deletion) waits in the outbox as peer mode's do (core/outbox.ts), is listed by `/outbox` as what
 * it does, and leaves in order at the next connect (core/kept_sends.ts → message_changes.ts
 * `sendQueued`): the other end sees it applied, the outbox empties. A deletion made offline takes
 * the edits of its message still waiting with it (their text never leaves).
 */
import assert from "node:assert/strict";
import type { BackendEvent, ChatMessage } from "../lib/client/backend.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { ServerSession } from "../lib/client/core/server_session.ts";
import { ManualClock } from "../lib/common/clock.ts";
import { eventually, startTestServer, testKdf, type TestServer } from "./helpers.ts";

const toBob = { kind: "user" as const, name: "bob" };
const toAlice = { kind: "user" as const, name: "alice" };

/** `c` (alice) reconnects only once `gate` opens; its events are kept. */
function gated(t: TestServer, c: ChatClient) {
  let open!: () => void;
  const gate = new Promise<void>((r) => open = r);
  c.reconnect = async () => {
    await gate;
    const conn = await t.connect();
    return await ServerSession.login({
      conn,
      server: `127.0.0.1:${t.port}`,
      user: "alice",
      password: "pw-alice-secret",
      kdf: testKdf,
    });
  };
  const ev: BackendEvent[] = [];
  c.on((e) => ev.push(e));
  return { open, ev };
}

const changedTo = (ev: BackendEvent[], mid: string): ChatMessage[] =>
  ev.flatMap((e) => e.type === "message.changed" && e.message.mid === mid ? [e.message] : []);

/** Alice (on `clock`) and bob, end to end, both following; bob's events kept. */
async function pair(t: TestServer, clock?: ManualClock) {
  const alice = (await t.e2eClient("alice", clock ? { clock } : {})).client;
  const bob = (await t.e2eClient("bob")).client;
  const bobEv: BackendEvent[] = [];
  bob.on((e) => bobEv.push(e));
  await alice.start();
  await bob.start();
  return { alice, bob, bobEv };
}

Deno.test("offline changes (client mode): an edit and a reaction made offline wait in the outbox and go at the next connect", async () => {
  const t = await startTestServer();
  try {
    const { alice, bob, bobEv } = await pair(t);
    const mine = await alice.send(toBob, "first draft");
    const his = await bob.send(toAlice, "hi alice");
    await eventually(() => alice.store!.byMid("bob", his.mid) !== undefined, 5000, "bob's text");
    await eventually(() => bob.store!.byMid("alice", mine.mid) !== undefined, 5000, "alice's text");
    const g = gated(t, alice);
    await alice.conn.close(); // the network goes
    assert.ok(alice.conn.closed, "offline");

    const same = await alice.changes.changeMessage(mine.mid, { kind: "edit", text: "second draft" });
    assert.equal(same.text, "first draft", "not applied before the server took it");
    await alice.changes.react(his.mid, "👍");
    assert.ok(
      g.ev.some((e) =>
        e.type === "notice" && /Not connected: the edit goes at the next connect/.test(e.text)
      ),
    );
    assert.deepEqual(alice.outgoing!.list().map((e) => [e.kind, e.text]), [
      ["change", "edit of your message: second draft"],
      ["change", 'reaction 👍 on "hi alice"'],
    ]);
    assert.deepEqual(alice.outgoing!.messages(), [], "no pending line on the screen for a change");

    g.open(); // back: the catch-up sends what waits, in order
    await eventually(() => changedTo(bobEv, mine.mid).some((m) => m.text === "second draft"), 10_000, "edit");
    await eventually(
      () => changedTo(bobEv, his.mid).some((m) => m.reactions?.["👍"]?.includes("alice")),
      10_000,
      "reaction",
    );
    await eventually(() => alice.outgoing!.list().length === 0, 5000, "the outbox empties");
    assert.equal(alice.store!.byMid("alice", mine.mid)!.text, "second draft", "applied here once sent");
  } finally {
    await t.stop();
  }
});

Deno.test("offline changes (client mode): a reaction its receivers would refuse (not an emoji) is refused at once, never queued", async () => {
  const t = await startTestServer();
  try {
    const { alice, bob } = await pair(t);
    const his = await bob.send(toAlice, "hi alice");
    await eventually(() => alice.store!.byMid("bob", his.mid) !== undefined, 5000, "bob's text");
    gated(t, alice);
    await alice.conn.close();
    assert.ok(alice.conn.closed, "offline");
    // The receivers' rule (e2e/keys.ts, peer mode's too: message_changes.ts checkedPayload): no white space.
    await assert.rejects(
      alice.changes.react(his.mid, "thumbs up"),
      (e: Error & { code?: string }) => e.code === "usage",
    );
    assert.deepEqual(alice.outgoing!.list(), [], "nothing waits to be refused at the next connect");
  } finally {
    await t.stop();
  }
});

Deno.test("offline changes (client mode): a deletion made offline takes the waiting edits of its message with it", async () => {
  const t = await startTestServer();
  try {
    const { alice, bob, bobEv } = await pair(t);
    const mine = await alice.send(toBob, "oops, the password is hunter2");
    await eventually(() => bob.store!.byMid("alice", mine.mid) !== undefined, 5000, "alice's text");
    const g = gated(t, alice);
    await alice.conn.close();
    assert.ok(alice.conn.closed, "offline");
    await alice.changes.changeMessage(mine.mid, { kind: "edit", text: "the password is hunter3" });
    await alice.changes.changeMessage(mine.mid, { kind: "delete" });
    assert.deepEqual(alice.outgoing!.list().map((e) => e.text), ["deletion of your message for both of you"]);
    g.open();
    await eventually(() => changedTo(bobEv, mine.mid).some((m) => m.deleted === true), 10_000, "deletion");
    assert.ok(!JSON.stringify(bobEv).includes("hunter3"), "the dropped edit's text never left");
    await eventually(() => alice.outgoing!.list().length === 0, 5000, "the outbox empties");
  } finally {
    await t.stop();
  }
});

Deno.test("offline outbox (client mode): a text keeps the disappearing time and the time of when it was written, however long it waits", async () => {
  const t = await startTestServer();
  try {
    const clock = new ManualClock(Date.now());
    const { alice, bob, bobEv } = await pair(t, clock);
    await alice.changes.setExpiry(toBob, 3600);
    await eventually(async () => (await bob.changes.expiry(toAlice)) === 3600, 5000, "bob has the time");
    const g = gated(t, alice);
    await alice.conn.close();
    assert.ok(alice.conn.closed, "offline");
    const written = clock.now();
    const m = await alice.send(toBob, "written while away");
    assert.equal(m.pending, true);
    await bob.changes.setExpiry(toAlice, 0); // turned off before alice is back: her text was written under 1 h
    clock.advance(60_000);
    g.open();
    const got = () =>
      bobEv.flatMap((e) => e.type === "message" && e.message.mid === m.mid ? [e.message] : [])[0];
    await eventually(() => got() !== undefined, 10_000, "the text arrives");
    assert.equal(got()!.sentAt, written, "sealed with the time it was written");
    assert.ok(got()!.expires !== undefined, "it disappears as it was written to");
  } finally {
    await t.stop();
  }
});

Deno.test("offline changes (client mode): a queued change refused at the reconnect is said and leaves; what follows still goes", async () => {
  const t = await startTestServer();
  try {
    const { alice, bob, bobEv } = await pair(t);
    await bob.rooms!.create("dev", ["alice"]);
    const dev = { kind: "room" as const, name: "dev" };
    await eventually(async () => (await alice.rooms!.list()).some((r) => r.name === "dev"), 5000, "in dev");
    const line = await alice.send(dev, "a line in dev");
    await eventually(() => bob.store!.byMid("alice", line.mid) !== undefined, 5000, "bob has it");
    const g = gated(t, alice);
    await alice.conn.close();
    await alice.changes.changeMessage(line.mid, { kind: "edit", text: "edited while away" });
    await bob.rooms!.kick("dev", "alice"); // she is no member any more when it goes
    g.open();
    await eventually(
      () => g.ev.some((e) => e.type === "notice" && /Not sent: "edit of your message/.test(e.text)),
      10_000,
      "the refusal is said",
    );
    void alice.send(toBob, "still here"); // (answered once taken: not awaited, the lane may be stuck)
    const got = () => bobEv.some((e) => e.type === "message" && e.message.text === "still here");
    await eventually(got, 10_000, "the next text goes");
    assert.deepEqual(alice.outgoing!.list(), [], "the refused change left the outbox");
  } finally {
    await t.stop();
  }
});
