/**
 * The full-screen client plays a server video: `TuiApp` on a real `ChatClient` against an
 * in-process server (real TLS, real ffmpeg, videos/sample.mp4), its output in @xterm/headless.
 * `/play sample --thirds` draws half-block frames in the message pane with the overlay line, and
 * `q` stops it (the server's ffmpeg ends) and brings the chat back.
 */
import assert from "node:assert/strict";
import xt from "@xterm/headless";
import { TuiApp } from "../lib/client/tui/app.ts";
import { eventually, skipWithout, startTestServer, testFfmpeg, videoDataDir, VIDEOS_DIR } from "./helpers.ts";

const ffmpeg = testFfmpeg();

Deno.test({
  name: "TuiApp on a real ChatClient: /play sample --thirds shows frames and the overlay; q stops",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const dir = await videoDataDir(ffmpeg!);
    const t = await startTestServer({ ffmpeg, videosDir: VIDEOS_DIR }, { dir });
    const term = new xt.Terminal({ cols: 100, rows: 30, allowProposedApi: true });
    let chain = Promise.resolve();
    const app = new TuiApp(await t.client("viewer"), {
      output: { write: (s) => void (chain = chain.then(() => new Promise<void>((r) => term.write(s, r)))) },
      cols: 100,
      rows: 30,
    });
    const screen = async () => {
      await app.idle();
      await chain;
      const b = term.buffer.active;
      return Array.from(
        { length: term.rows },
        (_, i) => b.getLine(b.baseY + i)?.translateToString(true) ?? "",
      );
    };
    try {
      app.start();
      app.feedText("/play sample --thirds\r");
      const s = await eventually(
        async () => {
          const l = await screen();
          return l.join("\n").includes("▀") &&
              /fps · (?:\d+ dropped · )?(240p|720p|1080p) · \d+ kbit\/s · thirds/
                .test(l[27]!)
            ? l
            : null;
        },
        15000,
        "frames and the overlay line",
      );
      assert.match(s![0]!, /Parley/);
      assert.equal(t.srv.video.ffmpegPids().length > 0, true, "the server streams with ffmpeg");
      app.feedText("q");
      await eventually(async () => !(await screen()).join("\n").includes("▀"), 5000, "the chat back");
      assert.match(
        (await screen()).join("\n"),
        // (on a loaded machine the line goes on with the frames passed over by the stop, and wraps)
        /Played sample: \d+ frames shown, \d+ dropped[ ,(]/,
      );
      await eventually(() => t.srv.video.ffmpegPids().length === 0, 5000, "ffmpeg ended");
    } finally {
      app.stop();
      await app.idle();
      term.dispose();
      await t.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
