/**
 * Watch together, scripted: three viewers (own clocks skewed from the server's, own relay delays,
 * players that run slightly fast or slow) follow one admin's play/pause/seek, and a late joiner.
 * Time is a ManualClock stepped by 10 ms; after each change every viewer's position must agree with
 * the others within STEP_MS once STEP_MS has passed. Hostile: a forged state from a non-admin, a
 * replayed or older state, one re-sent under another id or for another room, changes nothing.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import {
  ClockOffset,
  decodeWatch,
  encodeWatch,
  type Followed,
  positionAt,
  type WatchControl,
  WatchFollower,
  WatchSession,
  type WatchState,
} from "./watch_together.ts";

const ROOM = "movie";
/** The promise: every viewer within this of each other after a change, ms. */
const STEP_MS = 250;
const ADMINS = new Set(["alice"]);
const mayControl = (u: string) => ADMINS.has(u);

/** A player on the viewer's local clock, running at `speed` (drift) with a fixed op latency. */
class FakePlayer implements Followed {
  #pos = 0;
  #paused = true;
  #last: number;
  constructor(readonly clock: ManualClock, readonly speed: number) {
    this.#last = clock.now();
  }
  #advance(): void {
    const t = this.clock.now();
    if (!this.#paused) this.#pos += (t - this.#last) * this.speed;
    this.#last = t;
  }
  get position(): number {
    this.#advance();
    return this.#pos;
  }
  get paused(): boolean {
    return this.#paused;
  }
  pause(): Promise<void> {
    this.#advance();
    this.#paused = true;
    return Promise.resolve();
  }
  resume(): Promise<void> {
    this.#advance();
    this.#paused = false;
    return Promise.resolve();
  }
  seekTo(ms: number): Promise<void> {
    this.#advance();
    this.#pos = ms;
    return Promise.resolve();
  }
}

interface Viewer {
  name: string;
  session: WatchSession;
  player: FakePlayer;
  follower: WatchFollower;
  delayMs: number;
  refused: string[];
}

/** The server's clock is `clock`; each viewer's local clock is off by `skew` and estimated back. */
class Room {
  readonly viewers: Viewer[] = [];
  readonly inFlight: { due: number; to: Viewer; from: string; bytes: Uint8Array; mid: string }[] = [];
  #mid = 0;
  constructor(readonly clock: ManualClock) {}

  join(name: string, o: { skew: number; delayMs: number; speed: number }): Viewer {
    const local = new ManualClock(this.clock.now() + o.skew);
    const off = new ClockOffset();
    // Two replies with asymmetric delays: the estimate is off by at most half a round trip.
    off.sample(local.now(), this.clock.now() + 30, local.now() + 50);
    off.sample(local.now(), this.clock.now() + 12, local.now() + 20);
    const session = new WatchSession(ROOM, mayControl);
    const player = new FakePlayer(local, o.speed);
    const serverNow = () => off.server(local.now());
    const v = {
      name,
      session,
      player,
      follower: new WatchFollower(session, player, serverNow),
      ...o,
      refused: [],
    };
    this.viewers.push(v);
    return v;
  }

  /** `from` seals a control for the room: every other viewer gets it after its own delay. */
  send(from: string, c: WatchControl, mid = `m${++this.#mid}`): void {
    const bytes = encodeWatch(mid, ROOM, c);
    for (const to of this.viewers) {
      if (to.name !== from) this.inFlight.push({ due: this.clock.now() + to.delayMs, to, from, bytes, mid });
    }
  }

  async deliver(to: Viewer, from: string, bytes: Uint8Array, mid: string): Promise<void> {
    const c = decodeWatch(bytes, mid, ROOM);
    if (!c || c.kind === "ask" || c.kind === "has" || c.kind === "time") return;
    if (c.kind === "hello") {
      // Whoever may control answers a late joiner with the current state.
      if (to.session.mayControl(to.name) && to.session.state) {
        this.send(to.name, { kind: "state", state: to.session.state });
      }
      return;
    }
    const v = to.session.receive(from, c.state);
    if (v.ok) await to.follower.sync();
    else to.refused.push(v.why);
  }

