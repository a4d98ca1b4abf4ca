import assert from "node:assert/strict";
import { localizeUntil, relativeText, untilText } from "./parse_time.ts";

const T = new Date(2026, 0, 5, 12, 0, 0).getTime(); // local noon

Deno.test("untilText() shows local time and how long until it (issue 14)", () => {
  assert.equal(untilText(T + 9 * 60e3, T), "12:09 (in 9 min)");
  assert.equal(untilText(T + 40e3, T), "12:00 (in 40 s)");
  assert.equal(untilText(T + 3 * 86400e3, T), "8 Jan 2026 12:00 (in 3 days)");
  assert.equal(relativeText(T + 5 * 3600e3, T), "in 5 h");
});

Deno.test("localizeUntil() replaces the server's UTC ISO time, never leaving milliseconds", () => {
  const until = T + 9 * 60e3;
  const text = `You are banned until ${new Date(until).toISOString()}`;
  assert.equal(localizeUntil(text, until, T), "You are banned until 12:09 (in 9 min)");
  assert.equal(localizeUntil("You were kicked", undefined, T), "You were kicked");
});
