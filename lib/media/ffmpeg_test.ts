import assert from "node:assert/strict";
import { FfmpegError, findFfmpeg, mjpegArgs, parseProbe, probe, spawnEarly, spawnMjpeg } from "./ffmpeg.ts";
import { processAlive, SAMPLE_VIDEO, TEST_FFMPEG } from "./_testing.ts";
import { decodeJpeg } from "./jpeg.ts";

const ff = TEST_FFMPEG ?? "";
const noFfmpeg = TEST_FFMPEG === null;

const STDERR = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'videos/sample.mp4':
  Duration: 00:01:04.50, start: 0.000000, bitrate: 1342 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 1338 kb/s, 29.97 fps, 29.97 tbr, 12288 tbn (default)
At least one output file must be specified`;

Deno.test("parseProbe() reads duration, size and fps from ffmpeg -i stderr", () => {
  assert.deepEqual(parseProbe(STDERR), { duration: 64.5, fps: 29.97, width: 1920, height: 1080 });
});

Deno.test("parseProbe() falls back to tbr and rejects input without video", () => {
  const s = "  Duration: 00:00:02.00\n  Stream #0:0: Video: vp9, yuv420p, 640x360, 25 tbr, 1k tbn";
  assert.deepEqual(parseProbe(s), { duration: 2, fps: 25, width: 640, height: 360 });
  assert.throws(() => parseProbe("  Stream #0:0: Audio: aac"), FfmpegError);
});

Deno.test("findFfmpeg() reads PARLEY_FFMPEG, then PATH, from the environment it is given; no npm copy", () => {
  const have = new Set(["/opt/ff/ffmpeg", "/usr/bin/ffmpeg"]);
  const exists = (p: string) => have.has(p);
  const env = (o: Record<string, string>) => ({ get: (n: string) => o[n] });
  if (Deno.build.os === "windows") return;
  assert.equal(
    findFfmpeg(env({ PARLEY_FFMPEG: "/opt/ff/ffmpeg", PATH: "/usr/bin" }), exists),
    "/opt/ff/ffmpeg",
  );
  assert.equal(
    findFfmpeg(env({ PARLEY_FFMPEG: "/nope", PATH: "/bin:/usr/bin/" }), exists),
    "/usr/bin/ffmpeg",
  );
  assert.equal(findFfmpeg(env({ PATH: "/bin" }), exists), null);
  assert.equal(findFfmpeg(env({}), (p) => p.includes("node_modules")), null);
});

Deno.test("mjpegArgs() seeks before the input and scales when a size is given", () => {
  const a = mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", startSec: 1.5, fps: 24, width: 320, height: 180 });
  assert.deepEqual(a.slice(a.indexOf("-ss"), a.indexOf("-ss") + 4), ["-ss", "1.479167", "-i", "in.mp4"]);
  assert.equal(a[a.indexOf("-vf") + 1], "fps=24,scale=320:180:flags=area");
  assert.equal(a[a.indexOf("-pix_fmt") + 1], "yuvj444p");
  assert.equal(a.at(-1), "pipe:1");
  // Frames up to 720p: one decoding thread, set before the input it applies to (first-frame latency).
  assert.ok(a.indexOf("-threads") >= 0 && a.indexOf("-threads") < a.indexOf("-i"));
  assert.equal(a[a.indexOf("-threads") + 1], "1");
  assert.equal(a.indexOf("-thread_type"), -1);
  // Small (half-block) frames: one encoding thread too (an output option: after the input).
  assert.ok(a.lastIndexOf("-threads") > a.indexOf("-i"));
  assert.equal(a[a.lastIndexOf("-threads") + 1], "1");
  const mid = mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", fps: 24, width: 640, height: 360 });
  assert.equal(mid.lastIndexOf("-threads"), mid.indexOf("-threads"), "640×360 keeps the encoder's threads");
  assert.ok(mid.indexOf("-threads") < mid.indexOf("-i"));
  // Larger: slice threads (never frame threads, which hold the first picture back).
  const big = mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", fps: 24, width: 1920, height: 1080 });
  assert.ok(big.indexOf("-thread_type") >= 0 && big.indexOf("-thread_type") < big.indexOf("-i"));
  assert.equal(big[big.indexOf("-thread_type") + 1], "slice");
  assert.equal(big.indexOf("-threads"), -1);
});

Deno.test("mjpegArgs(): small (half-block) frames average areas with full chroma; larger ones do not", () => {
  const small = mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", fps: 24, width: 200, height: 120 });
  assert.equal(small[small.indexOf("-vf") + 1], "fps=24,scale=200:120:flags=area");
  assert.equal(small[small.indexOf("-pix_fmt") + 1], "yuvj444p");
  const big = mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", fps: 24, width: 800, height: 450 });
  assert.equal(big[big.indexOf("-vf") + 1], "fps=24,scale=800:450:flags=bilinear");
  assert.equal(big[big.indexOf("-pix_fmt") + 1], "yuvj420p");
  const unscaled = mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", fps: 24 });
  assert.equal(unscaled[unscaled.indexOf("-pix_fmt") + 1], "yuvj420p");
});

Deno.test("mjpegArgs(): raw RGB frames; small frames skip the deblocking filter, larger ones keep it", () => {
  const raw = mjpegArgs({
    ffmpeg: "ffmpeg",
    input: "in.mp4",
    fps: 24,
    width: 200,
    height: 118,
    format: "rgb",
  });
  assert.deepEqual(raw.slice(raw.lastIndexOf("-pix_fmt")), ["-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]);
  assert.equal(raw.indexOf("mjpeg"), -1);
  assert.equal(raw.indexOf("-q:v"), -1);
  for (
    const small of [raw, mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", fps: 24, width: 200, height: 118 })]
  ) {
    const i = small.indexOf("-skip_loop_filter");
    assert.ok(i >= 0 && i < small.indexOf("-i"), "a decoder option: before the input");
    assert.equal(small[i + 1], "all");
  }
  const big = mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", fps: 24, width: 800, height: 450 });
  assert.equal(big.indexOf("-skip_loop_filter"), -1);
  assert.throws(() => mjpegArgs({ ffmpeg: "ffmpeg", input: "in.mp4", fps: 24, format: "rgb" }), FfmpegError);
  // Checked before anything starts: no process for options that cannot work.
  assert.throws(
    () => spawnMjpeg({ ffmpeg: "/nonexistent/ffmpeg", input: "x", fps: 1, format: "rgb" }),
    /frame size/,
  );
});

Deno.test("spawnMjpeg() throws FfmpegError when the binary is missing", () => {
  assert.throws(() => spawnMjpeg({ ffmpeg: "/nonexistent/ffmpeg", input: "x", fps: 1 }), FfmpegError);
});

Deno.test({
  name: "probe() reads the sample video",
  ignore: noFfmpeg,
  fn: async () => {
    assert.deepEqual(await probe(ff, SAMPLE_VIDEO), { duration: 4, fps: 24, width: 1920, height: 1080 });
    await assert.rejects(probe(ff, "/nonexistent.mp4"), FfmpegError);
  },
});

Deno.test({
  name: "spawnMjpeg() yields exactly maxFrames JPEGs at the asked size",
  ignore: noFfmpeg,
  fn: async () => {
    const src = spawnMjpeg({
      ffmpeg: ff,
      input: SAMPLE_VIDEO,
      fps: 24,
      width: 320,
      height: 180,
      maxFrames: 5,
    });
    const frames: Uint8Array[] = [];
    for await (const f of src) frames.push(f);
    assert.equal(frames.length, 5);
    for (const f of frames) assert.deepEqual([f[0], f[1], f.at(-2), f.at(-1)], [0xff, 0xd8, 0xff, 0xd9]);
    assert.equal(processAlive(src.pid), false);
  },
});

Deno.test({
  name: "spawnMjpeg() with format rgb yields exactly maxFrames raw frames of width × height × 3 bytes",
  ignore: noFfmpeg,
  fn: async () => {
    const [w, h] = [200, 112];
    const o = { ffmpeg: ff, input: SAMPLE_VIDEO, fps: 24, width: w, height: h, maxFrames: 5 };
    const frames = await Array.fromAsync(spawnMjpeg({ ...o, format: "rgb" }));
    assert.equal(frames.length, 5);
    for (const f of frames) assert.equal(f.length, w * h * 3);
    // The same pictures as the JPEG path, within JPEG's loss (measured: 3.4 per channel on average).
    const jpeg = await Array.fromAsync(spawnMjpeg({ ...o, quality: 2 }));
    const img = await decodeJpeg(jpeg[4]!);
    let diff = 0;
    for (let i = 0; i < w * h; i++) {
      for (let c = 0; c < 3; c++) diff += Math.abs(img.data[i * 4 + c]! - frames[4]![i * 3 + c]!);
    }
    assert.ok(diff / (w * h * 3) < 6, `mean difference ${diff / (w * h * 3)}`);
  },
});

Deno.test({
  name: "spawnMjpeg() kills ffmpeg when the consumer breaks out early (no orphan)",
  ignore: noFfmpeg,
  fn: async () => {
    const src = spawnMjpeg({ ffmpeg: ff, input: SAMPLE_VIDEO, fps: 24 });
    let n = 0;
    for await (const _ of src) if (++n === 2) break;
    assert.equal(processAlive(src.pid), false);
  },
});

Deno.test({
  name: "spawnMjpeg() kills ffmpeg on abort, also while the consumer is idle",
  ignore: noFfmpeg,
  fn: async () => {
    const ac = new AbortController();
    const src = spawnMjpeg({ ffmpeg: ff, input: SAMPLE_VIDEO, fps: 24, signal: ac.signal });
    const it = src[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false);
    assert.equal(processAlive(src.pid), true);
    ac.abort();
    await src.stop();
    assert.equal(processAlive(src.pid), false);
    await it.return?.();
  },
});

Deno.test({
  name: "spawnMjpeg() reports a failing input as FfmpegError",
  ignore: noFfmpeg,
  fn: async () => {
    const src = spawnMjpeg({ ffmpeg: ff, input: "/nonexistent.mp4", fps: 24 });
    await assert.rejects(async () => {
      for await (const _ of src) { /* none */ }
    }, FfmpegError);
  },
});

Deno.test({
  name:
    "spawnEarly(): its own header says what probe() says; bound to its guess it is the stream, one frame in",
  ignore: noFfmpeg,
  fn: async () => {
    const guess = { ffmpeg: ff, input: SAMPLE_VIDEO, fps: 24, width: 160, height: 90, maxFrames: 3 };
    const early = spawnEarly(guess);
    assert.deepEqual(await early.info, await probe(ff, SAMPLE_VIDEO));
    // Another size of the same kind (small frames): the filters differ, the rest does not.
    const src = early.bind({ ...guess, width: 120, height: 68 });
    assert.equal(src.pid, early.pid, "the early ffmpeg itself");
    const frames = await Array.fromAsync(src);
    assert.equal(frames.length, 3);
    const img = await decodeJpeg(frames[0]!);
    assert.deepEqual([img.width, img.height], [120, 68], "scaled as bound, not as guessed");
    assert.equal(processAlive(early.pid), false);
  },
});

Deno.test({
  name:
    "spawnEarly(): bound to other arguments than its guess it stops and a new ffmpeg starts; stopped unbound, gone",
  ignore: noFfmpeg,
  fn: async () => {
    const guess = { ffmpeg: ff, input: SAMPLE_VIDEO, fps: 24, width: 160, height: 90, maxFrames: 2 };
    const early = spawnEarly(guess);
    await early.info;
    // 640×360 is no small frame: other decoder and encoder settings than the guess's.
    const src = early.bind({ ...guess, width: 640, height: 360 });
    assert.notEqual(src.pid, early.pid);
    const frames = await Array.fromAsync(src);
    const img = await decodeJpeg(frames[0]!);
    assert.deepEqual([frames.length, img.width, img.height], [2, 640, 360]);
    await early.stop();
    assert.equal(processAlive(early.pid), false);
    const idle = spawnEarly(guess);
    await idle.info; // waiting for its filters
    assert.equal(processAlive(idle.pid), true);
    await idle.stop();
    assert.equal(processAlive(idle.pid), false);
  },
});

Deno.test({
  name: "spawnEarly(): a file that is no video rejects with probe()'s error, its ffmpeg gone",
  ignore: noFfmpeg,
  fn: async () => {
    const early = spawnEarly({ ffmpeg: ff, input: "/nonexistent.mp4", fps: 24, width: 160, height: 90 });
    const old = await probe(ff, "/nonexistent.mp4").catch((e: Error) => e.message);
    await assert.rejects(early.info, (e: Error) => e instanceof FfmpegError && e.message === old);
    assert.equal(processAlive(early.pid), false);
  },
});

Deno.test({
  name: "spawnEarly(): stopped before its header came, it rejects at once (no probe after it) and is gone",
  ignore: noFfmpeg,
  fn: async () => {
    const early = spawnEarly({ ffmpeg: ff, input: SAMPLE_VIDEO, fps: 24, width: 160, height: 90 });
    await early.stop();
    await assert.rejects(early.info, /Stopped before reading/);
    assert.equal(processAlive(early.pid), false);
  },
});
