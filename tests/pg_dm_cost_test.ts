/**
 * What a DM costs PostgreSQL (issue 73, the cluster's cost per DM): the statements a batch of DMs
 * sends, counted through PostgresStore's `onStatement`. A batch is BEGIN, the seq lock (with the
 * plan mode), one insert of all its messages, COMMIT: four statements whatever its size; acks riding
 * along add one. DMs that arrive in one turn share one batch (MessageLog's group commit). A statement
 * more per batch or per DM fails here. A batch holding a resend of a stored message is written
 * twice (the common insert fails on it): its rows and seqs are checked here, and a batch that fails
 * (a fault injected by a trigger, at the insert or at COMMIT) stores nothing and tells no sender.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { Hub } from "../lib/server/hub.ts";
import { MessageLog } from "../lib/server/message_log.ts";
import { PostgresStore } from "../lib/server/store/postgres_store.ts";
import type { NewMessage } from "../lib/server/store/store.ts";
import { clusterSkip, startPostgres, type TestPostgres } from "./cluster_harness.ts";

let pg: Promise<TestPostgres> | null = null;
const cluster = () => pg ??= startPostgres();

/** A store on a fresh database and the statements it sent since the last `take`. */
async function counted(): Promise<{ store: PostgresStore; take: () => string[] }> {
  let heard: string[] = [];
  const store = await PostgresStore.open(await (await cluster()).newDatabase(), {
    onStatement: (t) => heard.push(t.replace(/\s+/g, " ").trim()),
  });
  return { store, take: () => [heard, heard = []][0]! };
}

const dm = (i: number, from = "ann", to = "bob"): NewMessage => ({
  mid: `m${i}`,
  sender: from,
  kind: "user",
  target: to,
  conv: `d:${from < to ? from : to}:${from < to ? to : from}`,
  ts: 1000 + i,
  body: new Uint8Array([i & 255, 1, 2, 3]),
});

/** Each statement named by its first words (the shape a mutation would change). */
const shape = (ss: string[]) => ss.map((s) => s.split(" ").slice(0, 2).join(" ").toLowerCase());

const BATCH = ["begin", "select pg_advisory_xact_lock($1),", "with top", "commit"];

