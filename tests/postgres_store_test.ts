/** The shared store conformance suite on PostgreSQL (a throwaway cluster), plus what only Postgres has. */
import assert from "node:assert/strict";
import { storeConformance } from "../lib/server/store/conformance.ts";
import { PostgresStore } from "../lib/server/store/postgres_store.ts";
import { DEVICES_FRESH_MS } from "../lib/server/store/pg_accounts.ts";
import { ManualClock } from "../lib/common/clock.ts";
import type { NewMessage } from "../lib/server/store/store.ts";
import { clusterSkip, startPostgres, type TestPostgres } from "./cluster_harness.ts";

let pg: Promise<TestPostgres> | null = null;
const cluster = () => pg ??= startPostgres();
const fresh = async () => await PostgresStore.open(await (await cluster()).newDatabase());

storeConformance("PostgresStore", fresh, { ignore: clusterSkip !== null });

const msg = (i: number, sender: string): NewMessage => ({
  mid: `m${i}`,
  sender,
  kind: "room",
  target: "r",
  conv: "r:r",
  ts: i,
  body: new Uint8Array([i & 255]),
});

Deno.test({
  name:
    "PostgresStore: nodes opening one database together migrate once; concurrent appends get gap-free seqs",
  ignore: clusterSkip !== null,
  async fn() {
    const url = await (await cluster()).newDatabase();
    const nodes = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url)));
    try {
      const got = await Promise.all(nodes.map(async (s, k) => {
        const seqs: number[] = [];
        for (let i = 0; i < 10; i++) {
          const rows = await s.appendMessages([msg(i * 2, `n${k}`), msg(i * 2 + 1, `n${k}`)]);
          seqs.push(...rows.map((r) => r!.seq));
        }
        return seqs;
      }));
      const all = got.flat().sort((a, b) => a - b);
      assert.deepEqual(all, Array.from({ length: 60 }, (_, i) => i + 1), "1..60, no gap, no repeat");
      for (const s of got) assert.deepEqual(s, [...s].sort((a, b) => a - b), "a node's own seqs rise");
      assert.equal(await nodes[0]!.lastSeq(), 60);
    } finally {
      await Promise.all(nodes.map((s) => s.close()));
    }
  },
});

