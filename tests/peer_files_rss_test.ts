/**
 * A receiving peer node's memory (issue 36: a 1 GiB receive within 128 MiB of RSS), measured from
 * outside the process: bob is a `parley peer --script -` process taking files at once
 * (--accept-files, alice verified); after a 1 MiB and then a 256 MiB file its /proc/PID/status
 * VmHWM (the peak resident size so far) is read. The 256 MiB peak must stay under 128 MiB and
 * within a bound of the 1 MiB one: memory that grew with the file (batches kept, plaintexts not
 * freed) fails both. The same figure for 1 GiB is the files bench's peer row. Linux only (/proc).
 */
import assert from "node:assert/strict";
import { hashFile } from "../lib/client/files/disk.ts";
import { makeMiBFile, procKiB } from "./helpers.ts";
import { ScriptPeer } from "./peer_harness.ts";
import { test } from "./deadline.ts";

const MIB = 1024 * 1024;
const MAX_RSS = 128 * MIB;
const MAX_GROWTH = 24 * MIB;

test({
  name:
    "peer files: a receiving node's RSS stays under 128 MiB and does not grow with the file (measured from outside)",
  ignore: Deno.build.os !== "linux",
  deadlineMs: 300_000,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const alice = await ScriptPeer.start("alice", `${dir}/a`);
    const bob = await ScriptPeer.start("bob", `${dir}/b`, {
      args: ["--out", `${dir}/down`, "--accept-files"],
    });
    try {
      await alice.send(`connect ${bob.addr}`);
      await bob.waitLine(/^connected alice$/);
      await bob.verify("alice");
      const peaks: number[] = [];
      for (const mib of [1, 256]) {
        const path = `${dir}/f${mib}.bin`, sum = await makeMiBFile(path, mib).then(() => hashFile(path));
        const from = bob.lines.length;
        await alice.send(`send bob ${path}`);
        const saved = await bob.waitLine(/^saved /, 240_000, from);
        assert.equal(saved, `saved ${dir}/down/f${mib}.bin ${mib * MIB} ${sum}`);
        peaks.push((await procKiB(bob.proc.pid, "VmHWM")) * 1024);
        await Deno.remove(`${dir}/down/f${mib}.bin`);
        await Deno.remove(path);
      }
      const [small, big] = peaks as [number, number];
      const shown = `${(small / MIB).toFixed(1)} MiB after 1 MiB, ${
        (big / MIB).toFixed(1)
      } MiB after 256 MiB`;
      console.log(`peer_files_rss: ${shown}`);
      assert.ok(big <= MAX_RSS, `the receiving node held ${shown}`);
      assert.ok(big - small <= MAX_GROWTH, `the receiving node's memory grew with the file: ${shown}`);
    } finally {
      await Promise.all([alice.quit(), bob.quit()]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
