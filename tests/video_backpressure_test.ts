/**
 * A viewer that stops reading must not grow the server: its frames are dropped at the latest-frame
 * slot (never queued), its outbox stays bounded, other viewers keep their frame rate, and chat keeps
 * working. Also: without ffmpeg, video requests answer `unavailable` with a clear sentence while the
 * rest of the server works.
 */
import assert from "node:assert/strict";
import { VideoClient } from "../lib/client/video/video_client.ts";
import { encodeFrame } from "../lib/protocol/frame.ts";
import { PROTOCOL_VERSION } from "../lib/protocol/messages.ts";
import { LOW_WATER } from "../lib/server/video/viewer.ts";
import { eventually, skipWithout, startTestServer, testFfmpeg, videoDataDir, VIDEOS_DIR } from "./helpers.ts";

const ffmpeg = testFfmpeg();

Deno.test({
  name: "a client that never reads gets frames dropped, not queued; server memory and outbox stay bounded",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const dir = await videoDataDir(ffmpeg!);
    const t = await startTestServer({ ffmpeg, videosDir: VIDEOS_DIR }, { dir });
    let raw: Deno.TlsConn | null = null;
    try {
      // A raw socket: hello, register, two 1080p plays (~2 MB/s), then never read.
      // Deno's own TLS socket: it reads from the kernel only when asked, so "never reads" is real.
      raw = await Deno.connectTls({ hostname: "127.0.0.1", port: t.port, caCerts: [t.cert] });
      const send = (h: object) => raw!.write(encodeFrame(h));
      await send({ t: "hello", id: 1, v: PROTOCOL_VERSION, client: "stalled" });
      await send({ t: "register", id: 2, user: "stalled", password: "pw-stalled-secret" });
      await eventually(() => t.srv.hub.byUser.has("stalled"), 3000, "login");
      await send({ t: "video.play", id: 3, name: "sample", mode: "1080p" });
      await send({ t: "video.play", id: 4, name: "sample", mode: "1080p" });
      await eventually(() => t.srv.video.viewerStats().length === 2, 3000, "two streams");

      // A well-behaved viewer at the same time keeps its rate.
      const good = await t.client("good");
      const pb = await new VideoClient(good.conn).play("sample", { mode: "240p" });

      // This isolate's heap and buffers (`external`), not the process's RSS: under `deno test --parallel`
      // other test files run in the same process.
      const base = Deno.memoryUsage();
      let maxQueued = 0, maxExt = base.external, maxHeap = base.heapUsed;
      const start = Date.now();
      const droppedSoFar = () =>
        t.srv.video.viewerStats().filter((v) => v.rendition === "1080p").reduce((a, v) => a + v.dropped, 0);
      // at least 3.5 s, and on until the kernel's buffers are full and a frame is dropped (deadline
      // 15 s: a loaded machine makes frames slower, not fewer)
      while (Date.now() - start < 3500 || (droppedSoFar() === 0 && Date.now() - start < 15_000)) {
        for (const v of t.srv.video.viewerStats()) maxQueued = Math.max(maxQueued, v.queued);
        const m = Deno.memoryUsage();
        maxExt = Math.max(maxExt, m.external);
        maxHeap = Math.max(maxHeap, m.heapUsed);
        await new Promise((r) => setTimeout(r, 50));
      }
      const session = [...t.srv.hub.sessionsOf("stalled")][0]!;
      const stalled = t.srv.video.viewerStats().filter((v) => v.rendition === "1080p");
      const sent = stalled.reduce((a, v) => a + v.sent, 0);
      const dropped = stalled.reduce((a, v) => a + v.dropped, 0);
      // Whatever the kernel buffers took, the rest was dropped at the slot, never queued.
      assert.ok(dropped > 0, `frames were dropped (sent ${sent}, dropped ${dropped})`);
      assert.ok(maxQueued <= LOW_WATER + 512 * 1024, `outbox stayed small: ${maxQueued} bytes`);
      assert.ok(session.outbox.bytes <= LOW_WATER + 512 * 1024);
      assert.equal(session.state, "ready", "the stalled client was not dropped as too slow");
      assert.ok(maxHeap - base.heapUsed < 40 * 1024 * 1024, `heap grew by ${maxHeap - base.heapUsed}`);
      assert.ok(maxExt - base.external < 80 * 1024 * 1024, `buffers grew by ${maxExt - base.external}`);

      // The good viewer was not slowed: the whole 4 s video at 24 fps arrives.
      const end = await pb.ended;
      assert.equal(end.reason, "end");
      assert.ok(pb.order.length >= 90, `good viewer got ${pb.order.length} frames`);
      // Chat still works for everyone else.
      const other = await t.client("other");
      await other.send({ kind: "user", name: "good" }, "still here");
    } finally {
      const pids = t.srv.video.ffmpegPids();
      raw?.close();
      await t.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      for (const p of pids) assert.throws(() => Deno.kill(p, "SIGCONT"), "ffmpeg gone after shutdown");
    }
  },
});

Deno.test("without ffmpeg, video requests answer unavailable with a clear sentence and chat works", async () => {
  const t = await startTestServer({ ffmpeg: null, videosDir: VIDEOS_DIR });
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    const vc = new VideoClient(alice.conn);
    for (const call of [() => vc.list(), () => vc.play("sample")]) {
      await assert.rejects(call, (e: Error & { code?: string }) => {
        assert.equal(e.code, "unavailable");
        assert.match(e.message, /ffmpeg was not found/);
        return true;
      });
    }
    const got: string[] = [];
    bob.on((e) => e.type === "message" && got.push(e.message.text));
    await bob.sync();
    await alice.send({ kind: "user", name: "bob" }, "chat still works");
    await eventually(() => got.length === 1, 3000, "DM");
    assert.deepEqual(got, ["chat still works"]);
  } finally {
    await t.stop();
  }
});
