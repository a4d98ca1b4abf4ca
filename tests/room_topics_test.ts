/**
 * Room topics end to end through a real server (core/room_topics.ts, e2e/apply.ts `receiveTopic`):
 * a member sets the topic, every member's client shows it as the setter's line and holds it; a
 * member invited later gets it once (the others see nothing new); a cleared topic is gone; bad
 * topics are refused before anything is sent; a topic forged into a DM, or one that is too long,
 * is refused by the receiving codec and changes nothing. The server stores only sealed bodies.
 */
import assert from "node:assert/strict";
import type { ChatMessage } from "../lib/client/backend.ts";
import { randomId } from "../lib/common/random.ts";
import { handOut } from "../lib/client/e2e/mod.ts";
import { eventually, inbox, scriptedCli, startTestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

const dev = { kind: "room" as const, name: "dev" };
const topicLines = (ms: ChatMessage[]) => ms.filter((m) => m.setting && m.topic !== undefined);

test("room topics: set by a member, held by all, sent once more to a member invited later, cleared", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob"), c = await t.e2eClient("carol");
    const bi = inbox(b.client), ci = inbox(c.client);
    for (const x of [a, b, c]) await x.client.sync(); // live delivery from here
    await a.client.commands.createRoom("dev", ["bob"]);
    assert.equal(await a.client.rooms.topic!("dev"), null, "no topic yet");

    const line = await a.client.rooms.setTopic!("#dev", "Release on Friday");
    assert.equal(line.setting, true);
    assert.equal(line.topic, "Release on Friday");
    assert.equal(line.text, "✎ topic: Release on Friday");
    assert.deepEqual(await a.client.rooms.topic!("dev"), {
      text: "Release on Friday",
      by: "alice",
      at: line.ts,
    });
    await eventually(() => topicLines(bi.msgs).length === 1, 5000, "bob's topic line");
    assert.equal(topicLines(bi.msgs)[0]!.text, "✎ topic: Release on Friday");
    assert.deepEqual(await b.client.rooms.topic!("dev"), {
      text: "Release on Friday",
      by: "alice",
      at: line.ts,
    });
    // The server holds the sealed body only.
    const stored = await t.srv.core.store.pending("bob", 0, 100);
    assert.ok(stored.length > 0 && stored.every((m) => !new TextDecoder().decode(m.body).includes("Friday")));

    // Carol, invited later, cannot read the room's earlier messages: the inviter sends the topic again,
    // with the time it was set. It shows for her; bob, who holds it, gets no second line.
    await a.client.rooms.invite("dev", "carol");
    await eventually(() => topicLines(ci.msgs).length === 1, 5000, "carol's topic line");
    assert.deepEqual(await c.client.rooms.topic!("dev"), {
      text: "Release on Friday",
      by: "alice",
      at: line.ts,
    });
    const after = await a.client.send(dev, "a line after the invite");
    await eventually(() => bi.msgs.some((m) => m.mid === after.mid), 5000, "bob's next line");
    assert.equal(topicLines(bi.msgs).length, 1, "no second topic line for bob");
    assert.equal(bi.notices.filter((n) => /could not|unreadable/i.test(n)).length, 0, bi.notices.join("\n"));
    assert.equal(
      topicLines(a.store.list("alice", 0)).length,
      0,
      "setting lines in history carry no topic field",
    );
    assert.equal(
      a.store.list("alice", 0).filter((m) => m.setting).length,
      1,
      "alice's history: her one line",
    );

    // Bad topics are refused before anything is sent.
    await assert.rejects(b.client.rooms.setTopic!("dev", "two\nlines"), /one line/);
    await assert.rejects(
      b.client.rooms.setTopic!("dev", "x".repeat(301)),
      /at most 300 characters \(this one has 301\)/,
    );
    await assert.rejects(
      b.client.rooms.setTopic!("nosuchroom", "hi"),
      (e: Error & { code?: string }) => !!e.code,
    );

    // Any member may change it; clearing it is a line too.
    await b.client.rooms.setTopic!("dev", "Release moved to Monday");
    await eventually(
      async () => (await c.client.rooms.topic!("dev"))?.by === "bob",
      5000,
      "bob's topic at carol's",
    );
    const cleared = await c.client.rooms.setTopic!("dev", "");
    assert.equal(cleared.text, "✎ the topic is cleared");
    await eventually(async () => (await a.client.rooms.topic!("dev")) === null, 5000, "cleared at alice's");
    await eventually(async () => (await b.client.rooms.topic!("dev")) === null, 5000, "cleared at bob's");

    // Kept in the folder: a new process of bob's folder reads it.
    await a.client.rooms.setTopic!("dev", "kept");
    await eventually(async () => (await b.client.rooms.topic!("dev"))?.text === "kept", 5000, "bob has it");
    await b.client.close();
    const b2 = await t.e2eClient("bob", { register: false });
    assert.equal((await b2.client.rooms.topic!("dev"))?.text, "kept");
  } finally {
    await t.stop();
  }
});

