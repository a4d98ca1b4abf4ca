import assert from "node:assert/strict";
import { imageThumbnail } from "./ffmpeg.ts";
import { pngHead, TEST_FFMPEG } from "./_testing.ts";

const ff = TEST_FFMPEG ?? "";
const ignore = TEST_FFMPEG === null;

async function make(dir: string, name: string, extra: string[] = []): Promise<string> {
  const path = `${dir}/${name}`;
  const out = await new Deno.Command(ff, {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "color=c=red:s=64x32",
      "-frames:v",
      "1",
      ...extra,
      path,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return path;
}

Deno.test({
  name: "imageThumbnail() scales the first frame of a PNG, JPEG, WebP and GIF to RGB inside the box",
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      for (const name of ["a.png", "a.jpg", "a.webp", "a.gif"]) {
        const t = await imageThumbnail(ff, await make(dir, name), { width: 16, height: 16 });
        assert.ok(t.ok, name);
        assert.deepEqual([t.image.width, t.image.height, t.image.data.length], [16, 8, 16 * 8 * 3], name);
        const [r, g, b] = t.image.data;
        assert.ok(r! > 200 && g! < 60 && b! < 60, `${name}: ${r},${g},${b}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "imageThumbnail() refuses a bomb header before any ffmpeg starts, and says when ffmpeg cannot decode",
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const bomb = `${dir}/bomb.png`;
      await Deno.writeFile(bomb, pngHead(60000, 60000));
      // A missing ffmpeg would throw if it were started: the refusal comes first.
      const t = await imageThumbnail("/nonexistent/ffmpeg", bomb, { width: 16, height: 16 });
      assert.ok(!t.ok && /60000×60000 pixels, over the cap/.test(t.reason));
      // A PNG header over garbage passes the check but does not decode: a reason, nothing thrown.
      const junk = `${dir}/junk.png`;
      await Deno.writeFile(junk, new Uint8Array([...pngHead(64, 32), ...new Uint8Array(500).fill(7)]));
      const j = await imageThumbnail(ff, junk, { width: 16, height: 16 });
      assert.ok(!j.ok && /could not decode/.test(j.reason));
      // A JPEG named .png is decoded as what its magic says, not what its name says.
      const jpg = await make(dir, "b.jpg");
      await Deno.rename(jpg, `${dir}/b.png`);
      assert.ok((await imageThumbnail(ff, `${dir}/b.png`, { width: 8, height: 8 })).ok);
      // The time limit: an ffmpeg killed before its output is complete gives a reason, not a partial picture.
      const t0 = performance.now();
      const slow = await imageThumbnail(ff, `${dir}/b.png`, { width: 8, height: 8 }, { timeoutMs: 1 });
      assert.ok(!slow.ok && /could not decode/.test(slow.reason));
      assert.ok(performance.now() - t0 < 2000);
      // No ffmpeg: a reason.
      const none = await imageThumbnail(null, `${dir}/b.png`, { width: 8, height: 8 });
      assert.ok(!none.ok && /no ffmpeg/.test(none.reason));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
