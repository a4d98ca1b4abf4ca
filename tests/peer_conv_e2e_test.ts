/**
 * Issue 39 in scripted peer mode with real processes: reply (the receiver's `replied` line quotes
 * the message answered), edit (`edited`, `edits` history, inbox marks it), reaction on and off,
 * a deletion made while the peer is away delivered when it is back (gone from its inbox after a
 * restart), and disappearing messages deleted from both ends after their time.
 */
import assert from "node:assert/strict";
import { freeListen, ScriptPeer, STAMP } from "./peer_harness.ts";
import { test } from "./deadline.ts";

test("peer mode scripted: reply, edit and history, react, delete while away, disappearing messages", async () => {
  const dir = await Deno.makeTempDir();
  const listen = freeListen();
  const alice = await ScriptPeer.start("alice", `${dir}/a`);
  let bob = await ScriptPeer.start("bob", `${dir}/b`, { listen });
  try {
    await alice.send(`connect ${bob.addr}`);
    await bob.waitLine(/^connected alice$/);
    await alice.send("msg bob helo bob");
    await bob.waitLine(new RegExp(`^${STAMP} alice helo bob$`));
    await bob.send("reply alice hi alice");
    await alice.waitLine(new RegExp(`^${STAMP} bob hi alice$`));
    await alice.waitLine(/^replied bob helo bob$/);
    await alice.send("edit bob hello bob :wave:");
    await bob.waitLine(/^edited alice hello bob 👋$/);
    await bob.send("edits alice");
    await bob.waitLine(new RegExp(`^edits ${STAMP} helo bob$`));
    await bob.send("inbox alice");
    await bob.waitLine(new RegExp(`^inbox ${STAMP} alice hello bob 👋 \\(edited\\)$`));
    await bob.send("react alice :thumbsup:");
    await alice.waitLine(/^reacted bob 👍$/);
    await bob.send("react alice :thumbsup:");
    await alice.waitLine(/^unreacted bob 👍$/);
    // Bob is away: alice's deletion waits, and goes once he is back (his inbox no longer has the text).
    assert.equal(await bob.quit(), 0);
    await alice.waitLine(/^disconnected bob$/);
    await alice.send("delete bob");
    bob = await ScriptPeer.start("bob", `${dir}/b`, { listen });
    await bob.waitLine(/^connected alice$/, 40_000); // alice redials him
    await bob.waitLine(/^deleted alice$/);
    await bob.send("inbox alice");
    await bob.waitLine(new RegExp(`^inbox ${STAMP} alice \\(message deleted\\)$`));
    // Disappearing messages: the setting shows on the other end; the text goes from both after 2 s.
    await alice.send("expire bob 2s");
    await bob.waitLine(/^\S+ alice ⏱ messages here now disappear 2s after they are sent$/);
    await alice.send("msg bob short-lived");
    await bob.waitLine(new RegExp(`^${STAMP} alice short-lived$`));
    await bob.waitLine(/^expired 1$/, 10_000);
    await alice.waitLine(/^expired 1$/, 10_000);
    const mark = bob.lines.length;
    await bob.send("inbox alice");
    await bob.send("peers"); // printed after the whole inbox
    await bob.waitLine(/^peer alice /, 5_000, mark);
    assert.ok(bob.lines.slice(mark).some((l) => l.includes("⏱")));
    assert.ok(!bob.lines.slice(mark).some((l) => l.includes("short-lived")));
  } finally {
    await Promise.all([alice.quit(), bob.quit()]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
