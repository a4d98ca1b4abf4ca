/**
 * Issue 75, the first frame's ffmpeg starts: `openLocalPlayback` (peer mode's watch together) and
 * `readyFile` (a user-to-user stream's sender) start one ffmpeg for their first frame, no probe
 * before it (the file's facts come from that ffmpeg's own header); a file that is no video is
 * refused with the probe's error and leaves no ffmpeg running. ffmpeg is run through a logging
 * wrapper script that records each start's process id and arguments.
 */
import assert from "node:assert/strict";
import { findFfmpeg } from "../../media/mod.ts";
import { openLocalPlayback } from "./local_playback.ts";
import { readyFile } from "./stream_send.ts";
import { processAlive } from "../../common/process_testing.ts";

const ffmpeg = findFfmpeg({ get: (n) => Deno.env.get(n) });
const SAMPLE = new URL("../../../videos/sample.mp4", import.meta.url).pathname;
const noWrapper = ffmpeg === null || Deno.build.os === "windows";

/** A shell script running ffmpeg that appends "PID ARGS" to its log first (exec keeps the pid). */
async function loggingFfmpeg(): Promise<{ path: string; starts: () => Promise<string[]>; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "parley-early-" });
  const log = `${dir}/starts.log`;
  const path = `${dir}/ffmpeg`;
  await Deno.writeTextFile(path, `#!/bin/sh\necho "$$ $*" >> '${log}'\nexec '${ffmpeg}' "$@"\n`, {
    mode: 0o755,
  });
  const starts = async () => (await Deno.readTextFile(log).catch(() => "")).split("\n").filter((l) => l);
  return { path, starts, dir };
}

/** A clock that moves 1 ms at each reading (as a busy machine's may between two). */
function ticking(): () => number {
  let t = Date.now();
  return () => t++;
}

function assertNoneLeft(starts: string[]): void {
  for (const line of starts) {
    assert.ok(!processAlive(Number(line.split(" ")[0])), `ffmpeg left running: ${line}`);
  }
}

Deno.test({
  name: "openLocalPlayback: the first frame comes from the one ffmpeg started, no probe before it (issue 75)",
  ignore: noWrapper,
  fn: async () => {
    const w = await loggingFfmpeg();
    try {
      for (const start of [0, 1000]) {
        const before = (await w.starts()).length;
        const p = await openLocalPlayback(
          w.path,
          SAMPLE,
          start,
          { width: 160, height: 120 },
          ticking(), // a clock that moved between the playback's making and its first start
        );
        try {
          const f = (await p.next())!;
          assert.deepEqual([f.width, f.height, f.data[0]], [160, 90, 0xff], "a JPEG fitting the pane");
          assert.ok(f.pts >= start && f.pts < start + 100, `first pts ${f.pts}`);
          const starts = (await w.starts()).slice(before);
          assert.equal(
            starts.length,
            1,
            `one ffmpeg for the first frame from ${start}: ${starts.join(" | ")}`,
          );
        } finally {
          await p.stop();
        }
      }
      assertNoneLeft(await w.starts());
    } finally {
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "readyFile: the offered size and the first frame come from the one ffmpeg started, no probe before it",
  ignore: noWrapper,
  fn: async () => {
    const w = await loggingFfmpeg();
    try {
      const r = await readyFile(SAMPLE, { ffmpeg: w.path, maxHeight: 240 });
      try {
        assert.deepEqual(r.info, { duration: 4, fps: 24, width: 1920, height: 1080 });
        assert.deepEqual(r.offered, { width: 426, height: 240 });
        r.stream.play();
        const f = (await r.stream.nextFrame())!;
        assert.deepEqual([f.width, f.height, f.index, f.data[0]], [426, 238, 0, 0xff]); // the 1080p rendition fitted
        const starts = await w.starts();
        assert.equal(starts.length, 1, `one ffmpeg for the offer and the first frame: ${starts.join(" | ")}`);
      } finally {
        await r.stream.stop();
      }
      assertNoneLeft(await w.starts());
    } finally {
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a file that is no video: openLocalPlayback and readyFile refuse it with the probe's error, no ffmpeg left",
  ignore: noWrapper,
  fn: async () => {
    const w = await loggingFfmpeg();
    const notes = `${w.dir}/notes.md`;
    await Deno.writeTextFile(notes, "these are notes, not a video\n".repeat(20));
    try {
      const why = /^No video stream found in .*notes\.md: .*Invalid data found when processing input$/;
      await assert.rejects(
        openLocalPlayback(w.path, notes, 0, { width: 160, height: 120 }, () => Date.now()),
        (e: Error) => e.name === "FfmpegError" && why.test(e.message),
      );
      await assert.rejects(readyFile(notes, { ffmpeg: w.path }), (e: Error) => why.test(e.message));
      const starts = await w.starts();
      assert.ok(starts.length >= 2, starts.join(" | "));
      assertNoneLeft(starts);
    } finally {
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});
