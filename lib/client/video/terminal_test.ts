import assert from "node:assert/strict";
import { CELL_QUERY, DETECT_QUERY } from "../../media/mod.ts";
import { detectTerminal } from "./terminal.ts";
import type { TerminalIo } from "../term/terminal.ts";

function fakeIo(
  o: { tty: boolean; replies?: string[] },
): TerminalIo & { written: string; raw: boolean[]; reads: number } {
  const replies = [...(o.replies ?? [])];
  const io = {
    written: "",
    raw: [] as boolean[],
    stdinIsTerminal: () => o.tty,
    stdoutIsTerminal: () => o.tty,
    size: () => ({ columns: 120, rows: 40 }),
    setRaw: (r: boolean) => void io.raw.push(r),
    write: (b: Uint8Array) => void (io.written += new TextDecoder().decode(b)),
    reads: 0,
    read: () => {
      io.reads++;
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
  assert.equal(
    (await detectTerminal(fakeIo({ tty: true }), { forced: "sixel", timeoutMs: 20 })).kind,
    "sixel",
  );
});

Deno.test("detectTerminal() with a chosen kitty/sixel still asks the cell size (split replies, window fallback)", async () => {
  const io = fakeIo({ tty: true, replies: ["\x1b[6;1", "8;9t\x1b[4;720;", "1080t", "\x1b[?1;2c"] });
  const t = await detectTerminal(io, { forced: "kitty" });
  assert.equal(io.written, CELL_QUERY);
  assert.deepEqual(io.raw, [true, false]);
  assert.deepEqual([t.kind, t.cellWidth, t.cellHeight], ["kitty", 9, 18]);
  // Only the window size: 1200×800 px over 120×40 cells.
  const win = await detectTerminal(fakeIo({ tty: true, replies: ["\x1b[4;800;1200t\x1b[?62;4c"] }), {
    forced: "sixel",
  });
  assert.deepEqual([win.kind, win.cellWidth, win.cellHeight], ["sixel", 10, 20]);
  const win2 = await detectTerminal(fakeIo({ tty: true, replies: ["\x1b[4;960;960t\x1b[?62;4c"] }), {
    forced: "sixel",
  });
  assert.deepEqual([win2.cellWidth, win2.cellHeight], [8, 24]);
  // Half-blocks need no pixels: nothing is asked.
  const hb = fakeIo({ tty: true });
  await detectTerminal(hb, { forced: "halfblock" });
  assert.equal(hb.written, "");
});

Deno.test("detectTerminal() gives up on a silent terminal after its timeout: no cell size, raw mode restored", async () => {
  for (const timeoutMs of [60, 700]) {
    const silent = fakeIo({ tty: true, replies: ["\x1b[6;20"] }); // a reply cut short, then nothing
    const t0 = performance.now();
    const t = await detectTerminal(silent, { forced: "kitty", timeoutMs });
    const took = performance.now() - t0;
    assert.ok(took >= timeoutMs - 5 && took < timeoutMs + 5000, `took ${took} ms for ${timeoutMs}`);
    assert.deepEqual([t.kind, t.cellWidth, t.cellHeight], ["kitty", undefined, undefined]);
    assert.deepEqual(silent.raw, [true, false]);
  }
  // The DA1 reply ends the wait at once, long before the timeout.
  const quick = fakeIo({ tty: true, replies: ["\x1b[?62c"] });
  const q0 = performance.now();
  await detectTerminal(quick, { forced: "kitty", timeoutMs: 10_000 });
  assert.ok(performance.now() - q0 < 5000);
  assert.equal(quick.reads, 1);
});

/** A terminal io with temporary files in a set; the probe's path is what the query carries. */
function filesIo(replies: (name: string) => string[]) {
  const objects = new Set<string>();
  let n = 0, probe = "";
  const answers: string[] = [];
  const io = fakeIo({ tty: true });
  io.read = () => {
    const r = answers.shift(); // the replies to the query of the object put
    return r === undefined ? new Promise<null>(() => {}) : Promise.resolve(new TextEncoder().encode(r));
  };
  const tempFiles = {
    put: () => {
      probe = `/tmp/tty-graphics-protocol-t-${n++}`;
      objects.add(probe);
      answers.push(...replies(probe));
      return probe;
    },
    drop: (name: string) => void objects.delete(name),
  };
  return Object.assign(io, { tempFiles, objects, probe: () => probe });
}

const DA1 = "\x1b[?62;22c";

Deno.test("detectTerminal() asks whether the terminal reads temporary files: an OK → kitty frames through them", async () => {
  const io = filesIo(() => ["\x1b_Gi=32;OK\x1b\\\x1b_Gi=31;OK\x1b\\", DA1]);
  const t = await detectTerminal(io);
  assert.equal(t.kind, "kitty");
  assert.equal(t.kittyFile, io.tempFiles);
  const name = io.probe();
  assert.equal(
    io.written,
    `\x1b[22;0t\x1b_Gi=32,s=1,v=1,a=q,t=t,f=24;${btoa(name)}\x1b\\\x1b[23;0t` + DETECT_QUERY,
    "the query of the probe object, in a title push/pop, before the detection's DA1",
  );
  assert.equal(io.objects.size, 0, "the probe file is deleted after the replies");
  const forced = filesIo(() => ["\x1b_Gi=32;OK\x1b\\", DA1]);
  assert.equal((await detectTerminal(forced, { forced: "kitty" })).kittyFile, forced.tempFiles);
  assert.ok(forced.written.endsWith(CELL_QUERY));
});

Deno.test("detectTerminal(): an error or silence (DA1 first, or nothing in time) keeps kitty frames direct", async () => {
  const refused = filesIo(() => ["\x1b_Gi=32;ENOENT:no such file\x1b\\\x1b_Gi=31;OK\x1b\\", DA1]);
  const r = await detectTerminal(refused);
  assert.equal(r.kind, "kitty");
  assert.equal(r.kittyFile, undefined);
  assert.equal(refused.objects.size, 0);
  const quiet = filesIo(() => ["\x1b_Gi=31;OK\x1b\\", DA1]);
  assert.equal((await detectTerminal(quiet)).kittyFile, undefined);
  const silent = filesIo(() => []);
  const s = await detectTerminal(silent, { forced: "kitty", timeoutMs: 20 });
  assert.equal(s.kittyFile, undefined);
  assert.equal(silent.objects.size, 0, "the probe is deleted after a timeout too");
});

Deno.test("detectTerminal(): no temporary file question for direct, for another renderer; file taken without one", async () => {
  for (
    const o of [{ transfer: "direct" as const }, { forced: "halfblock" as const }, {
      forced: "sixel" as const,
    }]
  ) {
    const io = filesIo(() => ["\x1b_Gi=32;OK\x1b\\\x1b_Gi=31;OK\x1b\\", DA1]);
    const t = await detectTerminal(io, { ...o, timeoutMs: 20 });
    assert.equal(t.kittyFile, undefined);
    assert.ok(!io.written.includes("t=t"), JSON.stringify(o));
  }
  const told = filesIo(() => [DA1]);
  const t = await detectTerminal(told, { forced: "kitty", transfer: "file" });
  assert.equal(t.kittyFile, told.tempFiles);
  assert.ok(!told.written.includes("t=t"), "not asked");
});
