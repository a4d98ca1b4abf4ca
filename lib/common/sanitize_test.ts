import assert from "node:assert/strict";
import fc from "fast-check";
import { safeJson, sanitize, sanitizeName, stripControls, UNSAFE } from "./sanitize.ts";
import { memoryLogger } from "./logger.ts";
import { ManualClock } from "./clock.ts";

Deno.test("sanitize() shows ESC, CSI and OSC sequences in caret notation", () => {
  assert.equal(sanitize("\x1b[31mred\x1b]0;pwned\x07"), "^[[31mred^[]0;pwned^G");
});

Deno.test("sanitize() replaces C1 controls, DEL and bidi overrides with visible stand-ins", () => {
  assert.equal(sanitize("a\x9b2Jb\x7f"), "a<U+009B>2Jb^?");
  assert.equal(sanitize("abc\u202Etxt.exe"), "abc<U+202E>txt.exe");
  assert.equal(sanitize("x\u2066y\u2069"), "x<U+2066>y<U+2069>");
});

Deno.test("sanitize() keeps newlines only when asked and normalises CRLF", () => {
  assert.equal(sanitize("a\r\nb\rc\nd", true), "a\nb\nc\nd");
  assert.equal(sanitize("a\nb"), "a^Jb");
  assert.equal(sanitize("a\tb"), "a    b");
});

Deno.test("sanitize() repairs lone surrogates and leaves emoji and CJK alone", () => {
  assert.equal(sanitize("x\ud800y"), "x\ufffdy");
  assert.equal(sanitize("你好 👨‍👩‍👧 é"), "你好 👨‍👩‍👧 é");
});

Deno.test("sanitize() output never holds a control character (property)", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (s) => {
      // deno-lint-ignore no-control-regex
      assert.ok(!/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(sanitize(s, true)));
      assert.ok(sanitize(s).isWellFormed());
    }),
  );
});

Deno.test("sanitizeName() and stripControls() remove what could break a name or an OSC", () => {
  assert.equal(sanitizeName(" bob\n "), "bob^J");
  assert.equal(stripControls("hi\x07\x1b\\there"), "hi  \\there");
});

Deno.test("the logger, the CLI's --json and the TUI share the one unsafe set (bidi, separators, C1)", () => {
  const hostile = "x\n2026 INFO forged\u202e\u2028\u061c\u200f\ufff9\x85";
  const { logger, lines } = memoryLogger(new ManualClock(0));
  logger.info("evt", { v: hostile });
  assert.equal(lines.length, 1);
  assert.ok(!UNSAFE.test(lines[0]!), JSON.stringify(lines[0]));
  assert.ok(!UNSAFE.test(safeJson({ [hostile]: [hostile] })));
  assert.deepEqual(JSON.parse(safeJson({ k: hostile })), { k: hostile });
  assert.ok(!UNSAFE.test(sanitize(hostile, true).replace(/\n/g, "")));
});
