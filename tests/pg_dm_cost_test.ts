/**
 * What a DM costs PostgreSQL (issue 73, the cluster's cost per DM): the statements a batch of DMs
 * sends, counted through PostgresStore's `onStatement`. A batch is BEGIN, the seq lock (with the
 * plan mode), one insert of all its messages, COMMIT: four statements whatever its size; acks riding
 * along add one. DMs that arrive in one turn share one batch (MessageLog's group commit). A statement
 * more per batch or per DM fails here.
 */
import assert from "node:assert/strict";
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

const BATCH = ["begin", "select pg_advisory_xact_lock($1),", "with input", "commit"];

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
  name: "PostgreSQL cost of DMs (end)",
  ignore: clusterSkip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (pg) await (await pg).stop();
  },
});
