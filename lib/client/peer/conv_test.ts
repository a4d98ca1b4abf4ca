/**
 * Issue 39 in peer mode (core/message_changes.ts over a peer node's core): reply, edit with its history, delete for both ends, react
 * (toggled), disappearing messages on both ends; and hostile changes — a forged edit, delete or
 * reaction from another peer, one naming another conversation, a change re-sent under its id or
 * under another id — refused with a warning, changing nothing.
 */
import assert from "node:assert/strict";
import { PeerNode } from "./node.ts";
import { PeerStore } from "./store.ts";
import { expiryText, type Payload } from "../e2e/mod.ts";
import type { BackendEvent, ChatMessage } from "../backend.ts";
import { newMid } from "./wire.ts";
import { utf8 } from "../../common/bytes.ts";
import { dm, linklessConv, nextEvent as waitFor, say, testNode } from "./events_testing.ts";
import { ManualClock } from "../../common/clock.ts";
import { generateIdentity, publicIdentity } from "../../crypto/identity.ts";
import { until } from "../../common/wait_testing.ts";

const node = testNode;

/** The next message `to` takes from `from` whose text is `text`. */
async function arrives(to: PeerNode, from: string, text: string): Promise<ChatMessage> {
  const e = await waitFor(
    to,
    (e) => e.type === "message" && e.message.from === from && e.message.text === text,
  );
  return (e as { message: ChatMessage }).message;
}

/** The next change `to` takes from `by`. */
async function changed(to: PeerNode, by: string): Promise<ChatMessage> {
  const e = await waitFor(to, (e) => e.type === "message.changed" && e.by === by);
  return (e as { message: ChatMessage }).message;
}

/** Resolves once `pred` holds (checked every 20 ms, for up to 10 s). */

const held = (n: PeerNode, from: string, mid: string) => n.store.local.byMid(from, mid)!;

/** The changes and settings waiting in `n`'s outbox for `peer`, as their payloads. */
const queued = (n: PeerNode, peer: string): Payload[] =>
  n.store.local.pendingAll().filter((p) => p.change && p.to.name === peer).map((p) => JSON.parse(p.text));

/** Writes payload `p` into `n`'s outbox for `peer` under id `mid`, past the node's checks (a hostile peer). */
const queue = (n: PeerNode, peer: string, mid: string, ts: number, p: Payload) =>
  n.outbox.create({ kind: "user", name: peer }, JSON.stringify(p), { mid, ts, change: true });

/** Every text the node's database holds, history and earlier versions. */
const allText = (n: PeerNode) =>
  [
    ...n.store.db.prepare("SELECT text FROM messages").all(),
    ...n.store.db.prepare("SELECT text FROM edits").all(),
  ].map((r) => String(r.text)).join("\n");