  /** Steps time by 10 ms up to `ms`, delivering due messages and ticking followers every 100 ms. */
  async run(ms: number, each?: () => void): Promise<void> {
    for (let t = 0; t < ms; t += 10) {
      this.clock.advance(10);
      for (const v of this.viewers) v.player.clock.advance(10);
      const due = this.inFlight.filter((m) => m.due <= this.clock.now());
      for (const m of due) {
        this.inFlight.splice(this.inFlight.indexOf(m), 1);
        await this.deliver(m.to, m.from, m.bytes, m.mid);
      }
      if ((this.clock.now() / 10) % 10 === 0) { for (const v of this.viewers) await v.follower.sync(); }
      each?.();
    }
  }

  /** The widest gap between two viewers' positions, ms. */
  spread(): number {
    const p = this.viewers.map((v) => v.player.position);
    return Math.max(...p) - Math.min(...p);
  }
}

/** An admin change: applied locally at once, sealed to the others. */
async function act(room: Room, admin: Viewer, c: Parameters<WatchSession["change"]>[1]): Promise<WatchState> {
  const s = admin.session.change(room.clock.now(), c);
  assert.ok(admin.session.receive(admin.name, s).ok);
  await admin.follower.sync();
  room.send(admin.name, { kind: "state", state: s });
  return s;
}

/** After a change, every viewer agrees within STEP_MS from STEP_MS on; the worst gap then. */
async function settle(room: Room, ms = 2000): Promise<number> {
  let t = 0;
  let worst = 0;
  await room.run(ms, () => {
    t += 10;
    if (t >= STEP_MS) worst = Math.max(worst, room.spread());
  });
  assert.ok(worst <= STEP_MS, `viewers ${worst.toFixed(0)} ms apart`);
  return worst;
}

Deno.test("three viewers follow play, pause and seek within the step; a late joiner starts in place", async () => {
  const server = new ManualClock(Date.UTC(2026, 10, 25, 9));
  const room = new Room(server);
  const alice = room.join("alice", { skew: 0, delayMs: 40, speed: 1 });
  room.join("bob", { skew: 3_600_000, delayMs: 150, speed: 1.01 });
  room.join("carol", { skew: -1234, delayMs: 90, speed: 0.99 });
  const worst: number[] = [];
  await act(room, alice, { video: "big-buck.mp4" });
  worst.push(await settle(room));
  await act(room, alice, { pause: true });
  worst.push(await settle(room));
  const paused = room.viewers.map((v) => v.player.position);
  await room.run(1000);
  assert.deepStrictEqual(room.viewers.map((v) => v.player.position), paused, "paused players stay put");
  await act(room, alice, { seek: 60_000 });
  worst.push(await settle(room));
  for (const v of room.viewers) assert.ok(Math.abs(v.player.position - 60_000) <= STEP_MS);
  await act(room, alice, { play: true });
  worst.push(await settle(room, 5000));
  // A late joiner asks; the admin answers with the current state.
  const dave = room.join("dave", { skew: 777, delayMs: 120, speed: 1 });
  room.send("dave", { kind: "hello" });
  await room.run(400);
  assert.ok(Math.abs(dave.player.position - alice.player.position) <= STEP_MS);
  assert.ok(dave.player.position > 60_000);
  worst.push(await settle(room));
  console.log(`watch-together step: worst gap ${Math.max(...worst).toFixed(0)} ms (limit ${STEP_MS})`);
  // The answer to dave reaches bob and carol too: the state they have already, refused as old.
  assert.deepStrictEqual(dave.refused, []);
  for (const v of room.viewers) assert.ok(v.refused.every((w) => w.includes("old or replayed")));
});

