/**
 * Watch together in a DM reaches every device of the other party (issue 39): alice never wrote to
 * bob, who has two linked devices; her pause reaches both (each session started from its prekey
 * bundle, as a message's would be), and a device bob links later (alice learns of it only when the
 * server refuses the signal with `devices_changed`). Signals stay unacknowledged and unstored.
 * Typing shares the path: a key exchange is tried once per device list, never on every keystroke.
 */
import assert from "node:assert/strict";
import type { BackendEvent, Target } from "../lib/client/backend.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { encodeTyping } from "../lib/client/core/typing.ts";
import { watchChannel, watchKey } from "../lib/client/video/watch_channel.ts";
import { decodeWatch, encodeWatch, type WatchState } from "../lib/client/video/watch_together.ts";
import { eventually, startTestServer } from "./helpers.ts";
import { linkDevice } from "./link_device.ts";

/** The watch-together states `c` heard from `from` in session `key`. */
function heard(c: ChatClient, key: string): WatchState[] {
  const got: WatchState[] = [];
  c.on((e: BackendEvent) => {
    if (e.type !== "signal") return;
    const w = decodeWatch(e.plaintext, e.mid, key);
    if (w?.kind === "state") got.push(w.state);
  });
  return got;
}

/** Counts the `keys.fetch` requests `c` makes (a key exchange fetches a prekey bundle). */
function fetches(c: ChatClient): { n: number } {
  const count = { n: 0 };
  const request = c.conn.request.bind(c.conn);
  c.conn.request = (kind, fields, body) => {
    if (kind === "keys.fetch") count.n++;
    return request(kind, fields, body);
  };
  return count;
}

Deno.test("watch together in a DM: alice's pause reaches every device of bob, though she never wrote to him", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.e2eClient("alice");
    const bob1 = await t.e2eClient("bob");
    const bob2 = await linkDevice(t, bob1, "bob-laptop");
    assert.equal(bob2.codec.device, 2);
    for (const c of [alice, bob1, bob2]) await c.client.start();
    const toBob: Target = { kind: "user", name: "bob" };
    const key = watchKey("alice", toBob);
    const on = [heard(bob1.client, key), heard(bob2.client, key)];
    const channel = watchChannel(() => alice.client);
    const state = (n: number): WatchState => ({
      n,
      video: "sample",
      pos: 1000 * n,
      at: 0,
      paused: true,
      rate: 1,
    });
    await channel.signal(key, (mid) => encodeWatch(mid, key, { kind: "state", state: state(1) }));
    await eventually(() => on.every((s) => s.length === 1), 5000, "both of bob's devices hear the pause");
    assert.deepEqual(on.map((s) => s[0]), [state(1), state(1)]);
    assert.equal((await t.srv.core.store.pending("bob", 0, 100)).length, 0, "a signal is never stored");

    // bob links a third device; alice, in no room with him, is not told: the server refuses her next
    // signal with the current lists, and it is sealed again for all three.
    const bob3 = await linkDevice(t, bob1, "bob-phone");
    await bob3.client.start();
    on.push(heard(bob3.client, key));
    await channel.signal(key, (mid) => encodeWatch(mid, key, { kind: "state", state: state(2) }));
    await eventually(() => on.every((s) => s.at(-1)?.n === 2), 5000, "the new device hears it too");
    assert.deepEqual(on.map((s) => s.length), [2, 2, 1], "once each");

    // Typing shares the path: with sessions on every device, a keystroke fetches no bundle; a user
    // with no keys is tried once per device list, not on every keystroke.
    const n = fetches(alice.client);
    const dave = await t.client("dave"); // no client folder: no encryption keys
    await dave.start();
    for (let i = 0; i < 5; i++) {
      assert.equal(await alice.client.signal(toBob, (mid) => encodeTyping(mid, i % 2 === 0)), true);
    }
    assert.equal(n.n, 0, "no key exchange for a keystroke to bob");
    for (let i = 0; i < 5; i++) {
      const sent = await alice.client.signal(
        { kind: "user", name: "dave" },
        (mid) => encodeTyping(mid, true),
      );
      assert.equal(sent, false, "nobody to seal it for");
    }
    assert.equal(n.n, 1, "dave's bundle asked for once, not on every keystroke");
    await assert.rejects(
      channel.signal(watchKey("alice", { kind: "user", name: "dave" }), (mid) => encodeTyping(mid, true)),
      /No device of dave can read it/,
    );
  } finally {
    await t.stop();
  }
});
