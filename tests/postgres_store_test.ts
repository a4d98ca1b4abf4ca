/** The shared store conformance suite on PostgreSQL (a throwaway cluster), plus what only Postgres has. */
import assert from "node:assert/strict";
import { storeConformance } from "../lib/server/store/conformance.ts";
import { PostgresStore } from "../lib/server/store/postgres_store.ts";
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

// The throwaway cluster stops after the file's tests, also after a failure; a --filter that ran none
// of them no longer starts one only to stop it.
Deno.test.afterAll(async () => {
  if (pg) await (await pg).stop();
});
