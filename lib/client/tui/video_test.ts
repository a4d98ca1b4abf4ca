/**
 * Screen tests of video in the full-screen client (FakeBackend with synthetic JPEG frames, drawn
 * by half-blocks into @xterm/headless): /play draws in the message pane with the overlay line,
 * space pauses, ←/→ seek, q stops and the chat returns; a stream offer prompts and y accepts, n
 * refuses; /videos lists.
 */
import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import { SixelEncoder } from "../../media/render_sixel.ts";
import { demoWorld, type Harness, harness, screenUntil } from "./testing.ts";

/** A 32×16 JPEG of horizontal stripes (red over blue), so half-blocks show "▀". */
function stripes(shift = 0): Uint8Array {
  const width = 32, height = 16;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const red = (y + shift) % 2 === 0;
      data.set(red ? [230, 30, 30, 255] : [30, 30, 230, 255], i);
    }
  }
  return new Uint8Array(jpegJs.encode({ width, height, data }, 95).data);
}

const until = async (h: Harness, what: string, ok: (lines: string[]) => boolean): Promise<string[]> =>
  (await screenUntil(h, what, (s) => ok(s.split("\n")))).split("\n");

const PANE_ROWS = [1, 20]; // rows of the picture at 80×24 (the pane is rows 1–21, 21 the overlay)
const paneText = (s: string[]) => s.slice(PANE_ROWS[0], PANE_ROWS[1]! + 1).join("\n");
const OVERLAY = /fps · (?:\d+ dropped · )?240p · \d+ kbit\/s/;

function video(b: Parameters<typeof demoWorld>[0]) {
  demoWorld(b);
  b.videoFrames = [stripes(0), stripes(1), stripes(0)];
  b.videoList = [{
    name: "sample",
    duration: 3,
    fps: 24,
    width: 1920,
    height: 1080,
    renditions: ["240p", "720p", "1080p"],
  }];
}

Deno.test("TuiApp /play draws half-blocks in the message pane with the overlay; space pauses; q stops", async () => {
  const h = await harness({ setup: video });
  await h.type("\x1b2"); // #general
  h.backend.receive("bob", { kind: "room", name: "general" }, "before the video");
  await h.settle();
  await h.type("/play sample\r");
  let s = await until(h, "frames and overlay", (l) => paneText(l).includes("▀") && OVERLAY.test(l[21]!));
  assert.deepEqual(h.backend.callsOf("playVideo")[0]![0], "sample");
  assert.ok(!paneText(s).includes("before the video"), "the chat text is hidden under the video");
  assert.match(
    s[21]!,
    // The fake frames come as fast as the machine can draw them: fps and kbit/s take more digits
    // on a faster one (166.7 fps, 1221 kbit/s), and the mode is cut sooner.
    /^ *│▶ 0:0\d \/ 0:03 · \d.* · 240p · \d+ kbit\/s · (a(daptive|[a-z]*…)|…)/,
    `where the video is, then the figures (the mode cut with … when they are long): ${s[21]}`,
  );
  assert.match(s[0]!, /Parley/, "the title bar stays");
  assert.match(s[1]!, /1\.status/, "the buffer list stays");
  // The picture stays inside the pane: the member list column is untouched.
  assert.match(s[1]!, /│Free \(2\)$/);
  const handle = h.backend.handles[0]!;
  s = await h.type(" ");
  assert.deepEqual(handle.ops, ["pause"]);
  s = await until(h, "paused overlay", (l) => l[21]!.includes("⏸"));
  s = await h.type("\x1b[C");
  assert.match(s[21]!, /│⏸ 0:03 \/ 0:03 · /, "the new position at once (past the end: the end)");
  s = await h.type("\x1b[D");
  assert.match(s[21]!, /│⏸ 0:00 \/ 0:03 · /);
  assert.deepEqual(handle.ops.slice(1, 3), ["seek 3000", "seek 0"]);
  await h.type(" ");
  assert.equal(handle.ops[3], "resume");
  await h.type("q");
  s = await until(h, "the chat pane back", (l) => paneText(l).includes("before the video"));
  assert.equal(handle.ops.at(-1), "stop");
  assert.ok(!s.join("\n").includes("▀"), "no picture left on screen");
  assert.match(paneText(s), /Played sample: 3 frames shown, 0/);
  h.close();
});

