import assert from "node:assert/strict";
import type { PaneGeometry } from "../../media/mod.ts";
import { type Controlled, controlPlayback } from "./play_controls.ts";
import type { TerminalIo } from "../term/terminal.ts";
import { SEEK_MS, videoActions } from "./video_keys.ts";

const enc = new TextEncoder();
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A terminal whose input the test types and whose size it changes. */
function fakeTerminal(o: { tty?: boolean } = {}) {
  const chunks: (Uint8Array | null)[] = [];
  let wake: (() => void) | null = null;
  const raw: boolean[] = [];
  let size = { columns: 80, rows: 24 };
  const resizers = new Set<() => void>();
  const io: TerminalIo = {
    stdinIsTerminal: () => o.tty ?? true,
    stdoutIsTerminal: () => true,
    size: () => size,
    setRaw: (r) => void raw.push(r),
    write: () => {},
    read: async () => {
      while (!chunks.length) await new Promise<void>((r) => (wake = r));
      return chunks.shift()!;
    },
    onResize: (h) => {
      resizers.add(h);
      return () => resizers.delete(h);
    },
  };
  return {
    io,
    raw,
    resizers,
    type(s: string) {
      chunks.push(enc.encode(s));
      wake?.();
    },
    resize(columns: number, rows: number) {
      size = { columns, rows };
      for (const h of resizers) h();
    },
  };
}

function fakePlayer() {
  const calls: string[] = [];
  const p: Controlled = {
    stop: () => (calls.push("stop"), Promise.resolve()),
    togglePause: () => (calls.push("pause"), Promise.resolve()),
    seekBy: (ms) => (calls.push(`seek ${ms}`), Promise.resolve()),
    resize: (pane) => (calls.push(`resize ${pane.cols}x${pane.rows}`), Promise.resolve()),
    invalidate: () => void calls.push("invalidate"),
  };
  return { p, calls };
}

const pane = (cols: number, rows: number): PaneGeometry => ({ row: 1, col: 1, cols, rows });

Deno.test("videoActions: q, space and the arrows; text counts only when every character is a video key", () => {
  assert.deepEqual(videoActions({ type: "text", text: "q" }), [{ do: "stop" }]);
  assert.deepEqual(videoActions({ type: "text", text: " " }), [{ do: "pause" }]);
  assert.deepEqual(videoActions({ type: "key", key: "Left" }), [{ do: "seek", ms: -SEEK_MS }]);
  assert.deepEqual(videoActions({ type: "key", key: "Right" }), [{ do: "seek", ms: SEEK_MS }]);
  assert.deepEqual(videoActions({ type: "text", text: "  q" }), [{ do: "pause" }, { do: "pause" }, {
    do: "stop",
  }]);
  assert.deepEqual(videoActions({ type: "text", text: "quit" }), []);
  assert.deepEqual(videoActions({ type: "key", key: "Up" }), []);
  assert.deepEqual(videoActions({ type: "paste", text: "q" }), []);
});

Deno.test("controlPlayback: keys drive the player; Ctrl-C stops; nothing acts after release()", async () => {
  const t = fakeTerminal();
  const { p, calls } = fakePlayer();
  const release = controlPlayback(t.io, p, { seekable: true, pane, draw: () => {} });
  t.type(" ");
  t.type("\x1b[D\x1b"); // ← then the start of → split across reads
  t.type("[C");
  t.type("x"); // not a video key
  t.type("q\x03");
  await tick();
  assert.deepEqual(calls, ["pause", `seek ${-SEEK_MS}`, `seek ${SEEK_MS}`, "stop", "stop"]);
  release();
  assert.equal(t.resizers.size, 0);
  t.type(" ");
  await tick();
  assert.equal(calls.length, 5, "nothing acts after release");
  release(); // twice is harmless
  assert.deepEqual(t.raw, [], "raw mode is the caller's");
});

Deno.test("controlPlayback: a live stream (not seekable) only stops; no key is read when stdin is no terminal", async () => {
  const t = fakeTerminal();
  const { p, calls } = fakePlayer();
  const release = controlPlayback(t.io, p, { seekable: false, pane, draw: () => {} });
  t.type(" \x1b[C");
  t.type("q");
  await tick();
  assert.deepEqual(calls, ["stop"]);
  release();
  const piped = fakeTerminal({ tty: false });
  const other = fakePlayer();
  const off = controlPlayback(piped.io, other.p, { seekable: true, pane, draw: () => {} });
  piped.type("q");
  await tick();
  assert.deepEqual(other.calls, []);
  off();
});

Deno.test("controlPlayback: a burst of size changes gives one resize, to the last size, once it settled", async () => {
  const t = fakeTerminal({ tty: false });
  const { p, calls } = fakePlayer();
  const drawn: string[] = [];
  const release = controlPlayback(t.io, p, {
    seekable: true,
    pane,
    draw: (s) => void drawn.push(s),
    settleMs: 30,
  });
  t.resize(100, 30);
  await tick(10);
  t.resize(120, 40);
  await tick(10);
  t.resize(132, 43);
  assert.deepEqual(calls, []);
  await tick(60);
  assert.deepEqual(calls, ["invalidate", "resize 132x43"]);
  assert.deepEqual(drawn, ["\x1b[0m\x1b[2J"]);
  t.resize(90, 20);
  release(); // a change still settling when the play ends is dropped
  await tick(60);
  assert.deepEqual(calls, ["invalidate", "resize 132x43"]);
});
