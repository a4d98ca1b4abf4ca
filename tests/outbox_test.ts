/**
 * Issue 34.1, the client part: a message over the server's frame cap must not poison the outbox.
 * The hello says the cap; an over-long text is refused before it is queued, with the limit in the
 * error; a queued message the server refuses as too large is marked failed, never sent again (no
 * reconnect loop), listed by the outbox and removable. Issue 34.14: a one-shot (quiet) session
 * announces no presence and is not in `who`; an interactive one still does.
 */
import assert from "node:assert/strict";
import { BackendError, type BackendEvent } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { ServerSession } from "../lib/client/core/server_session.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { ManualClock } from "../lib/common/clock.ts";
import { eventually, startTestServer, testKdf, type TestServer } from "./helpers.ts";

const CAP = 64 * 1024;
const bob = { kind: "user" as const, name: "bob" };

async function login(
  t: TestServer,
  user: string,
  o: { store?: LocalStore; quiet?: boolean } = {},
): Promise<ChatClient> {
  return await ChatClient.login({ ...await as(t, user), ...o });
}

const as = async (t: TestServer, user: string) => ({
  conn: await t.connect(),
  server: `127.0.0.1:${t.port}`,
  user,
  password: `pw-${user}-secret`,
  kdf: testKdf,
});

/** `c` as a UI's core: `again` logs it in once more after a lost connection. */
function live(c: ChatClient, again: (() => Promise<ServerSession>) | null): ChatClient {
  c.reconnect = again;
  return c;
}

/**
 * Alice's UI client on `store` that does not know the server's frame cap (queued before, or an older
 * server's default) — nor do its reconnects: the server decides what is too large.
 */
async function blindAlice(t: TestServer, store: LocalStore): Promise<ChatClient> {
  const blind = async () => {
    const s = await ServerSession.login(await as(t, "alice"));
    s.maxFrame = 16 * 1024 * 1024;
    return s;
  };
  const c = live(await login(t, "alice", { store }), blind);
  c.session.maxFrame = 16 * 1024 * 1024;
  return c;
}

Deno.test("issue 34.1: the hello gives the frame cap; a longer message is refused before it is queued", async () => {
  const t = await startTestServer({ maxFrame: CAP });
  const store = new LocalStore(":memory:");
  try {
    for (const u of ["alice", "bob"]) (await t.client(u)).close();
    const c = await login(t, "alice", { store });
    assert.equal(c.maxFrame, CAP);
    const ui = live(c, async () => await ServerSession.login(await as(t, "alice")));
    await ui.start();
    const err = await ui.send(bob, "x".repeat(100_000)).then(() => null, (e) => e);
    assert.ok(err instanceof BackendError, String(err));
    assert.equal(err.code, "frame_too_large");
    assert.match(err.message, /too long .*at most \d+ bytes/);
    assert.deepEqual(store.outbox(), [], "nothing was queued");
    assert.equal(c.conn.closed, false, "the connection stays");
    // The scripted send too, and a text under the limit still goes.
    await assert.rejects(c.send(bob, "y".repeat(100_000)), /at most \d+ bytes/);
    assert.ok((await ui.send(bob, "z".repeat(30_000))).seq > 0);
    await ui.close();
  } finally {
    await t.stop();
  }
});

