/**
 * `parley play` on a real terminal (tmux) against an in-process server with real ffmpeg: space
 * pauses and resumes (the overlay shows ⏸), a window resize makes the server send frames of the
 * new pane's size (its ffmpeg scales to it), and q ends the play with the summary line and exit 0;
 * SIGTERM ends a paused play.
 */
import assert from "node:assert/strict";
import {
  eventually,
  PROGRAM_PERMS,
  rootFile,
  startTestServer,
  testFfmpeg,
  type TestServer,
  videoDataDir,
  VIDEOS_DIR,
} from "./helpers.ts";
import { skipWithoutTmux, Tmux } from "./tmux.ts";
import { targetSize } from "../lib/media/adaptive.ts";
import { test } from "./deadline.ts";

const ffmpeg = testFfmpeg();

/** The frame size the server sends of the 1080p sample drawn in half-blocks on `cols` × `rows` cells. */
function halfblockSize(cols: number, rows: number): string {
  const px = targetSize(1920, 1080, "240p", cols, (rows - 1) * 2); // the last row is the overlay's
  return `${px.width}x${px.height}`;
}

/**
 * A server with the sample and a viewer, and `parley play sample` (half-blocks) started in an 80×24 tmux
 * session "play" by a shell that writes `exit N` to <home>/exit when it ends; with `background`, the
 * client runs in the background of that shell and its pid goes to <home>/pid (to be signalled).
 */
async function withPlay(
  background: boolean,
  fn: (t: TestServer, tmux: Tmux, home: string) => Promise<void>,
): Promise<void> {
  const dir = await videoDataDir(ffmpeg!);
  const home = await Deno.makeTempDir({ prefix: "parley-home-" });
  const t = await startTestServer({ ffmpeg, videosDir: VIDEOS_DIR }, { dir });
  const tmux = new Tmux(t.port);
  try {
    await (await t.client("viewer", { password: "pw-viewer-secret", kdf: {} })).close();
    const play = `RUST_BACKTRACE=0 NO_COLOR=1 PARLEY_PASSWORD=pw-viewer-secret PARLEY_HOME=${home} ` +
      `PARLEY_FFMPEG=${ffmpeg} ${Deno.execPath()} run ${PROGRAM_PERMS.join(" ")} ${rootFile("client.ts")} ` +
      `play sample --renderer halfblock --server 127.0.0.1:${t.port} --user viewer --trust-on-first-use ` +
      `2>${home}/err`;
    const run = background ? `${play} < /dev/tty & p=$!; echo $p >${home}/pid; wait $p` : play;
    const cmd = `${run}; echo "exit $?" >${home}/exit; sleep 60`;
    await tmux.run("new-session", "-d", "-s", "play", "-x", "80", "-y", "24", `sh -c '${cmd}'`);
    await tmux.waitFor(
      "play",
      (s) => /▶ \d+:\d\d \/ \d+:\d\d · [\d.]+ fps/.test(s),
      "the overlay of a playing video",
    );
    await fn(t, tmux, home);
  } finally {
    await tmux.stop();
    await t.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

/** Waits for the shell's `exit N` line; returns it. */
function exited(home: string): Promise<string> {
  return eventually(
    () => Deno.readTextFile(`${home}/exit`).then((x) => x.startsWith("exit") && x.trim(), () => false),
    10_000,
    "the client to end",
  ) as Promise<string>;
}

const ignore = skipWithoutTmux || ffmpeg === null || Deno.build.os !== "linux";

test({
  name: "client play on a terminal: space pauses and resumes, a resize rescales the frames, q quits",
  ignore,
  fn: () =>
    withPlay(false, async (t, tmux, home) => {
      await tmux.keys("play", "Space");
      await tmux.waitFor("play", (s) => /⏸ \d+:\d\d \/ \d+:\d\d · [\d.]+ fps/.test(s), "the paused overlay");
      // A paused stream stays on the server: the size of its frames can be read at leisure.
      const sent = () => t.srv.video.viewerStats().map((v) => `${v.width}x${v.height}`);
      assert.deepEqual(sent(), [halfblockSize(80, 24)]);
      await tmux.run("resize-window", "-t", "play", "-x", "50", "-y", "14");
      const small = halfblockSize(50, 14);
      await eventually(() => sent()[0] === small, 10_000, `frames of ${small}: ${sent()}`);
      await tmux.keys("play", "Space");
      const s = await tmux.waitFor(
        "play",
        (s) => /▶ \d+:\d\d \/ \d+:\d\d · [\d.]+ fps/.test(s.split("\n")[13] ?? ""),
        "overlay on row 14",
      );
      assert.ok(s.split("\n").slice(0, 13).some((l) => l.includes("▀")), s);
      await tmux.keys("play", "q");
      assert.equal(await exited(home), "exit 0");
      const err = await Deno.readTextFile(`${home}/err`);
      assert.match(err, /parley: \d+ frames shown, \d+ dropped, first frame after \d+ ms/, err);
    }),
});

test({
  name: "client play: SIGTERM while paused ends the play with its summary line",
  ignore,
  fn: () =>
    withPlay(true, async (_t, tmux, home) => {
      await tmux.keys("play", "Space");
      await tmux.waitFor("play", (s) => /⏸ \d+:\d\d \/ \d+:\d\d · [\d.]+ fps/.test(s), "the paused overlay");
      Deno.kill(Number((await Deno.readTextFile(`${home}/pid`)).trim()), "SIGTERM");
      await exited(home);
      const err = await Deno.readTextFile(`${home}/err`);
      assert.match(err, /parley: \d+ frames shown, \d+ dropped/, err);
    }),
});
