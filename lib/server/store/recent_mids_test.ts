import assert from "node:assert/strict";
import { RecentMids } from "./recent_mids.ts";

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
  assert.equal(r.has("al", "a1"), false, "older than the window");
  assert.equal(r.has("al", "a3"), true);
  r.add("al", "a4");
  assert.deepEqual([r.has("al", "a2"), r.has("al", "a4")], [false, true], "the oldest left a full window");
  assert.deepEqual(loads, ["al"], "read once");
  assert.equal(r.has("bo", "a4"), false, "another sender's window");
  assert.equal(
    r.has("al", "a4"),
    false,
    "al's window was forgotten (one sender held): read from the store again",
  );
  r.clear();
  r.has("al", "a3");
  assert.deepEqual(loads, ["al", "bo", "al", "al"]);
});
