import assert from "node:assert/strict";
import fc from "fast-check";
import { midHash, RecentMids } from "./recent_mids.ts";

Deno.test("RecentMids keeps each sender's newest mids, reads a window once, and again after clear()", () => {
  const stored: Record<string, string[]> = { al: ["a1", "a2", "a3"] };
  const loads: string[] = [];
  const r = new RecentMids(
    (sender, n) => {
      loads.push(sender);
      return (stored[sender] ?? []).slice(-n);
    },
    2,
    1,
  );
  assert.equal(r.claim("al", "a3"), false, "a stored mid: a resend");
  assert.equal(r.claim("al", "a4"), true, "a new mid is claimed once...");
  assert.equal(r.claim("al", "a4"), false, "...and is a resend after");
  assert.equal(r.claim("al", "a2"), true, "a2 left the window of 2 when a4 came");
  assert.deepEqual(loads, ["al"], "read once");
  assert.equal(r.claim("bo", "a4"), true, "another sender's window");
  assert.equal(r.claim("al", "a3"), false, "al's window was forgotten (one sender held): read again");
  r.clear();
  r.claim("al", "a9");
  assert.deepEqual(loads, ["al", "bo", "al", "al"]);
});

Deno.test("RecentMids: a window rolled over many times holds exactly its newest mids", () => {
  const r = new RecentMids(() => ["x", "y", "x"], 3, 4);
  assert.equal(r.claim("al", "x"), false);
  assert.equal(r.claim("al", "y"), false);
  for (let i = 0; i < 10; i++) assert.equal(r.claim("al", `m${i}`), true);
  assert.equal(r.claim("al", "x"), true, "x left the window long ago");
  assert.equal(r.claim("al", "m9"), false);
  assert.equal(r.claim("al", "m8"), false);
  assert.equal(r.claim("al", "m7"), true, "m7 left when x came");
  // Loaded with a mid stored twice: it is held once, so the window still holds 3 others after it.
  const d = new RecentMids(() => ["a", "b", "a"], 3, 4);
  assert.equal(d.claim("al", "c"), true);
  assert.equal(d.claim("al", "b"), false, "b is among the 3 newest: b, a, c");
  assert.equal(d.claim("al", "a"), false);
});

Deno.test("RecentMids: the ring and the lookup agree after a window rolled over many times, with resends in between", () => {
  const n = 5;
  const r = new RecentMids(() => ["s1", "s2"], n, 2);
  const newest: string[] = ["s1", "s2"];
  for (let i = 0; i < 40; i++) {
    const mid = `m${i}`;
    assert.equal(r.claim("al", mid), true);
    newest.push(mid);
    if (newest.length > n) newest.shift();
    if (i % 3 === 0) assert.equal(r.claim("al", newest[0]!), false, "the oldest still held is a resend");
  }
  for (const m of newest) assert.equal(r.claim("al", m), false, `${m} is among the ${n} newest`);
  assert.equal(r.claim("al", "m34"), true, "the one before the newest five has left");
});

Deno.test("RecentMids: two mids with the same hash are told apart, and one leaving keeps the other", () => {
  // Two mids of the same 30-bit hash (found by trying: ~50,000 tries).
  const seen = new Map<number, string>();
  let a = "", b = "";
  for (let i = 0; !a; i++) {
    const m = `c${i}`, h = midHash(m), o = seen.get(h);
    if (o !== undefined) [a, b] = [o, m];
    else seen.set(h, m);
  }
  assert.equal(midHash(a), midHash(b));
  const r = new RecentMids(() => [], 3, 1);
  assert.equal(r.claim("al", a), true);
  assert.equal(r.claim("al", b), true, "the same hash is not a resend of another mid");
  assert.equal(r.claim("al", a), false);
  assert.equal(r.claim("al", b), false);
  assert.equal(r.claim("al", "x"), true); // window: a, b, x
  assert.equal(r.claim("al", "y"), true, "a leaves"); // b, x, y
  assert.equal(r.claim("al", b), false, "b is still held though a, of its hash, left");
  assert.equal(r.claim("al", a), true, "a is new again"); // x, y, a
  assert.equal(r.claim("al", b), true, "b left"); // y, a, b
  assert.equal(r.claim("al", a), false);
});

Deno.test("RecentMids answers every sequence of claims as a list of each sender's newest mids does", () => {
  // Small windows (tables of 4–16 slots) and few mids: slots collide, probes wrap round the table,
  // and entries move back when one leaves.
  const claim = fc.record({ sender: fc.constantFrom("al", "bo"), mid: fc.integer({ min: 0, max: 40 }) });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 8 }),
      fc.array(claim, { maxLength: 200 }),
      (per, stored, claims) => {
        const load = () => stored.map((m) => `m${m}`);
        const r = new RecentMids((_, n) => load().slice(-n), per, 2);
        const held = new Map<string, string[]>();
        for (const { sender, mid } of claims) {
          if (!held.has(sender)) held.set(sender, [...new Set(load().slice(-per))]);
          const list = held.get(sender)!, m = `m${mid}`;
          const fresh = !list.includes(m);
          assert.equal(r.claim(sender, m), fresh, `${sender} ${m} in [${list}]`);
          if (fresh) list.push(m), list.length > per && list.shift();
        }
      },
    ),
    { numRuns: 3000 },
  );
});
