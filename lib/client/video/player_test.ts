import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { decodeJpeg, FramePainter, LatestSlot } from "../../media/mod.ts";
import { denoTempFiles } from "../term/terminal.ts";
import { SixelEncoder } from "../../media/render_sixel.ts";
import { VideoPlayer } from "./player.ts";
import { until } from "../../common/wait_testing.ts";
import type { FrameSource, VideoFrame } from "./video_client.ts";

/** A 16×16 grey JPEG: `ffmpeg -f lavfi -i color=gray:s=16x16 -frames:v 1 -c:v mjpeg -q:v 31`. */
const JPEG = Uint8Array.from(
  atob(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAg+Pkk+SVVVVVVVVWRdZGhoaGRkZGRoaGhwcHCDg4NwcHBoaHBwfHyDg4+Tj4eHg4eTk5ubm7q6srLZ2eD/////xABKAAEAAAAAAAAAAAAAAAAAAAAAAQEAAAAAAAAAAAAAAAAAAAAAEAEAAAAAAAAAAAAAAAAAAAAAEQEAAAAAAAAAAAAAAAAAAAAA/8AAEQgAEAAQAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8AAA//2Q==",
  ),
  (c) => c.charCodeAt(0),
);

function source(frames: number, extra: Partial<VideoFrame> = {}): FrameSource & { stops: number } {
  const slot = new LatestSlot<VideoFrame>();
  let n = 0;
  const src = {
    stops: 0,
    dropped: 0,
    next: async () => {
      if (n >= frames) return null;
      slot.offer({
        pts: n * 40,
        index: n,
        rendition: "240p" as const,
        width: 16,
        height: 16,
        data: JPEG,
        ...extra,
      });
      n++;
      return await slot.take();
    },
    stop: () => {
      src.stops++;
      return Promise.resolve();
    },
  };
  return src;
}

