/**
 * Typing indicators on the wire (issue 14), between real end-to-end encrypting clients (ChatClient
 * over ChatClient) on an in-process server: a typing event shows at the peer (DM and room) and
 * clears on "stopped" and on the next message; it is sealed like a message, so the ratchet steps it
 * takes leave every later message readable, also when the recipient was offline (the server neither
 * stores nor queues it: he never sees a stale one); it never goes to one's own sessions.
 */
import assert from "node:assert/strict";
import type { BackendEvent, Target } from "../lib/client/backend.ts";
import { deviceAuth } from "../lib/client/e2e/keys.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { eventually, startTestServer } from "./helpers.ts";

const toBob: Target = { kind: "user", name: "bob" };
const texts = (ev: BackendEvent[]) => ev.flatMap((e) => (e.type === "message" ? [e.message.text] : []));
const typings = (ev: BackendEvent[]) =>
  ev.flatMap((e) => (e.type === "typing" ? [`${e.from}>${e.to.kind}:${e.to.name}:${e.active}`] : []));

function live(c: ChatClient) {
  const ev: BackendEvent[] = [];
  const b = c;
  b.on((e) => ev.push(e));
  return { b, ev };
}

Deno.test("a DM typing event shows and clears at the peer, never at one's own sessions, and loses no message", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const alice = live(a.client);
    const bob = live((await t.e2eClient("bob")).client);
    await alice.b.start();
    await bob.b.start();
    // alice's other session (following the live feed): a typing event is never sent back to her.
    // It proves it is her device 1 first: the server gives a device's queue to no other session.
    const aliceToo = await t.client("alice", { register: false });
    await aliceToo.conn.request("keys.count", { device: 1, ...(await deviceAuth(a.codec.cs, aliceToo, 1)) });
    const own: string[] = [];
    aliceToo.conn.onPush((f) => own.push(String(f.header.t)));
    await aliceToo.sync();
    await alice.b.send(toBob, "hello");
    await eventually(() => texts(bob.ev).includes("hello"), 5000, "first message");

    alice.b.typing.set(toBob, true);
    await eventually(() => typings(bob.ev).includes("alice>user:bob:true"), 5000, "bob sees alice typing");
    alice.b.typing.set(toBob, false);
    await eventually(() => typings(bob.ev).includes("alice>user:bob:false"), 5000, "the stop clears it");
    alice.b.typing.set(toBob, true);
    await eventually(() => typings(bob.ev).length === 3, 5000, "typing again");
    // Each event took a ratchet step on both sides: the next messages still open.
    for (const m of ["one", "two", "three"]) await alice.b.send(toBob, m);
    await eventually(() => texts(bob.ev).join() === "hello,one,two,three", 5000, "nothing lost");
    assert.deepEqual(typings(alice.ev), [], "never shown for oneself");
    await aliceToo.conn.request("ping", {});
    assert.ok(!own.includes("ephemeral"), `alice's other session got no typing event: ${own}`);

    // bob goes offline: a typing event reaches no one and is not kept for later
    await bob.b.close();
    await eventually(() => [...t.srv.hub.sessionsOf("bob")].length === 0, 5000, "bob gone");
    const r = await alice.b.conn.request(
      "send",
      { to: toBob, mid: "typing-probe-1", ephemeral: true },
      new Uint8Array(40),
    );
    assert.equal(r.header.delivered, 0);
    assert.equal(r.header.seq, undefined, "not stored: no seq");
    alice.b.typing.set(toBob, false); // ends the "typing" sent above: a stop
    alice.b.typing.set(toBob, true);
    await alice.b.conn.request("ping", {});
    await alice.b.send(toBob, "while you were away");
    await alice.b.send(toBob, "and again");
    const queued = await t.srv.core.store.pending("bob", 0, 100);
    assert.equal(queued.length, 2, "only the two messages wait for bob");

    const back = live((await t.e2eClient("bob", { register: false })).client);
    await back.b.start();
    await eventually(() => texts(back.ev).length === 2, 5000, "the queue");
    assert.deepEqual(
      texts(back.ev),
      ["while you were away", "and again"],
      "the ratchet steps of typing lost nothing",
    );
    await alice.b.conn.request("ping", {});
    await back.b.conn.request("ping", {});
    assert.deepEqual(typings(back.ev), [], "no stale typing event after coming back");
    assert.ok(
      !back.ev.some((e) => e.type === "notice" && /Could not read/.test(e.text)),
      "every message opened",
    );
    const history = await back.b.history({ kind: "user", name: "alice" });
    assert.ok(history.every((m) => m.text !== ""), "no control message in history");
    await back.b.close();
  } finally {
    await t.stop();
  }
});

Deno.test("a room typing event shows at the other members under the room, sealed with the sender key", async () => {
  const t = await startTestServer();
  try {
    const alice = live((await t.e2eClient("alice")).client);
    const bob = live((await t.e2eClient("bob")).client);
    await alice.b.start();
    await bob.b.start();
    await alice.b.rooms.create("dev", ["bob"]);
    const dev: Target = { kind: "room", name: "dev" };
    await alice.b.send(dev, "welcome"); // hands bob alice's sender key
    await eventually(() => texts(bob.ev).includes("welcome"), 5000, "room message");
    alice.b.typing.set(dev, true);
    await eventually(
      () => typings(bob.ev).includes("alice>room:dev:true"),
      5000,
      "bob sees alice typing in #dev",
    );
    await alice.b.send(dev, "next");
    await eventually(() => texts(bob.ev).includes("next"), 5000, "the chain step of typing lost nothing");
    bob.b.typing.set(dev, true);
    await eventually(() => typings(alice.ev).includes("bob>room:dev:true"), 5000, "alice sees bob typing");
    assert.deepEqual(typings(bob.ev), ["alice>room:dev:true"], "never shown for oneself");
    await alice.b.close();
    await bob.b.close();
  } finally {
    await t.stop();
  }
});
