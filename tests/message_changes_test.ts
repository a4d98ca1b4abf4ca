/**
 * Issue 39.1-4: reply, edit, delete for everyone and reactions, end to end in DMs and rooms, on the
 * sender's other device, in scripted output; a forged change (wrong sender, another conversation,
 * a message not held, after the edit window) is refused and changes nothing. The edit window (24 h
 * after the message was sent) is checked by the sender's client and by the recipient's, on a
 * hand-driven clock: an edit at its last millisecond applies, one a millisecond later does not; it
 * runs between the times sealed in the text and in the edit, so a server stamping either later than
 * it was sealed moves nothing (issue 69 N4).
 */
import assert from "node:assert/strict";
import { randomId } from "../lib/common/random.ts";
import { ManualClock } from "../lib/common/clock.ts";
import {
  collect,
  eventually,
  inbox,
  runProgram,
  scriptedCli,
  startTestServer,
  type TestServer,
} from "./helpers.ts";
import { test } from "./deadline.ts";

const bob = { kind: "user" as const, name: "bob" };
const alice = { kind: "user" as const, name: "alice" };

test("changes: a reply names its message; an edit, reactions and a deletion reach the other side", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob");
    const changed = collect(b.client, "message.changed");
    const m = await a.client.send(bob, "lunch at noon?");
    const [got] = await b.client.sync();
    assert.equal(got?.text, "lunch at noon?");
    const r = await b.client.send(alice, "yes!", { replyTo: m.mid });
    const [reply] = await a.client.sync();
    assert.equal(reply?.replyTo, m.mid, "the reply names the message it answers");
    assert.equal(a.store.byMid("bob", r.mid)?.replyTo, m.mid, "kept in the history");

    await a.client.changes.changeMessage(m.mid, { kind: "edit", text: "lunch at one?" });
    await b.client.sync();
    const edited = b.store.byMid("alice", m.mid)!;
    assert.equal(edited.text, "lunch at one?");
    assert.ok(edited.edited !== undefined, "marked edited");
    assert.deepEqual(b.store.editsOf(edited.seq).map((e) => e.text), ["lunch at noon?"], "the earlier text");
    assert.equal(a.store.byMid("alice", m.mid)?.text, "lunch at one?", "the sender's own copy too");

    await b.client.changes.react(m.mid, "👍");
    await a.client.sync();
    assert.deepEqual(a.store.byMid("alice", m.mid)?.reactions, { "👍": ["bob"] });
    await b.client.changes.react(m.mid, "👍"); // the same reaction again takes it back
    await a.client.sync();
    assert.equal(a.store.byMid("alice", m.mid)?.reactions, undefined);

    await a.client.changes.changeMessage(m.mid, { kind: "delete" });
    await b.client.sync();
    const gone = b.store.byMid("alice", m.mid)!;
    assert.equal(gone.deleted, true);
    assert.equal(gone.text, "", "the text is removed, not hidden");
    assert.deepEqual(b.store.editsOf(gone.seq), [], "and its earlier versions");
    await assert.rejects(a.client.changes.changeMessage(m.mid, { kind: "edit", text: "again" }), {
      code: "deleted",
    });
    assert.ok(changed.items.length >= 2, "the surfaces hear of each change");
  } finally {
    await t.stop();
  }
});

