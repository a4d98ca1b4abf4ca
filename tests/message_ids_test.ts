/**
 * Issue 69 N2, written as the attack: a room member sends a text under another member's message id
 * (a one-line change to her own client, through the real server). Every client refuses the copy
 * (said once, never stored), and reactions and an admin's "delete for everyone" take the message of
 * the sender they name; a change from an older client naming the id alone takes only the one row its
 * rule allows, refused when two senders hold it. The peer-mode variant runs on in-process nodes
 * (lib/client/peer/events_testing.ts).
 */
import assert from "node:assert/strict";
import { randomId } from "../lib/common/random.ts";
import { sendText } from "../lib/client/core/sending.ts";
import type { ChatMessage } from "../lib/client/backend.ts";
import { nextEvent, say, testNode } from "../lib/client/peer/events_testing.ts";
import { ChatState } from "../lib/client/tui/chat_state.ts";
import { messageJson } from "../lib/client/cli/message_filters.ts";
import { eventually, inbox, startTestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

const room = { kind: "room" as const, name: "ops" };

test("message ids: a member's copy of alice's id is refused; carol's 👍 and alice's delete take alice's message", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), m = await t.e2eClient("mallory"), c = await t.e2eClient("carol");
    for (const x of [m, c]) await x.client.sync();
    await a.client.commands.createRoom("ops", ["mallory", "carol"]);
    for (const x of [a, m, c]) await x.client.sync();
    const [ai, ci] = [inbox(a.client), inbox(c.client)];
    const msg = await a.client.send(room, "deploy friday at 5");
    for (const x of [m, c]) await x.client.sync();
    // Mallory's client sends her text under alice's mid (the server deduplicates per sender only).
    const copy = await sendText(m.client, room, "I approve the wire transfer", { mid: msg.mid });
    assert.equal(copy.mid, msg.mid, "the server took the copy");
    for (const x of [a, c]) await x.client.sync();
    for (const [x, i] of [[a, ai], [c, ci]] as const) {
      assert.equal(x.store.byMid("mallory", msg.mid), undefined, "the copy is not stored");
      assert.ok(!i.msgs.some((e) => e.text === "I approve the wire transfer"), "nor shown");
      await eventually(() => i.notices.some((n) => n.includes(`is a message of alice's already`)));
    }
    for (const x of [a, c]) await x.client.sync(); // nothing said twice
    assert.equal(ci.notices.filter((n) => n.includes("alice's already")).length, 1, ci.notices.join("\n"));

    await c.client.changes.react(msg.mid, "👍");
    for (const x of [a, m]) await x.client.sync();
    for (const x of [a, c, m]) {
      assert.deepEqual(x.store.byMid("alice", msg.mid)?.reactions, { "👍": ["carol"] }, "on alice's message");
    }
    assert.equal(m.store.byMid("mallory", msg.mid)?.reactions, undefined, "not on mallory's (her own copy)");

    // Carol's reply names the message it answers by sender and id; alice's copy keeps both.
    const reply = await c.client.send(room, "ok, friday", { replyTo: msg.mid });
    await a.client.sync();
    assert.equal(a.store.byMid("carol", reply.mid)?.replyBy, "alice", "the reply names alice");
    assert.equal(a.store.byMid("carol", reply.mid)?.replyTo, msg.mid);
    assert.equal(
      messageJson(a.store.byMid("carol", reply.mid)!).reply_by,
      "alice",
      "read --json says it too",
    );

    await a.client.changes.changeMessage(msg.mid, { kind: "delete" });
    for (const x of [c, m]) await x.client.sync();
    for (const x of [a, c, m]) {
      assert.equal(x.store.byMid("alice", msg.mid)?.deleted, true, "alice's line goes");
    }
    assert.equal(m.store.byMid("mallory", msg.mid)?.text, "I approve the wire transfer", "hers stays hers");
  } finally {
    await t.stop();
  }
});

