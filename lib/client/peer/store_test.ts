/**
 * peer/store.ts's move of an earlier version's change queue (`peer_out`) into the one outbox
 * (core/outbox.ts, issue 70): its entries are there at open, in order, listed as changes, the old
 * table is gone, and they leave for their peer when it connects. And a peer's one key record: what
 * DmManager reads and writes as its contact is the peer record (a stranger's in memory only), and an
 * earlier version's contact values go at open.
 */
import assert from "node:assert/strict";
import { expiryText, type Payload } from "../e2e/mod.ts";
import { Outbox } from "../core/outbox.ts";
import { ManualClock } from "../../common/clock.ts";
import { PeerNode } from "./node.ts";
import { PeerStore } from "./store.ts";
import { nextEvent, testNode } from "./events_testing.ts";
import { DmManager } from "../../crypto/dm.ts";
import { generateIdentity, publicIdentity } from "../../crypto/identity.ts";

const newKey = async () => publicIdentity(await generateIdentity());
const contactRows = (s: PeerStore) => s.db.prepare("SELECT k FROM peer_kv WHERE k LIKE 'contact:%'").all();

/** A folder whose `alice@peer.db` holds `rows` in an earlier version's `peer_out` queue. */
async function oldFolder(rows: { mid: string; peer: string; ts: number; p: Payload }[]): Promise<string> {
  const home = await Deno.makeTempDir();
  const { DatabaseSync } = await import("node:sqlite");
  const old = new DatabaseSync(`${home}/alice@peer.db`);
  old.exec(
    `CREATE TABLE peer_out (
       n INTEGER PRIMARY KEY AUTOINCREMENT, mid TEXT NOT NULL UNIQUE, peer TEXT NOT NULL,
       ts INTEGER NOT NULL, body TEXT NOT NULL);`,
  );
  const put = old.prepare("INSERT INTO peer_out (mid, peer, ts, body) VALUES (?, ?, ?, ?)");
  for (const r of rows) put.run(r.mid, r.peer, r.ts, JSON.stringify(r.p));
  old.close();
  return home;
}

const expire = (mid: string, seconds: number): Payload => ({ v: 1, k: "expire", mid, seconds });

Deno.test("peer store: an earlier version's queued changes move into the outbox at open, in order", async () => {
  const home = await oldFolder([
    { mid: "m2", peer: "bob", ts: 2_000, p: expire("m2", 3600) },
    { mid: "m1", peer: "carol", ts: 1_000, p: expire("m1", 60) },
  ]);
  try {
    let store = await PeerStore.open(home, "alice");
    const list = new Outbox(store.local, "alice", new ManualClock()).list();
    assert.deepEqual(list.map((e) => [e.n, e.mid, e.to.name, e.kind, e.text]), [
      [1, "m2", "bob", "change", expiryText(3600)],
      [2, "m1", "carol", "change", expiryText(60)],
    ]);
    const gone = store.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'peer_out'").get();
    assert.equal(gone, undefined, "the old queue is gone");
    store.close();
    store = await PeerStore.open(home, "alice"); // opened again: moved once, not twice
    assert.equal(store.local.pendingAll().length, 2);
    store.close();
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("peer store: a change moved from the old queue leaves for its peer when it connects", async () => {
  const home = await oldFolder([{
    mid: "0".repeat(32),
    peer: "bob",
    ts: Date.now(),
    p: expire("0".repeat(32), 3600),
  }]);
  const bob = await testNode("bob");
  const store = await PeerStore.open(home, "alice");
  const alice = await PeerNode.start({ name: "alice", store, hostname: "127.0.0.1", port: 0 });
  try {
    const line = nextEvent(bob, (e) => e.type === "message" && e.message.setting === true);
    assert.equal(await alice.connect(`127.0.0.1:${bob.port}`), "bob");
    const e = await line;
    assert.equal(e.type === "message" && e.message.text, expiryText(3600));
    // Bob's ack takes it out of the outbox (a positive wait, bounded by the test's own timeout).
    while (store.local.pendingAll().length) await new Promise((r) => setTimeout(r, 10));
  } finally {
    await Promise.all([alice.close(), bob.close()]);
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("peer store: the disappearing time an earlier version kept beside a text (ttl:MID) moves into its entry", async () => {
  const home = await Deno.makeTempDir();
  try {
    let store = await PeerStore.open(home, "alice");
    const to = { kind: "user" as const, name: "bob" };
    store.local.addPending({ mid: "a".repeat(32), ts: 1_000, to, text: "written under 1 min" });
    store.commit({ put: { [`ttl:${"a".repeat(32)}`]: 60 }, del: [] });
    store.close();
    store = await PeerStore.open(home, "alice");
    assert.equal(store.local.pending("a".repeat(32))?.ttl, 60);
    assert.equal(store.get(`ttl:${"a".repeat(32)}`), undefined, "the old value is gone");
    store.close();
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("peer store: DmManager's contact of a peer is its record: a pin lands there, a stranger's stays in memory", async () => {
  const store = await PeerStore.open(null, "alice");
  try {
    const [k1, k2, k3] = [await newKey(), await newKey(), await newKey()];
    store.putPeer({ name: "bob", identity: k1, verified: false, addr: "127.0.0.1:7000" });
    store.putPeer({ name: "carol", identity: k3, verified: false, stranger: true });
    const dm = new DmManager({ store, me: "alice" });
    assert.deepEqual(await dm.contact("bob"), { identity: k1, verified: false });
    await dm.accept("bob", k2, true);
    assert.deepEqual(store.peer("bob"), {
      name: "bob",
      identity: k2,
      verified: true,
      shown: k2,
      addr: "127.0.0.1:7000",
    });
    await dm.verify("carol");
    assert.equal(store.peer("carol")?.verified, true);
    assert.equal(store.peer("carol")?.stranger, true, "still a stranger");
    assert.equal(store.get("peer:carol"), undefined, "in memory only");
    assert.deepEqual(contactRows(store), [], "no second record");
  } finally {
    store.close();
  }
});

Deno.test("peer store: an earlier version's contacts beside the peer records go at open", async () => {
  const home = await Deno.makeTempDir();
  try {
    const [k1, k2, k4] = [await newKey(), await newKey(), await newKey()];
    let store = await PeerStore.open(home, "alice");
    // As an earlier version wrote them: the record, and DmManager's contact beside it.
    const put = store.db.prepare("INSERT INTO peer_kv (k, v) VALUES (?, ?)");
    put.run(
      "peer:bob",
      JSON.stringify({ name: "bob", identity: k1, verified: true, addr: "127.0.0.1:7000" }),
    );
    put.run("contact:bob", JSON.stringify({ identity: k2, verified: false }));
    put.run("contact:dave", JSON.stringify({ identity: k4, verified: false })); // a stranger's, left behind
    store.close();
    store = await PeerStore.open(home, "alice");
    try {
      assert.deepEqual(contactRows(store), []);
      assert.deepEqual(store.peer("bob"), {
        name: "bob",
        identity: k1,
        verified: true,
        addr: "127.0.0.1:7000",
      });
      assert.deepEqual(await new DmManager({ store, me: "alice" }).contact("bob"), {
        identity: k1,
        verified: true,
      });
      assert.equal(store.peer("dave"), undefined);
      assert.equal(await new DmManager({ store, me: "alice" }).contact("dave"), undefined);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
