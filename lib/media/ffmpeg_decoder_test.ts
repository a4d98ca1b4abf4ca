import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import { JpegDecoder } from "./decoder.ts";
import { decoderArgs, FfmpegJpegDecoder } from "./ffmpeg_decoder.ts";
import { decodeJpeg, type RgbaImage } from "./jpeg.ts";
import { goldenImage, TEST_FFMPEG } from "./_testing.ts";
import { until } from "../common/wait_testing.ts";

const jpeg = (q = 90, w = 48, h = 32) => {
  const src = goldenImage();
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = ((y % src.height) * src.width + (x % src.width)) * 4, d = (y * w + x) * 4;
      data.set(src.data.subarray(s, s + 4), d);
    }
  }
  return new Uint8Array(jpegJs.encode({ width: w, height: h, data }, q).data);
};

/** Largest per-channel difference (alpha ignored). */
function maxDiff(a: RgbaImage, b: RgbaImage): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    if ((i & 3) !== 3) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  }
  return m;
}

/**
 * A path of this test's own to ffmpeg (a link in a fresh folder), so that `childFfmpegs` counts only the
 * processes this test started: under `deno test --parallel` other test files run in the same process.
 */
async function ownFfmpeg(): Promise<string> {
  const link = `${await Deno.makeTempDir()}/ffmpeg`;
  await Deno.symlink(TEST_FFMPEG!, link);
  return link;
}

/** Processes of this test process started from `path` (its command line begins with it). */
async function childFfmpegs(path: string): Promise<number> {
  const args = ["-P", String(Deno.pid), "-f", `^${path} `];
  const o = await new Deno.Command("pgrep", { args, stdout: "piped" }).output();
  return new TextDecoder().decode(o.stdout).trim().split("\n").filter(Boolean).length;
}

Deno.test({
  name: "FfmpegJpegDecoder: one ffmpeg for every size, in order, pixels equal to WASM within 6 levels",
  ignore: !TEST_FFMPEG,
  fn: async () => {
    const ffmpeg = await ownFfmpeg();
    const d = new FfmpegJpegDecoder(ffmpeg, new JpegDecoder());
    try {
      await d.warm();
      const a = jpeg(90), b = jpeg(60), c = jpeg(90, 64, 40);
      const got = await Promise.all([d.decode(a), d.decode(b), d.decode(a), d.decode(c)]);
      const want = await Promise.all([a, b, a, c].map((j) => decodeJpeg(j)));
      for (let i = 0; i < got.length; i++) {
        assert.deepEqual([got[i]!.width, got[i]!.height], [want[i]!.width, want[i]!.height]);
        assert.ok(maxDiff(got[i]!, want[i]!) <= 6, `frame ${i}: ${maxDiff(got[i]!, want[i]!)}`);
      }
      assert.equal(d.onFfmpeg, 4, "every frame answered by ffmpeg");
      assert.equal(d.failed, false);
      assert.equal(await childFfmpegs(ffmpeg), 1, "the size change started no second ffmpeg (-autoscale 0)");
      // Not a JPEG: the WASM decoder's answer (a SyntaxError), and ffmpeg stays in use.
      await assert.rejects(d.decode(new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])), SyntaxError);
      await d.decode(a);
      assert.equal(d.onFfmpeg, 5);
    } finally {
      await d.closed();
    }
    assert.equal(await childFfmpegs(ffmpeg), 0, "no ffmpeg left running");
  },
});

Deno.test("FfmpegJpegDecoder falls back to WASM when ffmpeg is absent", async () => {
  const d = new FfmpegJpegDecoder("/nonexistent/ffmpeg", new JpegDecoder());
  try {
    await d.warm();
    const j = jpeg();
    const img = await d.decode(j);
    assert.deepEqual(new Uint8Array(img.data), new Uint8Array((await decodeJpeg(j)).data));
    assert.equal(d.onFfmpeg, 0);
    assert.equal(d.failed, true);
  } finally {
    await d.closed();
  }
});

