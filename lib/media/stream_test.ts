import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import type { MjpegOptions, MjpegSource } from "./ffmpeg.ts";
import type { VideoInfo } from "./library.ts";
import { type Frame, VideoStream, type VideoStreamOptions } from "./stream.ts";
import { processAlive, SAMPLE_VIDEO, TEST_FFMPEG } from "./_testing.ts";

const ff = TEST_FFMPEG ?? "";
const noFfmpeg = TEST_FFMPEG === null;

interface FakeCall {
  opts: MjpegOptions;
  stopped: boolean;
}

/** A frame source without ffmpeg: frames hold their source index; records every spawn and stop. */
function fakeSpawner(video: VideoInfo) {
  const calls: FakeCall[] = [];
  const spawn = (opts: MjpegOptions): MjpegSource => {
    const call: FakeCall = { opts, stopped: false };
    calls.push(call);
    const first = Math.round((opts.startSec ?? 0) * video.fps);
    const total = Math.round(video.duration * video.fps);
    const n = Math.min(total - first, opts.maxFrames ?? Infinity);
    return {
      pid: 0,
      stop: () => {
        call.stopped = true;
        return Promise.resolve();
      },
      async *[Symbol.asyncIterator]() {
        try {
          for (let i = 0; i < n && !call.stopped && !opts.signal?.aborted; i++) {
            await Promise.resolve();
            yield new Uint8Array([0xff, 0xd8, (first + i) >> 8, (first + i) & 0xff, 0xff, 0xd9]);
          }
        } finally {
          call.stopped = true;
        }
      },
    };
  };
  return { calls, spawn };
}

/** A sleep that moves a manual clock instead of waiting: pacing runs instantly. */
function instantSleep(clock: ManualClock) {
  return (ms: number, signal: AbortSignal): Promise<void> => {
    if (Number.isFinite(ms)) {
      clock.advance(ms);
      return Promise.resolve();
    }
    return new Promise((r) =>
      signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true })
    );
  };
}

const VIDEO: VideoInfo = {
  name: "t",
  duration: 2,
  fps: 24,
  width: 1920,
  height: 1080,
  renditions: ["240p", "720p", "1080p"],
};

function makeStream(over: Partial<VideoStreamOptions> = {}, video = VIDEO) {
  const clock = new ManualClock(0);
  const fake = fakeSpawner(video);
  const s = new VideoStream({
    ffmpeg: "fake",
    video,
    path: (r) => `/r/${r}.mp4`,
    clock,
    sleep: instantSleep(clock),
    spawn: fake.spawn,
    lossless: true,
    ...over,
  });
  return { s, clock, fake };
}

async function drain(s: VideoStream, max = 10_000): Promise<Frame[]> {
  const out: Frame[] = [];
  for (let f = await s.nextFrame(); f && out.length < max; f = await s.nextFrame()) out.push(f);
  return out;
}

Deno.test("VideoStream.nextFrame() yields every frame in order with pts at the source rate", async () => {
  const { s, fake } = makeStream({ mode: "720p" });
  const frames = await drain(s);
  assert.equal(frames.length, 48);
  frames.forEach((f, i) => {
    assert.equal(f.index, i);
    assert.ok(Math.abs(f.pts - (i * 1000) / 24) < 1e-6);
    assert.equal(f.rendition, "720p");
    assert.equal((f.jpeg[2]! << 8) | f.jpeg[3]!, i);
  });
  assert.equal(s.state, "ended");
  assert.equal(fake.calls[0]!.opts.input, "/r/720p.mp4");
  assert.ok(fake.calls.every((c) => c.stopped));
  await s.stop();
});

Deno.test("VideoStream thirds mode serves a third of the frames from each rendition, in order", async () => {
  const { s, fake } = makeStream({ mode: "thirds" }, { ...VIDEO, duration: 4 });
  const frames = await drain(s);
  const runs: [string, number][] = [];
  for (const f of frames) {
    const last = runs.at(-1);
    if (last && last[0] === f.rendition) last[1]++;
    else runs.push([f.rendition, 1]);
  }
  assert.deepEqual(runs, [["240p", 32], ["720p", 32], ["1080p", 32]]);
  assert.deepEqual(frames.map((f) => f.index), [...Array(96).keys()]);
  assert.deepEqual(fake.calls.map((c) => [c.opts.startSec, c.opts.maxFrames]), [[0, 32], [32 / 24, 32], [
    64 / 24,
    32,
  ]]);
  await s.stop();
});

