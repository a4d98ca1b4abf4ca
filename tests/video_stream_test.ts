/**
 * User-to-user streams through an in-process server: no frame flows before the recipient accepts,
 * frames arrive sealed and open only with the stream's key, a refusal ends the offer, and either
 * side can stop (the sender's ffmpeg ends either way). Between clients with end-to-end keys the
 * key travels in an encrypted DM: the server never sees it (checked on everything the sender sent
 * and on the offer the server's relay parsed), the recipient still decrypts, a tampered frame is
 * rejected.
 */
import { videoOf } from "../lib/client/video/client_video.ts";
import assert from "node:assert/strict";
import { concatBytes, toBase64 } from "../lib/common/bytes.ts";
import type { Connection } from "../lib/client/session/connection.ts";
import { PeerStreams } from "../lib/client/video/peer_stream.ts";
import { jpegSize } from "../lib/media/jpeg_header.ts";
import { type StreamKeyChannel, streamKeysOf } from "../lib/client/video/stream_key.ts";
import { eventually, skipWithout, startTestServer, testFfmpeg, VIDEOS_DIR } from "./helpers.ts";

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
      const toAlice: Record<string, unknown>[] = [];
      alice.conn.onPush((f) => toAlice.push(f.header));
      await assert.rejects( // only the viewer of an accepted stream says its size
        () => bob.conn.request("stream.pane", { sid, width: 320, height: 180 }),
        (e: Error & { code?: string }) => e.code === "no_such_stream",
      );
      await bob.conn.request("stream.answer", { sid, accept: true, width: 320, height: 180 });
      await bob.conn.request("stream.pane", { sid, width: 64, height: 36 });
      await assert.rejects(
        () => alice.conn.request("stream.pane", { sid, width: 64, height: 36 }),
        (e: Error & { code?: string }) => e.code === "no_such_stream",
      );
      await eventually(() => toAlice.some((h) => h.t === "stream.pane"), 3000, "the new size relayed");
      assert.deepEqual(
        toAlice.filter((h) => String(h.t).startsWith("stream.")).map(({ t, width, height }) => ({
          t,
          width,
          height,
        })),
        [{ t: "stream.answer", width: 320, height: 180 }, { t: "stream.pane", width: 64, height: 36 }],
      );
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

Deno.test("an offer answered by one session of the recipient leaves its other sessions (issue 34.8)", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    const bob1 = await t.client("bob");
    const bob2 = await t.client("bob", { register: false }); // another process of the same account
    const seen1: Record<string, unknown>[] = [], seen2: Record<string, unknown>[] = [];
    bob1.conn.onPush((f) => seen1.push(f.header));
    bob2.conn.onPush((f) => seen2.push(f.header));
    const sid = "sid-two-sessions-1";
    await alice.conn.request("stream.offer", { to: "bob", name: "clip.mp4", sid, fps: 24 });
    await eventually(() => seen2.some((h) => h.t === "stream.offer"), 3000, "offer on both sessions");
    await bob1.conn.request("stream.answer", { sid, accept: true });
    await eventually(
      () =>
        seen2.some((h) =>
          h.t === "stream.stop" && h.sid === sid && h.reason === "answered" && h.by === "bob"
        ),
      3000,
      "bob's other session is told the offer was answered",
    );
    assert.ok(!seen1.some((h) => h.t === "stream.stop"), "the answering session keeps its stream");
    const r = await alice.conn.request("stream.frame", { sid, pts: 0, index: 0 }, new Uint8Array(10));
    assert.equal(r.header.delivered, true);
  } finally {
    await t.stop();
  }
});