Deno.test("issue 34.1: a queued message the server refuses as too large is marked failed, never resent, droppable", async () => {
  const t = await startTestServer({ maxFrame: CAP });
  const store = new LocalStore(":memory:");
  const blindClient = () => blindAlice(t, store);
  try {
    (await t.client("alice")).close();
    const b = await t.client("bob");
    const got: string[] = [];
    b.on((e) => e.type === "message" && got.push(e.message.text));
    await b.sync();
    const now = Date.now();
    store.addPending({ mid: "big-one-000001", ts: now, to: bob, text: "y".repeat(100_000) });
    store.addPending({ mid: "small-one-0001", ts: now + 1, to: bob, text: "after the big one" });
    const ui = await blindClient();
    const events: BackendEvent[] = [];
    ui.on((e) => events.push(e));
    await ui.start();
    await eventually(() => got.includes("after the big one"), 15_000, "the message behind it");
    const connecting = () => events.filter((e) => e.type === "connection" && e.state === "connecting").length;
    const before = connecting();
    // The fence: a message sent now goes behind anything the outbox would send again, and arrives.
    await ui.send(bob, "fence");
    await eventually(() => got.includes("fence"), 15_000, "the fence");
    assert.equal(connecting(), before, "no reconnect loop");
    assert.ok(before <= 1, `reconnected ${before} times`);
    const out = store.outbox();
    assert.equal(out.length, 1);
    assert.equal(out[0]!.mid, "big-one-000001");
    assert.match(out[0]!.failed ?? "", /cap|too long/i);
    assert.equal(ui.outbox.count(), 0, "nothing waits to be sent again");
    assert.ok(
      events.some((e) => e.type === "message" && e.message.mid === "big-one-000001" && e.message.failed),
      "the screen is told it failed",
    );
    assert.ok(events.some((e) => e.type === "notice" && /\/outbox drop \d+/.test(e.text)));
    const dropped = await ui.outbox.drop(out[0]!.n);
    assert.equal(dropped?.mid, "big-one-000001");
    assert.deepEqual(store.outbox(), []);
    assert.equal(await ui.outbox.drop(out[0]!.n), null);
    await ui.close();
    b.close();
  } finally {
    await t.stop();
  }
});

Deno.test("issue 34.1: a 1.5 MB message the server resets the connection for ends marked failed, not resent", async () => {
  const t = await startTestServer({ maxFrame: CAP });
  const store = new LocalStore(":memory:");
  const blindClient = () => blindAlice(t, store);
  try {
    (await t.client("alice")).close();
    const b = await t.client("bob");
    const got: string[] = [];
    b.on((e) => e.type === "message" && got.push(e.message.text));
    await b.sync();
    store.addPending({ mid: "huge-one-00001", ts: Date.now(), to: bob, text: "z".repeat(1_500_000) });
    const ui = await blindClient();
    const events: BackendEvent[] = [];
    ui.on((e) => events.push(e));
    await ui.start();
    // The refusal is read (frame_too_large), or the connection is reset first: then after 3 drops.
    await eventually(() => store.outbox()[0]?.failed !== undefined, 20_000, "the message marked failed");
    await eventually(
      () => ui.feed.info().some(([k, v]) => k === "connection" && v === "online"),
      10_000,
      "online",
    );
    const connecting = () => events.filter((e) => e.type === "connection" && e.state === "connecting").length;
    const before = connecting();
    await ui.send(bob, "fence"); // behind anything sent again, as above
    await eventually(() => got.includes("fence"), 15_000, "the fence");
    assert.equal(connecting(), before, "no reconnect loop");
    assert.ok(before <= 3, `reconnected ${before} times`);
    assert.match(store.outbox()[0]!.failed!, /cap|dropped/);
    await ui.close();
    b.close();
  } finally {
    await t.stop();
  }
});

Deno.test("issue 34.1: a message the connection drops 3 times in a row while it is sent is marked failed; the rest goes", async () => {
  const t = await startTestServer();
  const store = new LocalStore(":memory:");
  // Stands for a server that resets the connection for this message before its refusal can be read.
  const poisoned = (s: ServerSession) => {
    const request = s.conn.request.bind(s.conn);
    s.conn.request = (kind, fields, body) => {
      const p = request(kind, fields, body);
      if (kind === "send" && fields?.mid === "poison-000001") void s.conn.close();
      return p;
    };
    return s;
  };
  const dropping = async () => poisoned(await ServerSession.login(await as(t, "alice")));
  try {
    (await t.client("alice")).close();
    const b = await t.client("bob");
    const got: string[] = [];
    b.on((e) => e.type === "message" && got.push(e.message.text));
    await b.sync();
    store.addPending({ mid: "poison-000001", ts: Date.now(), to: bob, text: "never goes" });
    store.addPending({ mid: "behind-it-001", ts: Date.now() + 1, to: bob, text: "behind it" });
    const ui = live(await login(t, "alice", { store }), dropping);
    poisoned(ui.session);
    await ui.start();
    await eventually(() => got.includes("behind it"), 20_000, "the message behind it");
    assert.deepEqual(got, ["behind it"]);
    const [e] = store.outbox();
    assert.equal(e?.mid, "poison-000001");
    assert.match(e?.failed ?? "", /dropped each of the 3 times/);
    await ui.close();
    b.close();
  } finally {
    await t.stop();
  }
});

