import assert from "node:assert/strict";
import { FfmpegJpegDecoder, type GraphicsKind, JpegDecoder } from "../../media/mod.ts";
import jpegJs from "jpeg-js";
import { TEST_FFMPEG } from "../../media/_testing.ts";
import { playDecoder } from "./video_actions.ts";
import { onScreen, sizedNow } from "./video_screen.ts";
import type { TerminalIo } from "../term/terminal.ts";

Deno.test("playDecoder(): ffmpeg for every renderer when installed; without it WASM for pixels, in-thread half-blocks", () => {
  for (const kind of ["halfblock", "kitty", "sixel", undefined] as const) {
    const d = playDecoder("/usr/bin/ffmpeg", kind);
    assert.ok(d instanceof FfmpegJpegDecoder, String(kind));
    d.close(); // never started: nothing to reap
  }
  assert.equal(playDecoder(null, "halfblock"), undefined);
  for (const kind of ["kitty", "sixel", undefined] as const) {
    const d = playDecoder(null, kind);
    assert.ok(d instanceof JpegDecoder, String(kind));
    d.close();
  }
});

Deno.test({
  name:
    "playDecoder(): kitty and sixel frames decode to RGB; half-block (through YUV) and an unknown kind to RGBA",
  ignore: !TEST_FFMPEG,
  fn: async () => {
    const jpeg = new Uint8Array(
      jpegJs.encode({ width: 8, height: 6, data: new Uint8Array(8 * 6 * 4) }, 90).data,
    );
    const outputs = [["kitty", 3, "rgb"], ["sixel", 3, "rgb"], ["halfblock", 4, "yuv"], [
      undefined,
      4,
      "rgba",
    ]];
    for (const [kind, bytes, output] of outputs as [GraphicsKind | undefined, number, string][]) {
      const d = playDecoder(TEST_FFMPEG!, kind) as FfmpegJpegDecoder;
      assert.equal(d.output, output, String(kind));
      try {
        const img = await d.decode(jpeg);
        assert.equal(img.data.length, 8 * 6 * bytes, String(kind));
        assert.equal(img.channels ?? 4, bytes);
      } finally {
        await d.closed();
      }
    }
  },
});

Deno.test("onScreen(): stty (output processing off) starts only after the first picture, and is still put back", async () => {
  const log: string[] = [];
  let sttyDone!: () => void;
  const stty = new Promise<void>((r) => (sttyDone = r));
  const tio: TerminalIo = {
    stdinIsTerminal: () => true,
    stdoutIsTerminal: () => true,
    size: () => ({ columns: 80, rows: 24 }),
    setRaw: (raw) => void log.push(`raw ${raw}`),
    write: (b) => void log.push(new TextDecoder().decode(b)),
    read: () => Promise.resolve(null),
    rawOutput: async () => {
      log.push("stty -opost");
      await new Promise((r) => setTimeout(r, 0)); // a process runs: at least a turn of the event loop
      log.push("stty done");
      sttyDone();
      return () => (log.push("stty back"), Promise.resolve());
    },
  };
  const term = { kind: "halfblock", cols: 80, rows: 24, isTerminal: true } as const;
  const out = await onScreen(tio, term, async (draw) => {
    draw("picture");
    log.push("drawn"); // the first picture's draw returned before stty started (a spawn blocks the thread)
    await stty; // (no timer race: the next picture once stty ran)
    draw("picture 2");
    return 7;
  });
  assert.equal(out, 7);
  assert.deepEqual(log, [
    "raw true",
    "\x1b[?25l\x1b[2J",
    "picture",
    "drawn",
    "stty -opost",
    "stty done",
    "picture 2",
    "stty back",
    "raw false",
    "\x1b[0m\x1b[?25h\x1b[24;1H\n",
  ]);
  // A terminal whose stty fails: the playback still runs and ends.
  const broken = { ...tio, rawOutput: () => Promise.reject(new Error("no stty")) };
  assert.equal(await onScreen(broken, term, (draw) => (draw("picture"), Promise.resolve(8))), 8);
  // A body that ends on the turn of its only picture: stty never starts, nothing to put back.
  log.length = 0;
  assert.equal(await onScreen(tio, term, (draw) => (draw("picture"), Promise.resolve(9))), 9);
  assert.deepEqual(log, [
    "raw true",
    "\x1b[?25l\x1b[2J",
    "picture",
    "raw false",
    "\x1b[0m\x1b[?25h\x1b[24;1H\n",
  ]);
});

Deno.test("sizedNow(): a terminal found before a wait takes the window's size now; other output as it was", () => {
  const term = { kind: "kitty", cols: 80, rows: 24, isTerminal: true } as const;
  const io = (size: () => { columns: number; rows: number }) => ({ size }) as unknown as TerminalIo;
  assert.deepEqual(sizedNow(io(() => ({ columns: 120, rows: 40 })), term), { ...term, cols: 120, rows: 40 });
  assert.deepEqual(sizedNow(io(() => ({ columns: 0, rows: 0 })), term), term);
  assert.deepEqual(
    sizedNow(
      io(() => {
        throw new Error("no tty");
      }),
      term,
    ),
    term,
  );
  const notTty = { ...term, isTerminal: false };
  assert.deepEqual(sizedNow(io(() => ({ columns: 120, rows: 40 })), notTty), notTty);
});
