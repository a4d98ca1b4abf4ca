/**
 * `parley play` in a real terminal (tmux): while the video plays the terminal's output processing is
 * off (the picture is escape sequences only), and the settings are back as they were when it ends —
 * after its last frame, and when it is stopped by SIGTERM.
 */
import assert from "node:assert/strict";
import {
  eventually,
  PROGRAM_PERMS,
  skipWithout,
  startTestServer,
  testFfmpeg,
  videoDataDir,
  VIDEOS_DIR,
} from "./helpers.ts";
import { hasTmux } from "./tmux.ts";
import { test } from "./deadline.ts";

const ffmpeg = testFfmpeg();
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

test({
  name: "parley play turns output processing off while it plays and puts it back (end, SIGTERM)",
  ignore: Deno.build.os === "windows" || skipWithout(ffmpeg !== null && hasTmux),
  async fn() {
    const dir = await videoDataDir(ffmpeg!);
    const home = await Deno.makeTempDir({ prefix: "parley-tty-" });
    const t = await startTestServer({ ffmpeg, videosDir: VIDEOS_DIR }, { dir });
    const socket = `parley-tty-${Deno.pid}`;
    const tmux = (...a: string[]) =>
      new Deno.Command("tmux", { args: ["-L", socket, ...a], stdout: "null" }).output();
    try {
      await (await t.client("viewer", { kdf: {} })).close();
      const play = `RUST_BACKTRACE=0 NO_COLOR=1 PARLEY_PASSWORD=pw-viewer-secret PARLEY_HOME=${home} ` +
        `PARLEY_FFMPEG=${ffmpeg} ${Deno.execPath()} run ${
          PROGRAM_PERMS.join(" ")
        } ${ROOT}client.ts play sample ` +
        `--renderer halfblock --server 127.0.0.1:${t.port} --user viewer --trust-on-first-use`;
      const script = [
        `cd ${home}`,
        `stty -a > before.txt`,
        `${play} --frames 60 < /dev/tty 2> play1.err & p=$!`,
        // Event, not time: the settings are read until output processing is off or the play ended.
        `until grep -q -- -opost during.txt 2>/dev/null || ! kill -0 $p 2>/dev/null; do stty -a > during.txt; sleep 0.05; done; wait $p`,
        `stty -a > after.txt`,
        `${play} < /dev/tty 2> play2.err & p=$!`,
        `until stty -a | grep -q -- -opost || ! kill -0 $p 2>/dev/null; do sleep 0.05; done`,
        `kill -TERM $p; wait $p; echo $? > term.code`,
        `stty -a > after-term.txt; touch done; sleep 60`,
      ].join("\n");
      await Deno.writeTextFile(`${home}/run.sh`, script);
      await tmux("new-session", "-d", "-x", "80", "-y", "24", `sh ${home}/run.sh`);
      await eventually(
        async () => await Deno.stat(`${home}/done`).then(() => true, () => false),
        60_000,
        "both plays",
      );
      const opost = async (f: string) => {
        const s = await Deno.readTextFile(`${home}/${f}`);
        return /(^|\s)-opost(\s|$)/.test(s) ? "off" : /(^|\s)opost(\s|$)/.test(s) ? "on" : "?";
      };
      assert.equal(await opost("before.txt"), "on");
      assert.equal(await opost("during.txt"), "off", await Deno.readTextFile(`${home}/play1.err`));
      assert.equal(await opost("after.txt"), "on");
      assert.equal(await opost("after-term.txt"), "on", await Deno.readTextFile(`${home}/play2.err`));
      assert.match(await Deno.readTextFile(`${home}/play1.err`), /60 frames shown|5\d frames shown/);
    } finally {
      await tmux("kill-server");
      await t.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});
