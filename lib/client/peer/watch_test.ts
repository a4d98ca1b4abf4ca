/**
 * Watch together in peer mode (issue 39.7), two real nodes on loopback: the copy offered when the
 * peer has none, pause/seek/play by either peer reaching the other's player on its signal, with no
 * drift tick fired (injected timers; the worst step printed), a late start at the current position on a peer whose clock is 7 s off, forged,
 * replayed and misdirected controls refused, and a peer that does not know the signal.
 */
import assert from "node:assert/strict";
import { type Clock, ManualClock, systemClock, type Timers } from "../../common/clock.ts";
import { ManualTimers } from "../../common/clock_testing.ts";
import { convKey } from "../../protocol/names.ts";
import { encodeWatch, type Followed, type WatchState } from "../video/watch_together.ts";
import { Playhead } from "../video/watch_viewer.ts";
import { PeerNode } from "./node.ts";
import { nextEvent, say, testNode } from "./events_testing.ts";
import type { PeerWatchEvent } from "./watch.ts";
import { until } from "../../common/wait_testing.ts";

const node = testNode;

/** A playhead that notes when it was told to pause, resume or seek (performance.now()). */
class Recorder extends Playhead {
  told: { what: string; at: number }[] = [];
  #note(what: string) {
    this.told.push({ what, at: performance.now() });
  }
  override pause() {
    this.#note("pause");
    return super.pause();
  }
  override resume() {
    this.#note("resume");
    return super.resume();
  }
  override seekTo(ms: number) {
    this.#note("seek");
    return super.seekTo(ms);
  }
}

/**
 * Two connected nodes (alice, bob), each recording its players; alice on `clock`, bob's `skew` ms ahead of
 * it; with `out`, bob saves what he receives in `dir`/out. `dir` holds the pair's videos; `close` removes it.
 */
async function pair(skew = 0, out = false, clock: Clock = systemClock, timers?: Timers) {
  const dir = await Deno.makeTempDir({ prefix: "parley-watch-" });
  if (out) await Deno.mkdir(`${dir}/out`);
  const a = await node("alice", { clock, ...(timers ? { timers } : {}) });
  const b = await node("bob", {
    clock: { now: () => clock.now() + skew },
    ...(timers ? { timers } : {}),
    ...(out ? { out: `${dir}/out` } : {}),
  });
  const players = new Map<string, Recorder>();
  for (const n of [a, b]) {
    n.watch.player = () => {
      const p = new Recorder(() => n.clock.now());
      players.set(n.name, p);
      return p;
    };
  }
  const up = Promise.all([
    nextEvent(a, (e) => e.type === "presence" && e.online),
    nextEvent(b, (e) => e.type === "presence" && e.online),
  ]);
  await a.connect(`127.0.0.1:${b.port}`);
  await up;
  const close = async () => {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  };
  return { a, b, players, dir, close };
}

/** A 50 kB "video" of random bytes in `dir`. */
async function video(dir: string): Promise<string> {
  const path = `${dir}/${crypto.randomUUID()}.mp4`;
  await Deno.writeFile(path, crypto.getRandomValues(new Uint8Array(50_000)));
  return path;
}

function events(n: PeerNode): PeerWatchEvent[] {
  const got: PeerWatchEvent[] = [];
  n.watch.on((e) => got.push(e));
  return got;
}

