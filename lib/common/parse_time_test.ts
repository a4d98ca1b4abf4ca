import assert from "node:assert/strict";
import { isoSeconds, localizeUntil, parseKick, parseSince, relativeText, untilText } from "./parse_time.ts";

const T = new Date(2026, 0, 5, 12, 0, 0).getTime(); // local noon

Deno.test("untilText() shows local time and how long until it (issue 14)", () => {
  assert.equal(untilText(T + 9 * 60e3, T), "12:09 (in 9 min)");
  assert.equal(untilText(T + 40e3, T), "12:00 (in 40 s)");
  assert.equal(relativeText(T + 59e3, T), "in 1 min");
  assert.equal(untilText(T + 3 * 86400e3, T), "8 Jan 2026 12:00 (in 3 days)");
  assert.equal(relativeText(T + 5 * 3600e3, T), "in 5 h");
});

Deno.test("localizeUntil() replaces the server's UTC ISO time, never leaving milliseconds", () => {
  const until = T + 9 * 60e3;
  const text = `You are banned until ${new Date(until).toISOString()}`;
  assert.equal(localizeUntil(text, until, T), "You are banned until 12:09 (in 9 min)");
  assert.equal(localizeUntil("You were kicked", undefined, T), "You were kicked");
});

Deno.test("parseSince() reads ISO, 2h/3d and written dates like 1 Jun 2022 16:00:00 (issue 14)", () => {
  const now = Date.UTC(2026, 0, 2, 12, 0);
  assert.equal(parseSince("2h", now), now - 2 * 3600e3);
  assert.equal(parseSince("3d", now), now - 3 * 86400e3);
  assert.equal(parseSince("2022-06-01T16:00:00Z", now), Date.UTC(2022, 5, 1, 16));
  assert.equal(parseSince("1 Jun 2022 16:00:00", now), new Date(2022, 5, 1, 16).getTime());
  assert.equal(parseSince("1 June 2022 16:00", now), new Date(2022, 5, 1, 16).getTime());
  assert.equal(parseSince("12 dec 2025", now), new Date(2025, 11, 12).getTime());
  assert.throws(() => parseSince("31 Feb 2022", now), /not a time/);
  assert.throws(() => parseSince("1 Jux 2022", now), /not a time/);
  assert.throws(() => parseSince("1 Jun 2022 25:00", now), /not a time/);
  assert.throws(
    () => parseSince("2099-01-01", now),
    /"2099-01-01" is in the future: history reaches up to now/,
  );
  assert.equal(parseSince(new Date(now + 30_000).toISOString(), now), now + 30_000, "a clock a little ahead");
});

Deno.test("isoSeconds: UTC ISO 8601 to the second, the scripted output's one time format", () => {
  assert.equal(isoSeconds(Date.UTC(2026, 0, 1, 12, 9, 0, 999)), "2026-01-01T12:09:00Z");
  assert.equal(isoSeconds(0), "1970-01-01T00:00:00Z");
});

Deno.test("parseKick: USER [DURATION] [REASON…], the one ban grammar of TUI, CLI and console", () => {
  assert.deepEqual(parseKick(["bob"]), { user: "bob" });
  assert.deepEqual(parseKick(["bob", "600"]), { user: "bob", banSeconds: 600 });
  assert.deepEqual(parseKick(["bob", "10m", "spam and  more"]), {
    user: "bob",
    banSeconds: 600,
    reason: "spam and more",
  });
  assert.deepEqual(parseKick(["bob", "be", "nice"]), { user: "bob", reason: "be nice" });
  assert.deepEqual(parseKick(["bob", "be nice"]), { user: "bob", reason: "be nice" });
  assert.deepEqual(parseKick(["bob", "0", "bye"]), { user: "bob", reason: "bye" }, "0: a plain kick");
  assert.throws(() => parseKick([]), /Usage/);
});