Deno.test({
  name: "a streamed file flows sealed after accept; the recipient stops it and the sender's ffmpeg ends",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const t = await startTestServer();
    try {
      // Streams are end to end only: both sides need keys (the frame key travels in an E2E DM).
      const { client: alice } = await t.e2eClient("alice");
      const { client: bob } = await t.e2eClient("bob");
      await bob.sync(); // live delivery: the key arrives as a DM
      const sender = videoOf(alice).peers;
      const receiver = videoOf(bob).peers;
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
      // a barrier instead of a sleep: whatever alice sent before her ping's reply was relayed into
      // bob's queue before the server read that ping, so it reaches bob before his own ping's reply
      await alice.conn.request("ping", {});
      await bob.conn.request("ping", {});
      assert.equal(bodies.length, 0, "nothing before accept");
      const incoming = await receiver.accept(offer, { width: 80, height: 46 }); // drawn this small
      const frames = [];
      for (let i = 0, small = false; frames.length < 10; i++) {
        const f = await incoming.next();
        assert.ok(f && i < 100, "frame");
        assert.deepEqual([...f.data.subarray(0, 2)], [0xff, 0xd8], "decrypted to a JPEG");
        const size = jpegSize(f.data)!;
        // The first frame is the one the sender readied at the offered size while the offer waited
        // (issue 75); ffmpeg restarts at the viewer's size after it: once a frame came at that size,
        // none larger.
        if (size.height > 46 && !small) {
          assert.ok(size.height <= 240 && size.width <= 426, JSON.stringify(size));
          continue;
        }
        small = true;
        assert.ok(
          size.width <= 80 && size.height <= 46,
          `no larger than the viewer draws: ${JSON.stringify(size)}`,
        );
        frames.push(f);
      }
      await incoming.setPane(1920, 1080); // the viewer's window grew: frames as offered (240 high), no larger
      for (let i = 0;; i++) {
        const f = await incoming.next();
        assert.ok(f && i < 100, "frames at the new size");
        const size = jpegSize(f.data)!;
        if (size.height <= 46) continue;
        assert.ok(size.height > 200 && size.height <= 240 && size.width <= 426, JSON.stringify(size));
        break;
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
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const t = await startTestServer();
    try {
      const { client: alice } = await t.e2eClient("alice");
      const { client: bob } = await t.e2eClient("bob");
      await bob.sync();
      const sender = videoOf(alice).peers;
      const receiver = videoOf(bob).peers;
      const ac = new AbortController();
      const sending = sender.send("bob", SAMPLE, { ffmpeg: ffmpeg!, maxHeight: 240, signal: ac.signal });
      const incoming = await receiver.accept(await receiver.waitOffer("alice", 5000));
      assert.ok(await incoming.next());
      ac.abort();
      const r = await sending;
      assert.equal(r.reason, "stopped");
      const end = await incoming.ended;
      assert.deepEqual(end, { reason: "stopped", by: "alice" });
      // the latest-frame slot may still hold the one frame that arrived before the stop; then null
      const held = await incoming.next();
      if (held) assert.equal(await incoming.next(), null);
    } finally {
      await t.stop();
    }
  },
});

Deno.test("streams are end to end only: no clear-text frame key in the protocol or the client", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    // The server refuses an offer that carries a key (the protocol has no such field).
    await assert.rejects(
      () =>
        alice.conn.request("stream.offer", {
          to: "bob",
          name: "clip.mp4",
          sid: "sid-clear-key-1",
          key: toBase64(new Uint8Array(32)),
        }),
      (e: Error & { code?: string }) => e.code === "invalid" && /key/.test(e.message),
    );
    // A client without end-to-end keys can neither offer (before starting ffmpeg) nor accept.
    const plain = new PeerStreams(alice.conn, "alice");
    await assert.rejects(
      () => plain.send("bob", SAMPLE, { ffmpeg: "/nonexistent/ffmpeg" }),
      (e: Error & { code?: string }) => e.code === "no_keys",
    );
    const receiver = new PeerStreams(bob.conn, "bob");
    await alice.conn.request("stream.offer", { to: "bob", name: "clip.mp4", sid: "sid-no-keys-2" });
    const offer = await receiver.waitOffer("alice", 5000);
    await assert.rejects(
      () => receiver.accept(offer),
      (e: Error & { code?: string }) => e.code === "no_keys",
    );
    // A key smuggled into the pushed offer (a hostile server) is not used either.
    await assert.rejects(
      () => receiver.accept({ ...offer, key: toBase64(new Uint8Array(32)) } as typeof offer),
      (e: Error & { code?: string }) => e.code === "no_keys",
    );
  } finally {
    await t.stop();
  }
});