Deno.test("VideoPlayer draws each frame inside its pane and an overlay on the pane's last row", async () => {
  const out: string[] = [];
  const pane = { row: 3, col: 5, cols: 72, rows: 6 };
  const p = new VideoPlayer(source(3), {
    kind: "halfblock",
    pane,
    draw: (b) => out.push(typeof b === "string" ? b : new TextDecoder().decode(b)),
  });
  const sum = await p.done;
  assert.equal(sum.shown, 3);
  assert.equal(sum.lastRendition, "240p");
  assert.equal(p.position, 80);
  const frames = out.filter((s) => s.includes("▀") || s.includes(" "));
  assert.ok(frames.length >= 3);
  const overlay = out.filter((s) => s.includes("\x1b[8;5H"));
  assert.equal(overlay.length, 3, "status line on row 3+6-1");
  // One write a frame: its picture, then its status line (a terminal wakes once, not twice).
  assert.equal(out.length, 3);
  for (const s of out) {
    assert.ok(s.indexOf("\x1b[8;5H") > s.lastIndexOf("▀"), "the status line after the picture");
  }
  assert.match(overlay[2]!, /H\S*▶ 0:0\d · \d+\.\d fps · 240p · \d+ kbit\/s · halfblock/);
  // Image rows stay above the overlay row.
  // deno-lint-ignore no-control-regex
  for (const s of out) for (const m of s.matchAll(/\x1b\[(\d+);\d+H/g)) assert.ok(Number(m[1]) <= 8);
});

Deno.test("VideoPlayer's overlay names a frame by its shownAs when it has one (a user's stream: 720p)", async () => {
  const lines: string[] = [];
  const p = new VideoPlayer(source(1, { rendition: "1080p", shownAs: "720p" }), {
    kind: "halfblock",
    pane: { row: 1, col: 1, cols: 60, rows: 6 },
    draw: () => {},
    onStatus: (l) => lines.push(l),
  });
  assert.equal((await p.done).lastRendition, "720p");
  assert.match(lines.at(-1)!, / 720p /);
});

Deno.test("VideoPlayer: quick seeks add up from where the video is heading, and the status line shows it at once", async () => {
  const seeks: number[] = [];
  const lines: string[] = [];
  let gate!: () => void;
  const src = source(1);
  const first = src.next;
  let n = 0;
  const held = new Promise<void>((r) => (gate = r));
  src.next = async () => n++ === 0 ? await first() : (await held, null); // one frame at 0, then none until stopped
  const seekable = Object.assign(src, {
    duration: 20_000,
    seek: (ms: number) => (seeks.push(ms), Promise.resolve()),
  });
  const p = new VideoPlayer(seekable, {
    kind: "halfblock",
    pane: { row: 1, col: 1, cols: 80, rows: 6 },
    draw: () => {},
    onStatus: (l) => lines.push(l),
  });
  await until(() => p.position === 0 && lines.length > 0, "the first frame drawn");
  await p.seekBy(5000);
  await p.seekBy(5000); // before any frame of the first seek came
  await p.seekBy(20_000); // past the end: the end
  await p.seekBy(-5000);
  assert.deepEqual(seeks, [5000, 10_000, 20_000, 15_000]);
  assert.match(lines.at(-1)!, /^▶ 0:15 \/ 0:20 · /);
  gate();
  await p.stop();
});

Deno.test("VideoPlayer.pixelsFor() asks for the image area only (overlay row excluded)", () => {
  const pane = { row: 1, col: 1, cols: 80, rows: 24, cellWidth: 10, cellHeight: 20 };
  assert.deepEqual(VideoPlayer.pixelsFor("halfblock", pane), { width: 80, height: 46 });
  assert.deepEqual(VideoPlayer.pixelsFor("kitty", pane), { width: 800, height: 460 });
  assert.deepEqual(VideoPlayer.pixelsFor("kitty", pane, false), { width: 800, height: 480 });
});

Deno.test("VideoPlayer (half-block) writes nothing for a repeated frame and the whole picture after invalidate()", async () => {
  const out: string[] = [];
  const src = source(4);
  const next = src.next;
  let k = 0;
  // deno-lint-ignore prefer-const
  let p: VideoPlayer;
  src.next = () => {
    if (k++ === 2) p.invalidate(); // the screen was repainted before the third frame
    return next();
  };
  p = new VideoPlayer(src, {
    kind: "halfblock",
    pane: { row: 2, col: 3, cols: 20, rows: 4 },
    overlay: false,
    draw: (b) => out.push(typeof b === "string" ? b : new TextDecoder().decode(b)),
  });
  const sum = await p.done;
  assert.equal(sum.shown, 4);
  assert.equal(out.length, 2, "frames 2 and 4 repeat the picture on screen: nothing written");
  assert.equal(out[1], out[0]);
  assert.ok(out[0]!.startsWith("\x1b[2;"));
});

Deno.test("VideoPlayer reports to its source about once a second: frames drawn per second and how busy it was", async () => {
  const clock = new ManualClock(0);
  const src = source(80) as ReturnType<typeof source> & { report: (fps: number, load: number) => void };
  const reports: { fps: number; load: number }[] = [];
  src.report = (fps, load) => reports.push({ fps, load });
  const next = src.next;
  src.next = () => {
    clock.advance(12); // waiting for the frame: not busy
    return next();
  };
  const decoder = {
    decode: (jpeg: Uint8Array) => {
      clock.advance(20); // decoding: busy
      return decodeJpeg(jpeg);
    },
    warm: () => Promise.resolve(),
    close: () => {},
  };
  const p = new VideoPlayer(src, {
    kind: "kitty",
    pane: { row: 1, col: 1, cols: 8, rows: 4 },
    draw: () => {},
    clock,
    decoder,
  });
  await p.done;
  // 80 frames of 32 ms each: two full one-second windows.
  assert.equal(reports.length, 2, JSON.stringify(reports));
  for (const r of reports) {
    assert.ok(Math.abs(r.fps - 1000 / 32) < 0.5, JSON.stringify(r));
    assert.ok(Math.abs(r.load - 20 / 32) < 0.02, JSON.stringify(r));
  }
});

/** A source that sent everything early (a granted lead): frames with the given pts, all at once. */
function earlySource(pts: number[], lead = 500): FrameSource & { lead: number } {
  let n = 0;
  return {
    lead,
    dropped: 0,
    next: () =>
      Promise.resolve(
        n < pts.length
          ? { pts: pts[n]!, index: n++, rendition: "240p" as const, width: 16, height: 16, data: JPEG }
          : null,
      ),
    stop: () => Promise.resolve(),
  };
}

/**
 * A sleep on a manual clock: finite sleeps move it at once; an endless one (counted in `parks`) waits
 * for the signal.
 */
function clockSleep(clock: ManualClock, log: number[], parks = { n: 0 }) {
  return (ms: number, signal: AbortSignal): Promise<void> => {
    if (Number.isFinite(ms)) {
      log.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    }
    parks.n++;
    return new Promise((r) =>
      signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true })
    );
  };
}

/**
 * A half-block player on a manual clock, for a source with a lead; `shown` runs at each status line;
 * `parks` counts its endless waits (paused: only a control wakes it).
 */
function pacedPlayer(
  src: FrameSource,
  clock: ManualClock,
  shown: () => void,
  sleeps: number[] = [],
  parks = { n: 0 },
) {
  return new VideoPlayer(src, {
    kind: "halfblock",
    pane: { row: 1, col: 1, cols: 8, rows: 4 },
    overlay: false,
    draw: () => {},
    onStatus: shown,
    clock,
    sleep: clockSleep(clock, sleeps, parks),
  });
}