Deno.test("hostile: a non-admin's state, a replay, an older state change nothing", async () => {
  const server = new ManualClock(Date.UTC(2026, 10, 25, 9));
  const room = new Room(server);
  const alice = room.join("alice", { skew: 0, delayMs: 40, speed: 1 });
  const bob = room.join("bob", { skew: 0, delayMs: 40, speed: 1 });
  const mallory = room.join("mallory", { skew: 0, delayMs: 40, speed: 1 });
  const first = await act(room, alice, { video: "a.mp4" });
  await room.run(500);
  const second = await act(room, alice, { seek: 10_000 });
  await room.run(500);
  const before = bob.session.state;
  // Forged: a non-admin (authenticated as mallory by the room's sender key) sends a state.
  room.send("mallory", { kind: "state", state: { ...second, n: second.n + 1, pos: 999_000 } });
  // Replayed: alice's first state again (same n as before: old), and the current one again.
  room.send("alice", { kind: "state", state: first });
  room.send("alice", { kind: "state", state: second });
  await room.run(500);
  assert.deepStrictEqual(bob.session.state, before);
  assert.deepStrictEqual(bob.refused.length, 3);
  assert.ok(bob.refused[0]?.includes("may not control"));
  assert.ok(Math.abs(bob.player.position - positionAt(second, server.now())) <= STEP_MS);
  assert.deepStrictEqual(
    mallory.session.state,
    before,
    "mallory's own client refuses it too: it is not her right",
  );
});

Deno.test("decode: re-sent under another id, for another room, malformed, other payloads", () => {
  const s: WatchState = { n: 1, video: "a.mp4", pos: 0, at: 1, paused: false, rate: 1 };
  const b = encodeWatch("m1", ROOM, { kind: "state", state: s });
  assert.deepStrictEqual(decodeWatch(b, "m1", ROOM), { kind: "state", state: s });
  assert.throws(() => decodeWatch(b, "m2", ROOM), /replay/);
  assert.throws(() => decodeWatch(b, "m1", "other"), /another room/);
  for (const bad of [{ n: 0 }, { rate: 0 }, { rate: 100 }, { pos: -1 }, { video: "" }, { at: NaN }]) {
    const e = new TextEncoder().encode(
      JSON.stringify({ v: 1, k: "watch", mid: "m", room: ROOM, ...s, ...bad }),
    );
    assert.throws(() => decodeWatch(e, "m", ROOM), /Malformed/);
  }
  assert.deepStrictEqual(decodeWatch(new TextEncoder().encode('{"k":"text","text":"hi"}'), "m", ROOM), null);
  assert.deepStrictEqual(decodeWatch(new TextEncoder().encode("not json"), "m", ROOM), null);
});

Deno.test("clock offset: the shortest round trip wins", () => {
  const o = new ClockOffset();
  o.sample(1000, 5000 + 1100, 1300); // rtt 300, server 100 ms after sent on a +4000 clock... noisy
  o.sample(2000, 6000 + 10, 2020); // rtt 20: offset 4000 ± 10
  o.sample(3000, 9999, 3500); // slower: ignored
  assert.deepStrictEqual(o.offset, 4000);
  assert.deepStrictEqual(o.server(10), 4010);
});

Deno.test("session: two admins changing at once end in the same state everywhere", () => {
  const both = (u: string) => u === "a" || u === "b";
  const x = new WatchSession(ROOM, both);
  const y = new WatchSession(ROOM, both);
  const s0: WatchState = { n: 1, video: "v", pos: 0, at: 100, paused: false, rate: 1 };
  x.receive("a", s0);
  y.receive("a", s0);
  const fromA = x.change(200, { pause: true });
  const fromB = y.change(200, { seek: 5000 });
  x.receive("a", fromA);
  x.receive("b", fromB);
  y.receive("b", fromB);
  y.receive("a", fromA);
  assert.deepStrictEqual(x.state, y.state);
  assert.deepStrictEqual(x.by, "b");
});
