import assert from "node:assert/strict";
import { type Frame, FrameDecoder } from "../protocol/frame.ts";
import { Hub, msgFields, msgText, PRESENCE_TICK_MAX_MS, PRESENCE_TICK_MS, presenceTickMs } from "./hub.ts";
import { COPY_MAX, Outbox } from "./outbox.ts";
import type { StoredMessage } from "./store/store.ts";
import { Session } from "./session.ts";
import { liveSession } from "./session_testing.ts";
import type { TokenBucket } from "./rate.ts";
import { SHORT_SINCE_MS } from "../protocol/messages.ts";
import { ManualTimers } from "../common/clock_testing.ts";

/** A live session whose outbox only counts and keeps the frames pushed to it. */
function countingSession(hub: Hub, user: string): { frames: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  const outbox = { push: (f: Uint8Array) => (frames.push(f), true) } as unknown as Outbox;
  liveSession(hub, user, outbox);
  return { frames };
}

const headers = (frames: Uint8Array[]) =>
  frames.flatMap((f) => new FrameDecoder().push(f).map((x) => x.header));

Deno.test("a storm of K logins sends each live session one presence frame per tick, not K", () => {
  const timers = new ManualTimers();
  const hub = new Hub(timers);
  try {
    const watchers = Array.from({ length: 50 }, (_, i) => countingSession(hub, `w${i}`));
    const K = 400;
    // The storm: K logins spread over ten ticks (groups of 40, a tick between groups).
    for (let i = 0; i < K; i++) {
      hub.presence({ user: `u${i}`, online: true, status: "free", since: i });
      if (i % 40 === 39) timers.advance(PRESENCE_TICK_MS);
    }
    assert.equal(timers.pending, 0, "every tick has run");
    assert.deepEqual(timers.asked, Array(K / 40).fill(PRESENCE_TICK_MS), "one timer a tick, not one a login");
    for (const w of watchers) {
      assert.equal(
        w.frames.length,
        K / 40,
        `${w.frames.length} presence frames for ${K / 40} ticks (K = ${K})`,
      );
      // Every login arrived, each once, in order.
      const changes = headers(w.frames).flatMap((h) =>
        h.t === "presences"
          ? [
            ...(h.on as [string][]).map(([user]) => ({ user })),
            ...(h.off as string[]).map((user) => ({ user })),
          ]
          : [h]
      );
      assert.deepEqual(changes.map((c) => c.user), Array.from({ length: K }, (_, i) => `u${i}`));
    }
    assert.equal(hub.presenceFrames, watchers.reduce((n, w) => n + w.frames.length, 0));
  } finally {
    hub.close();
  }
});

Deno.test("presence: one change is a plain presence frame; a later change of the same user replaces it", () => {
  const timers = new ManualTimers();
  const hub = new Hub(timers);
  try {
    const w = countingSession(hub, "watcher");
    hub.presence({ user: "bob", online: true, status: "free", since: 5 });
    timers.advance(PRESENCE_TICK_MS - 1);
    assert.equal(w.frames.length, 0, "held until the tick");
    timers.advance(1);
    assert.equal(w.frames.length, 1, "sent on the tick");
    hub.presence({ user: "carol", online: true, status: "free", since: 6 });
    hub.presence({ user: "carol", online: false });
    hub.flushPresence();
    assert.deepEqual(headers(w.frames), [
      { t: "presence", user: "bob", online: true, status: "free", since: 5 },
      { t: "presence", user: "carol", online: false },
    ]);
    // Several changes in one tick: one compact frame.
    hub.presence({ user: "dave", online: true, status: "busy", since: 7 });
    hub.presence({ user: "erin", online: false });
    hub.presence({ user: "bob", online: true, status: "free", since: 8 });
    hub.flushPresence();
    assert.deepEqual(headers(w.frames).slice(2), [
      { t: "presences", on: [["dave", "busy", 7], ["bob", "free", 8]], off: ["erin"] },
    ]);
    hub.close();
    hub.presence({ user: "dave", online: true });
    hub.flushPresence();
    assert.equal(w.frames.length, 3, "nothing after close");
  } finally {
    hub.close();
  }
});

Deno.test("presence: a session that reads the short form gets a tick's fresh logins as names alone, others the full form", () => {
  const hub = new Hub();
  try {
    const frames: Uint8Array[][] = [[], []];
    const box = (i: number) => ({ push: (f: Uint8Array) => (frames[i]!.push(f), true) }) as unknown as Outbox;
    liveSession(hub, "old", box(0));
    liveSession(hub, "new", box(1)).shortPresence = true;
    hub.presence({ user: "bob", online: true, status: "free", since: 10_000 });
    hub.presence({ user: "dave", online: true, status: "busy", since: 10_200 }); // busy: in full
    hub.presence({ user: "erin", online: false });
    hub.presence({ user: "carol", online: true, status: "free", since: 10_900 });
    // Free again after a while busy: online since long before this tick, so in full.
    hub.presence({ user: "fred", online: true, status: "free", since: 2_000 });
    hub.presence({ user: "gina", online: true, status: "free", since: 10_900 - SHORT_SINCE_MS });
    hub.flushPresence();
    const full = [["bob", "free", 10_000], ["dave", "busy", 10_200], ["carol", "free", 10_900]];
    full.push(["fred", "free", 2_000], ["gina", "free", 10_900 - SHORT_SINCE_MS]);
    assert.deepEqual(headers(frames[0]!), [{ t: "presences", on: full, off: ["erin"] }]);
    assert.deepEqual(headers(frames[1]!), [{
      t: "presences",
      at: 10_900,
      on: ["bob", ["dave", "busy", 10_200], "carol", ["fred", "free", 2_000], "gina"],
      off: ["erin"],
    }]);
    assert.equal(hub.presenceFrames, 2);
    // One change is the plain frame for both.
    hub.presence({ user: "bob", online: false });
    hub.flushPresence();
    assert.deepEqual(headers(frames[0]!.slice(1)), headers(frames[1]!.slice(1)));
  } finally {
    hub.close();
  }
});