Deno.test("peer watch: the copy is offered first; pause, seek and play by either peer reach the other's player at once (no drift tick)", async () => {
  // The drift ticks wait on timers that never fire here: a control that reaches the other's player
  // did so on its own signal, not on a tick (the step, in ms, is printed as a figure).
  const timers = new ManualTimers();
  const { a, b, players, dir, close } = await pair(0, true, systemClock, timers);
  try {
    const path = await video(dir);
    b.on((e) => void (e.type === "file.offer" && b.files.accept().catch(() => {})));
    const notes = events(a);
    const first = await a.watch.start("bob", path);
    assert.equal(first.n, 1);
    assert.ok(notes.some((e) => e.type === "note" && /bob holds no copy .*offering it/.test(e.text)));
    await b.watch.join("alice");
    await until(() => b.watch.session("alice")?.session.state?.n === 1, "bob hears the state");
    let worst = 0;
    const steps: Array<[PeerNode, string, { pause?: true; play?: true; seek?: number }, string]> = [
      [a, "bob", { pause: true }, "pause"],
      [b, "alice", { seek: 20_000 }, "seek"],
      [a, "bob", { play: true }, "resume"],
      [b, "alice", { pause: true }, "pause"],
      [a, "bob", { seek: 3_000 }, "seek"],
      [b, "alice", { play: true }, "resume"],
    ];
    for (const [who, peer, c, what] of steps) {
      const other = players.get(who === a ? "bob" : "alice")!;
      const t0 = performance.now();
      await who.watch.control(peer, c);
      await until(() => other.told.some((t) => t.at >= t0 && t.what === what), `${what} reaches the other`);
      const step = other.told.find((t) => t.at >= t0 && t.what === what)!.at - t0;
      worst = Math.max(worst, step);
    }
    console.log(`peer watch together: worst step ${worst.toFixed(1)} ms over ${steps.length} controls`);
    assert.ok(timers.pending >= 2, "each side's drift tick is armed, and none fired");
    const [pa, pb] = [a.watch.position("bob"), b.watch.position("alice")];
    assert.ok(Math.abs(pa - pb) < 100, `in step: ${pa} vs ${pb}`);
  } finally {
    await close();
  }
});

Deno.test("peer watch: a late start begins at the current position, on the starter's clock though the joiner's is 7 s off", async () => {
  const clock = new ManualClock(Date.now()); // both players' time: it moves when the test says
  const { a, b, dir, close } = await pair(7000, true, clock);
  try {
    const path = await video(dir);
    const bobs = events(b);
    b.on((e) => void (e.type === "file.offer" && b.files.accept().catch(() => {})));
    await a.watch.start("bob", path); // bob gets his copy through the transfer first
    await until(() => bobs.some((e) => e.type === "invited"), "bob is told alice plays");
    await a.watch.control("bob", { pause: true });
    await a.watch.control("bob", { play: true });
    // The fence: a text sent after the controls is opened after them (one ratchet, one lock, in the
    // order they came), so an invitation either made comes before it.
    const fence = nextEvent(b, (e) => e.type === "message" && e.message.text === "after the controls");
    await say(a, "bob", "after the controls");
    await fence;
    assert.equal(
      bobs.filter((e) => e.type === "invited").length,
      1,
      "told once a video, not at every control",
    );
    clock.advance(1500); // alice plays on for 1.5 s before bob joins
    await b.watch.join("alice");
    await until(() => bobs.some((e) => e.type === "video" && e.path !== null), "bob plays his copy");
    const [pa, pb] = [a.watch.position("bob"), b.watch.position("alice")];
    assert.ok(pa >= 1500, `alice played on: ${pa}`);
    assert.equal(pb, pa, "bob starts where alice is");
    assert.equal((await a.watch.start("bob", path)).n, 3, "a second start of the same video joins it");
    assert.equal(b.watch.session("alice")!.session.state!.n, 3);
  } finally {
    await close();
  }
});