test("changes: in a room, members see edits and reactions; only the sender may edit", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob"), c = await t.e2eClient("carol");
    for (const x of [b, c]) await x.client.sync();
    await a.client.commands.createRoom("den", ["bob", "carol"]);
    for (const x of [b, c]) await x.client.sync();
    const room = { kind: "room" as const, name: "den" };
    const m = await a.client.send(room, "standup in 5");
    for (const x of [b, c]) await x.client.sync();
    await a.client.changes.changeMessage(m.mid, { kind: "edit", text: "standup in 10" });
    await c.client.changes.react(m.mid, "🎉");
    for (const x of [a, b, c]) await x.client.sync();
    for (const x of [b, c]) assert.equal(x.store.byMid("alice", m.mid)?.text, "standup in 10");
    for (const x of [a, b]) assert.deepEqual(x.store.byMid("alice", m.mid)?.reactions, { "🎉": ["carol"] });
    await assert.rejects(b.client.changes.changeMessage(m.mid, { kind: "edit", text: "x" }), {
      code: "not_yours",
    });
    // The room's admin (alice, by its signed log) deletes carol's message for everyone; bob, a
    // member, may not delete alice's, and a forged deletion of his is refused by every member.
    const spam = await c.client.send(room, "buy cheap watches");
    for (const x of [a, b]) await x.client.sync();
    await a.client.changes.changeMessage(spam.mid, { kind: "delete" });
    for (const x of [b, c]) await x.client.sync();
    for (const x of [a, b, c]) assert.equal(x.store.byMid("carol", spam.mid)?.deleted, true);
    await assert.rejects(b.client.changes.changeMessage(m.mid, { kind: "delete" }), { code: "not_yours" });
    const mid = randomId(undefined, 12);
    const forged = await b.codec.sealChange(room, mid, m.mid, { kind: "delete" });
    await b.client.conn.request("send", { to: room, mid }, forged.body);
    for (const x of [a, c]) await x.client.sync();
    for (const x of [a, c]) assert.equal(x.store.byMid("alice", m.mid)?.deleted, undefined, "not deleted");
  } finally {
    await t.stop();
  }
});

/** Bob seals a change himself (as a modified client would) and sends it: the codec must refuse it. */
async function forge(
  t: TestServer,
  b: Awaited<ReturnType<TestServer["e2eClient"]>>,
  to: { kind: "user"; name: string },
  ref: string,
  c: Parameters<NonNullable<typeof b.codec.sealChange>>[3],
) {
  void t;
  const mid = randomId(undefined, 12);
  const s = await b.codec.sealChange(to, mid, ref, c);
  await b.client.conn.request("send", { to, mid, ...(s.devices ? { devices: s.devices } : {}) }, s.body);
}

test("changes: forged edits and deletions are refused and change nothing", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob"), c = await t.e2eClient("carol");
    const ai = inbox(a.client);
    const m = await a.client.send(bob, "the plan is A");
    await b.client.sync();
    const toCarol = await a.client.send({ kind: "user", name: "carol" }, "carol only");
    // Bob edits and deletes alice's message (wrong sender), then reacts to a message of another
    // conversation, and to one that does not exist.
    await forge(t, b, alice, m.mid, { kind: "edit", text: "the plan is B" });
    await forge(t, b, alice, m.mid, { kind: "delete" });
    await forge(t, b, alice, toCarol.mid, { kind: "react", emoji: "👍", on: true });
    await forge(t, b, alice, "nonexistent1", { kind: "react", emoji: "👍", on: true });
    await a.client.sync();
    const mine = a.store.byMid("alice", m.mid)!;
    assert.equal(mine.text, "the plan is A");
    assert.equal(mine.edited, undefined);
    assert.equal(mine.deleted, undefined);
    assert.equal(a.store.byMid("alice", toCarol.mid)?.reactions, undefined);
    // (The forged deletion names no message of bob's: consumed silently, like one taken back early.)
    await eventually(() => ai.notices.length >= 3, 3000, "three refusals told");
    assert.match(ai.notices.join("\n"), /does not hold|not theirs|another conversation/);
    void c;
  } finally {
    await t.stop();
  }
});

test("changes: the edit window is 24 hours, at the sender's client and at the recipient's (server time)", async () => {
  // One hand-driven clock for the server (the time it stamps) and both clients (the sender's check).
  const clock = new ManualClock(Date.now());
  const t = await startTestServer({}, { clock });
  try {
    const a = await t.e2eClient("alice", { clock }), b = await t.e2eClient("bob", { clock });
    const ai = inbox(a.client);
    const m = await b.client.send(alice, "lunch at noon?");
    await a.client.sync();
    // 24 hours to the millisecond after it was sent, its sender may still edit it, and it is taken.
    clock.advance(24 * 3600_000); // the rule's number written out: a longer or shorter window fails here
    await b.client.changes.changeMessage(m.mid, { kind: "edit", text: "lunch at one?" });
    await a.client.sync();
    assert.equal(a.store.byMid("bob", m.mid)?.text, "lunch at one?", "an edit at the window's end applies");
    // One millisecond later the sender's client refuses…
    clock.advance(1);
    await assert.rejects(b.client.changes.changeMessage(m.mid, { kind: "edit", text: "lunch at two?" }), {
      code: "edit_window",
    });
    // …and an edit sealed past that check (a modified client) is refused by the recipient's.
    await forge(t, b, alice, m.mid, { kind: "edit", text: "lunch at three?" });
    await a.client.sync();
    assert.equal(a.store.byMid("bob", m.mid)?.text, "lunch at one?", "the late edit changed nothing");
    await eventually(() => ai.notices.some((n) => /edit window/.test(n)), 3000, "the late edit told");
  } finally {
    await t.stop();
  }
});

