import assert from "node:assert/strict";
import { benchCrypto } from "./bench.ts";

Deno.test("benchCrypto() returns the eight rows with positive values", async () => {
  const rows = await benchCrypto(0.02);
  assert.deepEqual(rows.map((r) => r.unit), ["ms", "µs", "µs", "µs", "ms", "ms", "MB/s", "MB/s"]);
  for (const r of rows) assert.ok(r.value > 0 && Number.isFinite(r.value), r.name);
});
