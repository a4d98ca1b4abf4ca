import assert from "node:assert/strict";
import { backoffDelay, STORE_RECONNECT, UNAVAILABLE_BACKOFF } from "./backoff.ts";

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

Deno.test("backoffDelay: jitter moves a wait by at most its fraction either way, from the injected randomness", () => {
  const fixed = (hi: number, lo: number) => () => new Uint8Array([hi, lo]);
  const b = { minMs: 200, maxMs: 800, jitter: 0.25 };
  assert.equal(backoffDelay(0, b, fixed(0, 0)), 150, "the lowest draw: a quarter less");
  assert.equal(backoffDelay(0, b, fixed(255, 255)), 250, "the highest: a quarter more");
  assert.equal(backoffDelay(9, b, fixed(255, 255)), 1000, "the cap jittered too");
  for (let i = 0; i < 200; i++) {
    const ms = backoffDelay(1, b);
    assert.ok(ms >= 300 && ms <= 500, `${ms} within 400 ± 25 %`);
  }
});

Deno.test("UNAVAILABLE_BACKOFF: a server that cannot store now is asked again within ~1 s, never later", () => {
  const worst = Math.max(
    ...[0, 1, 2, 3, 10, 100].map((n) =>
      backoffDelay(n, UNAVAILABLE_BACKOFF, () => new Uint8Array([255, 255]))
    ),
  );
  assert.equal(worst, 1250);
  assert.equal(backoffDelay(0, STORE_RECONNECT), 50);
  assert.equal(backoffDelay(30, STORE_RECONNECT), 250);
});
