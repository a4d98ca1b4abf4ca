/**
 * The receiving client's memory (issue 36: a 1 GiB receive within 128 MiB of RSS), measured from
 * outside the process: `parley receive` runs as its own process and its /proc/PID/status (VmRSS,
 * VmHWM) is sampled while it downloads — relayed, and on the direct path (256 MiB; peer mode:
 * peer_files_rss_test.ts). A 128 MiB file stands for the 1 GiB one (the bench prints
 * that figure): its peak must stay under 128 MiB and within a bound of the same client's peak for a
 * 1 MiB file — memory that grew with the file (buffers kept, garbage left to pile up) fails both.
 * Linux only (/proc).
 */
import assert from "node:assert/strict";
import {
  makeMiBFile,
  procKiB,
  PROGRAM_PERMS,
  rootFile,
  runProgram,
  startTestServer,
  type TestServer,
} from "./helpers.ts";
import { test } from "./deadline.ts";

const MIB = 1024 * 1024;
/** What the client may hold at most, and how much more a big file may cost than a small one. */
const MAX_RSS = 128 * MIB;
const MAX_GROWTH = 24 * MIB;

function cliArgs(t: TestServer, home: string, user: string, args: string[]) {
  return [...args, "--server", `127.0.0.1:${t.port}`, "--user", user, "--home", home, "--trust-on-first-use"];
}

async function cli(t: TestServer, home: string, user: string, ...args: string[]) {
  const r = await runProgram("client.ts", cliArgs(t, home, user, args), {
    PARLEY_PASSWORD: `pw-${user}-secret`,
  });
  assert.equal(r.code, 0, r.err);
  return r.out.trim();
}

/**
 * Runs `receive` as bob (`relay`: from the server's store, else direct while the sender runs) and
 * answers its output and its peak RSS, sampled from outside every 20 ms.
 */
async function receivePeak(
  t: TestServer,
  home: string,
  out: string,
  relay = true,
): Promise<{ out: string; peak: number }> {
  const p = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PROGRAM_PERMS,
      rootFile("client.ts"),
      ...cliArgs(t, home, "bob", [
        "receive",
        ...(relay ? ["--relay"] : ["--timeout", "120"]),
        "--from",
        "alice",
        "--out",
        out,
      ]),
    ],
    env: { NO_COLOR: "1", PARLEY_PASSWORD: "pw-bob-secret" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let running = true, peak = 0;
  const done = p.output().finally(() => (running = false));
  while (running) {
    peak = Math.max(
      peak,
      ...(await Promise.all([procKiB(p.pid, "VmHWM"), procKiB(p.pid)]).catch(() => [0])).map((k) => k * 1024),
    );
    await new Promise((r) => setTimeout(r, 20));
  }
  const o = await done;
  assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
  return { out: new TextDecoder().decode(o.stdout).trim(), peak };
}

/**
 * Registers alice and bob, copies a 1 MiB and then a `mib` MiB file from alice to bob with `copy`
 * (which answers the sender's `sent` line and the receiver's output and peak), and checks the peaks:
 * read at all, the big one under MAX_RSS and within MAX_GROWTH of the small one.
 */
async function peaksOf(
  label: string,
  mib: number,
  copy: (
    t: TestServer,
    homes: [string, string],
    path: string,
  ) => Promise<[string, { out: string; peak: number }]>,
): Promise<void> {
  const t = await startTestServer();
  const homes: [string, string] = [`${t.dir}/home-a`, `${t.dir}/home-b`];
  try {
    await cli(t, homes[0], "alice", "register");
    await cli(t, homes[1], "bob", "register");
    const peaks: number[] = [];
    for (const size of [1, mib]) {
      const path = `${t.dir}/f${size}.bin`;
      await makeMiBFile(path, size);
      const [sent, got] = await copy(t, homes, path);
      assert.equal(got.out, `saved ${t.dir}/down/f${size}.bin ${size * MIB} ${sent.split(" ")[3]}`);
      await Deno.remove(`${t.dir}/down/f${size}.bin`);
      await Deno.remove(path);
      peaks.push(got.peak);
    }
    const [small, big] = peaks as [number, number];
    assert.ok(small > 0, "the receiver's memory was read");
    const shown = `${(small / MIB).toFixed(1)} MiB for 1 MiB, ${(big / MIB).toFixed(1)} MiB for ${mib} MiB`;
    console.log(`${label}: ${shown}`);
    assert.ok(big <= MAX_RSS, `the receiver held ${shown}`);
    assert.ok(big - small <= MAX_GROWTH, `the receiver's memory grew with the file: ${shown}`);
  } finally {
    await t.stop();
  }
}

test({
  name:
    "files: a receiving client's RSS stays under 128 MiB and does not grow with the file (measured from outside)",
  ignore: Deno.build.os !== "linux",
  deadlineMs: 300_000,
  fn: () =>
    peaksOf("files_rss", 128, async (t, [ha, hb], path) => {
      const sent = await cli(t, ha, "alice", "send-file", "bob", path, "--relay");
      return [sent, await receivePeak(t, hb, `${t.dir}/down`)];
    }),
});

test({
  name:
    "files: a client receiving on the direct path holds under 128 MiB, not growing with the file (from outside)",
  ignore: Deno.build.os !== "linux",
  deadlineMs: 300_000,
  fn: () =>
    peaksOf("files_rss direct", 256, (t, [ha, hb], path) =>
      Promise.all([
        cli(t, ha, "alice", "send-file", "bob", path, "--direct", "--wait", "120"),
        receivePeak(t, hb, `${t.dir}/down`, false),
      ])),
});