Deno.test({
  name:
    "PostgresStore: one batch's insert drops resends (stored or earlier in the batch) and keeps seqs dense",
  ignore: clusterSkip !== null,
  async fn() {
    const s = await fresh();
    try {
      const [old] = await s.appendMessages([msg(1, "a")]);
      const body = new Uint8Array([0, 255, 10, 92, 34, 39]); // bytes a text encoding could mangle
      const got = await s.appendMessages([
        msg(2, "a"),
        msg(1, "a"), // stored before
        { ...msg(3, "b"), body, expires: 9_000 },
        msg(2, "a"), // earlier in this batch
        { ...msg(4, "a"), body: new Uint8Array() },
        msg(2, "b"), // another sender's m2
      ]);
      const top = old!.seq;
      assert.deepEqual(got.map((r) => r?.seq ?? null), [top + 1, null, top + 2, null, top + 3, top + 4]);
      const next = await s.appendMessages([msg(1, "a"), msg(5, "a")]);
      assert.deepEqual(next.map((r) => r?.seq ?? null), [null, top + 5], "no seq spent on a duplicate");
      assert.equal((await s.appendMessages([msg(6, "a")]))[0]!.seq, top + 6);
      const rows = await s.since(top, 10);
      assert.deepEqual(rows.map((r) => `${r.sender}/${r.mid}`), [
        "a/m2",
        "b/m3",
        "a/m4",
        "b/m2",
        "a/m5",
        "a/m6",
      ]);
      assert.deepEqual([...rows[1]!.body], [...body]);
      assert.equal(rows[2]!.body.length, 0);
      assert.equal(await s.sweepExpired(9_000, 10), 1, "the expiry stored with its row");
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "PostgresStore: acks of one batch, the same conversation more than once, keep each cursor's highest",
  ignore: clusterSkip !== null,
  async fn() {
    const s = await fresh();
    try {
      await s.createUser({ name: "bob", hash: "h", role: "user", createdAt: 0 });
      await s.createUser({ name: "carol", hash: "h", role: "user", createdAt: 0 });
      const dm = (i: number): NewMessage => ({
        ...msg(i, "alice"),
        kind: "user",
        target: "bob",
        conv: "d:alice:bob",
      });
      const rows = await s.appendMessages([dm(1), dm(2), dm(3)]);
      const [s1, s2, s3] = rows.map((r) => r!.seq) as [number, number, number];
      await s.appendMessages([dm(4)], [
        { user: "bob", acks: [{ conv: "d:alice:bob", seq: s2 }, { conv: "d:alice:bob", seq: s1 }] },
        { user: "carol", acks: [{ conv: "d:alice:bob", seq: s3 }] },
        { user: "bob", acks: [{ conv: "d:alice:bob", seq: s1 }] },
      ]);
      assert.deepEqual((await s.pending("bob", 0, 10)).map((r) => r.seq), [s3, s2 + 2]);
      await s.appendMessages([], [{
        user: "bob",
        acks: [{ conv: "d:alice:bob", seq: s3 }, { conv: "x", seq: 1 }],
      }]);
      assert.deepEqual((await s.pending("bob", 0, 10)).map((r) => r.seq), [s2 + 2]);
    } finally {
      await s.close();
    }
  },
});

// The throwaway cluster stops after the file's tests, also after a failure; a --filter that ran none
// of them no longer starts one only to stop it.
Deno.test.afterAll(async () => {
  if (pg) await (await pg).stop();
});

Deno.test({
  name: "PostgresStore: device rows held in memory are dropped by a write here, by forgetDevices and by age",
  ignore: clusterSkip !== null,
  async fn() {
    const url = await (await cluster()).newDatabase();
    const clock = new ManualClock();
    const [a, b] = await Promise.all([
      PostgresStore.open(url, { clock }),
      PostgresStore.open(url, { clock }),
    ]);
    try {
      const told: string[] = [];
      b.devicesChanged = (u) => told.push(u);
      await b.createUser({ name: "alice", hash: "h", role: "user", createdAt: 1 });
      const one = await b.addDevice("alice", "laptop", 1, 0);
      assert.deepEqual(told, ["alice"], "a write tells");
      assert.equal(a.devicesNow("alice"), undefined, "nothing held before a read");
      assert.deepEqual((await a.devices("alice")).map((d) => d.signKey), [null]);
      assert.deepEqual(a.devicesNow("alice")?.map((d) => d.device), [one], "held once read");

      assert.ok(await b.setDeviceKey("alice", one, "k1"));
      assert.deepEqual(told, ["alice", "alice"]);
      assert.equal(b.devicesNow("alice"), undefined, "the writer holds nothing stale");
      assert.equal(a.devicesNow("alice")?.[0]?.signKey, null, "another node holds its rows until told");
      a.forgetDevices("alice");
      assert.equal(a.devicesNow("alice"), undefined, "told: dropped");
      assert.equal((await a.devices("alice"))[0]?.signKey, "k1");

      clock.advance(DEVICES_FRESH_MS);
      assert.equal(a.devicesNow("alice")?.[0]?.signKey, "k1", "still fresh at the limit");
      clock.advance(1);
      assert.equal(a.devicesNow("alice"), undefined, "too old: read again");

      // A read that was under way when a change came does not refill the memory with what it saw.
      const reading = a.devices("alice");
      a.forgetDevices("alice");
      await reading;
      assert.equal(a.devicesNow("alice"), undefined, "a read from before the change is not kept");
      const rows = await a.devices("alice");
      rows[0]!.name = "changed by a caller";
      assert.equal(a.devicesNow("alice")?.[0]?.name, "laptop", "a caller's copy is its own");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  },
});