/**
 * Issue 69 N4: the server stamps with a clock of its own (`server`), each client seals with its own
 * (`sender`, `recipient`): the window runs from the original's sealed time to the edit's.
 */
async function threeClocks() {
  const t0 = Date.now();
  const server = new ManualClock(t0), sender = new ManualClock(t0), recipient = new ManualClock(t0);
  const t = await startTestServer({}, { clock: server });
  const a = await t.e2eClient("alice", { clock: recipient }), b = await t.e2eClient("bob", { clock: sender });
  /** Sets each clock to `t0` plus its hours. */
  const at = (h: { server: number; sender: number; recipient: number }) => {
    for (const [c, hours] of [[server, h.server], [sender, h.sender], [recipient, h.recipient]] as const) {
      c.set(t0 + hours * 3600_000);
    }
  };
  return { t, a, b, at, t0 };
}

test("changes (issue 69 N4): an edit sealed 23 h after its text is taken though the server stamps it 30 h after", async () => {
  const { t, a, b, at } = await threeClocks();
  try {
    const ai = inbox(a.client);
    const m = await b.client.send(alice, "lunch at noon?");
    await a.client.sync();
    at({ sender: 23, server: 30, recipient: 30 }); // the server held it, or stamps it late
    await b.client.changes.changeMessage(m.mid, { kind: "edit", text: "lunch at one?" });
    await a.client.sync();
    assert.equal(
      a.store.byMid("bob", m.mid)?.text,
      "lunch at one?",
      `the server's stamp moved the window: ${ai.notices.join("; ")}`,
    );
  } finally {
    await t.stop();
  }
});

test("changes (issue 69 N4): an edit sealed 25 h after its text is refused though the server stamped the text 10 h late", async () => {
  const { t, a, b, at, t0 } = await threeClocks();
  try {
    const ai = inbox(a.client);
    at({ sender: 0, server: 10, recipient: 10 }); // sealed at 0 h, stamped (and received) at 10 h
    const m = await b.client.send(alice, "lunch at noon?");
    await a.client.sync();
    assert.equal(a.store.byMid("bob", m.mid)?.ts, t0 + 10 * 3600_000, "stamped late");
    at({ sender: 25, server: 25, recipient: 25 });
    // The sender's own client refuses, from the time it sealed…
    await assert.rejects(b.client.changes.changeMessage(m.mid, { kind: "edit", text: "lunch at two?" }), {
      code: "edit_window",
    });
    // …and so does the recipient's when a modified client seals it all the same.
    await forge(t, b, alice, m.mid, { kind: "edit", text: "lunch at three?" });
    await a.client.sync();
    assert.equal(a.store.byMid("bob", m.mid)?.text, "lunch at noon?", "the late edit changed nothing");
    await eventually(() => ai.notices.some((n) => /edit window/.test(n)), 3000, "the late edit told");
  } finally {
    await t.stop();
  }
});

