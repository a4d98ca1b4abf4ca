/**
 * Watch together in the full-screen client (issue 39.7), with fakes: two `TuiApp`s (alice, the
 * admin of #general; bob, a member) on FakeBackends joined by a fake `WatchChannel` that hands each
 * sealed signal to the other app as a "signal" event. alice's `/watch-together #general sample`
 * plays here and puts a line in bob's room; bob joins late and starts at the shared position;
 * alice's space and → reach bob's player; bob's keys are refused and change nothing; bob's q stops
 * only his view. Hostile: a state forged by a member or replayed under another id is refused.
 * In a DM (`/watch-together @bob sample`) both parties play, pause and seek for both; a third user's
 * control naming their DM is refused.
 */
import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import type { WatchChannel } from "../backend.ts";
import { encodeWatch } from "../video/watch_together.ts";
import { dmParties, watchTarget } from "../video/watch_channel.ts";
import { demoWorld, type Harness, harness, screenUntil } from "./testing.ts";
import { until as waitFor } from "../../common/wait_testing.ts";

const frame = new Uint8Array(
  jpegJs.encode({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(200) }, 90).data,
);

const until = screenUntil;

/** Waits for a line of #general's buffer (shown or not) that includes `text`. */
async function roomLine(h: Harness, text: string): Promise<void> {
  const buf = () => h.app.state.buffers.find("room", "general");
  await waitFor(
    async () => (await h.settle(), buf()?.lines.some((l) => l.text.includes(text))),
    () => `${h.backend.user}: "${text}" in ${JSON.stringify(buf()?.lines)}`,
    5000,
    10,
  );
}

/** alice and bob, and the signals each sent (room, mid, plaintext). */
async function pair(admins = ["alice"]) {
  const sent: { from: string; room: string; mid: string; plaintext: Uint8Array }[] = [];
  const hs: Harness[] = [];
  let mid = 0;
  const channel = (me: string): WatchChannel => ({
    signal: (room, payload) => {
      const m = `m${++mid}`;
      const plaintext = payload(m);
      sent.push({ from: me, room, mid: m, plaintext });
      // A room's members hear it in the room; the other party of a DM, as a DM to them.
      const t = watchTarget(me, room);
      for (const h of hs) {
        const other = h.backend.user;
        if (other === me || (t.kind === "user" && t.name !== other)) continue;
        const to = t.kind === "room" ? t : { kind: "user" as const, name: other };
        h.backend.emit({ type: "signal", from: me, to, mid: m, plaintext });
      }
      return Promise.resolve();
    },
    roomAdmins: (key) => Promise.resolve(dmParties(key) ?? [...admins]),
    serverTime: () => Promise.resolve(hs[0]!.clock.now()), // alice's clock stands for the server's
  });
  for (const user of ["alice", "bob"]) {
    hs.push(
      await harness({
        user,
        cols: 120,
        setup: (b) => {
          demoWorld(b);
          b.videoFrames = [frame];
          b.videoList = [{
            name: "sample",
            duration: 90,
            fps: 24,
            width: 640,
            height: 360,
            renditions: ["240p"],
          }];
          (b as { watch?: WatchChannel }).watch = channel(user);
        },
      }),
    );
  }
  return { alice: hs[0]!, bob: hs[1]!, sent };
}

