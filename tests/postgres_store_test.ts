/** The shared store conformance suite on PostgreSQL (a throwaway cluster), plus what only Postgres has. */
import assert from "node:assert/strict";
import { storeConformance } from "../lib/server/store/conformance.ts";
import postgres from "postgres";
import { PostgresStore } from "../lib/server/store/postgres_store.ts";
import { HISTORY_SQL } from "../lib/server/store/pg_messages.ts";
import { PG_MIGRATIONS } from "../lib/server/store/pg_migrations.ts";
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
  name:
    "PostgresStore: a batch's names go into PostgreSQL's array literals as they are: quotes, backslashes, braces, commas, spaces, NULL, non-ASCII (issue 73: the arrays built by hand)",
  ignore: clusterSkip !== null,
  async fn() {
    const s = await fresh();
    try {
      const odd = ['q"uote', "back\\slash", "{br,ace}", " sp ace ", "NULL", "", "zoë 🦜", '\\"', "\\"];
      const batch = odd.map((mid, i) => ({ ...msg(i, `s${i}`), mid, conv: `c:${mid}`, target: mid }));
      batch.push({ ...msg(99, "plain"), expires: 7 }); // one plain row in the batch, with an expiry
      const got = await s.appendMessages(batch, [{ user: 'u"\\', acks: [{ conv: '{"c"}', seq: 1000 }] }]);
      assert.ok(got.every((r) => r !== null));
      const rows = await s.since(0, 100);
      assert.deepEqual(
        rows.map((r) => [r.mid, r.conv, r.target]),
        batch.map((m) => [m.mid, m.conv, m.target]),
      );
      assert.equal(await s.sweepExpired(7, 100), 1, "the one expiry stored, the NULLs as none");
      // The plain batch (no element to escape) too; the ack's cursor under its odd names hides one.
      const user = 'u"\\';
      await s.createUser({ name: user, hash: "h", role: "user", createdAt: 0 });
      const dm = (i: number, conv: string) => ({
        ...msg(100 + i, "plain"),
        kind: "user" as const,
        target: user,
        conv,
      });
      const [, shown] = await s.appendMessages([dm(0, '{"c"}'), dm(1, "x")]);
      assert.deepEqual(
        (await s.pending(user, 0, 10)).map((r) => r.seq),
        [shown!.seq],
        "the acked conversation hides its message",
      );
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

Deno.test({
  name:
    "PostgresStore: a database of the schema before migrates to messages' indexes without the B-tree on ts (issue 73); its rows stay and the retention sweep still takes the oldest first",
  ignore: clusterSkip !== null,
  async fn() {
    const url = await (await cluster()).newDatabase();
    const raw = postgres(url, { max: 1, onnotice: () => {} });
    try {
      // The database as the release before left it: every migration but the last, with messages in it.
      await raw`CREATE TABLE schema_version (v INTEGER NOT NULL)`;
      for (const m of PG_MIGRATIONS.slice(0, -1)) await raw.unsafe(m).simple();
      await raw`INSERT INTO schema_version (v) VALUES (${PG_MIGRATIONS.length - 1})`;
      await raw`INSERT INTO messages (seq, mid, sender, kind, target, conv, ts, body)
        SELECT i, 'm' || i, 'a', 'user', 'a', 'd:a:a', i, '\\x01'::bytea FROM generate_series(1, 3000) i`;
      const s = await PostgresStore.open(url);
      try {
        const idx = (await raw`SELECT indexname FROM pg_indexes WHERE tablename = 'messages' ORDER BY 1`)
          .map((r) => r.indexname as string);
        assert.deepEqual(idx, [
          "messages_conv_page",
          "messages_expires",
          "messages_pkey",
          "messages_sender_mid_key",
          "messages_target",
          "messages_ts_brin",
        ]);
        assert.equal((await raw`SELECT v FROM schema_version`)[0]!.v, PG_MIGRATIONS.length);
        assert.equal((await s.stats()).messages, 3000, "the rows stay");
        // DMs to oneself are acknowledged by their only recipient: the 100 oldest go, then the next.
        assert.equal(await s.sweepMessages(2001, 100), 100);
        assert.deepEqual((await s.since(0, 1)).map((r) => r.seq), [101]);
        assert.equal(await s.sweepMessages(2001, 5000), 1900);
        assert.deepEqual((await s.since(0, 1)).map((r) => r.seq), [2001]);
      } finally {
        await s.close();
      }
    } finally {
      await raw.end();
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

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
function planNodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const kids = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...kids.flatMap(planNodes)];
}

Deno.test({
  name:
    "PostgresStore: a history page of 1,000 from a 1M-message conversation is read backward from an index, never sorted whole (EXPLAIN, custom and generic plans)",
  ignore: clusterSkip !== null,
  async fn() {
    const url = await (await cluster()).newDatabase();
    const s = await PostgresStore.open(url); // migrated: messages_conv_page is there
    const raw = postgres(url, { max: 1, onnotice: () => {} }); // one connection: PREPARE, SET, EXECUTE
    try {
      // 500,000 messages of r:old, then 1,000,000 of r:big with every 11th seq another conversation's:
      // r:old's newest page lies below 1.1M newer messages (a walk of the primary key would pass them).
      await raw.unsafe(`INSERT INTO messages (seq, mid, sender, kind, target, conv, ts, body)
        SELECT g, 'm' || g, 'a', 'room', 'big', CASE WHEN g <= 500000 THEN 'r:old'
          WHEN g % 11 = 0 THEN 'r:other' ELSE 'r:big' END, 1000 + g, '\\x0102'::bytea
        FROM generate_series(1, 1600000) g`);
      await raw.unsafe("VACUUM ANALYZE messages");
      await raw.unsafe(`PREPARE page(text, bigint, bigint, bigint, bigint, bigint) AS ${HISTORY_SQL}`);
      const max = Number.MAX_SAFE_INTEGER;
      const explain = async (conv: string, before: number, format: "JSON" | "TEXT") =>
        await raw.unsafe(
          `EXPLAIN (ANALYZE, COSTS OFF, FORMAT ${format}) EXECUTE page('${conv}', 0, 0, 1000, ${max}, ${before})`,
        );
      for (const mode of ["auto", "force_generic_plan"]) {
        await raw.unsafe(`SET plan_cache_mode = ${mode}`);
        for (const [conv, before] of [["r:big", max], ["r:big", 1_000_000], ["r:old", max]] as const) {
          const [row] = await explain(conv, before, "JSON");
          const plan = (row!["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0]!.Plan;
          const nodes = planNodes(plan);
          const what = `${mode}, ${conv} before ${before}: ${JSON.stringify(plan)}`;
          const sorted = nodes.filter((p) => p["Node Type"] === "Sort").map((p) =>
            p["Actual Rows"] as number
          );
          assert.ok(sorted.every((rows) => rows <= 1000), `no sort of more than the page (${what})`);
          const scan = nodes.find((p) => p["Index Name"] === "messages_conv_page");
          assert.equal(
            scan?.["Scan Direction"],
            "Backward",
            `the page read backward from the index (${what})`,
          );
          assert.ok(
            (scan?.["Actual Rows"] as number) <= 1000,
            `the index read only as far as the page (${what})`,
          );
        }
        if (Deno.env.get("PARLEY_SHOW_PLAN")) {
          console.log((await explain("r:old", max, "TEXT")).map((r) => r["QUERY PLAN"]).join("\n"));
        }
      }
      const t0 = performance.now();
      const page = await s.history("r:big", 0, 0, 1000, undefined, 1_000_000);
      const ms = performance.now() - t0;
      assert.equal(page.length, 1000);
      assert.ok(page.every((m) => m.conv === "r:big" && m.seq < 1_000_000));
      assert.deepEqual([page[0]!.seq < page[999]!.seq, page[999]!.seq], [true, 999_998]); // 999,999 is r:other's (every 11th)
      const old = await s.history("r:old", 0, 0, 1000);
      assert.deepEqual([old.length, old[0]!.seq, old[999]!.seq], [1000, 499_001, 500_000]);
      console.log(`a page of 1,000 before seq 1,000,000 of a 1M-message conversation: ${ms.toFixed(1)} ms`);
    } finally {
      await raw.end({ timeout: 1 });
      await s.close();
    }
  },
});

Deno.test({
  name:
    "PostgresStore: a database back after an outage answers within a second — the pool's connections are tried again every 250 ms at most, not after a back-off grown to seconds (issue 74)",
  ignore: clusterSkip !== null,
  async fn() {
    const engine = await cluster();
    const s = await PostgresStore.open(await engine.newDatabase());
    try {
      assert.equal(await s.lastSeq(), 0);
      await engine.down();
      // Four seconds of calls, each refused (StoreUnavailable): the client's own back-off would be 2–20 s by now.
      const end = Date.now() + 4000;
      while (Date.now() < end) {
        await assert.rejects(s.lastSeq(), (e: Error) => e.name === "StoreUnavailable");
        await new Promise((r) => setTimeout(r, 50));
      }
      await engine.up();
      const back = Date.now();
      for (;;) {
        try {
          await s.lastSeq();
          break;
        } catch (e) {
          assert.equal((e as Error).name, "StoreUnavailable");
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      const took = Date.now() - back;
      console.log(`answered ${took} ms after PostgreSQL was back`);
      assert.ok(took < 1500, `answered ${took} ms after PostgreSQL was back`);
    } finally {
      await s.close();
    }
  },
});
