/**
 * A disappearing message sent by one process of a folder disappears in that folder, whichever
 * process files it first (a day of real use: `parley send` beside the full-screen client of the same
 * folder kept "this will vanish" in `read --since` after its time). The full-screen client files the
 * sender's own message from the outbox when the server's echo comes, often before the sending process
 * does; it now gives it the conversation's time as the sender sealed it.
 */
import assert from "node:assert/strict";
import { eventually, startTestServer } from "./helpers.ts";

Deno.test("expiry: my own disappearing message filed by another process of the folder keeps its time", async () => {
  const t = await startTestServer();
  try {
    await t.e2eClient("bob");
    const screen = await t.e2eClient("alice");
    const script = await t.e2eClient("alice", { register: false, home: `${t.dir}/home-alice` });
    await screen.client.start(); // the screen follows the live feed; the script only sends
    const bob = { kind: "user" as const, name: "bob" };
    await screen.client.changes.setExpiry(bob, 30); // the setting is the folder's: both read it
    // The sending process files its copy last (here: never), as when the screen's echo wins the race.
    script.store.insert = () => {};
    script.store.confirm = () => {};
    const sent = await script.client.send(bob, "this will vanish");
    await eventually(() => screen.store.get(sent.seq) !== undefined, 5000, "the screen filed it");
    assert.equal(screen.store.get(sent.seq)?.text, "this will vanish");
    assert.equal(screen.store.get(sent.seq)?.expires, sent.ts + 30_000);
  } finally {
    await t.stop();
  }
});
