import assert from "node:assert/strict";
import { DETECT_QUERY } from "../../media/mod.ts";
import { detectTerminal, type TerminalIo } from "./terminal.ts";

function fakeIo(o: { tty: boolean; replies?: string[] }): TerminalIo & { written: string; raw: boolean[] } {
  const replies = [...(o.replies ?? [])];
  const io = {
    written: "",
    raw: [] as boolean[],
    stdinIsTerminal: () => o.tty,
    stdoutIsTerminal: () => o.tty,
    size: () => ({ columns: 120, rows: 40 }),
    setRaw: (r: boolean) => void io.raw.push(r),
    write: (b: Uint8Array) => void (io.written += new TextDecoder().decode(b)),
    read: () => {
      const r = replies.shift();
      return r === undefined ? new Promise<null>(() => {}) : Promise.resolve(new TextEncoder().encode(r));
    },
  };
  return io;
}

Deno.test("detectTerminal() asks in raw mode and picks kitty from its reply, with the cell size", async () => {
  const io = fakeIo({ tty: true, replies: ["\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t", "\x1b[?62;4c"] });
  const t = await detectTerminal(io);
  assert.equal(io.written, DETECT_QUERY);
  assert.deepEqual(io.raw, [true, false]);
  assert.deepEqual(t, {
    kind: "kitty",
    cols: 120,
    rows: 40,
    isTerminal: true,
    cellWidth: 10,
    cellHeight: 20,
  });
});

Deno.test("detectTerminal() picks sixel from DA1 and half-blocks when nothing answers in time", async () => {
  assert.equal((await detectTerminal(fakeIo({ tty: true, replies: ["\x1b[?62;4;22c"] }))).kind, "sixel");
  const silent = fakeIo({ tty: true });
  assert.equal((await detectTerminal(silent, { timeoutMs: 20 })).kind, "halfblock");
  assert.deepEqual(silent.raw, [true, false], "raw mode restored");
});

Deno.test("detectTerminal() uses half-blocks at 80×24 for a non-terminal, and obeys a forced renderer", async () => {
  const pipe = fakeIo({ tty: false });
  assert.deepEqual(await detectTerminal(pipe), { kind: "halfblock", cols: 80, rows: 24, isTerminal: false });
  assert.equal(pipe.written, "", "no query written to a pipe");
  assert.equal((await detectTerminal(fakeIo({ tty: true }), { forced: "sixel" })).kind, "sixel");
});
