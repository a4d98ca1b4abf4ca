import assert from "node:assert/strict";
import { runTui } from "./mod.ts";
import { FakeBackend } from "./fake_backend.ts";
import type { FullScreenIo } from "./terminal.ts";
import { benchTui } from "./bench.ts";

function fakeTerminal(chunks: string[]) {
  const out: string[] = [];
  let restored = 0;
  const enc = new TextEncoder();
  const io: FullScreenIo = {
    size: () => ({ cols: 80, rows: 24 }),
    write: (s) => void out.push(s),
    read: async () => {
      await new Promise((r) => setTimeout(r, 1));
      const c = chunks.shift();
      return c === undefined ? null : enc.encode(c);
    },
    onResize: () => {},
    pollSize: () => {},
    restore: () => void restored++,
  };
  return { io, out, restored: () => restored };
}

Deno.test("runTui() runs until /quit and restores the terminal", async () => {
  const t = fakeTerminal(["/qu", "it\r"]);
  const backend = new FakeBackend();
  await runTui(backend, { terminal: t.io });
  assert.equal(t.restored(), 1);
  assert.equal(backend.callsOf("close").length, 1);
  assert.match(t.out.join(""), /Welcome to Parley, alice/);
});

Deno.test("runTui() returns at end of input and restores the terminal", async () => {
  const t = fakeTerminal(["hello"]);
  await runTui(new FakeBackend(), { terminal: t.io });
  assert.equal(t.restored(), 1);
});

// Speed and memory targets live in `deno task bench` (issue 11: no performance bound in unit tests);
// here only that the bench runs and reports what it says it measures.
Deno.test("benchTui() runs and reports its heap and keystroke rows", async () => {
  const rows = await benchTui(500, 20);
  for (const p of ["tui scrollback heap", "tui keystroke-to-screen mean"]) {
    const r = rows.find((x) => x.name.startsWith(p));
    assert.ok(r && Number.isFinite(r.value), `${p} in ${JSON.stringify(rows)}`);
  }
});

Deno.test("runTui() asks the terminal for graphics and keeps keys typed with the replies", async () => {
  const t = fakeTerminal(["\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t/qu", "\x1b[?62;4;22c", "it\r"]);
  const backend = new FakeBackend();
  await runTui(backend, { terminal: t.io, detectMs: 2000 });
  assert.ok(t.out.join("").includes("\x1b_Gi=31,s=1,v=1,a=q"), "the detection query was written");
  assert.equal(backend.callsOf("close").length, 1, "/quit typed around the replies still quit");
  assert.equal(t.restored(), 1);
});