test("changes: a change replayed under a new id (an older edit sent again) changes nothing", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob");
    const ai = inbox(a.client);
    const m = await b.client.send(alice, "meet at 5");
    await a.client.sync();
    // bob's client seals two edits; the server (or anyone on the path) sends the first one again later.
    const mid1 = randomId(undefined, 12), mid2 = randomId(undefined, 12);
    const e1 = await b.codec.sealChange(alice, mid1, m.mid, { kind: "edit", text: "meet at 6" });
    await b.client.conn.request("send", {
      to: alice,
      mid: mid1,
      ...(e1.devices ? { devices: e1.devices } : {}),
    }, e1.body);
    const e2 = await b.codec.sealChange(alice, mid2, m.mid, { kind: "edit", text: "meet at 7" });
    await b.client.conn.request("send", {
      to: alice,
      mid: mid2,
      ...(e2.devices ? { devices: e2.devices } : {}),
    }, e2.body);
    await a.client.sync();
    assert.equal(a.store.byMid("bob", m.mid)?.text, "meet at 7");
    const again = randomId(undefined, 12);
    await b.client.conn.request("send", {
      to: alice,
      mid: again,
      ...(e1.devices ? { devices: e1.devices } : {}),
    }, e1.body);
    await a.client.sync();
    assert.equal(a.store.byMid("bob", m.mid)?.text, "meet at 7", "the replayed edit changed nothing");
    assert.deepEqual(a.store.editsOf(a.store.byMid("bob", m.mid)!.seq).map((e) => e.text), [
      "meet at 5",
      "meet at 6",
    ]);
    await eventually(() => ai.notices.length >= 1, 3000, "the replay told");
  } finally {
    await t.stop();
  }
});

test("changes: a deleted message is taken back from the server; a member who was offline never gets it", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), c = await t.e2eClient("carol");
    await c.client.sync();
    await c.client.close(); // carol is offline now
    const m = await a.client.send({ kind: "user", name: "carol" }, "oops, wrong person");
    assert.ok(await t.srv.core.store.seqOf("alice", m.mid), "stored for carol");
    await a.client.changes.changeMessage(m.mid, { kind: "delete" });
    assert.equal(await t.srv.core.store.seqOf("alice", m.mid), null, "the server's copy is gone");
    const back = await t.e2eClient("carol", { register: false, home: `${t.dir}/home-carol` });
    const ci = inbox(back.client);
    const got = await back.client.sync();
    assert.deepEqual(got.map((x) => x.text), [], "nothing to show");
    assert.deepEqual(ci.notices, [], "and nothing to complain about");
    assert.equal(back.store.byMid("alice", m.mid), undefined);
  } finally {
    await t.stop();
  }
});

test("disappearing: a conversation's time reaches both ends; its messages leave every store, the server's too", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob");
    const bi = inbox(b.client);
    const set = await a.client.changes.setExpiry(bob, 1);
    assert.match(set.text, /disappear 1s after/);
    const [shown] = await b.client.sync();
    assert.match(shown?.text ?? "", /disappear 1s after/, "the setting is shown to the other side");
    assert.equal(b.store.expiryOf("d:alice:bob"), 1);
    const m = await a.client.send(bob, "self-destructing");
    assert.ok(m.expires && m.expires - m.ts === 1000);
    const r = await b.client.send(alice, "me too"); // the other side's messages disappear as well
    assert.ok(r.expires);
    const [got] = await b.client.sync().then(() =>
      b.store.list("bob", 0, alice).filter((x) => x.mid === m.mid)
    );
    assert.equal(got?.expires, m.ts + 1000);
    assert.ok(await t.srv.core.store.seqOf("alice", m.mid), "stored until its time");
    const later = m.ts + 1500;
    await a.client.sync();
    assert.deepEqual(
      a.client.changes.purgeExpired(later).sort(),
      [m.mid, r.mid].sort(),
      "both sides' messages go",
    );
    assert.equal(a.store.byMidAny(m.mid), undefined, "gone from the sender's history");
    b.client.changes.purgeExpired(later);
    assert.equal(b.store.byMidAny(m.mid), undefined, "and from the recipient's");
    // The sealed body as the server stored it: in the data folder until its time, in no file after.
    const sealed = (await t.srv.core.store.since(0, 1000)).find((x) => x.mid === m.mid)!.body.slice(0, 48);
    assert.ok(folderHas(t.dir, sealed), "the check sees the stored body");
    // The server's clock moved past the message's time by hand (its own, injected), not waited for.
    const core = t.srv.core, clock = core.clock;
    Object.assign(core, { clock: { now: () => Math.max(clock.now(), m.ts + 1100) } });
    try {
      assert.ok((await core.sweepExpired()) >= 1);
    } finally {
      Object.assign(core, { clock });
    }
    assert.equal(await t.srv.core.store.seqOf("alice", m.mid), null, "the server's copy is gone");
    assert.equal(folderHas(t.dir, sealed), false, "the expired body is still in a file of the data folder");
    const copy = `${t.dir}-backup`;
    const bk = await runProgram("server.ts", ["backup", copy, "--data", t.dir]);
    assert.equal(bk.code, 0, bk.err);
    assert.equal(folderHas(copy, sealed), false, "a backup after the expiry holds the body");
    await Deno.remove(copy, { recursive: true });
    await a.client.changes.setExpiry(bob, 0);
    await b.client.sync();
    assert.equal(b.store.expiryOf("d:alice:bob"), 0, "off again");
    assert.equal((await a.client.send(bob, "stays")).expires, undefined);
    assert.deepEqual(bi.notices, []);
  } finally {
    await t.stop();
  }
});

