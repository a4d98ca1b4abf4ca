import assert from "node:assert/strict";
import { escapeControls, formatMessage, formatTarget } from "./cli.ts";

Deno.test("escapeControls() makes ANSI, OSC, NUL, C1 and bidi overrides visible and inert", () => {
  const hostile = "\x1b[2J\x1b]0;pwned\x07\x00\x9b31m\u202Eevil";
  const out = escapeControls(hostile);
  assert.equal(out, "^[[2J^[]0;pwned^G^@\\u{9b}31m\\u{202e}evil");
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(out));
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
