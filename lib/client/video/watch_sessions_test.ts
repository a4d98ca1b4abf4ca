/**
 * The rules watch_sessions.ts holds for every watch-together surface (issue 70.1), two users' sessions
 * joined in memory on an injected clock (bob's 7 s ahead): a DM's times are its reference party's
 * clock (alice's, first in "d:alice:bob"), the other estimating it and the reference reading its own
 * after one round trip; a change is told with its step only when fresh; a session not open here is
 * told `invited` once a video; a session's video is told once a video; only a DM's questions are
 * answered; `hear`, every surface's hand-off of the core's events, names a signal's session as its
 * sessions name it (a key as is; a peer's DM by its other party) and takes nothing else; sessions
 * over a core hear it from the start until closed.
 */
import assert from "node:assert/strict";
import { convKey } from "../../protocol/names.ts";
import { encodeWatch } from "./watch_together.ts";
import type { BackendEvent, Target, WatchChannel } from "../backend.ts";
import { CLOCK_SAMPLES, dmParties } from "./watch_channel.ts";
import { FRESH_MS, freshStep, type SessionEvent, WatchSessions } from "./watch_sessions.ts";

let t = 1_000_000;

/** One user's sessions, its signals handed to `other` when `flush` says. */
class User extends WatchSessions {
  other!: User;
  held: (() => void)[] = [];
  got: SessionEvent[] = [];
  /** Clock questions sent. */
  asked = 0;

  constructor(me: string, skew: number) {
    super({ me, now: () => t + skew, keyOf: (p) => convKey("user", me, p), resampleMs: 0 });
    this.on((e) => this.got.push(e));
  }

  protected override channelOf(peer: string): WatchChannel {
    const key = this.o.keyOf(peer), me = this.o.me;
    return {
      signal: (_key, payload) => {
        const mid = crypto.randomUUID().replaceAll("-", ""), plaintext = payload(mid);
        const p = JSON.parse(new TextDecoder().decode(plaintext));
        if (p.time !== undefined && p.now === undefined) this.asked++;
        this.other.held.push(() => this.other.signal(me, { from: me, mid, plaintext }));
        queueMicrotask(() => this.other.flush());
        return Promise.resolve();
      },
      roomAdmins: () => Promise.resolve(dmParties(key)!),
      serverTime: this.partyTime(peer),
    };
  }

  /** Delivers what arrived, unless held back (`hold`). */
  hold = false;
  flush(): void {
    if (this.hold) return;
    for (const d of this.held.splice(0)) d();
  }
}

