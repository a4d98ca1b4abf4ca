import assert from "node:assert/strict";
import type { Connection } from "../session/connection.ts";
import type { Frame } from "../../protocol/frame.ts";
import { BackendError } from "../backend.ts";
import { PeerStreams } from "./peer_stream.ts";
import { frameCtx } from "./incoming_stream.ts";
import { decryptFile, encryptFile } from "../../crypto/file_aead.ts";
import { readyFile } from "./stream_send.ts";
import type { MjpegOptions, MjpegSource } from "../../media/ffmpeg.ts";
import { SAMPLE_VIDEO, TEST_FFMPEG } from "../../media/_testing.ts";
import { until } from "../../common/wait_testing.ts";

/** Just enough of a Connection to push frames at PeerStreams. */
function fakeConn() {
  let push: (f: Frame) => void = () => {};
  const conn = {
    onPush: (fn: (f: Frame) => void) => ((push = fn), () => {}),
    done: new Promise<void>(() => {}),
    request: () => Promise.resolve({ header: {}, body: new Uint8Array() }),
  } as unknown as Connection;
  return {
    conn,
    push: (h: Record<string, unknown>, body: Uint8Array = new Uint8Array()) => push({ header: h, body }),
  };
}

Deno.test("PeerStreams.waitOffer names the sender by the one name rule (NFKC, case, #)", async () => {
  const { conn, push } = fakeConn();
  const peers = new PeerStreams(conn, "bob");
  push({ t: "stream.offer", sid: "sid-abcdefgh", from: "alice", name: "clip.mp4" });
  for (const spelled of ["alice", "ALICE", "\uff21\uff2c\uff29\uff23\uff25" /* full-width */]) {
    const o = await peers.waitOffer(spelled, 50).catch((e) => e);
    assert.equal(o.sid, "sid-abcdefgh", `waitOffer(${JSON.stringify(spelled)}) → ${o}`);
  }
  peers.close();
});

Deno.test("PeerStreams.accept says the viewer's pixels; a server that knows no size gets the answer without it, and no later size", async () => {
  const { conn, push } = fakeConn();
  const sent: Record<string, unknown>[] = [];
  let old = false; // a server before 0.15: an answer with a size is invalid, and there is no stream.pane
  conn.request = ((t: string, h: Record<string, unknown>) => {
    sent.push({ t, ...h });
    if (old && (t === "stream.pane" || h.width !== undefined)) {
      return Promise.reject(new BackendError("invalid", "Unknown field width"));
    }
    return Promise.resolve({ header: {}, body: new Uint8Array() });
  }) as Connection["request"];
  const key = new Uint8Array(32);
  const peers = new PeerStreams(conn, "bob", {
    keyVia: () => ({ send: () => Promise.resolve(), receive: () => Promise.resolve(key) }),
  });
  push({ t: "stream.offer", sid: "sid-new-server", from: "alice", name: "a.mp4" });
  const a = await peers.accept(await peers.waitOffer("alice", 50), { width: 160, height: 90 });
  await a.setPane(320, 1);
  assert.deepEqual(sent.splice(0), [
    { t: "stream.answer", sid: "sid-new-server", accept: true, width: 160, height: 90 },
    { t: "stream.pane", sid: "sid-new-server", width: 320, height: 2 },
  ]);
  old = true;
  push({ t: "stream.offer", sid: "sid-old-server", from: "alice", name: "b.mp4" });
  const b = await peers.accept(await peers.waitOffer("alice", 50).then(() => peers.pending[0]!), {
    width: 160,
    height: 90,
  });
  await b.setPane(320, 180);
  assert.deepEqual(sent, [
    { t: "stream.answer", sid: "sid-old-server", accept: true, width: 160, height: 90 },
    { t: "stream.answer", sid: "sid-old-server", accept: true },
  ]);
  peers.close();
});

