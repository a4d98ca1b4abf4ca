/**
 * Thirds playback is exact (issue 14): for any frame count and rate, every frame of the source is
 * shown once, in order, and each rendition serves a third of them (± 1). Plays five videos made
 * here with ffmpeg's test sources — different lengths and rates, 29.97 fps and a variable-rate file
 * among them — through a real server, and checks the frame indices and the three counts exactly.
 * The lengths are short (23–48 frames: the library makes three renditions of each, 1080p the
 * largest, and a play runs in real time) but cover what the thirds' arithmetic can meet: counts
 * that divide by three and that leave one or two over, a rate whose frame times do not fall on
 * whole milliseconds, and a rate change inside the middle third.
 */
import assert from "node:assert/strict";
import { VideoClient } from "../lib/client/video/video_client.ts";
import { probe, VideoLibrary } from "../lib/media/mod.ts";
import { skipWithout, startTestServer, testFfmpeg } from "./helpers.ts";

const ffmpeg = testFfmpeg();

interface Made {
  name: string;
  /** lavfi input and extra output arguments. */
  args: string[];
  ext: string;
}

const VIDEOS: Made[] = [
  {
    name: "f48r24",
    ext: "mp4",
    args: ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=24", "-frames:v", "48"],
  },
  {
    name: "f40r2997",
    ext: "mp4",
    args: ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30000/1001", "-frames:v", "40"],
  },
  {
    name: "f31r25",
    ext: "mp4",
    args: ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25", "-frames:v", "31"],
  },
  {
    name: "f23r30",
    ext: "mp4",
    args: ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-frames:v", "23"],
  },
  {
    // Variable rate: 15 frames 50 ms apart, then 15 frames 25 ms apart (the change in the middle third).
    name: "vfr",
    ext: "mkv",
    args: [
      ...["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=20", "-frames:v", "30"],
      ...["-vf", "setpts='if(lt(N,15),N/20,0.75+(N-15)/40)/TB'", "-fps_mode", "vfr"],
    ],
  },
];

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(ffmpeg!, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`ffmpeg ${args.join(" ")}: ${err}`);
  return err;
}

/** Frames ffmpeg itself yields for the source at the listed rate (the ground truth). */
async function framesAtRate(path: string, fps: string): Promise<number> {
  const err = await run([
    "-hide_banner",
    "-nostdin",
    "-i",
    path,
    "-an",
    "-vf",
    `fps=${fps}`,
    "-f",
    "null",
    "-",
  ]);
  const m = [...err.matchAll(/frame=\s*(\d+)/g)].at(-1);
  return Number(m![1]);
}

Deno.test({
  name: "thirds: every frame once, a third (±1) from each rendition, for several lengths and rates",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const videos = await Deno.makeTempDir({ prefix: "parley-thirds-videos-" });
    const data = await Deno.makeTempDir({ prefix: "parley-thirds-data-" });
    try {
      const truth = new Map<string, number>();
      for (const v of VIDEOS) {
        const path = `${videos}/${v.name}.${v.ext}`;
        await run(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", ...v.args, ...[
          "-c:v",
          "libx264",
          "-preset",
          "ultrafast",
          "-pix_fmt",
          "yuv420p",
          path,
        ]]);
        const info = await probe(ffmpeg!, path);
        const rate = Math.abs(info.fps - 29.97) < 0.01 ? "30000/1001" : String(info.fps);
        truth.set(v.name, await framesAtRate(path, rate));
      }
      await new VideoLibrary({ videosDir: videos, dataDir: data, ffmpeg: ffmpeg! }).scan();
      const t = await startTestServer({ ffmpeg, videosDir: videos }, { dir: data });
      try {
        const c = await t.client("alice");
        const vc = new VideoClient(c.conn);
        const listed = (await vc.list()).videos;
        for (const v of VIDEOS) {
          const n = truth.get(v.name)!;
          const entry = listed.find((e) => e.name === v.name);
          assert.ok(entry, `${v.name} listed`);
          assert.deepEqual(entry.renditions, ["240p", "720p", "1080p"]);
          const pb = await vc.play(v.name, { mode: "thirds", width: 64, height: 36 });
          const end = await pb.ended;
          assert.equal(end.reason, "end", v.name);
          const indices = pb.order.map((f) => f.index);
          const missing = [...Array(n).keys()].filter((i) => !indices.includes(i));
          const counts = `240p: ${pb.received["240p"]} 720p: ${pb.received["720p"]} 1080p: ${
            pb.received["1080p"]
          }`;
          assert.deepEqual(indices, [...Array(n).keys()], `${v.name} (${n}): missing ${missing}; ${counts}`);
          const third = n / 3;
          for (const r of ["240p", "720p", "1080p"] as const) {
            const got = pb.received[r];
            assert.ok(Math.abs(got - third) <= 1, `${v.name}: ${r} gave ${got} of ${n}`);
          }
          assert.equal(Number(end.stats.sent), n, `${v.name}: server sent`);
          assert.equal(Number(end.stats.dropped), 0, `${v.name}: nothing dropped`);
        }
      } finally {
        await t.stop();
      }
    } finally {
      await Deno.remove(videos, { recursive: true }).catch(() => {});
      await Deno.remove(data, { recursive: true }).catch(() => {});
    }
  },
});