test("room topics: a topic forged into a DM, or one too long, is refused by the receiver and changes nothing", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob");
    const ai = inbox(a.client);
    await a.client.commands.createRoom("dev", ["bob"]);
    await a.client.rooms.setTopic!("dev", "the real one");
    await b.client.sync();
    // Bob seals topics himself, past his client's checks (as a modified client would).
    const forge = async (to: { kind: "user" | "room"; name: string }, text: string) => {
      const mid = randomId(undefined, 12);
      const s = await b.codec.sealSetting(to, mid, { kind: "topic", text });
      await handOut(b.codec, b.client.link, s.handouts);
      await b.client.conn.request("send", { to, mid, ...(s.devices ? { devices: s.devices } : {}) }, s.body);
    };
    await forge({ kind: "user", name: "alice" }, "a DM topic");
    await forge(dev, "y".repeat(301));
    await forge(dev, "a\nb");
    await a.client.sync();
    await eventually(() => ai.notices.length >= 3, 5000, "three refusals told");
    assert.deepEqual(ai.notices.map((n) => n.replace(/^Could not read message \d+ from bob: /, "")), [
      "A room's topic arrived in a direct message",
      "A malformed topic",
      "A malformed topic",
    ]);
    assert.equal((await a.client.rooms.topic!("dev"))?.text, "the real one");
    assert.equal(topicLines(ai.msgs).length, 0);
  } finally {
    await t.stop();
  }
});

test("room topics: parley room topic shows, sets and clears; room list --json carries it; room invite sends it and the time on; parley expire TARGET says the time", async () => {
  const t = await startTestServer();
  try {
    const cli = (user: string, ...argv: string[]) => scriptedCli(t, user, argv);
    for (const u of ["alice", "bob", "carol"]) assert.equal((await cli(u, "register")).code, 0);
    assert.equal((await cli("alice", "room", "create", "dev", "bob")).code, 0);
    assert.equal((await cli("alice", "room", "topic", "#dev")).out, "#dev has no topic");
    const set = await cli("alice", "room", "topic", "dev", "Release", "on", "Friday");
    assert.equal(set.out, "Set the topic of #dev: Release on Friday", set.err);
    assert.match(
      (await cli("bob", "room", "topic", "dev")).out,
      /^#dev topic: Release on Friday \(set by alice, \d{4}-.*Z\)$/,
    );
    const listed = JSON.parse((await cli("bob", "room", "list", "--json")).out);
    assert.equal(listed[0].topic.text, "Release on Friday");
    assert.match((await cli("bob", "read", "--since", "1h")).out, /alice.*✎ topic: Release on Friday/);
    assert.equal((await cli("bob", "expire", "#dev")).out, "Messages to #dev do not disappear");
    assert.equal((await cli("alice", "expire", "#dev", "1d")).code, 0);
    assert.equal((await cli("bob", "expire", "#dev")).out, "Messages to #dev disappear after 1d");
    assert.equal((await cli("alice", "room", "invite", "dev", "carol")).code, 0);
    assert.equal(
      (await cli("carol", "expire", "#dev")).out,
      "Messages to #dev disappear after 1d",
      "sent on",
    );
    assert.equal(
      JSON.parse((await cli("carol", "room", "topic", "dev", "--json")).out).topic.text,
      "Release on Friday",
    );
    const both = await cli("alice", "room", "topic", "dev", "x", "--clear");
    assert.notEqual(both.code, 0);
    assert.match(both.err, /Give a topic or --clear, not both/);
    const notMine = await cli("carol", "room", "topic", "ops", "hi");
    assert.match(notMine.err, /You are not a member of #ops/);
    const long = await cli("bob", "room", "topic", "dev", "z".repeat(301));
    assert.match(long.err, /at most 300 characters/);
    assert.equal((await cli("bob", "room", "topic", "dev", "--clear")).out, "Cleared the topic of #dev");
    assert.equal((await cli("carol", "room", "topic", "dev")).out, "#dev has no topic");
    assert.deepEqual(JSON.parse((await cli("carol", "room", "topic", "dev", "--json")).out), {
      room: "dev",
      topic: null,
    });
  } finally {
    await t.stop();
  }
});

test("room settings: a member invited later learns the room's disappearing time too, so what they send disappears", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob"), c = await t.e2eClient("carol");
    const bi = inbox(b.client), ci = inbox(c.client);
    for (const x of [a, b, c]) await x.client.sync();
    await a.client.commands.createRoom("dev", ["bob"]);
    await a.client.changes.setExpiry(dev, 3600);
    await eventually(() => bi.msgs.some((m) => m.setting), 5000, "bob's expiry line");
    await a.client.rooms.invite("dev", "carol");
    await eventually(
      () => ci.msgs.some((m) => m.setting && /disappear/.test(m.text)),
      5000,
      "carol's expiry line",
    );
    assert.equal(c.store.expiryOf("r:dev"), 3600, "carol holds the room's time");
    const mine = await c.client.send(dev, "carol's first line");
    await eventually(() => bi.msgs.some((m) => m.mid === mine.mid), 5000, "bob gets carol's line");
    const got = bi.msgs.find((m) => m.mid === mine.mid)!;
    assert.equal(got.expires, got.ts + 3600_000, "it disappears like every line of the room");
    assert.equal(bi.msgs.filter((m) => m.setting).length, 1, "bob, who held the time, sees no second line");
  } finally {
    await t.stop();
  }
});