Deno.test("PeerStreams.accept answers while the frame key is on its way; a frame that came first waits for it (issue 75)", async () => {
  const { conn, push } = fakeConn();
  const sent: string[] = [];
  conn.request =
    ((t: string) => (sent.push(t), Promise.resolve({ header: {}, body: new Uint8Array() }))) as Connection[
      "request"
    ];
  const key = new Uint8Array(32).fill(7);
  let keyArrives!: (k: Uint8Array) => void;
  const peers = new PeerStreams(conn, "bob", {
    keyVia: () => ({
      send: () => Promise.resolve(),
      receive: () => new Promise<Uint8Array>((r) => (keyArrives = r)),
    }),
  });
  push({ t: "stream.offer", sid: "sid-early-key", from: "alice", name: "a.mp4" });
  const accepting = peers.accept(await peers.waitOffer("alice", 50));
  await until(() => sent.length > 0, "the answer");
  assert.deepEqual(sent, ["stream.answer"], "answered before the key came");
  const jpeg = new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
  const sealed = await encryptFile(key, frameCtx("sid-early-key", 0, "alice", "bob"), jpeg);
  push({ t: "stream.frame", sid: "sid-early-key", index: 0, pts: 0 }, sealed);
  keyArrives(key);
  const s = await accepting;
  assert.deepEqual((await s.next())?.data, jpeg, "the frame that came before the key, opened with it");
  assert.equal(s.rejected, 0);
  // A key that never comes: the stream accepted is stopped, and accept() fails as before.
  const failing = new PeerStreams(conn, "bob", {
    keyVia: () => ({ send: () => Promise.resolve(), receive: () => Promise.reject(new Error("no key")) }),
  });
  push({ t: "stream.offer", sid: "sid-no-key", from: "alice", name: "b.mp4" });
  sent.length = 0;
  await assert.rejects(failing.accept(await failing.waitOffer("alice", 50)), /no key/);
  assert.deepEqual(sent, ["stream.answer", "stream.stop"]);
  peers.close();
  failing.close();
});

Deno.test("PeerStreams: a blocked user's offer is refused unseen; a stream to them is refused before anything is sent", async () => {
  const { conn, push } = fakeConn();
  const asked: unknown[] = [];
  conn.request = ((t: string, f: unknown) => (asked.push([t, f]), Promise.resolve({ header: {} }))) as never;
  const blocks = {
    list: () => Promise.resolve(["mallory"]),
    has: (u: string) => Promise.resolve(u === "mallory"),
    set: () => Promise.resolve([]),
  };
  const peers = new PeerStreams(conn, "bob", { blocks: () => blocks });
  const seen: string[] = [];
  peers.onOffer((o) => seen.push(o.from));
  push({ t: "stream.offer", sid: "sid-mallory-1", from: "mallory", name: "spam.mp4" });
  push({ t: "stream.offer", sid: "sid-alice-001", from: "alice", name: "clip.mp4" });
  // Both decided: alice's offer seen, mallory's (pushed first) refused.
  await until(() => seen.length > 0 && asked.length > 0, "both offers decided");
  assert.deepEqual(seen, ["alice"]);
  assert.deepEqual(peers.pending.map((o) => o.sid), ["sid-alice-001"]);
  assert.deepEqual(asked, [["stream.answer", { sid: "sid-mallory-1", accept: false }]]);
  await assert.rejects(
    peers.send("Mallory", "/nonexistent.mp4", { ffmpeg: "/nonexistent-ffmpeg" }),
    (e: unknown) =>
      e instanceof BackendError && e.code === "blocked" && /You blocked mallory/.test(e.message),
  );
  assert.equal(asked.length, 1, "no offer went");
  peers.close();
});

