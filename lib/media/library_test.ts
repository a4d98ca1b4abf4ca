import assert from "node:assert/strict";
import { FfmpegMissingError, renditionHeight, renditionsFor, VideoLibrary } from "./library.ts";
import { SAMPLE_VIDEO, TEST_FFMPEG } from "./_testing.ts";
import { spawnMjpeg } from "./ffmpeg.ts";
import { jpegSize } from "./jpeg_header.ts";

const ff = TEST_FFMPEG ?? "";
const noFfmpeg = TEST_FFMPEG === null;

Deno.test("renditionsFor() never upscales", () => {
  assert.deepEqual(renditionsFor(1080), ["240p", "720p", "1080p"]);
  assert.deepEqual(renditionsFor(2160), ["240p", "720p", "1080p"]);
  assert.deepEqual(renditionsFor(720), ["240p", "720p"]);
  assert.deepEqual(renditionsFor(480), ["240p"]);
  assert.deepEqual(renditionsFor(120), ["240p"]);
  assert.equal(renditionHeight("240p", 120), 120);
  assert.equal(renditionHeight("720p", 1080), 720);
});

Deno.test("VideoLibrary.scan() throws FfmpegMissingError without ffmpeg", async () => {
  const lib = new VideoLibrary({ videosDir: "/nonexistent", dataDir: "/nonexistent", ffmpeg: null });
  assert.equal(lib.available, false);
  await assert.rejects(lib.scan(), FfmpegMissingError);
  assert.deepEqual(lib.list(), []);
});

Deno.test({
  name: "VideoLibrary.scan() lists an empty or missing folder as empty",
  ignore: noFfmpeg,
  fn: async () => {
    const lib = new VideoLibrary({ videosDir: "/nonexistent-videos", dataDir: "/tmp/x", ffmpeg: ff });
    assert.deepEqual(await lib.scan(), []);
  },
});

Deno.test({
  name: "VideoLibrary.scan() makes 240p/720p/1080p for the 1080p sample and reuses the cache",
  ignore: noFfmpeg,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "parley_media_" });
    try {
      const videosDir = `${root}/videos`;
      await Deno.mkdir(videosDir);
      await Deno.copyFile(SAMPLE_VIDEO, `${videosDir}/sample.mp4`);
      await Deno.writeTextFile(`${videosDir}/notes.txt`, "not a video");
      // A small 320×240 source: only 240p, no upscaling.
      const small = await new Deno.Command(ff, {
        args: [
          "-hide_banner",
          "-loglevel",
          "error",
          "-f",
          "lavfi",
          "-i",
          "testsrc=size=320x240:rate=10:duration=1",
        ]
          .concat([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            `${videosDir}/small.mkv`,
          ]),
      }).output();
      assert.ok(small.success);
      const logs: string[] = [];
      const lib = new VideoLibrary({
        videosDir,
        dataDir: `${root}/data`,
        ffmpeg: ff,
        onLog: (m) => logs.push(m),
      });
      const list = await lib.scan();
      assert.deepEqual(list, [
        {
          name: "sample",
          duration: 4,
          fps: 24,
          width: 1920,
          height: 1080,
          renditions: ["240p", "720p", "1080p"],
        },
        { name: "small", duration: 1, fps: 10, width: 320, height: 240, renditions: ["240p"] },
      ]);
      assert.equal(logs.filter((l) => l.startsWith("making")).length, 4);
      for (const r of ["240", "720", "1080"]) {
        assert.ok((await Deno.stat(`${root}/data/renditions/sample/${r}.mp4`)).size > 0);
      }
      assert.equal(lib.renditionPath("sample", "720p"), `${root}/data/renditions/sample/720.mp4`);
      assert.equal(lib.sourcePath("small"), `${videosDir}/small.mkv`);
      // Each rendition's first frame at its own size, for a stream's first picture.
      const posters = await lib.posters("sample");
      assert.deepEqual([...posters.keys()], ["240p", "720p", "1080p"]);
      assert.deepEqual(jpegSize(posters.get("720p")!), { width: 1280, height: 720 });
      assert.deepEqual(jpegSize(posters.get("240p")!), { width: 426, height: 240 });
      const twin = await Array.fromAsync(
        spawnMjpeg({ ffmpeg: ff, input: lib.renditionPath("sample", "720p"), fps: 24, maxFrames: 2 }),
      );
      assert.deepEqual(posters.get("720p"), twin[0], "the same JPEG a stream from 0 sends first");
      // A lost poster is made again at the next scan; a video with none still plays (empty map).
      await Deno.remove(lib.posterPath("sample", "1080p"));
      assert.deepEqual([...(await lib.posters("sample")).keys()], ["240p", "720p"]);
      assert.deepEqual((await lib.posters("nope")).size, 0);
      // Second library over the same data folder: nothing is remade.
      logs.length = 0;
      const again = new VideoLibrary({
        videosDir,
        dataDir: `${root}/data`,
        ffmpeg: ff,
        onLog: (m) => logs.push(m),
      });
      assert.deepEqual(await again.scan(), list);
      assert.deepEqual(logs, []);
      assert.equal((await again.posters("sample")).size, 3, "the lost poster was made again");
      assert.deepEqual(again.get("sample")?.renditions, ["240p", "720p", "1080p"]);
      // Names may be given with their extension (issue 14).
      assert.equal(again.get("sample.mp4")?.name, "sample");
      assert.equal(again.get("small.MKV")?.name, "small");
      assert.equal(again.get("sample.txt"), undefined);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
