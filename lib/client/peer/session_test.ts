/** PeerSession (peer/session.ts): the node as the shared core's `ChatSession`, and its drop policy in the shared outbox. */
import assert from "node:assert/strict";
import { Outbox } from "../core/outbox.ts";
import { POISON_DROPS } from "../core/engine_outbox.ts";
import { sendFailed, settleSent } from "../core/sending.ts";
import { nextEvent, testNode } from "./events_testing.ts";

Deno.test("peer session: the node's name, address, link and frame cap; nothing to ack; gone once the node closes", async () => {
  const node = await testNode("alice", { limits: { maxFrame: 4096 } });
  const s = node.session;
  assert.equal(s.user, "alice");
  assert.equal(s.role, "user");
  assert.equal(s.server, `peer mode on 127.0.0.1:${node.port}`);
  assert.equal(s.openLink(), node.link);
  assert.equal(s.maxFrame, 4096);
  await s.ack([{ conv: "d:alice:bob", seq: 1 }]); // each channel acked already
  assert.equal(s.closed, false);
  await node.close();
  assert.equal(s.closed, true);
  assert.equal((await s.ended()).code, "closed");
});

Deno.test("peer session: a peer going away never fails an outbox entry (the shared rule, the session's limit)", async () => {
  const node = await testNode("alice");
  try {
    const box = new Outbox(node.store.local, "alice", node.clock);
    const p = box.create({ kind: "user", name: "bob" }, "hello");
    const lost = new Error("the channel ended");
    const how = { kept: true, offline: true, maxFrame: node.maxFrame, dropLimit: node.session.dropLimit };
    for (let i = 1; i <= POISON_DROPS * 3; i++) {
      assert.equal(box.sendFailed(p.mid, lost, how), lost, `cut off ${i} times: the caller hears the loss`);
    }
    assert.deepEqual(box.waiting().map((w) => w.mid), [p.mid], "still waiting for bob");
    assert.equal(box.failedCount(), 0);
  } finally {
    await node.close();
  }
});

Deno.test("peer session: a lane per peer, any number unacknowledged, down until the peer's channel said hello and again once it ends", async () => {
  const a = await testNode("alice"), b = await testNode("bob");
  try {
    const { sends } = a.session;
    assert.equal(sends.window, Infinity);
    assert.equal(sends.lane?.({ kind: "user", name: "bob" }), "bob");
    assert.equal(sends.offline("bob"), true, "no channel yet");
    const up = nextEvent(a, (e) => e.type === "presence" && e.online);
    await a.connect(`127.0.0.1:${b.port}`);
    await up;
    assert.equal(sends.offline("bob"), false);
    const down = nextEvent(a, (e) => e.type === "presence" && !e.online);
    await b.close();
    await down;
    assert.equal(sends.offline("bob"), true, "its channel ended");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("peer session: a text the peer took is numbered once by the node's store (sending.ts settleSent), held already as given", async () => {
  const node = await testNode("alice");
  try {
    const box = new Outbox(node.store.local, "alice", node.clock);
    const p = box.create({ kind: "user", name: "bob" }, "hello");
    const m = settleSent(box, node.session, p, { at: p.ts }, { seq: 0, ts: p.ts }); // the peer gave no number
    const held = node.store.local.byMid("alice", p.mid);
    assert.ok(held && held.seq > 0, "numbered here, into the history");
    assert.equal(m.seq, held.seq, "answered as numbered here");
    assert.deepEqual(box.waiting(), [], "out of the outbox");
    assert.equal(node.session.number({ ...m, seq: 0 }).seq, 0, "held already: as given, not numbered twice");
  } finally {
    await node.close();
  }
});

Deno.test("peer session: a hand-over cut off by a peer away keeps the entry — gone is the lane's (SendPolicy.offline), not the session's", async () => {
  const node = await testNode("alice");
  try {
    const box = new Outbox(node.store.local, "alice", node.clock);
    const p = box.create({ kind: "user", name: "bob" }, "hello"); // bob has no channel: his lane is down
    const lost = new Error("the channel ended");
    assert.equal(node.session.closed, false, "the node itself is there");
    assert.equal(sendFailed(box, node.session, p.mid, lost, true), lost);
    assert.deepEqual(box.waiting().map((w) => w.mid), [p.mid], "still waiting for bob");
  } finally {
    await node.close();
  }
});