Deno.test("FfmpegJpegDecoder: a process that exits without answering hands its frames to WASM", async () => {
  // `true` reads nothing and exits: the pending frame must still be answered.
  const d = new FfmpegJpegDecoder("/bin/true", new JpegDecoder());
  try {
    const j = jpeg();
    const img = await d.decode(j);
    assert.deepEqual([img.width, img.height], [48, 32]);
    assert.equal(d.onFfmpeg, 0);
  } finally {
    await d.closed();
  }
});

Deno.test({
  name: "FfmpegJpegDecoder: close() ends its ffmpeg (no leaked process)",
  ignore: !TEST_FFMPEG,
  fn: async () => {
    const ffmpeg = await ownFfmpeg();
    const d = new FfmpegJpegDecoder(ffmpeg, new JpegDecoder());
    await d.warm();
    await d.decode(jpeg());
    assert.equal(await childFfmpegs(ffmpeg), 1, "the decoding process (no spare: it takes every size)");
    await d.closed();
    assert.equal(await childFfmpegs(ffmpeg), 0);
  },
});

Deno.test({
  name:
    "FfmpegJpegDecoder with an ffmpeg older than 4.4 (no -autoscale): a process per size, no spare until the size changes (spare: false); the WASM fallback not started",
  ignore: !TEST_FFMPEG,
  fn: async () => {
    // A stand-in for an older ffmpeg: refuses -autoscale as ffmpeg 4.3 does, else runs the real one.
    const dir = await Deno.makeTempDir();
    const old = `${dir}/ffmpeg`, ffmpeg = await ownFfmpeg();
    await Deno.writeTextFile(
      old,
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = -autoscale ] && { echo "Unrecognized option 'autoscale'." >&2; exit 1; }; done\nexec '${ffmpeg}' "$@"\n`,
    );
    await Deno.chmod(old, 0o755);
    let warmed = 0;
    const fallback = new JpegDecoder();
    const warm = fallback.warm.bind(fallback);
    fallback.warm = () => (warmed++, warm());
    const d = new FfmpegJpegDecoder(old, fallback, { spare: false });
    try {
      await d.warm();
      await d.decode(jpeg());
      assert.equal(d.onFfmpeg, 1, "answered by the ffmpeg started the older way");
      assert.equal(d.processes, 1, "no spare yet");
      assert.equal(await childFfmpegs(ffmpeg), 1);
      const img = await d.decode(jpeg(90, 64, 40));
      assert.deepEqual([img.width, img.height], [64, 40]);
      await d.decode(jpeg(90, 64, 40));
      assert.equal(d.onFfmpeg, 3);
      // The first process ended after its frames; the second runs with a spare behind it.
      await until(() => d.processes === 2, () => `a spare after the size change (${d.processes} running)`);
      assert.equal(warmed, 0, "ffmpeg answered everything: the WASM worker never started");
      // Not a JPEG: the fallback answers, and starts only now.
      await assert.rejects(d.decode(new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])), SyntaxError);
      assert.equal(warmed, 1);
    } finally {
      await d.closed();
      await Deno.remove(dir, { recursive: true });
    }
    assert.equal(await childFfmpegs(ffmpeg), 0);
  },
});

Deno.test({
  name:
    "FfmpegJpegDecoder({ output: rgb }): ffmpeg answers RGB (channels 3), the same pixels as its RGBA answer",
  ignore: !TEST_FFMPEG,
  fn: async () => {
    const rgb = new FfmpegJpegDecoder(TEST_FFMPEG!, new JpegDecoder(), { output: "rgb", spare: false });
    const rgba = new FfmpegJpegDecoder(TEST_FFMPEG!, new JpegDecoder(), { spare: false });
    try {
      for (const j of [jpeg(90), jpeg(60, 17, 9)]) {
        const a = await rgb.decode(j), b = await rgba.decode(j);
        assert.equal(a.channels, 3);
        assert.deepEqual([a.width, a.height, a.data.length], [b.width, b.height, b.width * b.height * 3]);
        assert.deepEqual(new Uint8Array(a.data), new Uint8Array(b.data).filter((_, i) => i % 4 !== 3));
      }
      assert.equal(rgb.onFfmpeg, 2);
    } finally {
      await rgb.closed();
      await rgba.closed();
    }
  },
});

Deno.test({
  name:
    "FfmpegJpegDecoder({ output: yuv }): ffmpeg answers YUV 4:4:4, made RGBA here, the same picture as its RGBA answer",
  ignore: !TEST_FFMPEG,
  fn: async () => {
    assert.equal(decoderArgs("yuv").at(-2), "yuvj444p");
    // A 4:4:4 JPEG, as the server sends for half-blocks (and jpeg-js's own, 4:2:0).
    const out = await new Deno.Command(TEST_FFMPEG!, {
      args: ["-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=200x118", "-frames:v", "1"]
        .concat(["-pix_fmt", "yuvj444p", "-c:v", "mjpeg", "-q:v", "5", "-f", "image2pipe", "-"]),
      stdout: "piped",
    }).output();
    const yuv = new FfmpegJpegDecoder(TEST_FFMPEG!, new JpegDecoder(), { output: "yuv", spare: false });
    const rgba = new FfmpegJpegDecoder(TEST_FFMPEG!, new JpegDecoder(), { spare: false });
    try {
      for (const j of [out.stdout, jpeg(90)]) {
        const a = await yuv.decode(j), b = await rgba.decode(j);
        assert.deepEqual([a.width, a.height, a.data.length, a.channels ?? 4], [
          b.width,
          b.height,
          b.data.length,
          4,
        ]);
        let sum = 0, max = 0;
        for (let k = 0; k < a.data.length; k++) {
          const d = Math.abs(a.data[k]! - b.data[k]!);
          sum += d, max = Math.max(max, d);
        }
        assert.ok(sum / a.data.length < 1 && max <= 6, `mean ${sum / a.data.length}, max ${max}`);
      }
      assert.equal(yuv.onFfmpeg, 2);
    } finally {
      await yuv.closed();
      await rgba.closed();
    }
  },
});

/** A stand-in ffmpeg in a temp folder: `body` is the shell script after the `#!` line. */
async function fakeFfmpeg(body: string): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/ffmpeg`, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(`${dir}/ffmpeg`, 0o755);
  return { path: `${dir}/ffmpeg`, dir };
}

Deno.test({
  name:
    "FfmpegJpegDecoder: a cold start slower than stallMs is no stall (startMs more until the first answer)",
  ignore: !TEST_FFMPEG,
  fn: async () => {
    // Starts 0.6 s late (a busy machine loading ffmpeg), then runs the real one.
    const slow = await fakeFfmpeg(`sleep 0.6\nexec '${TEST_FFMPEG}' "$@"`);
    const d = new FfmpegJpegDecoder(slow.path, new JpegDecoder(), { stallMs: 200, spare: false });
    try {
      const img = await d.decode(jpeg());
      assert.deepEqual([img.width, img.height], [48, 32]);
      await d.decode(jpeg(60));
      assert.equal(d.onFfmpeg, 2, "both frames answered by ffmpeg, not WASM");
      assert.equal(d.failed, false);
    } finally {
      await d.closed();
      await Deno.remove(slow.dir, { recursive: true });
    }
  },
});

Deno.test("FfmpegJpegDecoder: a process that never answers falls back after stallMs + startMs", async () => {
  const mute = await fakeFfmpeg("exec sleep 30");
  const d = new FfmpegJpegDecoder(mute.path, new JpegDecoder(), { stallMs: 100, startMs: 100, spare: false });
  try {
    const t0 = performance.now();
    const img = await d.decode(jpeg());
    const ms = performance.now() - t0;
    assert.deepEqual([img.width, img.height], [48, 32]);
    assert.equal(d.onFfmpeg, 0);
    assert.equal(d.failed, true);
    // Killed at 200 ms, then a retry the older way (no -autoscale) killed at 200 ms: then WASM.
    assert.ok(ms >= 380 && ms < 5000, `${ms} ms`);
  } finally {
    await d.closed();
    await Deno.remove(mute.dir, { recursive: true });
  }
});