/** Records everything a client sends to the server (headers as JSON, bodies as bytes). */
function observe(conn: Connection): { headers: string[]; bodies: Uint8Array[] } {
  const seen = { headers: [] as string[], bodies: [] as Uint8Array[] };
  const request = conn.request.bind(conn);
  conn.request = (t, fields = {}, body) => {
    seen.headers.push(JSON.stringify({ t, ...fields }));
    if (body) seen.bodies.push(body instanceof Uint8Array ? body.slice() : concatBytes(body));
    return request(t, fields, body);
  };
  return seen;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test({
  name: "PeerStreams with E2E keys: the frame key goes in an encrypted DM, never to the server in clear",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const t = await startTestServer();
    try {
      const alice = await t.e2eClient("alice");
      const bob = await t.e2eClient("bob");
      await bob.client.sync(); // live delivery: the key arrives as a DM
      // The server's view of every offer, as its relay parsed it.
      const offers: Record<string, unknown>[] = [];
      const relayOffer = t.srv.relay.offer.bind(t.srv.relay);
      t.srv.relay.offer = (s, m) => (offers.push({ ...m }), relayOffer(s, m));
      const sent = observe(alice.client.conn);
      // Alice's channel is the codec's own, wrapped only to learn the key for the checks below.
      let key: Uint8Array | null = null;
      const channel: StreamKeyChannel = {
        send: (to, sid, k) => ((key = k.slice()), streamKeysOf(alice.codec)!.send(to, sid, k)),
        receive: (from, sid, ms) => streamKeysOf(alice.codec)!.receive(from, sid, ms),
      };
      const sender = new PeerStreams(alice.client.conn, "alice", { keyVia: () => channel });
      const receiver = videoOf(bob.client).peers;
      const bodies: Uint8Array[] = [];
      const tampered = { done: false };
      bob.client.conn.onPush((f) => {
        if (f.header.t !== "stream.frame") return;
        bodies.push(f.body.slice());
        // The first relayed frame is flipped in place (bob's PeerStreams opens it afterwards, async).
        if (!tampered.done) {
          tampered.done = true;
          f.body[f.body.length - 5]! ^= 1;
        }
      });
      const sending = sender.send("bob", SAMPLE, { ffmpeg: ffmpeg!, maxHeight: 240 });
      const offer = await receiver.waitOffer("alice", 5000);
      assert.equal((offer as { key?: unknown }).key, undefined, "the relayed offer carries no key");
      const incoming = await receiver.accept(offer);
      for (let i = 0; i < 5; i++) {
        const f = await incoming.next();
        assert.ok(f, "frame");
        assert.deepEqual([...f.data.subarray(0, 2)], [0xff, 0xd8], "decrypted to a JPEG");
      }
      await eventually(() => incoming.rejected === 1, 3000, "the tampered frame rejected");
      await incoming.stop();
      const r = await sending;
      assert.equal(r.reason, "stopped");

      assert.equal(offers.length, 1);
      assert.ok(!("key" in offers[0]!), `the server saw no key in the offer: ${JSON.stringify(offers[0])}`);
      assert.ok(key, "a key was sent through the E2E channel");
      const k = key as Uint8Array;
      const b64 = toBase64(k);
      assert.ok(sent.headers.every((h) => !h.includes(b64)), "no header sent to the server holds the key");
      assert.ok(sent.headers.some((h) => h.includes('"t":"send"')), "the key went as a DM");
      for (const b of [...sent.bodies, ...bodies]) {
        assert.ok(!contains(b, k), "no body holds the raw key");
        assert.ok(!contains(b, new TextEncoder().encode(b64)), "no body holds the key in base64");
      }
      // The key message was consumed silently: bob's chat saw no message.
      assert.equal(bob.store.list("bob", 0).length, 0);
    } finally {
      await t.stop();
    }
  },
});