Deno.test("issue 34.14: a quiet (one-shot) session announces no presence and is not in who", async () => {
  const t = await startTestServer();
  try {
    (await t.client("bob")).close();
    const a = await t.client("alice");
    const seen: string[] = [];
    a.on((e) => e.type === "presence" && seen.push(`${e.user} ${e.online ? "on" : "off"}`));
    await a.sync();
    // An event, not a wait for "nothing comes": presence reaches alice in order on her one connection,
    // so whatever came before a marker user's is in `seen` once the marker's is; then it is cleared.
    const marked = async (marker: string) => {
      const m = await t.client(marker);
      await eventually(() => seen.includes(`${marker} on`), 3000, `${marker} comes online`);
      const before = seen.slice(0, seen.indexOf(`${marker} on`));
      m.close();
      await eventually(() => seen.includes(`${marker} off`), 3000, `${marker} leaves`);
      seen.length = 0;
      return before;
    };
    await marked("dave"); // alice's own, and bob's registration
    await t.srv.core.store.setRole("alice", "admin");
    const admin = await login(t, "alice", { quiet: true });
    for (let i = 0; i < 3; i++) {
      const q = await login(t, "bob", { quiet: true });
      assert.deepEqual((await q.who()).map((p) => p.user), ["alice"], "who does not list the quiet session");
      const us = (await admin.commands.users()) as { user: string; online?: boolean }[];
      assert.equal(us.find((u) => u.user === "bob")?.online, false, "nor the admin's user list");
      await q.send({ kind: "user", name: "alice" }, `one-shot ${i}`);
      await q.setStatus("busy");
      await q.close();
    }
    assert.deepEqual(await marked("carol"), [], "no presence for one-shot sessions");
    const i = await login(t, "bob");
    await eventually(() => seen.includes("bob on"), 3000, "an interactive session still comes online");
    const q = await login(t, "bob", { quiet: true });
    await q.close();
    await i.close();
    await eventually(() => seen.includes("bob off"), 3000, "and goes offline when it leaves");
    assert.deepEqual(seen, ["bob on", "bob off"]);
    await admin.close();
    a.close();
  } finally {
    await t.stop();
  }
});

Deno.test("issue 35: the client's injected clock stamps a message kept in the outbox while offline", async () => {
  const t = await startTestServer();
  const store = new LocalStore(":memory:");
  const clock = new ManualClock(Date.UTC(2030, 5, 1, 9, 30));
  try {
    for (const u of ["alice", "bob"]) (await t.client(u)).close();
    const c = await ChatClient.login({
      conn: await t.connect(),
      server: `127.0.0.1:${t.port}`,
      user: "alice",
      password: "pw-alice-secret",
      kdf: testKdf,
      store,
      clock,
    });
    const ui = live(c, null);
    await ui.start();
    await c.conn.close();
    clock.advance(1234);
    const m = await ui.send(bob, "written offline");
    assert.equal(m.pending, true);
    assert.equal(m.ts, Date.UTC(2030, 5, 1, 9, 30) + 1234);
    assert.deepEqual(store.outbox().map((e) => e.ts), [m.ts]);
    await ui.close();
  } finally {
    await t.stop();
  }
});
