import assert from "node:assert/strict";
import { encodeRgbDelta } from "../../media/mod.ts";
import type { Connection } from "../session/connection.ts";
import { Playback, VideoClient, type VideoFrame } from "./video_client.ts";

const INFO = { fps: 24, duration: 10, renditions: ["240p" as const], width: 4, height: 2 };

/** A 4×2 raw frame whose every byte is `v` but the first pixel's, which is `k`. */
function picture(v: number, k: number): Uint8Array {
  const b = new Uint8Array(4 * 2 * 3).fill(v);
  b[0] = b[1] = b[2] = k;
  return b;
}

function wire(i: number, data: Uint8Array): VideoFrame {
  return { pts: i * 40, index: i, rendition: "240p", width: 4, height: 2, data, format: "rgb" };
}

Deno.test("Playback rebuilds RGB deltas into the buffers of frames the player released, never into the next base", async () => {
  const pb = new Playback({} as Connection, 1, INFO, 0, "rgb");
  const pics = [0, 1, 2, 3, 4, 5].map((k) => picture(10, k));
  const seen: VideoFrame[] = [];
  pb.push(wire(0, pics[0]!.slice()));
  for (let i = 0; i < pics.length; i++) {
    const f = (await pb.next())!;
    assert.deepEqual([...f.data], [...pics[i]!], `frame ${i} rebuilt`);
    seen.push(f);
    pb.release(f); // drawn; still the base of the delta that follows
    if (i + 1 < pics.length) pb.push(wire(i + 1, encodeRgbDelta(pics[i]!, pics[i + 1]!)!), true);
  }
  assert.equal(pb.badDeltas, 0);
  // Two buffers take turns: the base and the frame rebuilt from it.
  assert.equal(new Set(seen.map((f) => f.data)).size, 2);
  assert.equal(seen[2]!.data, seen[0]!.data);
  assert.equal(seen[3]!.data, seen[1]!.data);
});

Deno.test("Playback keeps a frame the player has not released out of its buffers", async () => {
  const pb = new Playback({} as Connection, 1, INFO, 0, "rgb");
  const [a, b, c] = [picture(10, 0), picture(10, 1), picture(10, 2)];
  pb.push(wire(0, a.slice()));
  const f0 = (await pb.next())!; // held by the player (never released)
  pb.push(wire(1, encodeRgbDelta(a, b)!), true);
  pb.release((await pb.next())!);
  pb.push(wire(2, encodeRgbDelta(b, c)!), true);
  const f2 = (await pb.next())!;
  assert.notEqual(f2.data, f0.data);
  assert.deepEqual([...f0.data], [...a], "the held frame is as it came");
  assert.deepEqual([...f2.data], [...c]);
});

Deno.test("VideoClient: a frame that came before the play's reply reaches `onFrame`, which may stop there", async () => {
  let push: (f: { header: Record<string, unknown>; body: Uint8Array }) => void = () => {};
  const frame = (i: number) => ({
    header: {
      t: "video.frame",
      stream: 7,
      pts: i * 40,
      index: i,
      rendition: "240p",
      width: 4,
      height: 2,
      format: "rgb",
    },
    body: picture(10, i),
  });
  const conn = {
    onPush: (fn: typeof push) => (push = fn, () => {}),
    done: new Promise(() => {}),
    conn: { remoteAddr: { hostname: "127.0.0.1" } },
    request: (t: string) => {
      if (t !== "video.play") return Promise.resolve({ header: {} });
      push(frame(0)); // the server sent its first frame at once: it comes before the reply
      push(frame(1));
      return Promise.resolve({
        header: { stream: 7, fps: 24, duration: 10, renditions: ["240p"], format: "rgb" },
      });
    },
  } as unknown as Connection;
  const heard: number[] = [];
  const pb = await new VideoClient(conn).play("clip", {
    format: "rgb",
    onFrame: (f, p) => (heard.push(f.index), f.index === 0 && p.stopAfterThis()),
  });
  assert.deepEqual(heard, [0], "the first frame heard, and the play stopped after it");
  assert.equal((await pb.next())!.index, 0);
  assert.equal(await pb.next(), null, "nothing after the frame it stopped at");
});
