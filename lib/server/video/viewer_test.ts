import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import type { VideoInfo, VideoStream } from "../../media/mod.ts";
import { Viewer, type ViewerSink } from "./viewer.ts";

const VIDEO: VideoInfo = { name: "v", duration: 10, fps: 24, width: 1280, height: 720, renditions: ["720p"] };

/**
 * A link of `bps` bytes per second on a manual clock (draining the outbox moves time), and a stream
 * that releases `burst` frames of `size` bytes at once every `burst` frame times (a lead's bursts).
 */
function setUp(bps: number, burst: number, size: number, frames: number) {
  const clock = new ManualClock(0);
  const reports: number[] = [];
  const outbox = {
    bytes: 0,
    closed: false,
    drained(): Promise<void> {
      clock.advance((this.bytes * 1000) / bps);
      this.bytes = 0;
      return Promise.resolve();
    },
  };
  const sink: ViewerSink = {
    send: (_h, body) => (outbox.bytes += (body?.length ?? 0) + 128, true),
    outbox,
  };
  let n = 0, due = 0;
  const stream = {
    nextFrame: () => {
      if (n >= frames) return Promise.resolve(null);
      if (n % burst === 0) {
        due = (n * 1000) / 24; // the next burst leaves when its first frame is due
        if (clock.now() < due) clock.advance(due - clock.now());
      }
      const f = {
        pts: (n * 1000) / 24,
        rendition: "720p",
        data: new Uint8Array(size),
        format: "jpeg",
        index: n,
        width: 1280,
        height: 720,
      };
      n++;
      return Promise.resolve(f);
    },
    stop: () => Promise.resolve(),
    stats: () => ({ dropped: 0, error: null }),
    reportThroughput: (b: number) => reports.push(b),
  } as unknown as VideoStream;
  const v = new Viewer(1, VIDEO, stream, sink, clock);
  v.begin();
  return { v, reports };
}

Deno.test("Viewer reports the link's throughput from the time spent draining, bursts or not", async () => {
  for (const burst of [1, 6, 12]) {
    const { v, reports } = setUp(10_000_000, burst, 100_000, 24 * 6);
    await v.done;
    assert.ok(reports.length >= 4, `burst ${burst}: ${reports.length} reports`);
    for (const r of reports) {
      assert.ok(
        Math.abs(r - 10_000_000) / 10_000_000 < 0.05,
        `burst ${burst}: reported ${Math.round(r)} B/s`,
      );
    }
  }
});

Deno.test("Viewer: a link that never makes it wait is reported as keeping up with room to spare", async () => {
  const { v, reports } = setUp(1e12, 1, 10_000, 24 * 3); // 10 kB frames: the outbox stays under its low water
  await v.done;
  assert.ok(reports.length >= 2);
  for (const r of reports) assert.ok(r > 1_000_000 + 2 * 24 * 10_000 * 0.9, `reported ${r}`);
});
