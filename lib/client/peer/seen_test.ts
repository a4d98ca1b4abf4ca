/**
 * peer/store.ts's `peer_seen` (issue 39): the ids of the changes taken from a peer are bounded by
 * count and by age, and a change replayed after its id was pruned is still refused (the peer's
 * horizon), while a new change applies.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { utf8 } from "../../common/bytes.ts";
import type { Payload } from "../e2e/mod.ts";
import type { BackendEvent } from "../backend.ts";
import { newMid } from "./wire.ts";
import { PeerStore, type SeenBounds } from "./store.ts";
import { linklessConv } from "./events_testing.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";

const NO_WRITES = { put: {}, del: [] };
const DAY = 86_400_000;

/** A linkless conversation over a memory store with `bounds`, the events it emits and its clock. */
async function conv(bounds: SeenBounds) {
  const clock = new ManualClock();
  const store = await PeerStore.open(null, "alice", { ...bounds, clock });
  const events: BackendEvent[] = [];
  const c = linklessConv(store, clock, events);
  // A message of bob's to react to.
  const ref = newMid();
  await c.received("bob", ref, clock.now(), utf8.encode("hi alice"), NO_WRITES);
  /** Bob's reaction `on` under `mid`, sent at `ts`, opened with the ratchet writes `w`: the events it makes. */
  const react = (mid: string, ts: number, on: boolean, w: StoreWrites = NO_WRITES) => {
    const p: Payload = { v: 1, k: "react", mid, ref, emoji: "👍", on };
    return c.received("bob", mid, ts, utf8.encode(JSON.stringify(p)), w);
  };
  const reactions = () => store.local.byMid("bob", ref)!.reactions;
  return { clock, store, events, react, reactions };
}

const refused = (evs: BackendEvent[]) =>
  evs.length === 1 && evs[0]!.type === "notice" &&
  /older than the changes this node remembers/.test(evs[0]!.text);

Deno.test("peer_seen: past its count bound the oldest ids go; a pruned change replayed is refused", async () => {
  const { clock, store, react, reactions } = await conv({ seenMax: 3 });
  try {
    const sent: { mid: string; ts: number; on: boolean }[] = [];
    for (let i = 0; i < 6; i++) {
      const s = { mid: newMid(), ts: clock.now(), on: i % 2 === 0 };
      sent.push(s);
      assert.equal((await react(s.mid, s.ts, s.on)).length, 1, `change ${i} applies`);
      clock.advance(1000);
    }
    assert.equal(store.seenCount("bob"), 3, "bounded by count");
    assert.equal(store.seenHorizon("bob"), sent[2]!.ts);
    assert.equal(reactions(), undefined, "the last change took the reaction off");
    // The first change (on) again, as it was sent: its id was pruned, its time is under the horizon.
    assert.ok(refused(await react(sent[0]!.mid, sent[0]!.ts, true)));
    assert.equal(reactions(), undefined, "nothing changed");
    // A kept id again is a re-sent copy: nothing, silently.
    assert.deepEqual(await react(sent[5]!.mid, sent[5]!.ts, false), []);
    // A new change applies.
    assert.equal((await react(newMid(), clock.now(), true)).length, 1);
    assert.deepEqual(reactions(), { "👍": ["bob"] });
  } finally {
    store.close();
  }
});

Deno.test("peer_seen: ids older than the age bound go; a change sent before them is refused", async () => {
  const { clock, store, react, reactions } = await conv({ seenAgeMs: 30 * DAY });
  try {
    const old = { mid: newMid(), ts: clock.now() };
    assert.equal((await react(old.mid, old.ts, true)).length, 1);
    clock.advance(31 * DAY);
    assert.equal((await react(newMid(), clock.now(), false)).length, 1);
    assert.equal(store.seenCount("bob"), 1, "the old id went");
    assert.equal(store.seenHorizon("bob"), old.ts);
    assert.ok(refused(await react(old.mid, old.ts, true)));
    assert.equal(reactions(), undefined, "the old reaction did not come back");
  } finally {
    store.close();
  }
});

Deno.test("peer_seen: the horizon is kept beside the ratchet's replay ids (seen:PEER), never over them", async () => {
  const { clock, store, react } = await conv({ seenMax: 2 });
  try {
    const sent: number[] = [];
    for (let i = 0; i < 4; i++) {
      const ids = [`replay-id-${i}`]; // what DmManager.openDm commits with each message it opens
      sent.push(clock.now());
      assert.equal(
        (await react(newMid(), clock.now(), i % 2 === 0, { put: { "seen:bob": ids }, del: [] })).length,
        1,
      );
      assert.deepEqual(store.get("seen:bob"), ids, `the replay ids stay the ratchet's (${i})`);
      clock.advance(1000);
    }
    assert.equal(store.seenCount("bob"), 2, "bounded by count");
    assert.equal(store.seenHorizon("bob"), sent[1]);
  } finally {
    store.close();
  }
});

Deno.test("peer_seen: what an earlier version wrote over the replay ids (seen:PEER) as a horizon goes at open", async () => {
  const home = await Deno.makeTempDir();
  try {
    let store = await PeerStore.open(home, "alice");
    store.commit({ put: { "seen:bob": null, "seen:carol": ["an-id"] }, del: [] });
    store.close();
    store = await PeerStore.open(home, "alice");
    try {
      assert.equal(store.get("seen:bob"), undefined, "no NaN where DmManager reads its replay ids");
      assert.equal(store.seenHorizon("bob"), 0);
      assert.deepEqual(store.get("seen:carol"), ["an-id"], "replay ids stay");
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("peer_seen: an earlier version's ids (no times) are kept, dated when the file is opened", async () => {
  const home = await Deno.makeTempDir();
  try {
    // The table as 0.3 wrote it: peer and mid only.
    const { DatabaseSync } = await import("node:sqlite");
    const old = new DatabaseSync(`${home}/alice@peer.db`);
    old.exec(
      `CREATE TABLE peer_seen (peer TEXT NOT NULL, mid TEXT NOT NULL, PRIMARY KEY (peer, mid)) WITHOUT ROWID;
      INSERT INTO peer_seen VALUES ('bob', 'an-old-change');`,
    );
    old.close();
    const clock = new ManualClock();
    const store = await PeerStore.open(home, "alice", { clock, seenAgeMs: 30 * DAY });
    try {
      assert.equal(store.takeOnce("bob", newMid(), clock.now(), clock.now()), "new");
      // Still known after a prune: it was sent a day ago, say, and re-sent now.
      assert.equal(store.takeOnce("bob", "an-old-change", clock.now() - DAY, clock.now()), "again");
      clock.advance(31 * DAY);
      assert.equal(store.takeOnce("bob", newMid(), clock.now(), clock.now()), "new");
      assert.equal(store.seenCount("bob"), 1, "the old ids went after the age bound");
      assert.equal(store.takeOnce("bob", "an-old-change", clock.now() - 32 * DAY, clock.now()), "stale");
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
