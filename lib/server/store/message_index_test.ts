/**
 * A model check of message_index.ts: random workloads (several users, DMs and notes to self, rooms
 * joined at some seq, broadcasts, cursors, removals anywhere and at the old end, rolled-back tails,
 * limits, byte budgets, mids whose hashes collide) against a naive filter over a plain list of the
 * same messages, which reads as the SQL the index replaced.
 */
import assert from "node:assert/strict";
import { type IndexedMessage as Indexed, MemoryMessageIndex, type QueueQuery } from "./message_index.ts";

/** A message of the model: what the index is given. */
type IndexedMessage = Indexed & { bytes: number };
import { midHash } from "./recent_mids.ts";

/** A small seeded PRNG (mulberry32): a failure names its seed and replays. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(l: readonly T[]) => l[Math.floor(next() * l.length)]!,
  };
}

/** Two mids with the same 30-bit hash (found by search, once). */
const COLLIDING = (() => {
  const seen = new Map<number, string>();
  for (let i = 0;; i++) {
    const m = `c${i}`, h = midHash(m), o = seen.get(h);
    if (o !== undefined) return [o, m];
    seen.set(h, m);
  }
})();

const USERS = ["al", "bo", "cy", "di"];
const ROOMS = ["r1", "r2", "al"];

/** What pendingSql selected, as a filter over every held message. */
function naivePending(all: readonly IndexedMessage[], q: QueueQuery): number[] {
  const notMine = (m: IndexedMessage) => m.sender !== q.user || q.own;
  return all.filter((m) =>
    m.seq > q.lo && m.seq > q.acked(m.conv) && (
      (m.kind === "user" && m.target === q.user && notMine(m)) ||
      (q.own && m.kind === "user" && m.sender === q.user && m.target !== q.user) ||
      (m.kind === "room" && notMine(m) && q.rooms.some((r) => r.room === m.target && m.seq > r.sinceSeq)) ||
      (m.kind === "broadcast" && notMine(m))
    )
  ).map((m) => m.seq).sort((a, b) => a - b).slice(0, q.limit);
}

/** What the history query selected: the newest `limit` that match, then the byte budget. */
function naiveHistory(
  all: readonly IndexedMessage[],
  conv: string,
  since: number,
  after: number,
  limit: number,
  max = Infinity,
): number[] {
  const newest = all.filter((m) => m.conv === conv && m.ts >= since && m.seq > after)
    .sort((a, b) => b.seq - a.seq).slice(0, limit);
  const keep: number[] = [];
  let bytes = 0;
  for (const m of newest) {
    bytes += m.bytes;
    if (keep.length > 0 && bytes > max) break;
    keep.push(m.seq);
  }
  return keep.reverse();
}

function randomMessage(r: ReturnType<typeof rng>, seq: number, ts: number): IndexedMessage {
  const sender = r.pick(USERS), roll = r.next();
  const mid = r.next() < 0.1 ? r.pick(COLLIDING) : r.next() < 0.2 ? `m${r.int(5)}` : `m${seq}`;
  const base = { seq, mid, sender, ts, bytes: r.int(40) };
  if (roll < 0.55) {
    const target = r.next() < 0.15 ? sender : r.pick(USERS);
    const [x, y] = [sender, target].sort();
    return { ...base, kind: "user", target, conv: `d:${x}:${y}` };
  }
  if (roll < 0.85) {
    const room = r.pick(ROOMS);
    return { ...base, kind: "room", target: room, conv: `r:${room}` };
  }
  return { ...base, kind: "broadcast", target: "", conv: "b" };
}

function randomQuery(r: ReturnType<typeof rng>, all: readonly IndexedMessage[], top: number): QueueQuery {
  const convs = [...new Set(all.map((m) => m.conv))];
  const cursors = new Map(convs.filter(() => r.next() < 0.4).map((c) => [c, r.int(top + 2)]));
  return {
    user: r.next() < 0.05 ? "nobody" : r.pick(USERS),
    lo: r.next() < 0.5 ? 0 : r.int(top + 1),
    own: r.next() < 0.5,
    rooms: ROOMS.filter(() => r.next() < 0.6).map((room) => ({ room, sinceSeq: r.int(top + 1) })),
    acked: (c) => cursors.get(c) ?? 0,
    limit: r.next() < 0.5 ? 1 + r.int(4) : 1000,
  };
}

