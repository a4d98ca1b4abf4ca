import assert from "node:assert/strict";
import { Hub } from "./hub.ts";
import { MAX_BATCH, MAX_BATCH_BYTES, MessageLog } from "./message_log.ts";
import { SqliteStore } from "./store/sqlite_store.ts";

Deno.test("MessageLog: a flood is written in bounded group commits (count and bytes), every message stored", async () => {
  const store = new SqliteStore(":memory:");
  const sizes: number[] = [];
  const append = store.appendMessages.bind(store);
  store.appendMessages = (b) => (sizes.push(b.length), append(b));
  const log = new MessageLog(store, new Hub());
  const msg = (i: number, bytes = 3) => ({
    mid: `m${i}`,
    sender: "alice",
    kind: "user" as const,
    target: "bob",
    conv: "d:alice:bob",
    ts: 1,
    body: new Uint8Array(bytes),
  });
  const all = Array.from({ length: 2 * MAX_BATCH + 5 }, (_, i) => log.append(msg(i), null));
  const rows = await Promise.all(all);
  assert.ok(rows.every((r) => r !== null), "every message stored");
  assert.deepEqual(sizes, [MAX_BATCH, MAX_BATCH, 5]);
  sizes.length = 0;
  const big = Math.floor(MAX_BATCH_BYTES / 3) + 1;
  await Promise.all([0, 1, 2, 3].map((i) => log.append(msg(10_000 + i, big), null)));
  assert.deepEqual(sizes, [2, 2], "no transaction past the byte bound");
  await store.close();
});
