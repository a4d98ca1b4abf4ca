/**
 * A stream's frame key reaches whichever process of the recipient's folder waits for it (a day of
 * real use): `parley watch` beside the full-screen client of the same folder. Both are the same
 * device and both get the key's DM; the one that opens it first files the key in the folder's
 * keystore (e2e/controls.ts), so the waiting one takes it even when the other opened it.
 */
import assert from "node:assert/strict";
import { streamKeysOf } from "../lib/client/video/stream_key.ts";
import { startTestServer } from "./helpers.ts";

Deno.test("stream keys: `watch` beside the full-screen client of the same folder gets every key, 10 of 10", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.e2eClient("alice");
    // The full-screen client: connected first, following the live feed, opening what arrives.
    const screen = await t.e2eClient("bob");
    await screen.client.sync();
    // `parley watch`: a second client of the same folder, waiting for the key.
    const watch = await t.e2eClient("bob", { register: false, home: `${t.dir}/home-bob` });
    await watch.client.sync();
    for (let i = 0; i < 10; i++) {
      const key = crypto.getRandomValues(new Uint8Array(32));
      const sid = `s${i}-${crypto.randomUUID().slice(0, 8)}`;
      const waiting = streamKeysOf(watch.codec)!.receive("alice", sid, 5_000);
      await streamKeysOf(alice.codec)!.send("bob", sid, key);
      assert.deepEqual(await waiting, key, `try ${i + 1}`);
    }
    // A key is taken once: asked again, it is not there.
    const sid = "once";
    await streamKeysOf(alice.codec)!.send("bob", sid, new Uint8Array(32).fill(7));
    assert.deepEqual(
      await streamKeysOf(watch.codec)!.receive("alice", sid, 5_000),
      new Uint8Array(32).fill(7),
    );
    await assert.rejects(
      streamKeysOf(screen.codec)!.receive("alice", sid, 300),
      /alice's key for this stream did not arrive end to end in time/,
    );
  } finally {
    await t.stop();
  }
});
