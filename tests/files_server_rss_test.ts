/**
 * The server's memory while it relays a file (issue 36: server RSS growth during a 1 GiB relay ≤ 64
 * MiB), measured from outside: a real `server.ts` process relays 256 MiB between a `send-file
 * --relay` and a `receive --relay` running at once, and its peak VmRSS, sampled every 20 ms, may be
 * at most MAX_GROWTH over its peak during a 1 MiB copy (logins, their workers: not the file's cost).
 * Buffers the relay leaves to the collector (each body received, each body sent) pile up to tens of
 * MiB before one runs, and the allocator keeps the pages. Linux only (/proc).
 */
import assert from "node:assert/strict";
import { makeMiBFile, PROGRAM_PERMS, rootFile, rssKiB, spawnServerProcess } from "./helpers.ts";
import { test } from "./deadline.ts";

const MIB = 1024 * 1024;
const MAX_GROWTH = 64 * MIB;

test({
  name: "files: the server's RSS grows by at most 64 MiB while it relays 256 MiB (measured from outside)",
  ignore: Deno.build.os !== "linux",
  deadlineMs: 300_000,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-srv-rss-" });
    const srv = await spawnServerProcess(`${dir}/data`, { args: ["--file-quota", String(1024 * MIB)] });
    const cli = async (user: string, ...args: string[]) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...PROGRAM_PERMS,
          rootFile("client.ts"),
          ...args,
          ...["--server", `127.0.0.1:${srv.port}`, "--user", user, "--home", `${dir}/home-${user}`],
          "--trust-on-first-use",
        ],
        env: { NO_COLOR: "1", PARLEY_PASSWORD: `pw-${user}-secret` },
        stdin: "null",
      }).output();
      const err = new TextDecoder().decode(o.stderr);
      assert.equal(o.code, 0, err);
      return new TextDecoder().decode(o.stdout).trim();
    };
    const copy = async (mib: number) => {
      const path = `${dir}/f${mib}.bin`;
      await makeMiBFile(path, mib);
      const [sent, got] = await Promise.all([
        cli("alice", "send-file", "bob", path, "--relay"),
        cli("bob", "receive", "--relay", "--from", "alice", "--out", `${dir}/down`, "--timeout", "120"),
      ]);
      assert.equal(got, `saved ${dir}/down/f${mib}.bin ${mib * MIB} ${sent.split(" ")[3]}`);
      await Deno.remove(`${dir}/down/f${mib}.bin`);
      await Deno.remove(path);
    };
    /** The server's peak RSS while `mib` MiB are relayed, sampled from outside every 20 ms. */
    const peakDuring = async (mib: number) => {
      let peak = 0, running = true;
      const sampling = (async () => {
        while (running) {
          peak = Math.max(peak, (await rssKiB(srv.pid)) * 1024);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        await copy(mib);
      } finally {
        running = false;
        await sampling;
      }
      return peak;
    };
    try {
      await cli("alice", "register");
      await cli("bob", "register");
      await copy(1); // the first logins and workers
      // What a copy costs whatever its size (two logins, their workers): a 1 MiB one's peak.
      const small = await peakDuring(1);
      const big = await peakDuring(256);
      const shown =
        `${((big - small) / MIB).toFixed(1)} MiB (peak ${(small / MIB).toFixed(1)} MiB for 1 MiB, ` +
        `${(big / MIB).toFixed(1)} MiB for 256 MiB)`;
      console.log(`files_server_rss: grew by ${shown}`);
      assert.ok(big - small <= MAX_GROWTH, `the server's RSS grew by ${shown}`);
    } finally {
      await srv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
