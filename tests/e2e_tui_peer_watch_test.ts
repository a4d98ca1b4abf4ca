/**
 * Watch together in the full-screen peer client (issue 39.7), in a real terminal: bob's `parley peer`
 * in tmux, alice a scripted peer. alice starts a 30 s clip (made here) that bob has no copy of: it is
 * offered, bob `/accept`s it, and the session starts once it is saved; bob sees the line and joins
 * late with `/watch-together @alice`, his own copy playing in his video view (half-blocks) from where
 * alice is. alice's pause reaches bob's player where she stopped (the step his status line prints,
 * measured on the session clock, is a figure, not bounded: issue 70) and bob's → seeks for both;
 * bob's q leaves only his view.
 */
import assert from "node:assert/strict";
import { hashFile } from "../lib/client/files/disk.ts";
import { eventually, skipWithout, testFfmpeg } from "./helpers.ts";
import { ScriptPeer } from "./peer_harness.ts";
import { skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

const ffmpeg = testFfmpeg();
const STATUS = /\[together @alice: (playing|paused) at ([\d.]+) s by (\w+)(?:, in step (\d+) ms)?\]/;

test({
  name:
    "TUI e2e (issue 39.7): peer mode /watch-together @alice — copy offered, late join, pause and seek at one position",
  ignore: skipWithoutTmux || skipWithout(ffmpeg !== null),
  deadlineMs: 60_000,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-peer-watch-" });
    const clip = `${dir}/clip.mp4`;
    const made = await new Deno.Command(ffmpeg!, {
      args: ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=12:duration=30"]
        .concat(["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", clip]),
    }).output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
    const sha = await hashFile(clip);
    const tm = new Tmux(0);
    const alice = await ScriptPeer.start("alice", `${dir}/a`, { ephemeral: true });
    const status = async (pred: (m: RegExpMatchArray) => boolean, what: string) => {
      const s = await tm.waitFor("bob", (s) => {
        const m = s.match(STATUS);
        return !!m && pred(m);
      }, what);
      return s.match(STATUS)!;
    };
    try {
      await tm.startPeer("bob", "bob", `${dir}/b`, "127.0.0.1:0");
      await tm.waitFor("bob", (s) => s.includes("peer mode on"), "the peer-mode screen");
      await tm.type("bob", `/connect ${alice.addr}`);
      await alice.waitLine(/^connected bob$/);
      await tm.type("bob", "/query alice");
      await alice.send(`watch-together bob ${clip}`);
      await tm.waitFor("bob", (s) => /alice offers clip\.mp4/.test(s), "the offer of the copy");
      await tm.type("bob", "/accept");
      await alice.waitLine(new RegExp(`^together bob playing ${sha} at 0\\.000s by alice \\(n 1\\)$`));
      await tm.waitFor(
        "bob",
        (s) => s.includes("alice plays a video to watch together"),
        "the line in alice's buffer",
      );
      // bob joins late: once alice says she is past a second (the event), not after a sleep.
      const where = () =>
        alice.send("watch bob where").then(() =>
          alice.waitLine(/^together bob position /, 5000, alice.lines.length)
        );
      const secs = (l: string) => Number(l.split(" ").pop()!.replace("s", ""));
      await eventually(async () => secs(await where()) >= 1.5, 20_000, "alice past a second");
      await tm.type("bob", "/watch-together @Alice"); // a peer's name in any case: alice's session
      const joined = await status((m) => m[1] === "playing" && m[3] === "alice", "bob watching");
      assert.ok(Number(joined[2]) >= 1, `bob starts where alice is, not at 0: ${joined[0]}`);
      await tm.waitFor("bob", (s) => s.includes("▀") || s.includes("▄"), "bob's picture");

      await alice.send("watch bob pause");
      const paused = await status((m) => m[1] === "paused" && m[4] !== undefined, "bob paused");
      const stopped = await alice.waitLine(/^together bob paused .* by alice \(n 2\)$/);
      const at = Number(/ at ([\d.]+)s /.exec(stopped)![1]);
      assert.ok(
        Math.abs(at - Number(paused[2])) <= 0.05 + 1e-9,
        `bob stopped where alice did: ${paused[0]} / ${stopped}`,
      );
      // The line shows a tenth, rounded: P and P + 5 may round apart (2.15 shows "2.1", 7.15 "7.2").
      const seekTo = Number(paused[2]) + 5;
      await tm.keys("bob", "Right"); // bob seeks for both
      const here = await status(
        (m) => m[1] === "paused" && Math.abs(Number(m[2]) - seekTo) <= 0.1 + 1e-9 && m[3] === "you",
        "bob's seek here",
      );
      const sought = await alice.waitLine(/^together bob paused \w+ at [\d.]+s by bob \(n 3\)$/);
      const to = Number(/ at ([\d.]+)s /.exec(sought)![1]);
      assert.ok(Math.abs(to - Number(here[2])) <= 0.05, `alice follows bob's seek to ${here[2]}: ${sought}`);
      console.log(`peer watch together in the TUI: bob applied alice's pause after ${paused[4]} ms`);
      assert.match(paused[4]!, /^\d+$/, "the step measured (a figure, not bounded)");

      await tm.keys("bob", "q");
      await tm.waitFor("bob", (s) => s.includes("You left watching with alice"), "bob left");
      await alice.send("watch bob where");
      await alice.waitLine(/^together bob position /); // alice still watches
      await tm.type("bob", "/quit");
    } catch (e) {
      console.error(await Deno.readTextFile(`${dir}/b.stderr-bob`).catch(() => "(no stderr)"));
      throw e;
    } finally {
      await tm.stop();
      await alice.quit();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
