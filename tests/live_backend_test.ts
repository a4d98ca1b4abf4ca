/**
 * The conversation core as the full-screen client's backend (ChatClient following the feed): the
 * offline queue is replayed as events, what was shown is acknowledged in batches, and a dropped
 * connection is re-established by itself inside the same object (but not after a kick).
 */
import assert from "node:assert/strict";
import { BackendError, type BackendEvent } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { ServerSession } from "../lib/client/core/server_session.ts";
import { eventually, startTestServer, testKdf, type TestServer } from "./helpers.ts";

const as = async (t: TestServer, user: string) => ({
  conn: await t.connect(),
  server: `127.0.0.1:${t.port}`,
  user,
  password: `pw-${user}-secret`,
  kdf: testKdf,
});

/** `user` logged in, reconnecting with a new session of its own. */
async function login(t: TestServer, user: string): Promise<ChatClient> {
  const c = await ChatClient.login(await as(t, user));
  c.reconnect = async () => await ServerSession.login(await as(t, user));
  return c;
}

Deno.test("ChatClient following the feed replays the queue, acknowledges it, and reconnects after a dropped link", async () => {
  const t = await startTestServer();
  try {
    (await t.client("bob")).close();
    const alice = await t.client("alice");
    await alice.send({ kind: "user", name: "bob" }, "while you were away");
    const events: BackendEvent[] = [];
    const live = await login(t, "bob");
    live.on((e) => events.push(e));
    await live.start();
    const texts = () => events.flatMap((e) => (e.type === "message" ? [e.message.text] : []));
    assert.deepEqual(texts(), ["while you were away"]);
    // acknowledged in a batch: the server's queue for bob empties
    await eventually(async () => (await t.srv.core.store.pending("bob", 0, 10)).length === 0, 3000, "ack");

    const [firstConn, firstLink] = [live.conn, live.link];
    for (const s of t.srv.hub.sessionsOf("bob")) s.bye("io", "link dropped");
    await eventually(
      () => events.some((e) => e.type === "connection" && e.state === "online"),
      10_000,
      "reconnect",
    );
    assert.ok(
      live.conn !== firstConn && live.link !== firstLink,
      "the new connection and link, inside the same core",
    );
    await alice.send({ kind: "user", name: "bob" }, "after the reconnect");
    await eventually(() => texts().includes("after the reconnect"), 3000, "live message after reconnect");
    const sent = await live.send({ kind: "user", name: "alice" }, "back");
    assert.ok(sent.seq > 0);

    const kicked = await login(t, "alice");
    const kev: BackendEvent[] = [];
    kicked.on((e) => kev.push(e));
    await kicked.start();
    await t.srv.core.kick("console", "alice");
    await eventually(() => kev.some((e) => e.type === "disconnected"), 3000, "kick seen");
    // The backend's decision is an event: after a plain kick it says how to come back, and does not.
    await eventually(
      () => kev.some((e) => e.type === "notice" && /\/reconnect/.test(e.text)),
      3000,
      "the no-reconnect notice",
    );
    assert.ok(!kev.some((e) => e.type === "connection"), "no reconnect after a kick");
    await kicked.close();
    await live.close();
  } finally {
    await t.stop();
  }
});

Deno.test("ChatClient keeps its codec across a reconnect: the device is proven again and sealed messages still open", async () => {
  const t = await startTestServer();
  try {
    const bob = (await t.e2eClient("bob")).client;
    const alice = (await t.e2eClient("alice")).client;
    bob.reconnect = async () => await ServerSession.login(await as(t, "bob"));
    const events: BackendEvent[] = [];
    bob.on((e) => events.push(e));
    await bob.start();
    const codec = bob.codec;
    for (const s of t.srv.hub.sessionsOf("bob")) s.bye("io", "link dropped");
    await eventually(
      () => events.some((e) => e.type === "connection" && e.state === "online"),
      10_000,
      "reconnect",
    );
    assert.equal(bob.codec, codec, "the same codec");
    await alice.send({ kind: "user", name: "bob" }, "sealed after the reconnect");
    const texts = () => events.flatMap((e) => (e.type === "message" ? [e.message.text] : []));
    await eventually(() => texts().includes("sealed after the reconnect"), 5000, "the message opened");
    const failed = events.filter((e) =>
      e.type === "notice" && /Could not read|Reconnect failed|Encryption/.test(e.text)
    );
    assert.deepEqual(failed, [], "no failure said");
  } finally {
    await t.stop();
  }
});

Deno.test("a reconnect whose setup fails closes that connection before the next attempt", async () => {
  const t = await startTestServer();
  try {
    (await t.client("bob")).close();
    const live = await login(t, "bob");
    const sessions: ServerSession[] = [];
    live.reconnect = async () => {
      const s = await ServerSession.login(await as(t, "bob"));
      sessions.push(s);
      if (sessions.length === 1) { // the first new session's setup fails: restoring the status is refused
        const request = s.conn.request.bind(s.conn);
        s.conn.request = (k, f, b) =>
          k === "status" ? Promise.reject(new BackendError("io", "refused by the test")) : request(k, f, b);
      }
      return s;
    };
    const events: BackendEvent[] = [];
    live.on((e) => events.push(e));
    await live.start();
    await live.setStatus("busy");
    for (const s of t.srv.hub.sessionsOf("bob")) s.bye("io", "link dropped");
    await eventually(
      () => events.some((e) => e.type === "connection" && e.state === "online"),
      15_000,
      "online",
    );
    assert.ok(sessions.length >= 2, "another attempt after the failed one");
    assert.ok(sessions[0]!.conn.closed, "the failed attempt's connection is closed");
    await eventually(
      () => [...t.srv.hub.sessionsOf("bob")].length === 1,
      3000,
      "one session of bob on the server",
    );
  } finally {
    await t.stop();
  }
});
