import assert from "node:assert/strict";
import fc from "fast-check";
import { convKey, NAME_RE, normalizeName, withoutHash } from "./names.ts";

Deno.test("withoutHash: drops one leading # of a typed room name, nothing else", () => {
  assert.deepEqual(["#dev", "dev", "##dev", "", "a#b"].map(withoutHash), ["dev", "dev", "#dev", "", "a#b"]);
});

Deno.test("normalizeName: NFKC, lower case, one leading # dropped, ASCII rule", () => {
  assert.deepEqual(["#Dev", "ＤＥＶ", "＃dev", "##dev", "dév"].map(normalizeName), [
    "dev",
    "dev",
    "dev",
    null,
    null,
  ]);
});

Deno.test("normalizeName: a name already canonical comes back as it is, any other as NFKC and lower case make it", () => {
  const slow = (raw: string) => {
    const n = withoutHash(raw.normalize("NFKC").toLowerCase());
    return raw.length <= 128 && NAME_RE.test(n) ? n : null;
  };
  const chars = fc.constantFrom(..."aZz09_.-#ＤＥ＃éK\u212a".split(""));
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: chars, maxLength: 40 }), fc.string({ maxLength: 40 })), (raw) => {
      assert.equal(normalizeName(raw), slow(raw));
    }),
    { numRuns: 3000 },
  );
  assert.equal(normalizeName("Kelvin\u212a"), "kelvink");
  assert.equal(normalizeName("a".repeat(32)), "a".repeat(32));
  assert.equal(normalizeName("a".repeat(33)), null);
});

Deno.test("convKey: one key for both sides of a DM, the two names in code-unit order", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (a, b) => {
      const [x, y] = [a, b].sort();
      assert.equal(convKey("user", a, b), `d:${x}:${y}`);
      assert.equal(convKey("user", b, a), convKey("user", a, b));
    }),
  );
  assert.equal(convKey("user", "bob", "alice"), "d:alice:bob");
  assert.equal(convKey("user", "bob"), "d::bob");
  assert.equal(convKey("room", "dev"), "r:dev");
  assert.equal(convKey("broadcast", "x"), "b");
});

Deno.test("convKey: DM keys kept for reuse are the keys made anew, past the bound that forgets them all", () => {
  const made = (a: string, b: string) => a < b ? `d:${a}:${b}` : `d:${b}:${a}`;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 70_000; i++) {
      const [a, b] = [`u${i % 300}`, `v${Math.floor(i / 300)}`];
      assert.equal(convKey("user", a, b), made(a, b));
      assert.equal(convKey("user", b, a), made(a, b));
    }
  }
  assert.equal(convKey("user", "al", "al"), "d:al:al");
  assert.equal(convKey("user", "al"), "d::al");
});
