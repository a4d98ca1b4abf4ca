import assert from "node:assert/strict";
import fc from "fast-check";
import { midHash, RecentMids } from "./recent_mids.ts";

/**
 * A store as RecentMids sees it: each sender's messages in seq order, a mid read back by seq. `claim`
 * stores the message when the window says it is new, as the embedded store does.
 */
class FakeStore {
  readonly bySender = new Map<string, number[]>();
  readonly mids = new Map<number, string>();
  readonly loads: string[] = [];
  reads = 0;
  next = 1;

  constructor(stored: Record<string, string[]> = {}) {
    for (const [sender, mids] of Object.entries(stored)) for (const m of mids) this.store(sender, m);
  }

  store(sender: string, mid: string): number {
    const seq = this.next++;
    this.bySender.set(sender, [...this.bySender.get(sender) ?? [], seq]);
    this.mids.set(seq, mid);
    return seq;
  }

  window(perSender: number, senders: number): RecentMids {
    return new RecentMids(
      (sender, n) => {
        this.loads.push(sender);
        const seqs = (this.bySender.get(sender) ?? []).slice(-n);
        return { seqs, hashes: seqs.map((s) => midHash(this.mids.get(s)!)) };
      },
      (seq) => (this.reads++, this.mids.get(seq)),
      perSender,
      senders,
    );
  }

  /** `r.claim` with the seq the message would get, stored when new (the window's answer). */
  claim(r: RecentMids, sender: string, mid: string): boolean {
    const fresh = r.claim(sender, mid, this.next);
    if (fresh) this.store(sender, mid);
    return fresh;
  }
}

Deno.test("RecentMids keeps each sender's newest messages, reads a window once, and again after clear()", () => {
  const st = new FakeStore({ al: ["a1", "a2", "a3"] });
  const r = st.window(2, 1);
  assert.equal(st.claim(r, "al", "a3"), false, "a stored mid: a resend");
  assert.equal(st.claim(r, "al", "a4"), true, "a new mid is claimed once...");
  assert.equal(st.claim(r, "al", "a4"), false, "...and is a resend after");
  assert.equal(st.claim(r, "al", "a2"), true, "a2 left the window of 2 when a4 came");
  assert.deepEqual(st.loads, ["al"], "read once");
  assert.equal(st.claim(r, "bo", "a4"), true, "another sender's window");
  assert.equal(st.claim(r, "al", "a2"), false, "al's window was forgotten (one sender held): read again");
  r.clear();
  st.claim(r, "al", "a9");
  assert.deepEqual(st.loads, ["al", "bo", "al", "al"]);
});

Deno.test("RecentMids holds no mid: it reads one back only for a hash it holds", () => {
  const st = new FakeStore({ al: ["s1", "s2"] });
  const r = st.window(512, 4);
  for (let i = 0; i < 2000; i++) assert.equal(st.claim(r, "al", `m${i}`), true);
  assert.ok(st.reads <= 1, `${st.reads} mids read back for 2,000 new ones (a hash collision at most)`);
  assert.equal(st.claim(r, "al", "m1999"), false);
  assert.ok(st.reads >= 1, "a resend: its mid read back and compared");
});

Deno.test("RecentMids: a window rolled over many times holds exactly its newest messages", () => {
  const st = new FakeStore({ al: ["x", "y", "z"] });
  const r = st.window(3, 4);
  assert.equal(st.claim(r, "al", "x"), false);
  assert.equal(st.claim(r, "al", "y"), false);
  for (let i = 0; i < 10; i++) assert.equal(st.claim(r, "al", `m${i}`), true);
  assert.equal(st.claim(r, "al", "x"), true, "x left the window long ago");
  assert.equal(st.claim(r, "al", "m9"), false);
  assert.equal(st.claim(r, "al", "m8"), false);
  assert.equal(st.claim(r, "al", "m7"), true, "m7 left when x came");
});

Deno.test("RecentMids: the ring and the lookup agree after a window grew and rolled over, with resends in between", () => {
  const n = 40; // a window starts with room for 16 and grows
  const st = new FakeStore({ al: ["s1", "s2"] });
  const r = st.window(n, 2);
  const newest: string[] = ["s1", "s2"];
  for (let i = 0; i < 300; i++) {
    const mid = `m${i}`;
    assert.equal(st.claim(r, "al", mid), true);
    newest.push(mid);
    if (newest.length > n) newest.shift();
    if (i % 3 === 0) assert.equal(st.claim(r, "al", newest[0]!), false, "the oldest still held is a resend");
  }
  for (const m of newest) assert.equal(st.claim(r, "al", m), false, `${m} is among the ${n} newest`);
  assert.equal(st.claim(r, "al", "m259"), true, "the one before the newest forty has left");
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
  const st = new FakeStore();
  const r = st.window(3, 1);
  assert.equal(st.claim(r, "al", a), true);
  assert.equal(st.claim(r, "al", b), true, "the same hash is not a resend of another mid");
  assert.equal(st.claim(r, "al", a), false);
  assert.equal(st.claim(r, "al", b), false);
  assert.equal(st.claim(r, "al", "x"), true); // window: a, b, x
  assert.equal(st.claim(r, "al", "y"), true, "a leaves"); // b, x, y
  assert.equal(st.claim(r, "al", b), false, "b is still held though a, of its hash, left");
  assert.equal(st.claim(r, "al", a), true, "a is new again"); // x, y, a
  assert.equal(st.claim(r, "al", b), true, "b left"); // y, a, b
  assert.equal(st.claim(r, "al", a), false);
});

Deno.test("RecentMids: a message gone from the store (midOf undefined) is not a resend", () => {
  const st = new FakeStore({ al: ["g"] });
  const r = st.window(4, 1);
  assert.equal(st.claim(r, "al", "h"), true, "the window is read");
  st.mids.delete(1); // g deleted, the window not cleared yet
  assert.equal(st.claim(r, "al", "g"), true);
});

Deno.test("RecentMids answers every sequence of claims as a list of each sender's newest messages does", () => {
  // Small windows (tables of 4–16 slots) and few mids: slots collide, probes wrap round the table,
  // and entries move back when one leaves.
  const claim = fc.record({ sender: fc.constantFrom("al", "bo"), mid: fc.integer({ min: 0, max: 40 }) });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 8 }),
      fc.array(claim, { maxLength: 200 }),
      (per, stored, claims) => {
        const st = new FakeStore({ al: stored.map((m) => `m${m}`), bo: stored.map((m) => `m${m}`) });
        const r = st.window(per, 2);
        const held = new Map<string, string[]>();
        for (const { sender, mid } of claims) {
          if (!held.has(sender)) held.set(sender, stored.map((m) => `m${m}`).slice(-per));
          const list = held.get(sender)!, m = `m${mid}`;
          const fresh = !list.includes(m);
          assert.equal(st.claim(r, sender, m), fresh, `${sender} ${m} in [${list}]`);
          if (fresh) list.push(m), list.length > per && list.shift();
        }
      },
    ),
    { numRuns: 3000 },
  );
});
