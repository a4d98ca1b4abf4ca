import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import type { MjpegOptions, MjpegSource } from "./ffmpeg.ts";
import type { VideoInfo } from "./library.ts";
import { type Frame, VideoStream, type VideoStreamOptions } from "./stream.ts";
import { FirstFrameCache, type FirstFrames } from "./first_frames.ts";
import { processAlive, SAMPLE_VIDEO, TEST_FFMPEG } from "./_testing.ts";
import { until } from "../common/wait_testing.ts";

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

/** A stream of the fake spawner on a manual clock; `over` may depend on that clock (e.g. its sleep). */
function makeStream(
  over: Partial<VideoStreamOptions> | ((clock: ManualClock) => Partial<VideoStreamOptions>) = {},
  video = VIDEO,
) {
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
    ...(typeof over === "function" ? over(clock) : over),
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
    assert.equal((f.data[2]! << 8) | f.data[3]!, i);
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
  let parked = 0; // waits of Infinity: the stream asleep until a control wakes it
  const { s, clock } = makeStream((c) => {
    const sleep = instantSleep(c);
    return { mode: "240p", sleep: (ms, signal) => (ms === Infinity && parked++, sleep(ms, signal)) };
  });
  const first = await s.nextFrame();
  assert.equal(first?.index, 0);
  s.seek(1000);
  const after = await s.nextFrame();
  assert.ok(after!.pts >= 1000 && after!.pts < 1100, `pts ${after!.pts}`);
  parked = 0;
  s.pause();
  assert.equal(s.state, "paused");
  const pos = s.stats().position;
  clock.advance(10_000);
  assert.equal(s.stats().position, pos);
  let got = false;
  const p = s.nextFrame().then((f) => (got = f !== null));
  // Event: the stream parked (only a control wakes it); a turn more lets a held frame land, if any.
  for (let i = 0; i < 100 && parked === 0; i++) await new Promise((r) => setTimeout(r, 0));
  assert.ok(parked > 0, "the paused stream waits for a control");
  await new Promise((r) => setTimeout(r, 0));
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
  await until(() => s.stats().dropped > 0, "the producer ran ahead"); // the viewer takes nothing
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
  await until(() => fake.calls.length > 0, "the source started");
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

/**
 * Sleeps that wait for a manual clock: `advance(ms)` moves it to each wake-up due on the way in
 * turn, letting the woken run before going on, so a producer and a viewer share one timeline that
 * takes no wall time.
 */
function clockTimers(clock: ManualClock) {
  const waiting: { at: number; wake: () => void }[] = [];
  const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise<void>((wake) => {
      if (signal.aborted) return wake();
      signal.addEventListener("abort", () => wake(), { once: true });
      if (Number.isFinite(ms)) waiting.push({ at: clock.now() + ms, wake });
    });
  const settle = () => new Promise((r) => setTimeout(r, 0));
  const advance = async (ms: number) => {
    const end = clock.now() + ms;
    for (;;) {
      await settle();
      const due = waiting.filter((w) => w.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      waiting.splice(waiting.indexOf(due), 1);
      clock.set(Math.max(clock.now(), due.at));
      due.wake();
    }
    clock.set(end);
    await settle();
  };
  return { sleep, advance };
}

Deno.test("VideoStream adaptive mode steps down when the viewer cannot keep up", async () => {
  const video = { ...VIDEO, duration: 10, fps: 50 };
  const fake = fakeSpawner(video);
  const clock = new ManualClock(0);
  const timers = clockTimers(clock);
  const s = new VideoStream({
    ffmpeg: "fake",
    video,
    path: (r) => r,
    spawn: fake.spawn,
    mode: "adaptive",
    clock,
    sleep: timers.sleep,
  });
  const seen = new Set<string>();
  while (clock.now() < 4000) {
    const f = await s.nextFrame();
    if (!f) break;
    seen.add(f.rendition);
    if (f.rendition === "240p") break;
    await timers.advance(70); // ~14 fps of 50
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
      assert.ok(f && f.data[0] === 0xff && f.data[1] === 0xd8);
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

Deno.test("VideoStream with a lead releases frames early, in bursts, and drops none for a viewer that keeps up", async () => {
  // Each sleep is recorded with the clock at its start; the stream may only sleep while ahead.
  const sleeps: { at: number; ms: number }[] = [];
  const { s, clock } = makeStream((clock) => ({
    mode: "240p",
    lossless: false,
    sleep: (ms, signal) => {
      if (!Number.isFinite(ms)) return instantSleep(clock)(ms, signal);
      sleeps.push({ at: clock.now(), ms });
      clock.advance(ms);
      return Promise.resolve();
    },
    lead: 500,
  }));
  assert.equal(s.lead, 500);
  const got: { f: Frame; at: number }[] = [];
  for (let f = await s.nextFrame(); f; f = await s.nextFrame()) got.push({ f, at: clock.now() });
  assert.equal(got.length, 48, "every frame of the 2 s clip");
  assert.equal(s.stats().dropped, 0);
  for (const { f, at } of got) {
    assert.ok(at <= f.pts + 1e-6, `frame ${f.index} released after its time`);
    assert.ok(f.pts - at <= 500 + 1e-6, `frame ${f.index} released more than the lead early`);
  }
  // The first half second leaves at once; then one wake per quarter second, not one per frame.
  assert.ok(got.filter((g) => g.at === 0).length >= 12);
  assert.ok(sleeps.length <= 8, `${sleeps.length} sleeps for 48 frames`);
  for (const z of sleeps) assert.ok(z.ms >= 250 - 1e-6 - 1000 / 24, `a sleep of ${z.ms} ms`);
  await s.stop();
});

Deno.test("VideoStream with a lead holds a whole burst for a viewer that takes it later", async () => {
  let parked = 0; // the producer's waits: it waits once the burst is out
  const { s } = makeStream((clock) => ({
    mode: "240p",
    lossless: false,
    sleep: (_ms, signal) => (parked++, instantSleep(clock)(Infinity, signal)), // time stands still
    lead: 500,
  }));
  await until(() => parked > 0, "the first burst out, nobody taking");
  const held: number[] = [];
  for (let i = 0; i < 13; i++) held.push((await s.nextFrame())!.index);
  assert.deepEqual(held, [...Array(13).keys()], "frames 0 … 12 (up to 500 ms ahead), none dropped");
  assert.equal(s.stats().dropped, 0);
  await s.stop();
});

/** A JPEG header with a frame size (SOF0) and a marker byte the test can find. */
function posterJpeg(width: number, height: number, mark: number): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xc0,
    0,
    11,
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    1,
    1,
    0x11,
    0,
    mark,
    0xff,
    0xd9,
  ]);
}

Deno.test("VideoStream from the start sends the rendition's poster as frame 0 and starts ffmpeg at frame 1", async () => {
  const poster = posterJpeg(1280, 720, 0x77);
  const { s, fake } = makeStream({
    mode: "thirds",
    pane: { width: 1280, height: 720 },
    poster: (r) => (r === "240p" ? posterJpeg(426, 240, 0x24) : r === "720p" ? poster : null),
  });
  const frames = await drain(s);
  assert.deepEqual(frames.map((f) => f.index), [...Array(48).keys()], "every frame once, in order");
  assert.equal(frames[0]!.data[15], 0x24, "frame 0 is the 240p poster (thirds start at 240p)");
  assert.deepEqual([frames[0]!.width, frames[0]!.height, frames[0]!.pts], [426, 240, 0]);
  assert.equal((frames[1]!.data[2]! << 8) | frames[1]!.data[3]!, 1, "then ffmpeg's frames from 1");
  const first = fake.calls[0]!.opts;
  assert.ok(Math.abs(first.startSec! - 1 / 24) < 1e-9);
  assert.equal(first.maxFrames, 15, "the first third is 16 frames, one of them the poster");
  assert.equal(fake.calls[1]!.opts.startSec, 16 / 24, "later thirds as before");
  await s.stop();
});

Deno.test("VideoStream: a playing stream's poster is taken before its ffmpeg starts (a process start blocks the thread)", async () => {
  const taken: number[] = [];
  const atSpawn: number[] = [];
  const { s } = makeStream((clock) => {
    const fake = fakeSpawner(VIDEO);
    return {
      mode: "720p",
      pane: { width: 1280, height: 720 },
      poster: () => posterJpeg(1280, 720, 0x77),
      lossless: false,
      sleep: instantSleep(clock),
      spawn: (o) => (atSpawn.push(taken.length), fake.spawn(o)),
    };
  });
  for (let f = await s.nextFrame(); f && taken.length < 3; f = await s.nextFrame()) taken.push(f.index);
  assert.deepEqual(taken, [0, 1, 2]);
  assert.deepEqual(atSpawn, [1], "ffmpeg started once the poster (frame 0) was taken");
  await s.stop();
});

Deno.test("VideoStream sends no poster for half-block-sized frames, from a later start, or when there is none", async () => {
  const poster = () => posterJpeg(426, 240, 0x24);
  const small = makeStream({ mode: "240p", pane: { width: 200, height: 120 }, poster });
  const a = await drain(small.s);
  assert.equal(a.length, 48);
  assert.equal(small.fake.calls[0]!.opts.startSec, 0);
  assert.ok(a.every((f) => f.data.length === 6), "only ffmpeg's frames");
  const later = makeStream({ mode: "240p", poster });
  later.s.seek(1000);
  const b = await drain(later.s);
  assert.ok(b.every((f) => f.data.length === 6) && b[0]!.pts >= 1000);
  const none = makeStream({ mode: "240p", poster: () => null });
  const c = await drain(none.s);
  assert.equal(c.length, 48);
  assert.equal(none.fake.calls[0]!.opts.startSec, 0);
  await Promise.all([small.s.stop(), later.s.stop(), none.s.stop()]);
});

Deno.test("VideoStream format rgb: small (half-block) frames come raw, larger ones stay JPEG", async () => {
  const small = makeStream({ mode: "240p", pane: { width: 200, height: 118 }, format: "rgb" });
  const a = await drain(small.s);
  assert.equal(a.length, 48);
  assert.ok(a.every((f) => f.format === "rgb"));
  assert.deepEqual(small.fake.calls.map((c) => c.opts.format), ["rgb"]);
  // A pane larger than half-block frames: JPEG even when raw frames were asked for.
  const big = makeStream({ mode: "720p", pane: { width: 800, height: 450 }, format: "rgb" });
  assert.ok((await drain(big.s)).every((f) => f.format === "jpeg"));
  assert.deepEqual(big.fake.calls.map((c) => c.opts.format), ["jpeg"]);
  // Not asked: JPEG at every size.
  const plain = makeStream({ mode: "240p", pane: { width: 200, height: 118 } });
  assert.ok((await drain(plain.s)).every((f) => f.format === "jpeg"));
  assert.deepEqual(plain.fake.calls.map((c) => c.opts.format), ["jpeg"]);
});

Deno.test("VideoStream: a new pane while ffmpeg has not made its first frame restarts it, it does not end the stream", async () => {
  // Issue 75: a stream readied paused at the offered size gets the viewer's smaller pane at once.
  const slow = { spawned: 0 };
  const { s, fake } = makeStream((clock) => {
    const real = fakeSpawner(VIDEO);
    return {
      mode: "1080p",
      pane: { width: 426, height: 240 },
      paused: true,
      sleep: instantSleep(clock),
      spawn: (opts: MjpegOptions): MjpegSource => {
        if (slow.spawned++ > 0) return real.spawn(opts);
        // ffmpeg still starting: no frame until it is stopped, then its output just ends.
        return {
          pid: 0,
          stop: () => Promise.resolve(),
          async *[Symbol.asyncIterator]() {
            await new Promise((r) => opts.signal?.addEventListener("abort", r, { once: true }));
            if (!opts.signal?.aborted) yield new Uint8Array(0); // never: only for the generator's type
          },
        };
      },
    };
  });
  await until(() => slow.spawned > 0, "the first ffmpeg started");
  s.setPane(80, 46);
  s.play();
  const f = await s.nextFrame();
  assert.ok(f, "the stream goes on after the restart");
  assert.equal(f.index, 0);
  assert.ok(f.width <= 80 && f.height <= 46, `${f.width}x${f.height}`);
  assert.equal(slow.spawned, 2);
  assert.equal(fake.calls.length, 0);
  await s.stop();
});

/**
 * A frame source like ffmpeg's that makes whole frames of the asked size and format (raw RGB filled
 * with the frame's number, or a JPEG header marked with it) and yields nothing until `open()`:
 * `waiting` settles once a consumer waits for its first frame, `made` counts the frames it yielded.
 */
function gatedSpawner(video: VideoInfo) {
  const calls: MjpegOptions[] = [];
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let waited!: () => void;
  const waiting = new Promise<void>((r) => (waited = r));
  const state = { made: 0 };
  const spawn = (opts: MjpegOptions): MjpegSource => {
    calls.push(opts);
    const first = Math.round((opts.startSec ?? 0) * video.fps);
    const n = Math.min(Math.round(video.duration * video.fps) - first, opts.maxFrames ?? Infinity);
    let stopped = false;
    return {
      pid: 0,
      stop: () => (stopped = true, Promise.resolve()),
      async *[Symbol.asyncIterator]() {
        waited();
        await gate;
        for (let i = 0; i < n && !stopped && !opts.signal?.aborted; i++) {
          const k = first + i, w = opts.width!, h = opts.height!;
          state.made++;
          yield opts.format === "rgb" ? new Uint8Array(w * h * 3).fill(k) : posterJpeg(w, h, k);
        }
      },
    };
  };
  return { calls, spawn, open, waiting, state };
}

/** Frame 0 when it is offered before the source yields (after a whole turn of the event loop), else null. */
async function beforeFfmpeg(s: VideoStream, waiting: Promise<void>): Promise<Frame | null> {
  const first = s.nextFrame();
  await waiting; // ffmpeg's first frame is being waited for
  return await Promise.race([first, new Promise<null>((r) => setTimeout(() => r(null), 0))]);
}

function streamWith(spawn: (o: MjpegOptions) => MjpegSource, over: Partial<VideoStreamOptions>) {
  const clock = new ManualClock(0);
  return new VideoStream({
    ffmpeg: "fake",
    video: VIDEO,
    path: (r) => `/r/${r}.mp4`,
    clock,
    sleep: instantSleep(clock),
    spawn,
    lossless: true,
    ...over,
  });
}

for (
  const [what, over] of [
    ["half-block raw frames", { mode: "240p", pane: { width: 200, height: 120 }, format: "rgb" }],
    ["kitty-sized JPEG frames", { mode: "720p", pane: { width: 800, height: 450 } }],
  ] as const
) {
  Deno.test(`VideoStream: a play from the start at a size played before sends frame 0 before its ffmpeg made any (${what})`, async () => {
    const cache = new FirstFrameCache();
    // The first play at this size: ffmpeg from frame 0, whose frame 0 is kept.
    const one = gatedSpawner(VIDEO);
    one.open();
    const a = await drain(streamWith(one.spawn, { ...over, firstFrames: cache.of("t") }));
    assert.equal(one.calls[0]!.startSec, 0);
    assert.equal(cache.size, 1);
    // The next play: frame 0 at once, ffmpeg from frame 1, every frame once.
    const two = gatedSpawner(VIDEO);
    const s = streamWith(two.spawn, { ...over, firstFrames: cache.of("t") });
    const f0 = await beforeFfmpeg(s, two.waiting);
    assert.ok(f0, "frame 0 came before ffmpeg made a frame");
    assert.equal(two.state.made, 0);
    assert.deepEqual([f0.index, f0.pts, f0.format, f0.width, f0.height], [
      0,
      0,
      a[0]!.format,
      a[0]!.width,
      a[0]!.height,
    ]);
    assert.deepEqual(f0.data, a[0]!.data, "the frame ffmpeg made at this size last time");
    assert.ok(Math.abs(two.calls[0]!.startSec! - 1 / 24) < 1e-9, "ffmpeg starts at frame 1");
    two.open();
    const rest = await drain(s);
    assert.deepEqual([0, ...rest.map((f) => f.index)], [...Array(48).keys()], "no frame added or lost");
    // Another video, size or format is another frame 0.
    const other = gatedSpawner(VIDEO);
    const o = streamWith(other.spawn, { ...over, firstFrames: cache.of("another") });
    assert.equal(await beforeFfmpeg(o, other.waiting), null);
    other.open();
    await drain(o);
  });
}

Deno.test("VideoStream: a damaged kept frame 0 or a poster cut short is not sent; the play starts from ffmpeg's frame 0", async () => {
  const damaged: FirstFrames = { get: (k) => new Uint8Array(k.width * k.height * 3 - 1), set: () => {} };
  const cut = posterJpeg(1280, 720, 0x77).subarray(0, 16); // no end marker
  for (
    const over of [
      { mode: "240p", pane: { width: 200, height: 120 }, format: "rgb", firstFrames: damaged },
      { mode: "720p", pane: { width: 800, height: 450 }, firstFrames: { get: () => cut, set: () => {} } },
      { mode: "720p", pane: { width: 1280, height: 720 }, poster: () => cut },
    ] as Partial<VideoStreamOptions>[]
  ) {
    const g = gatedSpawner(VIDEO);
    const s = streamWith(g.spawn, over);
    assert.equal(await beforeFfmpeg(s, g.waiting), null, "nothing before ffmpeg's frame");
    g.open();
    const rest = await drain(s);
    assert.equal(g.calls[0]!.startSec, 0);
    assert.equal(rest.length, 47, "frames 1 … 47 after ffmpeg's frame 0 (taken above)");
  }
  // The cache keeps only whole frames of their size, and gives back copies.
  const cache = new FirstFrameCache(2).of("v");
  const k = { rendition: "240p", width: 4, height: 2, format: "rgb" } as const;
  cache.set(k, new Uint8Array(23));
  assert.equal(cache.get(k), undefined);
  const good = new Uint8Array(24).fill(7);
  cache.set(k, good);
  good.fill(0);
  assert.deepEqual(cache.get(k), new Uint8Array(24).fill(7));
  cache.get(k)!.fill(1);
  assert.deepEqual(cache.get(k), new Uint8Array(24).fill(7));
  const j = { rendition: "720p", width: 1280, height: 720, format: "jpeg" } as const;
  cache.set(j, cut);
  assert.equal(cache.get(j), undefined, "a JPEG without its end");
  cache.set(j, posterJpeg(640, 360, 1));
  assert.equal(cache.get(j), undefined, "a JPEG of another size");
});

Deno.test("VideoStream: a first half-block raw play sends the poster made at its size before ffmpeg's frame, and keeps ffmpeg's frame 0", async () => {
  const cache = new FirstFrameCache();
  const asked: number[][] = [];
  const rawPoster = (
    w: number,
    h: number,
  ) => (asked.push([w, h]), Promise.resolve(new Uint8Array(w * h * 3).fill(99)));
  const over = { mode: "240p", pane: { width: 200, height: 120 }, format: "rgb", rawPoster } as const;
  const g = gatedSpawner(VIDEO);
  const s = streamWith(g.spawn, { ...over, firstFrames: cache.of("t") });
  const f0 = await beforeFfmpeg(s, g.waiting);
  assert.ok(f0, "frame 0 came before ffmpeg made a frame");
  assert.deepEqual([f0.index, f0.format, f0.data[0], [f0.width, f0.height]], [0, "rgb", 99, asked[0]]);
  assert.equal(g.calls[0]!.startSec, 0, "ffmpeg from frame 0: its frame 0 is kept");
  g.open();
  const rest = await drain(s);
  assert.deepEqual(rest.map((f) => f.index), [...Array(47).keys()].map((i) => i + 1), "no frame added");
  assert.equal(rest[0]!.data[0], 1, "ffmpeg's frame 0 was not sent after the poster");
  // The next play sends ffmpeg's own frame 0 (kept), not the poster made again.
  const g2 = gatedSpawner(VIDEO);
  const s2 = streamWith(g2.spawn, { ...over, firstFrames: cache.of("t") });
  const k0 = await beforeFfmpeg(s2, g2.waiting);
  assert.equal(k0?.data[0], 0);
  assert.equal(asked.length, 1);
  g2.open();
  await drain(s2);
  // A poster that cannot be made (a damaged file: the decoder rejects): ffmpeg's frame 0, as before.
  const g3 = gatedSpawner(VIDEO);
  const s3 = streamWith(g3.spawn, { ...over, rawPoster: () => Promise.reject(new Error("bad JPEG")) });
  assert.equal(await beforeFfmpeg(s3, g3.waiting), null);
  g3.open();
  assert.equal((await drain(s3)).length, 47);
});
