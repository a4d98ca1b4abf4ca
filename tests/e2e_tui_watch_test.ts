/**
 * Watch together in a real terminal (issue 39.7): two full-screen `client.ts` processes in tmux
 * against an in-process server with ffmpeg and a 30 s test clip (made here: 240 lines, so the
 * server makes one rendition in a few seconds). alice (the admin of #movie) types
 * `/watch-together #movie clip`; bob sees the line in #movie and joins late, at the current
 * position; alice's space (pause) and → (seek 5 s) reach bob's player, and the time each took —
 * from alice's change to its being applied to bob's player, both on the server's clock, as bob's
 * sync logic measures it and prints it in his status line — is printed (a figure, not asserted under
 * a bound: no cross-process duration is, issue 70); what is asserted is that bob's player stops
 * where alice's did (the same position, to the tenth shown) and lands where her seek went. bob's
 * space is refused (he is no admin) and changes nothing for alice; bob's q stops only his view.
 * In a DM (`/watch-together @bob clip`), both control it: bob's pause stops alice's player where
 * his stopped, and alice's seek moves bob's to where hers went.
 */
import assert from "node:assert/strict";
import { skipWithout, startTestServer, testFfmpeg, type TestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

const ffmpeg = testFfmpeg();
const COLS = 130;

/** The status-line item of a watcher of `where`: state, position, who, and the measured step (ms) if any. */
const statusOf = (where: string) =>
  new RegExp(
    `\\[together ${where}: clip (playing|paused) at ([\\d.]+) s by (\\w+)(?:, in step (\\d+) ms)?\\]`,
  );
const STATUS = statusOf("#movie");
/**
 * Whether a position the status line shows ("7.2", to a tenth) is `want` seconds: the line rounds
 * what it shows, so P and P + 5 may round apart (2.15 shows "2.1", 7.15 "7.2").
 */
const near = (shown: string, want: number) => Math.abs(Number(shown) - want) <= 0.1 + 1e-9;
/** A step the sync logic measured and printed: a whole number of ms (a figure, never bounded here). */
const measured = (ms: string | undefined) => ms !== undefined && /^\d+$/.test(ms);

/** A 30 s test clip (240 lines: the server makes one rendition in a few seconds) in a new folder. */
async function clipFolder(): Promise<string> {
  const videos = await Deno.makeTempDir({ prefix: "parley-watch-videos-" });
  const made = await new Deno.Command(ffmpeg!, {
    args: ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=12:duration=30"]
      .concat(["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", `${videos}/clip.mp4`]),
  }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
  return videos;
}

/** Registers alice and bob on `t` and starts both full-screen clients (fresh homes, kept in `homes`). */
async function aliceAndBobOnScreens(t: TestServer, tm: Tmux, homes: string[]): Promise<void> {
  for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
  for (const u of ["alice", "bob"]) {
    const home = await Deno.makeTempDir();
    homes.push(home);
    await tm.start(u, u, home, { cols: COLS });
  }
  for (const u of ["alice", "bob"]) {
    await tm.waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
  }
}

test({
  name:
    "TUI e2e (issue 39.7): /watch-together — bob joins late and follows alice's pause and seek to her positions",
  ignore: skipWithoutTmux || skipWithout(ffmpeg !== null),
  deadlineMs: 45_000,
  fn: async () => {
    const started = performance.now();
    const videos = await clipFolder();
    const t = await startTestServer({ ffmpeg, videosDir: videos });
    const tm = new Tmux(t.port);
    const homes: string[] = [];
    const status = async (u: string, pred: (m: RegExpMatchArray) => boolean, what: string) => {
      const s = await tm.waitFor(u, (s) => {
        const m = s.match(STATUS);
        return !!m && pred(m);
      }, what);
      return s.match(STATUS)!;
    };
    try {
      await aliceAndBobOnScreens(t, tm, homes);
      await tm.type("alice", "/room create movie bob");
      await tm.waitFor("bob", (s) => s.includes("#movie"), "#movie on bob");
      await tm.type("bob", "/join #movie");
      await tm.type("alice", "/watch-together #movie clip");
      await status("alice", (m) => m[1] === "playing" && m[3] === "you", "alice watching");
      await tm.waitFor(
        "bob",
        (s) => s.includes("alice started watching clip together in #movie"),
        "the line",
      );
      // bob joins late: once alice's player shows a second played (the event), not after a sleep.
      await tm.waitFor("alice", (s) => /▶ (\d+:[1-9]\d|\d+:0[1-9]) \//.test(s), "alice a second in");
      await tm.type("bob", "/watch-together #movie");
      const joined = await status("bob", (m) => m[1] === "playing" && m[3] === "alice", "bob watching");
      assert.ok(Number(joined[2]) >= 1, `bob starts where alice is, not at 0: ${joined[0]}`);
      await tm.waitFor("bob", (s) => s.includes("▀") || s.includes("▄"), "bob's picture");

      await tm.keys("alice", "Space");
      const alicePaused = await status("alice", (m) => m[1] === "paused" && m[3] === "you", "alice paused");
      const paused = await status("bob", (m) => m[1] === "paused" && m[4] !== undefined, "bob paused");
      assert.ok(
        near(paused[2]!, Number(alicePaused[2])),
        `bob stopped where alice did: ${paused[0]} / ${alicePaused[0]}`,
      );
      const seekTo = Number(paused[2]) + 5;
      await tm.keys("alice", "Right");
      const sought = await status("bob", (m) => m[1] === "paused" && near(m[2]!, seekTo), "bob sought");
      const aliceSought = await status(
        "alice",
        (m) => m[1] === "paused" && near(m[2]!, seekTo),
        "alice sought",
      );
      assert.ok(
        near(sought[2]!, Number(aliceSought[2])),
        `bob is where alice's seek went: ${sought[0]} / ${aliceSought[0]}`,
      );
      assert.ok(
        measured(paused[4]) && measured(sought[4]),
        `each step measured: ${paused[0]} / ${sought[0]}`,
      );
      console.log(
        `watch together in the TUI: bob applied alice's pause after ${paused[4]} ms, her seek after ${
          sought[4]
        } ms (bob's sync logic, server clock; a figure, not bounded)`,
      );

      await tm.keys("bob", "Space"); // bob is no admin
      await tm.waitFor("bob", (s) => s.includes("only the admins of #movie play, pause and seek"), "refused");
      // The fence: a DM bob sends after the refused key reaches alice after any control it sent
      // would have (his connection, then her opening, keep their order); it shows in her bar.
      await tm.type("bob", "/msg alice said after the refused key");
      const a = (await tm.waitFor("alice", (s) => /\[Act: /.test(s), "bob's DM after the refusal"))
        .match(STATUS)!;
      assert.deepEqual([a[1], a[2]], ["paused", sought[2]], "alice's state unchanged");

      await tm.keys("bob", "q");
      await tm.waitFor("bob", (s) => s.includes("You left watching clip in #movie"), "bob left");
      assert.match(await tm.screen("alice"), STATUS, "alice still watches");
      for (const u of ["alice", "bob"]) await tm.type(u, "/quit");
      console.log(`e2e_tui_watch took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of [...homes, videos]) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

test({
  name:
    "TUI e2e (issue 39): /watch-together @bob — in a DM either party pauses and seeks for both, to the same position",
  ignore: skipWithoutTmux || skipWithout(ffmpeg !== null),
  deadlineMs: 45_000,
  fn: async () => {
    const videos = await clipFolder();
    const t = await startTestServer({ ffmpeg, videosDir: videos });
    const tm = new Tmux(t.port);
    const homes: string[] = [];
    const status = async (u: string, where: string, pred: (m: RegExpMatchArray) => boolean, what: string) => {
      const re = statusOf(where);
      const s = await tm.waitFor(u, (s) => {
        const m = s.match(re);
        return !!m && pred(m);
      }, what);
      return s.match(re)!;
    };
    try {
      await aliceAndBobOnScreens(t, tm, homes);
      // A DM signal goes to the devices a session exists with: they write to each other first.
      await tm.type("bob", "/query alice");
      await tm.type("alice", "/query bob hi bob");
      await tm.waitFor("bob", (s) => s.includes("hi bob"), "alice's message");
      await tm.type("bob", "hi alice");
      await tm.waitFor("alice", (s) => s.includes("hi alice"), "bob's answer");
      await tm.type("alice", "/watch-together @bob clip");
      await status("alice", "@bob", (m) => m[1] === "playing" && m[3] === "you", "alice watching");
      await tm.waitFor(
        "bob",
        (s) => s.includes("alice started watching clip together in @alice"),
        "the line in bob's DM",
      );
      await tm.type("bob", "/watch-together @alice");
      await status("bob", "@alice", (m) => m[1] === "playing" && m[3] === "alice", "bob watching");
      await tm.waitFor("bob", (s) => s.includes("▀") || s.includes("▄"), "bob's picture");

      await tm.keys("bob", "Space"); // bob pauses for both
      const paused = await status(
        "alice",
        "@bob",
        (m) => m[1] === "paused" && m[3] === "bob" && !!m[4],
        "alice paused",
      );
      const bobPaused = await status(
        "bob",
        "@alice",
        (m) => m[1] === "paused" && m[3] === "you",
        "bob paused",
      );
      assert.ok(
        near(paused[2]!, Number(bobPaused[2])),
        `alice stopped where bob did: ${paused[0]} / ${bobPaused[0]}`,
      );
      const seekTo = Number(paused[2]) + 5;
      await tm.keys("alice", "Right"); // alice seeks for both
      const sought = await status(
        "bob",
        "@alice",
        (m) => m[1] === "paused" && near(m[2]!, seekTo),
        "bob sought",
      );
      const aliceSought = await status(
        "alice",
        "@bob",
        (m) => m[1] === "paused" && m[3] === "you" && near(m[2]!, seekTo),
        "alice sought",
      );
      assert.ok(
        near(sought[2]!, Number(aliceSought[2])),
        `bob is where alice's seek went: ${sought[0]} / ${aliceSought[0]}`,
      );
      assert.ok(
        measured(paused[4]) && measured(sought[4]),
        `each step measured: ${paused[0]} / ${sought[0]}`,
      );
      console.log(
        `watch together in a DM: alice applied bob's pause after ${paused[4]} ms, bob alice's seek after ${
          sought[4]
        } ms (server clock; a figure, not bounded)`,
      );
      for (const u of ["alice", "bob"]) await tm.type(u, "/quit");
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of [...homes, videos]) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});