Deno.test("VideoStream.seek() continues from the target and pause() holds frames", async () => {
  const { s, clock } = makeStream({ mode: "240p" });
  const first = await s.nextFrame();
  assert.equal(first?.index, 0);
  s.seek(1000);
  const after = await s.nextFrame();
  assert.ok(after!.pts >= 1000 && after!.pts < 1100, `pts ${after!.pts}`);
  s.pause();
  assert.equal(s.state, "paused");
  const pos = s.stats().position;
  clock.advance(10_000);
  assert.equal(s.stats().position, pos);
  let got = false;
  const p = s.nextFrame().then((f) => (got = f !== null));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(got, false); // nothing arrives while paused
  s.play();
  await p;
  assert.equal(got, true);
  await s.stop();
  assert.equal(s.state, "stopped");
  assert.equal(await s.nextFrame(), null);
});

Deno.test("VideoStream keeps a latest-frame slot: a slow viewer gets fewer frames, drops are counted", async () => {
  const { s } = makeStream({ mode: "240p", lossless: false });
  await new Promise((r) => setTimeout(r, 30)); // the producer runs ahead; the viewer takes nothing
  const f = await s.nextFrame();
  const st = s.stats();
  assert.ok(f !== null);
  assert.ok(st.dropped > 0, "some frames dropped");
  assert.ok(st.dropped + st.delivered <= 48);
  await s.stop();
});

Deno.test("VideoStream.stop() stops the source even while the viewer waits", async () => {
  const { s, fake } = makeStream({ mode: "240p", paused: true });
  const p = s.nextFrame();
  await new Promise((r) => setTimeout(r, 10));
  await s.stop();
  assert.equal(await p, null);
  assert.ok(fake.calls.length > 0 && fake.calls.every((c) => c.stopped));
});

Deno.test("VideoStream adaptive mode picks by pane size and scales frames to it", async () => {
  const { s, fake } = makeStream({ mode: "adaptive", pane: { width: 640, height: 200 } });
  const f = await s.nextFrame();
  assert.equal(f?.rendition, "240p");
  assert.deepEqual([f?.width, f?.height], [354, 200]);
  assert.deepEqual([fake.calls[0]!.opts.width, fake.calls[0]!.opts.height], [354, 200]);
  s.setPane(4000, 2000); // bigger pane: same rendition until delivery proves good, but full rendition size
  const g = await s.nextFrame();
  assert.equal(g?.rendition, "240p");
  assert.equal(g?.height, 240);
  await s.stop();
});

Deno.test("VideoStream adaptive mode steps down when the viewer cannot keep up", async () => {
  const video = { ...VIDEO, duration: 10, fps: 50 };
  const fake = fakeSpawner(video);
  const s = new VideoStream({ ffmpeg: "fake", video, path: (r) => r, spawn: fake.spawn, mode: "adaptive" });
  const seen = new Set<string>();
  const t0 = Date.now();
  while (Date.now() - t0 < 4000) {
    const f = await s.nextFrame();
    if (!f) break;
    seen.add(f.rendition);
    if (f.rendition === "240p") break;
    await new Promise((r) => setTimeout(r, 70)); // ~14 fps of 50
  }
  // It starts at 720p (the start cap), not at the 1080p the pane wants.
  assert.ok(!seen.has("1080p") && seen.has("720p") && seen.has("240p"), [...seen].join());
  assert.ok(s.stats().dropped > 0);
  await s.stop();
});

Deno.test({
  name: "VideoStream.stop() and abort end the real ffmpeg process (no orphan)",
  ignore: noFfmpeg,
  fn: async () => {
    const video: VideoInfo = { ...VIDEO, duration: 4, renditions: ["1080p"] };
    const { spawnMjpeg } = await import("./ffmpeg.ts");
    for (const how of ["stop", "abort"] as const) {
      const pids: number[] = [];
      const ac = new AbortController();
      const s = new VideoStream({
        ffmpeg: ff,
        video,
        path: () => SAMPLE_VIDEO,
        mode: "1080p",
        pane: { width: 320, height: 180 },
        signal: ac.signal,
        spawn: (o) => {
          const src = spawnMjpeg(o);
          pids.push(src.pid);
          return src;
        },
      });
      const f = await s.nextFrame();
      assert.ok(f && f.jpeg[0] === 0xff && f.jpeg[1] === 0xd8);
      assert.equal(pids.length, 1);
      assert.equal(processAlive(pids[0]!), true);
      if (how === "stop") await s.stop();
      else {
        ac.abort();
        await s.done;
      }
      assert.equal(processAlive(pids[0]!), false, `ffmpeg still alive after ${how}`);
    }
  },
});