Deno.test("peer conv: reply, edit and its history, react on and off, delete for both ends", async () => {
  const [a, b] = [await node("alice"), await node("bob")];
  try {
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    const got = arrives(b, "alice", "helo bob");
    const m = await say(a, "bob", "helo bob");
    await got;
    // Reply: the answer names the message it answers on both ends.
    const back = arrives(a, "bob", "hi alice");
    const r = await say(b, "alice", "hi alice", { replyTo: m.mid });
    const answer = await back;
    assert.equal(answer.replyTo, m.mid);
    assert.equal(answer.replyBy, "alice"); // and by its sender (issue 69 N2), as sealed
    await waitFor(b, (e) => e.type === "message" && !e.message.failed && e.message.mid === r.mid);
    assert.equal(held(b, "bob", r.mid).replyTo, m.mid);
    assert.equal(held(b, "bob", r.mid).replyBy, "alice"); // as the sender keeps it
    // Edit: the new text on both ends, the old one kept as history.
    let change = changed(b, "alice");
    assert.equal(
      (await a.client.changes.changeMessage(m.mid, { kind: "edit", text: "hello bob" })).text,
      "hello bob",
    );
    assert.equal((await change).text, "hello bob");
    assert.ok(held(b, "alice", m.mid).edited);
    assert.deepEqual((await b.client.changes.editsOf(m.mid)).map((e) => e.text), ["helo bob"]);
    assert.deepEqual((await a.client.changes.editsOf(m.mid)).map((e) => e.text), ["helo bob"]);
    // React: on, then the same emoji again takes it off, on both ends.
    change = changed(a, "bob");
    assert.deepEqual((await b.client.changes.react(m.mid, "👍")).reactions, { "👍": ["bob"] });
    assert.deepEqual((await change).reactions, { "👍": ["bob"] });
    change = changed(a, "bob");
    assert.equal((await b.client.changes.react(m.mid, "👍")).reactions, undefined);
    assert.equal((await change).reactions, undefined);
    // Only its sender edits or deletes a message.
    await assert.rejects(
      async () => (await b.client.changes.changeMessage(m.mid, { kind: "delete" })),
      /Only its sender/,
    );
    // Delete: gone from both stores, earlier texts too.
    change = changed(b, "alice");
    await a.client.changes.changeMessage(m.mid, { kind: "delete" });
    assert.equal((await change).deleted, true);
    for (const n of [a, b]) {
      assert.equal(held(n, "alice", m.mid).deleted, true);
      assert.deepEqual(await n.client.changes.editsOf(m.mid), []);
      assert.doesNotMatch(allText(n), /hel+o bob/, n.name);
    }
    await assert.rejects(
      async () => (await a.client.changes.changeMessage(m.mid, { kind: "edit", text: "again" })),
      /was deleted/,
    );
    // Nothing waits: every change is acknowledged.
    await until(
      () => queued(a, "bob").length + queued(b, "alice").length === 0,
      "both outboxes emptied",
      10_000,
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("peer conv: a change made while the peer is away is queued; a deletion takes the queued edits' texts with it", async () => {
  const [a, b] = [await node("alice"), await node("bob")];
  try {
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    const m = await say(a, "bob", "first draft");
    await waitFor(a, (e) => e.type === "message" && !e.message.failed && e.message.mid === m.mid);
    const gone = waitFor(a, (e) => e.type === "presence" && !e.online);
    await b.close();
    await gone;
    await a.client.changes.changeMessage(m.mid, { kind: "edit", text: "second draft" });
    assert.match(JSON.stringify(queued(a, "bob")), /second draft/);
    await a.client.changes.changeMessage(m.mid, { kind: "delete" });
    const waiting = queued(a, "bob").map((q) => q.k);
    assert.deepEqual(waiting, ["delete"]);
    assert.doesNotMatch(allText(a) + JSON.stringify(queued(a, "bob")), /draft/);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("peer conv: disappearing messages — the setting reaches the peer, texts go from both stores after the time", async () => {
  const [a, b] = [await node("alice"), await node("bob")];
  try {
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    const kept = waitFor(a, (e) => e.type === "message" && !e.message.failed && e.message.text === "kept");
    await say(a, "bob", "kept");
    await kept;
    const line = arrives(b, "alice", expiryText(60));
    assert.equal((await a.client.changes.setExpiry(dm("bob"), 60)).text, expiryText(60));
    await line;
    // Both ends' texts from now on carry the time: alice's and bob's answer.
    const got = arrives(b, "alice", "gone soon");
    const sent = await say(a, "bob", "gone soon");
    const inB = await got;
    assert.equal(inB.expires, inB.ts + 60_000);
    await waitFor(a, (e) => e.type === "message" && !e.message.failed && e.message.mid === sent.mid);
    assert.equal(held(a, "alice", sent.mid).expires, sent.ts + 60_000);
    const answer = arrives(a, "bob", "me too");
    const r = await say(b, "alice", "me too");
    assert.equal((await answer).expires, r.ts + 60_000);
    await waitFor(b, (e) => e.type === "message" && !e.message.failed && e.message.mid === r.mid);
    // Not yet; then, a minute later, both are gone on both ends (the line and the earlier text stay).
    assert.deepEqual(a.client.changes.purgeExpired(sent.ts + 1000), []);
    const gone = waitFor(b, (e) => e.type === "messages.expired");
    assert.deepEqual(a.client.changes.purgeExpired(r.ts + 61_000).sort(), [sent.mid, r.mid].sort());
    assert.deepEqual(b.client.changes.purgeExpired(r.ts + 61_000).sort(), [sent.mid, r.mid].sort());
    await gone;
    for (const n of [a, b]) {
      assert.deepEqual(n.store.local.list(n.name, 0).map((m) => m.text), ["kept", expiryText(60)], n.name);
      assert.doesNotMatch(allText(n), /gone soon|me too/);
    }
    // Off: later texts carry no time.
    const off = arrives(a, "bob", expiryText(0));
    await b.client.changes.setExpiry(dm("alice"), 0);
    await off;
    const last = arrives(b, "alice", "for good");
    await say(a, "bob", "for good");
    assert.equal((await last).expires, undefined);
    await assert.rejects(async () => (await a.client.changes.setExpiry(dm("bob"), 400 * 86400)), /366 days/);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("peer conv: forged, misdirected and replayed changes are refused and change nothing", async () => {
  const [a, b, c] = [await node("alice"), await node("bob"), await node("carol")];
  try {
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    assert.equal(await a.connect(`127.0.0.1:${c.port}`), "carol");
    let got = arrives(b, "alice", "alice to bob");
    const mine = await say(a, "bob", "alice to bob");
    await got;
    await waitFor(a, (e) => e.type === "message" && !e.message.failed && e.message.mid === mine.mid);
    got = arrives(a, "carol", "carol to alice");
    const carols = await say(c, "alice", "carol to alice");
    await got;
    got = arrives(a, "bob", "bob to alice");
    const bobs = await say(b, "alice", "bob to alice");
    await got;
    const before = JSON.stringify(a.store.local.list("alice", 0));
    // Bob writes changes by hand, past his own node's checks, as a hostile peer would.
    const warnings: string[] = [];
    a.on((e) => e.type === "notice" && e.level === "warn" && warnings.push(e.text));
    let ts = b.clock.now() - 10_000;
    const forge = (p: Payload, recordMid = p.mid) => {
      queue(b, "alice", recordMid, ts, p);
      b.client.changes.queued(b.store.local.pending(recordMid)!);
      ts++;
    };
    const v = 1 as const;
    forge({ v, k: "edit", mid: newMid(), ref: mine.mid, text: "forged" }); // alice's own message
    forge({ v, k: "delete", mid: newMid(), ref: mine.mid });
    forge({ v, k: "edit", mid: newMid(), ref: carols.mid, text: "forged" }); // carol's, another conversation
    forge({ v, k: "delete", mid: newMid(), ref: carols.mid });
    forge({ v, k: "react", mid: newMid(), ref: carols.mid, emoji: "💩", on: true });
    forge({ v, k: "edit", mid: newMid(), ref: "nosuchmessage", text: "forged" });
    // A change sealed for one record id and sent under another (a replay under a new id).
    forge({ v, k: "react", mid: newMid(), ref: mine.mid, emoji: "💩", on: true }, newMid());
    const done = arrives(a, "bob", "done");
    await say(b, "alice", "done");
    await done;
    assert.equal(warnings.length, 7, warnings.join("\n"));
    assert.ok(warnings.every((w) => /^bob: a message was refused \(.+\); nothing changed$/.test(w)));
    assert.match(warnings.join("\n"), /another conversation/);
    assert.match(warnings.join("\n"), /another id \(replay\)/);
    const after = a.store.local.list("alice", 0).filter((m) => m.text !== "done");
    assert.equal(JSON.stringify(after), before);
    for (const m of [mine, carols]) assert.deepEqual(await a.client.changes.editsOf(m.mid), []);
    // Bob's own edit of his own message applies.
    const change = changed(a, "bob");
    forge({ v, k: "edit", mid: newMid(), ref: bobs.mid, text: "bob, edited" });
    await say(b, "alice", "flush");
    assert.equal((await change).text, "bob, edited");
    assert.equal(warnings.length, 7);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

Deno.test("peer conv: a change re-sent under its id (a lost ack) applies once; an earlier version's plain text is a text", async () => {
  const store = await PeerStore.open(null, "alice");
  const events: BackendEvent[] = [];
  const conv = linklessConv(store, { now: () => 1_000_000 }, events);
  const NO_WRITES = { put: {}, del: [] };
  const seal = (p: Payload) => utf8.encode(JSON.stringify(p));
  try {
    const ref = newMid();
    const [got] = await conv.received("bob", ref, 999_000, utf8.encode("from 0.2, no payload"), NO_WRITES);
    assert.equal(got?.type === "message" && got.message.text, "from 0.2, no payload");
    const mid = newMid();
    const edit = (text: string) =>
      conv.received("bob", mid, 999_500, seal({ v: 1, k: "edit", mid, ref, text }), NO_WRITES);
    assert.equal((await edit("edited")).length, 1);
    assert.deepEqual(await edit("edited again"), []);
    assert.equal(store.local.byMid("bob", ref)!.text, "edited");
    assert.deepEqual((await conv.client.changes.editsOf(ref)).map((e) => e.text), ["from 0.2, no payload"]);
    assert.deepEqual(events, []);
  } finally {
    store.close();
  }
});

Deno.test("peer conv: a text or a setting that comes again (same sender and id) is saved and told once", async () => {
  const store = await PeerStore.open(null, "alice");
  const conv = linklessConv(store, { now: () => 1_000_000 }, []);
  const NO_WRITES = { put: {}, del: [] };
  const seal = (p: Payload) => utf8.encode(JSON.stringify(p));
  try {
    const [text, setting] = [newMid(), newMid()];
    const both = [
      () =>
        conv.received("bob", text, 999_000, seal({ v: 1, k: "text", mid: text, text: "once" }), NO_WRITES),
      () =>
        conv.received(
          "bob",
          setting,
          999_100,
          seal({ v: 1, k: "expire", mid: setting, seconds: 60 }),
          NO_WRITES,
        ),
    ];
    for (const r of both) assert.deepEqual((await r()).map((e) => e.type), ["message"]);
    for (const r of both) assert.deepEqual(await r(), [], "the copy is nothing");
    assert.deepEqual(store.local.list("alice", 0).map((m) => m.text), ["once", expiryText(60)]);
  } finally {
    store.close();
  }
});

Deno.test("peer conv: the edit window is 24 hours, counted to the receiver's clock and to the sender's", async () => {
  const store = await PeerStore.open(null, "alice");
  const events: BackendEvent[] = [];
  const clock = new ManualClock();
  const conv = linklessConv(store, clock, events);
  const NO_WRITES = { put: {}, del: [] };
  const seal = (p: Payload) => utf8.encode(JSON.stringify(p));
  const DAY = 24 * 3600_000; // the rule's number written out: a longer or shorter window fails here
  try {
    // Received: bob's text, then his edits of it, timed by alice's clock: each claims to be as old as
    // the text (a peer's word on its time is not taken).
    const ref = newMid(), sent = clock.now();
    const text = seal({ v: 1, k: "text", mid: ref, text: "lunch at noon?" });
    await conv.received("bob", ref, sent, text, NO_WRITES);
    const edit = (text: string) => {
      const mid = newMid();
      return conv.received("bob", mid, sent, seal({ v: 1, k: "edit", mid, ref, text }), NO_WRITES);
    };
    clock.advance(DAY);
    assert.deepEqual(
      (await edit("lunch at one?")).map((e) => e.type),
      ["message.changed"],
      "at the window's end",
    );
    clock.advance(1);
    const [late] = await edit("lunch at two?");
    assert.ok(late?.type === "notice" && /edit window/.test(late.text), JSON.stringify(late));
    assert.equal(store.local.byMid("bob", ref)!.text, "lunch at one?", "the late edit changed nothing");
    // Made here: alice's own text to bob, edited by her node at the window's end and a millisecond after.
    store.putPeer({ name: "bob", identity: publicIdentity(await generateIdentity()), verified: true });
    const mine = conv.client.outgoing!.create(dm("bob"), "see you there", { mid: newMid() });
    conv.session.held("bob", mine.mid);
    clock.advance(DAY);
    assert.equal(
      (await conv.client.changes.changeMessage(mine.mid, { kind: "edit", text: "see you at one" })).text,
      "see you at one",
    );
    clock.advance(1);
    await assert.rejects(
      conv.client.changes.changeMessage(mine.mid, { kind: "edit", text: "see you at two" }),
      /edit window/,
    );
  } finally {
    store.close();
  }
});

Deno.test("peer conv: the edit window runs between the sealed times — an edit that waited is taken as its sender took it", async () => {
  const store = await PeerStore.open(null, "alice");
  const events: BackendEvent[] = [];
  const clock = new ManualClock();
  const conv = linklessConv(store, clock, events);
  const NO_WRITES = { put: {}, del: [] };
  const seal = (p: Payload) => utf8.encode(JSON.stringify(p));
  const H = 3600_000;
  try {
    const ref = newMid(), sent = clock.now();
    await conv.received(
      "bob",
      ref,
      sent,
      seal({ v: 1, k: "text", mid: ref, text: "lunch at noon?", at: sent }),
      NO_WRITES,
    );
    const edit = (text: string, at: number) => {
      const mid = newMid();
      return conv.received("bob", mid, at, seal({ v: 1, k: "edit", mid, ref, text, at }), NO_WRITES);
    };
    clock.advance(30 * H); // bob was away: his edit, sealed 23 h after his text, arrives 30 h after it
    assert.deepEqual((await edit("lunch at one?", sent + 23 * H)).map((e) => e.type), ["message.changed"]);
    const [late] = await edit("lunch at two?", sent + 25 * H);
    assert.ok(late?.type === "notice" && /edit window/.test(late.text), JSON.stringify(late));
    assert.equal(store.local.byMid("bob", ref)!.text, "lunch at one?");
    // Made here: the edit carries the time it was made, the text the time it was written.
    store.putPeer({ name: "bob", identity: publicIdentity(await generateIdentity()), verified: true });
    const mine = conv.client.outgoing!.create(dm("bob"), "see you there", { mid: newMid() });
    conv.session.held("bob", mine.mid);
    assert.equal(store.local.byMid("alice", mine.mid)?.sentAt, clock.now(), "its sealed time kept");
  } finally {
    store.close();
  }
});

Deno.test("peer conv: a setting line is no text — its sender's node refuses to change it, the peer refuses a forged change", async () => {
  const [a, b] = [await node("alice"), await node("bob")];
  try {
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    const line = arrives(b, "alice", expiryText(3600));
    const set = await a.client.changes.setExpiry(dm("bob"), 3600);
    assert.equal(set.setting, true);
    await line;
    for (const n of [a, b]) assert.equal(held(n, "alice", set.mid).setting, true, n.name);
    const changes = [
      { kind: "edit" as const, text: "forged" },
      { kind: "delete" as const },
      { kind: "react" as const, emoji: "👍", on: true },
    ];
    for (const c of changes) {
      await assert.rejects(async () => (await a.client.changes.changeMessage(set.mid, c)), {
        code: "setting_line",
        message: "A setting line cannot be edited, deleted or reacted to",
      });
    }
    await assert.rejects(async () => (await b.client.changes.react(set.mid, "👍")), { code: "setting_line" });
    // Past the node's checks: alice queues changes of her own line by hand, as a hostile peer would.
    const warnings: string[] = [];
    b.on((e) => e.type === "notice" && e.level === "warn" && warnings.push(e.text));
    let ts = a.clock.now() - 10_000;
    for (const c of changes) {
      const mid = newMid();
      const p: Payload = c.kind === "edit"
        ? { v: 1, k: "edit", mid, ref: set.mid, text: c.text }
        : c.kind === "delete"
        ? { v: 1, k: "delete", mid, ref: set.mid }
        : { v: 1, k: "react", mid, ref: set.mid, emoji: c.emoji, on: c.on };
      queue(a, "bob", mid, ts, p);
      a.client.changes.queued(a.store.local.pending(mid)!);
      ts++;
    }
    const done = arrives(b, "alice", "done");
    await say(a, "bob", "done");
    await done;
    assert.equal(warnings.length, 3, warnings.join("\n"));
    assert.ok(warnings.every((w) => /setting line, not a text/.test(w)), warnings.join("\n"));
    const kept = held(b, "alice", set.mid);
    assert.equal(kept.text, expiryText(3600));
    for (const k of ["edited", "reactions", "deleted"] as const) assert.equal(kept[k], undefined, k);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("peer conv: a change of my text whose ack was lost (still in my outbox) confirms it and applies", async () => {
  const store = await PeerStore.open(null, "alice");
  const events: BackendEvent[] = [];
  const conv = linklessConv(store, { now: () => 1_000_000 }, events);
  const seal = (p: Payload) => utf8.encode(JSON.stringify(p));
  try {
    const ref = newMid();
    store.local.addPending(
      { mid: ref, ts: 990_000, to: { kind: "user", name: "bob" }, text: "hi bob" },
      true,
    );
    const mid = newMid();
    const react = seal({ v: 1, k: "react", mid, ref, emoji: "👍", on: true });
    const got = await conv.received("bob", mid, 999_000, react, { put: {}, del: [] });
    assert.deepEqual(events.filter((e) => e.type === "notice"), [], "not refused");
    assert.equal(got[0]?.type, "message.changed");
    const held = store.local.byMid("alice", ref)!;
    assert.equal(held.text, "hi bob");
    assert.deepEqual(held.reactions, { "👍": ["bob"] });
    assert.equal(store.local.pending(ref), undefined, "out of the outbox, into the history");
    // Carol's change of a text I wrote to bob does not confirm it (and is refused as before).
    const other = newMid();
    store.local.addPending(
      { mid: other, ts: 991_000, to: { kind: "user", name: "bob" }, text: "to bob" },
      true,
    );
    const m2 = newMid();
    await conv.received(
      "carol",
      m2,
      999_100,
      seal({ v: 1, k: "react", mid: m2, ref: other, emoji: "👍", on: true }),
      {
        put: {},
        del: [],
      },
    );
    assert.ok(store.local.pending(other), "still waiting for bob");
  } finally {
    store.close();
  }
});

Deno.test("peer conv: a room's topic (or key) from a peer is refused with a warning and saved as nothing", async () => {
  const store = await PeerStore.open(null, "alice");
  const conv = linklessConv(store, { now: () => 1_000_000 }, []);
  const NO_WRITES = { put: {}, del: [] };
  try {
    const mid = newMid();
    const body = utf8.encode(JSON.stringify({ v: 1, k: "topic", mid, text: "a topic in a DM" }));
    const got = await conv.received("bob", mid, 999_000, body, NO_WRITES);
    assert.equal(got.length, 1);
    assert.notEqual(got[0]!.type, "message", JSON.stringify(got));
    assert.match(JSON.stringify(got), /no place in peer mode/);
    assert.equal(store.local.byMid("bob", mid), undefined, "nothing saved");
  } finally {
    store.close();
  }
});
