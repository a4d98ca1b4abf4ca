/**
 * Issue 38 item 3: parley.log is bounded on its own. Past `--log-max-bytes` the file becomes
 * parley.log.1 (one kept, the older one replaced) and a new parley.log starts; a restart goes on
 * counting from the file's size; 0 never rotates. Also through the spawned server.ts.
 */
import assert from "node:assert/strict";
import { openDataDir, rotatingLog } from "../lib/server/data_dir.ts";
import { spawnServerProcess } from "./helpers.ts";

const size = async (p: string) => (await Deno.stat(p)).size;
const lines = async (p: string) => (await Deno.readTextFile(p)).split("\n").filter(Boolean);

Deno.test("log: past the bound parley.log becomes parley.log.1 and a new one starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-log-" });
  try {
    const dd = await openDataDir(dir, { logMaxBytes: 1000 });
    const line = (i: number) => `2026-11-25T00:00:00.000Z INFO event n=${String(i).padStart(4, "0")}`; // 46 bytes + \n
    for (let i = 0; i < 100; i++) dd.logSink(line(i));
    dd.close();
    const log = `${dir}/parley.log`, old = `${dir}/parley.log.1`;
    assert.ok(await size(log) <= 1000, `parley.log is ${await size(log)} bytes`);
    assert.ok(await size(old) <= 1000);
    const both = [...await lines(old), ...await lines(log)];
    // The newest lines are all there, in order, and nothing older than one file's worth is kept.
    assert.equal(both.at(-1), line(99));
    const first = Number(both[0]!.slice(-4));
    assert.deepEqual(both, Array.from({ length: 100 - first }, (_, k) => line(first + k)));
    assert.ok(first > 50, "older files are not kept");
    assert.equal([...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("parley.log")).length, 2);
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(log)).mode! & 0o777, 0o600);

    // A restart counts from the size already there.
    const before = await size(log);
    const again = rotatingLog(log, before + 10);
    again.write("x".repeat(20));
    again.close();
    assert.deepEqual(await lines(log), ["x".repeat(20)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log: --log-max-bytes 0 never rotates", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-log-" });
  try {
    const log = rotatingLog(`${dir}/parley.log`, 0);
    for (let i = 0; i < 100; i++) log.write("a line of the log, about forty bytes long");
    log.close();
    assert.equal(await size(`${dir}/parley.log`), 100 * 42);
    await assert.rejects(Deno.stat(`${dir}/parley.log.1`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log: the spawned server.ts rotates its log with --log-max-bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-log-" });
  try {
    // 250 bytes: the longest start-up line (listen, with the fingerprint) is ~190, and the ffmpeg line and
    // it pass the bound before the server says it listens. (At 400 the rotation waited for the shutdown's
    // lines, and a stop that had to kill the server under load left none: a flake.)
    const s = await spawnServerProcess(dir, { args: ["--log-max-bytes", "250", "--log-level", "debug"] });
    await s.stop();
    assert.ok(await size(`${dir}/parley.log`) <= 250);
    assert.ok(await size(`${dir}/parley.log.1`) > 0, "start-up lines filled more than one file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server.ts: a SIGTERM as soon as it says it listens shuts it down gracefully (its log says so)", async () => {
  // The signal handlers are in place before the "listening" line: a script that stops the server
  // right after it gets the graceful shutdown, never the default end of the process.
  for (let i = 0; i < 3; i++) {
    const dir = await Deno.makeTempDir({ prefix: "parley-sigterm-" });
    try {
      const s = await spawnServerProcess(dir);
      await s.stop();
      const log = await lines(`${dir}/parley.log`);
      assert.ok(
        log.some((l) => l.includes("INFO listen ")),
        "listen logged before the line scripts wait for",
      );
      assert.ok(log.some((l) => l.includes("shutdown.done")), `round ${i}: ${log.join(" | ")}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
