/**
 * WatchedPlayer: the follower sees a playhead on the viewer's clock, not the picture player's last
 * frame (which trails a seek), so one seek is made, not one per tick; every change reaches the
 * attached picture player, with the time it was told; nothing is forwarded while none is attached.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { type Followed, WatchFollower, WatchSession } from "./watch_together.ts";
import { WatchedPlayer } from "./watch_viewer.ts";

/** A picture player whose frames never catch up (position stays 0): it only records what it is told. */
class Picture implements Followed {
  readonly ops: string[] = [];
  position = 0;
  paused = false;
  pause() {
    this.ops.push("pause");
    return Promise.resolve();
  }
  resume() {
    this.ops.push("resume");
    return Promise.resolve();
  }
  seekTo(ms: number) {
    this.ops.push(`seek ${ms}`);
    return Promise.resolve();
  }
}

Deno.test("WatchedPlayer: one seek per change however late the frames are; told times; none while detached", async () => {
  const clock = new ManualClock(1_000_000);
  const session = new WatchSession("movie", (u) => u === "alice");
  const player = new WatchedPlayer(() => clock.now());
  const follower = new WatchFollower(session, player, () => clock.now());
  const pic = new Picture();
  session.receive("alice", { n: 1, video: "v", pos: 0, at: clock.now(), paused: false, rate: 1 });
  await follower.sync();
  assert.equal(player.toldAt, -1, "nothing attached: nothing told");
  clock.advance(2000);
  await player.attach(pic, 2000);
  await follower.sync();
  assert.deepEqual(pic.ops, [], "in step from the start");
  session.receive("alice", { n: 2, video: "v", pos: 30_000, at: clock.now(), paused: true, rate: 1 });
  clock.advance(7);
  for (let i = 0; i < 5; i++) {
    await follower.sync(); // ticks: the picture's frames have not caught up, no seek again
    clock.advance(100);
  }
  assert.deepEqual(pic.ops, ["seek 30000", "pause"]);
  assert.equal(player.toldAt, 1_002_007);
  assert.equal(player.position, 30_000);
  await player.attach(null);
  await player.seekTo(5);
  assert.deepEqual(pic.ops, ["seek 30000", "pause"], "detached: the picture is not told");
});