Deno.test("presence: the tick grows with the live sessions, so a storm costs a bounded number of frames", () => {
  assert.equal(presenceTickMs(0), PRESENCE_TICK_MS);
  assert.equal(presenceTickMs(100), PRESENCE_TICK_MS);
  assert.equal(presenceTickMs(1000), 500);
  assert.equal(presenceTickMs(100_000), PRESENCE_TICK_MAX_MS);
  const timers = new ManualTimers();
  const hub = new Hub(timers);
  try {
    const watchers = Array.from({ length: 1000 }, (_, i) => countingSession(hub, `w${i}`));
    hub.presence({ user: "first", online: true });
    hub.flushPresence(); // counts the live sessions: the next tick is 500 ms
    const K = 300;
    for (let i = 0; i < K; i++) {
      hub.presence({ user: `u${i}`, online: true, status: "free", since: i });
      if (i % 30 === 29) timers.advance(60);
    }
    timers.advance(PRESENCE_TICK_MAX_MS); // the last tick
    // 600 ms of logins: at 50 ms ticks that was 12 frames per watcher; at 500 ms, 2.
    assert.deepEqual(timers.asked.slice(1), [500, 500], "the ticks after 1000 sessions were counted");
    for (const w of watchers) {
      assert.equal(w.frames.length - 1, 2, `${w.frames.length - 1} frames for a 600 ms storm`);
      const users = headers(w.frames.slice(1)).flatMap((h) =>
        h.t === "presences" ? (h.on as [string][]).map(([u]) => u) : [h.user as string]
      );
      assert.deepEqual(users, Array.from({ length: K }, (_, i) => `u${i}`));
    }
  } finally {
    hub.close();
  }
});

/** A logged-in session on a real Outbox whose socket keeps a copy of every write. */
function recordingSession(hub: Hub, user: string): { s: Session; got: () => Frame[] } {
  const bytes: number[] = [];
  const sock = { write: (p: Uint8Array) => (bytes.push(...p), Promise.resolve(p.length)) };
  const s = new Session(
    `127.0.0.1:${2000 + hub.sessions.size}`,
    0,
    new Outbox(sock, 1 << 30, () => {}, () => {}),
    {} as TokenBucket,
    () => {},
  );
  s.state = "ready";
  s.user = user;
  hub.add(s);
  hub.login(s);
  return { s, got: () => new FrameDecoder().push(new Uint8Array(bytes)) };
}

Deno.test("fan-out: each recipient gets each stored message's own bytes, live or held while it syncs", async () => {
  const hub = new Hub();
  try {
    const bob = recordingSession(hub, "bob"),
      syncing = recordingSession(hub, "bob"),
      alice = recordingSession(hub, "alice");
    bob.s.delivery = "live";
    alice.s.delivery = "live";
    syncing.s.beginSync();
    hub.rooms.set("dev", new Set(["alice", "bob"]));
    const sent: StoredMessage[] = [];
    const msg = (seq: number, kind: "user" | "room", size: number): StoredMessage => ({
      seq,
      mid: `mid-${seq}-xxxxx`,
      sender: "alice",
      kind,
      target: kind === "user" ? "bob" : "dev",
      conv: kind === "user" ? "d:alice:bob" : "r:dev",
      ts: 1000 + seq,
      body: new Uint8Array(size).fill(seq),
    });
    // Small ones share one reused buffer, a big one (over COPY_MAX) has its own.
    for (
      const m of [msg(1, "user", 100), msg(2, "room", 50), msg(3, "user", COPY_MAX + 10), msg(4, "user", 7)]
    ) {
      sent.push(m);
      hub.fanOut(m, alice.s);
    }
    syncing.s.endSync(0);
    await Promise.all([bob.s.outbox.drained(), syncing.s.outbox.drained(), alice.s.outbox.drained()]);
    const header = (m: StoredMessage) => ({
      t: "msg",
      seq: m.seq,
      mid: m.mid,
      from: m.sender,
      to: { kind: m.kind, name: m.target },
      ts: m.ts,
      conv: m.conv,
    });
    const want = sent.map((m) => ({ header: header(m), body: m.body }));
    for (const r of [bob, syncing]) {
      assert.deepEqual(r.got().map((f) => ({ header: f.header, body: f.body.slice() })), want);
    }
    assert.deepEqual(alice.got(), [], "never to the sending session");
  } finally {
    hub.close();
  }
});

Deno.test("msg fields: a history page's frames name their request, a fan-out's none; a broadcast has no name", () => {
  const m: StoredMessage = {
    seq: 9,
    mid: "mid-9-xxxxxx",
    sender: "alice",
    kind: "room",
    target: "dev",
    conv: "r:dev",
    ts: 1009,
    body: new Uint8Array(3),
  };
  const want = {
    seq: 9,
    mid: m.mid,
    from: "alice",
    to: { kind: "room", name: "dev" },
    ts: 1009,
    conv: "r:dev",
  };
  assert.deepEqual(JSON.parse(msgText(m, 4)), { t: "msg", ...want, req: 4 });
  assert.deepEqual(JSON.parse(msgText(m)), { t: "msg", ...want });
  const b = { ...m, kind: "broadcast" as const, target: "", conv: "b" };
  assert.deepEqual(msgFields(b, 2).to, { kind: "broadcast" });
  assert.deepEqual(msgFields(m).to, { kind: "room", name: "dev" }, "a named target after a broadcast");
});
