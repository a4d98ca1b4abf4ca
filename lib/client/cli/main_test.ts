import assert from "node:assert/strict";
import { formatMessage, formatTarget } from "./io.ts";

Deno.test("formatMessage() makes ANSI, OSC, NUL, C1, bidi and separators visible and inert", () => {
  const text = "\x1b[2J\x1b]0;pwned\x07\x00\x9b31m\u202Eevil\u200e\u2028\u061c";
  const out = formatMessage({ seq: 1, mid: "m", ts: 0, from: "a", to: { kind: "user", name: "b" }, text });
  assert.equal(
    out,
    "1970-01-01T00:00:00Z a -> b: ^[[2J^[]0;pwned^G^@<U+009B>31m<U+202E>evil<U+200E><U+2028><U+061C>",
  );
});

Deno.test("formatMessage() prints time, sender, target and text on one line per message", () => {
  const m = {
    seq: 1,
    mid: "m",
    ts: Date.UTC(2026, 0, 2, 3, 4, 5),
    from: "alice",
    to: { kind: "room" as const, name: "dev" },
    text: "a\nb",
  };
  assert.equal(formatMessage(m), "2026-01-02T03:04:05Z alice -> #dev: a\n    b");
  assert.equal(formatTarget({ kind: "broadcast" }), "*");
  assert.equal(formatTarget({ kind: "user", name: "bob" }), "bob");
  assert.equal(
    new TextDecoder().decode(new Uint8Array([0x68, 0xff, 0x69])),
    "h\ufffdi",
    "invalid UTF-8 shows as U+FFFD",
  );
});
