/** A peer node's full-screen backend (its ChatClient, peer/node.ts `backend`): typing through client mode's gate; the first screen by client mode's rules. */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { testNode } from "./events_testing.ts";
import { TYPING_RESEND_MS } from "../core/typing.ts";

Deno.test("peer backend: typing goes at most once per peer every 3 s, a stop only while it may show, a send clears it", async () => {
  const clock = new ManualClock(1_000_000);
  const node = await testNode("alice", { clock });
  try {
    const said: string[] = [];
    node.typing = (peer, active) => void said.push(`${peer} ${active}`);
    const b = node.backend();
    const bob = { kind: "user" as const, name: "bob" };
    b.typing.set(bob, true);
    b.typing.set(bob, true); // a keystroke later: not again
    clock.advance(TYPING_RESEND_MS);
    b.typing.set(bob, true);
    b.typing.set(bob, false);
    b.typing.set(bob, false); // nothing shows any more: no second stop
    b.typing.set(bob, true);
    await b.send(bob, "hi").catch(() => {}); // no such peer here: refused, the indicator is cleared all the same
    b.typing.set(bob, true);
    assert.deepEqual(said, ["bob true", "bob true", "bob false", "bob true", "bob true"]);
  } finally {
    await node.close();
  }
});

Deno.test("peer backend: the screen starts as client mode's (core/feed_view.ts) — 100 recent a conversation, none whose time is up", async () => {
  const clock = new ManualClock(1_000_000);
  const node = await testNode("alice", { clock });
  try {
    const to = { kind: "user" as const, name: "alice" };
    const ms = Array.from({ length: 120 }, (_, i) => ({
      seq: i + 1,
      mid: i.toString(16).padStart(32, "0"),
      ts: 900_000 + i,
      from: "bob",
      to,
      text: `m${i}`,
      ...(i === 109 || i === 119 ? { expires: 999_999 } : {}), // its time is up: never shown
    }));
    node.store.local.save(ms.slice(0, 110)); // shown before
    node.store.local.save(ms.slice(110), false); // arrived while away
    const c = await node.backend().feed!.catchUp();
    assert.equal(c.recent.length, 99, "100 recent, less the one gone");
    assert.deepEqual([c.recent[0]?.text, c.recent.at(-1)?.text], ["m10", "m108"]);
    assert.deepEqual(c.unseen.map((m) => m.text), [
      "m110",
      "m111",
      "m112",
      "m113",
      "m114",
      "m115",
      "m116",
      "m117",
      "m118",
    ]);
  } finally {
    await node.close();
  }
});

Deno.test("peer backend: its close is the node's, in one order — the core, then the node (session, listener), then the store", async () => {
  const node = await testNode("alice");
  const port = node.port;
  const closing = node.backend().close(); // the full-screen client's quit
  assert.equal(node.close(), closing, "one close: the node's is its core's");
  await closing;
  assert.equal(node.session.closed, true, "the node stopped: its session ended");
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), "its listener is closed");
  assert.equal(node.store.local.db.isOpen, false, "the store closed last");
});
