import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import { BufferPool } from "./buffer_pool.ts";
import type { MjpegOptions, MjpegSource } from "./ffmpeg.ts";
import { FirstFrameCache } from "./first_frames.ts";
import type { VideoInfo } from "./library.ts";
import { type Frame, VideoStream } from "./stream.ts";
import { startFrame, TranscodeCache } from "./transcode_cache.ts";

const VIDEO: VideoInfo = {
  name: "t",
  duration: 2,
  fps: 24,
  width: 1920,
  height: 1080,
  renditions: ["240p", "720p", "1080p"],
};
const TOTAL = 48;

/**
 * An ffmpeg without ffmpeg: a run's frames are `size` bytes (raw RGB: the frame's size; a JPEG: 6)
 * holding their index; every run it started is counted, and `fail` makes a run throw after 3 frames.
 */
function fakeFfmpeg(o: { fail?: boolean } = {}) {
  const runs: MjpegOptions[] = [];
  const spawn = (opts: MjpegOptions): MjpegSource => {
    runs.push(opts);
    const first = Math.round((opts.startSec ?? 0) * VIDEO.fps);
    const n = Math.min(TOTAL - first, opts.maxFrames ?? Infinity);
    let stopped = false;
    return {
      pid: 4242,
      stop: () => {
        stopped = true;
        return Promise.resolve();
      },
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < n && !stopped && !opts.signal?.aborted; i++) {
          if (o.fail && i === 3) throw new Error("ffmpeg exited with 1");
          await Promise.resolve();
          const size = opts.format === "rgb" ? opts.width! * opts.height! * 3 : 6;
          const f = opts.pool && opts.format === "rgb" ? opts.pool.take(size) : new Uint8Array(size);
          f.fill(0);
          f[0] = 0xff, f[1] = 0xd8, f[2] = (first + i) >> 8, f[3] = (first + i) & 0xff;
          yield f;
        }
      },
    };
  };
  return { runs, spawn };
}

const opts = (over: Partial<MjpegOptions> = {}): MjpegOptions => ({
  ffmpeg: "ffmpeg",
  input: "/r/240p.mp4",
  fps: 24,
  width: 200,
  height: 120,
  format: "rgb",
  ...over,
});

async function indexes(src: MjpegSource, take = Infinity): Promise<number[]> {
  const out: number[] = [];
  for await (const f of src) {
    out.push((f[2]! << 8) | f[3]!);
    if (out.length >= take) break;
  }
  await src.stop();
  return out;
}

const all = (from = 0) => [...Array(TOTAL - from).keys()].map((i) => i + from);

function play(cache: TranscodeCache, spawn: (o: MjpegOptions) => MjpegSource, over: object) {
  const clock = new ManualClock(0);
  return new VideoStream({
    ffmpeg: "ffmpeg",
    video: VIDEO,
    path: (r) => `/r/${r}.mp4`,
    clock,
    sleep: (ms, signal) => {
      if (Number.isFinite(ms)) return Promise.resolve(void clock.advance(ms));
      return new Promise((r) => signal.aborted ? r() : signal.addEventListener("abort", () => r()));
    },
    spawn: (o) => cache.source(o, spawn),
    lossless: true,
    ...over,
  });
}

async function drain(s: VideoStream): Promise<Frame[]> {
  const out: Frame[] = [];
  for (let f = await s.nextFrame(); f; f = await s.nextFrame()) {
    out.push({ ...f, data: f.data.slice() });
    s.recycle(f.data);
  }
  return out;
}

for (
  const [what, over] of [
    ["half-block raw frames", { mode: "240p", pane: { width: 200, height: 120 }, format: "rgb" }],
    ["kitty-sized JPEG frames", { mode: "720p", pane: { width: 800, height: 450 } }],
  ] as const
) {
  Deno.test(`TranscodeCache: the next play at a size played to its end runs no ffmpeg and sends the same frames (${what})`, async () => {
    const cache = new TranscodeCache(), first = new FirstFrameCache(), ff = fakeFfmpeg();
    const a = await drain(play(cache, ff.spawn, { ...over, firstFrames: first.of("t") }));
    assert.equal(ff.runs.length, 1);
    assert.equal(a.length, TOTAL);
    // Frame 0 comes from the first frames kept, the rest from the kept run from frame 1 on.
    const b = await drain(play(cache, ff.spawn, { ...over, firstFrames: first.of("t") }));
    assert.equal(ff.runs.length, 1, "no ffmpeg for the second play");
    assert.equal(cache.hits, 1);
    assert.deepEqual(
      b.map((f) => [f.index, f.format, f.width, f.height]),
      a.map((f) => [f.index, f.format, f.width, f.height]),
    );
    assert.deepEqual(b.map((f) => f.data), a.map((f) => f.data), "the same bytes, frame by frame");
    // Another size is another run.
    await drain(play(cache, ff.spawn, { ...over, pane: { width: 160, height: 96 } }));
    assert.equal(ff.runs.length, 2);
  });
}