Deno.test({
  name: "PeerStreams.send: the key leaves with the offer, and ffmpeg starts before the answer (issue 75)",
  ignore: TEST_FFMPEG === null,
  async fn() {
    const { conn, push } = fakeConn();
    const order: string[] = [];
    let sid = "";
    conn.request = ((t: string, h: Record<string, unknown>) => {
      order.push(t);
      if (t === "stream.offer") sid = String(h.sid);
      return Promise.resolve({ header: {}, body: new Uint8Array() });
    }) as Connection["request"];
    let keyArrives!: () => void;
    const keyed = new Promise<void>((r) => (keyArrives = r));
    const peers = new PeerStreams(conn, "alice", {
      keyVia: () => ({
        send: () => (order.push("key"), keyed), // the key DM is still on its way
        receive: () => Promise.reject(new Error("not a viewer")),
      }),
    });
    const spawned: { stopped: boolean }[] = [];
    const spawn = (o: MjpegOptions): MjpegSource => {
      const rec = { stopped: false };
      spawned.push(rec);
      return {
        pid: 0,
        stop: () => (rec.stopped = true, Promise.resolve()),
        async *[Symbol.asyncIterator]() {
          await new Promise((r) => o.signal?.addEventListener("abort", r, { once: true }));
          if (!o.signal?.aborted) yield new Uint8Array(0); // never: the answer is a refusal
        },
      };
    };
    let offered!: () => void;
    const isOffered = new Promise<void>((r) => (offered = r));
    const sending = peers.send("bob", SAMPLE_VIDEO, { ffmpeg: TEST_FFMPEG!, spawn, onOffered: offered });
    await isOffered;
    // Sent before the offer, not one round trip after it; the old order was offer, then key.
    assert.deepEqual(order, ["key", "stream.offer"]);
    keyArrives();
    await until(() => spawned.length > 0, "ffmpeg readied"); // VideoStream spawns a microtask after it is made
    assert.equal(spawned.length, 1, "ffmpeg readied while the offer waits, before any answer");
    push({ t: "stream.answer", sid, accept: false });
    assert.equal((await sending).reason, "refused");
    assert.ok(spawned.every((s) => s.stopped), "a refused offer's ffmpeg is stopped");
    peers.close();
  },
});

/** A fake ffmpeg: each start recorded with its size; its frames say which start made them (1, 2…). */
function countingSpawn() {
  const starts: { width: number; height: number }[] = [];
  const spawn = (o: MjpegOptions): MjpegSource => {
    const width = o.width ?? 0, height = o.height ?? 0;
    const start = starts.push({ width, height });
    return {
      pid: 0,
      stop: () => Promise.resolve(),
      async *[Symbol.asyncIterator]() {
        while (!o.signal?.aborted) {
          yield new Uint8Array([0xff, 0xd8, start]);
          await new Promise((r) => setTimeout(r, 5));
        }
      },
    };
  };
  return { starts, spawn };
}

for (const viewer of [{ width: 80, height: 46 }, undefined]) {
  Deno.test({
    name:
      `PeerStreams.send: the first frame is the one readied while the offer waited, no ffmpeg restart before it (${
        viewer ? "a viewer telling its smaller size with the accept" : "an older viewer telling no size"
      }; issue 75)`,
    ignore: TEST_FFMPEG === null,
    async fn() {
      const { conn, push } = fakeConn();
      let sid = "";
      const sent: Promise<Uint8Array>[] = [];
      const { starts, spawn } = countingSpawn();
      let third!: () => void, key: Uint8Array = new Uint8Array();
      const thirdFrame = new Promise<void>((r) => (third = r));
      conn.request = ((t: string, h: Record<string, unknown>, body?: Uint8Array) => {
        if (t === "stream.offer") sid = String(h.sid);
        const ctx = () => frameCtx(sid, Number(h.index), "alice", "bob");
        if (t === "stream.frame" && sent.push(decryptFile(key, ctx(), body!)) === 3) third();
        return Promise.resolve({ header: { delivered: true }, body: new Uint8Array(), items: [] });
      }) as unknown as Connection["request"];
      const peers = new PeerStreams(conn, "alice", {
        keyVia: () => ({
          send: (_to, _sid, k) => (key = k, Promise.resolve()),
          receive: () => Promise.reject(new Error("no")),
        }),
      });
      const ac = new AbortController();
      let offered!: () => void;
      const isOffered = new Promise<void>((r) => (offered = r));
      const sending = peers.send("bob", SAMPLE_VIDEO, {
        ffmpeg: TEST_FFMPEG!,
        spawn,
        maxHeight: 240,
        onOffered: offered,
        signal: ac.signal,
      });
      await isOffered;
      await until(() => starts.length > 0, "ffmpeg readied"); // VideoStream spawns a microtask after it is made
      push({ t: "stream.answer", sid, accept: true, ...viewer });
      await thirdFrame;
      ac.abort();
      await sending;
      // The old code restarted ffmpeg at the viewer's size before the first frame: it came from start 2.
      assert.equal((await sent[0]!)[2], 1, "the ready ffmpeg's frame went first, unrestarted");
      if (viewer) assert.equal((await sent[2]!)[2], 2, "later frames from the restart at the viewer's size");
      assert.ok(starts[0]!.height > 200, `readied at the offered size: ${JSON.stringify(starts)}`);
      if (viewer) {
        assert.equal(starts.length, 2, "then one start at the viewer's size");
        assert.ok(starts[1]!.width <= 80 && starts[1]!.height <= 46, JSON.stringify(starts));
      } else assert.equal(starts.length, 1, "no size told: never restarted");
      peers.close();
    },
  });
}

