/**
 * WatchRoom over an in-memory channel of sealed room signals (what the end-to-end codec relays):
 * an admin starts, pauses and seeks; two viewers follow at once; a late joiner is answered with the
 * current state; a non-admin's control is refused (at the sender and at every receiver) and a
 * signal re-sent under another message id is refused; a server replaying earlier sealed states verbatim
 * (same id, same bytes) moves no viewer back (issue 69 "Also"); the lines `watch-together` prints.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import type { Followed } from "./watch_together.ts";
import { type SealedRoomSignals, watchLine, WatchRoom } from "./watch_room.ts";

class Player implements Followed {
  position = 0;
  paused = true;
  pause() {
    this.paused = true;
    return Promise.resolve();
  }
  resume() {
    this.paused = false;
    return Promise.resolve();
  }
  seekTo(ms: number) {
    this.position = ms;
    return Promise.resolve();
  }
}

type Cb = Parameters<SealedRoomSignals["onSignal"]>[0];

/** Every member's channel: a send reaches every subscriber, authenticated as its sender. */
class Hub {
  readonly subs: Cb[] = [];
  #n = 0;
  channel(me: string): SealedRoomSignals {
    return {
      send: (room, payload) => {
        const mid = `m${++this.#n}`;
        this.deliver({ from: me, room, mid, plaintext: payload(mid) });
        return Promise.resolve();
      },
      onSignal: (cb) => {
        this.subs.push(cb);
        return () => this.subs.splice(this.subs.indexOf(cb), 1);
      },
    };
  }
  deliver(s: Parameters<Cb>[0]): void {
    for (const cb of [...this.subs]) cb(s);
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("watch room: admin controls, viewers follow, late joiner, hostile controls refused", async () => {
  const clock = new ManualClock(1_000_000);
  const hub = new Hub();
  const lines: Record<string, string[]> = {};
  const rooms: Record<string, WatchRoom> = {};
  const players: Record<string, Player> = {};
  const join = (me: string) => {
    lines[me] = [];
    players[me] = new Player();
    rooms[me] = new WatchRoom({
      room: "movie",
      me,
      channel: hub.channel(me),
      player: players[me],
      serverNow: () => clock.now(),
      mayControl: (u) => u === "alice",
      onChange: (e) => lines[me]!.push(watchLine(e)),
    });
    return rooms[me]!;
  };
  const alice = join("alice");
  join("bob");
  const mallory = join("mallory");
  await alice.control({ video: "film.mp4" });
  await settle();
  clock.advance(10_000);
  await alice.control({ pause: true });
  await settle();
  for (const p of Object.values(players)) assert.deepStrictEqual([p.position, p.paused], [10_000, true]);
  await assert.rejects(() => mallory.control({ seek: 0 }), /only an admin/);
  // mallory's client is hostile: she seals a state herself.
  const forged = new TextEncoder().encode(JSON.stringify({
    v: 1,
    k: "watch",
    mid: "x1",
    room: "movie",
    n: 99,
    video: "film.mp4",
    pos: 0,
    at: clock.now(),
    paused: false,
    rate: 1,
  }));
  hub.deliver({ from: "mallory", room: "movie", mid: "x1", plaintext: forged });
  // alice's pause, re-sent under another message id (a replay).
  hub.deliver({ from: "alice", room: "movie", mid: "x2", plaintext: forged.slice() });
  // mallory re-sends alice's current state as her own: refused too, not taken for an answer to a hello.
  const current = { v: 1, k: "watch", mid: "x3", room: "movie", ...rooms.bob!.session.state };
  hub.deliver({
    from: "mallory",
    room: "movie",
    mid: "x3",
    plaintext: new TextEncoder().encode(JSON.stringify(current)),
  });
  await settle();
  assert.deepStrictEqual([players.bob!.position, players.bob!.paused], [10_000, true]);
  assert.deepStrictEqual(lines.bob, [
    "playing film.mp4 at 0.000s by alice (n 1)",
    "paused film.mp4 at 10.000s by alice (n 2)",
    "refused mallory: mallory may not control #movie's video",
    "refused alice: The watch control was re-sent under another id (replay)",
    "refused mallory: mallory may not control #movie's video",
  ]);
  await alice.control({ seek: 42_000, play: true });
  await settle();
  clock.advance(3000);
  const dave = join("dave");
  await dave.join();
  await settle();
  assert.deepStrictEqual([players.dave!.position, players.dave!.paused], [45_000, false]);
  assert.deepStrictEqual(lines.dave, ["playing film.mp4 at 42.000s by alice (n 3)"]);
  assert.equal(lines.bob!.length, 6, "the answer to dave is not news to bob");
  for (const r of Object.values(rooms)) r.close();
  assert.equal(hub.subs.length, 0);
});

Deno.test("watch room: a server replaying earlier sealed states verbatim does not move a viewer back", async () => {
  const clock = new ManualClock(1_000_000);
  const hub = new Hub();
  const sent: Parameters<Cb>[0][] = []; // what the server relayed, kept to replay
  const deliver = hub.deliver.bind(hub);
  hub.deliver = (s) => {
    sent.push(s);
    deliver(s);
  };
  const room = (me: string, player: Player, lines: string[]) =>
    new WatchRoom({
      room: "movie",
      me,
      channel: hub.channel(me),
      player,
      serverNow: () => clock.now(),
      mayControl: (u) => u === "alice",
      onChange: (e) => lines.push(watchLine(e)),
    });
  const bobPlayer = new Player(), bobLines: string[] = [];
  const alice = room("alice", new Player(), []);
  const bob = room("bob", bobPlayer, bobLines);
  await alice.control({ video: "film.mp4" });
  await settle();
  clock.advance(10_000);
  await alice.control({ pause: true });
  await settle();
  await alice.control({ seek: 42_000 });
  await settle();
  assert.deepStrictEqual([bobPlayer.position, bobPlayer.paused], [42_000, true]);
  const earlier = sent.slice(0, 2);
  for (const s of earlier) deliver({ ...s, plaintext: s.plaintext.slice() }); // the same sealed bytes, same id
  clock.advance(5000);
  await settle();
  assert.deepStrictEqual(
    [bobPlayer.position, bobPlayer.paused],
    [42_000, true],
    "not moved back, not resumed",
  );
  assert.equal(bob.session.state?.n, 3);
  assert.deepStrictEqual(bobLines.slice(3).map((l) => l.replace(/\(n \d+, current \d+\)/, "")), [
    "refused alice: an old or replayed state ",
    "refused alice: an old or replayed state ",
  ]);
  alice.close();
  bob.close();
});
