import assert from "node:assert/strict";
import { ChatBuffer, type Line, MAX_LINES } from "./buffers.ts";
import { BufferList } from "./buffer_list.ts";

const line = (text: string, extra: Partial<Line> = {}): Line => ({
  ts: 0,
  from: "bob",
  text,
  kind: "msg",
  highlight: false,
  ...extra,
});
const one = () => 1;

Deno.test("ChatBuffer.add() counts unread and highlights only while inactive", () => {
  const b = new ChatBuffer("room", "general");
  b.add(line("a"), true);
  b.add(line("b"), false);
  b.add(line("c", { highlight: true }), false);
  b.add(line("info", { kind: "info" }), false);
  assert.equal(b.unread, 2);
  assert.equal(b.highlights, 1);
});

Deno.test("ChatBuffer.add() drops a message whose mid it already has", () => {
  const b = new ChatBuffer("dm", "bob");
  assert.equal(b.add(line("x", { mid: "m1" }), true), true);
  assert.equal(b.add(line("x", { mid: "m1" }), true), false);
  assert.equal(b.lines.length, 1);
});

Deno.test("ChatBuffer.addHistory() merges older messages in time order", () => {
  const b = new ChatBuffer("room", "general");
  b.add(line("new", { ts: 30, mid: "c" }), true);
  assert.equal(
    b.addHistory([
      line("old", { ts: 10, mid: "a" }),
      line("mid", { ts: 20, mid: "b" }),
      line("dup", { ts: 30, mid: "c" }),
    ]),
    2,
  );
  assert.deepEqual(b.lines.map((l) => l.text), ["old", "mid", "new"]);
});

Deno.test("ChatBuffer keeps at most MAX_LINES lines", () => {
  const b = new ChatBuffer("room", "r");
  for (let i = 0; i < MAX_LINES + 1001; i++) b.add(line(String(i), { mid: String(i) }), true);
  assert.equal(b.lines.length, MAX_LINES);
  assert.equal(b.lines[b.lines.length - 1]!.text, String(MAX_LINES + 1000));
});

Deno.test("ChatBuffer scroll position does not move when new lines arrive", () => {
  const b = new ChatBuffer("room", "r");
  for (let i = 0; i < 50; i++) b.add(line(String(i)), true);
  b.scrollUp(10, 10, one);
  assert.equal(b.scroll!.line.text, "39");
  for (let i = 50; i < 60; i++) b.add(line(String(i)), true);
  assert.equal(b.scroll!.line.text, "39");
  assert.equal(b.linesBelow(), 20);
});

Deno.test("ChatBuffer.scrollUp() stops at the top and scrollDown() returns to follow mode", () => {
  const b = new ChatBuffer("room", "r");
  for (let i = 0; i < 20; i++) b.add(line(String(i)), true);
  b.scrollUp(1000, 5, one);
  assert.equal(b.scroll!.line.text, "4"); // lines 0..4 fill the 5-row view
  b.scrollDown(3, one);
  assert.equal(b.scroll!.line.text, "7");
  b.scrollDown(1000, one);
  assert.equal(b.scroll, null);
});

Deno.test("ChatBuffer.scrollUp() counts wrapped rows of tall lines", () => {
  const b = new ChatBuffer("room", "r");
  for (let i = 0; i < 10; i++) b.add(line(String(i)), true);
  const rows = (l: Line) => (l.text === "8" ? 4 : 1);
  b.scrollUp(2, 3, rows);
  assert.deepEqual([b.scroll!.line.text, b.scroll!.skip], ["8", 1]);
  b.scrollUp(4, 3, rows);
  assert.deepEqual([b.scroll!.line.text, b.scroll!.skip], ["6", 0]);
});

Deno.test("ChatBuffer.search() finds older matches one after another", () => {
  const b = new ChatBuffer("room", "r");
  for (const t of ["apple pie", "banana", "Apple juice", "cherry"]) b.add(line(t), true);
  const first = b.search("apple", null)!;
  assert.equal(first.text, "Apple juice");
  assert.equal(b.search("apple", first)!.text, "apple pie");
  assert.equal(b.search("apple", b.lines[0]!), null);
});

Deno.test("BufferList.switchTo() clears counts and sets the read marker on the buffer left", () => {
  const list = new BufferList();
  const g = list.ensure("room", "general");
  const d = list.ensure("dm", "bob");
  list.focus(g);
  g.add(line("seen"), true);
  list.focus(d);
  assert.equal(g.markerAfter!.text, "seen");
  g.add(line("unseen", { highlight: true }), false);
  assert.deepEqual([g.unread, g.highlights], [1, 1]);
  list.focus(g);
  assert.deepEqual([g.unread, g.highlights], [0, 0]);
});

Deno.test("BufferList.nextUnread() prefers highlights, next() and prev() wrap around", () => {
  const list = new BufferList();
  const a = list.ensure("room", "a");
  const b = list.ensure("room", "b");
  a.add(line("x"), false);
  b.add(line("y", { highlight: true }), false);
  assert.equal(list.nextUnread(), true);
  assert.equal(list.current, b);
  assert.equal(list.nextUnread(), true);
  assert.equal(list.current, a);
  assert.equal(list.nextUnread(), false);
  list.prev();
  assert.equal(list.current, list.status);
  list.prev();
  assert.equal(list.current, b);
  list.next();
  assert.equal(list.active, 0);
});

Deno.test("BufferList.close() removes a buffer but never the status buffer", () => {
  const list = new BufferList();
  const a = list.ensure("room", "a");
  list.focus(a);
  list.close(a);
  assert.equal(list.buffers.length, 1);
  assert.equal(list.current, list.status);
  list.close(list.status);
  assert.equal(list.buffers.length, 1);
});
