/** render_messages.ts: the day rows (where the day changes, and above a first line of another day) count in the pane's measure. */
import assert from "node:assert/strict";
import { ChatBuffer, type Line } from "./buffers.ts";
import { dayLabel, dayStarts, paneMeasure } from "./render_messages.ts";

const DAY = 86_400_000;
const T = Date.UTC(2026, 0, 1, 12, 0);
const line = (ts: number, text = "hi"): Line => ({ ts, from: "bob", text, kind: "msg", highlight: false });

Deno.test("dayStarts() and paneMeasure(): a day row before each new day's first line, and before an old first line", () => {
  const buf = new ChatBuffer("room", "dev");
  const [a, b, c, d] = [line(T), line(T + 60_000), line(T + DAY), line(T + 3 * DAY)];
  for (const l of [a, b, c, d]) buf.add(l, true);
  assert.deepEqual([...dayStarts(buf.lines, T)], [c, d], "today's first line has none");
  assert.deepEqual([...dayStarts(buf.lines, T + 3 * DAY)], [a, c, d]);
  const m = paneMeasure(buf, 40, T + 3 * DAY);
  assert.deepEqual([a, b, c, d].map(m), [2, 1, 2, 2]);
  assert.equal(dayLabel(T + DAY), "Friday 2 January 2026");
});