Deno.test({
  name: "PostgreSQL cost of DMs: a batch is 4 statements (BEGIN, lock, one insert, COMMIT) for 1 or 200 DMs",
  ignore: clusterSkip !== null,
  async fn() {
    const { store, take } = await counted();
    try {
      await store.appendMessages([dm(0)]); // the first use prepares its statements
      take();
      await store.appendMessages([dm(1)]);
      assert.deepEqual(shape(take()), BATCH);
      const rows = await store.appendMessages(Array.from({ length: 200 }, (_, i) => dm(100 + i)));
      assert.equal(rows.filter((r) => r).length, 200);
      assert.deepEqual(shape(take()), BATCH, "200 DMs: the same statements as one");
      // Acks riding along: one statement more for all of them.
      await store.appendMessages([dm(400)], [{ user: "bob", acks: [{ conv: "d:ann:bob", seq: 3 }] }]);
      assert.deepEqual(shape(take()), [...BATCH.slice(0, 3), "insert into", "commit"]);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name: "PostgreSQL cost of DMs: 50 DMs sent in one turn are one group commit (one insert, one COMMIT)",
  ignore: clusterSkip !== null,
  async fn() {
    const { store, take } = await counted();
    const log = new MessageLog(store, new Hub());
    try {
      await log.append(dm(0), null);
      take();
      const rows = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(dm(1 + i), null)));
      assert.deepEqual(rows.map((r) => r!.seq), Array.from({ length: 50 }, (_, i) => 2 + i));
      assert.deepEqual(shape(take()), BATCH);
    } finally {
      await log.close();
      await store.close();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL cost of DMs: a batch of 300 is stored whole, in its order, at dense seqs; one holding a resend is written again without it, the rest in order",
  ignore: clusterSkip !== null,
  async fn() {
    const { store, take } = await counted();
    try {
      const [a] = await store.appendMessages([dm(0)]);
      const batch = Array.from({ length: 300 }, (_, i) => dm(300 - i, i % 2 ? "ann" : "cy"));
      const rows = await store.appendMessages(batch);
      assert.deepEqual(rows.map((r) => r!.seq), batch.map((_, i) => a!.seq + 1 + i));
      const back = await store.since(a!.seq, 1000);
      assert.deepEqual(
        back.map((r) => `${r.seq} ${r.sender} ${r.mid} ${r.body[0]}`),
        batch.map((m, i) => `${a!.seq + 1 + i} ${m.sender} ${m.mid} ${m.body[0]}`),
      );
      take();
      // m1 (ann) was stored above: the common insert fails on it, the batch is written again.
      const next = await store.appendMessages([dm(901, "cy"), dm(1), dm(902), dm(903, "cy")]);
      const heard = shape(take());
      assert.deepEqual(
        heard.filter((s) => s.startsWith("with")),
        ["with top", "with input"],
        heard.join("; "),
      );
      assert.equal(heard.at(-1), "commit");
      const top = a!.seq + 300;
      assert.deepEqual(next.map((r) => r?.seq ?? null), [top + 1, null, top + 2, top + 3]);
      assert.deepEqual(
        (await store.since(top, 10)).map((r) => `${r.sender} ${r.mid}`),
        ["cy m901", "ann m902", "cy m903"],
      );
    } finally {
      await store.close();
    }
  },
});

/** Makes the store's database fail a batch holding mid `boom`: at its insert, or at its COMMIT. */
async function failOnBoom(url: string, atCommit: boolean): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.mid = 'boom' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$`);
    await sql.unsafe(
      atCommit
        ? `CREATE CONSTRAINT TRIGGER boom AFTER INSERT ON messages DEFERRABLE INITIALLY DEFERRED
           FOR EACH ROW EXECUTE FUNCTION boom()`
        : `CREATE TRIGGER boom BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION boom()`,
    );
  } finally {
    await sql.end();
  }
}

for (const atCommit of [false, true]) {
  Deno.test({
    name: `PostgreSQL cost of DMs: a batch that fails ${
      atCommit ? "at COMMIT" : "at its insert"
    } stores none of its rows and tells each sender it failed, none stored (no ack before the commit)`,
    ignore: clusterSkip !== null,
    async fn() {
      const url = await (await cluster()).newDatabase();
      const store = await PostgresStore.open(url);
      const log = new MessageLog(store, new Hub());
      try {
        await log.append(dm(0), null);
        await failOnBoom(url, atCommit);
        const told = await Promise.allSettled(
          [dm(1), { ...dm(2), mid: "boom" }, dm(3)].map((m) => log.append(m, null)),
        );
        assert.deepEqual(told.map((t) => t.status), ["rejected", "rejected", "rejected"]);
        assert.deepEqual((await store.since(0, 10)).map((r) => r.mid), ["m0"], "nothing of the batch stored");
        // The same batch again, a resend of a stored one among it (the second insert): failed alike.
        const again = await Promise.allSettled(
          [dm(0), dm(4), { ...dm(5), mid: "boom" }].map((m) => log.append(m, null)),
        );
        assert.deepEqual(again.map((t) => t.status), ["rejected", "rejected", "rejected"]);
        assert.deepEqual((await store.since(0, 10)).map((r) => r.mid), ["m0"]);
        assert.equal((await log.append(dm(6), null))!.seq, 2, "the next batch: the next seq");
      } finally {
        await log.close();
        await store.close();
      }
    },
  });
}

Deno.test({
  name: "PostgreSQL cost of DMs (end)",
  ignore: clusterSkip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (pg) await (await pg).stop();
  },
});