/** Every question the index answers, asked of both (a few random ones each time). */
function check(
  ix: MemoryMessageIndex,
  all: readonly IndexedMessage[],
  r: ReturnType<typeof rng>,
  top: number,
  tsTop: number,
) {
  assert.equal(ix.count, all.length);
  assert.equal(ix.bodyBytes, all.reduce((n, m) => n + m.bytes, 0));
  for (const u of USERS) {
    const mine = all.filter((m) => m.sender === u);
    assert.equal(ix.senderBytes(u), mine.reduce((n, m) => n + m.bytes, 0), `bytes of ${u}`);
    const n = 1 + r.int(6);
    assert.deepEqual(ix.newest(u, n), {
      seqs: mine.slice(-n).map((m) => m.seq),
      hashes: mine.slice(-n).map((m) => midHash(m.mid)),
    }, `newest ${n} of ${u}`);
    const mid = r.next() < 0.5 ? r.pick(COLLIDING) : `m${r.int(5)}`;
    const want = mine.filter((m) => m.mid === mid).at(-1)?.seq;
    const byMid = (seq: number) => all.find((m) => m.seq === seq)!.mid === mid;
    assert.equal(ix.ofSender(u, mid, byMid), want, `${u}'s ${mid}`);
  }
  for (let i = 0; i < 4; i++) {
    const q = randomQuery(r, all, top);
    assert.deepEqual(ix.pending(q), naivePending(all, q), `pending ${JSON.stringify({ ...q, acked: 0 })}`);
  }
  for (const conv of ["b", "r:r1", "r:al", "d:al:bo", "d:al:al", "d:bo:cy", "d:x:y"]) {
    const since = r.next() < 0.3 ? 0 : r.int(tsTop + 1), after = r.next() < 0.5 ? 0 : r.int(top + 1);
    const limit = 1 + r.int(6), max = r.next() < 0.5 ? undefined : r.int(80);
    assert.deepEqual(
      ix.history(conv, since, after, limit, max),
      naiveHistory(all, conv, since, after, limit, max),
      `history ${conv} ${since} ${after} ${limit} ${max}`,
    );
  }
}

Deno.test("MessageIndex answers pending, history, bytes and mids as a filter over the messages would", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const r = rng(seed), ix = new MemoryMessageIndex();
    let all: IndexedMessage[] = [];
    let seq = 0, ts = 0;
    try {
      for (let step = 0; step < 300; step++) {
        const op = r.next();
        if (op < 0.6) {
          seq += 1 + r.int(3);
          ts += r.next() < 0.1 ? -r.int(50) : r.int(20); // a clock stepped back now and then
          const m = randomMessage(r, seq, ts);
          ix.add(m, m.bytes);
          all.push(m);
        } else if (op < 0.75 && all.length) {
          const m = r.pick(all); // unsend: anywhere
          assert.equal(ix.remove(m), m.bytes);
          assert.equal(ix.remove(m), undefined, "gone already");
          all = all.filter((x) => x !== m);
        } else if (op < 0.9) {
          const n = r.int(30); // retention: the oldest (some kept, as unacknowledged ones are)
          const gone = all.slice(0, n).filter(() => r.next() < 0.8);
          for (const m of gone) ix.remove(m);
          all = all.filter((m) => !gone.includes(m));
        } else {
          // A rolled-back batch: added, then removed in any order; its seqs are handed out again.
          const batch = Array.from({ length: 1 + r.int(5) }, (_, i) => randomMessage(r, seq + 1 + i, ts));
          for (const m of batch) ix.add(m, m.bytes);
          for (const m of batch.sort(() => r.next() - 0.5)) ix.remove(m);
        }
        if (step % 5 === 0) check(ix, all, r, seq, ts);
      }
    } catch (e) {
      throw new Error(`seed ${seed}: ${(e as Error).message}`);
    }
  }
});

Deno.test("MessageIndex refuses a seq out of order and a removal of a message held in part", () => {
  const ix = new MemoryMessageIndex();
  const m: IndexedMessage = {
    seq: 5,
    mid: "a",
    sender: "al",
    kind: "user",
    target: "bo",
    conv: "d:al:bo",
    ts: 1,
    bytes: 3,
  };
  ix.add(m, m.bytes);
  assert.throws(() => ix.add({ ...m, seq: 5 }, 1), /seq 5 after 5/);
  assert.throws(() => ix.remove({ ...m, sender: "cy" }), /held in part/);
  assert.equal(ix.remove({ ...m, conv: "d:x:y" }), undefined, "not in that conversation");
  assert.equal(ix.remove(m), 3);
});
