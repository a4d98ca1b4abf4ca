/**
 * LiveBackend (the full-screen client's backend): the offline queue is replayed as events, what
 * was shown is acknowledged in batches, and a dropped connection is re-established by itself
 * (but not after a kick).
 */
import assert from "node:assert/strict";
import type { BackendEvent } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { LiveBackend } from "../lib/client/core/live_backend.ts";
import { eventually, startTestServer, testKdf, type TestServer } from "./helpers.ts";

async function login(t: TestServer, user: string): Promise<ChatClient> {
  const conn = await t.connect();
  return await ChatClient.login({
    conn,
    server: `127.0.0.1:${t.port}`,
    user,
    password: `pw-${user}-secret`,
    kdf: testKdf,
  });
}

Deno.test("LiveBackend replays the queue, acknowledges it, and reconnects after a dropped link", async () => {
  const t = await startTestServer();
  try {
    (await t.client("bob")).close();
    const alice = await t.client("alice");
    await alice.send({ kind: "user", name: "bob" }, "while you were away");
    const events: BackendEvent[] = [];
    const live = new LiveBackend(await login(t, "bob"), () => login(t, "bob"));
    live.on((e) => events.push(e));
    await live.start();
    const texts = () => events.flatMap((e) => (e.type === "message" ? [e.message.text] : []));
    assert.deepEqual(texts(), ["while you were away"]);
    // acknowledged in a batch: the server's queue for bob empties
    await eventually(async () => (await t.srv.core.store.pending("bob", 0, 10)).length === 0, 3000, "ack");

    for (const s of t.srv.hub.sessionsOf("bob")) s.bye("io", "link dropped");
    await eventually(
      () => events.some((e) => e.type === "connection" && e.state === "online"),
      10_000,
      "reconnect",
    );
    await alice.send({ kind: "user", name: "bob" }, "after the reconnect");
    await eventually(() => texts().includes("after the reconnect"), 3000, "live message after reconnect");
    const sent = await live.send({ kind: "user", name: "alice" }, "back");
    assert.ok(sent.seq > 0);

    const kicked = new LiveBackend(await login(t, "alice"), () => login(t, "alice"));
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