Deno.test("TuiApp /play's end line adds up after a seek back: frames passed over are said (issue 71.6)", async () => {
  const h = await harness({ setup: video });
  await h.type("\x1b2/play sample\r");
  await until(h, "frames", (l) => paneText(l).includes("▀"));
  const handle = h.backend.handles[0]!;
  await h.type("\x1b[D"); // back: the frames held then were never drawn, yet received
  handle.perRendition = { "240p": 7, "720p": 0, "1080p": 0 }; // 3 drawn, 4 held when the seek came
  await h.type("q");
  const s = await until(h, "the end line", (l) => /Played sample: 3 frames shown/.test(paneText(l)));
  assert.match(
    s.map((l) => l.split("│")[2]?.trim() ?? "").join(" "), // the message column, its rows joined
    /Played sample: 3 frames shown, 0 dropped, 4 passed over by a seek or the stop \(240p: 7 720p: 0 1080p: 0\)/,
  );
  h.close();
});

Deno.test("TuiApp /play --thirds asks for thirds mode; typing goes to the input line, not the player", async () => {
  const h = await harness({ setup: video });
  await h.type("/play sample --thirds\r");
  await until(h, "frames", (l) => paneText(l).includes("▀"));
  const opts = h.backend.callsOf("playVideo")[0]![1] as { mode: string; width: number; height: number };
  assert.equal(opts.mode, "thirds");
  assert.equal((opts as { format?: string }).format, "auto", "half-blocks: raw frames over a local network");
  assert.deepEqual([opts.width, opts.height], [54, 40], "pane size in half-block pixels");
  let s = await h.type("hi q");
  assert.equal(s[23], "[status] hi q");
  assert.deepEqual(h.backend.handles[0]!.ops, [], "keys went to the editor");
  await h.type("\x15/stop\r");
  s = await until(h, "stopped", (l) => !l.join("\n").includes("▀"));
  assert.deepEqual(h.backend.handles[0]!.ops, ["stop"]);
  h.close();
});

Deno.test("TuiApp shows a stream offer; y accepts and the stream plays, the sender's stop ends it", async () => {
  const h = await harness({ setup: video, cols: 200 });
  h.backend.emit({
    type: "stream.offer",
    offer: { sid: "sid-1", from: "bob", name: "clip.mp4", width: 640, height: 360 },
  });
  let s = await h.settle();
  assert.match(s[22]!, /\[bob offers clip\.mp4: y\/n\]/);
  assert.match(s.join("\n"), /bob offers to stream clip\.mp4 \(640×360\): press y to accept, n to refuse/);
  await h.type("y");
  // The pixels the pane draws (half-blocks: a pixel a column, two a row): the sender sends no larger frames.
  assert.deepEqual(h.backend.callsOf("acceptStream"), [["sid-1", { width: 150, height: 40 }]]);
  s = await until(h, "the stream drawn", (l) => paneText(l).includes("▀") && l[21]!.includes("from bob"));
  assert.ok(!/offers clip/.test(s[22]!), "the prompt is gone");
  h.backend.handles[0]!.end("bob");
  s = await until(h, "the chat back", (l) => !l.join("\n").includes("▀"));
  assert.match(s.join("\n"), /bob stopped the stream/);
  h.close();
});

Deno.test("TuiApp: n refuses a stream offer, /accept without an offer is an error, a withdrawn offer goes", async () => {
  const h = await harness({ setup: video, cols: 200 });
  h.backend.emit({ type: "stream.offer", offer: { sid: "sid-2", from: "carol", name: "x.mp4" } });
  await h.settle();
  let s = await h.type("n");
  assert.deepEqual(h.backend.callsOf("refuseStream"), [["sid-2"]]);
  s = await h.settle();
  assert.match(s.join("\n"), /Refused the stream from carol/);
  assert.ok(!s[22]!.includes("offers"));
  assert.equal(s[23], "[status]", "n did not reach the input line");
  s = await h.type("/accept\r");
  assert.match(s.join("\n"), /No stream is being offered to you/);
  h.backend.emit({ type: "stream.offer", offer: { sid: "sid-3", from: "carol", name: "y.mp4" } });
  h.backend.emit({ type: "stream.withdrawn", sid: "sid-3", from: "carol", by: "carol" });
  s = await h.settle();
  assert.match(s.join("\n"), /carol withdrew the stream offer/);
  assert.ok(!s[22]!.includes("offers"));
  h.close();
});

