import assert from "node:assert/strict";
import { collector } from "../common/gc.ts";
import {
  BURST_OPENED,
  HEAP_MAX,
  HeapTrim,
  QUIET_LOOKS,
  QUIET_READS,
  SESSIONS_PER_READ,
  YOUNG_MAX,
  youngBytes,
} from "./heap_trim.ts";

const MiB = 1024 * 1024;

/** A young generation of `size` bytes that a collection shrinks to `after` (null: no collector). */
function fake(size: number, after: number, gcAvailable = true) {
  const h = { size, gcs: 0, heap: 64 * MiB };
  const trim = new HeapTrim(
    () => h.size,
    () => gcAvailable ? () => void (h.gcs++, h.size = after) : null,
    () => h.heap,
  );
  return { h, trim };
}

/**
 * QUIET_LOOKS looks in a row with `reads` each, a burst of BURST_OPENED connections opened before
 * them: whether one of them collected.
 */
function looks(trim: HeapTrim, reads: number, sessions = 0, opened = BURST_OPENED): boolean {
  let collected = false;
  for (let i = 0; i < QUIET_LOOKS; i++) collected = trim.look(reads, sessions, i ? 0 : opened) || collected;
  return collected;
}

Deno.test("heap trim: a quiet server collects once its young generation grew past YOUNG_MAX", () => {
  const { h, trim } = fake(32 * MiB, 1 * MiB);
  assert.equal(looks(trim, QUIET_READS + 1), false, "busy: no collection");
  assert.equal(h.gcs, 0);
  assert.equal(looks(trim, 0), true);
  assert.equal(h.gcs, 1);
  assert.equal(looks(trim, 0), false, "shrunk: nothing more to do");
  h.size = YOUNG_MAX;
  assert.equal(looks(trim, 0), false, "at YOUNG_MAX: left alone");
  h.size = 2 * YOUNG_MAX;
  assert.equal(looks(trim, QUIET_READS), true, "grown again, quiet: collected again");
  assert.equal(h.gcs, 2);
});

Deno.test("heap trim: only after QUIET_LOOKS quiet looks in a row (a slow burst has quiet moments)", () => {
  assert.ok(QUIET_LOOKS >= 2);
  const { h, trim } = fake(32 * MiB, 1 * MiB);
  for (let i = 0; i < 10; i++) {
    assert.equal(trim.look(0, 0, BURST_OPENED), false);
    assert.equal(trim.look(QUIET_READS + 1, 0, 0), false); // busy again: the run starts over
  }
  assert.equal(h.gcs, 0);
  for (let i = 1; i < QUIET_LOOKS; i++) assert.equal(trim.look(0, 0, BURST_OPENED), false, "collected early");
  assert.equal(trim.look(0, 0, BURST_OPENED), true);
});

Deno.test("heap trim: the sessions' pings still count as quiet, more reads do not", () => {
  const sessions = 2000, pings = QUIET_READS + sessions / SESSIONS_PER_READ;
  const a = fake(32 * MiB, 1 * MiB);
  assert.equal(looks(a.trim, pings + 1, sessions), false);
  assert.equal(looks(a.trim, pings, sessions), true);
});

Deno.test("heap trim: a collection that did not shrink it is not repeated; no collector, nothing", () => {
  const a = fake(32 * MiB, 32 * MiB);
  assert.equal(looks(a.trim, 0), true);
  for (let i = 0; i < 5; i++) assert.equal(a.trim.look(0, 0, BURST_OPENED), false);
  assert.equal(a.h.gcs, 1);
  const b = fake(32 * MiB, 1 * MiB, false);
  assert.equal(looks(b.trim, 0), false);
  assert.equal(b.trim.collections, 0);
});

Deno.test("heap trim: on this runtime the collector exists and shrinks a grown young generation", () => {
  assert.equal(typeof collector(), "function", "V8's gc could not be had (common/gc.ts)");
  // Objects that live through scavenges grow the young generation, as a burst of logins does.
  let keep: unknown[][] = [];
  for (let i = 0; i < 40 && youngBytes() <= 2 * YOUNG_MAX; i++) {
    keep.push(Array.from({ length: 50_000 }, (_, j) => ({ i, j, s: [j] })));
  }
  assert.ok(youngBytes() > YOUNG_MAX, `young generation ${youngBytes()} B did not grow`);
  keep = [];
  assert.equal(looks(new HeapTrim(), 0), true);
  assert.ok(youngBytes() <= YOUNG_MAX, `young generation ${youngBytes()} B after the collection`);
  assert.equal(keep.length, 0);
});

Deno.test("heap trim: settle() collects at once when over YOUNG_MAX (after start), not under", () => {
  const { h, trim } = fake(YOUNG_MAX, 1 * MiB);
  assert.equal(trim.settle(), false);
  h.size = YOUNG_MAX + 1;
  assert.equal(trim.settle(), true);
  assert.equal(h.gcs, 1);
});

Deno.test("heap trim: no collection without a burst of BURST_OPENED connections since the last one", () => {
  const { h, trim } = fake(32 * MiB, 1 * MiB);
  assert.equal(looks(trim, 0, 100, BURST_OPENED - 1), false, "a room of 100 and its load: no burst");
  assert.equal(looks(trim, 0, 100, 1), true, "the opened count adds up");
  assert.equal(h.gcs, 1);
  h.size = 32 * MiB;
  assert.equal(looks(trim, 0, 100, 0), false, "counted afresh after a collection");
});

Deno.test("heap trim: never on a heap of more than HEAP_MAX in use (the pause grows with the heap)", () => {
  const { h, trim } = fake(32 * MiB, 1 * MiB);
  h.heap = HEAP_MAX + 1;
  assert.equal(looks(trim, 0), false);
  assert.equal(trim.settle(), false);
  assert.equal(h.gcs, 0);
  h.heap = HEAP_MAX;
  assert.equal(looks(trim, 0), true, "at HEAP_MAX: collected");
  assert.equal(h.gcs, 1);
});
