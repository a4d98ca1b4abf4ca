/**
 * The scripted video commands as a user runs them: `client.ts` in a child process against an
 * in-process server. `play --frames N --renderer halfblock` draws and prints the one summary line;
 * `videos --json` lists; `stream` and `watch` hand a file from one user to another after acceptance,
 * with the frame key sent end to end (the offer the server parsed holds none).
 */
import assert from "node:assert/strict";
import {
  eventually,
  runProgram,
  skipWithout,
  startTestServer,
  testFfmpeg,
  type TestServer,
  videoDataDir,
  VIDEOS_DIR,
} from "./helpers.ts";
import { test } from "./deadline.ts";

const ffmpeg = testFfmpeg();

function client(t: TestServer, home: string, user: string, args: string[]) {
  return runProgram(
    "client.ts",
    [...args, "--server", `127.0.0.1:${t.port}`, "--user", user, "--trust-on-first-use"],
    { PARLEY_PASSWORD: `pw-${user}-secret`, PARLEY_HOME: home, PARLEY_FFMPEG: ffmpeg ?? "" },
  );
}

test({
  name: "client play --frames N --renderer halfblock draws and prints one summary line; videos --json lists",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const dir = await videoDataDir(ffmpeg!);
    const home = await Deno.makeTempDir({ prefix: "parley-home-" });
    const t = await startTestServer({ ffmpeg, videosDir: VIDEOS_DIR }, { dir });
    try {
      await (await t.client("viewer", { kdf: {} })).close();
      const list = await client(t, home, "viewer", ["videos", "--json"]);
      assert.equal(list.code, 0, list.err);
      const videos = JSON.parse(list.out.trim());
      assert.deepEqual(videos.map((v: { name: string }) => v.name), ["sample"]);

      const r = await client(t, home, "viewer", [
        "play",
        "sample",
        "--frames",
        "12",
        "--renderer",
        "halfblock",
      ]);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.trimEnd().split("\n");
      const last = lines.at(-1)!;
      assert.match(last, /^240p: \d+ 720p: \d+ 1080p: \d+$/);
      const total = [...last.matchAll(/: (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
      assert.equal(total, 12);
      assert.ok(r.out.includes("▀"), "half-blocks were drawn");
      assert.match(r.out, /fps · (?:\d+ dropped · )?(240p|720p|1080p) · \d+ kbit\/s/, "overlay line");
      assert.match(r.err, /parley: \d+ frames shown, \d+ dropped, first frame after \d+ ms/, r.err);
      const [shown, dropped] = r.err.match(/(\d+) frames shown, (\d+) dropped/)!.slice(1).map(Number);
      assert.equal(shown! + dropped!, 12, `every frame received was shown or dropped: ${r.err}`);

      // The frames above came raw (loopback); JPEG frames draw the same way when asked for.
      const jpeg = await client(t, home, "viewer", [
        "play",
        "sample",
        "--frames",
        "6",
        "--renderer",
        "halfblock",
        "--frame-format",
        "jpeg",
      ]);
      assert.equal(jpeg.code, 0, jpeg.err);
      assert.ok(jpeg.out.includes("▀"), "half-blocks were drawn");
      assert.match(jpeg.err, /parley: \d+ frames shown/, jpeg.err);
      const bad = await client(t, home, "viewer", [
        "play",
        "sample",
        "--renderer",
        "halfblock",
        "--frame-format",
        "png",
      ]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.err, /--frame-format is auto, jpeg or rgb, not "png"/, bad.err);
      // `watch` checks its options before it waits: a bad one never costs an offer that came meanwhile.
      const badWatch = await client(t, home, "viewer", ["watch", "--renderer", "foo", "--wait", "30"]);
      assert.notEqual(badWatch.code, 0);
      assert.match(badWatch.err, /--renderer is kitty, sixel or halfblock, not "foo"/, badWatch.err);
      assert.doesNotMatch(badWatch.err, /Waiting for a stream/, "refused before it waits");

      const thirds = await client(t, home, "viewer", [
        "play",
        "sample",
        "--thirds",
        "--renderer",
        "halfblock",
      ]);
      assert.equal(thirds.code, 0, thirds.err);
      const m = thirds.out.trimEnd().split("\n").at(-1)!.match(/^240p: (\d+) 720p: (\d+) 1080p: (\d+)$/);
      assert.ok(m, thirds.out.slice(-200));
      for (const n of m.slice(1)) assert.ok(Number(n) >= 28 && Number(n) <= 32, `thirds counts ${m[0]}`);
      assert.equal(t.srv.video.ffmpegPids().length, 0, "no ffmpeg left");
    } finally {
      await t.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});

test({
  name: "client stream USER FILE waits for watch to accept, then frames flow and both exit",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "parley-home-" });
    const t = await startTestServer();
    try {
      await (await t.client("alice", { kdf: {} })).close();
      await (await t.client("bob", { kdf: {} })).close();
      const offers: Record<string, unknown>[] = [];
      const relayOffer = t.srv.relay.offer.bind(t.srv.relay);
      t.srv.relay.offer = (s, m) => (offers.push({ ...m }), relayOffer(s, m));
      const watching = client(t, home, "bob", [
        "watch",
        "--accept-from",
        "alice",
        "--frames",
        "8",
        "--renderer",
        "halfblock",
        "--wait",
        "20",
      ]);
      // bob is online with his keys published (his session knows its device): an event, not a sleep.
      // If his process ends first, its own error is the failure (not a time-out that hides it).
      let ended: { code: number; err: string } | null = null;
      watching.then((r) => ended = r);
      await eventually(
        () => ended ?? [...t.srv.hub.sessionsOf("bob")].some((x) => x.queue !== null),
        60_000,
        "bob watching",
      );
      assert.equal(ended, null, `bob's watch ended before alice streamed: ${JSON.stringify(ended)}`);
      const streaming = client(t, home, "alice", [
        "stream",
        "bob",
        `${VIDEOS_DIR}/sample.mp4`,
        "--height",
        "240",
      ]);
      const [w, s] = await Promise.all([watching, streaming]);
      assert.equal(w.code, 0, w.err);
      assert.equal(s.code, 0, s.err);
      assert.match(w.out.trimEnd().split("\n").at(-1)!, /^frames: 8 dropped: \d+$/);
      assert.match(w.err, /parley: first frame after \d+ ms/, w.err); // from the accept (issue 75)
      assert.match(s.err, /waiting for them to accept/);
      assert.match(s.err, /bob accepted/);
      assert.match(s.out, /Streamed \d+ frames to bob, \d+ dropped \(stopped by bob\)/);
      assert.equal(offers.length, 1);
      assert.ok(!("key" in offers[0]!), `the server saw no key: ${JSON.stringify(offers[0])}`);
    } finally {
      await t.stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});

test({
  name: "client stream USER notavideo.txt fails before saying it offered anything (issue 14)",
  ignore: skipWithout(ffmpeg !== null),
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "parley-home-" });
    const t = await startTestServer();
    try {
      await (await t.client("alice", { kdf: {} })).close();
      await (await t.client("bob", { kdf: {} })).close();
      const file = `${home}/notavideo.txt`;
      await Deno.writeTextFile(file, "just some words\n");
      const s = await client(t, home, "alice", ["stream", "bob", file, "--wait", "5"]);
      assert.notEqual(s.code, 0);
      assert.doesNotMatch(s.err, /Offered/);
      assert.match(s.err, /No video stream/);
    } finally {
      await t.stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});
