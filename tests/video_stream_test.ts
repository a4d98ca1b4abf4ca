/**
 * User-to-user streams through an in-process server: no frame flows before the recipient accepts,
 * frames arrive sealed and open only with the offer's key, a refusal ends the offer, and either
 * side can stop (the sender's ffmpeg ends either way).
 */
import assert from "node:assert/strict";
import { PeerStreams } from "../lib/client/video/peer_stream.ts";
import { eventually, startTestServer, testFfmpeg, VIDEOS_DIR } from "./helpers.ts";

const ffmpeg = testFfmpeg();
const SAMPLE = `${VIDEOS_DIR}/sample.mp4`;

Deno.test({
  name: "stream.frame is refused until the recipient accepts",
  async fn() {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      const seen: string[] = [];
      bob.conn.onPush((f) => seen.push(String(f.header.t)));
      const sid = "sid-pending-1";
      await alice.conn.request("stream.offer", { to: "bob", name: "clip.mp4", sid, fps: 24 });
      await eventually(() => seen.includes("stream.offer"), 3000, "offer relayed");
      await assert.rejects(
        () => alice.conn.request("stream.frame", { sid, pts: 0, index: 0 }, new Uint8Array(100)),
        (e: Error & { code?: string }) => e.code === "forbidden" && /not accepted/.test(e.message),
      );
      await assert.rejects(
        () => bob.conn.request("stream.frame", { sid, pts: 0, index: 0 }, new Uint8Array(1)),
        (e: Error & { code?: string }) => e.code === "no_such_stream",
      );
      assert.ok(!seen.includes("stream.frame"), "no frame reached bob");
      await bob.conn.request("stream.answer", { sid, accept: true });
      const r = await alice.conn.request("stream.frame", { sid, pts: 0, index: 0 }, new Uint8Array(100));
      assert.equal(r.header.delivered, true);
      await eventually(() => seen.includes("stream.frame"), 3000, "frame relayed after accept");
      // A refusal ends an offer for good.
      const sid2 = "sid-refused-2";
      await alice.conn.request("stream.offer", { to: "bob", name: "x.mp4", sid: sid2 });
      await bob.conn.request("stream.answer", { sid: sid2, accept: false });
      await assert.rejects(
        () => alice.conn.request("stream.frame", { sid: sid2, pts: 0, index: 0 }, new Uint8Array(1)),
        (e: Error & { code?: string }) => e.code === "no_such_stream",
      );
      await assert.rejects(
        () => alice.conn.request("stream.offer", { to: "nobody", name: "x", sid: "sid-nobody-3" }),
        (e: Error & { code?: string }) => e.code === "no_such_user",
      );
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "a streamed file flows sealed after accept; the recipient stops it and the sender's ffmpeg ends",
  ignore: ffmpeg === null,
  async fn() {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      const sender = new PeerStreams(alice.conn, "alice");
      const receiver = new PeerStreams(bob.conn, "bob");
      // The server only ever sees sealed bodies: no JPEG marker at the start of a relayed frame.
      const bodies: Uint8Array[] = [];
      bob.conn.onPush((f) => f.header.t === "stream.frame" && bodies.push(f.body));
      let acceptedAt = 0;
      const sending = sender.send("bob", SAMPLE, {
        ffmpeg: ffmpeg!,
        maxHeight: 240,
        onAccepted: () => (acceptedAt = bodies.length + 1),
      });
      const offer = await receiver.waitOffer("alice", 5000);
      assert.equal(offer.name, "sample.mp4");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(bodies.length, 0, "nothing before accept");
      const incoming = await receiver.accept(offer);
      const frames = [];
      for (let i = 0; i < 10; i++) {
        const f = await incoming.next();
        assert.ok(f, "frame");
        assert.deepEqual([...f.jpeg.subarray(0, 2)], [0xff, 0xd8], "decrypted to a JPEG");
        frames.push(f);
      }
      assert.ok(acceptedAt === 1);
      assert.ok(bodies.every((b) => !(b[0] === 0xff && b[1] === 0xd8)), "relayed bodies are sealed");
      await incoming.stop();
      const r = await sending;
      assert.equal(r.reason, "stopped");
      assert.equal(r.by, "bob");
      assert.ok(r.sent >= 10);
      assert.equal(t.srv.relay.size, 0);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "the sender can stop a stream and the recipient is told",
  ignore: ffmpeg === null,
  async fn() {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      const sender = new PeerStreams(alice.conn, "alice");
      const receiver = new PeerStreams(bob.conn, "bob");
      const ac = new AbortController();
      const sending = sender.send("bob", SAMPLE, { ffmpeg: ffmpeg!, maxHeight: 240, signal: ac.signal });
      const incoming = await receiver.accept(await receiver.waitOffer("alice", 5000));
      assert.ok(await incoming.next());
      ac.abort();
      const r = await sending;
      assert.equal(r.reason, "stopped");
      const end = await incoming.ended;
      assert.deepEqual(end, { reason: "stopped", by: "alice" });
      assert.equal(await incoming.next(), null);
    } finally {
      await t.stop();
    }
  },
});
