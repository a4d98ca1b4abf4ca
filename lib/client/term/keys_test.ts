import assert from "node:assert/strict";
import fc from "fast-check";
import { KeyDecoder, type KeyEvent } from "./keys.ts";

const enc = new TextEncoder();
const decode = (s: string) => {
  const d = new KeyDecoder();
  return [...d.push(enc.encode(s)), ...d.flush()];
};
const keys = (s: string) => decode(s).map((e) => (e.type === "key" ? e.key : `${e.type}:${e.text}`));

Deno.test("KeyDecoder.push() decodes arrows, paging, editing keys and modifiers", () => {
  assert.deepEqual(keys("\x1b[A\x1b[B\x1bOC\x1b[D"), ["Up", "Down", "Right", "Left"]);
  assert.deepEqual(keys("\x1b[5~\x1b[6~\x1b[3~\x1b[H\x1b[4~"), [
    "PageUp",
    "PageDown",
    "Delete",
    "Home",
    "End",
  ]);
  assert.deepEqual(keys("\x1b[1;5C\x1b[1;3D\x1b[Z\x1b[18~"), ["C-Right", "M-Left", "S-Tab", "F7"]);
  // Focus reports (?1004h): the window got or lost the focus; SS3 I/O are no focus.
  assert.deepEqual(keys("\x1b[I\x1b[Ohi\x1bOI"), ["FocusIn", "FocusOut", "text:hi"]);
});

Deno.test("KeyDecoder.push() decodes control keys, Enter, Tab and Backspace", () => {
  assert.deepEqual(keys("\x01\x05\x15\x0b\x17\r\t\x7f\x08"), [
    "C-a",
    "C-e",
    "C-u",
    "C-k",
    "C-w",
    "Enter",
    "Tab",
    "Backspace",
    "Backspace",
  ]);
  assert.deepEqual(keys("a\r\nb"), ["text:a", "Enter", "text:b"]);
});

Deno.test("KeyDecoder.push() decodes Alt+digit and Alt+letter", () => {
  assert.deepEqual(keys("\x1b1\x1b9\x1ba\x1b\x7f"), ["M-1", "M-9", "M-a", "M-Backspace"]);
});

Deno.test("KeyDecoder.push() merges printable text and keeps UTF-8 split across reads", () => {
  const d = new KeyDecoder();
  const bytes = enc.encode("héllo 你好 😀");
  const out: KeyEvent[] = [];
  for (const b of bytes) out.push(...d.push(new Uint8Array([b])));
  assert.equal(out.map((e) => (e.type === "text" ? e.text : "?")).join(""), "héllo 你好 😀");
});

Deno.test("KeyDecoder.push() waits for the rest of a split escape sequence", () => {
  const d = new KeyDecoder();
  assert.deepEqual(d.push(enc.encode("\x1b")), []);
  assert.deepEqual(d.push(enc.encode("[")), []);
  assert.ok(d.pending);
  assert.deepEqual(d.push(enc.encode("5~")), [{ type: "key", key: "PageUp" }]);
});

Deno.test("KeyDecoder.flush() turns a lone ESC into the Escape key", () => {
  const d = new KeyDecoder();
  assert.deepEqual(d.push(enc.encode("\x1b")), []);
  assert.deepEqual(d.flush(), [{ type: "key", key: "Escape" }]);
  assert.equal(d.pending, false);
});

Deno.test("KeyDecoder.push() returns a bracketed paste as one event, even split", () => {
  const d = new KeyDecoder();
  const out = [
    ...d.push(enc.encode("x\x1b[200~line1\nli")),
    ...d.push(enc.encode("ne2 \x1b[A\x1b[20")),
    ...d.push(enc.encode("1~y")),
  ];
  assert.deepEqual(out, [
    { type: "text", text: "x" },
    { type: "paste", text: "line1\nline2 \x1b[A" },
    { type: "text", text: "y" },
  ]);
});

Deno.test("KeyDecoder.push() gives the same events however the input is split (property)", () => {
  const pieces = fc.constantFrom(
    "a",
    "é",
    "你",
    "😀",
    "\x1b[A",
    "\x1b[1;5C",
    "\x1b1",
    "\r",
    "\x01",
    "\x1b[5~",
    "\x1b[200~p\x1b[201~",
  );
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 8 }), (ps, cuts) => {
      const bytes = enc.encode(ps.join(""));
      const whole = decode(ps.join(""));
      const d = new KeyDecoder();
      const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const out: KeyEvent[] = [];
      let prev = 0;
      for (const c of [...at, bytes.length]) {
        out.push(...d.push(bytes.slice(prev, c)));
        prev = c;
      }
      out.push(...d.flush());
      // Text may be merged differently across reads: compare after joining adjacent text.
      const norm = (es: KeyEvent[]) =>
        es.map((e) => (e.type === "text" ? e.text : `\u0000${JSON.stringify(e)}\u0000`)).join("");
      assert.equal(norm(out), norm(whole));
    }),
  );
});
