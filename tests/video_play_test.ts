/**
 * End-to-end video playback against an in-process server (real TLS, real ffmpeg, videos/sample.mp4):
 * listing, thirds mode, pause/seek/stop, stream limits, and that closing the client ends its ffmpeg.
 */
import assert from "node:assert/strict";
import { VideoClient } from "../lib/client/video/video_client.ts";
import { abortableSleep } from "../lib/media/stream.ts";
import { planThirds } from "../lib/media/thirds.ts";
import { eventually, skipWithout, startTestServer, testFfmpeg, videoDataDir, VIDEOS_DIR } from "./helpers.ts";
import { processAlive } from "../lib/common/process_testing.ts";
import { ManualClock } from "../lib/common/clock.ts";
import { until } from "../lib/common/wait_testing.ts";

const ffmpeg = testFfmpeg();
const ignore = skipWithout(ffmpeg !== null);

async function videoServer(
  opts: Record<string, unknown> = {},
  deps: { videoSleep?: (ms: number, signal: AbortSignal) => Promise<void>; clock?: ManualClock } = {},
) {
  const dir = await videoDataDir(ffmpeg!);
  const t = await startTestServer({ ffmpeg, videosDir: VIDEOS_DIR, ...opts }, { dir, ...deps });
  return {
    ...t,
    dir,
    async stop() {
      await t.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test({
  name: "video.list gives the sample with its three renditions",
  ignore,
  async fn() {
    const t = await videoServer();
    try {
      const c = await t.client("alice");
      const r = await new VideoClient(c.conn).list();
      assert.equal(r.available, true);
      const s = r.videos.find((v) => v.name === "sample");
      assert.ok(s, "sample listed");
      assert.deepEqual(s.renditions, ["240p", "720p", "1080p"]);
      assert.equal(s.fps, 24);
      assert.equal(s.width, 1920);
      assert.equal(s.height, 1080);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "video.play thirds: frames from 240p, then 720p, then 1080p, each within its third, in order",
  ignore,
  async fn() {
    const t = await videoServer();
    try {
      const c = await t.client("alice");
      const vc = new VideoClient(c.conn);
      const pb = await vc.play("sample", { mode: "thirds" });
      assert.equal(pb.info.fps, 24);
      const end = await pb.ended;
      assert.equal(end.reason, "end");
      const plan = planThirds(Math.round(pb.info.duration * pb.info.fps));
      assert.deepEqual(plan.map((p) => p.rendition), ["240p", "720p", "1080p"]);
      // Order: renditions never go back, indices strictly increase, each frame in its third.
      for (let i = 0; i < pb.order.length; i++) {
        const f = pb.order[i]!;
        const seg = plan.find((p) => f.index >= p.startFrame && f.index < p.endFrame)!;
        assert.equal(f.rendition, seg.rendition, `frame ${f.index} from ${f.rendition}`);
        if (i > 0) assert.ok(f.index > pb.order[i - 1]!.index, "indices increase");
      }
      const dropped = Number(end.stats.dropped);
      for (const seg of plan) {
        const n = pb.received[seg.rendition];
        const size = seg.endFrame - seg.startFrame;
        // ffmpeg may end a segment one frame short at the very end of the file; a fast reader drops none.
        assert.ok(n >= size - 1 - dropped && n <= size, `${seg.rendition}: ${n} of ${size}`);
      }
      assert.equal(Number(end.stats.sent), pb.order.length);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "video.ctl pause holds frames, seek jumps, stop ends with video.end and kills ffmpeg",
  ignore,
  async fn() {
    // The stream's waits, seen: one of Infinity is the stream parked until a control wakes it.
    let parked = 0;
    const videoSleep = (ms: number, signal: AbortSignal) => {
      if (ms === Infinity) parked++;
      return abortableSleep(ms, signal);
    };
    const t = await videoServer({}, { videoSleep });
    try {
      const c = await t.client("alice");
      const pb = await new VideoClient(c.conn).play("sample", { mode: "240p", width: 320, height: 180 });
      await eventually(() => pb.order.length >= 3, 3000, "first frames");
      parked = 0;
      await pb.pause();
      await eventually(
        () => parked > 0,
        3000,
        "the paused stream to park (waiting for a control, not a frame's time)",
      );
      const atPark = pb.order.length;
      await pb.pause(); // fence: a reply after any frame the viewer sent before it
      // The frame the stream's slot held when it parked may still go; nothing after it.
      assert.ok(pb.order.length <= atPark + 1, "no frames while paused");
      assert.equal(parked, 1, "parked once, not woken");
      await pb.seek(3000);
      await pb.resume();
      await eventually(() => pb.order.some((f) => f.index >= 72), 3000, "frames after the seek");
      // The stop path, every time: back to the start and paused, so the video cannot end first.
      await pb.seek(0);
      await pb.pause();
      // The seek sends its poster first and starts ffmpeg after it: wait for that ffmpeg.
      await eventually(() => t.srv.video.ffmpegPids().length >= 1, 3000, "ffmpeg running after the seek");
      const pids = t.srv.video.ffmpegPids();
      await pb.stop();
      const end = await pb.ended;
      assert.equal(end.reason, "stopped");
      await eventually(() => pids.every((p) => !processAlive(p)), 3000, "ffmpeg gone");
      assert.deepEqual(t.srv.video.ffmpegPids(), []);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "closing the client kills the server's ffmpeg for its stream (no orphan)",
  ignore,
  async fn() {
    const t = await videoServer();
    try {
      const c = await t.client("alice");
      const pb = await new VideoClient(c.conn).play("sample", { mode: "1080p" });
      await eventually(() => pb.order.length >= 2, 3000, "frames");
      const pids = t.srv.video.ffmpegPids();
      assert.equal(pids.length, 1);
      assert.ok(processAlive(pids[0]!), "ffmpeg alive while playing");
      await c.close();
      await eventually(() => !processAlive(pids[0]!), 3000, "ffmpeg killed after the client closed");
      await eventually(() => t.srv.video.streams === 0, 3000, "stream count back to 0");
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "video.play is limited per session",
  ignore,
  async fn() {
    const t = await videoServer({ maxVideoStreamsPerSession: 1 });
    try {
      const c = await t.client("alice");
      const vc = new VideoClient(c.conn);
      const pb = await vc.play("sample", { mode: "240p", width: 64, height: 36 });
      await assert.rejects(
        () => vc.play("sample"),
        (e: Error & { code?: string }) => e.code === "rate_limited",
      );
      await assert.rejects(
        () => vc.play("nope"),
        (e: Error & { code?: string }) => e.code === "no_such_video",
      );
      await pb.stop();
      await pb.ended;
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name:
    "video.ctl report: adaptive play starts at 720p for a 1080p pane; a viewer drawing few frames is stepped down",
  ignore,
  async fn() {
    const t = await videoServer();
    try {
      const c = await t.client("alice");
      const pb = await new VideoClient(c.conn).play("sample", { width: 2000, height: 1180 });
      await eventually(() => pb.order.length >= 1, 3000, "first frame");
      assert.equal(pb.order[0]!.rendition, "720p", "the start cap, not the 1080p the pane wants");
      // Bad reports are clear errors.
      for (const bad of [{}, { fps: 500 }, { fps: 10, load: -1 }]) {
        await assert.rejects(
          c.conn.request("video.ctl", { stream: pb.stream, op: "report", ...bad }),
          (e: Error & { code?: string }) => e.code === "invalid",
          JSON.stringify(bad),
        );
      }
      // The server sees every frame taken; the viewer says it drew 5 per second.
      const timer = setInterval(() => pb.report(5, 1), 200);
      try {
        // A positive wait: its bound costs nothing when it passes (the step down runs a new ffmpeg).
        await eventually(() => pb.order.some((f) => f.rendition === "240p"), 10_000, "a step down to 240p");
      } finally {
        clearInterval(timer);
      }
      await pb.stop();
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name:
    "video.play with a lead: the server grants it and frames arrive ahead of their time; a lead over 2 s is refused",
  ignore,
  async fn() {
    // The server's clock stands still and a stream's wait for a frame's time never ends (it parks):
    // what arrives is exactly what the lead released at once, whatever the machine's load.
    const waits: number[] = [];
    const videoSleep = (ms: number, signal: AbortSignal) => {
      waits.push(ms);
      return abortableSleep(Infinity, signal);
    };
    const t = await videoServer({}, { videoSleep, clock: new ManualClock(Date.UTC(2026, 10, 29)) });
    try {
      const c = await t.client("alice");
      const vc = new VideoClient(c.conn);
      await assert.rejects(
        () => vc.play("sample", { mode: "240p", width: 64, height: 36, lead: 2001 }),
        (e: Error & { code?: string }) => e.code === "invalid" && /lead/.test(e.message),
      );
      const frames = async (lead?: number) => {
        const pb = await vc.play("sample", { mode: "240p", width: 64, height: 36, ...lead ? { lead } : {} });
        waits.length = 0;
        const want = lead ? 25 : 1; // 24 fps: frames 0–24 (pts up to 1,000 ms) are due within a lead of 1 s
        await until(() => waits.length >= 1 && pb.order.length >= want, `${want} frames, then a wait`);
        await pb.pause(); // fence: a reply after any frame the viewer sent before it
        const n = pb.order.length, granted = pb.lead;
        await pb.stop();
        await pb.ended;
        return { n, granted };
      };
      assert.deepEqual(await frames(1000), { n: 25, granted: 1000 }, "a lead's worth at once, then a wait");
      assert.deepEqual(
        await frames(),
        { n: 1, granted: 0 },
        "no lead asked, none granted: one frame, then a wait",
      );
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "video.play format rgb: half-block-sized frames come raw (width × height × 3), larger ones as JPEG",
  ignore,
  async fn() {
    const t = await videoServer();
    try {
      const c = await t.client("alice");
      const vc = new VideoClient(c.conn);
      await assert.rejects(
        () => c.conn.request("video.play", { name: "sample", format: "png" }),
        (e: Error & { code?: string }) => e.code === "invalid" && /format/.test(e.message),
      );
      const take = async (o: Parameters<VideoClient["play"]>[1]) => {
        const pb = await vc.play("sample", { mode: "240p", lead: 500, ...o });
        const frames = [await pb.next(), await pb.next(), await pb.next()];
        await pb.stop();
        await pb.ended;
        return { pb, frames: frames.map((f) => f!) };
      };
      // "auto" over loopback means raw.
      for (const format of ["rgb", "auto"] as const) {
        const { pb, frames } = await take({ width: 64, height: 36, format });
        assert.equal(pb.format, "rgb", format);
        for (const f of frames) {
          assert.equal(f.format, "rgb");
          assert.deepEqual([f.width, f.height], [64, 36]);
          assert.equal(f.data.length, 64 * 36 * 3);
        }
      }
      const jpeg = await take({ width: 64, height: 36, format: "jpeg" });
      assert.equal(jpeg.pb.format, "jpeg");
      for (const f of jpeg.frames) assert.deepEqual([f.format, f.data[0], f.data[1]], ["jpeg", 0xff, 0xd8]);
      // Frames larger than half-block ones stay JPEG (each frame says what it is).
      const big = await take({ width: 640, height: 360, format: "rgb" });
      for (const f of big.frames) assert.deepEqual([f.format, f.data[0], f.data[1]], ["jpeg", 0xff, 0xd8]);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name:
    "video.play from the start sends the rendition's first frame at once (its own size), then ffmpeg's frames",
  ignore,
  async fn() {
    const t = await videoServer();
    try {
      const c = await t.client("alice");
      const pb = await new VideoClient(c.conn).play("sample", { mode: "720p", width: 800, height: 450 });
      const frames = [(await pb.next())!, (await pb.next())!, (await pb.next())!];
      assert.deepEqual(frames.slice(0, 3).map((f) => [f.index, f.width]), [[0, 1280], [1, 800], [2, 800]]);
      const poster = await Deno.readFile(`${t.dir}/renditions/sample/720.jpg`);
      assert.deepEqual(new Uint8Array(frames[0]!.data), poster);
      await pb.stop();
      await pb.ended;
      // Half-block-sized frames: no poster (the client keeps one frame size).
      const small = await new VideoClient(c.conn).play("sample", { mode: "240p", width: 200, height: 120 });
      const got = [(await small.next())!, (await small.next())!];
      assert.deepEqual(got.slice(0, 2).map((f) => [f.index, f.width]), [[0, 200], [1, 200]]);
      await small.stop();
      await small.ended;
    } finally {
      await t.stop();
    }
  },
});

/** Plays the sample to its end twice at one size: each play's frames, and how many came while an ffmpeg ran. */
async function playTwice(t: Awaited<ReturnType<typeof videoServer>>) {
  const c = await t.client("alice");
  const vc = new VideoClient(c.conn);
  const playOnce = async () => {
    const frames: Uint8Array[] = [];
    let withFfmpeg = 0; // frames that came while an ffmpeg of the server ran
    const pb = await vc.play("sample", {
      mode: "240p",
      width: 200,
      height: 112,
      format: "rgb",
      onFrame: (f) => {
        frames[f.index] = f.data.slice();
        if (t.srv.video.ffmpegPids().length) withFfmpeg++;
      },
    });
    assert.equal((await pb.ended).reason, "end");
    return { frames, withFfmpeg };
  };
  return [await playOnce(), await playOnce()] as const;
}

Deno.test({
  name:
    "video.play: the next play at a size played to its end sends the same frames with no ffmpeg of its own (issue 75)",
  ignore,
  async fn() {
    const t = await videoServer();
    try {
      const [one, two] = await playTwice(t);
      assert.ok(one.withFfmpeg > 0, "the first play ran ffmpeg");
      assert.equal(two.withFfmpeg, 0, "the second play ran none");
      assert.equal(two.frames.length, one.frames.length);
      // Frame 0 of the first play is the poster scaled (ffmpeg's own is kept for the next play).
      // A paced stream skips a frame whose time passed (a busy machine): the frames both plays sent are compared.
      const both = one.frames.flatMap((f, i) => i > 0 && f && two.frames[i] ? [i] : []);
      assert.ok(
        both.length >= one.frames.length / 2,
        `${both.length} of ${one.frames.length} frames in both plays`,
      );
      const differ = both.find((i) => {
        const f = one.frames[i]!, g = two.frames[i]!;
        return g.length !== f.length || g.some((b, k) => b !== f[k]);
      });
      assert.equal(differ, undefined, "every frame the same, byte for byte");
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "video.play: with --video-cache 0 (videoCacheMiB) nothing is kept, every play runs its ffmpeg",
  ignore,
  async fn() {
    const t = await videoServer({ videoCacheMiB: 0 });
    try {
      const [one, two] = await playTwice(t);
      assert.ok(one.withFfmpeg > 0 && two.withFfmpeg > 0, "both plays ran ffmpeg");
    } finally {
      await t.stop();
    }
  },
});
