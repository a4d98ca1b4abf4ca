import assert from "node:assert/strict";
import { HISTORY_MAX, LineEditor } from "./editor.ts";

function ed(text: string, cursor?: number): LineEditor {
  const e = new LineEditor();
  e.set(text, cursor);
  return e;
}

Deno.test("LineEditor.key() moves with C-a, C-e, arrows and words", () => {
  const e = ed("hello big world", 7);
  e.key("C-a");
  assert.equal(e.cursor, 0);
  e.key("C-e");
  assert.equal(e.cursor, 15);
  e.key("M-b");
  assert.equal(e.cursor, 10);
  e.key("Left");
  e.key("C-Left");
  assert.equal(e.cursor, 6);
  e.key("M-f");
  assert.equal(e.cursor, 9);
});

Deno.test("LineEditor.key() kills with C-u, C-k, C-w and yanks with C-y", () => {
  const e = ed("hello big world", 9);
  e.key("C-w");
  assert.equal(e.text, "hello  world");
  e.key("C-y");
  assert.equal(e.text, "hello big world");
  e.key("C-k");
  assert.equal(e.text, "hello big");
  e.key("C-u");
  assert.equal(e.text, "");
  assert.equal(ed("abc", 2).key("C-u") && true, true);
});

Deno.test("LineEditor edits wide characters as whole graphemes", () => {
  const e = ed("a你😀b");
  e.key("Left");
  e.key("Backspace");
  assert.equal(e.text, "a你b");
  assert.equal(e.cursorColumn, 3);
  e.insert("👨‍👩‍👧");
  assert.equal(e.cursor, 3);
  e.key("Backspace");
  assert.equal(e.text, "a你b");
});

Deno.test("LineEditor history recalls submitted lines with Up/Down and keeps the draft", () => {
  const e = new LineEditor();
  e.insert("one");
  assert.equal(e.submit(), "one");
  e.insert("two");
  e.submit();
  e.insert("two");
  e.submit(); // duplicate not stored twice
  e.insert("draft");
  e.key("Up");
  assert.equal(e.text, "two");
  e.key("Up");
  assert.equal(e.text, "one");
  e.key("Up");
  assert.equal(e.text, "one");
  e.key("Down");
  e.key("Down");
  assert.equal(e.text, "draft");
  assert.deepEqual(e.history, ["one", "two"]);
});

Deno.test("LineEditor history is bounded and unknown keys are refused", () => {
  const e = new LineEditor();
  for (let i = 0; i < HISTORY_MAX + 5; i++) {
    e.insert(String(i));
    e.submit();
  }
  assert.equal(e.history.length, HISTORY_MAX);
  assert.equal(e.key("F12"), false);
});
