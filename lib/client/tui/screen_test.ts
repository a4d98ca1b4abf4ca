// deno-lint-ignore-file no-control-regex
import assert from "node:assert/strict";
import xt from "@xterm/headless";
import { BOLD, diff, Screen, sgr, style } from "./screen.ts";

const { Terminal } = xt;

async function show(cols: number, rows: number, outs: string[]): Promise<string[]> {
  const t = new Terminal({ cols, rows, allowProposedApi: true });
  for (const o of outs) await new Promise<void>((r) => t.write(o, r));
  const lines = [];
  for (let i = 0; i < rows; i++) lines.push(t.buffer.active.getLine(i)!.translateToString(true).trimEnd());
  t.dispose();
  return lines;
}

Deno.test("Screen.put() clips to the width and never splits a wide character", () => {
  const s = new Screen(10, 2);
  assert.equal(s.put(0, 0, "ab你好", 0, 5), 5);
  assert.equal(s.rowText(0), "ab你");
  s.put(1, 8, "xyz");
  assert.equal(s.rowText(1), "        xy");
});

Deno.test("diff() from nothing paints the whole screen inside synchronized output", async () => {
  const s = new Screen(12, 2);
  s.put(0, 0, "hello 世界", style(2, -1, BOLD));
  s.put(1, 3, "ok");
  const out = diff(null, s);
  assert.ok(out.startsWith("\x1b[?2026h") && out.endsWith("\x1b[?2026l"));
  assert.deepEqual(await show(12, 2, [out]), ["hello 世界", "   ok"]);
});

Deno.test("diff() writes only the cells that changed", async () => {
  const a = new Screen(40, 3);
  a.put(0, 0, "The quick brown fox");
  const b = new Screen(40, 3);
  b.put(0, 0, "The quick brown cat");
  const out = diff(a, b);
  assert.match(out, /\x1b\[1;17Hcat/);
  assert.ok(!out.includes("quick"));
  assert.deepEqual(await show(40, 3, [diff(null, a), out]), ["The quick brown cat", "", ""]);
  assert.equal(diff(b, b), "");
});

Deno.test("diff() replaces wide characters by narrow ones and back", async () => {
  const a = new Screen(10, 1);
  a.put(0, 0, "你好世界");
  const b = new Screen(10, 1);
  b.put(0, 0, "a你bcd");
  const c = new Screen(10, 1);
  c.put(0, 0, "世x界");
  assert.deepEqual(await show(10, 1, [diff(null, a), diff(a, b)]), ["a你bcd"]);
  assert.deepEqual(await show(10, 1, [diff(null, a), diff(a, b), diff(b, c)]), ["世x界"]);
});

Deno.test("diff() places the cursor after an emoji the terminal measures differently", async () => {
  // U+1F642 is wide for string-width but narrow in xterm's Unicode 6 table.
  const s = new Screen(10, 1);
  s.put(0, 0, "🙂abc");
  const lines = await show(10, 1, [diff(null, s)]);
  const t = new Terminal({ cols: 10, rows: 1, allowProposedApi: true });
  await new Promise<void>((r) => t.write(diff(null, s), r));
  assert.equal(t.buffer.active.getLine(0)!.getCell(2)!.getChars(), "a");
  t.dispose();
  assert.match(lines[0]!, /abc$/);
});

Deno.test("sgr() encodes colours and attributes", () => {
  assert.equal(sgr(0), "\x1b[0m");
  assert.equal(sgr(style(1, 4, BOLD)), "\x1b[0;1;31;44m");
  assert.equal(sgr(style(13)), "\x1b[0;95m");
  assert.equal(sgr(style(200)), "\x1b[0;38;5;200m");
});