/** Whether any file under `dir` holds `bytes`. */
function folderHas(dir: string, bytes: Uint8Array): boolean {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (
      e.isDirectory ? folderHas(p, bytes) : e.isFile && Buffer.from(Deno.readFileSync(p)).indexOf(bytes) >= 0
    ) {
      return true;
    }
  }
  return false;
}

test("disappearing: a malformed time inside a sealed message is refused", async () => {
  const { decodePayload } = await import("../lib/client/e2e/keys.ts");
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  for (const seconds of [-1, 1.5, 400 * 86400, "1d", null]) {
    assert.throws(
      () => decodePayload(enc({ v: 1, k: "expire", mid: "m1234567", seconds }), "m1234567"),
      SyntaxError,
    );
  }
  for (const x of [0, -5, 2.5, 10 ** 9]) {
    assert.throws(
      () => decodePayload(enc({ v: 1, k: "text", mid: "m1234567", text: "t", x }), "m1234567"),
      SyntaxError,
    );
  }
  assert.equal(
    decodePayload(enc({ v: 1, k: "expire", mid: "m1234567", seconds: 0 }), "m1234567").k,
    "expire",
  );
});

const cli = (t: TestServer, user: string, argv: string[]) => scriptedCli(t, user, argv);

test("changes: the scripted commands (send --reply-to --json, edit, react, edits, delete, read --json)", async () => {
  const t = await startTestServer();
  try {
    for (const u of ["alice", "bob"]) assert.equal((await cli(t, u, ["register"])).code, 0);
    const sent = await cli(t, "alice", ["send", "bob", "see you at 5", "--json"]);
    const id = JSON.parse(sent.out).id as string;
    assert.equal((await cli(t, "bob", ["read", "--json"])).code, 0);
    const r = await cli(t, "bob", ["send", "--reply-to", id, "alice", "ok :thumbsup:", "--json"]);
    assert.equal(r.code, 0, r.err);
    const read = JSON.parse((await cli(t, "alice", ["read", "--json"])).out);
    assert.equal(read[0].reply_to, id);
    assert.equal((await cli(t, "alice", ["edit", id, "see you at 6"])).out, `Edited ${id}`);
    assert.equal((await cli(t, "bob", ["react", id, ":thumbsup:"])).out, `Reacted ${id} 👍`);
    const seen = JSON.parse(
      (await cli(t, "bob", ["read", "--json", "--since", "1h", "--from", "alice"])).out,
    );
    const mine = seen.find((x: { id: string }) => x.id === id);
    assert.equal(mine.text, "see you at 6");
    assert.ok(mine.edited);
    assert.deepEqual(mine.reactions, { "👍": ["bob"] });
    assert.match((await cli(t, "bob", ["edits", id])).out, /see you at 5$/);
    const lines = (await cli(t, "bob", ["read", "--since", "1h", "--from", "alice"])).out;
    assert.match(lines, /see you at 6 \(edited\)/);
    const bad = await cli(t, "bob", ["edit", id, "mine now"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /Only its sender/);
    assert.equal((await cli(t, "alice", ["delete", id])).out, `Deleted ${id}`);
    assert.match(
      (await cli(t, "bob", ["read", "--since", "1h", "--from", "alice"])).out,
      /\(message deleted\)/,
    );
    const usage = await cli(t, "alice", ["edit", "bad id!", "x"]);
    assert.notEqual(usage.code, 0);
    assert.match(usage.err, /by its id/);
  } finally {
    await t.stop();
  }
});