Deno.test("TranscodeCache: a later start and a frame limit replay that part of the kept run", async () => {
  const cache = new TranscodeCache(), ff = fakeFfmpeg();
  assert.deepEqual(await indexes(cache.source(opts(), ff.spawn)), all());
  assert.deepEqual(await indexes(cache.source(opts({ startSec: 1 / 24 }), ff.spawn)), all(1));
  assert.deepEqual(await indexes(cache.source(opts({ startSec: 0.5, maxFrames: 5 }), ff.spawn)), [
    12,
    13,
    14,
    15,
    16,
  ]);
  assert.equal(ff.runs.length, 1);
  // A start between two frames (no frame of the run begins there): ffmpeg.
  await indexes(cache.source(opts({ startSec: 0.01 }), ff.spawn));
  assert.equal(ff.runs.length, 2);
  assert.equal(startFrame(0.01, 24), null);
  assert.equal(startFrame(undefined, 24), 0);
});

Deno.test("TranscodeCache: a run stopped, aborted, failed, limited or started later is not kept", async () => {
  const cache = new TranscodeCache(), ff = fakeFfmpeg();
  assert.deepEqual(await indexes(cache.source(opts(), ff.spawn), 10), all().slice(0, 10)); // the viewer left
  const ac = new AbortController();
  const aborted = cache.source(opts({ signal: ac.signal }), ff.spawn);
  const got: number[] = [];
  for await (const f of aborted) if (got.push(f[3]!) === 5) ac.abort(); // a seek: its frames end
  const stopped = cache.source(opts(), ff.spawn); // the stream stopped it mid-run (a restart)
  let n = 0;
  for await (const _ of stopped) if (++n === 5) void stopped.stop();
  assert.ok(n < TOTAL);
  await assert.rejects(indexes(cache.source(opts(), fakeFfmpeg({ fail: true }).spawn)), /exited/);
  await indexes(cache.source(opts({ maxFrames: TOTAL }), ff.spawn)); // a thirds segment
  await indexes(cache.source(opts({ startSec: 1 / 24 }), ff.spawn)); // not from the start
  assert.equal(cache.size, 0);
  await indexes(cache.source(opts(), ff.spawn));
  assert.equal(cache.size, 1, "a whole run is kept");
});

Deno.test("TranscodeCache: bounded by bytes, the least recently used run goes first; too large a run is played, not kept", async () => {
  const frame = 200 * 120 * 3, run = frame * TOTAL;
  const cache = new TranscodeCache(2 * run, run);
  const ff = fakeFfmpeg();
  for (const input of ["a", "b"]) await indexes(cache.source(opts({ input }), ff.spawn));
  await indexes(cache.source(opts({ input: "a" }), ff.spawn)); // a is used: b is the oldest now
  await indexes(cache.source(opts({ input: "c" }), ff.spawn));
  assert.equal(cache.bytes, 2 * run);
  assert.equal(ff.runs.length, 3);
  await indexes(cache.source(opts({ input: "a" }), ff.spawn));
  assert.equal(ff.runs.length, 3, "a was kept");
  await indexes(cache.source(opts({ input: "b" }), ff.spawn));
  assert.equal(ff.runs.length, 4, "b was forgotten");
  const small = new TranscodeCache(run, run - 1);
  await indexes(small.source(opts(), ff.spawn));
  assert.equal(small.size, 0);
  assert.equal(small.bytes, 0);
  small.clear();
  cache.clear();
  assert.equal(cache.bytes, 0);
});

Deno.test("TranscodeCache: replayed raw frames are copies in the run's pool buffers (filling one changes no kept frame)", async () => {
  const cache = new TranscodeCache(), ff = fakeFfmpeg();
  await indexes(cache.source(opts(), ff.spawn));
  const pool = new BufferPool(4);
  const src = cache.source(opts({ pool }), ff.spawn);
  for await (const f of src) {
    f.fill(7); // the viewer recycles it and ffmpeg's next frame fills it
    pool.give(f);
  }
  assert.ok(pool.reused > 0, "the pool's buffers were used again");
  assert.deepEqual(await indexes(cache.source(opts(), ff.spawn)), all());
});
