/**
 * Refusals for speed lose nothing (a day of real use). A burst of room messages from a script hit the
 * server's message rate: the handout DM of a sender key was refused ("alice cannot read #ops from you:
 * You are sending too fast"), and the messages under that key could not be read until a later one
 * carried it again; now the handout waits and goes before its message. And lines typed faster than the
 * rate (a paste) were refused one by one and lost; now each waits its turn, in order.
 */
import assert from "node:assert/strict";
import type { Target } from "../lib/client/backend.ts";
import { paced } from "../lib/client/session/rate_wait.ts";
import { startTestServer } from "./helpers.ts";
import { TokenBucket } from "../lib/common/rate.ts";
import { systemClock } from "../lib/common/clock.ts";

Deno.test("a sender-key handout refused for speed waits and goes: the member reads the message after it", async () => {
  const t = await startTestServer();
  try {
    const a = (await t.e2eClient("alice")).client;
    const b = (await t.e2eClient("bob")).client;
    const c = (await t.e2eClient("carol")).client;
    for (const x of [a, b, c]) await x.sync();
    const warned: string[] = [];
    a.on((e) => e.type === "notice" && warned.push(e.text));
    await a.rooms.create("ops", ["bob"]);
    const ops: Target = { kind: "room", name: "ops" };
    await a.send(ops, "welcome");
    await a.rooms.invite("ops", "carol"); // carol's devices need alice's sender key at her next message
    // From here alice may send 2 requests a second, and none is left now: the handout to carol is
    // refused at first; the message waits as a script's would (paced).
    for (const s of t.srv.hub.sessionsOf("alice")) {
      const slow = new TokenBucket(2, 1, systemClock);
      slow.take();
      (s as { bucket: TokenBucket }).bucket = slow;
    }
    await paced(() => a.send(ops, "first of the burst"));
    const errors: string[] = [];
    c.on((e) => e.type === "notice" && e.level !== "info" && errors.push(e.text));
    const got = (await c.sync()).filter((m) => m.to.kind === "room").map((m) => m.text);
    assert.deepEqual(got, ["first of the burst"], errors.join("\n"));
    assert.deepEqual(warned.filter((w) => /cannot read/.test(w)), []);
  } finally {
    await t.stop();
  }
});

Deno.test("messages typed faster than the server's rate all go, in order (a paste of many lines)", async () => {
  const t = await startTestServer();
  try {
    const a = (await t.e2eClient("alice")).client;
    const b = (await t.e2eClient("bob")).client;
    await b.sync();
    await a.start(); // a UI's core: its sends are kept in the outbox until the server takes them
    const dm: Target = { kind: "user", name: "bob" };
    await a.send(dm, "hello"); // the session with bob is set up before the limit
    for (const s of t.srv.hub.sessionsOf("alice")) {
      const slow = new TokenBucket(5, 1, systemClock);
      slow.take();
      (s as { bucket: TokenBucket }).bucket = slow;
    }
    const lines = ["one", "two", "three", "four", "five"];
    const sent = await Promise.all(lines.map((l) => a.send(dm, l)));
    assert.ok(sent.every((m) => m.seq > 0), "each was taken by the server");
    const got = (await b.sync()).map((m) => m.text);
    assert.deepEqual(got, ["hello", ...lines]);
    await a.close();
  } finally {
    await t.stop();
  }
});
