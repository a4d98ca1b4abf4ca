/**
 * The one watch view (watch_view.ts) in peer mode, with fakes (issue 70): two `TuiApp`s given a
 * `peerWatch` — sessions named by peer over a fake channel that hands each signal to the other side,
 * each holding its own copy of the video (a SHA-256 names it on the wire) — and an `openLocalVideo`
 * that records what it opens. What the peer port (watch_ports.ts) makes differ from a server's: the
 * copy played is the local file, the status line names no video, every change is a line in the DM,
 * the starter is told before it starts, and leaving closes the session (a server's goes on, to
 * announce: watch_view_test.ts); the end of the file leaves, as the end of a server's video does.
 */
import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import type { WatchChannel } from "../backend.ts";
import { convKey } from "../../protocol/names.ts";
import { dmParties } from "../video/watch_channel.ts";
import { WatchSessions } from "../video/watch_sessions.ts";
import type { WatchState } from "../video/watch_together.ts";
import type { PeerWatch } from "../peer/watch.ts";
import { FakeVideoHandle } from "./fake_backend.ts";
import { type Harness, harness, screenUntil } from "./testing.ts";
import type { WatchNote } from "./watch_view.ts";

const frame = new Uint8Array(
  jpegJs.encode({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(200) }, 90).data,
);
const SHA = "5ha".padEnd(64, "0");

/** One node's sessions: its copy of the video at `copy`, named on the wire by SHA. */
class FakePeerWatch extends WatchSessions<WatchNote> {
  constructor(me: string, now: () => number, channel: WatchChannel, readonly copy: string) {
    const nameOf = (typed: string) => typed.replace(/^@/, "");
    super({ me, now, keyOf: (peer) => convKey("user", me, peer), channel, resampleMs: 0, nameOf });
  }
  override start(peer: string, _path: string): Promise<WatchState> {
    return super.start(peer, SHA);
  }
  protected override copyOf(): Promise<string | null> {
    return Promise.resolve(this.copy);
  }
}

async function pair() {
  const hs: Harness[] = [], nodes: FakePeerWatch[] = [], opened: [string, string, number][] = [];
  const handles: FakeVideoHandle[] = [];
  let mid = 0;
  for (const [user, other, copy] of [["alice", "bob", "/a/film.mp4"], ["bob", "alice", "/b/copy.mp4"]]) {
    const channel: WatchChannel = {
      signal: (_key, payload) => {
        const m = `m${++mid}`;
        nodes.find((n) => n.o.me === other)!.signal(user!, { from: user!, mid: m, plaintext: payload(m) });
        return Promise.resolve();
      },
      roomAdmins: (key) => Promise.resolve(dmParties(key)!),
      serverTime: () => Promise.resolve(hs[0]!.clock.now()),
    };
    const node = new FakePeerWatch(user!, () => h.clock.now(), channel, copy!);
    nodes.push(node);
    const h: Harness = await harness({
      user,
      cols: 120,
      peerWatch: node as unknown as PeerWatch,
      openLocalVideo: (path, start) => {
        opened.push([user!, path, start]);
        const v = new FakeVideoHandle([frame], user);
        handles.push(v);
        return Promise.resolve(v);
      },
    });
    hs.push(h);
  }
  return { alice: hs[0]!, bob: hs[1]!, nodes, opened, handles };
}

const until = screenUntil;

const dmHas = (h: Harness, peer: string, text: string) =>
  h.app.state.buffers.find("dm", peer)?.lines.some((l) => l.text.includes(text)) ?? false;

Deno.test("TUI watch together, peer mode: each plays its own file, the DM tells every change, leaving closes the session", async () => {
  const { alice, bob, nodes, opened, handles } = await pair();
  await alice.app.video.watch.start("@bob", "/a/film.mp4");
  await until(alice, "alice watching", (s) => s.includes("[together @bob: playing at 0.0 s by you]"));
  assert.ok(dmHas(alice, "bob", "Starting /a/film.mp4 with bob…"));
  await until(bob, "the invitation", () => dmHas(bob, "alice", "alice plays a video to watch together"));
  for (const h of [alice, bob]) h.clock.advance(4000);
  await bob.app.video.watch.start("@alice");
  await until(bob, "bob watching", (s) => /\[together @alice: playing at 4\.0 s by alice[,\]]/.test(s));
  assert.deepEqual(opened, [["alice", "/a/film.mp4", 0], ["bob", "/b/copy.mp4", 4000]], "each its own copy");
  await bob.type(" "); // either party pauses for both
  await until(
    alice,
    "alice paused by bob",
    (s) => /together @bob: paused at 4\.0 s by bob, in step \d+ ms/.test(s),
  );
  assert.ok(dmHas(alice, "bob", `paused ${SHA} at 4.000s by bob (n 2)`), "the change is a line in the DM");
  await bob.type("q");
  await until(
    bob,
    "bob left",
    () => dmHas(bob, "alice", "You left watching with alice; /watch-together @alice joins"),
  );
  assert.equal(nodes[1]!.session("alice"), undefined, "peer mode closes the session left");
  assert.ok(nodes[0]!.session("bob"), "alice still watches");
  handles[0]!.end("alice"); // alice's file ends: she leaves as a server's video would have her leave
  await until(alice, "alice left at the end", () => dmHas(alice, "bob", "You left watching with bob"));
  assert.equal(alice.app.video.watch.viewing, null);
  assert.equal(nodes[0]!.session("bob"), undefined);
  alice.close();
  bob.close();
});
