/**
 * e2e/seen_sync.ts with two linked folders of one user: what the user read on one is seen on the
 * other (its store and its screen's unread count); a message merely put in a buffer is not read; a
 * "seen" from anyone else changes nothing; a single device sends nothing. Alice's first device's
 * timer of "seen" notes is held by hand: the test runs each note when it chooses and waits for it to
 * go, instead of waiting out the note's period to see that nothing went.
 */
import assert from "node:assert/strict";
import type { BackendEvent, ChatMessage, Target } from "../lib/client/backend.ts";
import { eventually, startTestServer } from "./helpers.ts";
import { linkDevice } from "./link_device.ts";

const dm = (name: string): Target => ({ kind: "user", name });

Deno.test("seen sync: a DM read on one device is seen on the other; a forged 'seen' from someone else is dropped", async () => {
  const t = await startTestServer();
  try {
    const bob = await t.e2eClient("bob");
    const notes: (() => unknown)[] = [];
    const a1 = await t.e2eClient("alice", { later: (fn) => notes.push(fn) });
    /** Runs the one note due and waits for it to go (or for it not to go). */
    const note = async () => {
      assert.equal(notes.length, 1, "one note due");
      await notes.shift()!();
    };
    const sentAlone: string[] = [];
    const send = a1.client.conn.request.bind(a1.client.conn);
    a1.client.conn.request = (kind, f, body) => {
      if (kind === "send" && (f as { to?: Target }).to?.name === "alice") sentAlone.push("to self");
      return send(kind, f, body);
    };
    await a1.client.start();
    const first = await bob.client.send(dm("alice"), "before the laptop");
    await eventually(() => a1.store.unseen().some((m) => m.seq === first.seq), 5000, "a1 has it");
    a1.client.feed.read(dm("bob"), first.seq);
    await note();
    assert.deepEqual(sentAlone, [], "one device: nobody to tell");

    const a2 = await linkDevice(t, a1, "alice-laptop");
    await a2.client.start();
    const seen: BackendEvent[] = [];
    a2.client.on((e) => void (e.type === "seen" && seen.push(e)));
    const m = await bob.client.send(dm("alice"), "read me once");
    const has = (c: typeof a1, seq: number) => c.store.unseen().find((x: ChatMessage) => x.seq === seq);
    await eventually(() => has(a1, m.seq) && has(a2, m.seq), 5000, "both devices have it unseen");
    a1.client.feed.markSeen([has(a1, m.seq)!]); // in its buffer: not read yet, nothing said
    assert.deepEqual(notes, [], "no note for a message merely in a buffer");
    a1.client.feed.read(dm("bob"), m.seq); // its buffer on screen
    await note();
    await eventually(() => seen.length === 1, 10_000, "a2 told");
    assert.deepEqual(seen[0], { type: "seen", target: dm("bob"), upTo: m.seq });
    assert.equal(has(a2, m.seq), undefined, "seen in a2's store: its next start shows it as history");

    // bob sends alice a "seen" of his own making: nothing changes.
    const later = await bob.client.send(dm("alice"), "still unread");
    await eventually(() => has(a2, later.seq), 5000, "a2 has it");
    const forged = (mid: string) =>
      new TextEncoder().encode(JSON.stringify({ v: 1, k: "seen", mid, upTo: [["user", "bob", later.seq]] }));
    await bob.codec.send(dm("alice"), "seen", forged);
    const after = await bob.client.send(dm("alice"), "after the forgery");
    await eventually(() => has(a2, after.seq), 5000, "a2 reads on");
    assert.ok(has(a2, later.seq), "still unseen");
    assert.equal(seen.length, 1);
  } finally {
    await t.stop();
  }
});