test("message ids: a change naming the id alone takes the one row its rule allows; a forged sender is refused", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), m = await t.e2eClient("mallory"), c = await t.e2eClient("carol");
    for (const x of [m, c]) await x.client.sync();
    await a.client.commands.createRoom("ops", ["mallory", "carol"]);
    for (const x of [a, m, c]) await x.client.sync();
    const ci = inbox(c.client);
    const msg = await a.client.send(room, "deploy friday at 5");
    const own = await m.client.send(room, "mallory's own line");
    await c.client.sync();
    // A history kept from before the refusal: mallory's row under alice's id beside alice's.
    const old: ChatMessage = { ...msg, seq: 1e9, from: "mallory", text: "I approve the wire transfer" };
    c.store.save([old]);
    const forge = async (
      ref: string,
      change: Parameters<typeof m.client.changes.changeMessage>[1],
      by?: string,
    ) => {
      const mid = randomId(undefined, 12);
      const s = await m.codec.sealChange(room, mid, ref, change, by);
      await m.client.conn.request("send", { to: room, mid }, s.body);
    };
    // A reaction from an older client (no sender named) when two senders hold the id: refused.
    await forge(msg.mid, { kind: "react", emoji: "💸", on: true });
    // An edit naming alice as the sender of the message mallory edits: refused.
    await forge(msg.mid, { kind: "edit", text: "forged" }, "alice");
    // An edit from an older client takes only mallory's own message.
    await forge(own.mid, { kind: "edit", text: "mallory's line, edited" });
    await c.client.sync();
    const alices = c.store.byMid("alice", msg.mid)!;
    assert.equal(alices.reactions, undefined);
    assert.equal(alices.text, "deploy friday at 5");
    assert.equal(c.store.byMid("mallory", old.mid)?.reactions, undefined, "nor on the old copy");
    assert.equal(c.store.byMid("mallory", own.mid)?.text, "mallory's line, edited");
    await eventually(() => ci.notices.length >= 2, 3000, "two refusals told");
    assert.match(ci.notices.join("\n"), /two senders hold that id/);
    assert.match(ci.notices.join("\n"), /only alice may edit or delete/);
  } finally {
    await t.stop();
  }
});

test("message ids, peer mode: a peer's text under another peer's id is refused once; my 👍 takes carol's message", async () => {
  const [a, m, c] = [await testNode("alice"), await testNode("mallory"), await testNode("carol")];
  try {
    const known = [m, c].map((x) =>
      nextEvent(x, (e) => e.type === "presence" && e.online && e.user === "alice")
    );
    assert.equal(await a.connect(`127.0.0.1:${m.port}`), "mallory");
    assert.equal(await a.connect(`127.0.0.1:${c.port}`), "carol");
    await Promise.all(known);
    const warnings: string[] = [];
    a.on((e) => e.type === "notice" && e.level === "warn" && warnings.push(e.text));
    const arrives = (from: string, text: string) =>
      nextEvent(a, (e) => e.type === "message" && e.message.from === from && e.message.text === text);
    let got = arrives("carol", "deploy friday at 5");
    const msg = await say(c, "alice", "deploy friday at 5");
    await got;
    // Mallory's node sends a text under carol's id, past its own checks.
    const body = JSON.stringify({ v: 1, k: "text", mid: msg.mid, text: "I approve the wire transfer" });
    const ts = m.clock.now() - 10_000;
    m.client.changes.queued(
      m.outbox.create({ kind: "user", name: "alice" }, body, { mid: msg.mid, ts, change: true }),
    );
    got = arrives("mallory", "done");
    await say(m, "alice", "done");
    await got;
    assert.equal(a.store.local.byMid("mallory", msg.mid), undefined, "not stored");
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0]!, /^mallory: a message was refused \(its id .* is a message of carol's already/);
    const changed = nextEvent(c, (e) => e.type === "message.changed" && e.by === "alice");
    await a.client.changes.react(msg.mid, "👍");
    assert.deepEqual(a.store.local.byMid("carol", msg.mid)?.reactions, { "👍": ["alice"] });
    assert.deepEqual(((await changed) as { message: ChatMessage }).message.reactions, { "👍": ["alice"] });
  } finally {
    await Promise.all([a.close(), m.close(), c.close()]);
  }
});

test("message ids: a reply quotes the line of the sender it names, whichever line with that id came first", () => {
  const s = new ChatState("carol", () => 1_000);
  const base = { ts: 1_000, to: room, mid: "mid-deploy-01" };
  s.addMessage({ ...base, seq: 1, from: "mallory", text: "I approve the wire transfer" }, true); // an old copy
  s.addMessage({ ...base, seq: 2, from: "alice", text: "deploy friday at 5" }, true);
  const re = { ts: 1_000, to: room, seq: 3, mid: "mid-reply-001", from: "bob", text: "ok" };
  s.addMessage({ ...re, replyTo: base.mid, replyBy: "alice" }, true);
  const lines = s.buffers.find("room", "ops")!.lines;
  assert.equal(lines.at(-1)!.text, "↪ alice: deploy friday at 5\nok");
  // An edit of the other sender's line under that id leaves the quote alone.
  s.changeMessage({ ...base, seq: 1, from: "mallory", text: "edited", edited: 2_000 });
  assert.equal(lines.at(-1)!.text, "↪ alice: deploy friday at 5\nok");
});