Deno.test({
  name: "PeerStreams.send: ffmpeg readied before the offer goes is stopped when the server refuses the offer",
  ignore: TEST_FFMPEG === null,
  async fn() {
    const { conn } = fakeConn();
    conn.request = ((t: string) =>
      t === "stream.offer"
        ? Promise.reject(new BackendError("no_such_user", "No such user"))
        : Promise.resolve({ header: {}, body: new Uint8Array(), items: [] })) as unknown as Connection[
        "request"
      ];
    const peers = new PeerStreams(conn, "alice", {
      keyVia: () => ({
        send: () =>
          Promise.resolve(),
        receive: () => Promise.reject(new Error("no")),
      }),
    });
    const stopped: boolean[] = [];
    const spawn = (o: MjpegOptions): MjpegSource => {
      const i = stopped.push(false) - 1;
      return {
        pid: 0,
        stop: () => (stopped[i] = true, Promise.resolve()),
        async *[Symbol.asyncIterator]() {
          await new Promise((r) => o.signal?.addEventListener("abort", r, { once: true }));
          if (!o.signal?.aborted) yield new Uint8Array(0); // never: the offer is refused
        },
      };
    };
    await assert.rejects(peers.send("bob", SAMPLE_VIDEO, { ffmpeg: TEST_FFMPEG!, spawn }), /No such user/);
    assert.ok(stopped.every((s) => s), `every ffmpeg started is stopped: ${JSON.stringify(stopped)}`);
    peers.close();
  },
});

Deno.test({
  name:
    "PeerStreams.send: a file the caller readied (`stream`, while logging in) is offered as is, and stopped when the send is refused before its offer",
  ignore: TEST_FFMPEG === null,
  async fn() {
    const { conn, push } = fakeConn();
    const offers: Record<string, unknown>[] = [];
    conn.request = ((t: string, h: Record<string, unknown>) => {
      if (t === "stream.offer") offers.push(h);
      return Promise.resolve({ header: {}, body: new Uint8Array(), items: [] });
    }) as unknown as Connection["request"];
    const blocks = {
      list: () => Promise.resolve(["mallory"]),
      has: (u: string) => Promise.resolve(u === "mallory"),
      set: () => Promise.resolve([]),
    };
    const peers = new PeerStreams(conn, "alice", {
      keyVia: () => ({ send: () => Promise.resolve(), receive: () => Promise.reject(new Error("no")) }),
      blocks: () => blocks,
    });
    const { starts, spawn } = countingSpawn();
    const ffmpeg = TEST_FFMPEG!;
    // Refused before any offer: the caller's ffmpeg is stopped.
    const refused = readyFile(SAMPLE_VIDEO, { ffmpeg, spawn, maxHeight: 120 });
    await assert.rejects(peers.send("mallory", SAMPLE_VIDEO, { ffmpeg, readied: refused }), /blocked/);
    assert.equal((await refused).stream.state, "stopped");
    assert.equal(offers.length, 0);
    // Offered: the readied ffmpeg, at its size, and no second probe or start.
    const readied = readyFile(SAMPLE_VIDEO, { ffmpeg, spawn, maxHeight: 120 });
    let offered!: () => void;
    const isOffered = new Promise<void>((r) => (offered = r));
    const sending = peers.send("bob", SAMPLE_VIDEO, { ffmpeg, readied, onOffered: offered });
    await isOffered;
    const r = await readied;
    assert.deepEqual([offers[0]!.width, offers[0]!.height], [r.offered.width, r.offered.height]);
    assert.equal(r.offered.height, 120);
    push({ t: "stream.answer", sid: offers[0]!.sid, accept: false });
    assert.equal((await sending).reason, "refused");
    assert.equal(r.stream.state, "stopped");
    assert.ok(starts.length <= 2, `one start per readied file at most: ${JSON.stringify(starts)}`);
    peers.close();
  },
});