Deno.test("TUI watch together: start, announce, late join at the position, alice's keys for all, bob refused, q leaves only bob", async () => {
  const { alice, bob } = await pair();
  await alice.type("/watch-together #general sample\r");
  await until(
    alice,
    "alice's picture",
    (s) => s.includes("together #general: sample playing at 0.0 s by you"),
  );
  assert.equal(alice.backend.handles.length, 1);
  await bob.type("\x1b2"); // bob's #general
  await until(
    bob,
    "the announcement",
    (s) => s.includes("alice started watching sample together in #general"),
  );
  assert.equal(bob.backend.handles.length, 0, "bob only hears of it");
  for (const h of [alice, bob]) h.clock.advance(12_000);
  await bob.type("/watch-together #general\r");
  await until(bob, "bob watching", (s) => /together #general: sample playing at 12\.0 s by alice/.test(s));
  const [name, opts] = bob.backend.callsOf("playVideo")[0]! as [string, { start?: number }];
  assert.equal(name, "sample");
  assert.equal(opts.start, 12_000, "the late joiner starts at the current position");
  const [ha, hb] = [alice.backend.handles[0]!, bob.backend.handles[0]!];

  await alice.type(" "); // pause for everyone
  await until(bob, "bob paused", (s) => /sample paused at 12\.0 s by alice, in step 0 ms/.test(s));
  assert.deepEqual([ha.ops, hb.ops], [["pause"], ["pause"]]);
  await alice.type("\x1b[C"); // → 5 s, for everyone
  await until(bob, "bob sought", (s) => /sample paused at 17\.0 s by alice, in step \d+ ms/.test(s));
  assert.deepEqual([ha.ops, hb.ops], [["pause", "seek 17000"], ["pause", "seek 17000"]]);

  await bob.type(" "); // bob may not
  let s = await until(
    bob,
    "the refusal",
    (t) => t.includes("only the admins of #general play, pause and seek"),
  );
  await bob.type("\x1b[D");
  assert.deepEqual([ha.ops, hb.ops], [["pause", "seek 17000"], ["pause", "seek 17000"]], "nothing changed");
  await alice.type(" ");
  await until(bob, "bob playing again", (t) => /sample playing at 17\.0 s by alice/.test(t));
  assert.deepEqual(hb.ops, ["pause", "seek 17000", "resume"]);

  await bob.type("q"); // bob leaves; alice goes on
  s = await until(bob, "bob's chat back", (t) => t.includes("You left watching sample in #general"));
  assert.equal(hb.ops.at(-1), "stop");
  assert.ok(!s.includes("together #general:"), "no watch item left in bob's status line");
  assert.ok(!ha.ops.includes("stop"), "alice still watches");
  assert.ok(bob.app.video.watch.port.sessions().session("general"), "bob's session goes on, to announce");
  assert.ok(alice.app.video.playing);
  alice.close();
  bob.close();
});

Deno.test("TUI watch together: a member cannot start a video; a forged or replayed state changes nothing", async () => {
  const { alice, bob, sent } = await pair();
  await bob.type("/watch-together #general sample\r");
  await until(bob, "the refusal", (t) => t.includes("Only the admins of #general (alice) start a video"));
  assert.equal(bob.backend.handles.length, 0);
  assert.equal(sent.length, 0, "nothing was sent");
  await alice.type("/watch-together #general sample\r");
  await until(alice, "alice watching", (t) => t.includes("sample playing at 0.0 s by you"));
  await alice.type("\x1b2");
  // bob (no right) forges a pause; then alice's own state comes again under another id.
  const forged = { n: 9, video: "sample", pos: 0, at: alice.clock.now(), paused: true, rate: 1 };
  const to = { kind: "room" as const, name: "general" };
  alice.backend.emit({
    type: "signal",
    from: "bob",
    to,
    mid: "f1",
    plaintext: encodeWatch("f1", "general", { kind: "state", state: forged }),
  });
  const first = sent[0]!;
  alice.backend.emit({ type: "signal", from: "alice", to, mid: "f2", plaintext: first.plaintext });
  bob.backend.emit({ type: "signal", from: "alice", to, mid: "f3", plaintext: first.plaintext });
  // Said in the room's buffer (the video covers it until it ends).
  await roomLine(alice, "Refused a watch-together control from bob: bob may not control #general's video");
  await roomLine(alice, "from alice: The watch control was re-sent under another id (replay)");
  await roomLine(bob, "from alice: The watch control was re-sent under another id (replay)");
  assert.ok(!alice.backend.handles[0]!.ops.includes("pause"), "alice's player did not pause");
  assert.match((await alice.settle()).join("\n"), /sample playing at 0\.0 s by you/);
  alice.close();
  bob.close();
});

Deno.test("TUI watch together: other signals of a room are not taken for watch controls", async () => {
  const { alice } = await pair();
  const calls = () => alice.backend.calls.length;
  const before = calls();
  alice.backend.emit({
    type: "signal",
    from: "bob",
    to: { kind: "room", name: "general" },
    mid: "x1",
    plaintext: new TextEncoder().encode(JSON.stringify({ v: 1, k: "other" })),
  });
  const s = (await alice.settle()).join("\n");
  assert.equal(calls(), before);
  assert.ok(!s.includes("watch"));
  assert.equal(alice.app.video.watch.viewing, null);
  alice.close();
});

Deno.test("TUI watch together: a change made while the joiner's player starts is applied once it runs; a paused join pauses", async () => {
  const { alice, bob } = await pair();
  await alice.type("/watch-together #general sample\r");
  await until(alice, "alice watching", (s) => s.includes("sample playing at 0.0 s by you"));
  await alice.type(" "); // paused at 0
  for (const h of [alice, bob]) h.clock.advance(3000);
  // bob joins a paused session: his player starts at 0 and is paused, never sought.
  await bob.type("/watch-together #general\r");
  await until(bob, "bob watching", (s) => /sample paused at 0\.0 s by alice/.test(s));
  const hb = bob.backend.handles[0]!;
  await until(bob, "bob paused", () => hb.ops.includes("pause"));
  assert.deepEqual(hb.ops, ["pause"]);
  await bob.type("q");
  await roomLine(bob, "You left watching sample in #general");
  // bob joins again; his play request is held while alice plays and seeks to 40 s.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const play = bob.backend.video.play.bind(bob.backend.video);
  (bob.backend.video as { play: typeof play }).play = (name, opts) => held.then(() => play(name, opts));
  bob.app.feedText("/watch-together #general\r"); // not settled: bob's app waits for the player
  await alice.type(" ");
  await alice.type("\x1b[C".repeat(8));
  await waitFor(
    () => /sample playing at 40\.0 s by alice/.test(bob.app.video.extras().join()),
    () => `bob to hear the seek: ${bob.app.video.extras()}`,
    5000,
    10,
  );
  release();
  await until(bob, "bob's player sought", () => bob.backend.handles[1]?.ops.includes("seek 40000") ?? false);
  assert.equal(
    (bob.backend.callsOf("playVideo")[1]![1] as { start?: number }).start,
    undefined,
    "asked at 0",
  );
  alice.close();
  bob.close();
});

Deno.test("TUI watch together: a member made an admin of the room since controls for everyone", async () => {
  const admins = ["alice"];
  const { alice, bob } = await pair(admins);
  await alice.type("/watch-together #general sample\r");
  await until(alice, "alice watching", (s) => s.includes("sample playing at 0.0 s by you"));
  await bob.type("/watch-together #general\r");
  await until(bob, "bob watching", (s) => /sample playing at 0\.0 s by alice/.test(s));
  admins.push("bob"); // the room's signed log now says bob is an admin too
  await bob.type(" ");
  await until(alice, "alice paused by bob", (s) => /sample paused at 0\.0 s by bob/.test(s));
  assert.deepEqual(alice.backend.handles[0]!.ops, ["pause"]);
  alice.close();
  bob.close();
});

/** Waits for a line of the DM buffer with `peer` (shown or not) that includes `text`. */
async function dmLine(h: Harness, peer: string, text: string): Promise<void> {
  await waitFor(
    async () => (await h.settle(),
      h.app.state.buffers.find("dm", peer)?.lines.some((l) => l.text.includes(text))),
    `${h.backend.user}: "${text}" in @${peer}`,
    5000,
    10,
  );
}

Deno.test("TUI watch together in a DM: either party starts, pauses and seeks for both; a third user's control is refused", async () => {
  const { alice, bob } = await pair(["carol"]); // the room's admins play no part in a DM
  await alice.type("/watch-together @bob sample\r");
  await until(alice, "alice watching", (s) => s.includes("together @bob: sample playing at 0.0 s by you"));
  await dmLine(
    bob,
    "alice",
    "alice started watching sample together in @alice: /watch-together @alice joins",
  );
  for (const h of [alice, bob]) h.clock.advance(5000);
  await bob.type("/watch-together @alice\r");
  await until(bob, "bob watching", (s) => /together @alice: sample playing at 5\.0 s by alice/.test(s));
  const [ha, hb] = [alice.backend.handles[0]!, bob.backend.handles[0]!];
  await bob.type(" "); // bob pauses for both
  await until(alice, "alice paused by bob", (s) => /together @bob: sample paused at 5\.0 s by bob/.test(s));
  await alice.type("\x1b[C"); // alice seeks for both
  await until(bob, "bob sought", (s) => /sample paused at 10\.0 s by alice/.test(s));
  assert.deepEqual([ha.ops, hb.ops], [["pause", "seek 10000"], ["pause", "seek 10000"]]);
  // carol, in a DM of her own with alice, sends a state naming alice and bob's DM: refused.
  const forged = { n: 9, video: "sample", pos: 0, at: alice.clock.now(), paused: false, rate: 1 };
  alice.backend.emit({
    type: "signal",
    from: "carol",
    to: { kind: "user", name: "alice" },
    mid: "c1",
    plaintext: encodeWatch("c1", "d:alice:bob", { kind: "state", state: forged }),
  });
  await dmLine(
    alice,
    "carol",
    "Refused a watch-together control from carol: The watch control belongs to another room",
  );
  assert.deepEqual(ha.ops, ["pause", "seek 10000"], "alice's player did not move");
  alice.close();
  bob.close();
});