Deno.test("peer watch (hostile): forged, replayed, misdirected and stale controls are refused and change nothing", async () => {
  const { a, b, players, dir, close } = await pair(0, true);
  const carol = await node("carol");
  try {
    const path = await video(dir);
    b.on((e) => void (e.type === "file.offer" && b.files.accept().catch(() => {})));
    const sent: { mid: string; body: Uint8Array }[] = [];
    const signal = a.link.signal.bind(a.link);
    a.link.signal = (to, mid, body) => (sent.push({ mid, body }), signal(to, mid, body));
    const s1 = await a.watch.start("bob", path);
    await b.watch.join("alice");
    await until(() => b.watch.session("alice")?.session.state?.n === 1, "bob hears the state");
    await a.watch.control("bob", { pause: true });
    await until(() => b.watch.session("alice")?.session.state?.n === 2, "bob hears the pause");
    const before = JSON.stringify(b.watch.session("alice")!.session.state);
    const told = players.get("bob")!.told.length;
    const heard = events(b);
    const refused = () => heard.filter((e) => e.type === "watch" && e.event.type === "refused");
    const warned: string[] = [];
    b.on((e) => void (e.type === "notice" && e.level === "warn" && warned.push(e.text)));
    const key = convKey("user", "alice", "bob");
    const st = (n: number): WatchState => ({ ...s1, n, pos: 99_000, paused: false });
    const send = (p: (mid: string) => Uint8Array) => a.client.signal({ kind: "user", name: "bob" }, p);
    await send((mid) => encodeWatch(mid, "d:bob:carol", { kind: "state", state: st(9) })); // another session
    await send(() => encodeWatch("f".repeat(32), key, { kind: "state", state: st(9) })); // another id (replay)
    await send((mid) => encodeWatch(mid, key, { kind: "state", state: st(2) })); // not newer
    await send((mid) =>
      new TextEncoder().encode(JSON.stringify({ v: 1, k: "watch", mid, room: key, n: -1 }))
    );
    await send((mid) => encodeWatch(mid, key, { kind: "time", sent: 1, now: 5 })); // an answer to nothing
    for (const r of sent.slice(-6)) b.link.signalled("alice", r); // envelopes replayed: the ratchet says no
    b.link.signalled("alice", { mid: "a".repeat(32), body: crypto.getRandomValues(new Uint8Array(90)) });
    // carol's control of alice and bob's session: it is sealed by carol, so it is the bob–carol DM's.
    await carol.connect(`127.0.0.1:${b.port}`);
    await until(() => carol.peers().some((p) => p.name === "bob" && p.online), "carol is connected");
    await carol.client.signal(
      { kind: "user", name: "bob" },
      (mid) => encodeWatch(mid, key, { kind: "state", state: st(9) }),
    );
    await until(() => refused().length >= 5 && warned.length >= 7, "every hostile control answered");
    assert.equal(JSON.stringify(b.watch.session("alice")!.session.state), before, "nothing changed");
    assert.equal(players.get("bob")!.told.length, told, "bob's player was not touched");
    const whys = refused().map((e) => e.type === "watch" && e.event.type === "refused" ? e.event.why : "");
    assert.ok(whys.some((w) => /another room/.test(w)), whys.join("; "));
    assert.ok(whys.some((w) => /another id/.test(w)), whys.join("; "));
    assert.ok(whys.some((w) => /old or replayed/.test(w)), whys.join("; "));
    assert.ok(whys.some((w) => /Malformed/.test(w)), whys.join("; "));
    assert.ok(warned.every((w) => /could not be opened/.test(w)), warned.join("; "));
    // The session still works.
    await a.watch.control("bob", { play: true });
    await until(() => b.watch.session("alice")?.session.state?.n === 3, "a real control still applies");
  } finally {
    await Promise.all([close(), carol.close()]);
  }
});

Deno.test("peer watch: a copy the peer refuses starts nothing, and says why", async () => {
  const { a, b, dir, close } = await pair(0, true);
  try {
    const path = await video(dir);
    b.on((e) => void (e.type === "file.offer" && b.files.reject()));
    await assert.rejects(
      a.watch.start("bob", path),
      /^BackendError: bob has no copy of .* and did not take it: /,
    );
    assert.ok(!a.watch.session("bob")?.session.state, "nothing plays");
  } finally {
    await close();
  }
});

Deno.test("peer watch: a peer that does not know the signal is named as too old; the channel stays up", async () => {
  const { a, b, dir, close } = await pair();
  try {
    b.watch.close(); // as a 0.5 node: signals reach nobody
    await assert.rejects(a.watch.start("bob", await video(dir)), /did not answer.*0\.6/);
    const got = nextEvent(b, (e) => e.type === "message" && e.message.text === "still here");
    await say(a, "bob", "still here");
    await got;
  } finally {
    await close();
  }
});

/** The players type-check as `Followed`. */
const _typed: Followed = new Recorder(() => 0);
