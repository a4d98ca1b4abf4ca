/**
 * seq_list.ts: what a move of the keys into the table takes from a list (`chunkThrough`, `dropThrough`,
 * `liveBelow`) against a plain array of the same entries, with removed entries among them or none.
 */
import assert from "node:assert/strict";
import { DEAD, SeqList } from "./seq_list.ts";

/** A list of `n` entries (seq 10·k, ints k and 100 + k) with the entries of `kill` removed, and its model. */
function listOf(n: number, kill: readonly number[]) {
  const l = new SeqList(1, 2);
  for (let k = 0; k < n; k++) l.push(10 * (k + 1), 0, k, 100 + k);
  for (const k of kill) l.kill(l.find(10 * (k + 1)));
  const live = Array.from({ length: n }, (_, k) => k).filter((k) => !kill.includes(k));
  return { l, live };
}

/** A chunk's entries as [seq, first int, second int], read back as the table reads it. */
function entries(data: Uint8Array): number[][] {
  const c = SeqList.ofBytes(data, 1, 2);
  return Array.from({ length: c.end }, (_, k) => [c.seq(k), c.int(k, 0), c.int(k, 1)]);
}

for (const kill of [[], [1, 4], [0, 2, 3, 5, 6]]) {
  Deno.test(`SeqList: a move takes the live entries at or below a seq, removed ones left out (removed: ${kill.length})`, () => {
    const { l, live } = listOf(10, kill);
    const through = 60; // entries 0..5
    const taken = live.filter((k) => 10 * (k + 1) <= through);
    assert.deepEqual(l.liveBelow(l.after(through), 1), {
      live: taken.length,
      sum: taken.reduce((a, k) => a + 100 + k, 0),
    });
    assert.equal(l.liveBelow(l.after(through), -1).live, taken.length);
    const c = l.chunkThrough(through)!;
    assert.deepEqual(entries(c.data), taken.map((k) => [10 * (k + 1), k, 100 + k]));
    assert.equal(c.first, 10 * (taken[0]! + 1));
    assert.equal(c.last, 10 * (taken[taken.length - 1]! + 1));
    l.dropThrough(through);
    const rest = live.filter((k) => 10 * (k + 1) > through);
    assert.equal(l.live, rest.length);
    assert.equal(l.dead, l.end - rest.length);
    const kept = [];
    for (let k = 0; k < l.end; k++) if (l.int(k, 0) !== DEAD) kept.push(l.seq(k));
    assert.deepEqual(kept, rest.map((k) => 10 * (k + 1)));
  });
}

Deno.test("SeqList: a move of nothing live gives no chunk and leaves the list as it was", () => {
  const { l } = listOf(4, [0, 1]);
  assert.equal(l.chunkThrough(20), null);
  assert.deepEqual(l.liveBelow(l.after(20), 1), { live: 0, sum: 0 });
  l.dropThrough(20);
  assert.equal(l.end, 2);
  assert.equal(l.dead, 0);
  assert.deepEqual([l.seq(0), l.seq(1)], [30, 40]);
});