Deno.test("TuiApp: an offer answered on another device of this account leaves the screen (issue 34.8)", async () => {
  const h = await harness({ setup: video, cols: 200 });
  h.backend.emit({ type: "stream.offer", offer: { sid: "sid-4", from: "bob", name: "z.mp4" } });
  let s = await h.settle();
  assert.match(s[22]!, /bob offers z\.mp4/);
  h.backend.emit({ type: "stream.withdrawn", sid: "sid-4", from: "bob", by: "alice" }); // alice: this account
  s = await h.settle();
  assert.match(s.join("\n"), /The stream offer from bob was answered on another of your devices/);
  assert.ok(!s[22]!.includes("offers"));
  h.close();
});

Deno.test("TuiApp /videos lists the server's videos", async () => {
  const h = await harness({ setup: video, cols: 200 });
  const s = await h.type("/videos\r");
  assert.match(s.join("\n"), /1 video \(\/play VIDEO \[--thirds\]\):/);
  assert.match(s.join("\n"), /sample {2}3\.0 s {2}24 fps {2}1920×1080 {2}240p 720p 1080p/);
  h.close();
});

Deno.test("/stream of a file that is not a video says why, never 'Offered' (issue 14)", async () => {
  const { BackendError } = await import("./fake_backend.ts");
  const h = await harness({
    cols: 160,
    setup: (b) => {
      demoWorld(b);
      b.video.offer = () => ({
        offered: new Promise<void>(() => {}), // never offered: the file was not a video
        accepted: Promise.resolve(false),
        done: Promise.reject(new BackendError("ffmpeg", "No video stream found in notavideo.txt")),
        stop: () => {},
      });
    },
  });
  const s = await h.type("/stream bob notavideo.txt\r");
  const text = (await h.settle()).join("\n") + s.join("\n");
  assert.match(text, /No video stream found/);
  assert.doesNotMatch(text, /Offered/);
  h.close();
});

Deno.test("TuiApp: kitty frames decode in the decoder the client gives (e.g. its ffmpeg), closed when the video ends", async () => {
  let made = 0, decoded = 0, closed = 0;
  const h = await harness({
    setup: video,
    videoDecoder: () => {
      made++;
      return {
        decode: (jpeg) => {
          decoded++;
          return Promise.resolve(jpegJs.decode(jpeg, { useTArray: true, formatAsRGBA: true }));
        },
        warm: () => Promise.resolve(),
        close: () => void closed++,
      };
    },
  });
  h.app.video.graphics = { kind: "kitty" };
  await h.type("/play sample\r");
  await until(h, "three frames decoded", (l) => OVERLAY.test(l[21]!) && decoded === 3);
  await h.type("q");
  await until(h, "the end line", (l) => /Played sample: 3 frames shown/.test(paneText(l)));
  assert.deepEqual([made, decoded, closed], [1, 3, 1]);
  assert.equal((h.backend.callsOf("playVideo")[0]![1] as { format?: string }).format, "jpeg");
  h.close();
});

Deno.test("TuiApp: a play whose small frames come raw does not start the decoder ahead (it starts only for a JPEG)", async () => {
  let warmed = 0;
  const h = await harness({
    setup: (b) => {
      video(b);
      b.videoFormat = "rgb";
    },
    videoDecoder: () => ({
      decode: (jpeg) => Promise.resolve(jpegJs.decode(jpeg, { useTArray: true, formatAsRGBA: true })),
      warm: () => (warmed++, Promise.resolve()),
      close: () => {},
    }),
  });
  await h.type("/play sample\r");
  await until(h, "frames", (l) => paneText(l).includes("▀"));
  assert.equal(warmed, 0);
  await h.type("q");
  h.backend.videoFormat = "jpeg";
  await h.type("/play sample\r");
  await until(h, "frames again", (l) => paneText(l).includes("▀"));
  assert.equal(warmed, 1, "a JPEG play warms it");
  await h.type("q");
  h.close();
});

Deno.test("TuiApp /play on a sixel terminal makes its renderer while the request is on its way (a warmed encoder)", async () => {
  const h = await harness({ setup: video });
  h.app.video.graphics = { kind: "sixel" };
  const before = SixelEncoder.warmUps;
  await h.type("/play sample\r");
  await until(h, "the overlay", (l) => OVERLAY.test(l[21]!));
  // The player's own fallback painter (made with the first frame in hand) never warms up.
  assert.equal(SixelEncoder.warmUps - before, 1, "the painter was made ahead of the first frame");
  await h.type("q");
  await until(h, "the end line", (l) => /Played sample/.test(paneText(l)));
  h.close();
});
