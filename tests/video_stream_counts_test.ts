/**
 * Stream counts show drops (issue 14): a user-to-user stream whose sender cannot keep up (the
 * server answers each `stream.frame` slowly, so frames pile into the sender's latest-frame slot and
 * are skipped there) ends with the same non-zero drop figure at both ends, and relayed + dropped =
 * the source's 96 frames. `client.ts stream` and `client.ts watch` run as child processes against
 * an in-process server.
 */
import assert from "node:assert/strict";
import {
  eventually,
  runProgram,
  skipWithout,
  startTestServer,
  testFfmpeg,
  type TestServer,
  VIDEOS_DIR,
} from "./helpers.ts";

const ffmpeg = testFfmpeg();
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SOURCE_FRAMES = 96; // videos/sample.mp4: 4 s at 24 fps

function client(t: TestServer, home: string, user: string, args: string[]) {
  return runProgram(
    "client.ts",
    [...args, "--server", `127.0.0.1:${t.port}`, "--user", user, "--trust-on-first-use"],
    { PARLEY_PASSWORD: `pw-${user}-secret`, PARLEY_HOME: home, PARLEY_FFMPEG: ffmpeg ?? "" },
  );
}

Deno.test({
  name: "a stream whose sender's slot skips frames shows the same drop count at both ends",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "parley-home-" });
    const t = await startTestServer();
    try {
      await (await t.client("alice", { kdf: {} })).close();
      await (await t.client("bob", { kdf: {} })).close();
      // A paced consumer: each frame's reply comes 300 ms late (the source runs at 24 fps, 42 ms a
      // frame), so the sender's slot must replace frames while one is in flight.
      const relay = t.srv.relay;
      const frame = relay.frame.bind(relay);
      type Args = Parameters<typeof relay.frame>;
      relay.frame = ((...a: Args) => delay(300).then(() => frame(...a))) as unknown as typeof relay.frame;
      const watching = client(t, home, "bob", [
        "watch",
        "--accept-from",
        "alice",
        "--renderer",
        "halfblock",
        "--wait",
        "30",
      ]);
      await eventually(
        () => [...t.srv.hub.sessionsOf("bob")].some((x) => x.queue !== null),
        20_000,
        "bob watching",
      );
      const streaming = client(t, home, "alice", [
        "stream",
        "bob",
        `${VIDEOS_DIR}/sample.mp4`,
        "--height",
        "120",
      ]);
      const [w, s] = await Promise.all([watching, streaming]);
      assert.equal(w.code, 0, w.err);
      assert.equal(s.code, 0, s.err);
      const sent = /Streamed (\d+) frames to bob, (\d+) dropped$/m.exec(s.out);
      assert.ok(sent, s.out);
      const [relayed, dropped] = [Number(sent[1]), Number(sent[2])];
      assert.ok(dropped > 0, `the slot skipped frames, and says so: ${s.out}`);
      assert.equal(relayed + dropped, SOURCE_FRAMES, s.out);
      const got = /^frames: (\d+) dropped: (\d+) sent: (\d+) \(stopped by alice\)$/m.exec(w.out);
      assert.ok(got, w.out.slice(-300));
      assert.deepEqual(
        { shown: Number(got[1]), dropped: Number(got[2]), sent: Number(got[3]) },
        { shown: relayed, dropped, sent: relayed },
        "the same figures at both ends",
      );
    } finally {
      await t.stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});