Deno.test("VideoPlayer shows the frames of a source with a lead at their presentation times", async () => {
  const clock = new ManualClock(1000);
  const shownAt: number[] = [];
  const sleeps: number[] = [];
  const p = pacedPlayer(earlySource([0, 40, 80, 120, 160]), clock, () => shownAt.push(clock.now()), sleeps);
  assert.equal((await p.done).shown, 5);
  assert.deepEqual(shownAt, [1000, 1040, 1080, 1120, 1160], "each frame at its time from the first");
  assert.deepEqual(sleeps, [40, 40, 40, 40]);
});

Deno.test("VideoPlayer (lead): a jump in the frames' times or a late source sets the clock again instead of waiting", async () => {
  const clock = new ManualClock(0);
  const shownAt: number[] = [];
  const src = earlySource([0, 40, 5000, 5040, 1000, 1040]); // a seek forward, then back
  const p = pacedPlayer(src, clock, () => shownAt.push(clock.now()));
  await p.done;
  assert.deepEqual(shownAt, [0, 40, 40, 80, 80, 120]);
});

Deno.test("VideoPlayer (lead) holds the picture while paused and goes on from the next frame at resume", async () => {
  const clock = new ManualClock(0);
  const shownAt: number[] = [];
  const src = earlySource([0, 40, 80, 120]);
  const pause = () => Promise.resolve();
  const parks = { n: 0 };
  const p: VideoPlayer = pacedPlayer(
    { ...src, next: src.next, pause, resume: pause },
    clock,
    () => {
      if (p.paused) return; // the status line pause() writes itself
      shownAt.push(clock.now());
      if (shownAt.length === 2) void p.pause();
    },
    [],
    parks,
  );
  // The event: the paused player parked (only a control wakes it); or a frame drawn past the pause.
  await until(() => parks.n > 0 || p.position > 40, "the paused player parked");
  assert.deepEqual([shownAt, p.position], [[0, 40], 40], "nothing drawn while paused");
  assert.equal(parks.n, 1, "paused: waits for a control");
  clock.advance(3000);
  await p.resume();
  await p.done;
  assert.deepEqual(shownAt, [0, 40, 3040, 3080]);
});

Deno.test("VideoPlayer (lead) shows a frame early when its source holds more than a lead (a late start catches up)", async () => {
  const clock = new ManualClock(0);
  const shownAt: number[] = [];
  const src = earlySource([0, 40, 80, 120, 160]) as ReturnType<typeof earlySource> & { backlog: number };
  const backlogs = [0, 0, 30, 0, 0]; // while frame 80 waits, more than a lead is held
  let k = 0;
  Object.defineProperty(src, "backlog", { get: () => backlogs[Math.min(k, 4)]! });
  const next = src.next;
  src.next = () => next().then((f) => (k = f ? f.index : k, f));
  const p = pacedPlayer(src, clock, () => shownAt.push(clock.now()));
  await p.done;
  assert.deepEqual(shownAt, [0, 40, 40, 80, 120], "frame 80 at once, then on time from there");
});

Deno.test("VideoPlayer draws raw RGB frames without a decoder, as their JPEG twins; a wrong-sized one is skipped", async () => {
  const grey = await decodeJpeg(JPEG); // 16×16 RGBA
  const rgb = new Uint8Array(16 * 16 * 3);
  for (let i = 0; i < 256; i++) rgb.set(grey.data.subarray(i * 4, i * 4 + 3), i * 3);
  const frames: VideoFrame[] = [
    { pts: 0, index: 0, rendition: "240p", width: 16, height: 16, data: rgb, format: "rgb" },
    { pts: 40, index: 1, rendition: "240p", width: 16, height: 16, data: rgb.subarray(1), format: "rgb" },
    { pts: 80, index: 2, rendition: "240p", width: 16, height: 16, data: rgb, format: "rgb" },
  ];
  const draws = async (list: VideoFrame[]) => {
    const out: string[] = [];
    let decoded = 0;
    const decoder = {
      decode: (j: Uint8Array) => (decoded++, decodeJpeg(j)),
      warm: () => Promise.resolve(),
      close: () => {},
    };
    let n = 0;
    const src = { dropped: 0, next: () => Promise.resolve(list[n++] ?? null), stop: () => Promise.resolve() };
    const p = new VideoPlayer(src, {
      kind: "halfblock",
      pane: { row: 1, col: 1, cols: 16, rows: 8 },
      overlay: false,
      draw: (b) => out.push(typeof b === "string" ? b : new TextDecoder().decode(b)),
      decoder,
    });
    return { sum: await p.done, out, decoded };
  };
  const raw = await draws(frames);
  assert.equal(raw.decoded, 0, "nothing to decode");
  assert.equal(raw.sum.shown, 2, "the frame one byte short is skipped");
  const jpeg = await draws([{ ...frames[0]!, data: JPEG, format: "jpeg" }]);
  assert.equal(jpeg.decoded, 1);
  assert.equal(raw.out[0], jpeg.out[0], "the same picture");
});

