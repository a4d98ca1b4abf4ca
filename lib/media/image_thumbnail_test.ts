import assert from "node:assert/strict";
import { DECODER_DATA_BYTES, findPrlimit, imageThumbnail, pictureDecoder } from "./ffmpeg.ts";
import { IMAGE_CAPS } from "./image_header.ts";
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

/** A 35-byte GIF of `w`×`h` whose one LZW code paints a pixel: the decoder fills the rest (issue 69 item 11). */
function tinyGif(w: number, h: number): Uint8Array {
  const le = (n: number) => [n & 0xff, n >> 8];
  return new Uint8Array([
    ...new TextEncoder().encode("GIF89a"),
    ...le(w),
    ...le(h),
    0x80,
    0,
    0,
    ...[0xff, 0xff, 0xff, 0, 0, 0],
    0x2c,
    ...le(0),
    ...le(0),
    ...le(w),
    ...le(h),
    0,
    ...[0x02, 0x02, 0x44, 0x01, 0x00, 0x3b],
  ]);
}

/**
 * The peak resident size (VmHWM, bytes) of the decoder `run`, read from /proc. Its output (over a
 * pipe's 64 KiB) is not read until it has been asleep for 300 ms — blocked writing it, its decoding
 * done — so it cannot exit before its peak is read. A decoder starved of CPU on a loaded machine is
 * runnable, not asleep: its pauses are not taken for the end (they were, when "still" meant "VmHWM
 * unchanged").
 */
/** /proc/PID/status, read by `cat` (Deno lets only --allow-all read /proc of another process); "" when gone. */
async function procStatus(pid: number): Promise<string> {
  const o = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped", stderr: "null" })
    .output();
  return o.success ? new TextDecoder().decode(o.stdout) : "";
}

async function peakRss(run: { cmd: string; args: string[] }): Promise<number> {
  const child = new Deno.Command(run.cmd, { args: run.args, stdin: "null", stdout: "piped", stderr: "null" })
    .spawn();
  let peak = 0, asleep = 0;
  while (asleep < 300) {
    await new Promise((r) => setTimeout(r, 20));
    const st = await procStatus(child.pid);
    const m = st.match(/VmHWM:\s+(\d+) kB/);
    if (!m) break; // exited (or a zombie): nothing more to read
    peak = Math.max(peak, Number(m[1]) * 1024);
    asleep = /^State:\s+S/m.test(st) ? asleep + 20 : 0;
  }
  await child.stdout.pipeTo(new WritableStream());
  await child.status;
  return peak;
}

Deno.test({
  name:
    "imageThumbnail() (issue 69 item 11, the attack): a 35-byte GIF of 49 megapixels is refused before decoding",
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const gif = `${dir}/bomb.gif`;
      await Deno.writeFile(gif, tinyGif(7000, 7000));
      assert.equal((await Deno.stat(gif)).size, 35);
      const t = await imageThumbnail(ff, gif, { width: 16, height: 16 });
      assert.ok(!t.ok, "decoded: ffmpeg's GIF decoder peaks near 260-300 MB for it");
      assert.match(t.reason, /7000×7000 pixels, over the cap \(16384 a side, 25 megapixels for a GIF\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "pictureDecoder() (issue 69 item 11): the largest GIF and PNG the caps let through decode under DECODER_DATA_BYTES; more is stopped by the limit",
  ignore: ignore || findPrlimit() === null || Deno.build.os !== "linux",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const gif = `${dir}/g.gif`, png = `${dir}/p.png`, out = { width: 256, height: 256 }; // 192 KiB out
      await Deno.writeFile(gif, tinyGif(5000, 5000)); // 25 megapixels: the GIF cap
      await make(dir, "p.png", ["-vf", "scale=7000:7000"]); // 49 megapixels (ffmpeg pads rows past 50)
      for (const [path, format, side] of [[gif, "gif", 5000], [png, "png", 7000]] as const) {
        const h = { format, width: side, height: side };
        const peak = await peakRss(pictureDecoder(ff, path, h, out));
        assert.ok(peak > 100 * 1024 * 1024, `${format}: it decoded (${peak} bytes)`);
        assert.ok(peak < DECODER_DATA_BYTES, `${format} peaked at ${Math.round(peak / 1048576)} MiB`);
        // The bound here is memory, not time: a loaded machine (tests run three files at a time) may take
        // longer than the default 5 s to decode 49 megapixels.
        assert.ok((await imageThumbnail(ff, path, out, { timeoutMs: 120_000 })).ok, `${format} is shown`);
      }
      // Caps raised past the limit: the 49-megapixel GIF is stopped by the decoder's memory limit.
      await Deno.writeFile(gif, tinyGif(7000, 7000));
      const caps = { ...IMAGE_CAPS, maxGifPixels: 50_000_000 };
      const t = await imageThumbnail(ff, gif, out, { caps, timeoutMs: 120_000 });
      assert.ok(!t.ok && /could not decode/.test(t.reason), "over the memory limit: not decoded");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
