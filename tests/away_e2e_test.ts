/**
 * Away replies (`/away REASON`, core/away.ts) between real end-to-end encrypting clients on an
 * in-process server: a live direct message to a user who set a reason is answered with it, sealed
 * (the server relays bytes it cannot read and stores nothing), once per sender and reason; a room
 * line, one's own other device, a blocked sender, the offline queue and a cleared reason get none;
 * every message still opens after the signals' ratchet steps.
 */
import assert from "node:assert/strict";
import type { BackendEvent, Target } from "../lib/client/backend.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { encodeAway } from "../lib/client/core/away.ts";
import { sendSignal } from "../lib/client/core/sending.ts";
import { eventually, startTestServer } from "./helpers.ts";

const toAlice: Target = { kind: "user", name: "alice" };
const texts = (ev: BackendEvent[]) => ev.flatMap((e) => (e.type === "message" ? [e.message.text] : []));
const aways = (ev: BackendEvent[]) => ev.flatMap((e) => (e.type === "away" ? [`${e.from}: ${e.text}`] : []));

function live(c: ChatClient) {
  const ev: BackendEvent[] = [];
  c.on((e) => ev.push(e));
  return { c, ev };
}

/**
 * Fences (no wall time): everything `cs` sent so far (each send awaited) was relayed and opened by its
 * receivers among them, and every away reply that opening began was relayed back and opened too.
 */
const settle = async (...cs: ChatClient[]) => {
  // A ping's answer follows what the server put before it on that connection; opened: acted on.
  const round = async () => {
    for (const c of cs) await c.conn.request("ping", {});
    for (const c of cs) await c.opened();
  };
  await round(); // the texts and signals sent are opened: any away reply is begun
  for (const c of cs) await c.away.idle(); // …and relayed
  await round(); // …and opened by its asker
};

Deno.test("away: a live DM is answered once per sender and reason, end to end; rooms, blocks and a cleared reason get none", async () => {
  const t = await startTestServer();
  try {
    const alice = live((await t.e2eClient("alice")).client);
    const bob = live((await t.e2eClient("bob")).client);
    const carol = live((await t.e2eClient("carol")).client);
    for (const x of [alice, bob, carol]) await x.c.start();
    await alice.c.rooms!.create("dev", ["bob", "carol"]);
    await bob.c.send(toAlice, "before");
    await eventually(() => texts(alice.ev).includes("before"), 5000, "first DM");
    await settle(alice.c, bob.c);
    assert.deepEqual(aways(bob.ev), [], "no reason set: nothing is said");

    alice.c.away.set("  gone for lunch ");
    assert.equal(alice.c.away.reason, "gone for lunch");
    await bob.c.send(toAlice, "lunch?");
    await eventually(() => aways(bob.ev).length === 1, 5000, "bob is told");
    assert.deepEqual(aways(bob.ev), ["alice: gone for lunch"]);
    await bob.c.send(toAlice, "hello??");
    await carol.c.send({ kind: "room", name: "dev" }, "in the room");
    await eventually(() => texts(alice.ev).includes("in the room"), 5000, "room line");
    await settle(alice.c, bob.c, carol.c);
    assert.equal(aways(bob.ev).length, 1, "once per sender and reason");
    assert.equal(aways(carol.ev).length, 0, "a room line is not answered");

    await carol.c.send(toAlice, "hi");
    await eventually(() => aways(carol.ev).length === 1, 5000, "carol is told too");
    alice.c.away.set("in a meeting until 3");
    await bob.c.send(toAlice, "still out?");
    await eventually(() => aways(bob.ev).length === 2, 5000, "a new reason is told again");
    assert.equal(aways(bob.ev)[1], "alice: in a meeting until 3");

    await alice.c.blocks!.block("carol");
    await carol.c.send(toAlice, "are you there?");
    alice.c.away.set(null);
    await bob.c.send(toAlice, "back?");
    await eventually(() => texts(alice.ev).includes("back?"), 5000, "bob's last DM");
    await settle(alice.c, bob.c, carol.c);
    assert.equal(aways(carol.ev).length, 1, "a blocked sender is not answered");
    assert.equal(aways(bob.ev).length, 2, "a cleared reason answers nobody");
    assert.deepEqual(aways(alice.ev), [], "never shown to oneself");
    // Every signal took a ratchet step on both sides: what follows still opens.
    await alice.c.send({ kind: "user", name: "bob" }, "I am back");
    await eventually(() => texts(bob.ev).includes("I am back"), 5000, "alice's answer opens");
    assert.deepEqual(
      texts(alice.ev).filter((x) => x !== "in the room"),
      ["before", "lunch?", "hello??", "hi", "still out?", "back?"],
      "every DM arrived (carol's after the block is dropped unread)",
    );
  } finally {
    await t.stop();
  }
});

Deno.test("away (issue 69 A1, the attack): a stranger's away reply nobody asked for is not shown; one answering a DM sent them is, once", async () => {
  const t = await startTestServer();
  try {
    const alice = live((await t.e2eClient("alice")).client);
    const mallory = live((await t.e2eClient("mallory")).client);
    for (const x of [alice, mallory]) await x.c.start();
    await mallory.c.send(toAlice, "hello"); // a session between them: the signal opens
    await eventually(() => texts(alice.ev).includes("hello"), 5000, "mallory's DM");
    // Mallory's client sends an away reply alice never asked for (a one-line change to his client).
    const unasked = (text: string) => sendSignal(mallory.c, toAlice, (mid) => encodeAway(mid, text));
    await unasked("Parley: your session expired, log in at evil.example");
    await settle(mallory.c, alice.c);
    assert.deepEqual(aways(alice.ev), [], "an away reply nobody asked for is dropped");
    await alice.c.send({ kind: "user", name: "mallory" }, "who are you?");
    await eventually(() => texts(mallory.ev).includes("who are you?"), 5000, "alice's DM");
    await unasked("out until monday");
    await eventually(() => aways(alice.ev).length === 1, 5000, "the reply to alice's DM");
    await unasked("out until monday, again");
    await settle(mallory.c, alice.c);
    assert.deepEqual(aways(alice.ev), ["mallory: out until monday"], "one reply per DM sent");
  } finally {
    await t.stop();
  }
});
