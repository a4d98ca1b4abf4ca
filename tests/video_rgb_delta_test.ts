/**
 * Raw half-block frames as deltas, server to client: what the server's Viewer sends (whole frames and
 * deltas against the last raw frame the client got) rebuilds, in the client's Playback, exactly the
 * frames the stream made — also when a send fails, and with a whole frame at least every WHOLE_EVERY.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/common/clock.ts";
import type { Frame, VideoInfo, VideoStream } from "../lib/media/mod.ts";
import { Viewer, type ViewerSink, WHOLE_EVERY } from "../lib/server/video/viewer.ts";
import { Playback, type VideoFrame } from "../lib/client/video/video_client.ts";
import type { Connection } from "../lib/client/session/connection.ts";

const VIDEO: VideoInfo = { name: "v", duration: 10, fps: 24, width: 426, height: 240, renditions: ["240p"] };
const [W, H] = [40, 24];

/** Frame n: a still background with a small square that moves; frame 100 is all new (no delta pays). */
function picture(n: number): Uint8Array {
  const d = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) d.set([i % 200, 50, n === 100 ? 77 : 9], i * 3);
  for (let y = 5; y < 9; y++) {
    for (let x = 0; x < 4; x++) d.set([255, n & 255, 0], (y * W + ((n + x) % W)) * 3);
  }
  return d;
}

Deno.test("raw frames: the Viewer's deltas rebuild every frame in the client, a failed send included", async () => {
  const clock = new ManualClock(0);
  const outbox = { bytes: 0, closed: false, drained: () => ((outbox.bytes = 0), Promise.resolve()) };
  const sent: { h: Record<string, unknown>; body: Uint8Array }[] = [];
  let calls = 0;
  const sink: ViewerSink = {
    send: (h, body) => {
      if (++calls === 40) return false; // one frame that never left: the next delta must not build on it
      // `send` copies what it is given (a delta is a view of the encoder's buffer, reused next call)
      if (h.t === "video.frame") {
        sent.push({ h: h as unknown as Record<string, unknown>, body: body!.slice() });
      }
      return true;
    },
    outbox,
  };
  const made: Uint8Array[] = [];
  let n = 0;
  const stream = {
    nextFrame: () => {
      if (n >= 120) return Promise.resolve(null);
      const data = picture(n);
      made.push(data);
      const f: Frame = { pts: n * 40, rendition: "240p", data, format: "rgb", index: n, width: W, height: H };
      n++;
      return Promise.resolve(f);
    },
    stop: () => Promise.resolve(),
    stats: () => ({ dropped: 0, error: null }),
    reportThroughput: () => {},
    recycle: () => {}, // the frames stay `made`'s: none goes back to a pool
  } as unknown as VideoStream;
  const v = new Viewer(1, VIDEO, stream, sink, clock);
  v.begin();
  await v.done;

  assert.equal(sent.length, 119);
  const deltas = sent.filter((s) => s.h.delta === true);
  assert.ok(deltas.length > 80, `${deltas.length} deltas`);
  assert.ok(deltas.every((s) => s.body.length < W * H * 3 / 4), "a delta is smaller than the frame");
  // A whole frame at least every WHOLE_EVERY frames.
  let run = 0;
  for (const s of sent) {
    run = s.h.delta ? run + 1 : 0;
    assert.ok(run < WHOLE_EVERY, `${run} deltas in a row`);
  }

  const pb = new Playback({} as Connection, 1, {
    fps: 24,
    duration: 10,
    renditions: ["240p"],
    width: W,
    height: H,
  });
  const got: VideoFrame[] = [];
  pb.onFrame((f) => got.push(f));
  for (const s of sent) {
    const h = s.h;
    pb.push({
      pts: Number(h.pts),
      index: Number(h.index),
      rendition: "240p",
      width: Number(h.width),
      height: Number(h.height),
      data: s.body,
      format: h.format === "rgb" ? "rgb" : "jpeg",
    }, h.delta === true);
  }
  assert.equal(pb.badDeltas, 0);
  assert.equal(got.length, 119);
  for (const f of got) assert.deepEqual(f.data, made[f.index], `frame ${f.index}`);
  // A rebuilt frame says how many bytes came for it (the player's kbit/s counts those).
  const byIndex = new Map(sent.map((s) => [Number(s.h.index), s]));
  for (const f of got) {
    const s = byIndex.get(f.index)!;
    assert.equal(f.bytes ?? f.data.length, s.body.length, `frame ${f.index}`);
  }
  assert.ok(!got.some((f) => f.index === 39), "the frame that was not sent");

  // A delta with no base (or of another size) is dropped and counted, never drawn wrong.
  const fresh = new Playback({} as Connection, 2, {
    fps: 24,
    duration: 10,
    renditions: ["240p"],
    width: W,
    height: H,
  });
  fresh.push({ ...got[1]!, data: deltas[0]!.body }, true);
  assert.equal(fresh.badDeltas, 1);
  assert.equal(fresh.order.length, 0);
});
