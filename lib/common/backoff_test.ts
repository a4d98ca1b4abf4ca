import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay: 500 ms doubled after each failure, at most 30 s, also after very many", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 50, 5000].map((n) => backoffDelay(n)),
    [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000],
  );
});

Deno.test("backoffDelay: a given minimum and maximum", () => {
  const b = { minMs: 50, maxMs: 400 };
  assert.deepEqual([0, 1, 2, 3, 4].map((n) => backoffDelay(n, b)), [50, 100, 200, 400, 400]);
  assert.equal(backoffDelay(-1, b), 50, "never below the minimum");
});
