import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import { formatOverlay, PlaybackMeter } from "./overlay.ts";

Deno.test("formatOverlay() shows fps, dropped (once any were), rendition and kbit/s on one line", () => {
  assert.equal(
    formatOverlay({ fps: 23.96, dropped: 3, rendition: "720p", kbps: 1234.4 }),
    "▶ 24.0 fps · 3 dropped · 720p · 1234 kbit/s",
  );
  assert.equal(
    formatOverlay({
      fps: 0,
      dropped: 0,
      rendition: "240p",
      kbps: 0,
      paused: true,
      mode: "thirds",
      renderer: "sixel",
    }),
    "⏸ 0.0 fps · 240p · 0 kbit/s · thirds · sixel",
  );
});

Deno.test("formatOverlay() puts where the video is (of how long) first, so a narrow pane keeps it", () => {
  const info = { fps: 25, dropped: 0, rendition: "240p", kbps: 900, at: 65_900, length: 3_725_000 };
  assert.equal(formatOverlay(info), "▶ 1:05 / 1:02:05 · 25.0 fps · 240p · 900 kbit/s");
  assert.equal(formatOverlay({ ...info, paused: true }, 16), "⏸ 1:05 / 1:02:0…");
  assert.equal(formatOverlay({ ...info, at: 4_000, length: undefined }).split(" · ")[0], "▶ 0:04"); // a live stream
});

Deno.test("formatOverlay() cuts to the pane width with an ellipsis", () => {
  const s = formatOverlay({ fps: 24, dropped: 0, rendition: "1080p", kbps: 5000 }, 12);
  assert.equal([...s].length, 12);
  assert.ok(s.endsWith("…"));
});

Deno.test("PlaybackMeter measures fps and kbit/s over its window", () => {
  const clock = new ManualClock(0);
  const m = new PlaybackMeter(clock, 1000);
  for (let i = 0; i < 50; i++) {
    clock.advance(40);
    m.frame(10_000);
  }
  assert.equal(m.fps(), 25);
  assert.equal(m.kbps(), 2000);
  m.drop(2);
  assert.equal(m.dropped, 2);
  assert.equal(m.shown, 50);
  clock.advance(5000);
  assert.equal(m.fps(), 0);
});