Deno.test({
  name: "VideoPlayer (kitty, temporary files) stopped while the terminal reads nothing leaves no file behind",
  ignore: Deno.build.os !== "linux" && Deno.build.os !== "darwin",
  fn: async () => {
    const real = denoTempFiles()!;
    const names: string[] = [];
    const kittyFile = { put: (b: Uint8Array) => (names.push(real.put(b)!), names.at(-1)!), drop: real.drop };
    const exists = (n: string) => {
      try {
        return Deno.statSync(n).isFile;
      } catch {
        return false;
      }
    };
    let drawn = 0, stop = () => {};
    const stopped = new Promise<void>((r) => (stop = r));
    const out: string[] = [];
    const p = new VideoPlayer(source(1000), {
      kind: "kitty",
      pane: { row: 1, col: 1, cols: 8, rows: 5 },
      overlay: false,
      kittyFile,
      draw: (b) => {
        out.push(typeof b === "string" ? b : new TextDecoder().decode(b));
        if (++drawn === 3) stop();
      },
    });
    await stopped;
    assert.ok(names.length >= 3 && names.every(exists), "each frame in its own file, unread");
    assert.match(out[0]!, /t=t,S=768/, "16×16 RGB through a temporary file");
    await p.stop();
    assert.deepEqual(names.filter(exists), [], "every unread file deleted at the stop");
  },
});

Deno.test("VideoPlayer paints with a painter handed in (made while the play's request was on its way) and closes it", async () => {
  const painter = VideoPlayer.painterFor("sixel");
  const used = { paints: 0, closed: 0 };
  const paint = painter.paintImage.bind(painter), close = painter.close.bind(painter);
  painter.paintImage = (img, pane) => (used.paints++, paint(img, pane));
  painter.close = () => (used.closed++, close());
  const p = new VideoPlayer(source(2), {
    kind: "sixel",
    pane: { row: 1, col: 1, cols: 20, rows: 6 },
    draw: () => {},
    painter,
  });
  assert.equal((await p.done).shown, 2);
  assert.deepEqual(used, { paints: 2, closed: 1 });
});

Deno.test("VideoPlayer.painterFor() warms a sixel encoder up ahead of the first frame; the player's own fallback painter does not", async () => {
  const before = SixelEncoder.warmUps;
  VideoPlayer.painterFor("sixel").close();
  assert.equal(SixelEncoder.warmUps - before, 1, "an early painter warms up");
  VideoPlayer.painterFor("halfblock").close();
  const p = new VideoPlayer(source(1), {
    kind: "sixel",
    pane: { row: 1, col: 1, cols: 20, rows: 6 },
    draw: () => {},
  });
  assert.equal((await p.done).shown, 1);
  assert.equal(SixelEncoder.warmUps - before, 1, "a painter made with the first frame in hand does not");
});

Deno.test("VideoPlayer.painterWhile() makes the painter (a sixel encoder warmed up) while the wait is pending, and closes it when the wait fails", async () => {
  const before = SixelEncoder.warmUps;
  let offered!: (v: string) => void;
  const offer = new Promise<string>((r) => offered = r);
  const both = VideoPlayer.painterWhile(Promise.resolve({ kind: "sixel" as const }), offer);
  // the terminal is known; no offer yet
  await until(() => SixelEncoder.warmUps > before, "a warm-up before the offer came");
  assert.equal(SixelEncoder.warmUps - before, 1, "warmed up before the offer came");
  offered("clip");
  const { value, painter } = await both;
  assert.equal(value, "clip");
  painter.close();
  assert.equal(SixelEncoder.warmUps - before, 1, "no second warm-up");
  // A wait that fails: its error, and the painter made meanwhile closed.
  let closed = 0;
  const detected = Promise.resolve({ kind: "sixel" as const }).then((d) => d);
  const failing = VideoPlayer.painterWhile(
    detected.then((d) => {
      const close = FramePainter.prototype.close;
      FramePainter.prototype.close = function () {
        closed++;
        FramePainter.prototype.close = close;
        return close.call(this);
      };
      return d;
    }),
    Promise.reject(new Error("no offer within 60 s")),
  );
  await assert.rejects(failing, /no offer/);
  await until(() => closed > 0, "the painter made meanwhile closed");
  assert.equal(closed, 1, "the painter made meanwhile is closed");
});