function pair() {
  const a = new User("alice", 0), b = new User("bob", 7000);
  a.other = b;
  b.other = a;
  return { a, b, close: () => (a.close(), b.close()) };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("watch sessions: a DM's clock is its reference party's — estimated by the other, read by the reference", async () => {
  const { a, b, close } = pair();
  try {
    await Promise.all([a.join("bob"), b.join("alice")]);
    assert.equal(a.session("bob")!.o.serverNow(), t, "alice reads her own clock");
    assert.equal(b.session("alice")!.o.serverNow(), t, "bob's 7 s are taken off");
    assert.deepEqual([a.asked, b.asked], [1, CLOCK_SAMPLES], "the reference asks once (is the peer there?)");
  } finally {
    close();
  }
});

Deno.test("watch sessions: a change is told with its step only when fresh", async () => {
  assert.equal(freshStep(FRESH_MS), FRESH_MS);
  assert.equal(freshStep(FRESH_MS + 1), undefined);
  assert.equal(freshStep(-3), 0);
  const { a, b, close } = pair();
  try {
    await Promise.all([a.join("bob"), b.join("alice")]);
    await a.start("bob", "film");
    await settle();
    const steps = () => b.got.flatMap((e) => e.type === "watch" && e.event.type === "state" ? [e.step] : []);
    assert.deepEqual(steps(), [0], "told at once: a step of 0 ms");
    b.hold = true;
    await a.control("bob", { pause: true });
    t += FRESH_MS + 1000; // the pause reaches bob 6 s after it was made
    b.hold = false;
    b.flush();
    await settle();
    assert.deepEqual(steps(), [0, undefined], "an old change: no step");
  } finally {
    close();
  }
});

Deno.test("watch sessions: `invited` and `video` are told once a video", async () => {
  const { a, b, close } = pair();
  try {
    await a.join("bob"); // bob answers the clock questions, watching or not
    await a.start("bob", "film");
    await a.control("bob", { pause: true });
    await a.start("bob", "film"); // playing it already: joins
    await a.start("bob", "other");
    await settle();
    const invited = b.got.flatMap((e) => e.type === "invited" ? [e.state.video] : []);
    assert.deepEqual(invited, ["film", "other"]);
    const videos = a.got.flatMap((e) => e.type === "video" ? [e.path] : []);
    assert.deepEqual(videos, ["film", "other"]);
  } finally {
    close();
  }
});

Deno.test("watch sessions: a clock question is answered in a DM, never in a room (every member would answer it)", () => {
  let sent = 0;
  const ws = new WatchSessions({
    me: "alice",
    now: () => t,
    keyOf: (key) => key,
    channel: {
      signal: () => (sent++, Promise.resolve()),
      roomAdmins: () => Promise.resolve(["alice"]),
      serverTime: () => Promise.resolve(t),
    },
    resampleMs: 0,
  });
  const ask = (key: string) =>
    ws.signal(key, {
      from: "mallory",
      mid: "m1",
      plaintext: encodeWatch("m1", key, { kind: "time", sent: 1 }),
    });
  ask("general");
  assert.equal(sent, 0, "a room's question: no answer");
  ask(convKey("user", "alice", "mallory"));
  assert.equal(sent, 1, "a DM's question: answered");
  ws.close();
});

Deno.test("watch sessions: `hear` hands a signal the core opened to the session its key names, nothing else", () => {
  const heard: string[] = [];
  class Ears extends WatchSessions {
    override signal(name: string): void {
      heard.push(name);
    }
  }
  const plaintext = new TextEncoder().encode("{}");
  const sig = (to: Target) => ({ type: "signal" as const, from: "alice", to, mid: "m1", plaintext });
  // A client of a server names sessions by key; peer mode by peer (its key the DM's, "d:alice:bob").
  const byKey = new Ears({ me: "bob", now: () => t, keyOf: (k) => k, resampleMs: 0 });
  const byPeer = new Ears({
    me: "bob",
    now: () => t,
    keyOf: (p) => convKey("user", "bob", p),
    resampleMs: 0,
  });
  for (const ws of [byKey, byPeer]) {
    ws.hear(sig({ kind: "room", name: "den" }));
    ws.hear(sig({ kind: "user", name: "bob" }));
    ws.hear(sig({ kind: "broadcast" }));
    ws.hear({ type: "typing", from: "alice", to: { kind: "user", name: "bob" }, active: true });
  }
  assert.deepEqual(heard, ["den", "d:alice:bob", "alice"]);
});

Deno.test("watch sessions over a core: they hear its events from the start, and no more once closed", () => {
  const listeners = new Set<(e: BackendEvent) => void>();
  const core = {
    user: "alice",
    signal: () => Promise.resolve(true),
    on: (l: (e: BackendEvent) => void) => (listeners.add(l), () => void listeners.delete(l)),
  };
  const ws = new WatchSessions({ me: "alice", now: () => t, keyOf: (k) => k, resampleMs: 0, core });
  const got: SessionEvent[] = [];
  ws.on((e) => got.push(e));
  const bad = new TextEncoder().encode(JSON.stringify({ k: "watch", v: 2 }));
  const tell = (e: BackendEvent) => [...listeners].forEach((l) => l(e));
  tell({ type: "signal", from: "bob", to: { kind: "room", name: "den" }, mid: "m1", plaintext: bad });
  assert.deepEqual(got.map((e) => e.type === "watch" && e.event.type), ["refused"], "heard: refused");
  ws.close();
  assert.equal(listeners.size, 0, "closed: no longer heard");
});
